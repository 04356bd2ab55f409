//! Tamper-evident audit log (PRIVACY.md PRV-32; PRV-14/31 unmask and export events, PRV-38 breach
//! scoping).
//!
//! * [`AuditEntry`] — `seq` (1, 2, 3, … without gaps), UTC time, the [`AuditEvent`], `prev_hash`
//!   (all zeros for seq 1) and `hash` = SHA-256 (FIPS 180-4) over an unambiguous, length-prefixed
//!   binary encoding of (seq, at, event, prev_hash) — see [`entry_hash`]. The hash depends on the
//!   decoded values, not on how a store happens to print JSON (object key order, white space).
//! * [`Checkpoint`] — Ed25519 (RFC 8032) signature over `"anjia-audit-checkpoint|<seq>|<hash hex>"`,
//!   made by a [`Checkpointer`] every N entries and on demand, stored apart from the log.
//! * [`verify`] — recomputes every hash and link and checks the checkpoints; returns the first
//!   tampered seq and a best-effort [`TamperKind`].
//!
//! Subjects appear only as keyed [`Pseudonym`]s, so shredding a subject's data key unlinks them
//! without breaking the chain. `details` must not hold PI (the caller's duty: pseudonyms, field
//! names, counts, ids of non-personal records).
//!
//! # What verification detects
//! * an edited entry whose stored hash was left alone → `Edited` at that seq;
//! * an edited entry whose own hash was recomputed → the next link breaks → `Edited` at that seq
//!   (or `Inserted` when the link skips exactly one entry);
//! * a deleted entry → a seq gap → `Deleted` at the first missing seq;
//! * entries out of order → `Reordered`; a duplicated/forged extra seq → `Inserted`;
//! * any rewrite, however consistent, of the chain up to a checkpoint → `CheckpointMismatch`;
//! * removal of entries after a checkpoint's seq, reaching back before it → `Truncated`.
//!
//! Not detectable from the log alone: removal of the **newest** entries after the last checkpoint
//! (make a checkpoint on demand at shutdown and when an export or unmask happens, and keep the
//! checkpoints outside the database), and a complete rewrite by someone holding the signing key.
//! Tamper kinds other than the checkpoint ones are heuristics; the seq is exact: it is the first
//! position at which the log stops verifying.

use std::borrow::Borrow;
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, UtcOffset};

use crate::crypto::Pseudonym;

/// A SHA-256 hash, 32 bytes (serialised as 64 lowercase hex characters).
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry.
pub const GENESIS_PREV_HASH: Hash = [0; 32];

/// Domain-separation tag at the start of every hashed entry encoding.
const ENTRY_TAG: &[u8] = b"anjia-audit-entry-v1\0";

/// What happened. Serialised in `snake_case`; [`AuditKind::as_str`] is also what is hashed, so
/// existing names must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditKind {
    /// A consent was granted or withdrawn (PRV-06, PRV-08).
    ConsentChanged,
    /// Staff saw unmasked PI, with a stated purpose (PRV-14, PRV-31).
    StaffUnmask,
    /// A data export was produced (a subject's copy, PRV-23, or a bulk export, PRV-31).
    Export,
    /// A second person approved a bulk export (PRV-31).
    ExportApproved,
    /// Data was deleted (user action or retention job, PRV-22, PRV-26).
    Deletion,
    /// An account was cancelled (PRV-27).
    AccountCancelled,
    /// PI was provided to a third party (PRV-12, PRV-35).
    ThirdPartyProvision,
    /// A provision was refused for lack of consent or an unknown recipient (PRV-35).
    ThirdPartyRefused,
    /// A data key was destroyed (crypto-shredding, PRV-26).
    KeyShredded,
    /// A key-encryption key was rotated and data keys re-wrapped (PRV-13).
    KeyRotated,
    /// A policy version was published (PRV-09).
    PolicyPublished,
    /// A staff role was granted or revoked (PRV-31).
    RoleChanged,
    /// A subject's data was corrected (PRV-25).
    Corrected,
    /// A breach incident was recorded or notices sent (PRV-38).
    Breach,
    /// An account signed in (issue 3; details: method, session kind, whether it was created).
    SignIn,
    /// An account revoked every one of its sessions (issue 3).
    SignOutEverywhere,
    /// An account's password was set or changed (issue 3).
    PasswordChanged,
    /// An account's phone number was changed (issue 3).
    PhoneChanged,
    /// An account was recovered by an SMS code to its phone: new password, sessions revoked
    /// (issue 3).
    AccountRecovered,
    /// The retention job is about to delete the entries up to `details.through_seq` (a signed
    /// checkpoint's seq), all older than the logs' maximum (PRV-21; see [`PRUNE_MIN_AGE`]).
    AuditPruned,
    /// A privacy request or complaint was answered or refused, a refusal with its reason
    /// (PRV-28; details: ticket id, kind, outcome, listing action — never the texts).
    PrivacyRequestClosed,
}

/// The youngest an entry may be when the retention job deletes it: six months (Cybersecurity Law
/// Art. 21: network logs kept at least six months), taken as 183 days. [`verify`] refuses a
/// recorded pruning that reached younger entries.
pub const PRUNE_MIN_AGE: time::Duration = time::Duration::days(183);

/// The logs' documented maximum: twelve months (policy clause `retain.logs`), taken as 365 days;
/// the retention job prunes through the newest signed checkpoint older than this.
pub const PRUNE_MAX_AGE: time::Duration = time::Duration::days(365);

impl AuditKind {
    /// The stable `snake_case` name (the serde name), hashed into the entry.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ConsentChanged => "consent_changed",
            AuditKind::StaffUnmask => "staff_unmask",
            AuditKind::Export => "export",
            AuditKind::ExportApproved => "export_approved",
            AuditKind::Deletion => "deletion",
            AuditKind::AccountCancelled => "account_cancelled",
            AuditKind::ThirdPartyProvision => "third_party_provision",
            AuditKind::ThirdPartyRefused => "third_party_refused",
            AuditKind::KeyShredded => "key_shredded",
            AuditKind::KeyRotated => "key_rotated",
            AuditKind::PolicyPublished => "policy_published",
            AuditKind::RoleChanged => "role_changed",
            AuditKind::Corrected => "corrected",
            AuditKind::Breach => "breach",
            AuditKind::SignIn => "sign_in",
            AuditKind::SignOutEverywhere => "sign_out_everywhere",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::PhoneChanged => "phone_changed",
            AuditKind::AccountRecovered => "account_recovered",
            AuditKind::AuditPruned => "audit_pruned",
            AuditKind::PrivacyRequestClosed => "privacy_request_closed",
        }
    }
}

/// Who acted. JSON: `{"type":"system"}`, `{"type":"staff","id":"…"}`, `{"type":"subject","id":"<pseudonym>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The platform itself (jobs, retention, key rotation).
    System,
    /// A staff member, by staff id (not PI of a data subject).
    Staff(String),
    /// The data subject, by pseudonym.
    Subject(Pseudonym),
}

/// One audited event. `details` must hold no PI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// Who did it.
    pub actor: Actor,
    /// Whose data it concerned, if a subject's.
    pub subject: Option<Pseudonym>,
    /// The stated purpose (required by callers for unmask and export).
    pub purpose: Option<String>,
    /// Further non-personal facts (field names, counts, policy version, recipient id). Avoid
    /// floating-point numbers: they may not survive a store's JSON round-trip bit for bit.
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event with no subject, purpose or details.
    pub fn new(kind: AuditKind, actor: Actor) -> AuditEvent {
        AuditEvent {
            kind,
            actor,
            subject: None,
            purpose: None,
            details: serde_json::Value::Null,
        }
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: Pseudonym) -> AuditEvent {
        self.subject = Some(subject);
        self
    }

    /// Sets the purpose.
    pub fn purpose(mut self, purpose: impl Into<String>) -> AuditEvent {
        self.purpose = Some(purpose.into());
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: serde_json::Value) -> AuditEvent {
        self.details = details;
        self
    }
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position, from 1, without gaps.
    pub seq: u64,
    /// When, in UTC (RFC 3339 in JSON); [`AuditChain::append`] truncates to microseconds so that
    /// stores with microsecond precision keep the hash valid.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    pub event: AuditEvent,
    /// The previous entry's `hash` ([`GENESIS_PREV_HASH`] for seq 1).
    #[serde(with = "hex_bytes")]
    pub prev_hash: Hash,
    /// [`entry_hash`] of this entry.
    #[serde(with = "hex_bytes")]
    pub hash: Hash,
}

fn put_len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u64).to_be_bytes());
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_len(buf, s.len());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            put_str(buf, s);
        }
    }
}

/// Type-tagged, length-prefixed encoding of a JSON value; object members sorted by key bytes.
fn put_value(buf: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => buf.push(b'n'),
        Value::Bool(b) => buf.push(if *b { b't' } else { b'f' }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                buf.push(b'u');
                buf.extend_from_slice(&u.to_be_bytes());
            } else if let Some(i) = n.as_i64() {
                buf.push(b'i');
                buf.extend_from_slice(&i.to_be_bytes());
            } else {
                buf.push(b'd');
                buf.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_bits().to_be_bytes());
            }
        }
        Value::String(s) => {
            buf.push(b's');
            put_str(buf, s);
        }
        Value::Array(a) => {
            buf.push(b'a');
            put_len(buf, a.len());
            for x in a {
                put_value(buf, x);
            }
        }
        Value::Object(m) => {
            buf.push(b'o');
            put_len(buf, m.len());
            // serde_json's default map is sorted; with `preserve_order` it is not, so sort then.
            let sorted = m
                .keys()
                .zip(m.keys().skip(1))
                .all(|(a, b)| a.as_bytes() < b.as_bytes());
            if sorted {
                for (k, x) in m {
                    put_str(buf, k);
                    put_value(buf, x);
                }
            } else {
                let mut members: Vec<_> = m.iter().collect();
                members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                for (k, x) in members {
                    put_str(buf, k);
                    put_value(buf, x);
                }
            }
        }
    }
}

/// Writes the hashed encoding of an entry into `buf` (cleared first).
///
/// Layout (integers big-endian, `str` = u64 byte length + UTF-8, `opt` = 0 | 1 + str):
/// `"anjia-audit-entry-v1\0" | seq u64 | at: Unix time in ns, i128 | kind str | actor: 0 (system) |
/// 1 staff str | 2 subject str | subject opt | purpose opt | details value | prev_hash 32 bytes`,
/// where a JSON value is `n`, `t`, `f`, `u` u64, `i` i64, `d` f64 bits, `s` str,
/// `a` count + values, `o` count + (key str, value) sorted by key bytes.
pub fn encode_entry(
    buf: &mut Vec<u8>,
    seq: u64,
    at: OffsetDateTime,
    event: &AuditEvent,
    prev_hash: &Hash,
) {
    buf.clear();
    buf.extend_from_slice(ENTRY_TAG);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&at.unix_timestamp_nanos().to_be_bytes());
    put_str(buf, event.kind.as_str());
    match &event.actor {
        Actor::System => buf.push(0),
        Actor::Staff(id) => {
            buf.push(1);
            put_str(buf, id);
        }
        Actor::Subject(p) => {
            buf.push(2);
            put_str(buf, p.as_str());
        }
    }
    put_opt_str(buf, event.subject.as_ref().map(Pseudonym::as_str));
    put_opt_str(buf, event.purpose.as_deref());
    put_value(buf, &event.details);
    buf.extend_from_slice(prev_hash);
}

/// SHA-256 of [`encode_entry`], using `buf` as scratch space (reuse it to avoid allocating per
/// entry).
pub fn entry_hash(
    buf: &mut Vec<u8>,
    seq: u64,
    at: OffsetDateTime,
    event: &AuditEvent,
    prev_hash: &Hash,
) -> Hash {
    encode_entry(buf, seq, at, event, prev_hash);
    Sha256::digest(buf.as_slice()).into()
}

impl AuditEntry {
    /// Recomputes this entry's hash from its fields (compare with `self.hash`).
    pub fn compute_hash(&self) -> Hash {
        entry_hash(
            &mut Vec::with_capacity(256),
            self.seq,
            self.at,
            &self.event,
            &self.prev_hash,
        )
    }
}

/// Appends to the chain: knows the next seq and the last hash.
#[derive(Debug, Clone)]
pub struct AuditChain {
    next_seq: u64,
    prev_hash: Hash,
    scratch: Vec<u8>,
}

impl Default for AuditChain {
    fn default() -> Self {
        AuditChain::new()
    }
}

impl AuditChain {
    /// An empty chain: the first entry gets seq 1 and [`GENESIS_PREV_HASH`].
    pub fn new() -> AuditChain {
        AuditChain {
            next_seq: 1,
            prev_hash: GENESIS_PREV_HASH,
            scratch: Vec::with_capacity(256),
        }
    }

    /// Continues after `last` (the newest stored entry, trusted as is — run [`verify`] to check
    /// it), or starts a new chain for `None`.
    pub fn resume(last: Option<&AuditEntry>) -> AuditChain {
        match last {
            None => AuditChain::new(),
            Some(e) => AuditChain {
                next_seq: e.seq.saturating_add(1),
                prev_hash: e.hash,
                scratch: Vec::with_capacity(256),
            },
        }
    }

    /// The seq the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends `event` at time `at` (converted to UTC and truncated to whole microseconds) and
    /// returns the new entry to store.
    pub fn append(&mut self, event: AuditEvent, at: OffsetDateTime) -> AuditEntry {
        let at = at.to_offset(UtcOffset::UTC);
        let at = at
            .replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
            .unwrap_or(at);
        let seq = self.next_seq;
        let hash = entry_hash(&mut self.scratch, seq, at, &event, &self.prev_hash);
        let entry = AuditEntry {
            seq,
            at,
            event,
            prev_hash: self.prev_hash,
            hash,
        };
        self.next_seq = seq.saturating_add(1);
        self.prev_hash = hash;
        entry
    }
}

/// A signed statement "the entry with this seq has this hash" (PRV-32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The entry's seq.
    pub seq: u64,
    /// The entry's hash.
    #[serde(with = "hex_bytes")]
    pub hash: Hash,
    /// Ed25519 signature (RFC 8032) over [`checkpoint_message`], 64 bytes (128 hex in JSON).
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
    /// [`key_id`] of the signing key.
    pub key_id: String,
}

/// The signed message: `"anjia-audit-checkpoint|<seq decimal>|<hash, 64 lowercase hex>"`.
pub fn checkpoint_message(seq: u64, hash: &Hash) -> String {
    format!("anjia-audit-checkpoint|{seq}|{}", hex::encode(hash))
}

/// Identifies a verifying key: the first 8 bytes of SHA-256 of its 32-byte encoding, 16 hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

impl Checkpoint {
    /// Signs `entry`'s seq and hash.
    pub fn sign(entry: &AuditEntry, key: &SigningKey) -> Checkpoint {
        let sig = key.sign(checkpoint_message(entry.seq, &entry.hash).as_bytes());
        Checkpoint {
            seq: entry.seq,
            hash: entry.hash,
            signature: sig.to_bytes(),
            key_id: key_id(&key.verifying_key()),
        }
    }

    /// True if the signature is a valid (strict, RFC 8032 §5.1.7 with the dalek strictness checks)
    /// signature of `key` and `key_id` names `key`.
    pub fn is_valid(&self, key: &VerifyingKey) -> bool {
        self.key_id == key_id(key)
            && key
                .verify_strict(
                    checkpoint_message(self.seq, &self.hash).as_bytes(),
                    &Signature::from_bytes(&self.signature),
                )
                .is_ok()
    }
}

/// Makes checkpoints every `every` entries and on demand.
pub struct Checkpointer {
    key: SigningKey,
    every: u64,
}

impl Checkpointer {
    /// Default interval: a checkpoint every 10,000 entries.
    pub const DEFAULT_EVERY: u64 = 10_000;

    /// A checkpointer signing with `key` every `every` entries (0: only on demand).
    pub fn new(key: SigningKey, every: u64) -> Checkpointer {
        Checkpointer { key, every }
    }

    /// The checkpoint due after `entry` was appended (when `entry.seq` is a multiple of `every`).
    pub fn after_append(&self, entry: &AuditEntry) -> Option<Checkpoint> {
        (self.every != 0 && entry.seq.is_multiple_of(self.every))
            .then(|| Checkpoint::sign(entry, &self.key))
    }

    /// A checkpoint of `entry` now (at shutdown, after an export or unmask, before a backup).
    pub fn checkpoint(&self, entry: &AuditEntry) -> Checkpoint {
        Checkpoint::sign(entry, &self.key)
    }

    /// The public key verifiers need.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
}

impl fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpointer")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

/// How the log was tampered with (best effort, see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// The entry's content does not match its hash, or the entry was rewritten and rehashed.
    Edited,
    /// An entry is missing (seq gap, or the chain does not start at seq 1).
    Deleted,
    /// Entries are out of seq order.
    Reordered,
    /// An extra entry (duplicate seq, or a link that skips a forged entry).
    Inserted,
    /// A checkpoint's signature or key id is invalid.
    BadCheckpointSignature,
    /// The entry at a checkpoint's seq has another hash than the signed one.
    CheckpointMismatch,
    /// The log ends before a checkpoint's seq.
    Truncated,
}

/// The first place where the log stops verifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit log does not verify at seq {seq}: {kind:?}")]
pub struct Tamper {
    /// The seq of the first bad entry (for `Deleted`, the first missing seq; for `Truncated`, the
    /// first seq after the last entry present; for checkpoint kinds, the checkpoint's seq).
    pub seq: u64,
    /// What was found.
    pub kind: TamperKind,
}

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries verified.
    pub entries: u64,
    /// Number of checkpoints whose signature and hash were checked.
    pub checkpoints_checked: usize,
    /// The last seq, `None` for an empty log.
    pub last_seq: Option<u64>,
    /// The last hash, `None` for an empty log (keep it to detect later truncation).
    pub last_hash: Option<Hash>,
    /// The seq through which the retention job pruned the log (its recorded pruning verified),
    /// `None` when the log starts at seq 1.
    pub pruned_through: Option<u64>,
}

/// The details of an [`AuditKind::AuditPruned`] entry: `{"through_seq": C, "through_at":
/// "<RFC 3339, UTC>"}` — entries 1..=C go; entry C (a checkpointed entry) was made at
/// `through_at`.
pub fn pruned_details(through_seq: u64, through_at: OffsetDateTime) -> serde_json::Value {
    let at = through_at
        .to_offset(UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({"through_seq": through_seq, "through_at": at})
}

fn parse_pruned(e: &AuditEntry) -> Option<(u64, OffsetDateTime)> {
    if e.event.kind != AuditKind::AuditPruned {
        return None;
    }
    let seq = e.event.details.get("through_seq")?.as_u64()?;
    let at = e.event.details.get("through_at")?.as_str()?;
    let at = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    Some((seq, at))
}

/// Verifies a whole log, oldest first, against its checkpoints (in any order) and the signing
/// key's public half.
///
/// A log may start after seq 1 when the retention job pruned its oldest entries (PRV-21): then
/// the entry before the first one present must be a signed checkpoint whose hash is the first
/// entry's `prev_hash`, and the log must hold the [`AuditKind::AuditPruned`] entry that recorded
/// it — naming that seq, made at least [`PRUNE_MIN_AGE`] after the last pruned entry, and itself
/// covered by a later signed checkpoint. Anything else is `Deleted` at seq 1. Checkpoints of
/// pruned entries are checked for their signature only.
///
/// Cost: one SHA-256 per entry over a reused buffer (no allocation per entry), one Ed25519
/// verification per checkpoint.
///
/// # Errors
/// The first [`Tamper`] found; checkpoint signatures are checked before any entry.
pub fn verify<I>(
    entries: I,
    checkpoints: &[Checkpoint],
    key: &VerifyingKey,
) -> Result<VerifyReport, Tamper>
where
    I: IntoIterator,
    I::Item: Borrow<AuditEntry>,
{
    let mut cps: Vec<&Checkpoint> = checkpoints.iter().collect();
    cps.sort_by_key(|c| c.seq);
    for c in &cps {
        if !c.is_valid(key) {
            return Err(Tamper {
                seq: c.seq,
                kind: TamperKind::BadCheckpointSignature,
            });
        }
    }
    let tamper = |seq, kind| Err(Tamper { seq, kind });
    let mut next_cp = 0usize;
    let mut buf = Vec::with_capacity(512);
    let mut prev: Option<(u64, Hash)> = None;
    let mut prev_prev_hash: Option<Hash> = None;
    let mut count = 0u64;
    // A pruned prefix: (through seq, whether its recorded pruning was seen, the seq of that
    // record) — the record must be followed by a checkpoint.
    let mut pruned: Option<u64> = None;
    let mut pruning_record: Option<u64> = None;
    let mut iter = entries.into_iter().peekable();
    if let Some(first) = iter.peek() {
        let first: &AuditEntry = first.borrow();
        if first.seq > 1 {
            let anchor = first.seq - 1;
            match cps.iter().position(|c| c.seq == anchor) {
                Some(i) if cps[i].hash == first.prev_hash => {
                    pruned = Some(anchor);
                    prev = Some((anchor, first.prev_hash));
                    next_cp = i + 1;
                }
                _ => return tamper(1, TamperKind::Deleted),
            }
        }
    }
    while let Some(item) = iter.next() {
        let e: &AuditEntry = item.borrow();
        let expected = prev.map_or(1, |(s, _)| s.saturating_add(1));
        if e.seq != expected {
            if prev.is_none() {
                return tamper(
                    1,
                    if e.seq > 1 {
                        TamperKind::Deleted
                    } else {
                        TamperKind::Inserted
                    },
                );
            }
            if e.seq > expected {
                // The missing seq turning up later means the entries were moved, not removed.
                let back = iter.any(|n| Borrow::<AuditEntry>::borrow(&n).seq == expected);
                return tamper(
                    expected,
                    if back {
                        TamperKind::Reordered
                    } else {
                        TamperKind::Deleted
                    },
                );
            }
            let kind = if e.seq == expected - 1 {
                TamperKind::Inserted
            } else {
                TamperKind::Reordered
            };
            return tamper(e.seq, kind);
        }
        let h = entry_hash(&mut buf, e.seq, e.at, &e.event, &e.prev_hash);
        if h != e.hash {
            return tamper(e.seq, TamperKind::Edited);
        }
        match prev {
            None if e.prev_hash != GENESIS_PREV_HASH => return tamper(1, TamperKind::Deleted),
            Some((ps, ph)) if e.prev_hash != ph => {
                let kind = if prev_prev_hash == Some(e.prev_hash) {
                    TamperKind::Inserted
                } else {
                    TamperKind::Edited
                };
                return tamper(ps, kind);
            }
            _ => {}
        }
        if let (Some(through), None) = (pruned, pruning_record)
            && let Some((seq, through_at)) = parse_pruned(e)
            && seq == through
            && through_at + PRUNE_MIN_AGE <= e.at
        {
            pruning_record = Some(e.seq);
        }
        while let Some(c) = cps.get(next_cp) {
            if c.seq > e.seq {
                break;
            }
            if c.seq < e.seq || c.hash != e.hash {
                return tamper(c.seq, TamperKind::CheckpointMismatch);
            }
            next_cp += 1;
        }
        prev_prev_hash = prev.map(|(_, h)| h);
        prev = Some((e.seq, e.hash));
        count += 1;
    }
    if let Some(c) = cps.get(next_cp) {
        let first_missing = prev.map_or(1, |(s, _)| s.saturating_add(1));
        debug_assert!(c.seq >= first_missing);
        return tamper(first_missing, TamperKind::Truncated);
    }
    if pruned.is_some() {
        // The pruning must be on record, and a signed checkpoint must cover the record.
        let covered = pruning_record.is_some_and(|r| cps.last().is_some_and(|c| c.seq >= r));
        if !covered {
            return tamper(1, TamperKind::Deleted);
        }
    }
    Ok(VerifyReport {
        entries: count,
        checkpoints_checked: cps.len(),
        last_seq: prev.map(|(s, _)| s),
        last_hash: prev.map(|(_, h)| h),
        pruned_through: pruned,
    })
}

/// Serde as lowercase hex for fixed-size byte arrays.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(s.as_bytes(), &mut out)
            .map_err(|_| D::Error::custom(format_args!("expected {} hex characters", 2 * N)))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use time::macros::datetime;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn event(i: u64) -> AuditEvent {
        let subject = DataKey::generate().expect("rng").pseudonym();
        AuditEvent::new(
            AuditKind::StaffUnmask,
            Actor::Staff(format!("staff-{}", i % 3)),
        )
        .subject(subject)
        .purpose("customer service ticket")
        .details(serde_json::json!({"fields": ["phone"], "ticket": i, "zz": null, "a": true}))
    }

    /// 25 entries, checkpoints every 10 (seq 10, 20) plus one on demand at 25.
    fn log() -> (Vec<AuditEntry>, Vec<Checkpoint>) {
        let cp = Checkpointer::new(key(), 10);
        let mut chain = AuditChain::new();
        let t0 = datetime!(2026-05-01 08:00:00.123456789 +08:00);
        let mut entries = Vec::new();
        let mut cps = Vec::new();
        for i in 0..25 {
            let e = chain.append(event(i), t0 + time::Duration::seconds(i as i64));
            cps.extend(cp.after_append(&e));
            entries.push(e);
        }
        if let Some(last) = entries.last() {
            cps.push(cp.checkpoint(last));
        }
        (entries, cps)
    }

    fn check(entries: &[AuditEntry], cps: &[Checkpoint]) -> Result<VerifyReport, Tamper> {
        verify(entries, cps, &key().verifying_key())
    }

    fn rehash_from(entries: &mut [AuditEntry], from: usize) {
        let mut prev = if from == 0 {
            GENESIS_PREV_HASH
        } else {
            entries[from - 1].hash
        };
        for e in &mut entries[from..] {
            e.prev_hash = prev;
            e.hash = e.compute_hash();
            prev = e.hash;
        }
    }

    #[test]
    fn intact_log_verifies() {
        let (entries, cps) = log();
        assert_eq!(cps.len(), 3);
        let r = check(&entries, &cps).expect("intact");
        assert_eq!(r.entries, 25);
        assert_eq!(r.checkpoints_checked, 3);
        assert_eq!(r.last_seq, Some(25));
        assert_eq!(entries[0].prev_hash, GENESIS_PREV_HASH);
        assert_eq!(entries[0].at.offset(), UtcOffset::UTC);
        assert_eq!(entries[0].at.nanosecond(), 123_456_000);
        assert_eq!(check(&[], &[]).map(|r| r.entries), Ok(0));
        // Owned iterator works too.
        assert!(verify(entries.clone(), &cps, &key().verifying_key()).is_ok());
    }

    #[test]
    fn json_round_trip_keeps_hash() {
        let (entries, cps) = log();
        let json = serde_json::to_string(&entries).expect("ser");
        let back: Vec<AuditEntry> = serde_json::from_str(&json).expect("de");
        assert_eq!(back, entries);
        let cps_json = serde_json::to_string(&cps).expect("ser");
        let cps_back: Vec<Checkpoint> = serde_json::from_str(&cps_json).expect("de");
        assert!(check(&back, &cps_back).is_ok());
        // Reordered JSON object keys do not change the hash.
        let mut v: serde_json::Value = serde_json::from_str(&json).expect("value");
        v[0]["event"]["details"] =
            serde_json::json!({"zz": null, "ticket": 0, "a": true, "fields": ["phone"]});
        let back: Vec<AuditEntry> = serde_json::from_value(v).expect("de");
        assert!(check(&back, &cps).is_ok());
    }

    #[test]
    fn detects_edit() {
        let (mut entries, cps) = log();
        entries[4].event.purpose = Some("curiosity".into());
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 5,
                kind: TamperKind::Edited
            })
        );
        // Edited and its own hash recomputed: the next link breaks.
        entries[4].hash = entries[4].compute_hash();
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 5,
                kind: TamperKind::Edited
            })
        );
        // Edited and the whole rest rehashed: only the checkpoint catches it.
        rehash_from(&mut entries, 4);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 10,
                kind: TamperKind::CheckpointMismatch
            })
        );
    }

    #[test]
    fn detects_deletion() {
        let (mut entries, cps) = log();
        entries.remove(6);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 7,
                kind: TamperKind::Deleted
            })
        );
        let (mut entries, cps) = log();
        entries.remove(0);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 1,
                kind: TamperKind::Deleted
            })
        );
        // Deleted and renumbered without rehashing: the renumbered entry no longer matches.
        let (mut entries, cps) = log();
        entries.remove(6);
        for e in &mut entries[6..] {
            e.seq -= 1;
        }
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 7,
                kind: TamperKind::Edited
            })
        );
    }

    #[test]
    fn detects_reorder() {
        let (mut entries, cps) = log();
        entries.swap(3, 4);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 4,
                kind: TamperKind::Reordered
            })
        );
        let (mut entries, cps) = log();
        let moved = entries.remove(2);
        entries.insert(8, moved);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 3,
                kind: TamperKind::Reordered
            })
        );
    }

    #[test]
    fn detects_insertion() {
        let (mut entries, cps) = log();
        let mut forged = entries[5].clone();
        forged.event.purpose = Some("forged".into());
        forged.hash = forged.compute_hash();
        entries.insert(6, forged);
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 6,
                kind: TamperKind::Inserted
            })
        );
        // Forged entry linked in properly, later ones renumbered but not relinked.
        let (mut entries, cps) = log();
        let mut forged = entries[5].clone();
        forged.seq = 7;
        forged.prev_hash = entries[5].hash;
        forged.hash = forged.compute_hash();
        entries.insert(6, forged);
        for e in &mut entries[7..] {
            e.seq += 1;
            e.hash = e.compute_hash();
        }
        assert_eq!(
            check(&entries, &cps),
            Err(Tamper {
                seq: 7,
                kind: TamperKind::Inserted
            })
        );
    }

    #[test]
    fn detects_truncation_and_bad_checkpoints() {
        let (entries, cps) = log();
        assert_eq!(
            check(&entries[..22], &cps),
            Err(Tamper {
                seq: 23,
                kind: TamperKind::Truncated
            })
        );
        assert_eq!(
            check(&entries[..0], &cps),
            Err(Tamper {
                seq: 1,
                kind: TamperKind::Truncated
            })
        );
        // Without the on-demand checkpoint at 25, removing entries 21–25 is not detectable.
        assert!(check(&entries[..20], &cps[..2]).is_ok());

        let mut bad = cps.clone();
        bad[1].hash[0] ^= 1;
        assert_eq!(
            check(&entries, &bad),
            Err(Tamper {
                seq: 20,
                kind: TamperKind::BadCheckpointSignature
            })
        );
        let other = Checkpoint::sign(&entries[9], &SigningKey::from_bytes(&[8u8; 32]));
        assert_eq!(
            check(&entries, &[other]),
            Err(Tamper {
                seq: 10,
                kind: TamperKind::BadCheckpointSignature
            })
        );
        // A validly signed checkpoint for another chain's entry.
        let mut foreign = entries[9].clone();
        foreign.event.purpose = None;
        foreign.hash = foreign.compute_hash();
        let cp = Checkpoint::sign(&foreign, &key());
        assert_eq!(
            check(&entries, &[cp]),
            Err(Tamper {
                seq: 10,
                kind: TamperKind::CheckpointMismatch
            })
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any edit of any field of any entry is found at exactly that entry.
        #[test]
        fn any_edit_is_found(i in 0usize..25, what in 0u8..6, x in 1u64..1000) {
            let (mut entries, cps) = log();
            let e = &mut entries[i];
            match what {
                0 => e.event.kind = AuditKind::Deletion,
                1 => e.event.actor = Actor::System,
                2 => e.event.subject = None,
                3 => e.event.details = serde_json::json!({"ticket": x + 10_000}),
                4 => e.at += time::Duration::microseconds(x as i64),
                _ => e.prev_hash[(x % 32) as usize] ^= 1,
            }
            proptest::prop_assert_eq!(
                check(&entries, &cps),
                Err(Tamper { seq: i as u64 + 1, kind: TamperKind::Edited })
            );
        }
    }

    #[test]
    fn account_kinds_serialise_as_their_stored_names() {
        for k in [
            AuditKind::SignIn,
            AuditKind::SignOutEverywhere,
            AuditKind::PasswordChanged,
            AuditKind::PhoneChanged,
            AuditKind::AccountRecovered,
            AuditKind::Breach,
        ] {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().to_string())
            );
        }
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = AuditEvent::new(AuditKind::Export, Actor::Staff("ab".into())).purpose("c");
        let b = AuditEvent::new(AuditKind::Export, Actor::Staff("a".into())).purpose("bc");
        let t = datetime!(2026-01-01 0:00 UTC);
        let (mut b1, mut b2) = (Vec::new(), Vec::new());
        assert_ne!(
            entry_hash(&mut b1, 1, t, &a, &GENESIS_PREV_HASH),
            entry_hash(&mut b2, 1, t, &b, &GENESIS_PREV_HASH)
        );
        a.details = serde_json::json!(["a", "b"]);
        let mut c = a.clone();
        c.details = serde_json::json!(["ab"]);
        assert_ne!(
            entry_hash(&mut b1, 1, t, &a, &GENESIS_PREV_HASH),
            entry_hash(&mut b2, 1, t, &c, &GENESIS_PREV_HASH)
        );
    }

    /// Entries 1..=10 at t0 (checkpoint at 10), then at `record_at` the pruning record naming
    /// `through` (checkpointed when `checkpoint_record`), then two more entries.
    fn pruned_log(
        through: u64,
        record_at: time::Duration,
        checkpoint_record: bool,
    ) -> (Vec<AuditEntry>, Vec<Checkpoint>) {
        let cp = Checkpointer::new(key(), 10);
        let mut chain = AuditChain::new();
        let t0 = datetime!(2025-01-01 00:00 UTC);
        let mut entries = Vec::new();
        let mut cps = Vec::new();
        for i in 0..10 {
            let e = chain.append(event(i), t0 + time::Duration::seconds(i as i64));
            cps.extend(cp.after_append(&e));
            entries.push(e);
        }
        let through_at = entries[(through - 1) as usize].at;
        let rec = chain.append(
            AuditEvent::new(AuditKind::AuditPruned, Actor::System)
                .details(pruned_details(through, through_at)),
            t0 + record_at,
        );
        if checkpoint_record {
            cps.push(cp.checkpoint(&rec));
        }
        entries.push(rec);
        for i in 0..2 {
            entries.push(chain.append(event(i), t0 + record_at + time::Duration::seconds(1)));
        }
        // The retention job deletes 1..=through.
        entries.retain(|e| e.seq > through);
        (entries, cps)
    }

    #[test]
    fn a_recorded_pruning_verifies() {
        let (entries, cps) = pruned_log(10, PRUNE_MAX_AGE, true);
        let r = verify(&entries, &cps, &key().verifying_key()).expect("verifies");
        assert_eq!(r.pruned_through, Some(10));
        assert_eq!(r.entries, 3);
        // Six months and a day is the youngest a pruning may reach.
        let (entries, cps) = pruned_log(10, PRUNE_MIN_AGE + time::Duration::seconds(10), true);
        assert!(verify(&entries, &cps, &key().verifying_key()).is_ok());
        // An untouched log reports no pruning.
        let (entries, cps) = log();
        let r = verify(&entries, &cps, &key().verifying_key()).unwrap();
        assert_eq!(r.pruned_through, None);
    }

    #[test]
    fn a_pruning_that_breaks_a_rule_is_a_deletion() {
        let vk = key().verifying_key();
        let deleted = Err(Tamper {
            seq: 1,
            kind: TamperKind::Deleted,
        });
        // Younger than six months.
        let (entries, cps) = pruned_log(10, time::Duration::days(100), true);
        assert_eq!(verify(&entries, &cps, &vk), deleted);
        // The record not covered by a signed checkpoint (anyone can append a hashed entry).
        let (entries, cps) = pruned_log(10, PRUNE_MAX_AGE, false);
        assert_eq!(verify(&entries, &cps, &vk), deleted);
        // No record at all: the prefix simply deleted.
        let (mut entries, cps) = pruned_log(10, PRUNE_MAX_AGE, true);
        entries.retain(|e| e.event.kind != AuditKind::AuditPruned);
        assert!(verify(&entries, &cps, &vk).is_err());
        // Deleted through a seq without a checkpoint (the record names 9: no anchor).
        let (entries, cps) = pruned_log(9, PRUNE_MAX_AGE, true);
        assert_eq!(verify(&entries, &cps, &vk), deleted);
    }
}
