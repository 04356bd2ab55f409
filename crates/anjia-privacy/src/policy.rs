//! The privacy policy as versioned data (PRV-09): `data/privacy/policy/*.toml`, one file per
//! version, each clause with a stable id, each version with a SHA-256 text hash and an effective
//! date announced at least [`MIN_NOTICE_DAYS`] days before (PIPL 2021 Art. 14 ¶2, 17; GB/T
//! 35273-2020 §5.5, §11.1 on notifying changes).
//!
//! # File format (TOML)
//! ```toml
//! version = "2026-12-01"                      # [0-9A-Za-z.-]+, sorts in publication order
//! title = "安家隐私政策"
//! published_at = "2026-11-20T00:00:00+08:00"  # RFC 3339: when it was announced
//! effective_at = "2026-12-01T00:00:00+08:00"  # RFC 3339: ≥ 7 days after published_at
//! purposes = ["core", "camera", "third_party:courier"]   # consent::Purpose ids
//! [[clauses]]
//! id = "collect.phone"                        # [a-z0-9_]+ ('.' [a-z0-9_]+)+, unique
//! heading = "注册与登录"
//! text = """…"""                              # non-empty
//! ```
//!
//! # Canonical rendering (what the hash covers)
//! UTF-8, `\n` line ends, built as
//! ```text
//! anjia-privacy-policy/1
//! version: <version>
//! title: <title>
//! published_at: <RFC 3339, UTC>
//! effective_at: <RFC 3339, UTC>
//! purposes: <id>,<id>,…            (declared order)
//!
//! [<clause id>] <heading>
//! <text>                            (CRLF→LF, trailing spaces of each line and outer blank lines removed)
//!
//! … one block per clause, in file order
//! ```
//! [`PolicyVersion::sha256`] is the lowercase-hex SHA-256 of that string. Reformatting the TOML
//! (quoting style, indentation of keys) does not change it; changing any word does.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::consent::Purpose;

/// Minimum days between announcing a version and it taking effect (PRV-09).
pub const MIN_NOTICE_DAYS: i64 = 7;

/// The bundled version files (name, text), compiled in.
const BUNDLED: &[(&str, &str)] = &[
    (
        "v1.toml",
        include_str!("../../../data/privacy/policy/v1.toml"),
    ),
    (
        "v2.toml",
        include_str!("../../../data/privacy/policy/v2.toml"),
    ),
];

/// Errors loading or validating policy versions. Each names the version (or file) and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Reading a file or directory failed.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The TOML did not parse or had unknown/missing keys.
    #[error("{source_name}: {message}")]
    Toml {
        /// File name.
        source_name: String,
        /// Parser message.
        message: String,
    },
    /// A required text field is empty.
    #[error("policy {version}: `{field}` is empty")]
    EmptyField {
        /// Version id (may be empty if that is the empty field).
        version: String,
        /// Field name.
        field: &'static str,
    },
    /// The version id has characters outside `[0-9A-Za-z.-]`.
    #[error("policy version id `{0}` must match [0-9A-Za-z.-]+")]
    BadVersionId(String),
    /// A date is not RFC 3339.
    #[error("policy {version}: `{field}` is not an RFC 3339 date-time: {message}")]
    BadDate {
        /// Version id.
        version: String,
        /// Field name.
        field: &'static str,
        /// Parser message.
        message: String,
    },
    /// Less than [`MIN_NOTICE_DAYS`] between publication and effect.
    #[error(
        "policy {version}: effective_at must be at least {MIN_NOTICE_DAYS} days after published_at"
    )]
    NoticeTooShort {
        /// Version id.
        version: String,
    },
    /// A clause id appears twice.
    #[error("policy {version}: duplicate clause id `{id}`")]
    DuplicateClause {
        /// Version id.
        version: String,
        /// Clause id.
        id: String,
    },
    /// A clause id is not dotted lowercase (`collect.phone`).
    #[error("policy {version}: clause id `{id}` must look like `section.name` ([a-z0-9_] parts)")]
    BadClauseId {
        /// Version id.
        version: String,
        /// Clause id.
        id: String,
    },
    /// A clause has an empty heading.
    #[error("policy {version}: clause `{id}` has an empty heading")]
    EmptyHeading {
        /// Version id.
        version: String,
        /// Clause id.
        id: String,
    },
    /// A clause has empty text.
    #[error("policy {version}: clause `{id}` has empty text")]
    EmptyText {
        /// Version id.
        version: String,
        /// Clause id.
        id: String,
    },
    /// The version has no clauses.
    #[error("policy {version}: no clauses")]
    NoClauses {
        /// Version id.
        version: String,
    },
    /// A purpose id is not a `consent::Purpose` id.
    #[error("policy {version}: unknown purpose `{id}`")]
    UnknownPurpose {
        /// Version id.
        version: String,
        /// The id.
        id: String,
    },
    /// A purpose is listed twice.
    #[error("policy {version}: purpose `{id}` listed twice")]
    DuplicatePurpose {
        /// Version id.
        version: String,
        /// The id.
        id: String,
    },
    /// `core` is missing from the purposes.
    #[error("policy {version}: purposes must include `core`")]
    MissingCore {
        /// Version id.
        version: String,
    },
    /// Two files declare the same version.
    #[error("policy version {0} appears twice")]
    DuplicateVersion(String),
    /// Effective dates do not increase with the version order.
    #[error("policy {later} takes effect no later than the earlier version {earlier}")]
    EffectiveOrder {
        /// The earlier version id.
        earlier: String,
        /// The later version id.
        later: String,
    },
    /// No version at all.
    #[error("no policy versions found")]
    Empty,
    /// Publishing now would give users less than [`MIN_NOTICE_DAYS`] days' notice: the
    /// effective date must be at least that long after the moment of publication (PRV-09).
    #[error(
        "policy {version}: takes effect at {effective_at}, less than {MIN_NOTICE_DAYS} days after \
         publication at {published}; choose an effective_at on or after {earliest}"
    )]
    PublishedTooLate {
        /// Version id.
        version: String,
        /// The version's effective date (RFC 3339, UTC).
        effective_at: String,
        /// When it is being published (RFC 3339, UTC).
        published: String,
        /// The earliest effective date allowed (RFC 3339, UTC).
        earliest: String,
    },
    /// Publishing a version whose id is already known with another text.
    #[error(
        "policy {0} is already published with another text; give the new text a new version id"
    )]
    VersionTaken(String),
}

/// One clause: stable id, heading, text (zh-CN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// Stable id, e.g. `collect.phone`, `rights.cancel`.
    pub id: String,
    /// Heading shown above the text.
    pub heading: String,
    /// The text.
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    version: String,
    title: String,
    published_at: String,
    effective_at: String,
    purposes: Vec<String>,
    clauses: Vec<Clause>,
}

/// One validated policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    version: String,
    title: String,
    published_at: OffsetDateTime,
    effective_at: OffsetDateTime,
    purposes: Vec<Purpose>,
    clauses: Vec<Clause>,
    sha256: String,
}

fn valid_clause_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

fn normalise_text(t: &str) -> String {
    let lines: Vec<&str> = t.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

fn utc_rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl PolicyVersion {
    /// Parses and validates one version file. `source_name` is used in error messages.
    ///
    /// # Errors
    /// Any [`PolicyError`] about a single version (syntax, empty fields, dates, notice period,
    /// clause ids, purposes).
    pub fn from_toml(source_name: &str, text: &str) -> Result<PolicyVersion, PolicyError> {
        let raw: RawVersion = toml::from_str(text).map_err(|e| PolicyError::Toml {
            source_name: source_name.to_string(),
            message: e.to_string(),
        })?;
        let v = raw.version.trim().to_string();
        if v.is_empty() {
            return Err(PolicyError::EmptyField {
                version: v,
                field: "version",
            });
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(PolicyError::BadVersionId(v));
        }
        if raw.title.trim().is_empty() {
            return Err(PolicyError::EmptyField {
                version: v,
                field: "title",
            });
        }
        let date = |field: &'static str, s: &str| {
            OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| PolicyError::BadDate {
                version: v.clone(),
                field,
                message: e.to_string(),
            })
        };
        let published_at = date("published_at", &raw.published_at)?;
        let effective_at = date("effective_at", &raw.effective_at)?;
        if effective_at - published_at < Duration::days(MIN_NOTICE_DAYS) {
            return Err(PolicyError::NoticeTooShort { version: v });
        }
        let mut purposes = Vec::with_capacity(raw.purposes.len());
        for id in &raw.purposes {
            let p = Purpose::parse(id.trim()).map_err(|_| PolicyError::UnknownPurpose {
                version: v.clone(),
                id: id.clone(),
            })?;
            if purposes.contains(&p) {
                return Err(PolicyError::DuplicatePurpose {
                    version: v,
                    id: id.clone(),
                });
            }
            purposes.push(p);
        }
        if !purposes.contains(&Purpose::Core) {
            return Err(PolicyError::MissingCore { version: v });
        }
        if raw.clauses.is_empty() {
            return Err(PolicyError::NoClauses { version: v });
        }
        let mut seen = BTreeSet::new();
        let mut clauses = Vec::with_capacity(raw.clauses.len());
        for c in raw.clauses {
            let id = c.id.trim().to_string();
            if !valid_clause_id(&id) {
                return Err(PolicyError::BadClauseId { version: v, id });
            }
            if !seen.insert(id.clone()) {
                return Err(PolicyError::DuplicateClause { version: v, id });
            }
            if c.heading.trim().is_empty() {
                return Err(PolicyError::EmptyHeading { version: v, id });
            }
            let text = normalise_text(&c.text);
            if text.trim().is_empty() {
                return Err(PolicyError::EmptyText { version: v, id });
            }
            clauses.push(Clause {
                id,
                heading: c.heading.trim().to_string(),
                text,
            });
        }
        let mut pv = PolicyVersion {
            version: v,
            title: raw.title.trim().to_string(),
            published_at,
            effective_at,
            purposes,
            clauses,
            sha256: String::new(),
        };
        pv.sha256 = hex::encode(Sha256::digest(pv.canonical_text().as_bytes()));
        Ok(pv)
    }

    /// The canonical rendering hashed by [`PolicyVersion::sha256`] (format in the module docs).
    pub fn canonical_text(&self) -> String {
        let mut s = String::new();
        s.push_str("anjia-privacy-policy/1\n");
        s.push_str(&format!("version: {}\n", self.version));
        s.push_str(&format!("title: {}\n", self.title));
        s.push_str(&format!(
            "published_at: {}\n",
            utc_rfc3339(self.published_at)
        ));
        s.push_str(&format!(
            "effective_at: {}\n",
            utc_rfc3339(self.effective_at)
        ));
        let ids: Vec<String> = self.purposes.iter().map(|p| p.id().into_owned()).collect();
        s.push_str(&format!("purposes: {}\n", ids.join(",")));
        for c in &self.clauses {
            s.push_str(&format!("\n[{}] {}\n{}\n", c.id, c.heading, c.text));
        }
        s
    }

    /// The version id, e.g. `"2026-12-01"`.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }
    /// When it was announced.
    pub fn published_at(&self) -> OffsetDateTime {
        self.published_at
    }
    /// When it takes effect.
    pub fn effective_at(&self) -> OffsetDateTime {
        self.effective_at
    }
    /// Declared purposes, in file order.
    pub fn purposes(&self) -> &[Purpose] {
        &self.purposes
    }
    /// Whether `purpose` is declared by this version.
    pub fn declares(&self, purpose: &Purpose) -> bool {
        self.purposes.contains(purpose)
    }
    /// Clauses, in file order.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }
    /// The clause with `id`.
    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.id == id)
    }
    /// SHA-256 of [`PolicyVersion::canonical_text`], 64 lowercase hex characters.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Checks that publishing `v` at `now` still gives every user at least [`MIN_NOTICE_DAYS`] days'
/// notice: `v.effective_at() - max(now, v.published_at()) ≥ MIN_NOTICE_DAYS` days (PRV-09;
/// PIPL Art. 14 ¶2, 17; GB/T 35273-2020 §11.1). The file's own dates were checked when it was
/// parsed; this catches a file published late.
///
/// # Errors
/// [`PolicyError::PublishedTooLate`] naming the earliest effective date allowed.
pub fn check_publication(v: &PolicyVersion, now: OffsetDateTime) -> Result<(), PolicyError> {
    let published = now.max(v.published_at);
    let earliest = published + Duration::days(MIN_NOTICE_DAYS);
    if v.effective_at < earliest {
        return Err(PolicyError::PublishedTooLate {
            version: v.version.clone(),
            effective_at: utc_rfc3339(v.effective_at),
            published: utc_rfc3339(published),
            earliest: utc_rfc3339(earliest),
        });
    }
    Ok(())
}

/// What changed between two versions (ids in the order they appear).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PolicyDiff {
    /// Clause ids only in the new version.
    pub added: Vec<String>,
    /// Clause ids only in the old version.
    pub removed: Vec<String>,
    /// Clause ids in both whose heading or text differs.
    pub changed: Vec<String>,
    /// Purposes declared only by the new version (need fresh consent, PRV-09).
    pub added_purposes: Vec<Purpose>,
    /// Purposes declared only by the old version.
    pub removed_purposes: Vec<Purpose>,
}

impl PolicyDiff {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.added_purposes.is_empty()
            && self.removed_purposes.is_empty()
    }
}

/// Compares two versions clause by clause and purpose by purpose.
pub fn diff(old: &PolicyVersion, new: &PolicyVersion) -> PolicyDiff {
    let mut d = PolicyDiff::default();
    for c in &new.clauses {
        match old.clause(&c.id) {
            None => d.added.push(c.id.clone()),
            Some(o) if o.heading != c.heading || o.text != c.text => d.changed.push(c.id.clone()),
            Some(_) => {}
        }
    }
    d.removed = old
        .clauses
        .iter()
        .filter(|c| new.clause(&c.id).is_none())
        .map(|c| c.id.clone())
        .collect();
    d.added_purposes = new
        .purposes
        .iter()
        .filter(|p| !old.declares(p))
        .cloned()
        .collect();
    d.removed_purposes = old
        .purposes
        .iter()
        .filter(|p| !new.declares(p))
        .cloned()
        .collect();
    d
}

/// Every version of the policy, ordered by version id (= publication order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    versions: Vec<PolicyVersion>,
}

impl PolicyDocument {
    /// Builds a document from versions, checking the history: at least one version, version ids
    /// unique, effective dates strictly increasing in version-id order.
    ///
    /// # Errors
    /// [`PolicyError::Empty`], [`PolicyError::DuplicateVersion`], [`PolicyError::EffectiveOrder`].
    pub fn from_versions(mut versions: Vec<PolicyVersion>) -> Result<PolicyDocument, PolicyError> {
        if versions.is_empty() {
            return Err(PolicyError::Empty);
        }
        versions.sort_by(|a, b| a.version.cmp(&b.version));
        for w in versions.windows(2) {
            if w[0].version == w[1].version {
                return Err(PolicyError::DuplicateVersion(w[0].version.clone()));
            }
            if w[1].effective_at <= w[0].effective_at {
                return Err(PolicyError::EffectiveOrder {
                    earlier: w[0].version.clone(),
                    later: w[1].version.clone(),
                });
            }
        }
        Ok(PolicyDocument { versions })
    }

    /// Loads every `*.toml` in `dir` (not recursive).
    ///
    /// # Errors
    /// [`PolicyError::Io`] for unreadable paths, then any validation error.
    pub fn load_dir(dir: &Path) -> Result<PolicyDocument, PolicyError> {
        let io = |p: &Path, e: std::io::Error| PolicyError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        let mut versions = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            versions.push(PolicyVersion::from_toml(&p.display().to_string(), &text)?);
        }
        PolicyDocument::from_versions(versions)
    }

    /// The versions compiled into the binary from `data/privacy/policy/`.
    ///
    /// # Errors
    /// Only if the bundled files are invalid (a unit test checks they are not).
    pub fn bundled() -> Result<PolicyDocument, PolicyError> {
        let versions = BUNDLED
            .iter()
            .map(|(name, text)| PolicyVersion::from_toml(name, text))
            .collect::<Result<Vec<_>, _>>()?;
        PolicyDocument::from_versions(versions)
    }

    /// The version in effect at `at`: the latest with `effective_at ≤ at`.
    pub fn current(&self, at: OffsetDateTime) -> Option<&PolicyVersion> {
        self.versions.iter().rev().find(|v| v.effective_at <= at)
    }

    /// Versions announced but not yet in effect at `at` (for the ≥ 7-day notice banner).
    pub fn upcoming(&self, at: OffsetDateTime) -> Vec<&PolicyVersion> {
        self.versions
            .iter()
            .filter(|v| v.published_at <= at && at < v.effective_at)
            .collect()
    }

    /// The newest version regardless of dates.
    pub fn latest(&self) -> &PolicyVersion {
        // from_versions guarantees at least one version; fall back to the first to avoid a panic.
        let last = self.versions.len().saturating_sub(1);
        &self.versions[last]
    }

    /// This document with `v` added (the history rules of [`PolicyDocument::from_versions`]
    /// apply: a version id must be new and effective dates must increase in version-id order).
    ///
    /// # Errors
    /// [`PolicyError::DuplicateVersion`], [`PolicyError::EffectiveOrder`].
    pub fn with_version(&self, v: PolicyVersion) -> Result<PolicyDocument, PolicyError> {
        let mut versions = self.versions.clone();
        versions.push(v);
        PolicyDocument::from_versions(versions)
    }

    /// The version to compare with `v` when showing what changed: the one just before it in
    /// version order (`None` for the first version).
    pub fn previous(&self, v: &PolicyVersion) -> Option<&PolicyVersion> {
        let i = self.versions.iter().position(|x| x.version == v.version)?;
        i.checked_sub(1).map(|j| &self.versions[j])
    }

    /// The version with id `version`.
    pub fn version(&self, version: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// Every version, oldest first.
    pub fn history(&self) -> &[PolicyVersion] {
        &self.versions
    }

    /// See [`diff`].
    pub fn diff(old: &PolicyVersion, new: &PolicyVersion) -> PolicyDiff {
        diff(old, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const MINI: &str = r#"
version = "2027-06-01"
title = "测试政策"
published_at = "2027-05-20T00:00:00+08:00"
effective_at = "2027-06-01T00:00:00+08:00"
purposes = ["core", "camera"]
[[clauses]]
id = "collect.phone"
heading = "手机号"
text = "仅用于登录。"
[[clauses]]
id = "rights.cancel"
heading = "注销"
text = "可随时注销。"
"#;

    fn with(find: &str, replace: &str) -> Result<PolicyVersion, PolicyError> {
        PolicyVersion::from_toml("t.toml", &MINI.replace(find, replace))
    }

    #[test]
    fn bundled_is_valid_and_covers_the_promises() {
        let d = PolicyDocument::bundled().unwrap();
        assert_eq!(d.latest().version(), "2026-12-15");
        let v = d.version("2026-12-01").unwrap();
        assert_eq!(v.sha256().len(), 64);
        for id in [
            "collect.phone",
            "collect.oauth",
            "collect.password_recovery",
            "collect.real_name",
            "collect.messages",
            "collect.search",
            "collect.location",
            "collect.orders",
            "collect.customer_service",
            "collect.uploads",
            "collect.device_logs",
            "collect.feedback",
            "collect.embedded_services",
            "collect.permissions",
            "collect.exceptions",
            "use.recommendations",
            "use.analytics",
            "use.new_purpose",
            "store.mainland",
            "retain.phone",
            "retain.avatar",
            "retain.listings",
            "retain.orders",
            "retain.logs",
            "retain.search_history",
            "retain.consent",
            "security.measures",
            "security.staff",
            "security.incident",
            "share.principle",
            "share.recipients",
            "share.disclosure",
            "share.exceptions",
            "rights.access",
            "rights.correct",
            "rights.delete",
            "rights.withdraw",
            "rights.cancel",
            "minors.guardian",
            "changes.notice",
            "contact.response",
        ] {
            assert!(v.clause(id).is_some(), "missing clause {id}");
        }
        assert!(d.current(datetime!(2026-11-30 15:59 UTC)).is_none());
        assert_eq!(
            d.current(datetime!(2026-11-30 16:00 UTC))
                .unwrap()
                .version(),
            "2026-12-01"
        );
        assert_eq!(d.upcoming(datetime!(2026-11-25 0:00 UTC)).len(), 1);
        assert!(v.declares(&Purpose::RealNameVerification));
        assert!(!v.declares(&Purpose::PublicDisclosure));
        // The second version: announced 2026-12-05, in effect 2026-12-15 (Asia/Shanghai); every
        // clause of the first is still there; e-mail is declared.
        let v2 = d.latest();
        assert!(d.upcoming(datetime!(2026-12-01 0:00 UTC)).is_empty());
        assert_eq!(
            d.upcoming(datetime!(2026-12-05 0:00 UTC))[0].version(),
            "2026-12-15"
        );
        assert_eq!(
            d.current(datetime!(2026-12-14 15:59 UTC))
                .unwrap()
                .version(),
            "2026-12-01"
        );
        assert_eq!(
            d.current(datetime!(2026-12-14 16:00 UTC))
                .unwrap()
                .version(),
            "2026-12-15"
        );
        assert!(v2.effective_at() - v2.published_at() >= Duration::days(MIN_NOTICE_DAYS));
        let df = diff(v, v2);
        assert_eq!(df.added, vec!["collect.email".to_string()]);
        assert!(df.removed.is_empty());
        for id in [
            "collect.messages",
            "share.recipients",
            "changes.notice",
            "security.incident",
        ] {
            assert!(df.changed.contains(&id.to_string()), "{id} changed");
        }
        assert!(
            v2.clause("share.recipients")
                .unwrap()
                .text
                .contains("邮件服务商")
        );
        assert_eq!(d.previous(v2).unwrap().version(), "2026-12-01");
        assert!(d.previous(v).is_none());
    }

    #[test]
    fn publication_needs_seven_days_from_now() {
        let v = PolicyVersion::from_toml("a", MINI).unwrap();
        // Published on its own date: 12 days' notice.
        assert_eq!(
            check_publication(&v, datetime!(2027-05-19 0:00 UTC)),
            Ok(())
        );
        // Exactly 7 days before effect is enough; a second later is not.
        assert_eq!(
            check_publication(&v, datetime!(2027-05-24 16:00 UTC)),
            Ok(())
        );
        let e = check_publication(&v, datetime!(2027-05-24 16:00:01 UTC)).unwrap_err();
        assert!(matches!(e, PolicyError::PublishedTooLate { .. }));
        let msg = e.to_string();
        assert!(msg.contains("2027-05-31T16:00:01Z"), "{msg}");
        assert!(msg.contains("less than 7 days"), "{msg}");
    }

    #[test]
    fn hash_is_over_canonical_text() {
        let a = PolicyVersion::from_toml("a", MINI).unwrap();
        // Re-formatting the TOML (CRLF, trailing blanks) keeps the hash.
        let b = PolicyVersion::from_toml(
            "b",
            &MINI
                .replace('\n', "\r\n")
                .replace("仅用于登录。\"", "仅用于登录。  \""),
        )
        .unwrap();
        assert_eq!(a.sha256(), b.sha256());
        let c = with("仅用于登录。", "仅用于登录和找回密码。").unwrap();
        assert_ne!(a.sha256(), c.sha256());
        assert!(
            a.canonical_text()
                .starts_with("anjia-privacy-policy/1\nversion: 2027-06-01\n")
        );
        assert!(
            a.canonical_text()
                .contains("effective_at: 2027-05-31T16:00:00Z\n")
        );
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(
            with("id = \"rights.cancel\"", "id = \"collect.phone\""),
            Err(PolicyError::DuplicateClause {
                version: "2027-06-01".into(),
                id: "collect.phone".into()
            })
        );
        assert_eq!(
            with("可随时注销。", "  "),
            Err(PolicyError::EmptyText {
                version: "2027-06-01".into(),
                id: "rights.cancel".into()
            })
        );
        assert_eq!(
            with("2027-05-20T", "2027-05-28T"),
            Err(PolicyError::NoticeTooShort {
                version: "2027-06-01".into()
            })
        );
        assert!(matches!(
            with("\"camera\"", "\"camera\", \"teleport\""),
            Err(PolicyError::UnknownPurpose { .. })
        ));
        assert!(matches!(
            with("\"core\", ", ""),
            Err(PolicyError::MissingCore { .. })
        ));
        assert!(matches!(
            with("id = \"rights.cancel\"", "id = \"Cancel\""),
            Err(PolicyError::BadClauseId { .. })
        ));
        assert!(matches!(
            with("title = \"测试政策\"", "title = \"\""),
            Err(PolicyError::EmptyField { field: "title", .. })
        ));
        assert!(matches!(
            with("2027-05-20T00", "2027-05-20 T00"),
            Err(PolicyError::BadDate { .. })
        ));
        assert!(matches!(
            with("title", "titel"),
            Err(PolicyError::Toml { .. })
        ));
        let msg = with("id = \"rights.cancel\"", "id = \"collect.phone\"")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("duplicate clause id `collect.phone`"), "{msg}");
    }

    #[test]
    fn history_order_current_and_diff() {
        let old = PolicyVersion::from_toml("a", MINI).unwrap();
        let newer = MINI
            .replace("2027-06-01\"", "2027-09-01\"")
            .replace("2027-05-20T", "2027-08-20T")
            .replace("effective_at = \"2027-06-01", "effective_at = \"2027-09-01")
            .replace(
                "[\"core\", \"camera\"]",
                "[\"core\", \"camera\", \"usage_analytics\"]",
            )
            .replace("可随时注销。", "可随时自助注销。")
            .replace(
                "id = \"collect.phone\"\nheading = \"手机号\"\ntext = \"仅用于登录。\"\n",
                "id = \"collect.search\"\nheading = \"搜索\"\ntext = \"关键词。\"\n",
            );
        let new = PolicyVersion::from_toml("b", &newer).unwrap();
        let d = PolicyDocument::from_versions(vec![new.clone(), old.clone()]).unwrap();
        assert_eq!(d.history()[0].version(), "2027-06-01");
        assert_eq!(
            d.current(datetime!(2027-07-01 0:00 UTC)).unwrap().version(),
            "2027-06-01"
        );
        assert_eq!(
            d.current(datetime!(2027-09-01 0:00 UTC)).unwrap().version(),
            "2027-09-01"
        );
        let df = diff(&old, &new);
        assert_eq!(df.added, vec!["collect.search".to_string()]);
        assert_eq!(df.removed, vec!["collect.phone".to_string()]);
        assert_eq!(df.changed, vec!["rights.cancel".to_string()]);
        assert_eq!(df.added_purposes, vec![Purpose::UsageAnalytics]);
        assert!(diff(&old, &old).is_empty());
        // Effective dates must increase with the version order.
        let bad = newer
            .replace("effective_at = \"2027-09-01", "effective_at = \"2027-05-30")
            .replace("2027-08-20T", "2027-05-01T");
        let bad = PolicyVersion::from_toml("c", &bad).unwrap();
        assert!(matches!(
            PolicyDocument::from_versions(vec![old.clone(), bad]),
            Err(PolicyError::EffectiveOrder { .. })
        ));
        assert_eq!(
            PolicyDocument::from_versions(vec![old.clone(), old]),
            Err(PolicyError::DuplicateVersion("2027-06-01".into()))
        );
        assert_eq!(
            PolicyDocument::from_versions(vec![]),
            Err(PolicyError::Empty)
        );
    }

    #[test]
    fn load_dir_reads_toml_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("v1.toml"), MINI).unwrap();
        std::fs::write(dir.path().join("README.md"), "not a version").unwrap();
        let d = PolicyDocument::load_dir(dir.path()).unwrap();
        assert_eq!(d.history().len(), 1);
        assert!(matches!(
            PolicyDocument::load_dir(&dir.path().join("nope")),
            Err(PolicyError::Io { .. })
        ));
        let bundled_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/privacy/policy");
        assert_eq!(
            PolicyDocument::load_dir(&bundled_dir).unwrap(),
            PolicyDocument::bundled().unwrap()
        );
    }
}
