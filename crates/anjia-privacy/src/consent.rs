//! Consent: purposes, the append-only consent record and the fold that yields the current state
//! (PRV-05…09).
//!
//! * [`Purpose`] — what PI is processed for; string ids (`"camera"`, `"third_party:courier"`) and
//!   zh-CN labels. Ids are what `consent_records.purpose` and the policy's `purposes` list hold.
//! * [`ConsentEvent`] — one append-only record (PRV-06): subject pseudonym, policy version and its
//!   text hash, purpose, grant/withdraw, surface, time.
//! * [`ConsentState::fold`] — the current state from the history: later event wins per purpose,
//!   withdrawal takes effect at once (PRV-08); [`ConsentState::is_granted`] is O(1) (a bitset for
//!   the fixed purposes, a tiny map for third-party recipients).
//! * [`GeneralAcceptance`] vs [`SeparateConsent`] — PIPL 2021 Art. 14 (consent) vs Art. 29 (separate
//!   consent for sensitive PI), Art. 23 (provision to another processor), Art. 25 (public
//!   disclosure), Art. 31 (minors under 14); GB/T 35273-2020 §5.4, §5.6. They are distinct types with
//!   private fields and no conversion between them, so general acceptance can never satisfy an
//!   operation that takes a [`SeparateConsentProof`] (compile-time fact, shown by the trybuild test
//!   `tests/ui/general_is_not_separate.rs`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::policy::{PolicyDocument, PolicyVersion};

/// Errors from building consent records and values. Each names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// A subject reference was not 32 lowercase hex characters.
    #[error("subject reference must be 32 lowercase hex characters")]
    BadSubject,
    /// A purpose id is not one of [`Purpose`]'s ids.
    #[error("unknown purpose id `{0}`")]
    UnknownPurpose(String),
    /// A sensitive purpose was offered to a path that only gives general consent.
    #[error("purpose `{0}` needs separate consent (单独同意); general acceptance cannot grant it")]
    NeedsSeparateConsent(String),
    /// `core` is granted by accepting the policy ([`GeneralAcceptance`]), not by a tick.
    #[error("purpose `core` is granted by accepting the policy, not as an optional purpose")]
    CoreIsNotOptional,
    /// The policy version does not declare this purpose (PRV-09: undeclared purposes are blocked).
    #[error("purpose `{purpose}` is not declared by policy version {version}")]
    NotDeclared {
        /// The purpose id.
        purpose: String,
        /// The policy version.
        version: String,
    },
    /// The per-purpose confirmation did not match the purpose it is meant to confirm.
    #[error("the confirmation does not confirm purpose `{expected}`")]
    ConfirmationMismatch {
        /// The purpose id whose confirmation was expected.
        expected: String,
    },
    /// An [`ExplicitAct`] for one purpose was used for another.
    #[error("the explicit act confirms `{act}`, not `{purpose}`")]
    ActForOtherPurpose {
        /// The purpose the act confirms.
        act: String,
        /// The purpose it was offered for.
        purpose: String,
    },
    /// Separate consent must come from the person (web, app or API), not from staff or an import.
    #[error(
        "separate consent must be given by the person on the web, app or API surface, not `{0}`"
    )]
    NotUserSurface(&'static str),
}

/// Who a consent record is about: the subject's keyed pseudonym, 32 lowercase hex characters
/// (`docs/PRIVACY-DESIGN.md` §Subjects; same shape as `crypto::Pseudonym`). Serialises as the
/// plain string. Not PI by itself: linking it needs the subject's data key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubjectRef(String);

impl SubjectRef {
    /// Accepts exactly 32 lowercase hex characters.
    ///
    /// # Errors
    /// [`ConsentError::BadSubject`] otherwise.
    pub fn parse(s: &str) -> Result<SubjectRef, ConsentError> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(SubjectRef(s.to_string()))
        } else {
            Err(ConsentError::BadSubject)
        }
    }

    /// The 32 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SubjectRef {
    type Error = ConsentError;
    fn try_from(s: String) -> Result<SubjectRef, ConsentError> {
        SubjectRef::parse(&s)
    }
}

impl From<SubjectRef> for String {
    fn from(s: SubjectRef) -> String {
        s.0
    }
}

impl From<&crate::crypto::Pseudonym> for SubjectRef {
    /// A keyed pseudonym (`DataKey::pseudonym`) is exactly a subject reference.
    fn from(p: &crate::crypto::Pseudonym) -> SubjectRef {
        SubjectRef(p.as_str().to_string())
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a third-party recipient id: 1–64 characters of `[a-z0-9_]`.
pub fn valid_recipient_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A purpose of processing. Ids (`Purpose::id`) are stable strings stored in consent records and
/// declared in each policy version (`data/privacy/policy/`).
///
/// * [`Purpose::Core`] — the core service, granted by accepting the policy (PIPL Art. 13(1)–(2):
///   consent and contract necessity); it is never an optional tick.
/// * Optional purposes (general consent, each refusable without losing the basics — PRV-03):
///   `search_history` … `storage`.
/// * Sensitive purposes needing separate consent (单独同意, PIPL Art. 29, 23, 25, 31):
///   `real_name_verification`, `precise_location`, `minor_data`, `third_party:<recipient>`,
///   `public_disclosure` — see [`SensitivePurpose`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Purpose {
    /// `core`: the core service (search, listing pages, valuation by typed address, ordering).
    Core,
    /// `search_history`: keep search history linked to the account (PRV-18).
    SearchHistory,
    /// `personalised_recommendations`: recommendations from the user's behaviour (PRV-10).
    PersonalisedRecommendations,
    /// `marketing_push`: marketing messages and promotions.
    MarketingPush,
    /// `usage_analytics`: de-identified usage/crash/performance statistics (PRV-19).
    UsageAnalytics,
    /// `location`: coarse location for location features (PRV-16).
    Location,
    /// `notifications`: push notifications about saved searches and orders.
    Notifications,
    /// `camera`: take a photo (avatar, listing photo).
    Camera,
    /// `album`: pick a photo from the album.
    Album,
    /// `phone_call`: place a call from the app (customer service, lister).
    PhoneCall,
    /// `storage`: cache images and files on the device.
    Storage,
    /// `real_name_verification`: collect name and ID number and verify them (sensitive PI).
    RealNameVerification,
    /// `precise_location`: precise (street-level) location (sensitive PI, "行踪轨迹").
    PreciseLocation,
    /// `minor_data`: process PI of a minor under 14 (all sensitive, PIPL Art. 28, 31).
    MinorData,
    /// `third_party:<recipient id>`: provide PI to that independent recipient (PIPL Art. 23).
    ThirdPartyProvision(String),
    /// `public_disclosure`: make PI public (PIPL Art. 25).
    PublicDisclosure,
}

/// Number of purposes other than [`Purpose::ThirdPartyProvision`] (the bitset width used).
pub const FIXED_PURPOSES: usize = 15;

impl Purpose {
    /// Every purpose except `ThirdPartyProvision`, in declaration order (bit order).
    pub fn fixed() -> [Purpose; FIXED_PURPOSES] {
        [
            Purpose::Core,
            Purpose::SearchHistory,
            Purpose::PersonalisedRecommendations,
            Purpose::MarketingPush,
            Purpose::UsageAnalytics,
            Purpose::Location,
            Purpose::Notifications,
            Purpose::Camera,
            Purpose::Album,
            Purpose::PhoneCall,
            Purpose::Storage,
            Purpose::RealNameVerification,
            Purpose::PreciseLocation,
            Purpose::MinorData,
            Purpose::PublicDisclosure,
        ]
    }

    /// Bit index for the fixed purposes; `None` for `ThirdPartyProvision`.
    fn bit(&self) -> Option<usize> {
        Some(match self {
            Purpose::Core => 0,
            Purpose::SearchHistory => 1,
            Purpose::PersonalisedRecommendations => 2,
            Purpose::MarketingPush => 3,
            Purpose::UsageAnalytics => 4,
            Purpose::Location => 5,
            Purpose::Notifications => 6,
            Purpose::Camera => 7,
            Purpose::Album => 8,
            Purpose::PhoneCall => 9,
            Purpose::Storage => 10,
            Purpose::RealNameVerification => 11,
            Purpose::PreciseLocation => 12,
            Purpose::MinorData => 13,
            Purpose::PublicDisclosure => 14,
            Purpose::ThirdPartyProvision(_) => return None,
        })
    }

    /// The stable id (`"camera"`, `"third_party:courier"`).
    pub fn id(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Purpose::Core => "core",
            Purpose::SearchHistory => "search_history",
            Purpose::PersonalisedRecommendations => "personalised_recommendations",
            Purpose::MarketingPush => "marketing_push",
            Purpose::UsageAnalytics => "usage_analytics",
            Purpose::Location => "location",
            Purpose::Notifications => "notifications",
            Purpose::Camera => "camera",
            Purpose::Album => "album",
            Purpose::PhoneCall => "phone_call",
            Purpose::Storage => "storage",
            Purpose::RealNameVerification => "real_name_verification",
            Purpose::PreciseLocation => "precise_location",
            Purpose::MinorData => "minor_data",
            Purpose::PublicDisclosure => "public_disclosure",
            Purpose::ThirdPartyProvision(r) => return Cow::Owned(format!("third_party:{r}")),
        })
    }

    /// Parses an id produced by [`Purpose::id`].
    ///
    /// # Errors
    /// [`ConsentError::UnknownPurpose`] for anything else (including a recipient id outside
    /// `[a-z0-9_]{1,64}`).
    pub fn parse(id: &str) -> Result<Purpose, ConsentError> {
        if let Some(r) = id.strip_prefix("third_party:") {
            return if valid_recipient_id(r) {
                Ok(Purpose::ThirdPartyProvision(r.to_string()))
            } else {
                Err(ConsentError::UnknownPurpose(id.to_string()))
            };
        }
        Purpose::fixed()
            .into_iter()
            .find(|p| p.id() == id)
            .ok_or_else(|| ConsentError::UnknownPurpose(id.to_string()))
    }

    /// The zh-CN label shown next to the switch or checkbox.
    pub fn label_zh(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Purpose::Core => "基本服务（搜索、房源页、按输入地址估价、下单）",
            Purpose::SearchHistory => "保存与账号关联的搜索记录",
            Purpose::PersonalisedRecommendations => "个性化推荐",
            Purpose::MarketingPush => "营销推送",
            Purpose::UsageAnalytics => "去标识化的使用统计与崩溃分析",
            Purpose::Location => "位置信息（粗略，用于附近房源、周边房价与租金、按位置估价）",
            Purpose::Notifications => "消息通知",
            Purpose::Camera => "相机（拍摄头像或房源照片）",
            Purpose::Album => "相册（选择头像或房源照片）",
            Purpose::PhoneCall => "电话（拨打客服或房源联系人）",
            Purpose::Storage => "存储（在本机缓存图片与文件）",
            Purpose::RealNameVerification => "实名认证（姓名、证件类型与号码）",
            Purpose::PreciseLocation => "精确位置",
            Purpose::MinorData => "处理不满十四周岁未成年人的个人信息",
            Purpose::PublicDisclosure => "公开披露个人信息",
            Purpose::ThirdPartyProvision(r) => {
                return Cow::Owned(format!("向第三方（{r}）提供个人信息"));
            }
        })
    }

    /// `Some` for purposes that need separate consent (单独同意).
    pub fn sensitive(&self) -> Option<SensitivePurpose> {
        match self {
            Purpose::RealNameVerification => Some(SensitivePurpose::RealNameVerification),
            Purpose::PreciseLocation => Some(SensitivePurpose::PreciseLocation),
            Purpose::MinorData => Some(SensitivePurpose::MinorData),
            Purpose::PublicDisclosure => Some(SensitivePurpose::PublicDisclosure),
            Purpose::ThirdPartyProvision(r) => {
                Some(SensitivePurpose::ThirdPartyProvision(r.clone()))
            }
            _ => None,
        }
    }

    /// True for purposes that need separate consent.
    pub fn requires_separate_consent(&self) -> bool {
        self.bit().is_none()
            || matches!(
                self,
                Purpose::RealNameVerification
                    | Purpose::PreciseLocation
                    | Purpose::MinorData
                    | Purpose::PublicDisclosure
            )
    }

    /// True for the optional purposes that general consent (a tick) can grant.
    pub fn is_optional(&self) -> bool {
        !matches!(self, Purpose::Core) && !self.requires_separate_consent()
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl TryFrom<String> for Purpose {
    type Error = ConsentError;
    fn try_from(s: String) -> Result<Purpose, ConsentError> {
        Purpose::parse(&s)
    }
}

impl From<Purpose> for String {
    fn from(p: Purpose) -> String {
        p.id().into_owned()
    }
}

/// A purpose that needs separate consent (单独同意): sensitive PI (PIPL Art. 28–29: ID numbers,
/// precise location as 行踪轨迹, PI of minors under 14 per Art. 31), provision to another processor
/// (Art. 23) and public disclosure (Art. 25).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SensitivePurpose {
    /// Real-name verification (name + ID number).
    RealNameVerification,
    /// Precise location.
    PreciseLocation,
    /// PI of a minor under 14 (consent given by the guardian).
    MinorData,
    /// Provision to the named third-party recipient (id from `data/privacy/third-parties.toml`).
    ThirdPartyProvision(String),
    /// Public disclosure.
    PublicDisclosure,
}

impl SensitivePurpose {
    /// The corresponding [`Purpose`].
    pub fn purpose(&self) -> Purpose {
        match self {
            SensitivePurpose::RealNameVerification => Purpose::RealNameVerification,
            SensitivePurpose::PreciseLocation => Purpose::PreciseLocation,
            SensitivePurpose::MinorData => Purpose::MinorData,
            SensitivePurpose::ThirdPartyProvision(r) => Purpose::ThirdPartyProvision(r.clone()),
            SensitivePurpose::PublicDisclosure => Purpose::PublicDisclosure,
        }
    }

    /// The confirmation string the client must echo from this purpose's own confirmation control
    /// (`"单独同意:<purpose id>"`). A blanket "agree to all" cannot produce it for several purposes
    /// at once: each purpose has its own string.
    pub fn confirmation_key(&self) -> String {
        format!("单独同意:{}", self.purpose().id())
    }
}

/// Grant or withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    /// Consent given.
    Grant,
    /// Consent withdrawn (PIPL Art. 15: takes effect for future processing at once).
    Withdraw,
}

/// Where the consent action happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// The website.
    Web,
    /// The mobile app.
    App,
    /// The JSON API.
    Api,
    /// Recorded by staff (e.g. a withdrawal by phone); cannot give separate consent.
    Staff,
    /// Imported from an earlier system; cannot give separate consent.
    Import,
}

impl Surface {
    /// The snake_case id.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Web => "web",
            Surface::App => "app",
            Surface::Api => "api",
            Surface::Staff => "staff",
            Surface::Import => "import",
        }
    }
}

/// One append-only consent record (PRV-06), shaped like a row of `consent_records`.
///
/// Fields are private: grants are made only through [`GeneralAcceptance::events`],
/// [`ConsentEvent::grant`] (optional purposes) and [`SeparateConsent::event`] (sensitive purposes);
/// withdrawals through [`ConsentEvent::withdraw`]. Deserialisation (JSON: `subject`,
/// `policy_version`, `policy_sha256`, `purpose` id, `action` `"grant"|"withdraw"`, `surface`, `at`
/// RFC 3339) is for reading stored records back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvent {
    subject: SubjectRef,
    policy_version: String,
    policy_sha256: String,
    purpose: Purpose,
    action: ConsentAction,
    surface: Surface,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

impl ConsentEvent {
    fn new(
        subject: SubjectRef,
        version: &PolicyVersion,
        purpose: Purpose,
        action: ConsentAction,
        surface: Surface,
        at: OffsetDateTime,
    ) -> ConsentEvent {
        ConsentEvent {
            subject,
            policy_version: version.version().to_string(),
            policy_sha256: version.sha256().to_string(),
            purpose,
            action,
            surface,
            at,
        }
    }

    /// Grants one optional purpose later (e.g. switching notifications on in settings).
    ///
    /// # Errors
    /// [`ConsentError::CoreIsNotOptional`] for `core`, [`ConsentError::NeedsSeparateConsent`] for a
    /// sensitive purpose, [`ConsentError::NotDeclared`] if `version` does not declare it.
    pub fn grant(
        subject: SubjectRef,
        purpose: Purpose,
        version: &PolicyVersion,
        surface: Surface,
        at: OffsetDateTime,
    ) -> Result<ConsentEvent, ConsentError> {
        check_optional(&purpose, version)?;
        Ok(ConsentEvent::new(
            subject,
            version,
            purpose,
            ConsentAction::Grant,
            surface,
            at,
        ))
    }

    /// Withdraws any purpose, as easily as it was granted (PRV-08): no confirmation object and no
    /// declaration check. Withdrawing `core` withdraws acceptance of the policy and with it every
    /// grant (they are void until granted again).
    pub fn withdraw(
        subject: SubjectRef,
        purpose: Purpose,
        version: &PolicyVersion,
        surface: Surface,
        at: OffsetDateTime,
    ) -> ConsentEvent {
        ConsentEvent::new(
            subject,
            version,
            purpose,
            ConsentAction::Withdraw,
            surface,
            at,
        )
    }

    /// The subject's pseudonym.
    pub fn subject(&self) -> &SubjectRef {
        &self.subject
    }
    /// The policy version in force when the action was taken.
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }
    /// SHA-256 (64 lowercase hex) of that version's canonical text.
    pub fn policy_sha256(&self) -> &str {
        &self.policy_sha256
    }
    /// The purpose.
    pub fn purpose(&self) -> &Purpose {
        &self.purpose
    }
    /// Grant or withdraw.
    pub fn action(&self) -> ConsentAction {
        self.action
    }
    /// Where it happened.
    pub fn surface(&self) -> Surface {
        self.surface
    }
    /// When it happened.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// Test-only raw constructor (any purpose, any action).
    #[cfg(test)]
    pub(crate) fn raw(
        subject: SubjectRef,
        policy_version: &str,
        purpose: Purpose,
        action: ConsentAction,
        at: OffsetDateTime,
    ) -> ConsentEvent {
        ConsentEvent {
            subject,
            policy_version: policy_version.to_string(),
            policy_sha256: String::new(),
            purpose,
            action,
            surface: Surface::Web,
            at,
        }
    }
}

fn check_optional(purpose: &Purpose, version: &PolicyVersion) -> Result<(), ConsentError> {
    if matches!(purpose, Purpose::Core) {
        return Err(ConsentError::CoreIsNotOptional);
    }
    if purpose.requires_separate_consent() {
        return Err(ConsentError::NeedsSeparateConsent(
            purpose.id().into_owned(),
        ));
    }
    if !version.declares(purpose) {
        return Err(ConsentError::NotDeclared {
            purpose: purpose.id().into_owned(),
            version: version.version().to_string(),
        });
    }
    Ok(())
}

/// General acceptance of one policy version (PIPL Art. 14, 17): grants the core service plus the
/// optional purposes the user ticked — nothing else. It has no conversion into
/// [`SeparateConsent`] and cannot satisfy an operation needing a [`SeparateConsentProof`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralAcceptance {
    version: String,
    sha256: String,
    ticked: Vec<Purpose>,
    surface: Surface,
    at: OffsetDateTime,
}

impl GeneralAcceptance {
    /// Acceptance of `version` with the optional purposes `ticked` (duplicates ignored).
    ///
    /// # Errors
    /// A ticked purpose that is `core` ([`ConsentError::CoreIsNotOptional`]), sensitive
    /// ([`ConsentError::NeedsSeparateConsent`]) or not declared by `version`
    /// ([`ConsentError::NotDeclared`]).
    pub fn new(
        version: &PolicyVersion,
        ticked: &[Purpose],
        surface: Surface,
        at: OffsetDateTime,
    ) -> Result<GeneralAcceptance, ConsentError> {
        let mut list: Vec<Purpose> = Vec::with_capacity(ticked.len());
        for p in ticked {
            check_optional(p, version)?;
            if !list.contains(p) {
                list.push(p.clone());
            }
        }
        Ok(GeneralAcceptance {
            version: version.version().to_string(),
            sha256: version.sha256().to_string(),
            ticked: list,
            surface,
            at,
        })
    }

    /// The accepted policy version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The optional purposes ticked.
    pub fn ticked(&self) -> &[Purpose] {
        &self.ticked
    }

    /// The records to append: `core` granted first, then one grant per ticked purpose.
    pub fn events(&self, subject: &SubjectRef) -> Vec<ConsentEvent> {
        std::iter::once(Purpose::Core)
            .chain(self.ticked.iter().cloned())
            .map(|purpose| ConsentEvent {
                subject: subject.clone(),
                policy_version: self.version.clone(),
                policy_sha256: self.sha256.clone(),
                purpose,
                action: ConsentAction::Grant,
                surface: self.surface,
                at: self.at,
            })
            .collect()
    }
}

/// The person's explicit act for one sensitive purpose: made only from that purpose's own
/// confirmation ([`SensitivePurpose::confirmation_key`]) on a user surface. GB/T 35273-2020 §3.6
/// (明示同意: an affirmative act), PIPL Art. 29.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitAct {
    purpose: SensitivePurpose,
    surface: Surface,
    at: OffsetDateTime,
}

impl ExplicitAct {
    /// Builds the act from the confirmation string the client echoed for `purpose`.
    ///
    /// # Errors
    /// [`ConsentError::ConfirmationMismatch`] unless `confirmation == purpose.confirmation_key()`;
    /// [`ConsentError::NotUserSurface`] for [`Surface::Staff`] and [`Surface::Import`].
    pub fn from_confirmation(
        purpose: &SensitivePurpose,
        confirmation: &str,
        surface: Surface,
        at: OffsetDateTime,
    ) -> Result<ExplicitAct, ConsentError> {
        if matches!(surface, Surface::Staff | Surface::Import) {
            return Err(ConsentError::NotUserSurface(surface.as_str()));
        }
        if confirmation != purpose.confirmation_key() {
            return Err(ConsentError::ConfirmationMismatch {
                expected: purpose.purpose().id().into_owned(),
            });
        }
        Ok(ExplicitAct {
            purpose: purpose.clone(),
            surface,
            at,
        })
    }
}

/// Separate consent (单独同意) for exactly one sensitive purpose. Only constructible through
/// [`SeparateConsent::given`]; fields are private and there is no `From`/`Into` from
/// [`GeneralAcceptance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeparateConsent {
    purpose: SensitivePurpose,
    surface: Surface,
    at: OffsetDateTime,
}

impl SeparateConsent {
    /// Separate consent for `purpose`, given by `act`.
    ///
    /// # Errors
    /// [`ConsentError::ActForOtherPurpose`] if `act` confirms a different purpose.
    pub fn given(
        purpose: SensitivePurpose,
        act: ExplicitAct,
    ) -> Result<SeparateConsent, ConsentError> {
        if act.purpose != purpose {
            return Err(ConsentError::ActForOtherPurpose {
                act: act.purpose.purpose().id().into_owned(),
                purpose: purpose.purpose().id().into_owned(),
            });
        }
        Ok(SeparateConsent {
            purpose,
            surface: act.surface,
            at: act.at,
        })
    }

    /// The purpose consented to.
    pub fn purpose(&self) -> &SensitivePurpose {
        &self.purpose
    }

    /// The record to append.
    ///
    /// # Errors
    /// [`ConsentError::NotDeclared`] if `version` does not declare the purpose.
    pub fn event(
        &self,
        subject: &SubjectRef,
        version: &PolicyVersion,
    ) -> Result<ConsentEvent, ConsentError> {
        let purpose = self.purpose.purpose();
        if !version.declares(&purpose) {
            return Err(ConsentError::NotDeclared {
                purpose: purpose.id().into_owned(),
                version: version.version().to_string(),
            });
        }
        Ok(ConsentEvent::new(
            subject.clone(),
            version,
            purpose,
            ConsentAction::Grant,
            self.surface,
            self.at,
        ))
    }
}

/// Proof, taken from the current [`ConsentState`], that separate consent for one purpose is in
/// force. Only [`ConsentState::separate`] makes one; operations on sensitive PI take
/// `&SeparateConsentProof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeparateConsentProof {
    purpose: SensitivePurpose,
    policy_version: String,
    granted_at: OffsetDateTime,
}

impl SeparateConsentProof {
    /// The purpose.
    pub fn purpose(&self) -> &SensitivePurpose {
        &self.purpose
    }
    /// The policy version under which it was given.
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }
    /// When it was given.
    pub fn granted_at(&self) -> OffsetDateTime {
        self.granted_at
    }
}

/// The version and time a grant was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    version: String,
    at: OffsetDateTime,
}

/// Accepted policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Accepted {
    version: String,
    sha256: String,
    at: OffsetDateTime,
}

/// Current consent of one subject: the fold of their history (PRV-06).
///
/// Rules: events apply in time order (ties in input order); per purpose the later event wins;
/// a `core` grant accepts that policy version, a `core` withdrawal withdraws acceptance and voids
/// every other grant made before it; an optional or sensitive purpose counts only while a policy
/// version is accepted (PRV-05). Events about another subject than the first event's are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsentState {
    subject: Option<SubjectRef>,
    accepted: Option<Accepted>,
    /// Bit i set ⇔ fixed purpose i (≠ core) granted.
    granted: u32,
    /// Bit i set ⇔ the subject has decided about fixed purpose i (granted or withdrew).
    decided: u32,
    grants: [Option<Grant>; FIXED_PURPOSES],
    third_party: BTreeMap<String, Grant>,
    third_party_decided: BTreeSet<String>,
}

impl ConsentState {
    /// Folds a subject's history into the current state. Never fails; unknown combinations
    /// (grants before any acceptance) are kept but inert until a policy version is accepted.
    pub fn fold(events: &[ConsentEvent]) -> ConsentState {
        let mut order: Vec<&ConsentEvent> = events.iter().collect();
        order.sort_by_key(|e| e.at); // stable: ties keep input order
        let mut s = ConsentState::default();
        for e in order {
            match &s.subject {
                None => s.subject = Some(e.subject.clone()),
                Some(subj) if *subj != e.subject => continue,
                Some(_) => {}
            }
            s.apply(e);
        }
        s
    }

    /// [`ConsentState::fold`] then [`ConsentState::reconcile`] against the policy document.
    pub fn fold_with(events: &[ConsentEvent], doc: &PolicyDocument) -> ConsentState {
        let mut s = ConsentState::fold(events);
        s.reconcile(doc);
        s
    }

    fn apply(&mut self, e: &ConsentEvent) {
        let grant = e.action == ConsentAction::Grant;
        match &e.purpose {
            Purpose::Core => {
                if grant {
                    self.accepted = Some(Accepted {
                        version: e.policy_version.clone(),
                        sha256: e.policy_sha256.clone(),
                        at: e.at,
                    });
                } else {
                    self.accepted = None;
                    self.granted = 0;
                    self.decided = 0;
                    self.grants = Default::default();
                    self.third_party.clear();
                    self.third_party_decided.clear();
                }
            }
            Purpose::ThirdPartyProvision(r) => {
                self.third_party_decided.insert(r.clone());
                if grant {
                    self.third_party.insert(
                        r.clone(),
                        Grant {
                            version: e.policy_version.clone(),
                            at: e.at,
                        },
                    );
                } else {
                    self.third_party.remove(r);
                }
            }
            p => {
                let Some(i) = p.bit() else { return };
                self.decided |= 1 << i;
                if grant {
                    self.granted |= 1 << i;
                    self.grants[i] = Some(Grant {
                        version: e.policy_version.clone(),
                        at: e.at,
                    });
                } else {
                    self.granted &= !(1 << i);
                    self.grants[i] = None;
                }
            }
        }
    }

    /// Checks the state against the policy document (PRV-09):
    /// * the accepted version must exist with the same text hash, else nothing is accepted;
    /// * a grant made under version *g* stays only if the purpose is declared by *g* **and** by the
    ///   accepted version (grants under an older version survive for purposes in both).
    pub fn reconcile(&mut self, doc: &PolicyDocument) {
        let accepted = self
            .accepted
            .as_ref()
            .and_then(|a| doc.version(&a.version).filter(|v| v.sha256() == a.sha256));
        let Some(acc) = accepted else {
            self.accepted = None;
            return;
        };
        let keep = |p: &Purpose, g: &Grant| {
            acc.declares(p) && doc.version(&g.version).is_some_and(|v| v.declares(p))
        };
        for p in Purpose::fixed() {
            let Some(i) = p.bit() else { continue };
            if i == 0 {
                continue;
            }
            if let Some(g) = &self.grants[i]
                && !keep(&p, g)
            {
                // An invalid grant is no decision either: the purpose is still to be asked.
                self.granted &= !(1 << i);
                self.decided &= !(1 << i);
                self.grants[i] = None;
            }
        }
        let third_party_decided = &mut self.third_party_decided;
        self.third_party.retain(|r, g| {
            let k = keep(&Purpose::ThirdPartyProvision(r.clone()), g);
            if !k {
                third_party_decided.remove(r);
            }
            k
        });
    }

    /// The subject the state is about (`None` for an empty history).
    pub fn subject(&self) -> Option<&SubjectRef> {
        self.subject.as_ref()
    }

    /// The accepted policy version, if any.
    pub fn accepted_version(&self) -> Option<&str> {
        self.accepted.as_ref().map(|a| a.version.as_str())
    }

    /// When the accepted version was accepted.
    pub fn accepted_at(&self) -> Option<OffsetDateTime> {
        self.accepted.as_ref().map(|a| a.at)
    }

    /// Whether `purpose` may be processed now. O(1) for fixed purposes (one bit test),
    /// O(log r) over the few granted recipients for `ThirdPartyProvision`.
    #[inline]
    pub fn is_granted(&self, purpose: &Purpose) -> bool {
        if self.accepted.is_none() {
            return false;
        }
        match purpose.bit() {
            Some(0) => true,
            Some(i) => self.granted & (1 << i) != 0,
            None => match purpose {
                Purpose::ThirdPartyProvision(r) => self.third_party.contains_key(r),
                _ => false,
            },
        }
    }

    /// Separate-consent proof for `purpose`, if it is granted now.
    pub fn separate(&self, purpose: &SensitivePurpose) -> Option<SeparateConsentProof> {
        let p = purpose.purpose();
        if !self.is_granted(&p) {
            return None;
        }
        let g = match &p {
            Purpose::ThirdPartyProvision(r) => self.third_party.get(r)?,
            other => self.grants[other.bit()?].as_ref()?,
        };
        Some(SeparateConsentProof {
            purpose: purpose.clone(),
            policy_version: g.version.clone(),
            granted_at: g.at,
        })
    }

    /// Every granted purpose (core first when accepted).
    pub fn granted(&self) -> Vec<Purpose> {
        let mut out: Vec<Purpose> = Purpose::fixed()
            .into_iter()
            .filter(|p| self.is_granted(p))
            .collect();
        if self.accepted.is_some() {
            out.extend(
                self.third_party
                    .keys()
                    .map(|r| Purpose::ThirdPartyProvision(r.clone())),
            );
        }
        out
    }

    fn decided(&self, p: &Purpose) -> bool {
        match p {
            Purpose::ThirdPartyProvision(r) => self.third_party_decided.contains(r),
            other => other.bit().is_some_and(|i| self.decided & (1 << i) != 0),
        }
    }

    /// What to ask the subject now under the version current at `at` (PRV-09):
    /// * nothing accepted → `[core]` (show the policy with its optional ticks);
    /// * the accepted version is not the current one → `core` (accept the new text, with its diff);
    /// * plus every purpose the current version declares that the accepted version did not, and
    ///   about which the subject has not decided yet. Such purposes stay not granted until the
    ///   subject grants them; purposes the subject already refused are not asked again (PRV-08).
    ///
    /// Empty when no version is in effect at `at`.
    pub fn needs_consent(&self, doc: &PolicyDocument, at: OffsetDateTime) -> Vec<Purpose> {
        let Some(current) = doc.current(at) else {
            return Vec::new();
        };
        let Some(acc) = &self.accepted else {
            return vec![Purpose::Core];
        };
        let accepted = doc.version(&acc.version);
        let mut out = Vec::new();
        if acc.version != current.version() {
            out.push(Purpose::Core);
        }
        for p in current.purposes() {
            if matches!(p, Purpose::Core) {
                continue;
            }
            let known = accepted.is_some_and(|v| v.declares(p));
            if !known && !self.is_granted(p) && !self.decided(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn subj() -> SubjectRef {
        SubjectRef::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn doc() -> PolicyDocument {
        PolicyDocument::bundled().unwrap()
    }

    #[test]
    fn purpose_ids_round_trip() {
        for p in Purpose::fixed() {
            assert_eq!(Purpose::parse(&p.id()).unwrap(), p);
            assert!(!p.label_zh().is_empty());
        }
        let t = Purpose::ThirdPartyProvision("courier".into());
        assert_eq!(t.id(), "third_party:courier");
        assert_eq!(Purpose::parse("third_party:courier").unwrap(), t);
        assert!(Purpose::parse("third_party:").is_err());
        assert!(Purpose::parse("third_party:Bad-Id").is_err());
        assert!(Purpose::parse("everything").is_err());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"third_party:courier\"");
    }

    #[test]
    fn sensitive_purposes_need_separate_consent() {
        let sensitive = [
            Purpose::RealNameVerification,
            Purpose::PreciseLocation,
            Purpose::MinorData,
            Purpose::PublicDisclosure,
            Purpose::ThirdPartyProvision("x".into()),
        ];
        for p in &sensitive {
            assert!(p.requires_separate_consent(), "{p}");
            assert!(!p.is_optional());
            assert_eq!(p.sensitive().unwrap().purpose(), *p);
        }
        assert!(!Purpose::Camera.requires_separate_consent());
        assert!(Purpose::Camera.is_optional());
        assert!(!Purpose::Core.is_optional());
    }

    #[test]
    fn general_acceptance_grants_core_and_ticks_only() {
        let d = doc();
        let v = d.current(datetime!(2027-01-01 0:00 UTC)).unwrap();
        let at = datetime!(2027-01-02 0:00 UTC);
        let g = GeneralAcceptance::new(
            v,
            &[Purpose::Camera, Purpose::Notifications],
            Surface::App,
            at,
        )
        .unwrap();
        let s = ConsentState::fold_with(&g.events(&subj()), &d);
        assert_eq!(s.accepted_version(), Some(v.version()));
        assert!(s.is_granted(&Purpose::Core));
        assert!(s.is_granted(&Purpose::Camera));
        assert!(s.is_granted(&Purpose::Notifications));
        assert!(!s.is_granted(&Purpose::Location));
        assert!(!s.is_granted(&Purpose::RealNameVerification));
        assert!(
            s.separate(&SensitivePurpose::RealNameVerification)
                .is_none()
        );
        assert_eq!(
            GeneralAcceptance::new(v, &[Purpose::RealNameVerification], Surface::App, at),
            Err(ConsentError::NeedsSeparateConsent(
                "real_name_verification".into()
            ))
        );
        assert_eq!(
            GeneralAcceptance::new(v, &[Purpose::Core], Surface::App, at),
            Err(ConsentError::CoreIsNotOptional)
        );
        // v1 does not declare public disclosure: it cannot be granted at all.
        let act = ExplicitAct::from_confirmation(
            &SensitivePurpose::PublicDisclosure,
            &SensitivePurpose::PublicDisclosure.confirmation_key(),
            Surface::Web,
            at,
        )
        .unwrap();
        let sc = SeparateConsent::given(SensitivePurpose::PublicDisclosure, act).unwrap();
        assert!(matches!(
            sc.event(&subj(), v),
            Err(ConsentError::NotDeclared { .. })
        ));
    }

    #[test]
    fn separate_consent_needs_its_own_confirmation() {
        let d = doc();
        let v = d.current(datetime!(2027-01-01 0:00 UTC)).unwrap();
        let at = datetime!(2027-01-02 0:00 UTC);
        let rn = SensitivePurpose::RealNameVerification;
        assert!(matches!(
            ExplicitAct::from_confirmation(&rn, "同意全部", Surface::App, at),
            Err(ConsentError::ConfirmationMismatch { .. })
        ));
        assert!(matches!(
            ExplicitAct::from_confirmation(&rn, &rn.confirmation_key(), Surface::Staff, at),
            Err(ConsentError::NotUserSurface("staff"))
        ));
        let pl = SensitivePurpose::PreciseLocation;
        let act_pl =
            ExplicitAct::from_confirmation(&pl, &pl.confirmation_key(), Surface::App, at).unwrap();
        assert!(matches!(
            SeparateConsent::given(rn.clone(), act_pl),
            Err(ConsentError::ActForOtherPurpose { .. })
        ));
        let act =
            ExplicitAct::from_confirmation(&rn, &rn.confirmation_key(), Surface::App, at).unwrap();
        let sc = SeparateConsent::given(rn.clone(), act).unwrap();
        let mut events = GeneralAcceptance::new(v, &[], Surface::App, at)
            .unwrap()
            .events(&subj());
        events.push(sc.event(&subj(), v).unwrap());
        let s = ConsentState::fold_with(&events, &d);
        let proof = s.separate(&rn).unwrap();
        assert_eq!(proof.policy_version(), v.version());
        // Withdrawal: at once, as easy as granting.
        events.push(ConsentEvent::withdraw(
            subj(),
            Purpose::RealNameVerification,
            v,
            Surface::App,
            at + time::Duration::seconds(1),
        ));
        let s = ConsentState::fold_with(&events, &d);
        assert!(s.separate(&rn).is_none());
        assert!(s.is_granted(&Purpose::Core));
    }

    #[test]
    fn nothing_before_acceptance_and_core_withdrawal_voids_grants() {
        let t = datetime!(2027-01-01 0:00 UTC);
        let e = |p: Purpose, a: ConsentAction, m: i64| {
            ConsentEvent::raw(subj(), "2026-12-01", p, a, t + time::Duration::minutes(m))
        };
        let s = ConsentState::fold(&[e(Purpose::Camera, ConsentAction::Grant, 0)]);
        assert!(
            !s.is_granted(&Purpose::Camera),
            "PRV-05: nothing optional before acceptance"
        );
        let s = ConsentState::fold(&[
            e(Purpose::Core, ConsentAction::Grant, 0),
            e(Purpose::Camera, ConsentAction::Grant, 1),
            e(Purpose::Core, ConsentAction::Withdraw, 2),
            e(Purpose::Core, ConsentAction::Grant, 3),
        ]);
        assert!(s.is_granted(&Purpose::Core));
        assert!(!s.is_granted(&Purpose::Camera));
        // Time order, not input order.
        let s = ConsentState::fold(&[
            e(Purpose::Camera, ConsentAction::Withdraw, 5),
            e(Purpose::Core, ConsentAction::Grant, 0),
            e(Purpose::Camera, ConsentAction::Grant, 1),
        ]);
        assert!(!s.is_granted(&Purpose::Camera));
        // Another subject's event is ignored.
        let other = SubjectRef::parse("ffffffffffffffffffffffffffffffff").unwrap();
        let s = ConsentState::fold(&[
            e(Purpose::Core, ConsentAction::Grant, 0),
            ConsentEvent::raw(
                other,
                "2026-12-01",
                Purpose::Core,
                ConsentAction::Withdraw,
                t + time::Duration::minutes(1),
            ),
        ]);
        assert!(s.is_granted(&Purpose::Core));
    }

    #[test]
    fn event_json_shape() {
        let d = doc();
        let v = d.current(datetime!(2027-01-01 0:00 UTC)).unwrap();
        let e = ConsentEvent::withdraw(
            subj(),
            Purpose::Camera,
            v,
            Surface::Api,
            datetime!(2027-01-02 3:04:05 UTC),
        );
        let j: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(j["purpose"], "camera");
        assert_eq!(j["action"], "withdraw");
        assert_eq!(j["surface"], "api");
        assert_eq!(j["at"], "2027-01-02T03:04:05Z");
        assert_eq!(j["policy_sha256"].as_str().unwrap().len(), 64);
        let back: ConsentEvent = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
        assert!(serde_json::from_str::<ConsentEvent>(
            r#"{"subject":"nothex","policy_version":"x","policy_sha256":"","purpose":"camera","action":"grant","surface":"web","at":"2027-01-02T03:04:05Z"}"#
        )
        .is_err());
    }

    /// Two versions: "old" = the bundled text without `usage_analytics`, effective 2026-06-01;
    /// "new" = the bundled 2026-12-01.
    fn two_versions() -> PolicyDocument {
        let text = include_str!("../../../data/privacy/policy/v1.toml");
        let old = text
            .replace("  \"usage_analytics\",\n", "")
            .replace("version = \"2026-12-01\"", "version = \"2026-06-01\"")
            .replace("published_at = \"2026-11-20", "published_at = \"2026-05-20")
            .replace("effective_at = \"2026-12-01", "effective_at = \"2026-06-01");
        let old = PolicyVersion::from_toml("old", &old).unwrap();
        let new = PolicyVersion::from_toml("new", text).unwrap();
        PolicyDocument::from_versions(vec![old, new]).unwrap()
    }

    #[test]
    fn new_purpose_is_blocked_until_consented() {
        let d = two_versions();
        let old = d.version("2026-06-01").unwrap();
        let new = d.version("2026-12-01").unwrap();
        assert!(!old.declares(&Purpose::UsageAnalytics));
        let t0 = datetime!(2026-07-01 0:00 UTC);
        let mut events = GeneralAcceptance::new(old, &[Purpose::Camera], Surface::Web, t0)
            .unwrap()
            .events(&subj());
        // A (buggy) grant of a purpose the old version does not declare is not honoured.
        events.push(ConsentEvent::raw(
            subj(),
            "2026-06-01",
            Purpose::UsageAnalytics,
            ConsentAction::Grant,
            t0,
        ));
        let s = ConsentState::fold_with(&events, &d);
        assert!(s.is_granted(&Purpose::Camera));
        assert!(
            !s.is_granted(&Purpose::UsageAnalytics),
            "undeclared purpose stays blocked"
        );

        // Before the new version takes effect nothing is asked; afterwards: the new text and the new purpose.
        assert!(
            s.needs_consent(&d, datetime!(2026-11-25 0:00 UTC))
                .is_empty()
        );
        let after = datetime!(2026-12-02 0:00 UTC);
        assert_eq!(
            s.needs_consent(&d, after),
            vec![Purpose::Core, Purpose::UsageAnalytics]
        );
        assert!(ConsentState::default().needs_consent(&d, after) == vec![Purpose::Core]);

        // Accepting the new version without ticking analytics: not asked again (no re-prompt loop),
        // not granted; the camera grant made under the old version survives (declared by both).
        let t1 = datetime!(2026-12-03 0:00 UTC);
        events.extend(
            GeneralAcceptance::new(new, &[], Surface::Web, t1)
                .unwrap()
                .events(&subj()),
        );
        let s = ConsentState::fold_with(&events, &d);
        assert_eq!(s.accepted_version(), Some("2026-12-01"));
        assert!(s.needs_consent(&d, t1).is_empty());
        assert!(s.is_granted(&Purpose::Camera));
        assert!(!s.is_granted(&Purpose::UsageAnalytics));
        // Granting it under the new version works.
        events.push(
            ConsentEvent::grant(subj(), Purpose::UsageAnalytics, new, Surface::Web, t1).unwrap(),
        );
        assert!(ConsentState::fold_with(&events, &d).is_granted(&Purpose::UsageAnalytics));
        assert!(matches!(
            ConsentEvent::grant(subj(), Purpose::UsageAnalytics, old, Surface::Web, t1),
            Err(ConsentError::NotDeclared { .. })
        ));

        // Still on the old version, declining the new purpose explicitly stops the question.
        let mut declined = GeneralAcceptance::new(old, &[], Surface::Web, t0)
            .unwrap()
            .events(&subj());
        declined.push(ConsentEvent::withdraw(
            subj(),
            Purpose::UsageAnalytics,
            new,
            Surface::Web,
            t1,
        ));
        let s = ConsentState::fold_with(&declined, &d);
        assert_eq!(s.needs_consent(&d, t1), vec![Purpose::Core]);
    }

    #[test]
    fn reconcile_rejects_unknown_version_or_text() {
        let d = doc();
        let t = datetime!(2027-01-01 0:00 UTC);
        // Accepted a version the document does not know, or with another text hash: nothing counts.
        let s = ConsentState::fold_with(
            &[ConsentEvent::raw(
                subj(),
                "2026-12-01",
                Purpose::Core,
                ConsentAction::Grant,
                t,
            )],
            &d,
        );
        assert_eq!(s.accepted_version(), None, "empty text hash does not match");
        let s = ConsentState::fold_with(
            &[ConsentEvent::raw(
                subj(),
                "1999-01-01",
                Purpose::Core,
                ConsentAction::Grant,
                t,
            )],
            &d,
        );
        assert!(!s.is_granted(&Purpose::Core));
    }

    #[test]
    fn pseudonym_is_a_subject_ref() {
        let p = crate::crypto::Pseudonym::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(SubjectRef::from(&p), subj());
    }

    fn arb_purpose() -> impl Strategy<Value = Purpose> {
        prop_oneof![
            (0..FIXED_PURPOSES).prop_map(|i| Purpose::fixed()[i].clone()),
            prop_oneof![Just("courier"), Just("payment_alipay")]
                .prop_map(|r| Purpose::ThirdPartyProvision(r.to_string())),
        ]
    }

    fn arb_events() -> impl Strategy<Value = Vec<ConsentEvent>> {
        proptest::collection::vec((arb_purpose(), any::<bool>(), 0i64..50), 0..40).prop_map(|v| {
            v.into_iter()
                .map(|(p, g, m)| {
                    let a = if g {
                        ConsentAction::Grant
                    } else {
                        ConsentAction::Withdraw
                    };
                    ConsentEvent::raw(
                        subj(),
                        "2026-12-01",
                        p,
                        a,
                        datetime!(2027-01-01 0:00 UTC) + time::Duration::minutes(m),
                    )
                })
                .collect()
        })
    }

    /// Naive reference: sort by time, find the last core withdrawal, then per purpose the last
    /// event after it.
    fn model(events: &[ConsentEvent], p: &Purpose) -> bool {
        let mut sorted: Vec<&ConsentEvent> = events.iter().collect();
        sorted.sort_by_key(|e| e.at);
        let last_core = sorted.iter().rposition(|e| e.purpose == Purpose::Core);
        let accepted = last_core.is_some_and(|i| sorted[i].action == ConsentAction::Grant);
        if !accepted {
            return false;
        }
        if *p == Purpose::Core {
            return true;
        }
        let last_core_withdraw = sorted
            .iter()
            .rposition(|e| e.purpose == Purpose::Core && e.action == ConsentAction::Withdraw);
        let start = last_core_withdraw.map_or(0, |i| i + 1);
        sorted[start..]
            .iter()
            .rev()
            .find(|e| e.purpose == *p)
            .is_some_and(|e| e.action == ConsentAction::Grant)
    }

    proptest! {
        #[test]
        fn fold_matches_reference_model(events in arb_events()) {
            let s = ConsentState::fold(&events);
            for p in Purpose::fixed().into_iter().chain([
                Purpose::ThirdPartyProvision("courier".into()),
                Purpose::ThirdPartyProvision("payment_alipay".into()),
                Purpose::ThirdPartyProvision("never_seen".into()),
            ]) {
                prop_assert_eq!(s.is_granted(&p), model(&events, &p), "purpose {}", p);
            }
        }

        #[test]
        fn withdraw_after_grant_is_not_granted(mut events in arb_events(), p in arb_purpose()) {
            let t = datetime!(2027-02-01 0:00 UTC);
            events.push(ConsentEvent::raw(subj(), "2026-12-01", p.clone(), ConsentAction::Grant, t));
            events.push(ConsentEvent::raw(subj(), "2026-12-01", p.clone(), ConsentAction::Withdraw, t));
            let s = ConsentState::fold(&events);
            prop_assert!(!s.is_granted(&p));
            if let Some(sp) = p.sensitive() {
                prop_assert!(s.separate(&sp).is_none());
            }
        }
    }
}
