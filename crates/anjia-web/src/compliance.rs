//! The compliance report (issue 5 item 8; PRIVACY.md PRV-01, 09, 13, 21, 22, 26–28, 32, 35):
//! every check of the privacy policy's promises that can run against a live installation, each
//! tied to the policy clauses (`data/privacy/policy/*.toml` clause ids) and the requirement it
//! proves, with the evidence it found. `anjia compliance` prints it (text, or HTML with `--html`)
//! and exits non-zero when any check finds a violation; CI runs it against the database the
//! integration suite leaves behind (`crates/anjia/tests/it/raw_scan.rs`).
//!
//! The checks read; none of them changes the installation (the retention check is a dry run).
//! Evidence names tables, columns, ids, counts and sequence numbers — never a stored value.

use crate::Privacy;
use crate::privacy::{PrivacyError, audit_prune_due, consent_event};
use anjia_domain::china_time::SHANGHAI;
use anjia_domain::id_document::{DocumentType, parse as parse_document};
use anjia_privacy::consent::ConsentState;
use anjia_privacy::inventory::{Database, Encryption, ImpactAssessments, Inventory, Retention};
use askama::Template;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The promise holds on this installation.
    Pass,
    /// The promise is broken; the evidence says where.
    Violation,
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// Stable id, e.g. `audit_chain_verifies`.
    pub id: &'static str,
    /// The requirement it proves (PRIVACY.md), e.g. `PRV-32`.
    pub requirement: &'static str,
    /// The policy clauses it keeps (clause ids of `data/privacy/policy/*.toml`).
    pub clauses: &'static [&'static str],
    /// What is checked, in English.
    pub title: &'static str,
    /// What is checked, in Chinese (the HTML report).
    pub title_zh: &'static str,
    /// Pass or violation.
    pub outcome: Outcome,
    /// What the check looked at and found (counts, tables, ids; never stored values).
    pub evidence: Vec<String>,
}

impl CheckResult {
    fn new(
        id: &'static str,
        requirement: &'static str,
        clauses: &'static [&'static str],
        title: &'static str,
        title_zh: &'static str,
    ) -> CheckResult {
        CheckResult {
            id,
            requirement,
            clauses,
            title,
            title_zh,
            outcome: Outcome::Pass,
            evidence: Vec::new(),
        }
    }

    /// Adds evidence of a violation.
    fn violation(&mut self, evidence: String) {
        self.outcome = Outcome::Violation;
        self.evidence.push(evidence);
    }

    /// Adds evidence that supports a pass.
    fn note(&mut self, evidence: String) {
        self.evidence.push(evidence);
    }

    /// `true` for [`Outcome::Pass`].
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct ComplianceReport {
    /// When it ran (UTC; shown in Asia/Shanghai).
    pub generated_at: OffsetDateTime,
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    /// The checks, in a fixed order.
    pub checks: Vec<CheckResult>,
}

/// How long past its limit a row may still be before the retention check calls it overdue: the
/// job runs every hour in `anjia serve`; a day covers a restart or a maintenance window.
pub const RETENTION_GRACE: Duration = Duration::days(1);

/// The Cybersecurity Law's minimum for network logs: at least six months (网络安全法 第二十一条
/// 第三项), taken as 183 days.
pub const SECURITY_LOG_MIN_DAYS: u32 = 183;

/// The notice a new policy version must give before it takes effect (PRIVACY.md PRV-09).
pub const POLICY_NOTICE: Duration = Duration::days(7);

/// The checks, with their ids, in report order.
pub const CHECK_IDS: [&str; 9] = [
    "inventory_complete",
    "no_plaintext_sensitive_pi",
    "cancelled_accounts_unreadable",
    "retention_on_time",
    "security_logs_kept",
    "audit_chain_verifies",
    "provisions_have_consent",
    "policy_notice_period",
    "no_overdue_privacy_tickets",
];

impl ComplianceReport {
    /// `true` when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(CheckResult::passed)
    }

    /// The checks that found a violation.
    pub fn violations(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed())
    }

    /// The result of check `id`.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Plain text, one block per check: `PASS`/`VIOLATION`, id, requirement, clauses, title,
    /// then the evidence indented; a summary line last.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "anjia compliance report — {} (Asia/Shanghai), {}",
            shanghai(self.generated_at),
            self.backend
        );
        for c in &self.checks {
            let _ = writeln!(
                out,
                "\n[{}] {} — {} — clauses {}\n  {}",
                if c.passed() { "PASS" } else { "VIOLATION" },
                c.id,
                c.requirement,
                c.clauses.join(", "),
                c.title
            );
            for e in &c.evidence {
                let _ = writeln!(out, "    - {e}");
            }
        }
        let failed: Vec<&str> = self.violations().map(|c| c.id).collect();
        let _ = writeln!(
            out,
            "\n{} of {} checks passed{}",
            self.checks.len() - failed.len(),
            self.checks.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!("; violated: {}", failed.join(", "))
            }
        );
        out
    }

    /// A self-contained zh-CN HTML page (askama, escaped).
    ///
    /// # Errors
    /// Template rendering errors (none expected).
    pub fn to_html(&self) -> Result<String, askama::Error> {
        ReportPage {
            generated: shanghai(self.generated_at),
            backend: self.backend,
            passed: self.passed(),
            failed: self.violations().count(),
            checks: &self.checks,
        }
        .render()
    }
}

#[derive(Template)]
#[template(path = "compliance_report.html")]
struct ReportPage<'a> {
    generated: String,
    backend: &'static str,
    passed: bool,
    failed: usize,
    checks: &'a [CheckResult],
}

fn shanghai(t: OffsetDateTime) -> String {
    let t = t.to_offset(SHANGHAI);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Runs every check against the installation behind `privacy` at `privacy.now()`.
///
/// # Errors
/// Storage errors and a missing bundled inventory stop the report (a check that cannot run is not
/// a pass); what a check finds is a [`Outcome::Violation`], not an error.
pub async fn run(privacy: &Privacy) -> Result<ComplianceReport, PrivacyError> {
    let inventory =
        Inventory::bundled().map_err(|e| PrivacyError::Bundled(format!("the inventory: {e}")))?;
    run_with_inventory(privacy, &inventory).await
}

/// As [`run`], against `inventory` instead of the bundled one (tests plant violations in a copy).
///
/// # Errors
/// As [`run`].
pub async fn run_with_inventory(
    privacy: &Privacy,
    inventory: &Inventory,
) -> Result<ComplianceReport, PrivacyError> {
    let now = privacy.now();
    let checks = vec![
        inventory_complete(privacy, inventory).await?,
        no_plaintext_sensitive_pi(privacy, inventory, now).await?,
        cancelled_accounts_unreadable(privacy).await?,
        retention_on_time(privacy, now).await?,
        security_logs_kept(inventory),
        audit_chain_verifies(privacy).await?,
        provisions_have_consent(privacy).await?,
        policy_notice_period(privacy).await?,
        no_overdue_privacy_tickets(privacy, now).await?,
    ];
    debug_assert_eq!(
        checks.iter().map(|c| c.id).collect::<Vec<_>>(),
        CHECK_IDS.to_vec()
    );
    Ok(ComplianceReport {
        generated_at: now,
        backend: match privacy.store().backend() {
            anjia_store::Backend::Sqlite => "SQLite",
            anjia_store::Backend::Postgres => "PostgreSQL",
        },
        checks,
    })
}

async fn inventory_complete(
    privacy: &Privacy,
    inventory: &Inventory,
) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "inventory_complete",
        "PRV-01",
        &["intro.scope", "collect.exceptions"],
        "every column of the main database and the key vault is classified by the PI inventory, which validates",
        "个人信息清单完整：主库与密钥库的每一列都已分类，清单本身校验通过",
    );
    match ImpactAssessments::bundled() {
        Ok(pia) => {
            if let Err(errors) = inventory.validate(&pia) {
                for e in errors {
                    c.violation(format!("inventory: {e}"));
                }
            }
        }
        Err(e) => c.violation(format!("impact assessments: {e}")),
    }
    let main = privacy.store().schema_columns().await?;
    let vault = privacy.vault().schema_columns().await?;
    for (db, cols) in [(Database::Main, &main), (Database::Vault, &vault)] {
        let pairs: Vec<(&str, &str)> = cols
            .iter()
            .map(|s| (s.table.as_str(), s.column.as_str()))
            .collect();
        let issues = inventory.check_schema(db, &pairs);
        for i in &issues {
            c.violation(format!("{db:?} database: {i}"));
        }
        if issues.is_empty() {
            c.note(format!(
                "{db:?} database: {} columns, all classified",
                cols.len()
            ));
        }
    }
    Ok(c)
}

/// What a value in a column of `encryption` must look like.
fn well_formed(encryption: Encryption, v: &[u8]) -> bool {
    match encryption {
        Encryption::FieldAesGcm => anjia_privacy::crypto::sealed_dek_version(v).is_ok(),
        Encryption::KekWrapped => anjia_privacy::crypto::wrapped_kek_version(v).is_ok(),
        Encryption::Hmac => {
            v.len() == 64 && v.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        Encryption::Pseudonym => {
            v.len() == 32 && v.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
        Encryption::None => true,
    }
}

/// Whether `v` holds, as text, a mainland mobile number (11 digits `1[3-9]…`; 中华人民共和国电信网
/// 编号计划) or a valid resident identity number (GB 11643-1999: region, birth date and check
/// character) standing as a token of its own: not inside a longer run of ASCII letters and digits,
/// so hex digests, tokens and ids do not count.
pub fn holds_plaintext_identifier(v: &[u8], today: time::Date) -> bool {
    let n = v.len();
    let mut i = 0;
    while i < n {
        if !v[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && v[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let token = &v[start..i];
        let digits = token.iter().all(u8::is_ascii_digit);
        if digits && token.len() == 11 && token[1] >= b'3' && token[0] == b'1' {
            return true;
        }
        let id_shaped = token.len() == 18
            && token[..17].iter().all(u8::is_ascii_digit)
            && (token[17].is_ascii_digit() || token[17] == b'X' || token[17] == b'x');
        if id_shaped {
            let s = std::str::from_utf8(token).unwrap_or_default();
            if parse_document(DocumentType::ResidentIdentityCard, s, today).is_ok() {
                return true;
            }
        }
    }
    false
}

/// The column whose values an entry's `encryption` describes: its `column`, or for an entry of
/// several columns the one its id names (`audit_log.subject_pseudonym`).
fn protected_column(e: &anjia_privacy::inventory::PiEntry) -> Option<&str> {
    e.column.as_deref().or_else(|| {
        let (_, c) = e.id.split_once('.')?;
        e.columns.iter().any(|x| x == c).then_some(c)
    })
}

async fn no_plaintext_sensitive_pi(
    privacy: &Privacy,
    inventory: &Inventory,
    now: OffsetDateTime,
) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "no_plaintext_sensitive_pi",
        "PRV-13",
        &["security.measures", "retain.principle"],
        "encrypted, hashed and pseudonymous columns hold only ciphertext, keyed hashes or pseudonyms; no personal-data column holds a phone or identity number in plaintext",
        "敏感个人信息不以明文存储：加密、哈希、假名化列只含密文/哈希/假名，个人信息列中无明文手机号或身份证号",
    );
    let today = now.to_offset(SHANGHAI).date();
    let main = privacy.store().schema_columns().await?;
    let vault = privacy.vault().schema_columns().await?;
    let mut scanned = 0u64;
    let mut columns = 0usize;
    for e in &inventory.entries {
        let Some(db) = e.store.database() else {
            continue;
        };
        let Some(table) = e.table.as_deref() else {
            continue;
        };
        for col in e.db_columns() {
            let exists = match db {
                Database::Main => &main,
                Database::Vault => &vault,
            }
            .iter()
            .any(|s| s.table == table && s.column == col);
            if !exists {
                // A stale entry is the inventory check's finding.
                continue;
            }
            let enc = if protected_column(e) == Some(col) {
                e.encryption
            } else {
                Encryption::None
            };
            let visit = |v: &[u8]| {
                !well_formed(enc, v)
                    || (enc == Encryption::None && holds_plaintext_identifier(v, today))
            };
            let scan = match db {
                Database::Main => privacy.store().scan_column(table, col, visit).await?,
                Database::Vault => privacy.vault().scan_column(table, col, visit).await?,
            };
            columns += 1;
            scanned += scan.values;
            if scan.flagged > 0 {
                let what = match enc {
                    Encryption::None => "a phone or identity number in plaintext",
                    _ => "a value that is not of its declared protection",
                };
                c.violation(format!(
                    "{table}.{col} (entry {}, {enc:?}): {} of {} values hold {what}",
                    e.id, scan.flagged, scan.values
                ));
            }
        }
    }
    c.note(format!(
        "{columns} inventory columns scanned, {scanned} values"
    ));
    Ok(c)
}

async fn cancelled_accounts_unreadable(privacy: &Privacy) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "cancelled_accounts_unreadable",
        "PRV-27",
        &["rights.cancel", "rights.delete", "retain.phone"],
        "nothing readable remains of a cancelled account: no row in any per-account table and no data key in the vault",
        "已注销账号不留可读数据：各表无该账号记录，密钥库中无其数据密钥",
    );
    let store = privacy.store();
    for (table, n) in store.cancelled_account_leftovers().await? {
        if n > 0 {
            c.violation(format!("{table}: {n} row(s) of cancelled accounts"));
        }
    }
    let ids = store.cancelled_account_ids().await?;
    let mut keys_left = 0usize;
    for id in &ids {
        if !privacy
            .vault()
            .keys(id, anjia_store::vault::KIND_DATA)
            .await?
            .is_empty()
        {
            keys_left += 1;
        }
    }
    if keys_left > 0 {
        c.violation(format!(
            "key vault: {keys_left} of {} cancelled accounts still have a data key",
            ids.len()
        ));
    }
    c.note(format!(
        "{} cancelled accounts checked in every per-account table and the key vault",
        ids.len()
    ));
    Ok(c)
}

async fn no_overdue_privacy_tickets(
    privacy: &Privacy,
    now: OffsetDateTime,
) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "no_overdue_privacy_tickets",
        "PRV-28",
        &["contact.response", "rights.explain"],
        "every privacy request and complaint is answered by its due date (min(30 days, 15 working days))",
        "个人信息请求与投诉均在期限内答复（30 日与 15 个工作日取其短）",
    );
    let today = now.to_offset(SHANGHAI).date();
    let overdue = privacy.store().overdue_privacy_requests(today).await?;
    for t in &overdue {
        c.violation(format!(
            "ticket #{} ({}) was due on {} and is still open",
            t.id,
            t.kind.as_str(),
            t.due_on
        ));
    }
    if overdue.is_empty() {
        c.note(format!(
            "no open ticket past its due date on {today} (Asia/Shanghai)"
        ));
    }
    Ok(c)
}

async fn retention_on_time(
    privacy: &Privacy,
    now: OffsetDateTime,
) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "retention_on_time",
        "PRV-22",
        &["retain.principle", "retain.search_history", "retain.logs"],
        "no row is kept more than a day past its retention limit (dry run of the retention job one day back)",
        "保存期限到期即删除：没有超过期限一天以上仍未删除的记录",
    );
    let outcomes = privacy
        .store()
        .apply_retention(now - RETENTION_GRACE, true)
        .await?;
    for o in outcomes {
        if o.rows > 0 {
            c.violation(format!(
                "{}: {} row(s) past the limit of {} days ({}) by more than a day",
                o.rule.table, o.rows, o.rule.days, o.rule.description
            ));
        } else {
            c.note(format!(
                "{}: none overdue ({} days)",
                o.rule.table, o.rule.days
            ));
        }
    }
    match audit_prune_due(privacy.store(), now - RETENTION_GRACE).await? {
        Some((through, n)) => c.violation(format!(
            "audit_log: {n} entries through checkpoint seq {} are older than 12 months and not pruned",
            through.seq
        )),
        None => c.note("audit_log: nothing older than 12 months through a checkpoint".into()),
    }
    Ok(c)
}

fn security_logs_kept(inventory: &Inventory) -> CheckResult {
    let mut c = CheckResult::new(
        "security_logs_kept",
        "PRV-21",
        &["retain.logs"],
        "security and audit logs are kept at least six months (Cybersecurity Law Art. 21)",
        "安全与审计日志留存不少于六个月（网络安全法第二十一条）",
    );
    let mut seen = 0;
    for e in inventory
        .entries
        .iter()
        .filter(|e| e.purposes.iter().any(|p| p == "security_audit"))
    {
        seen += 1;
        match e.retention {
            Retention::Days { days } if days < SECURITY_LOG_MIN_DAYS => c.violation(format!(
                "entry {}: kept {days} days, less than {SECURITY_LOG_MIN_DAYS}",
                e.id
            )),
            _ => c.note(format!("entry {}: {}", e.id, e.retention_rule)),
        }
    }
    if seen == 0 {
        c.violation("the inventory declares no security log (purpose security_audit)".into());
    }
    c
}

async fn audit_chain_verifies(privacy: &Privacy) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "audit_chain_verifies",
        "PRV-32",
        &["security.measures", "security.staff"],
        "the audit log's hash chain and signed checkpoints verify (no entry edited, deleted, reordered or inserted)",
        "审计日志哈希链与签名检查点校验通过（无篡改、删除、重排、插入）",
    );
    match privacy.verify_audit().await? {
        Ok(r) => c.note(format!(
            "{} entries, {} checkpoints verified, last seq {}{}",
            r.entries,
            r.checkpoints_checked,
            r.last_seq
                .map_or_else(|| "none".to_string(), |s| s.to_string()),
            r.pruned_through.map_or_else(String::new, |s| format!(
                "; entries through seq {s} pruned by the retention job (recorded and signed)"
            ))
        )),
        Err(t) => c.violation(format!("tampering at seq {}: {:?}", t.seq, t.kind)),
    }
    Ok(c)
}

async fn provisions_have_consent(privacy: &Privacy) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "provisions_have_consent",
        "PRV-35",
        &["share.principle", "share.recipients"],
        "every recorded third-party provision was covered by the subject's separate consent at that moment",
        "每一次向第三方提供个人信息时，都已取得该用户的单独同意",
    );
    let store = privacy.store();
    let mut after = 0;
    let mut checked = 0u64;
    let mut states: HashMap<String, Vec<anjia_privacy::consent::ConsentEvent>> = HashMap::new();
    loop {
        let page = store.provisions_page(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in &page {
            checked += 1;
            if !states.contains_key(&p.subject_pseudonym) {
                let rows = store.consents_by_pseudonym(&p.subject_pseudonym).await?;
                let events = rows
                    .iter()
                    .map(consent_event)
                    .collect::<Result<Vec<_>, _>>()?;
                states.insert(p.subject_pseudonym.clone(), events);
            }
            let events: Vec<_> = states[&p.subject_pseudonym]
                .iter()
                .filter(|e| e.at() <= p.provided_at)
                .cloned()
                .collect();
            let state = ConsentState::fold_with(&events, &privacy.policy());
            let fields: Vec<&str> = p.fields.iter().map(String::as_str).collect();
            if let Err(refused) =
                privacy
                    .registry()
                    .authorize(&p.recipient, &fields, &state, p.provided_at)
            {
                c.violation(format!(
                    "provision #{} to {}: {}",
                    p.id, p.recipient, refused.reason
                ));
            }
        }
    }
    c.note(format!(
        "{checked} provisions checked against the consent records"
    ));
    Ok(c)
}

async fn policy_notice_period(privacy: &Privacy) -> Result<CheckResult, PrivacyError> {
    let mut c = CheckResult::new(
        "policy_notice_period",
        "PRV-09",
        &["changes.notice", "use.new_purpose"],
        "every policy version after the first was published, and every user told, at least 7 days before it took effect",
        "隐私政策的每次更新均在生效前至少 7 日公布并通知每位用户",
    );
    let mut versions = privacy.store().policy_versions().await?;
    versions.sort_by_key(|v| v.effective_at);
    for (i, v) in versions.iter().enumerate() {
        let notice = v.effective_at - v.published_at;
        if i > 0 && notice < POLICY_NOTICE {
            c.violation(format!(
                "version {}: published {} and effective {} (Asia/Shanghai), {} days' notice",
                v.version,
                shanghai(v.published_at),
                shanghai(v.effective_at),
                notice.whole_days()
            ));
        } else {
            c.note(format!(
                "version {}: effective {}{}",
                v.version,
                shanghai(v.effective_at),
                if i == 0 {
                    " (the first version: nobody to notify)".to_string()
                } else {
                    format!(", {} days' notice", notice.whole_days())
                }
            ));
        }
    }
    if versions.is_empty() {
        c.violation("no policy version is stored".into());
    }
    // Every account there was by the deadline (effective − 7 days) told by then.
    let report = privacy.policy_notice_report().await.map_err(|e| match e {
        crate::notices::NoticeError::Privacy(p) => p,
        other => PrivacyError::Bundled(other.to_string()),
    })?;
    for v in report {
        if v.violated {
            c.violation(format!(
                "version {}: {} account(s) there by {} (Asia/Shanghai) were not told by then",
                v.version,
                v.accounts_not_told_in_time,
                shanghai(v.deadline)
            ));
        } else {
            c.note(format!(
                "version {}: {} account(s) told{}",
                v.version,
                v.accounts_notified,
                v.first_notice_at
                    .map_or_else(String::new, |t| format!(" from {}", shanghai(t)))
            ));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::holds_plaintext_identifier;
    use proptest::prelude::*;

    fn today() -> time::Date {
        time::macros::date!(2026 - 11 - 30)
    }

    #[test]
    fn finds_phones_and_identity_numbers_only() {
        assert!(holds_plaintext_identifier(b"call 13812345678 now", today()));
        assert!(holds_plaintext_identifier(
            b"id 11010519491231002X.",
            today()
        ));
        assert!(holds_plaintext_identifier(b"110105198703142179", today()));
        // Masked, too long, wrong prefix, wrong check character, timestamps.
        assert!(!holds_plaintext_identifier(b"138****5678", today()));
        assert!(!holds_plaintext_identifier(b"913812345678", today()));
        assert!(!holds_plaintext_identifier(b"12812345678", today()));
        assert!(!holds_plaintext_identifier(b"110105198703142178", today()));
        assert!(!holds_plaintext_identifier(
            b"2026-11-30T10:00:00.123456Z",
            today()
        ));
        assert!(!holds_plaintext_identifier(b"", today()));
        // Inside hex digests and tokens: not a phone number.
        assert!(!holds_plaintext_identifier(b"ab13812345678cd", today()));
        assert!(!holds_plaintext_identifier(b"x11010519491231002X", today()));
        // Chinese text around it is a boundary.
        assert!(holds_plaintext_identifier(
            "电话13812345678。".as_bytes(),
            today()
        ));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = holds_plaintext_identifier(&bytes, today());
        }

        #[test]
        fn a_phone_is_found_wherever_it_sits(prefix in "([a-z]{0,8} |[一-龥]{0,4}|)", suffix in "( [a-z]{0,8}|[一-龥]{0,4}|)",
                                             second in 3u8..=9, rest in "[0-9]{9}") {
            let text = format!("{prefix}1{second}{rest}{suffix}");
            prop_assert!(holds_plaintext_identifier(text.as_bytes(), today()));
        }
    }
}
