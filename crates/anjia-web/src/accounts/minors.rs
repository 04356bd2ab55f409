//! Minors (PRV-15; PIPL Art. 31; 《未成年人保护法》 Art. 72): the age class from the verified birth
//! date, the guard for features beyond browsing, guardian consent, and the rules for children
//! under 14.
//!
//! * **Age** is known only from a verified document carrying a birth date
//!   (`verification::verified_birth_date`), counted in full years on today's Asia/Shanghai date of
//!   `Privacy::now()` (`anjia_domain::age`; the count goes up the day after the birthday, a
//!   29 February birthday falls on 28 February in common years). Without a verified birth date
//!   the age is unknown and the account is treated as an adult: the platform does not ask for ID
//!   numbers to browse (minimum collection, PRV-02), and verification is what the features beyond
//!   browsing require anyway.
//! * **Guard** [`require_adult_or_guardian`]: a minor (under 18) without a recorded guardian
//!   consent gets 403 `guardian-consent-required`. Applied to every action beyond browsing that
//!   exists today — linking a third-party login and uploading an avatar (publishing a picture of
//!   oneself); ordering and publishing call it when they arrive.
//! * **Guardian consent**: the guardian's name, relationship and mobile number, confirmed by an
//!   SMS code sent to the guardian's phone (purpose `guardian`); name and phone sealed with the
//!   minor's data key.
//! * **Children under 14**: all their PI is sensitive (PIPL Art. 28). The optional purposes in
//!   [`CHILD_RESTRICTED`] cannot be granted — and any granted are withdrawn as soon as the age is
//!   known — until a guardian consent is recorded **and** the separate consent `minor_data` is
//!   granted; `minor_data` itself can be granted only after the guardian consent.

use crate::AppState;
use crate::error::AppError;
use crate::privacy::SubjectId;
use anjia_domain::age::{AgeClass, age_class, today_in_shanghai};
use anjia_privacy::consent::{Purpose, SensitivePurpose, Surface};
use anjia_privacy::crypto::FieldContext;
use anjia_privacy::pi::{Phone, RealName};
use anjia_store::accounts::GuardianConsentRow;

/// Optional purposes a child under 14 cannot have without guardian consent and `minor_data`.
pub const CHILD_RESTRICTED: [Purpose; 4] = [
    Purpose::SearchHistory,
    Purpose::UsageAnalytics,
    Purpose::PersonalisedRecommendations,
    Purpose::MarketingPush,
];

/// A guardian's relationship to the minor: stored id and zh-CN label.
pub const RELATIONSHIPS: [(&str, &str); 3] = [
    ("father", "父亲"),
    ("mother", "母亲"),
    ("other_guardian", "其他监护人"),
];

const TABLE: &str = "guardian_consents";

/// The account's age class today, or `None` when no verified birth date is known.
///
/// # Errors
/// Storage, key and crypto errors.
pub async fn age_class_of(
    state: &AppState,
    account: &SubjectId,
) -> Result<Option<AgeClass>, AppError> {
    let birth = crate::accounts::verification::verified_birth_date(state, account).await?;
    let today = today_in_shanghai(state.privacy.now());
    Ok(birth.map(|b| age_class(b, today)))
}

/// Whether a guardian consent is recorded for the account.
///
/// # Errors
/// Storage errors.
pub async fn has_guardian_consent(state: &AppState, account: &SubjectId) -> Result<bool, AppError> {
    Ok(state
        .privacy
        .store()
        .guardian_consent(account.as_str())
        .await?
        .is_some())
}

/// The guard for features beyond browsing: `Ok` for adults and accounts of unknown age, and for
/// minors with a recorded guardian consent.
///
/// # Errors
/// `guardian-consent-required` (403) for a minor without one; storage errors.
pub async fn require_adult_or_guardian(
    state: &AppState,
    account: &SubjectId,
) -> Result<(), AppError> {
    match age_class_of(state, account).await? {
        Some(c) if c.is_minor() && !has_guardian_consent(state, account).await? => {
            Err(AppError::GuardianConsentRequired(
                "未满十八周岁的用户使用此功能前，需要监护人同意（/account/guardian）".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the child rules apply and are not lifted: under 14, and not both a guardian consent
/// and `minor_data` in force.
async fn child_restricted(state: &AppState, subject: &SubjectId) -> Result<bool, AppError> {
    if age_class_of(state, subject).await? != Some(AgeClass::Child) {
        return Ok(false);
    }
    if !has_guardian_consent(state, subject).await? {
        return Ok(true);
    }
    let cs = state.privacy.consent_state(Some(subject)).await?;
    Ok(cs.separate(&SensitivePurpose::MinorData).is_none())
}

/// Checks general grants of `subject` (a visitor or an account): refuses any of
/// [`CHILD_RESTRICTED`] for a restricted child.
///
/// # Errors
/// `guardian-consent-required` (403); storage errors.
pub async fn check_general_grants(
    state: &AppState,
    subject: &SubjectId,
    grants: &[Purpose],
) -> Result<(), AppError> {
    if grants.iter().any(|p| CHILD_RESTRICTED.contains(p))
        && child_restricted(state, subject).await?
    {
        return Err(AppError::GuardianConsentRequired(
            "未满十四周岁的用户开启此项目前，需要监护人同意并单独同意处理未成年人个人信息（minor_data）".into(),
        ));
    }
    Ok(())
}

/// Checks a separate consent before it is granted: `minor_data` needs a recorded guardian
/// consent first.
///
/// # Errors
/// `guardian-consent-required` (403); storage errors.
pub async fn check_separate_grant(
    state: &AppState,
    subject: &SubjectId,
    purpose: &SensitivePurpose,
) -> Result<(), AppError> {
    if *purpose == SensitivePurpose::MinorData && !has_guardian_consent(state, subject).await? {
        return Err(AppError::GuardianConsentRequired(
            "处理未成年人个人信息的单独同意须在监护人同意之后给出（/account/guardian）".into(),
        ));
    }
    Ok(())
}

/// Withdraws the [`CHILD_RESTRICTED`] purposes the account has granted when the child rules
/// apply (called once the age becomes known, after a verification). Recorded as ordinary
/// withdrawals (surface `web`: the user's own verification triggered them).
///
/// # Errors
/// Storage errors.
pub async fn after_verification(state: &AppState, account: &SubjectId) -> Result<(), AppError> {
    if !child_restricted(state, account).await? {
        return Ok(());
    }
    let cs = state.privacy.consent_state(Some(account)).await?;
    let granted: Vec<Purpose> = CHILD_RESTRICTED
        .iter()
        .filter(|p| cs.is_granted(p))
        .cloned()
        .collect();
    if !granted.is_empty() {
        state
            .privacy
            .change_consent(
                account,
                &crate::privacy::ConsentChange {
                    withdraw: granted,
                    ..Default::default()
                },
                Surface::Web,
            )
            .await?;
        tracing::info!("child account: optional purposes withdrawn until guardian consent");
    }
    Ok(())
}

/// Parses a relationship id of [`RELATIONSHIPS`].
pub fn parse_relationship(s: &str) -> Option<&'static str> {
    RELATIONSHIPS
        .iter()
        .find(|(id, _)| *id == s)
        .map(|(id, _)| *id)
}

/// Records the guardian consent of `account` — the caller verified the SMS code sent to
/// `guardian_phone` (purpose `guardian`). Name and phone are sealed with the account's data key.
/// Audited as a consent change.
///
/// # Errors
/// Storage, key and crypto errors.
pub async fn record_guardian_consent(
    state: &AppState,
    account: &SubjectId,
    guardian_name: &RealName,
    guardian_phone: &Phone,
    relationship: &'static str,
) -> Result<(), AppError> {
    let privacy = &state.privacy;
    let (key, version) = privacy.data_key(account).await?;
    let cipher = key.cipher(version);
    let seal = |column: &str, v: &str| {
        cipher
            .seal(
                &FieldContext::new(TABLE, column, account.as_str()),
                v.as_bytes(),
            )
            .map_err(crate::privacy::PrivacyError::from)
    };
    let row = GuardianConsentRow {
        account_id: account.as_str().to_string(),
        guardian_name_ciphertext: seal("guardian_name_ciphertext", guardian_name.expose())?,
        guardian_phone_ciphertext: seal("guardian_phone_ciphertext", guardian_phone.expose())?,
        relationship: relationship.to_string(),
        recorded_at: privacy.now(),
    };
    privacy.store().upsert_guardian_consent(&row).await?;
    let pseudonym = privacy.pseudonym(account).await?;
    privacy
        .audit(
            anjia_privacy::audit::AuditEvent::new(
                anjia_privacy::audit::AuditKind::ConsentChanged,
                anjia_privacy::audit::Actor::Subject(pseudonym.clone()),
            )
            .subject(pseudonym)
            .purpose("guardian consent")
            .details(
                serde_json::json!({"guardian_consent": "recorded", "relationship": relationship}),
            ),
        )
        .await?;
    tracing::info!(relationship, "guardian consent recorded");
    Ok(())
}
