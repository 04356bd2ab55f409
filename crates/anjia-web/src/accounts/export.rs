//! Access, copy and portability (查阅、复制、转移; issue 5 item 1; PRIVACY.md PRV-23, PRV-24;
//! PIPL Art. 45; policy clause `rights.access`).
//!
//! After a fresh step-up code the signed-in user downloads a zip (`GET /api/v1/me/export`, or the
//! page `/account/export`) holding:
//! * `anjia-export.json`: an [`ExportDocument`] (schema [`EXPORT_SCHEMA`], versioned: a reader
//!   refuses any other value) with everything anjia holds about the account — profile, the
//!   real-name verification **result** (the document number masked as stored; the birth date is
//!   not repeated), the guardian's consent (the guardian's name and number masked: they are
//!   another person's), sessions and devices (addresses masked), linked logins, the current
//!   consent and its whole history, third-party provisions, search history, saved searches,
//!   follows, browsing history, notifications, messages, notification settings and the account's
//!   security log (what happened and when). Lots are named by platform and source item id too,
//!   which are stable across installations. Nothing about anyone else.
//! * `files/avatar.jpg|png` when an avatar is set.
//!
//! The phone number and the alert e-mail address are in the file in full: it is the user's own
//! copy (and the re-import needs the number). The export is audited as `export` under the
//! account's pseudonym (counts only).
//!
//! Re-import ([`import_account`], `anjia import-account --file F.zip`) creates the account for
//! the file's number in another installation and restores what a user expects to find: nickname,
//! avatar, saved searches, follows (of lots that installation has) and notification settings.
//! Consents are **not** restored — a consent is given to an operator for a policy version, so the
//! user accepts the policy (and grants optional purposes) again at the first sign-in; alerts by
//! SMS or e-mail stay suppressed until then. Sessions, history, messages and logs are records of
//! the old installation and are not replayed.

use super::auth::SignedIn;
use super::pages::{page, refusal_status};
use super::session::mask_ip;
use super::{AccountError, Accounts, profile};
use crate::AppState;
use crate::error::{AppError, PageError, Problem};
use crate::privacy::{PrivacyError, SubjectId, SubjectKind};
use anjia_domain::china_time::format_shanghai;
use anjia_domain::mask::{mask_phone, mask_real_name};
use anjia_privacy::audit::{Actor, AuditEvent, AuditKind};
use anjia_privacy::pi::Phone;
use anjia_store::accounts::AccountRow;
use anjia_store::alerts::{
    Channels, Frequency, MessageQuery, NewSavedSearch, NotificationSettings,
};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use time::OffsetDateTime;

/// The export format's id and version. A change that drops or retypes a field is `/2`.
pub const EXPORT_SCHEMA: &str = "anjia.export/1";
/// The JSON document's name inside the zip.
pub const EXPORT_JSON: &str = "anjia-export.json";
/// Largest zip the re-import reads (the avatar is ≤ 2 MiB; 10,000s of rows compress well).
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

mod rfc3339_opt {
    pub use time::serde::rfc3339::option::{deserialize, serialize};
}

/// The export (see the module docs). Times are RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportDocument {
    /// [`EXPORT_SCHEMA`].
    pub schema: String,
    /// When the export was made.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// The account.
    pub account: ExportAccount,
    /// The real-name verification result, if any.
    #[serde(default)]
    pub verification: Option<ExportVerification>,
    /// A guardian's consent (minors), if any.
    #[serde(default)]
    pub guardian_consent: Option<ExportGuardian>,
    /// Sessions (signed-in devices), newest first, revoked and expired ones included.
    #[serde(default)]
    pub sessions: Vec<ExportSession>,
    /// Linked third-party logins.
    #[serde(default)]
    pub linked_logins: Vec<ExportLink>,
    /// Consent now and its history.
    pub consents: ExportConsents,
    /// Provisions of the account's data to third parties.
    #[serde(default)]
    pub third_party_provisions: Vec<ExportProvision>,
    /// Searches (newest first).
    #[serde(default)]
    pub search_history: Vec<ExportSearch>,
    /// Saved searches (选房条件), oldest first.
    #[serde(default)]
    pub saved_searches: Vec<ExportSavedSearch>,
    /// Followed lots (关注), newest first.
    #[serde(default)]
    pub follows: Vec<ExportLot>,
    /// Viewed lots, newest first.
    #[serde(default)]
    pub browsing_history: Vec<ExportLot>,
    /// Alerts produced for the account, newest first.
    #[serde(default)]
    pub notifications: Vec<ExportNotification>,
    /// The message centre, newest first.
    #[serde(default)]
    pub messages: Vec<ExportMessage>,
    /// Delivery settings.
    pub notification_settings: ExportSettings,
    /// The account's security log: what happened and when (no staff ids).
    #[serde(default)]
    pub activity: Vec<ExportActivity>,
    /// Files in the zip beside this document.
    #[serde(default)]
    pub files: Vec<ExportFile>,
}

/// The account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportAccount {
    /// The account id (random, 32 hex).
    pub id: String,
    /// The mobile number in full (11 digits).
    pub phone: String,
    /// The same, masked as shown on the pages.
    pub phone_masked: String,
    /// Nickname.
    pub nickname: Option<String>,
    /// Whether a password is set (the hash is not exported).
    pub has_password: bool,
    /// The avatar's path in the zip, if any.
    pub avatar: Option<String>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The verification result (PRV-12: only the result and the masked number are kept).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportVerification {
    /// Document type id.
    pub document_type: String,
    /// `verified` or `mismatch`.
    pub status: String,
    /// The document number, masked.
    pub number_masked: String,
    /// Whether a (sealed) birth date is held.
    pub birth_date_held: bool,
    /// The verification provider id.
    pub provider: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub verified_at: OffsetDateTime,
}

/// A guardian's consent; the guardian's data masked (it is about the guardian).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportGuardian {
    /// Relationship id.
    pub relationship: String,
    /// Guardian's name, masked (`张**`).
    pub guardian_name_masked: String,
    /// Guardian's number, masked.
    pub guardian_phone_masked: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// A session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportSession {
    /// Public id.
    pub id: String,
    /// `web` or `app`.
    pub kind: String,
    /// Signed in.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Signed out, if it was.
    #[serde(with = "rfc3339_opt")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Device model or browser.
    pub device_model: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// App version.
    pub app_version: Option<String>,
    /// Network type.
    pub network_type: Option<String>,
    /// Address at sign-in, masked.
    pub ip_masked: Option<String>,
}

/// A linked login.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportLink {
    /// Provider id.
    pub provider: String,
    /// Since.
    #[serde(with = "time::serde::rfc3339")]
    pub linked_at: OffsetDateTime,
}

/// Consent now and its history.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportConsents {
    /// The policy version accepted, if any.
    pub accepted_policy_version: Option<String>,
    /// Purposes granted now.
    pub granted: Vec<String>,
    /// Every grant and withdrawal, oldest first.
    pub history: Vec<ExportConsentRecord>,
}

/// One consent record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportConsentRecord {
    /// Purpose id.
    pub purpose: String,
    /// `grant` or `withdraw`.
    pub action: String,
    /// Policy version in force.
    pub policy_version: String,
    /// Where (`web`, `app`, …).
    pub surface: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A provision to a third party.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportProvision {
    /// Recipient id (data/privacy/third-parties.toml).
    pub recipient: String,
    /// Purpose id.
    pub purpose: String,
    /// Inventory field ids provided.
    pub fields: Vec<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub provided_at: OffsetDateTime,
}

/// A search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportSearch {
    /// What was typed.
    pub query: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub searched_at: OffsetDateTime,
}

/// A saved search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportSavedSearch {
    /// Name.
    pub name: String,
    /// Criteria (the stored JSON object).
    pub criteria: serde_json::Value,
    /// Channels (`in_app`, `sms`, `email`).
    pub channels: Vec<String>,
    /// `instant` or `daily`.
    pub frequency: String,
    /// Whether it sends alerts.
    pub active: bool,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A lot followed or viewed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportLot {
    /// The lot id in this installation.
    pub lot_id: i64,
    /// Source platform (stable across installations), if the lot is still stored.
    pub platform: Option<String>,
    /// Item id on the platform.
    pub source_item_id: Option<String>,
    /// Followed or last viewed.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An alert produced for the account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportNotification {
    /// Change kind.
    pub kind: String,
    /// The lot id.
    pub lot_id: i64,
    /// Why it was sent.
    pub explanation: String,
    /// Whether it came from the browsing history.
    pub personalised: bool,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportMessage {
    /// Category.
    pub category: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Link.
    pub link: Option<String>,
    /// Sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Read.
    #[serde(with = "rfc3339_opt")]
    pub read_at: Option<OffsetDateTime>,
}

/// Delivery settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportSettings {
    /// Quiet hours start, minutes of the day (Asia/Shanghai).
    pub quiet_start_minute: i64,
    /// Quiet hours end.
    pub quiet_end_minute: i64,
    /// SMS/e-mail per day.
    pub daily_cap: i64,
    /// The alert e-mail address, in full.
    pub email: Option<String>,
}

/// One entry of the account's security log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportActivity {
    /// Event kind (`sign_in`, `password_changed`, …).
    pub kind: String,
    /// Stated purpose, if any.
    pub purpose: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A file of the zip.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportFile {
    /// Path in the zip.
    pub path: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub bytes: u64,
}

/// An export: the zip bytes and the counts audited.
pub struct Export {
    /// The zip file.
    pub zip: Vec<u8>,
    /// The document inside it.
    pub document: ExportDocument,
}

/// Why a file could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not a zip, or no `anjia-export.json` in it, or too large.
    #[error("not an anjia export: {0}")]
    NotAnExport(String),
    /// A schema other than [`EXPORT_SCHEMA`].
    #[error("unsupported export schema (expected {EXPORT_SCHEMA})")]
    Schema,
    /// The number is malformed.
    #[error("the export's phone number is not a mainland mobile number")]
    Phone,
    /// The number already has an active account here.
    #[error("this phone number already has an account in this installation")]
    PhoneTaken,
    /// Storage, privacy or file errors.
    #[error("{0}")]
    Account(#[from] AccountError),
}

/// What a re-import restored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// The new account id.
    pub account_id: String,
    /// Saved searches created.
    pub saved_searches: usize,
    /// Follows restored (lots stored here).
    pub follows: usize,
    /// Follows skipped: the lot is not stored in this installation.
    pub follows_skipped: usize,
    /// Whether the avatar was restored.
    pub avatar: bool,
    /// Whether notification settings were restored.
    pub settings: bool,
}

const SESSIONS_TABLE: &str = "sessions";
const IP_COLUMN: &str = "ip_ciphertext";
const EMAIL_FIELD: (&str, &str) = ("notification_settings", "email_ciphertext");
const GUARDIAN_TABLE: &str = "guardian_consents";
/// Rows read at once where the store pages.
const PAGE: i64 = 200;
/// "All" for the store's newest-N reads.
const ALL: i64 = i64::MAX / 2;

fn store_err(e: anjia_store::StoreError) -> AccountError {
    AccountError::Store(e)
}

impl Accounts {
    /// Builds the signed-in account's export (step-up required) and audits it.
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`]; storage, privacy and I/O errors.
    pub async fn export(&self, who: &SignedIn) -> Result<Export, AccountError> {
        self.require_step_up(who).await?;
        let row = self.account_row(who).await?;
        let export = self.export_account(&row).await?;
        let pseudonym = self.privacy().pseudonym(who.account()).await?;
        let d = &export.document;
        self.privacy()
            .audit(
                AuditEvent::new(AuditKind::Export, Actor::Subject(pseudonym.clone()))
                    .subject(pseudonym)
                    .purpose("subject_access")
                    .details(serde_json::json!({
                        "schema": EXPORT_SCHEMA,
                        "saved_searches": d.saved_searches.len(),
                        "search_history": d.search_history.len(),
                        "messages": d.messages.len(),
                        "files": d.files.len(),
                    })),
            )
            .await?;
        Ok(export)
    }

    /// The export of an account row (no step-up, no audit: [`Accounts::export`] is the checked
    /// entry point; benchmarks and tests call this).
    ///
    /// # Errors
    /// Storage, privacy and I/O errors.
    pub async fn export_account(&self, row: &AccountRow) -> Result<Export, AccountError> {
        let store = self.store();
        let privacy = self.privacy();
        let id = SubjectId::parse(&row.id).ok_or(AccountError::Internal(
            "stored account id is malformed".into(),
        ))?;
        let aid = row.id.as_str();
        let phone = self.phone_of(row).await?;
        let mut files = Vec::new();
        let mut avatar_bytes = None;
        if let Some(name) = &row.avatar_file
            && let Some(path) = profile::avatar_path(&self.config().files_dir, name)
        {
            match tokio::fs::read(&path).await {
                Ok(b) => {
                    let ext = if name.ends_with(".png") { "png" } else { "jpg" };
                    let p = format!("files/avatar.{ext}");
                    files.push(ExportFile {
                        path: p.clone(),
                        content_type: profile::avatar_mime(name).to_string(),
                        bytes: b.len() as u64,
                    });
                    avatar_bytes = Some((p, b));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(AccountError::Internal(format!("reading an avatar: {e}"))),
            }
        }
        let verification = store
            .identity_verification(aid)
            .await?
            .map(|v| ExportVerification {
                document_type: v.document_type,
                status: v.status,
                number_masked: v.number_masked,
                birth_date_held: v.birth_date_ciphertext.is_some(),
                provider: v.provider,
                verified_at: v.verified_at,
            });
        let guardian_consent = match store.guardian_consent(aid).await? {
            Some(g) => {
                let name = privacy
                    .open_field(
                        &id,
                        (GUARDIAN_TABLE, "guardian_name_ciphertext"),
                        &g.guardian_name_ciphertext,
                    )
                    .await?;
                let gphone = privacy
                    .open_field(
                        &id,
                        (GUARDIAN_TABLE, "guardian_phone_ciphertext"),
                        &g.guardian_phone_ciphertext,
                    )
                    .await?;
                Some(ExportGuardian {
                    relationship: g.relationship,
                    guardian_name_masked: mask_real_name(&name),
                    guardian_phone_masked: mask_phone(&gphone),
                    recorded_at: g.recorded_at,
                })
            }
            None => None,
        };
        let mut sessions = Vec::new();
        for s in store.sessions_of(aid).await? {
            let ip_masked = match &s.ip_ciphertext {
                Some(c) => {
                    let plain = privacy
                        .open_field(&id, (SESSIONS_TABLE, IP_COLUMN), c)
                        .await?;
                    plain.parse().ok().map(mask_ip)
                }
                None => None,
            };
            sessions.push(ExportSession {
                id: super::session::public_id(&s.id),
                kind: s.kind,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                revoked_at: s.revoked_at,
                device_model: s.device_model,
                os: s.os,
                app_version: s.app_version,
                network_type: s.network_type,
                ip_masked,
            });
        }
        let linked_logins = store
            .oauth_links_of(aid)
            .await?
            .into_iter()
            .map(|l| ExportLink {
                provider: l.provider,
                linked_at: l.linked_at,
            })
            .collect();
        let state = privacy.consent_state(Some(&id)).await?;
        let consents = ExportConsents {
            accepted_policy_version: state.accepted_version().map(str::to_string),
            granted: state
                .granted()
                .iter()
                .map(|p| p.id().into_owned())
                .collect(),
            history: privacy
                .consent_history(&id)
                .await?
                .into_iter()
                .map(|c| ExportConsentRecord {
                    purpose: c.purpose,
                    action: c.action,
                    policy_version: c.policy_version,
                    surface: c.surface,
                    at: c.at,
                })
                .collect(),
        };
        let pseudonym = privacy.pseudonym(&id).await?;
        let third_party_provisions = store
            .provisions_by_pseudonym(pseudonym.as_str())
            .await?
            .into_iter()
            .map(|p| ExportProvision {
                recipient: p.recipient,
                purpose: p.purpose,
                fields: p.fields,
                provided_at: p.provided_at,
            })
            .collect();
        let activity = store
            .audit_by_subject(pseudonym.as_str())
            .await?
            .into_iter()
            .map(|a| ExportActivity {
                kind: a.kind,
                purpose: a.purpose,
                at: a.at,
            })
            .collect();
        let history_rows = store.search_history(aid, ALL).await?;
        let search_history = if history_rows.is_empty() {
            vec![]
        } else {
            privacy
                .open_search_rows(&id, &history_rows)
                .await?
                .into_iter()
                .map(|e| ExportSearch {
                    query: e.query,
                    searched_at: e.at,
                })
                .collect()
        };
        let saved_searches = store
            .saved_searches_of(aid)
            .await?
            .into_iter()
            .map(|s| ExportSavedSearch {
                name: s.name,
                criteria: s.criteria,
                channels: s
                    .channels
                    .to_vec()
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
                frequency: s.frequency.as_str().to_string(),
                active: s.active,
                created_at: s.created_at,
                updated_at: s.updated_at,
            })
            .collect();
        let follows_rows = store.follows_of(aid).await?;
        let browsing_rows = store.browsing_history(aid, ALL).await?;
        let mut lot_ids: Vec<i64> = follows_rows
            .iter()
            .map(|f| f.posting_id)
            .chain(browsing_rows.iter().map(|b| b.posting_id))
            .collect();
        lot_ids.sort_unstable();
        lot_ids.dedup();
        let sources: BTreeMap<i64, (String, String)> = store
            .posting_sources(&lot_ids)
            .await?
            .into_iter()
            .map(|(id, p, s)| (id, (p, s)))
            .collect();
        let lot = |lot_id: i64, at: OffsetDateTime| {
            let src = sources.get(&lot_id);
            ExportLot {
                lot_id,
                platform: src.map(|s| s.0.clone()),
                source_item_id: src.map(|s| s.1.clone()),
                at,
            }
        };
        let follows = follows_rows
            .iter()
            .map(|f| lot(f.posting_id, f.created_at))
            .collect();
        let browsing_history = browsing_rows
            .iter()
            .map(|b| lot(b.posting_id, b.viewed_at))
            .collect();
        let notifications = store
            .notifications_of(aid, ALL)
            .await?
            .into_iter()
            .map(|n| ExportNotification {
                kind: n.kind.as_str().to_string(),
                lot_id: n.posting_id,
                explanation: n.explanation,
                personalised: n.personalised,
                created_at: n.created_at,
            })
            .collect();
        let mut messages = Vec::new();
        loop {
            let page = store
                .messages_of(
                    aid,
                    MessageQuery {
                        unread_only: false,
                        offset: messages.len() as i64,
                        limit: PAGE,
                    },
                )
                .await?;
            let n = page.len() as i64;
            messages.extend(page.into_iter().map(|m| ExportMessage {
                category: m.category.as_str().to_string(),
                title: m.title,
                body: m.body,
                link: m.link,
                created_at: m.created_at,
                read_at: m.read_at,
            }));
            if n < PAGE {
                break;
            }
        }
        let settings = store.notification_settings(aid).await?;
        let email = match &settings.email_ciphertext {
            Some(c) => Some(privacy.open_field(&id, EMAIL_FIELD, c).await?.to_string()),
            None => None,
        };
        let document = ExportDocument {
            schema: EXPORT_SCHEMA.to_string(),
            exported_at: self.now(),
            account: ExportAccount {
                id: row.id.clone(),
                phone: phone.expose().to_string(),
                phone_masked: phone.masked(),
                nickname: row.nickname.clone(),
                has_password: row.password_hash.is_some(),
                avatar: avatar_bytes.as_ref().map(|(p, _)| p.clone()),
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            verification,
            guardian_consent,
            sessions,
            linked_logins,
            consents,
            third_party_provisions,
            search_history,
            saved_searches,
            follows,
            browsing_history,
            notifications,
            messages,
            notification_settings: ExportSettings {
                quiet_start_minute: settings.quiet_start_minute,
                quiet_end_minute: settings.quiet_end_minute,
                daily_cap: settings.daily_cap,
                email,
            },
            activity,
            files,
        };
        let doc = document.clone();
        let zip = tokio::task::spawn_blocking(move || write_zip(&doc, avatar_bytes))
            .await
            .map_err(|e| AccountError::Internal(format!("export task: {e}")))??;
        Ok(Export { zip, document })
    }
}

/// Writes the zip: the JSON document (pretty, UTF-8) and the files, deflated.
fn write_zip(
    doc: &ExportDocument,
    avatar: Option<(String, Vec<u8>)>,
) -> Result<Vec<u8>, AccountError> {
    let err =
        |e: &dyn std::fmt::Display| AccountError::Internal(format!("writing the export: {e}"));
    let json = serde_json::to_vec_pretty(doc).map_err(|e| err(&e))?;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    w.start_file(EXPORT_JSON, opts).map_err(|e| err(&e))?;
    w.write_all(&json).map_err(|e| err(&e))?;
    if let Some((path, bytes)) = avatar {
        // Images are compressed already.
        let stored = opts.compression_method(zip::CompressionMethod::Stored);
        w.start_file(path, stored).map_err(|e| err(&e))?;
        w.write_all(&bytes).map_err(|e| err(&e))?;
    }
    Ok(w.finish().map_err(|e| err(&e))?.into_inner())
}

/// Reads an export zip: the document (schema checked) and the avatar bytes, if any.
///
/// # Errors
/// [`ImportError::NotAnExport`], [`ImportError::Schema`].
pub fn read_export(bytes: &[u8]) -> Result<(ExportDocument, Option<Vec<u8>>), ImportError> {
    let bad = |e: &dyn std::fmt::Display| ImportError::NotAnExport(e.to_string());
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        return Err(ImportError::NotAnExport("larger than 64 MiB".into()));
    }
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut json = Vec::new();
    z.by_name(EXPORT_JSON)
        .map_err(|e| bad(&e))?
        .take(MAX_IMPORT_BYTES)
        .read_to_end(&mut json)
        .map_err(|e| bad(&e))?;
    let v: serde_json::Value = serde_json::from_slice(&json).map_err(|e| bad(&e))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(EXPORT_SCHEMA) {
        return Err(ImportError::Schema);
    }
    let doc: ExportDocument = serde_json::from_value(v).map_err(|e| bad(&e))?;
    let avatar = match &doc.account.avatar {
        Some(p) => {
            let mut b = Vec::new();
            z.by_name(p)
                .map_err(|e| bad(&e))?
                .take(MAX_IMPORT_BYTES)
                .read_to_end(&mut b)
                .map_err(|e| bad(&e))?;
            Some(b)
        }
        None => None,
    };
    Ok((doc, avatar))
}

/// Re-imports an export into this installation (see the module docs): a new account for the
/// file's number (refused when the number has an active account here), with nickname, avatar
/// (sanitised again), saved searches, follows of lots stored here and notification settings.
/// No consent is created: the user accepts the policy at the first sign-in.
///
/// # Errors
/// [`ImportError`].
pub async fn import_account(accounts: &Accounts, zip: &[u8]) -> Result<Imported, ImportError> {
    let (doc, avatar) = read_export(zip)?;
    let phone = Phone::parse(&doc.account.phone).map_err(|_| ImportError::Phone)?;
    let store = accounts.store();
    let privacy = accounts.privacy();
    let index = accounts.phone_index(&phone);
    if store
        .account_by_phone_index(&index)
        .await
        .map_err(store_err)?
        .is_some()
    {
        return Err(ImportError::PhoneTaken);
    }
    let nickname = doc
        .account
        .nickname
        .as_deref()
        .and_then(|n| profile::normalize_nickname(n).ok());
    let id = privacy
        .new_subject(SubjectKind::Account)
        .await
        .map_err(AccountError::from)?;
    let sealed = accounts
        .seal(
            &id,
            super::ACCOUNTS_TABLE,
            super::PHONE_COLUMN,
            phone.expose(),
        )
        .await?;
    let now = accounts.now();
    let row = AccountRow {
        id: id.as_str().to_string(),
        phone_index: Some(index),
        phone_ciphertext: Some(sealed),
        nickname,
        avatar_file: None,
        password_hash: None,
        password_failures: 0,
        locked_until: None,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = store.insert_account(&row).await {
        let _ = privacy.shred(&id).await;
        return Err(match e {
            anjia_store::StoreError::Constraint { .. } => ImportError::PhoneTaken,
            e => ImportError::Account(e.into()),
        });
    }
    match restore(accounts, &doc, avatar, &row, &id, now).await {
        Ok(out) => Ok(out),
        Err(e) => {
            // All or nothing (newcomer finding): undo the new account with the cancellation
            // transaction (every row it got so far; the number is free again) and shred its
            // keys, then report what failed.
            if let Ok(Some(c)) = store.cancel_account(&row.id, now).await
                && let Some(file) = c.avatar_file
            {
                let _ = profile::delete_avatar(&accounts.config().files_dir, &file).await;
            }
            let _ = privacy.shred(&id).await;
            Err(e)
        }
    }
}

/// The restoring steps of [`import_account`] after the account row exists.
async fn restore(
    accounts: &Accounts,
    doc: &ExportDocument,
    avatar: Option<Vec<u8>>,
    row: &AccountRow,
    id: &SubjectId,
    now: time::OffsetDateTime,
) -> Result<Imported, ImportError> {
    let store = accounts.store();
    let privacy = accounts.privacy();
    let mut out = Imported {
        account_id: row.id.clone(),
        ..Imported::default()
    };
    if let Some(bytes) = avatar {
        let image = tokio::task::spawn_blocking(move || {
            anjia_media::sanitize_image(&bytes, &anjia_media::ImageLimits::AVATAR)
        })
        .await
        .map_err(|e| AccountError::Internal(format!("image task: {e}")))?;
        if let Ok(image) = image {
            let dir = &accounts.config().files_dir;
            let name = profile::write_avatar(dir, &image.bytes, image.extension() == "png")
                .await
                .map_err(|e| AccountError::Internal(format!("writing an avatar: {e}")))?;
            store
                .set_account_avatar(&row.id, Some(&name), now)
                .await
                .map_err(store_err)?;
            out.avatar = true;
        }
    }
    for s in &doc.saved_searches {
        let channels: Vec<_> = s
            .channels
            .iter()
            .filter_map(|c| anjia_store::alerts::Channel::parse(c))
            .collect();
        let new = NewSavedSearch {
            account_id: row.id.clone(),
            name: s.name.clone(),
            criteria: s.criteria.clone(),
            channels: Channels::from_list(&channels),
            frequency: Frequency::parse(&s.frequency).unwrap_or(Frequency::Instant),
            unsubscribe_nonce: crate::alerts::new_unsubscribe_nonce()
                .map_err(AccountError::Internal)?,
        };
        let created = store
            .create_saved_search(&new, now)
            .await
            .map_err(store_err)?;
        if !s.active {
            store
                .update_saved_search(
                    &row.id,
                    created.id,
                    &anjia_store::alerts::SavedSearchUpdate {
                        active: Some(false),
                        ..Default::default()
                    },
                    now,
                )
                .await
                .map_err(store_err)?;
        }
        out.saved_searches += 1;
    }
    for f in doc.follows.iter().rev() {
        let found = match (&f.platform, &f.source_item_id) {
            (Some(p), Some(s)) => store.posting_id_by_source(p, s).await.map_err(store_err)?,
            _ => None,
        };
        match found {
            Some(pid) => {
                store.follow(&row.id, pid, now).await.map_err(store_err)?;
                out.follows += 1;
            }
            None => out.follows_skipped += 1,
        }
    }
    let s = &doc.notification_settings;
    let email_ciphertext = match &s.email {
        Some(e) => Some(
            privacy
                .seal_field(id, EMAIL_FIELD, e.as_bytes())
                .await
                .map_err(AccountError::from)?,
        ),
        None => None,
    };
    let settings = NotificationSettings {
        quiet_start_minute: s.quiet_start_minute,
        quiet_end_minute: s.quiet_end_minute,
        daily_cap: s.daily_cap,
        email_ciphertext,
        updated_at: None,
    };
    if settings != NotificationSettings::default() {
        store
            .put_notification_settings(&row.id, &settings, now)
            .await
            .map_err(store_err)?;
        out.settings = true;
    }
    Ok(out)
}

impl From<PrivacyError> for ImportError {
    fn from(e: PrivacyError) -> Self {
        ImportError::Account(AccountError::Privacy(e))
    }
}

// ---- HTTP ------------------------------------------------------------------------------------

const PROBLEM: &str = "application/problem+json";

fn zip_response(zip: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/zip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"anjia-export.zip\"",
            ),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        zip,
    )
        .into_response()
}

/// Downloads everything anjia holds about the caller as a zip (`anjia-export.json`, schema
/// `anjia.export/1`, plus the avatar file). Needs a fresh step-up (POST
/// /api/v1/auth/step-up/code, then /api/v1/auth/step-up).
#[utoipa::path(
    get, path = "/api/v1/me/export", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The export (zip)", content_type = "application/zip"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`step-up-required`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn api_export(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, AppError> {
    let e = state.accounts.export(&who).await?;
    Ok(zip_response(e.zip))
}

/// `/account/export`.
#[derive(Template)]
#[template(path = "account_export.html")]
pub struct ExportPage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The number the step-up code goes to, masked.
    pub phone_masked: String,
    /// Until when the step-up is fresh (Asia/Shanghai), if it is.
    pub step_up_until: Option<String>,
    /// Where the step-up forms return to: `export`.
    pub next: String,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

/// The export page of `who`.
pub(crate) async fn export_page(state: &AppState, who: &SignedIn) -> Result<ExportPage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(ExportPage {
        csrf: who.csrf().to_string(),
        phone_masked: p.phone_masked,
        step_up_until: p.step_up_until.map(format_shanghai),
        next: "export".into(),
        message: None,
        error: None,
    })
}

/// `GET /account/export`: what the download holds, step-up, then the download button.
pub async fn export_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = export_page(&state, &who).await?;
    p.message = match uri.query() {
        Some("done=sent") => Some("验证码已发送，5 分钟内有效。".into()),
        Some("done=step-up") => Some("验证通过，10 分钟内可以下载。".into()),
        _ => None,
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/export`: the zip.
pub async fn export_post(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    match state.accounts.export(&who).await {
        Ok(e) => Ok(zip_response(e.zip)),
        Err(e) => {
            let (status, msg, _) = refusal_status(e)?;
            let mut p = export_page(&state, &who).await?;
            p.error = Some(msg);
            page(&p, status)
        }
    }
}
