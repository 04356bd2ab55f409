//! The privacy service: the mechanisms of `anjia-privacy` wired to storage (`anjia-store`) and the
//! key vault, for the handlers and the command line (`docs/PRIVACY-DESIGN.md`).
//!
//! [`Privacy`] is cheap to clone (one `Arc`). It holds the store, the key vault, the key ring
//! (swappable for KEK rotation while serving), the bundled policy document, the third-party
//! registry, a clock and the audit appender.
//!
//! * Subjects get a random 128-bit id ([`SubjectId`]), a data key and a legal-hold key, both
//!   wrapped by the current KEK and kept in the vault (never in the main database).
//! * Records outside the subject's own rows (consent, audit, provisions) name the subject by its
//!   keyed pseudonym; shredding the data key unlinks them.
//! * Consent changes of one request are appended in one transaction and audited
//!   (`consent_changed`).
//! * The audit appender is a `tokio` mutex around an [`AuditChain`] resumed from the newest stored
//!   entry; when another writer took the next seq it re-resumes and retries. A signed checkpoint
//!   is stored every [`CHECKPOINT_EVERY`] entries and by [`Privacy::checkpoint_now`].
//!
//! Nothing here logs a subject id, a query, a cookie or a header: only pseudonyms, kinds and
//! counts.

use crate::Clock;
use anjia_privacy::analytics::AnalyticsEvent;
use anjia_privacy::audit::{
    Actor, AuditChain, AuditEntry, AuditEvent, AuditKind, Checkpoint, Checkpointer, Hash, Tamper,
    VerifyReport,
};
use anjia_privacy::consent::{
    ConsentAction, ConsentError, ConsentEvent, ConsentState, GeneralAcceptance, Purpose,
    SeparateConsent, SubjectRef, Surface,
};
use anjia_privacy::crypto::{
    CryptoError, DataKey, FieldContext, KeyKind, KeyRing, Pseudonym, sealed_dek_version,
};
use anjia_privacy::policy::{PolicyDocument, PolicyError, PolicyVersion};
use anjia_privacy::roles::{
    BulkExportRequest, RoleError, StaffRole, UnmaskAudit, UnmaskCategory, UnmaskRequest,
};
use anjia_privacy::third_party::{ProvisionRefused, RegistryError, ThirdPartyRegistry};
use anjia_store::privacy::{
    AnalyticsEventRow, AuditRow, BulkExportRow, CheckpointRow, ConsentRow, PolicyVersionRow,
    ProvisionRow, SearchHistoryRow, StaffRow, SubjectRow,
};
use anjia_store::vault::{KIND_DATA, KIND_LEGAL_HOLD};
use anjia_store::{KeyCursor, KeyVault, Store, StoreError, WrappedKeyRow};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// A signed audit checkpoint is stored after every this many entries.
pub const CHECKPOINT_EVERY: u64 = 1_000;

/// How many search-history entries [`Privacy::search_history`] returns at most.
pub const SEARCH_HISTORY_LIMIT: i64 = 100;

/// Where search queries are sealed: the AAD names this table and column.
const HISTORY_TABLE: &str = "search_history";
const HISTORY_COLUMN: &str = "query_ciphertext";

/// A subject's random id: 128 bits as 32 lowercase hex characters (`docs/PRIVACY-DESIGN.md`).
///
/// It links a visitor's requests, so it is never logged: `Debug` prints `SubjectId([redacted])`
/// and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SubjectId(String);

impl SubjectId {
    /// A fresh random id from the operating system's generator.
    pub fn generate() -> SubjectId {
        SubjectId(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// Accepts exactly 32 lowercase hex characters.
    pub fn parse(s: &str) -> Option<SubjectId> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| SubjectId(s.to_string()))
    }

    /// The 32 hex characters (for the cookie, the header and the store — never for logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectId([redacted])")
    }
}

/// What a subject is (`subjects.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// An anonymous visitor who accepted the policy.
    Visitor,
    /// An account (issue 3).
    Account,
}

impl SubjectKind {
    /// The stored id.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Visitor => "visitor",
            SubjectKind::Account => "account",
        }
    }
}

/// Errors of the privacy service. Messages name the problem, never PI or key material.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The subject's data key was destroyed (crypto-shredding): their data cannot be read.
    #[error("the subject's data key was destroyed (crypto-shredded)")]
    Shredded,
    /// No such subject (no key in the vault).
    #[error("unknown subject")]
    UnknownSubject,
    /// Storage or the key vault failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// A cryptographic operation failed (wrong key, altered bytes, unknown KEK version).
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// A consent change is not allowed (sensitive purpose through general acceptance, unknown or
    /// undeclared purpose…).
    #[error("{0}")]
    Consent(#[from] ConsentError),
    /// A provision to a third party was refused (and audited).
    #[error("{0}")]
    Refused(#[from] ProvisionRefused),
    /// A staff role check failed.
    #[error("{0}")]
    Role(#[from] RoleError),
    /// No such staff member, or the member is disabled.
    #[error("no enabled staff member {0:?}")]
    UnknownStaff(String),
    /// A staff username is not 1–64 characters of `[a-z0-9_.-]`, or holds a phone or identity
    /// number.
    #[error(
        "staff username must be 1–64 characters of a-z, 0-9, '_', '.', '-' and not a phone or ID number"
    )]
    BadUsername,
    /// No such bulk export request, or it was approved already.
    #[error("no pending bulk export request {0}")]
    NoSuchExport(i64),
    /// The bundled policy or registry is invalid (a build problem).
    #[error("bundled privacy data: {0}")]
    Bundled(String),
    /// A stored record cannot be read back (named by table and column).
    #[error("stored {0} cannot be read back")]
    Corrupt(&'static str),
    /// The policy version offered is not the one in force.
    #[error("policy version {offered:?} is not the current version {current}")]
    NotCurrentVersion {
        /// What the client accepted.
        offered: String,
        /// The current version.
        current: String,
    },
    /// An old KEK cannot be retired while keys are still wrapped with it.
    #[error("KEK version {version} still wraps {count} data keys; run `anjia keys rotate` first")]
    KekInUse {
        /// The KEK version.
        version: u32,
        /// Keys still wrapped with it.
        count: u64,
    },
}

impl From<PolicyError> for PrivacyError {
    fn from(e: PolicyError) -> Self {
        PrivacyError::Bundled(e.to_string())
    }
}

impl From<RegistryError> for PrivacyError {
    fn from(e: RegistryError) -> Self {
        PrivacyError::Bundled(e.to_string())
    }
}

/// One consent record as shown to its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Purpose id.
    pub purpose: String,
    /// `grant` or `withdraw`.
    pub action: String,
    /// Policy version in force.
    pub policy_version: String,
    /// `web`, `app`, `api`, …
    pub surface: String,
    /// When (UTC).
    pub at: OffsetDateTime,
}

/// A consent change of one request: optional acceptance of the current policy with ticked
/// purposes, then grants, then withdrawals — appended together or not at all.
#[derive(Debug, Clone, Default)]
pub struct ConsentChange {
    /// Accept the current policy version with these optional purposes ticked.
    pub accept: Option<Vec<Purpose>>,
    /// Optional purposes to grant (general consent; sensitive purposes are refused).
    pub grant: Vec<Purpose>,
    /// Purposes to withdraw (any; `core` withdraws acceptance and with it every grant).
    pub withdraw: Vec<Purpose>,
}

/// One search of a subject, decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct SearchEntry {
    /// The query text.
    pub query: String,
    /// When (UTC).
    pub at: OffsetDateTime,
}

impl fmt::Debug for SearchEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchEntry")
            .field("query", &"[redacted]")
            .field("at", &self.at)
            .finish()
    }
}

/// What [`Privacy::record_search`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchRecorded {
    /// A sealed row in `search_history` (search history granted).
    pub history: bool,
    /// A de-identified row in `analytics_events` (usage analytics granted).
    pub analytics: bool,
}

/// Outcome of a KEK rotation pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewrapReport {
    /// Keys looked at.
    pub scanned: u64,
    /// Keys re-wrapped under the current KEK.
    pub rewrapped: u64,
    /// The current KEK version afterwards.
    pub kek_version: u32,
}

struct AuditWriter {
    /// `None` until resumed from the store (and after a failed append).
    chain: Option<AuditChain>,
    checkpointer: Checkpointer,
}

struct Inner {
    store: Store,
    vault: KeyVault,
    keys: RwLock<Arc<KeyRing>>,
    /// The bundled versions plus those published at run time (`policy_sources`); swapped when a
    /// version is published ([`Privacy::reload_policy`]).
    policy: RwLock<Arc<PolicyDocument>>,
    registry: ThirdPartyRegistry,
    clock: Clock,
    audit: tokio::sync::Mutex<AuditWriter>,
    /// Pseudonyms by subject id (no key material); cleared for a subject when it is shredded.
    pseudonyms: Mutex<HashMap<String, Pseudonym>>,
    /// The key file to re-read when a wrapped key names a KEK version this ring lacks (after
    /// `anjia keys rotate` ran beside the server).
    key_file: Mutex<Option<std::path::PathBuf>>,
}

/// The privacy service (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Privacy {
    inner: Arc<Inner>,
}

impl fmt::Debug for Privacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Privacy").finish_non_exhaustive()
    }
}

const PSEUDONYM_CACHE_MAX: usize = 10_000;

fn purpose_ids(ps: &[Purpose]) -> Vec<String> {
    ps.iter().map(|p| p.id().into_owned()).collect()
}

/// The stored form of an [`Actor`]: `system`, `staff:<id>` or `subject:<pseudonym>`.
pub fn actor_to_str(a: &Actor) -> String {
    match a {
        Actor::System => "system".to_string(),
        Actor::Staff(id) => format!("staff:{id}"),
        Actor::Subject(p) => format!("subject:{p}"),
    }
}

fn actor_from_str(s: &str) -> Option<Actor> {
    if s == "system" {
        return Some(Actor::System);
    }
    if let Some(id) = s.strip_prefix("staff:") {
        return Some(Actor::Staff(id.to_string()));
    }
    s.strip_prefix("subject:")
        .and_then(|p| Pseudonym::parse(p).ok())
        .map(Actor::Subject)
}

/// The stored row of an audit entry.
pub fn audit_row(e: &AuditEntry) -> AuditRow {
    AuditRow {
        seq: e.seq as i64,
        at: e.at,
        kind: e.event.kind.as_str().to_string(),
        actor: actor_to_str(&e.event.actor),
        subject_pseudonym: e.event.subject.as_ref().map(|p| p.as_str().to_string()),
        purpose: e.event.purpose.clone(),
        details: serde_json::to_string(&e.event.details).unwrap_or_else(|_| "null".into()),
        prev_hash: hex::encode(e.prev_hash),
        hash: hex::encode(e.hash),
    }
}

fn hash_of(s: &str) -> Option<Hash> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// Reads an audit entry back from its row; `None` when a column cannot be parsed (which the
/// verifier reports as an edit of that entry).
pub fn audit_entry(r: &AuditRow) -> Option<AuditEntry> {
    let kind: AuditKind = serde_json::from_value(serde_json::Value::String(r.kind.clone())).ok()?;
    let subject = match &r.subject_pseudonym {
        Some(p) => Some(Pseudonym::parse(p).ok()?),
        None => None,
    };
    Some(AuditEntry {
        seq: u64::try_from(r.seq).ok()?,
        at: r.at,
        event: AuditEvent {
            kind,
            actor: actor_from_str(&r.actor)?,
            subject,
            purpose: r.purpose.clone(),
            details: serde_json::from_str(&r.details).ok()?,
        },
        prev_hash: hash_of(&r.prev_hash)?,
        hash: hash_of(&r.hash)?,
    })
}

fn checkpoint_row(c: &Checkpoint, at: OffsetDateTime) -> CheckpointRow {
    CheckpointRow {
        seq: c.seq as i64,
        hash: hex::encode(c.hash),
        signature: hex::encode(c.signature),
        key_id: c.key_id.clone(),
        at,
    }
}

fn checkpoint_of(r: &CheckpointRow) -> Option<Checkpoint> {
    let sig: [u8; 64] = hex::decode(&r.signature).ok()?.try_into().ok()?;
    Some(Checkpoint {
        seq: u64::try_from(r.seq).ok()?,
        hash: hash_of(&r.hash)?,
        signature: sig,
        key_id: r.key_id.clone(),
    })
}

/// Verifies the whole stored audit log against its stored checkpoints, streaming it in pages of
/// `page` entries (`anjia audit verify`). `Ok(Err(tamper))` names the first tampered seq and how;
/// an entry whose columns cannot be parsed counts as edited, an unreadable checkpoint as a bad
/// checkpoint signature.
///
/// # Errors
/// Storage errors only.
pub async fn verify_audit_log(
    store: &Store,
    key: &ed25519_dalek::VerifyingKey,
    page: i64,
) -> Result<Result<VerifyReport, Tamper>, StoreError> {
    use anjia_privacy::audit::TamperKind;
    let mut checkpoints = Vec::new();
    for r in store.checkpoints().await? {
        match checkpoint_of(&r) {
            Some(c) => checkpoints.push(c),
            None => {
                return Ok(Err(Tamper {
                    seq: r.seq.max(0) as u64,
                    kind: TamperKind::BadCheckpointSignature,
                }));
            }
        }
    }
    // Entries are fetched page by page on this task and fed to the verifier through a bounded
    // channel running on a blocking thread, so memory stays at two pages whatever the log size.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<AuditEntry>>(2);
    let key = *key;
    let verifier = tokio::task::spawn_blocking(move || {
        anjia_privacy::audit::verify(rx.into_iter().flatten(), &checkpoints, &key)
    });
    let mut after = -1i64;
    let mut unreadable: Option<u64> = None;
    let mut failed: Option<StoreError> = None;
    'pages: loop {
        let rows = match store.audit_page(after, page.max(1)).await {
            Ok(r) => r,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let Some(last) = rows.last() else { break };
        after = last.seq;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            match audit_entry(r) {
                Some(e) => entries.push(e),
                None => {
                    unreadable = Some(r.seq.max(0) as u64);
                    let _ = tx.send(entries);
                    break 'pages;
                }
            }
        }
        let tx2 = tx.clone();
        // A full channel blocks: send from a blocking thread to keep the runtime free.
        let sent = tokio::task::spawn_blocking(move || tx2.send(entries).is_ok())
            .await
            .unwrap_or(false);
        if !sent {
            break; // the verifier stopped early: it found something
        }
    }
    drop(tx);
    let result = verifier.await.unwrap_or(Err(Tamper {
        seq: 0,
        kind: TamperKind::Edited,
    }));
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(match (result, unreadable) {
        (Err(t), Some(bad)) if t.seq < bad => Err(t),
        (_, Some(bad)) => Err(Tamper {
            seq: bad,
            kind: TamperKind::Edited,
        }),
        (r, None) => r,
    })
}

/// What the security-log retention would prune at `now` (see [`Privacy::prune_audit`]): the
/// newest checkpointed entry older than twelve months and the number of entries up to it;
/// `None` when nothing is due. Reads only (no keys needed: `anjia retention run --dry-run`).
///
/// # Errors
/// Storage errors; [`PrivacyError::Corrupt`] for an unreadable entry.
pub async fn audit_prune_due(
    store: &Store,
    now: OffsetDateTime,
) -> Result<Option<(AuditEntry, u64)>, PrivacyError> {
    let cutoff = now - anjia_privacy::audit::PRUNE_MAX_AGE;
    let Some(first) = store.audit_page(-1, 1).await?.into_iter().next() else {
        return Ok(None);
    };
    let mut cps = store.checkpoints().await?;
    cps.sort_by_key(|c| std::cmp::Reverse(c.seq));
    for cp in cps.iter().filter(|c| c.seq >= first.seq) {
        let Some(row) = store.audit_page(cp.seq - 1, 1).await?.into_iter().next() else {
            continue;
        };
        let entry = audit_entry(&row).ok_or(PrivacyError::Corrupt("audit_log"))?;
        if row.seq == cp.seq && entry.at < cutoff {
            let count = entry.seq + 1 - u64::try_from(first.seq).unwrap_or(0);
            return Ok(Some((entry, count)));
        }
    }
    Ok(None)
}

/// The bundled policy versions plus those published at run time and stored in `policy_sources`
/// (a stored version with the id of a bundled one is ignored: the bundled text wins).
///
/// # Errors
/// Storage errors; a stored text that does not validate, or that breaks the history (an effective
/// date out of order) — [`PrivacyError::Bundled`] naming the version.
pub async fn policy_with_stored(store: &Store) -> Result<PolicyDocument, PrivacyError> {
    let mut doc = PolicyDocument::bundled()?;
    for src in store.policy_sources().await? {
        if doc.version(&src.version).is_some() {
            continue;
        }
        let v =
            PolicyVersion::from_toml(&format!("stored version {}", src.version), &src.source_toml)?;
        doc = doc.with_version(v)?;
    }
    Ok(doc)
}

impl Privacy {
    /// Opens the service: loads the bundled policy and registry, publishes the bundled policy
    /// versions to `policy_versions` (upsert; a new or changed version is audited as
    /// `policy_published`) and resumes the audit chain.
    ///
    /// # Errors
    /// Storage errors; an invalid bundled policy or registry.
    pub async fn open(
        store: Store,
        vault: KeyVault,
        keys: KeyRing,
        clock: Clock,
    ) -> Result<Privacy, PrivacyError> {
        let policy = policy_with_stored(&store).await?;
        let registry = ThirdPartyRegistry::bundled()?;
        let checkpointer = Checkpointer::new(keys.audit_signing_key(), CHECKPOINT_EVERY);
        let p = Privacy {
            inner: Arc::new(Inner {
                store,
                vault,
                keys: RwLock::new(Arc::new(keys)),
                policy: RwLock::new(Arc::new(policy)),
                registry,
                clock,
                audit: tokio::sync::Mutex::new(AuditWriter {
                    chain: None,
                    checkpointer,
                }),
                pseudonyms: Mutex::new(HashMap::new()),
                key_file: Mutex::new(None),
            }),
        };
        p.publish_policy().await?;
        Ok(p)
    }

    /// The service clock's "now" (UTC).
    pub fn now(&self) -> OffsetDateTime {
        (self.inner.clock)()
    }

    /// The storage this service writes to.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The key vault.
    pub fn vault(&self) -> &KeyVault {
        &self.inner.vault
    }

    /// The current key ring (a snapshot: rotation swaps in a new one).
    pub fn keys(&self) -> Arc<KeyRing> {
        match self.inner.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The policy document (every version: the bundled ones and those published with
    /// `anjia policy publish`). A snapshot: publishing a version swaps in a new one.
    pub fn policy(&self) -> Arc<PolicyDocument> {
        match self.inner.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the policy document (after a version was published or found in storage).
    pub(crate) fn set_policy(&self, doc: PolicyDocument) {
        let mut p = match self.inner.policy.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        *p = Arc::new(doc);
    }

    /// Re-reads the versions published at run time (by this or another process, e.g. `anjia
    /// policy publish` beside a serving `anjia serve`) and swaps the document when it changed.
    /// Returns whether it changed.
    ///
    /// # Errors
    /// Storage errors; a stored version that no longer validates ([`PrivacyError::Bundled`]).
    pub async fn reload_policy(&self) -> Result<bool, PrivacyError> {
        let doc = policy_with_stored(&self.inner.store).await?;
        if *self.policy() == doc {
            return Ok(false);
        }
        self.set_policy(doc);
        Ok(true)
    }

    /// The third-party registry.
    pub fn registry(&self) -> &ThirdPartyRegistry {
        &self.inner.registry
    }

    /// The policy version to show and accept now: the one in effect, or — before the first
    /// version takes effect (a new installation during its notice period) — the first one.
    pub fn current_policy(&self) -> PolicyVersion {
        let doc = self.policy();
        doc.current(self.now())
            .unwrap_or_else(|| &doc.history()[0])
            .clone()
    }

    pub(crate) async fn publish_policy(&self) -> Result<(), PrivacyError> {
        let stored: BTreeMap<String, String> = self
            .inner
            .store
            .policy_versions()
            .await?
            .into_iter()
            .map(|r| (r.version, r.text_sha256))
            .collect();
        for v in self.policy().history() {
            if stored.get(v.version()).map(String::as_str) == Some(v.sha256()) {
                continue;
            }
            self.inner
                .store
                .upsert_policy_version(&PolicyVersionRow {
                    version: v.version().to_string(),
                    effective_at: v.effective_at(),
                    text_sha256: v.sha256().to_string(),
                    published_at: v.published_at(),
                })
                .await?;
            self.audit(
                AuditEvent::new(AuditKind::PolicyPublished, Actor::System)
                    .details(serde_json::json!({"version": v.version(), "sha256": v.sha256()})),
            )
            .await?;
        }
        Ok(())
    }

    // ---- audit -------------------------------------------------------------------------------

    /// Appends an event to the audit chain (and a signed checkpoint when one is due). On a seq
    /// taken by another writer it re-reads the newest entry and retries.
    ///
    /// # Errors
    /// Storage errors; [`PrivacyError::Corrupt`] when the newest stored entry cannot be read.
    pub async fn audit(&self, event: AuditEvent) -> Result<AuditEntry, PrivacyError> {
        let mut w = self.inner.audit.lock().await;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut chain = match w.chain.take() {
                Some(c) => c,
                None => {
                    let last = self.inner.store.last_audit().await?;
                    let last = match last {
                        Some(r) => Some(audit_entry(&r).ok_or(PrivacyError::Corrupt("audit_log"))?),
                        None => None,
                    };
                    AuditChain::resume(last.as_ref())
                }
            };
            let entry = chain.append(event.clone(), self.now());
            match self.inner.store.append_audit(&audit_row(&entry)).await {
                Ok(()) => {
                    w.chain = Some(chain);
                    if let Some(cp) = w.checkpointer.after_append(&entry) {
                        self.store_checkpoint(&cp).await?;
                    }
                    return Ok(entry);
                }
                Err(StoreError::AuditSeqTaken { .. }) if attempts < 8 => {
                    // chain stays None: resume from the store on the next attempt
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn store_checkpoint(&self, cp: &Checkpoint) -> Result<(), PrivacyError> {
        match self
            .inner
            .store
            .insert_checkpoint(&checkpoint_row(cp, self.now()))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_constraint_violation() => Ok(()), // that seq is checkpointed already
            Err(e) => Err(e.into()),
        }
    }

    /// Signs and stores a checkpoint of the newest audit entry now (before a backup, at
    /// shutdown); returns its seq, `None` for an empty log.
    ///
    /// # Errors
    /// Storage errors; [`PrivacyError::Corrupt`] for an unreadable newest entry.
    pub async fn checkpoint_now(&self) -> Result<Option<u64>, PrivacyError> {
        let w = self.inner.audit.lock().await;
        let Some(row) = self.inner.store.last_audit().await? else {
            return Ok(None);
        };
        let entry = audit_entry(&row).ok_or(PrivacyError::Corrupt("audit_log"))?;
        let cp = w.checkpointer.checkpoint(&entry);
        drop(w);
        self.store_checkpoint(&cp).await?;
        Ok(Some(cp.seq))
    }

    /// The security-log retention (PRV-21; policy clause `retain.logs`): deletes the audit
    /// entries up to the newest signed checkpoint whose entry is older than
    /// [`anjia_privacy::audit::PRUNE_MAX_AGE`] (twelve months) at `now`. The pruning is first
    /// recorded in the chain (`audit_pruned`, naming the seq and its time) and a checkpoint is
    /// signed over the record, so verification still passes and shows what went; entries
    /// younger than a checkpoint older than twelve months stay until a later checkpoint ages.
    /// Returns `(through seq, entries deleted or, with `dry_run`, that would go)`, `None` when
    /// nothing is due.
    ///
    /// # Errors
    /// Storage errors; [`PrivacyError::Corrupt`] for an unreadable entry.
    pub async fn prune_audit(
        &self,
        now: OffsetDateTime,
        dry_run: bool,
    ) -> Result<Option<(u64, u64)>, PrivacyError> {
        let Some((through, count)) = audit_prune_due(&self.inner.store, now).await? else {
            return Ok(None);
        };
        if dry_run {
            return Ok(Some((through.seq, count)));
        }
        self.audit(
            AuditEvent::new(AuditKind::AuditPruned, Actor::System).details(
                anjia_privacy::audit::pruned_details(through.seq, through.at),
            ),
        )
        .await?;
        self.checkpoint_now().await?;
        let deleted = self
            .inner
            .store
            .delete_audit_through(i64::try_from(through.seq).unwrap_or(i64::MAX))
            .await?;
        Ok(Some((through.seq, deleted)))
    }

    /// Verifies the stored audit log with this ring's audit key (see [`verify_audit_log`]).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn verify_audit(&self) -> Result<Result<VerifyReport, Tamper>, PrivacyError> {
        let key = self.keys().audit_verifying_key();
        Ok(verify_audit_log(&self.inner.store, &key, 5_000).await?)
    }

    // ---- subjects and keys -------------------------------------------------------------------

    /// Creates a subject: a random id, a data key and a legal-hold key (each wrapped with the
    /// current KEK and stored in the vault as DEK version 1), then the `subjects` row.
    ///
    /// # Errors
    /// Storage, vault or random-generator errors.
    pub async fn new_subject(&self, kind: SubjectKind) -> Result<SubjectId, PrivacyError> {
        let id = SubjectId::generate();
        let keys = self.keys();
        let now = self.now();
        for (kind_id, k) in [
            (KIND_DATA, KeyKind::Data),
            (KIND_LEGAL_HOLD, KeyKind::LegalHold),
        ] {
            let key = DataKey::generate()?;
            let wrapped = keys.wrap(&key, id.as_str(), k)?;
            self.inner
                .vault
                .insert_key(&WrappedKeyRow {
                    subject_id: id.as_str().to_string(),
                    kind: kind_id.to_string(),
                    dek_version: 1,
                    kek_version: keys.current_kek_version(),
                    wrapped,
                    created_at: now,
                })
                .await?;
        }
        if let Err(e) = self
            .inner
            .store
            .insert_subject(&SubjectRow {
                id: id.as_str().to_string(),
                kind: kind.as_str().to_string(),
                created_at: now,
            })
            .await
        {
            // Leave no orphan keys behind.
            for k in [KIND_DATA, KIND_LEGAL_HOLD] {
                let _ = self.inner.vault.shred(id.as_str(), k, now).await;
            }
            return Err(e.into());
        }
        Ok(id)
    }

    async fn wrapped_keys(
        &self,
        subject: &SubjectId,
        kind: KeyKind,
    ) -> Result<Vec<WrappedKeyRow>, PrivacyError> {
        let rows = self
            .inner
            .vault
            .keys(subject.as_str(), kind.as_str())
            .await?;
        if rows.is_empty() {
            return Err(
                if self
                    .inner
                    .vault
                    .is_shredded(subject.as_str(), kind.as_str())
                    .await?
                {
                    PrivacyError::Shredded
                } else {
                    PrivacyError::UnknownSubject
                },
            );
        }
        Ok(rows)
    }

    /// Re-reads `path` when a wrapped key names a KEK version the ring in memory lacks, so that
    /// `anjia keys rotate` run beside a serving process needs no restart.
    pub fn reload_keys_from(&self, path: std::path::PathBuf) {
        if let Ok(mut k) = self.inner.key_file.lock() {
            *k = Some(path);
        }
    }

    fn reload_keys(&self) -> bool {
        let path = match self.inner.key_file.lock() {
            Ok(k) => k.clone(),
            Err(_) => None,
        };
        let Some(path) = path else { return false };
        match KeyRing::load_file(&path) {
            Ok(ring) => {
                tracing::info!(kek = ring.current_kek_version(), "key file re-read");
                let mut k = match self.inner.keys.write() {
                    Ok(k) => k,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *k = Arc::new(ring);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "key file could not be re-read");
                false
            }
        }
    }

    fn unwrap_row(&self, row: &WrappedKeyRow, kind: KeyKind) -> Result<DataKey, PrivacyError> {
        match self.keys().unwrap(&row.wrapped, &row.subject_id, kind) {
            Err(CryptoError::UnknownKeyVersion(_)) if self.reload_keys() => {
                Ok(self.keys().unwrap(&row.wrapped, &row.subject_id, kind)?)
            }
            r => Ok(r?),
        }
    }

    /// The subject's current data key (unwrapped from the vault) and its DEK version.
    ///
    /// # Errors
    /// [`PrivacyError::Shredded`] after shredding, [`PrivacyError::UnknownSubject`], vault and
    /// crypto errors.
    pub async fn data_key(&self, subject: &SubjectId) -> Result<(DataKey, u32), PrivacyError> {
        let rows = self.wrapped_keys(subject, KeyKind::Data).await?;
        let row = &rows[0];
        Ok((self.unwrap_row(row, KeyKind::Data)?, row.dek_version))
    }

    /// The subject's legal-hold key (records the law makes us keep; survives [`Privacy::shred`]).
    ///
    /// # Errors
    /// As [`Privacy::data_key`].
    pub async fn legal_hold_key(
        &self,
        subject: &SubjectId,
    ) -> Result<(DataKey, u32), PrivacyError> {
        let rows = self.wrapped_keys(subject, KeyKind::LegalHold).await?;
        let row = &rows[0];
        Ok((self.unwrap_row(row, KeyKind::LegalHold)?, row.dek_version))
    }

    /// The subject's keyed pseudonym (cached; the cache entry goes when the key is shredded).
    ///
    /// # Errors
    /// As [`Privacy::data_key`].
    pub async fn pseudonym(&self, subject: &SubjectId) -> Result<Pseudonym, PrivacyError> {
        if let Some(p) = self.cache().get(subject.as_str()) {
            return Ok(p.clone());
        }
        let (key, _) = self.data_key(subject).await?;
        let p = key.pseudonym();
        let mut cache = self.cache();
        if cache.len() >= PSEUDONYM_CACHE_MAX {
            cache.clear();
        }
        cache.insert(subject.as_str().to_string(), p.clone());
        Ok(p)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pseudonym>> {
        match self.inner.pseudonyms.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Crypto-shreds the subject's data key (every copy of their sealed fields becomes
    /// unreadable, backups included); the legal-hold key stays. Audited as `key_shredded` under
    /// the pseudonym it unlinks. Returns the number of key versions destroyed.
    ///
    /// # Errors
    /// [`PrivacyError::UnknownSubject`] / [`PrivacyError::Shredded`]; vault and storage errors.
    pub async fn shred(&self, subject: &SubjectId) -> Result<u64, PrivacyError> {
        let pseudonym = self.pseudonym(subject).await?;
        self.cache().remove(subject.as_str());
        let n = self
            .inner
            .vault
            .shred(subject.as_str(), KIND_DATA, self.now())
            .await?;
        self.cache().remove(subject.as_str());
        tracing::info!(subject = %pseudonym, keys = n, "data key shredded");
        self.audit(
            AuditEvent::new(AuditKind::KeyShredded, Actor::System)
                .subject(pseudonym)
                .details(serde_json::json!({"kind": KIND_DATA, "keys": n})),
        )
        .await?;
        Ok(n)
    }

    /// KEK rotation without downtime: makes `new_keys` current at once (it must still hold the
    /// old KEK versions, as after [`KeyRing::rotate_kek`]), then re-wraps every vault key page by
    /// page while requests keep being served. Audited as `key_rotated`.
    ///
    /// # Errors
    /// Vault and crypto errors (the pass can be re-run: it is idempotent).
    pub async fn rotate_kek(&self, new_keys: KeyRing) -> Result<RewrapReport, PrivacyError> {
        {
            let mut k = match self.inner.keys.write() {
                Ok(k) => k,
                Err(poisoned) => poisoned.into_inner(),
            };
            *k = Arc::new(new_keys);
        }
        let report = self.rewrap_all().await?;
        self.audit(
            AuditEvent::new(AuditKind::KeyRotated, Actor::System).details(serde_json::json!({
                "kek_version": report.kek_version,
                "rewrapped": report.rewrapped,
            })),
        )
        .await?;
        Ok(report)
    }

    /// Re-wraps every vault key not wrapped with the current KEK (pages of 500).
    ///
    /// # Errors
    /// Vault and crypto errors.
    pub async fn rewrap_all(&self) -> Result<RewrapReport, PrivacyError> {
        let keys = self.keys();
        let mut report = RewrapReport {
            kek_version: keys.current_kek_version(),
            ..RewrapReport::default()
        };
        let mut cursor: Option<KeyCursor> = None;
        loop {
            let page = self.inner.vault.keys_page(cursor.as_ref(), 500).await?;
            let Some(last) = page.last() else { break };
            cursor = Some(KeyCursor::from(last));
            for row in &page {
                report.scanned += 1;
                if row.kek_version == report.kek_version {
                    continue;
                }
                let kind = if row.kind == KIND_LEGAL_HOLD {
                    KeyKind::LegalHold
                } else {
                    KeyKind::Data
                };
                let wrapped = keys.rewrap(&row.wrapped, &row.subject_id, kind)?;
                if self
                    .inner
                    .vault
                    .rewrap(
                        &row.subject_id,
                        &row.kind,
                        row.dek_version,
                        report.kek_version,
                        &wrapped,
                    )
                    .await?
                {
                    report.rewrapped += 1;
                }
            }
        }
        Ok(report)
    }

    /// Number of vault keys still wrapped with KEK `version` (0 means it can be retired).
    ///
    /// # Errors
    /// Vault errors.
    pub async fn keys_wrapped_with(&self, version: u32) -> Result<u64, PrivacyError> {
        let mut n = 0;
        let mut cursor: Option<KeyCursor> = None;
        loop {
            let page = self.inner.vault.keys_page(cursor.as_ref(), 1_000).await?;
            let Some(last) = page.last() else { break };
            cursor = Some(KeyCursor::from(last));
            n += page.iter().filter(|r| r.kek_version == version).count() as u64;
        }
        Ok(n)
    }

    // ---- consent -----------------------------------------------------------------------------

    /// The subject's consent history, oldest first.
    ///
    /// # Errors
    /// Storage errors, [`PrivacyError::Corrupt`] for an unreadable record; a shredded or unknown
    /// subject has no history (`Ok(vec![])`).
    pub async fn consent_events(
        &self,
        subject: &SubjectId,
    ) -> Result<Vec<ConsentEvent>, PrivacyError> {
        let pseudonym = match self.pseudonym(subject).await {
            Ok(p) => p,
            Err(PrivacyError::Shredded | PrivacyError::UnknownSubject) => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let rows = self
            .inner
            .store
            .consents_by_pseudonym(pseudonym.as_str())
            .await?;
        rows.iter().map(consent_event).collect()
    }

    /// The subject's current consent: the fold of their records against the policy document;
    /// empty for `None`, an unknown or a shredded subject.
    ///
    /// # Errors
    /// As [`Privacy::consent_events`].
    pub async fn consent_state(
        &self,
        subject: Option<&SubjectId>,
    ) -> Result<ConsentState, PrivacyError> {
        let Some(subject) = subject else {
            return Ok(ConsentState::default());
        };
        let events = self.consent_events(subject).await?;
        Ok(ConsentState::fold_with(&events, &self.policy()))
    }

    /// The subject's consent records as shown to them.
    ///
    /// # Errors
    /// As [`Privacy::consent_events`].
    pub async fn consent_history(
        &self,
        subject: &SubjectId,
    ) -> Result<Vec<ConsentRecord>, PrivacyError> {
        Ok(self
            .consent_events(subject)
            .await?
            .iter()
            .map(|e| ConsentRecord {
                purpose: e.purpose().id().into_owned(),
                action: match e.action() {
                    ConsentAction::Grant => "grant",
                    ConsentAction::Withdraw => "withdraw",
                }
                .to_string(),
                policy_version: e.policy_version().to_string(),
                surface: e.surface().as_str().to_string(),
                at: e.at(),
            })
            .collect())
    }

    /// Applies a consent change for the current policy version: every record appended in one
    /// transaction, then one `consent_changed` audit entry; returns the new state. Takes effect
    /// at once (the next [`Privacy::consent_state`] reads it).
    ///
    /// # Errors
    /// [`PrivacyError::Consent`] for a sensitive, undeclared or `core` purpose in `grant` or the
    /// ticked list (nothing is stored); storage errors.
    pub async fn change_consent(
        &self,
        subject: &SubjectId,
        change: &ConsentChange,
        surface: Surface,
    ) -> Result<ConsentState, PrivacyError> {
        let now = self.now();
        let pseudonym = self.pseudonym(subject).await?;
        let sref = SubjectRef::parse(pseudonym.as_str())?;
        let events = self.build_consent_events(&sref, change, surface, now)?;
        self.append_events(&pseudonym, &events).await?;
        let state = self.consent_state(Some(subject)).await?;
        // Withdrawing search history (or the policy itself) also deletes what was recorded under
        // it, at once (PRV-08; inventory `search_history.query_ciphertext`: "at once on withdrawal").
        let withdrew_history = change
            .withdraw
            .iter()
            .any(|p| matches!(p, Purpose::SearchHistory | Purpose::Core));
        if withdrew_history && !state.is_granted(&Purpose::SearchHistory) {
            let deleted = self
                .inner
                .store
                .delete_search_history(subject.as_str())
                .await?;
            if deleted > 0 {
                self.audit(
                    AuditEvent::new(AuditKind::Deletion, Actor::Subject(pseudonym.clone()))
                        .subject(pseudonym.clone())
                        .purpose("consent withdrawn")
                        .details(serde_json::json!({
                            "store": "search_history",
                            "rows": deleted,
                        })),
                )
                .await?;
            }
            // The browsing history is kept under the same consent (inventory
            // `browsing_history.account_id`: "at once when the user … withdraws consent").
            let viewed = self
                .inner
                .store
                .clear_browsing_history(subject.as_str())
                .await?;
            if viewed > 0 {
                self.audit(
                    AuditEvent::new(AuditKind::Deletion, Actor::Subject(pseudonym.clone()))
                        .subject(pseudonym.clone())
                        .purpose("consent withdrawn")
                        .details(serde_json::json!({
                            "store": "browsing_history",
                            "rows": viewed,
                        })),
                )
                .await?;
            }
        }
        Ok(state)
    }

    /// The consent records `change` would append for `subject` at `now`, checked against the
    /// current policy (the validation [`Privacy::change_consent`] does before storing anything).
    fn build_consent_events(
        &self,
        sref: &SubjectRef,
        change: &ConsentChange,
        surface: Surface,
        now: OffsetDateTime,
    ) -> Result<Vec<ConsentEvent>, PrivacyError> {
        let version = &self.current_policy();
        let mut events = Vec::new();
        if let Some(ticked) = &change.accept {
            events.extend(GeneralAcceptance::new(version, ticked, surface, now)?.events(sref));
        }
        for p in &change.grant {
            events.push(ConsentEvent::grant(
                sref.clone(),
                p.clone(),
                version,
                surface,
                now,
            )?);
        }
        for p in &change.withdraw {
            events.push(ConsentEvent::withdraw(
                sref.clone(),
                p.clone(),
                version,
                surface,
                now,
            ));
        }
        Ok(events)
    }

    /// Checks `change` without storing anything, so that a request that will be refused does not
    /// first create a subject (data minimisation; newcomer finding).
    ///
    /// # Errors
    /// As [`Privacy::change_consent`]'s validation: [`PrivacyError::Consent`].
    pub fn validate_change(
        &self,
        change: &ConsentChange,
        surface: Surface,
    ) -> Result<(), PrivacyError> {
        let probe = SubjectRef::parse(&"0".repeat(32))?;
        self.build_consent_events(&probe, change, surface, self.now())
            .map(|_| ())
    }

    async fn append_events(
        &self,
        pseudonym: &Pseudonym,
        events: &[ConsentEvent],
    ) -> Result<(), PrivacyError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<ConsentRow> = events.iter().map(consent_row).collect();
        self.inner.store.append_consents(&rows).await?;
        let (granted, withdrawn): (Vec<&ConsentEvent>, Vec<&ConsentEvent>) = events
            .iter()
            .partition(|e| e.action() == ConsentAction::Grant);
        let ids = |v: Vec<&ConsentEvent>| -> Vec<String> {
            v.iter().map(|e| e.purpose().id().into_owned()).collect()
        };
        self.audit(
            AuditEvent::new(AuditKind::ConsentChanged, Actor::Subject(pseudonym.clone()))
                .subject(pseudonym.clone())
                .details(serde_json::json!({
                    "policy_version": events[0].policy_version(),
                    "surface": events[0].surface().as_str(),
                    "granted": ids(granted),
                    "withdrawn": ids(withdrawn),
                })),
        )
        .await?;
        Ok(())
    }

    /// Accepts the current policy with the ticked optional purposes (general acceptance).
    ///
    /// # Errors
    /// As [`Privacy::change_consent`].
    pub async fn accept_policy(
        &self,
        subject: &SubjectId,
        ticked: &[Purpose],
        surface: Surface,
    ) -> Result<ConsentState, PrivacyError> {
        let change = ConsentChange {
            accept: Some(ticked.to_vec()),
            ..ConsentChange::default()
        };
        self.change_consent(subject, &change, surface).await
    }

    /// Grants one optional purpose.
    ///
    /// # Errors
    /// As [`Privacy::change_consent`].
    pub async fn grant(
        &self,
        subject: &SubjectId,
        purpose: Purpose,
        surface: Surface,
    ) -> Result<ConsentState, PrivacyError> {
        let change = ConsentChange {
            grant: vec![purpose],
            ..ConsentChange::default()
        };
        self.change_consent(subject, &change, surface).await
    }

    /// Withdraws one purpose (as easily as it was granted, PRV-08).
    ///
    /// # Errors
    /// As [`Privacy::change_consent`].
    pub async fn withdraw(
        &self,
        subject: &SubjectId,
        purpose: Purpose,
        surface: Surface,
    ) -> Result<ConsentState, PrivacyError> {
        let change = ConsentChange {
            withdraw: vec![purpose],
            ..ConsentChange::default()
        };
        self.change_consent(subject, &change, surface).await
    }

    /// Records a separate consent (单独同意) for one sensitive purpose under the current policy.
    ///
    /// # Errors
    /// [`PrivacyError::Consent`] when the current version does not declare the purpose; storage
    /// errors.
    pub async fn grant_separate(
        &self,
        subject: &SubjectId,
        consent: &SeparateConsent,
    ) -> Result<ConsentState, PrivacyError> {
        let pseudonym = self.pseudonym(subject).await?;
        let sref = SubjectRef::parse(pseudonym.as_str())?;
        let event = consent.event(&sref, &self.current_policy())?;
        self.append_events(&pseudonym, &[event]).await?;
        self.consent_state(Some(subject)).await
    }

    // ---- search history and analytics --------------------------------------------------------

    /// Records a search of the subject: the query sealed with the subject's data key into
    /// `search_history` only while `search_history` is granted, and a de-identified,
    /// identity-free `analytics_events` row (UTC hour, only the query's recognised structure — see
    /// [`search_analytics_attributes`]) only while
    /// `usage_analytics` is granted. Nothing for an empty query, an unknown or a shredded
    /// subject.
    ///
    /// # Errors
    /// Storage and crypto errors (callers log them without PI and go on serving the search).
    pub async fn record_search(
        &self,
        subject: &SubjectId,
        query: &str,
    ) -> Result<SearchRecorded, PrivacyError> {
        let query = query.trim();
        let mut done = SearchRecorded::default();
        if query.is_empty() {
            return Ok(done);
        }
        let state = self.consent_state(Some(subject)).await?;
        let now = self.now();
        if state.is_granted(&Purpose::SearchHistory) {
            let (key, version) = self.data_key(subject).await?;
            let sealed = key.cipher(version).seal(
                &FieldContext::new(HISTORY_TABLE, HISTORY_COLUMN, subject.as_str()),
                query.as_bytes(),
            )?;
            self.inner
                .store
                .insert_search(&SearchHistoryRow {
                    id: 0,
                    subject_id: subject.as_str().to_string(),
                    query_ciphertext: sealed,
                    searched_at: now,
                })
                .await?;
            done.history = true;
        }
        if state.is_granted(&Purpose::UsageAnalytics) {
            let attributes = search_analytics_attributes(query);
            if let Ok(ev) = AnalyticsEvent::new("search", now, attributes) {
                self.inner
                    .store
                    .insert_analytics_event(&AnalyticsEventRow {
                        id: 0,
                        hour_bucket: ev.hour_bucket(),
                        kind: ev.kind().to_string(),
                        attributes: ev.attributes().clone(),
                    })
                    .await?;
                done.analytics = true;
            }
        }
        Ok(done)
    }

    /// Opens sealed search-history rows of `subject` (newest first as given).
    ///
    /// # Errors
    /// [`PrivacyError::Shredded`] once the data key is gone — for these rows and for any copy of
    /// them; crypto errors for altered rows.
    pub async fn open_search_rows(
        &self,
        subject: &SubjectId,
        rows: &[SearchHistoryRow],
    ) -> Result<Vec<SearchEntry>, PrivacyError> {
        let wrapped = self.wrapped_keys(subject, KeyKind::Data).await?;
        let mut keys: HashMap<u32, DataKey> = HashMap::new();
        let ctx = FieldContext::new(HISTORY_TABLE, HISTORY_COLUMN, subject.as_str());
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let v = sealed_dek_version(&r.query_ciphertext)?;
            let key = match keys.entry(v) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let row = wrapped
                        .iter()
                        .find(|w| w.dek_version == v)
                        .ok_or(CryptoError::UnknownKeyVersion(v))?;
                    e.insert(self.unwrap_row(row, KeyKind::Data)?)
                }
            };
            let text: Zeroizing<String> = key.cipher(v).open_string(&ctx, &r.query_ciphertext)?;
            out.push(SearchEntry {
                query: text.to_string(),
                at: r.searched_at,
            });
        }
        Ok(out)
    }

    /// The subject's latest searches, decrypted, newest first.
    ///
    /// # Errors
    /// As [`Privacy::open_search_rows`]; an unknown subject has none.
    pub async fn search_history(
        &self,
        subject: &SubjectId,
    ) -> Result<Vec<SearchEntry>, PrivacyError> {
        let rows = self
            .inner
            .store
            .search_history(subject.as_str(), SEARCH_HISTORY_LIMIT)
            .await?;
        if rows.is_empty() {
            return Ok(vec![]);
        }
        self.open_search_rows(subject, &rows).await
    }

    // ---- third parties -----------------------------------------------------------------------

    /// Provides `fields` of the subject to a registered recipient: authorised by the registry
    /// against the subject's current consent, recorded in `third_party_provisions` and audited
    /// (`third_party_provision`). A refusal is audited (`third_party_refused`) and returned.
    ///
    /// # Errors
    /// [`PrivacyError::Refused`]; storage errors.
    pub async fn provide(
        &self,
        subject: &SubjectId,
        recipient: &str,
        fields: &[&str],
    ) -> Result<anjia_privacy::third_party::Provision, PrivacyError> {
        let pseudonym = self.pseudonym(subject).await?;
        let state = self.consent_state(Some(subject)).await?;
        let now = self.now();
        match self
            .inner
            .registry
            .authorize(recipient, fields, &state, now)
        {
            Ok(p) => {
                self.inner
                    .store
                    .insert_provision(&ProvisionRow {
                        id: 0,
                        subject_pseudonym: pseudonym.as_str().to_string(),
                        recipient: p.recipient.clone(),
                        purpose: p.purpose.clone(),
                        fields: p.fields.clone(),
                        provided_at: now,
                    })
                    .await?;
                self.audit(
                    AuditEvent::new(AuditKind::ThirdPartyProvision, Actor::System)
                        .subject(pseudonym)
                        .details(serde_json::json!({"recipient": p.recipient, "fields": p.fields})),
                )
                .await?;
                Ok(p)
            }
            Err(refused) => {
                let recipient_id = if anjia_privacy::consent::valid_recipient_id(recipient) {
                    recipient
                } else {
                    "(invalid id)"
                };
                tracing::warn!(subject = %pseudonym, recipient = recipient_id, "third-party provision refused");
                self.audit(
                    AuditEvent::new(AuditKind::ThirdPartyRefused, Actor::System)
                        .subject(pseudonym)
                        .details(serde_json::json!({
                            "recipient": recipient_id,
                            "reason": refused.reason.to_string(),
                        })),
                )
                .await?;
                Err(refused.into())
            }
        }
    }

    // ---- staff -------------------------------------------------------------------------------

    /// Adds a staff member with a role (audited as `role_changed`).
    ///
    /// # Errors
    /// [`PrivacyError::BadUsername`]; a taken username (storage constraint).
    pub async fn add_staff(
        &self,
        username: &str,
        role: StaffRole,
    ) -> Result<StaffRow, PrivacyError> {
        let ok = !username.is_empty()
            && username.len() <= 64
            && username.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            })
            // A login name is stored in plaintext: never a phone or identity number (PRV-13;
            // the compliance scan would flag it, newcomer finding).
            && !crate::compliance::holds_plaintext_identifier(
                username.as_bytes(),
                anjia_domain::age::today_in_shanghai(self.now()),
            );
        if !ok {
            return Err(PrivacyError::BadUsername);
        }
        let row = StaffRow {
            id: format!("staff-{}", hex::encode(rand::random::<[u8; 8]>())),
            username: username.to_string(),
            role: role.as_str().to_string(),
            created_at: self.now(),
            disabled_at: None,
        };
        self.inner.store.insert_staff(&row).await?;
        self.audit(
            AuditEvent::new(AuditKind::RoleChanged, Actor::System).details(serde_json::json!({
                "staff": row.id, "role": role.as_str(), "change": "added",
            })),
        )
        .await?;
        Ok(row)
    }

    /// An enabled staff member by username, with the parsed role.
    ///
    /// # Errors
    /// [`PrivacyError::UnknownStaff`]; storage errors.
    pub async fn staff(&self, username: &str) -> Result<(StaffRow, StaffRole), PrivacyError> {
        let row = self
            .inner
            .store
            .staff_by_username(username)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or_else(|| PrivacyError::UnknownStaff(username.to_string()))?;
        let role =
            StaffRole::parse(&row.role).ok_or(PrivacyError::Corrupt("staff_members.role"))?;
        Ok((row, role))
    }

    /// Authorises one unmasked read by a staff member: the role must hold the category's unmask
    /// capability and a purpose must be stated; the read is audited (`staff_unmask`) before the
    /// record is returned — show the plaintext only after this succeeds.
    ///
    /// # Errors
    /// [`PrivacyError::UnknownStaff`], [`PrivacyError::Role`], subject and storage errors.
    pub async fn unmask(
        &self,
        staff_username: &str,
        category: UnmaskCategory,
        subject: &SubjectId,
        purpose: &str,
    ) -> Result<UnmaskAudit, PrivacyError> {
        let (staff, role) = self.staff(staff_username).await?;
        let pseudonym = self.pseudonym(subject).await?;
        let sref = SubjectRef::parse(pseudonym.as_str())?;
        let record = UnmaskRequest::new(&staff.id, role, category, sref, purpose)?.audit_record();
        self.audit(
            AuditEvent::new(AuditKind::StaffUnmask, Actor::Staff(record.staff.clone()))
                .subject(pseudonym)
                .purpose(record.purpose.clone())
                .details(serde_json::json!({
                    "category": category.as_str(),
                    "role": role.as_str(),
                })),
        )
        .await?;
        Ok(record)
    }

    /// Unmasks one sealed field of the subject (sealed with their data key for
    /// `(table, column)`) after [`Privacy::unmask`] authorised and audited it.
    ///
    /// # Errors
    /// As [`Privacy::unmask`]; [`PrivacyError::Shredded`]; crypto errors.
    pub async fn unmask_sealed(
        &self,
        staff_username: &str,
        category: UnmaskCategory,
        subject: &SubjectId,
        purpose: &str,
        (table, column): (&str, &str),
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, PrivacyError> {
        self.unmask(staff_username, category, subject, purpose)
            .await?;
        let wrapped = self.wrapped_keys(subject, KeyKind::Data).await?;
        let v = sealed_dek_version(sealed)?;
        let row = wrapped
            .iter()
            .find(|w| w.dek_version == v)
            .ok_or(CryptoError::UnknownKeyVersion(v))?;
        let key = self.unwrap_row(row, KeyKind::Data)?;
        Ok(key
            .cipher(v)
            .open_string(&FieldContext::new(table, column, subject.as_str()), sealed)?)
    }

    /// Seals one field of the subject's own data with their current data key for
    /// `(table, column)` (the AAD names table, column and subject, so a ciphertext cannot be
    /// moved to another row or column).
    ///
    /// # Errors
    /// [`PrivacyError::Shredded`], [`PrivacyError::UnknownSubject`], vault and crypto errors.
    pub async fn seal_field(
        &self,
        subject: &SubjectId,
        (table, column): (&str, &str),
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PrivacyError> {
        let (key, v) = self.data_key(subject).await?;
        Ok(key.cipher(v).seal(
            &FieldContext::new(table, column, subject.as_str()),
            plaintext,
        )?)
    }

    /// Opens one sealed field of the subject for the subject's own use (their profile, their
    /// session list) — with the data-key version the ciphertext names, so fields sealed before a
    /// key version change stay readable. Not audited: staff reads go through
    /// [`Privacy::unmask_sealed`].
    ///
    /// # Errors
    /// [`PrivacyError::Shredded`] once the key is destroyed; crypto errors for altered bytes or
    /// a wrong `(table, column)`.
    pub async fn open_field(
        &self,
        subject: &SubjectId,
        (table, column): (&str, &str),
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, PrivacyError> {
        let wrapped = self.wrapped_keys(subject, KeyKind::Data).await?;
        let v = sealed_dek_version(sealed)?;
        let row = wrapped
            .iter()
            .find(|w| w.dek_version == v)
            .ok_or(CryptoError::UnknownKeyVersion(v))?;
        let key = self.unwrap_row(row, KeyKind::Data)?;
        Ok(key
            .cipher(v)
            .open_string(&FieldContext::new(table, column, subject.as_str()), sealed)?)
    }

    /// Requests a bulk export (the requester's role must hold `RequestBulkExport`); returns the
    /// request id. Nothing is exported before a second person approves.
    ///
    /// # Errors
    /// [`PrivacyError::UnknownStaff`], [`PrivacyError::Role`], storage errors.
    pub async fn request_bulk_export(
        &self,
        staff_username: &str,
        purpose: &str,
        scope: &str,
    ) -> Result<i64, PrivacyError> {
        let (staff, role) = self.staff(staff_username).await?;
        let req = BulkExportRequest::new(&staff.id, role, purpose, scope)?;
        let id = self
            .inner
            .store
            .request_bulk_export(&BulkExportRow {
                id: 0,
                requested_by: req.requested_by().to_string(),
                purpose: purpose.trim().to_string(),
                scope: scope.trim().to_string(),
                requested_at: self.now(),
                approved_by: None,
                approved_at: None,
            })
            .await?;
        Ok(id)
    }

    /// Approves a pending bulk export by a second person holding `ApproveBulkExport` (audited as
    /// `export_approved`).
    ///
    /// # Errors
    /// [`PrivacyError::NoSuchExport`], [`PrivacyError::Role`] (self-approval, missing
    /// capability), [`PrivacyError::UnknownStaff`], storage errors.
    pub async fn approve_bulk_export(
        &self,
        id: i64,
        approver_username: &str,
    ) -> Result<(), PrivacyError> {
        let row = self
            .inner
            .store
            .bulk_export(id)
            .await?
            .filter(|r| r.approved_by.is_none())
            .ok_or(PrivacyError::NoSuchExport(id))?;
        let requester = self
            .inner
            .store
            .staff_member(&row.requested_by)
            .await?
            .ok_or(PrivacyError::Corrupt("bulk_export_requests.requested_by"))?;
        let requester_role =
            StaffRole::parse(&requester.role).ok_or(PrivacyError::Corrupt("staff_members.role"))?;
        let (approver, approver_role) = self.staff(approver_username).await?;
        let approved =
            BulkExportRequest::new(&row.requested_by, requester_role, &row.purpose, &row.scope)?
                .approve(&approver.id, approver_role)?;
        if !self
            .inner
            .store
            .approve_bulk_export(id, &approver.id, self.now())
            .await?
        {
            return Err(PrivacyError::NoSuchExport(id));
        }
        self.audit(
            AuditEvent::new(
                AuditKind::ExportApproved,
                Actor::Staff(approved.approved_by.clone()),
            )
            .purpose(approved.purpose.clone())
            .details(serde_json::json!({
                "request": id,
                "requested_by": approved.requested_by,
            })),
        )
        .await?;
        Ok(())
    }
}

fn consent_row(e: &ConsentEvent) -> ConsentRow {
    ConsentRow {
        id: 0,
        subject_pseudonym: e.subject().as_str().to_string(),
        policy_version: e.policy_version().to_string(),
        policy_sha256: e.policy_sha256().to_string(),
        purpose: e.purpose().id().into_owned(),
        action: match e.action() {
            ConsentAction::Grant => "grant",
            ConsentAction::Withdraw => "withdraw",
        }
        .to_string(),
        surface: e.surface().as_str().to_string(),
        recorded_at: e.at(),
    }
}

pub(crate) fn consent_event(r: &ConsentRow) -> Result<ConsentEvent, PrivacyError> {
    let at = r
        .recorded_at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| PrivacyError::Corrupt("consent_records.recorded_at"))?;
    serde_json::from_value(serde_json::json!({
        "subject": r.subject_pseudonym,
        "policy_version": r.policy_version,
        "policy_sha256": r.policy_sha256,
        "purpose": r.purpose,
        "action": r.action,
        "surface": r.surface,
        "at": at,
    }))
    .map_err(|_| PrivacyError::Corrupt("consent_records"))
}

/// Purpose ids of a list (for responses).
pub fn ids(ps: &[Purpose]) -> Vec<String> {
    purpose_ids(ps)
}

/// The analytics copy of a search query (PRV-18, PRV-19): only what the query interpreter
/// recognised from the platform's own vocabularies — region codes (GB/T 2260), property types and
/// auction rounds — plus the *number* of free-text terms. The free text itself (which may be a
/// name, an address, a phone or ID number typed into the box) never reaches analytics; removing
/// identifiers token by token ([`anjia_privacy::analytics::deidentify_query`]) cannot recognise
/// names and addresses, so it is not used here.
///
/// Keys: `regions` (comma-separated 6-digit codes), `property_types`, `rounds` (our ids,
/// comma-separated), `free_terms` (a count); keys with nothing recognised are left out.
pub fn search_analytics_attributes(query: &str) -> BTreeMap<String, String> {
    let interpretation = anjia_search::interpret(query);
    let mut attributes = BTreeMap::new();
    let join = |items: Vec<String>| items.join(",");
    if !interpretation.regions.is_empty() {
        attributes.insert(
            "regions".to_string(),
            join(
                interpretation
                    .regions
                    .iter()
                    .map(|r| format!("{:06}", r.get()))
                    .collect(),
            ),
        );
    }
    if !interpretation.property_types.is_empty() {
        attributes.insert(
            "property_types".to_string(),
            join(
                interpretation
                    .property_types
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
            ),
        );
    }
    if !interpretation.rounds.is_empty() {
        attributes.insert(
            "rounds".to_string(),
            join(
                interpretation
                    .rounds
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect(),
            ),
        );
    }
    attributes.insert(
        "free_terms".to_string(),
        interpretation.terms.len().to_string(),
    );
    attributes
}

#[cfg(test)]
mod tests {

    #[test]
    fn search_analytics_keep_only_recognised_structure() {
        let a = search_analytics_attributes("北京市朝阳区 住宅 二拍 禤燊龢 建国路88号 13812345678");
        assert_eq!(a.get("regions").map(String::as_str), Some("110105"));
        assert!(
            a.get("property_types")
                .is_some_and(|t| t.contains("residential")),
            "{a:?}"
        );
        assert!(a.contains_key("rounds"), "{a:?}");
        let all: String = a.values().cloned().collect::<Vec<_>>().join("|");
        for secret in ["禤燊龢", "建国路", "88", "13812345678"] {
            assert!(!all.contains(secret), "{secret} kept in {a:?}");
        }
        assert_ne!(a.get("free_terms").map(String::as_str), Some("0"));
    }

    use super::*;

    async fn service() -> (Privacy, Store, Vec<tempfile::TempDir>) {
        let (store, d1) = anjia_store::testing::fresh_sqlite().await;
        let (vault, d2) = anjia_store::testing::fresh_sqlite_vault().await;
        let p = Privacy::open(
            store.clone(),
            vault,
            KeyRing::generate().unwrap(),
            crate::system_clock(),
        )
        .await
        .unwrap();
        (p, store, vec![d1, d2])
    }

    #[test]
    fn subject_ids_are_random_hex_and_never_printed() {
        let a = SubjectId::generate();
        assert_ne!(a, SubjectId::generate());
        assert_eq!(SubjectId::parse(a.as_str()), Some(a.clone()));
        assert!(SubjectId::parse("0123456789ABCDEF0123456789ABCDEF").is_none());
        assert!(!format!("{a:?}").contains(a.as_str()));
    }

    #[test]
    fn audit_rows_round_trip() {
        let mut chain = AuditChain::new();
        let p = DataKey::generate().unwrap().pseudonym();
        for actor in [
            Actor::System,
            Actor::Staff("staff-1".into()),
            Actor::Subject(p.clone()),
        ] {
            let e = chain.append(
                AuditEvent::new(AuditKind::StaffUnmask, actor)
                    .subject(p.clone())
                    .purpose("核实来电")
                    .details(serde_json::json!({"category": "phone", "n": 3})),
                OffsetDateTime::now_utc(),
            );
            let back = audit_entry(&audit_row(&e)).unwrap();
            assert_eq!(back, e);
            assert_eq!(back.compute_hash(), e.hash);
        }
        let mut bad = audit_row(&chain.append(
            AuditEvent::new(AuditKind::Export, Actor::System),
            OffsetDateTime::now_utc(),
        ));
        bad.kind = "no_such_kind".into();
        assert!(audit_entry(&bad).is_none());
    }

    #[tokio::test]
    async fn a_refused_consent_change_stores_nothing() {
        let (p, store, _d) = service().await;
        let s = p.new_subject(SubjectKind::Visitor).await.unwrap();
        let before = store.audit_page(-1, 100).await.unwrap().len();
        let change = ConsentChange {
            accept: Some(vec![Purpose::SearchHistory]),
            grant: vec![Purpose::PreciseLocation],
            withdraw: vec![],
        };
        let e = p
            .change_consent(&s, &change, Surface::Web)
            .await
            .unwrap_err();
        assert!(matches!(e, PrivacyError::Consent(_)), "{e}");
        assert!(p.consent_history(&s).await.unwrap().is_empty());
        assert_eq!(store.audit_page(-1, 100).await.unwrap().len(), before);
        let st = p
            .accept_policy(&s, &[Purpose::SearchHistory], Surface::Web)
            .await
            .unwrap();
        assert!(st.is_granted(&Purpose::SearchHistory));
        assert_eq!(p.consent_history(&s).await.unwrap().len(), 2);
        let st = p
            .withdraw(&s, Purpose::SearchHistory, Surface::Web)
            .await
            .unwrap();
        assert!(!st.is_granted(&Purpose::SearchHistory));
    }

    #[tokio::test]
    async fn validate_change_refuses_what_change_consent_refuses_without_storing() {
        let (p, store, _d) = service().await;
        let bad = ConsentChange {
            accept: Some(vec![Purpose::PreciseLocation]),
            ..ConsentChange::default()
        };
        assert!(matches!(
            p.validate_change(&bad, Surface::Api),
            Err(PrivacyError::Consent(_))
        ));
        let good = ConsentChange {
            accept: Some(vec![Purpose::SearchHistory]),
            ..ConsentChange::default()
        };
        p.validate_change(&good, Surface::Api).unwrap();
        assert!(store.subjects_after("", 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn withdrawing_search_history_deletes_what_was_recorded() {
        let (p, _store, _d) = service().await;
        let s = p.new_subject(SubjectKind::Visitor).await.unwrap();
        p.accept_policy(&s, &[Purpose::SearchHistory], Surface::Web)
            .await
            .unwrap();
        p.record_search(&s, "朝阳区 住宅").await.unwrap();
        assert_eq!(p.search_history(&s).await.unwrap().len(), 1);
        p.withdraw(&s, Purpose::SearchHistory, Surface::Web)
            .await
            .unwrap();
        assert!(p.search_history(&s).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn shredding_invalidates_the_cached_pseudonym_and_keeps_legal_hold() {
        let (p, _store, _d) = service().await;
        let s = p.new_subject(SubjectKind::Account).await.unwrap();
        p.pseudonym(&s).await.unwrap();
        assert_eq!(p.shred(&s).await.unwrap(), 1);
        assert!(matches!(p.pseudonym(&s).await, Err(PrivacyError::Shredded)));
        assert!(matches!(p.data_key(&s).await, Err(PrivacyError::Shredded)));
        assert!(p.legal_hold_key(&s).await.is_ok());
        let unknown = SubjectId::generate();
        assert!(matches!(
            p.data_key(&unknown).await,
            Err(PrivacyError::UnknownSubject)
        ));
        assert!(
            p.consent_state(Some(&unknown))
                .await
                .unwrap()
                .accepted_version()
                .is_none()
        );
    }

    #[tokio::test]
    async fn two_appenders_on_one_store_keep_one_chain() {
        let (p, store, _d) = service().await;
        let vault = p.vault().clone();
        let ring = KeyRing::from_toml(&p.keys().to_toml().unwrap()).unwrap();
        let q = Privacy::open(store.clone(), vault, ring, crate::system_clock())
            .await
            .unwrap();
        // Opening audited the publication of each bundled policy version.
        let base = store
            .last_audit()
            .await
            .unwrap()
            .map_or(0, |r| r.seq as u64);
        assert!(base >= 1);
        for i in 0..10 {
            let who = if i % 2 == 0 { &p } else { &q };
            who.audit(
                AuditEvent::new(AuditKind::Export, Actor::System)
                    .details(serde_json::json!({"i": i})),
            )
            .await
            .unwrap();
        }
        assert_eq!(p.checkpoint_now().await.unwrap(), Some(base + 10));
        let rep = p.verify_audit().await.unwrap().unwrap();
        assert_eq!(rep.entries, base + 10);
        assert_eq!(rep.checkpoints_checked, 1);
    }

    #[tokio::test]
    async fn a_phone_number_is_no_staff_username() {
        let (p, _store, _d) = service().await;
        for bad in ["13800138000", "11010519491231002x", "", "Upper"] {
            assert!(
                matches!(
                    p.add_staff(bad, StaffRole::Auditor).await,
                    Err(PrivacyError::BadUsername)
                ),
                "{bad}"
            );
        }
        assert!(p.add_staff("cs.13800", StaffRole::Auditor).await.is_ok());
    }

    #[tokio::test]
    async fn staff_unmask_needs_the_role_and_a_purpose_and_is_audited() {
        let (p, store, _d) = service().await;
        let s = p.new_subject(SubjectKind::Account).await.unwrap();
        p.add_staff("cs.wang", StaffRole::CustomerService)
            .await
            .unwrap();
        p.add_staff("mod.li", StaffRole::Moderator).await.unwrap();
        let (key, v) = p.data_key(&s).await.unwrap();
        let sealed = key
            .cipher(v)
            .seal(
                &FieldContext::new("orders", "recipient_phone", s.as_str()),
                b"13812345678",
            )
            .unwrap();
        let e = p
            .unmask_sealed(
                "mod.li",
                UnmaskCategory::Phone,
                &s,
                "核实订单",
                ("orders", "recipient_phone"),
                &sealed,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, PrivacyError::Role(_)), "{e}");
        let e = p
            .unmask_sealed(
                "cs.wang",
                UnmaskCategory::Phone,
                &s,
                "",
                ("orders", "recipient_phone"),
                &sealed,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, PrivacyError::Role(_)), "{e}");
        let plain = p
            .unmask_sealed(
                "cs.wang",
                UnmaskCategory::Phone,
                &s,
                "用户来电核实配送",
                ("orders", "recipient_phone"),
                &sealed,
            )
            .await
            .unwrap();
        assert_eq!(plain.as_str(), "13812345678");
        let audit = store.audit_page(-1, 100).await.unwrap();
        let unmasks: Vec<_> = audit.iter().filter(|a| a.kind == "staff_unmask").collect();
        assert_eq!(unmasks.len(), 1);
        assert!(!unmasks[0].details.contains("138"));
        // Two-person bulk export.
        p.add_staff("admin.zhao", StaffRole::Admin).await.unwrap();
        let id = p
            .request_bulk_export("cs.wang", "监管部门依法调取", "orders 2026")
            .await
            .unwrap();
        assert!(p.approve_bulk_export(id, "cs.wang").await.is_err());
        p.approve_bulk_export(id, "admin.zhao").await.unwrap();
        assert!(matches!(
            p.approve_bulk_export(id, "admin.zhao").await,
            Err(PrivacyError::NoSuchExport(_))
        ));
    }
}
