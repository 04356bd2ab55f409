//! The third-party registry and the in-country storage check (PRV-12, 35, 36, 39).
//!
//! Every outbound flow of PI is declared in `data/privacy/third-parties.toml` (format documented
//! there): recipient id, name, purpose, relation (entrusted processor, PIPL 2021 Art. 21, or
//! independent recipient, Art. 23), consent needed (general or separate), inventory field ids
//! sent, processing region, impact-assessment id (Art. 55–56). [`ThirdPartyRegistry::authorize`]
//! is the only way to obtain a [`Provision`] record; anything else is a [`ProvisionRefused`] that
//! the caller logs.
//!
//! # Regions (PIPL Art. 38–40 cross-border rules)
//! [`is_mainland_region`] accepts the 31 ISO 3166-2:CN codes of the mainland's provinces,
//! autonomous regions and municipalities (`CN-BJ` … `CN-XJ`, case-insensitive) and the mainland
//! regions of the major clouds (`cn-beijing`, `cn-shanghai`, `ap-guangzhou`, `cn-north-1`, …; list
//! in [`MAINLAND_CLOUD_REGIONS`]). Hong Kong, Macau and Taiwan (`CN-HK`, `CN-MO`, `CN-TW`, `HK`,
//! `cn-hongkong`, `ap-hongkong`, …) are **outside**: they are separate jurisdictions for PI
//! purposes and a transfer there is a cross-border provision under Art. 38 (the CAC's
//! cross-border rules treat them so). Anything unknown is outside too: the check fails closed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::consent::{ConsentState, Purpose, SensitivePurpose, SubjectRef, valid_recipient_id};

const BUNDLED: &str = include_str!("../../../data/privacy/third-parties.toml");

/// ISO 3166-2:CN codes of the 31 mainland provincial-level divisions (GB/T 2260 order).
pub const MAINLAND_ISO_REGIONS: [&str; 31] = [
    "CN-BJ", "CN-TJ", "CN-HE", "CN-SX", "CN-NM", "CN-LN", "CN-JL", "CN-HL", "CN-SH", "CN-JS",
    "CN-ZJ", "CN-AH", "CN-FJ", "CN-JX", "CN-SD", "CN-HA", "CN-HB", "CN-HN", "CN-GD", "CN-GX",
    "CN-HI", "CN-CQ", "CN-SC", "CN-GZ", "CN-YN", "CN-XZ", "CN-SN", "CN-GS", "CN-QH", "CN-NX",
    "CN-XJ",
];

/// Mainland cloud region ids accepted besides the ISO codes (Alibaba Cloud `cn-*`, Tencent Cloud
/// `ap-*` mainland regions, Huawei Cloud `cn-*-N`, AWS China `cn-north-1`/`cn-northwest-1`).
pub const MAINLAND_CLOUD_REGIONS: [&str; 29] = [
    "cn-beijing",
    "cn-shanghai",
    "cn-hangzhou",
    "cn-shenzhen",
    "cn-qingdao",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-chengdu",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "ap-beijing",
    "ap-shanghai",
    "ap-guangzhou",
    "ap-chengdu",
    "ap-chongqing",
    "ap-nanjing",
    "cn-north-1",
    "cn-northwest-1",
    "cn-north-4",
    "cn-north-9",
    "cn-east-2",
    "cn-east-3",
    "cn-south-1",
    "cn-southwest-2",
    "cn-south-4",
];

/// Whether `region` names a place in mainland China (see module docs). Case-insensitive.
pub fn is_mainland_region(region: &str) -> bool {
    let r = region.trim();
    MAINLAND_ISO_REGIONS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(r))
        || MAINLAND_CLOUD_REGIONS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(r))
}

/// Errors loading the registry; each names the recipient and problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// TOML syntax or shape.
    #[error("third-parties.toml: {0}")]
    Toml(String),
    /// Bad or duplicate id.
    #[error("recipient id `{0}` is invalid or duplicated")]
    BadId(String),
    /// A required text is empty.
    #[error("recipient {id}: `{field}` is empty")]
    Empty {
        /// Recipient.
        id: String,
        /// Field.
        field: &'static str,
    },
    /// Region outside mainland China.
    #[error("recipient {id}: region `{region}` is not in mainland China")]
    OutsideMainland {
        /// Recipient.
        id: String,
        /// Region.
        region: String,
    },
    /// `requires_purpose` is not a purpose id, or is `core`.
    #[error("recipient {id}: requires_purpose `{purpose}` is not an optional or sensitive purpose")]
    BadPurpose {
        /// Recipient.
        id: String,
        /// The value.
        purpose: String,
    },
    /// A field is listed twice or is not `section.name`.
    #[error("recipient {id}: field `{field}` is malformed or duplicated")]
    BadField {
        /// Recipient.
        id: String,
        /// Field.
        field: String,
    },
}

/// Processor relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Entrusted processor (PIPL Art. 21).
    Entrusted,
    /// Independent recipient (PIPL Art. 23).
    Independent,
}

/// Consent a recipient needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentNeeded {
    /// Acceptance of the policy (plus `requires_purpose`, if set).
    General,
    /// Separate consent for `third_party:<id>` (plus `requires_purpose`, if set).
    Separate,
}

/// One declared recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Stable id (`[a-z0-9_]`).
    pub id: String,
    /// Name (zh-CN).
    pub name_zh: String,
    /// Purpose (zh-CN).
    pub purpose: String,
    /// Entrusted or independent.
    pub relation: Relation,
    /// General or separate consent.
    pub consent: ConsentNeeded,
    /// An additional purpose that must be granted (e.g. `location`).
    #[serde(default)]
    pub requires_purpose: Option<String>,
    /// Inventory field ids that may be sent.
    pub fields: Vec<String>,
    /// Processing region (mainland only).
    pub region: String,
    /// Impact-assessment record id.
    pub impact_assessment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    recipient: Vec<Recipient>,
}

/// A provision that passed every check: append it to `third_party_provisions` (PRV-35) and
/// include it in the subject's copy (PRV-23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provision {
    /// Recipient id.
    pub recipient: String,
    /// Declared purpose.
    pub purpose: String,
    /// Field ids sent (as requested, all declared).
    pub fields: Vec<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Whose PI.
    pub subject: SubjectRef,
}

/// Why a provision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalReason {
    /// Not in the registry.
    #[error("recipient is not registered")]
    UnknownRecipient,
    /// A field not declared for this recipient.
    #[error("field `{0}` is not declared for this recipient")]
    UndeclaredField(String),
    /// No fields at all were named.
    #[error("no fields named")]
    NoFields,
    /// No policy accepted (or no subject in the consent state).
    #[error("the subject has not accepted the privacy policy")]
    NoPolicyAcceptance,
    /// An optional purpose is not granted.
    #[error("consent for `{0}` is not granted")]
    MissingConsent(Purpose),
    /// A separate consent is not in force.
    #[error("separate consent (单独同意) for `{0}` is not in force")]
    MissingSeparateConsent(Purpose),
}

/// A refused provision: log it (PRV-35).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provision to `{recipient}` refused: {reason}")]
pub struct ProvisionRefused {
    /// The recipient id asked for.
    pub recipient: String,
    /// Why.
    pub reason: RefusalReason,
}

/// The registry of recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThirdPartyRegistry {
    recipients: Vec<Recipient>,
}

impl ThirdPartyRegistry {
    /// Parses and validates a registry: ids valid and unique, texts non-empty, regions in the
    /// mainland, `requires_purpose` an optional or sensitive purpose, fields `section.name` and
    /// unique per recipient.
    ///
    /// # Errors
    /// [`RegistryError`] naming the recipient and problem.
    pub fn from_toml(text: &str) -> Result<ThirdPartyRegistry, RegistryError> {
        let raw: RawRegistry =
            toml::from_str(text).map_err(|e| RegistryError::Toml(e.to_string()))?;
        let mut ids = BTreeSet::new();
        for r in &raw.recipient {
            if !valid_recipient_id(&r.id) || !ids.insert(r.id.clone()) {
                return Err(RegistryError::BadId(r.id.clone()));
            }
            let empty = |field: &'static str| RegistryError::Empty {
                id: r.id.clone(),
                field,
            };
            if r.name_zh.trim().is_empty() {
                return Err(empty("name_zh"));
            }
            if r.purpose.trim().is_empty() {
                return Err(empty("purpose"));
            }
            if r.impact_assessment.trim().is_empty() {
                return Err(empty("impact_assessment"));
            }
            if r.fields.is_empty() {
                return Err(empty("fields"));
            }
            if !is_mainland_region(&r.region) {
                return Err(RegistryError::OutsideMainland {
                    id: r.id.clone(),
                    region: r.region.clone(),
                });
            }
            if let Some(p) = &r.requires_purpose {
                match Purpose::parse(p) {
                    Ok(Purpose::Core) | Err(_) => {
                        return Err(RegistryError::BadPurpose {
                            id: r.id.clone(),
                            purpose: p.clone(),
                        });
                    }
                    Ok(_) => {}
                }
            }
            let mut seen = BTreeSet::new();
            for f in &r.fields {
                let ok = f
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                    && f.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                    });
                if !ok || !seen.insert(f.as_str()) {
                    return Err(RegistryError::BadField {
                        id: r.id.clone(),
                        field: f.clone(),
                    });
                }
            }
        }
        Ok(ThirdPartyRegistry {
            recipients: raw.recipient,
        })
    }

    /// The registry compiled in from `data/privacy/third-parties.toml`.
    ///
    /// # Errors
    /// Only if the bundled file is invalid (a unit test checks it is not).
    pub fn bundled() -> Result<ThirdPartyRegistry, RegistryError> {
        ThirdPartyRegistry::from_toml(BUNDLED)
    }

    /// Every recipient, in file order.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// The recipient with `id`.
    pub fn get(&self, id: &str) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id == id)
    }

    /// The consent purposes a recipient needs (`third_party:<id>` for separate ones, then
    /// `requires_purpose`).
    pub fn purposes_needed(r: &Recipient) -> Vec<Purpose> {
        let mut v = Vec::new();
        if r.consent == ConsentNeeded::Separate {
            v.push(Purpose::ThirdPartyProvision(r.id.clone()));
        }
        if let Some(p) = r
            .requires_purpose
            .as_deref()
            .and_then(|p| Purpose::parse(p).ok())
        {
            v.push(p);
        }
        v
    }

    /// Checks one provision of `fields` of the consent state's subject to `recipient_id` at `at`.
    /// Checks in order: recipient registered; at least one field and every field declared for
    /// it; policy accepted; for a separate-consent recipient a [`crate::consent::SeparateConsentProof`]
    /// for `third_party:<id>`; `requires_purpose` granted (through separate consent if sensitive).
    ///
    /// # Errors
    /// [`ProvisionRefused`] with the first failing [`RefusalReason`].
    pub fn authorize(
        &self,
        recipient_id: &str,
        fields: &[&str],
        consent: &ConsentState,
        at: OffsetDateTime,
    ) -> Result<Provision, ProvisionRefused> {
        let refuse = |reason| ProvisionRefused {
            recipient: recipient_id.to_string(),
            reason,
        };
        let r = self
            .get(recipient_id)
            .ok_or_else(|| refuse(RefusalReason::UnknownRecipient))?;
        if fields.is_empty() {
            return Err(refuse(RefusalReason::NoFields));
        }
        if let Some(f) = fields.iter().find(|f| !r.fields.iter().any(|d| d == *f)) {
            return Err(refuse(RefusalReason::UndeclaredField((*f).to_string())));
        }
        let subject = match consent.subject() {
            Some(s) if consent.is_granted(&Purpose::Core) => s.clone(),
            _ => return Err(refuse(RefusalReason::NoPolicyAcceptance)),
        };
        for p in ThirdPartyRegistry::purposes_needed(r) {
            match p.sensitive() {
                Some(sp) => {
                    if consent.separate(&sp).is_none() {
                        return Err(refuse(RefusalReason::MissingSeparateConsent(p)));
                    }
                }
                None => {
                    if !consent.is_granted(&p) {
                        return Err(refuse(RefusalReason::MissingConsent(p)));
                    }
                }
            }
        }
        let mut out_fields: Vec<String> = Vec::with_capacity(fields.len());
        for f in fields {
            if !out_fields.iter().any(|o| o == f) {
                out_fields.push((*f).to_string());
            }
        }
        Ok(Provision {
            recipient: r.id.clone(),
            purpose: r.purpose.clone(),
            fields: out_fields,
            at,
            subject,
        })
    }
}

/// Convenience: the [`SensitivePurpose`] for a recipient's separate consent.
pub fn separate_purpose(recipient_id: &str) -> SensitivePurpose {
    SensitivePurpose::ThirdPartyProvision(recipient_id.to_string())
}

/// A configured storage location (database, object store, backups, logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageLocation {
    /// What is stored there (`"main database"`, `"backups"`).
    pub name: String,
    /// Region id (see module docs).
    pub region: String,
}

/// Storage locations outside mainland China (PIPL Art. 40 localisation; PRV-36).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage outside mainland China: {}", .outside.iter().map(|l| format!("{} ({})", l.name, l.region)).collect::<Vec<_>>().join(", "))]
pub struct StorageOutsideMainland {
    /// Every offending location.
    pub outside: Vec<StorageLocation>,
}

/// Checks that every location is in mainland China.
///
/// # Errors
/// [`StorageOutsideMainland`] listing every location whose region is not a mainland region
/// (including HK/Macau/Taiwan and unknown ids).
pub fn check_storage_locations(
    locations: &[StorageLocation],
) -> Result<(), StorageOutsideMainland> {
    let outside: Vec<StorageLocation> = locations
        .iter()
        .filter(|l| !is_mainland_region(&l.region))
        .cloned()
        .collect();
    if outside.is_empty() {
        Ok(())
    } else {
        Err(StorageOutsideMainland { outside })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{ConsentEvent, ExplicitAct, GeneralAcceptance, SeparateConsent, Surface};
    use crate::policy::PolicyDocument;
    use time::macros::datetime;

    fn subj() -> SubjectRef {
        SubjectRef::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    const AT: OffsetDateTime = datetime!(2027-01-05 0:00 UTC);

    fn state(ticked: &[Purpose], separate: &[SensitivePurpose]) -> ConsentState {
        let d = PolicyDocument::bundled().unwrap();
        let v = d.latest();
        let mut ev = GeneralAcceptance::new(v, ticked, Surface::App, AT)
            .unwrap()
            .events(&subj());
        for sp in separate {
            let act = ExplicitAct::from_confirmation(sp, &sp.confirmation_key(), Surface::App, AT)
                .unwrap();
            ev.push(
                SeparateConsent::given(sp.clone(), act)
                    .unwrap()
                    .event(&subj(), v)
                    .unwrap(),
            );
        }
        ConsentState::fold_with(&ev, &d)
    }

    #[test]
    fn bundled_registry_is_valid_and_matches_the_policy() {
        let reg = ThirdPartyRegistry::bundled().unwrap();
        let ids: Vec<&str> = reg.recipients().iter().map(|r| r.id.as_str()).collect();
        for want in [
            "sms_gateway",
            "realname_verifier",
            "payment_wechatpay",
            "payment_alipay",
            "login_wechat",
            "login_alipay",
            "courier",
            "virtual_number",
            "maps_geocoding",
            "maps_location",
        ] {
            assert!(ids.contains(&want), "{want}");
        }
        let d = PolicyDocument::bundled().unwrap();
        let v = d.latest();
        for r in reg.recipients() {
            // Every consent purpose a recipient needs is declared by the current policy (PRV-09).
            for p in ThirdPartyRegistry::purposes_needed(r) {
                assert!(v.declares(&p), "{} needs undeclared {p}", r.id);
            }
            // Independent recipients need separate consent, except the user's own login request.
            if r.relation == Relation::Independent && !r.id.starts_with("login_") {
                assert_eq!(r.consent, ConsentNeeded::Separate, "{}", r.id);
            }
        }
        // PRV-12: the verifier receives only name and number.
        assert_eq!(
            reg.get("realname_verifier").unwrap().fields,
            vec!["verification.real_name", "verification.id_number"]
        );
        // Every separate third-party purpose declared by the policy has a recipient.
        for p in v.purposes() {
            if let Purpose::ThirdPartyProvision(id) = p {
                assert!(
                    reg.get(id)
                        .is_some_and(|r| r.consent == ConsentNeeded::Separate),
                    "{id}"
                );
            }
        }
    }

    #[test]
    fn authorize_checks_recipient_fields_and_consent() {
        let reg = ThirdPartyRegistry::bundled().unwrap();
        let s = state(&[], &[]);
        let p = reg
            .authorize("sms_gateway", &["account.phone"], &s, AT)
            .unwrap();
        assert_eq!(p.subject, subj());
        assert_eq!(p.fields, vec!["account.phone"]);
        let refused = |r: Result<Provision, ProvisionRefused>| r.unwrap_err().reason;
        assert_eq!(
            refused(reg.authorize("ad_network", &["account.phone"], &s, AT)),
            RefusalReason::UnknownRecipient
        );
        assert_eq!(
            refused(reg.authorize(
                "sms_gateway",
                &["account.phone", "verification.id_number"],
                &s,
                AT
            )),
            RefusalReason::UndeclaredField("verification.id_number".into())
        );
        assert_eq!(
            refused(reg.authorize("sms_gateway", &[], &s, AT)),
            RefusalReason::NoFields
        );
        assert_eq!(
            refused(reg.authorize(
                "sms_gateway",
                &["account.phone"],
                &ConsentState::default(),
                AT
            )),
            RefusalReason::NoPolicyAcceptance
        );
        // Separate consent: general acceptance is not enough.
        let courier = ["order.recipient_name", "order.recipient_address"];
        assert_eq!(
            refused(reg.authorize("courier", &courier, &s, AT)),
            RefusalReason::MissingSeparateConsent(Purpose::ThirdPartyProvision("courier".into()))
        );
        let s2 = state(&[], &[separate_purpose("courier")]);
        assert!(reg.authorize("courier", &courier, &s2, AT).is_ok());
        // The verifier needs both its own separate consent and real-name verification's.
        let rv = ["verification.real_name", "verification.id_number"];
        let s3 = state(&[], &[separate_purpose("realname_verifier")]);
        assert_eq!(
            refused(reg.authorize("realname_verifier", &rv, &s3, AT)),
            RefusalReason::MissingSeparateConsent(Purpose::RealNameVerification)
        );
        let s4 = state(
            &[],
            &[
                separate_purpose("realname_verifier"),
                SensitivePurpose::RealNameVerification,
            ],
        );
        assert!(reg.authorize("realname_verifier", &rv, &s4, AT).is_ok());
        // Optional purposes: maps with location only when location is granted.
        assert_eq!(
            refused(reg.authorize("maps_location", &["location.coarse"], &s, AT)),
            RefusalReason::MissingConsent(Purpose::Location)
        );
        assert!(
            reg.authorize(
                "maps_location",
                &["location.coarse"],
                &state(&[Purpose::Location], &[]),
                AT
            )
            .is_ok()
        );
        assert!(
            reg.authorize("maps_geocoding", &["valuation.typed_address"], &s, AT)
                .is_ok()
        );
        // Withdrawal stops provision at once.
        let d = PolicyDocument::bundled().unwrap();
        let mut ev = GeneralAcceptance::new(d.latest(), &[], Surface::App, AT)
            .unwrap()
            .events(&subj());
        let sp = separate_purpose("courier");
        let act =
            ExplicitAct::from_confirmation(&sp, &sp.confirmation_key(), Surface::App, AT).unwrap();
        ev.push(
            SeparateConsent::given(sp.clone(), act)
                .unwrap()
                .event(&subj(), d.latest())
                .unwrap(),
        );
        ev.push(ConsentEvent::withdraw(
            subj(),
            sp.purpose(),
            d.latest(),
            Surface::App,
            AT,
        ));
        assert!(
            reg.authorize("courier", &courier, &ConsentState::fold_with(&ev, &d), AT)
                .is_err()
        );
    }

    #[test]
    fn registry_validation() {
        let one = |region: &str, extra: &str| {
            format!(
                "[[recipient]]\nid = \"x\"\nname_zh = \"某\"\npurpose = \"某\"\nrelation = \"entrusted\"\nconsent = \"general\"\nfields = [\"a.b\"]\nregion = \"{region}\"\nimpact_assessment = \"PIA-1\"\n{extra}"
            )
        };
        assert!(ThirdPartyRegistry::from_toml(&one("CN-SH", "")).is_ok());
        assert!(matches!(
            ThirdPartyRegistry::from_toml(&one("CN-HK", "")),
            Err(RegistryError::OutsideMainland { .. })
        ));
        assert!(matches!(
            ThirdPartyRegistry::from_toml(&one("cn-sh", "requires_purpose = \"core\"")),
            Err(RegistryError::BadPurpose { .. })
        ));
        assert!(matches!(
            ThirdPartyRegistry::from_toml(&one("CN-SH", "country = \"US\"")),
            Err(RegistryError::Toml(_))
        ));
        let dup = format!("{}{}", one("CN-SH", ""), one("CN-SH", ""));
        assert!(matches!(
            ThirdPartyRegistry::from_toml(&dup),
            Err(RegistryError::BadId(_))
        ));
    }

    #[test]
    fn storage_locations() {
        let loc = |n: &str, r: &str| StorageLocation {
            name: n.into(),
            region: r.into(),
        };
        assert!(
            check_storage_locations(&[
                loc("db", "CN-BJ"),
                loc("backups", "cn-shanghai"),
                loc("logs", "ap-guangzhou")
            ])
            .is_ok()
        );
        let err = check_storage_locations(&[
            loc("db", "CN-BJ"),
            loc("backups", "cn-hongkong"),
            loc("cdn", "CN-TW"),
            loc("files", "CN-MO"),
            loc("x", "us-east-1"),
            loc("y", ""),
        ])
        .unwrap_err();
        assert_eq!(err.outside.len(), 5);
        assert!(err.to_string().contains("backups (cn-hongkong)"));
        assert!(
            !is_mainland_region("HK")
                && !is_mainland_region("ap-hongkong")
                && !is_mainland_region("CN")
        );
        for r in MAINLAND_ISO_REGIONS {
            assert!(is_mainland_region(&r.to_lowercase()));
        }
    }
}
