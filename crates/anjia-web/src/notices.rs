//! Notices to users: policy changes (PRV-09) and personal-information breaches (PRV-38).
//!
//! # Policy changes
//! * [`Privacy::publish_policy_version`] publishes a version file at run time (`anjia policy
//!   publish --file v.toml`): it must parse and validate, take effect at least
//!   [`MIN_NOTICE_DAYS`] days after the moment of publication ([`check_publication`]) and keep
//!   the history ordered; it is stored (`policy_sources`, so every process loads it), audited
//!   (`policy_published`), and every user is told at once ([`Privacy::notify_policy_changes`]).
//!   Publishing the same text again changes nothing and tells nobody twice.
//! * [`Privacy::notify_policy_changes`] tells every active account of every announced version
//!   not yet in effect (`published_at ≤ now < effective_at`) that has no notice of it yet: a
//!   message in its message centre (category `policy`, with the clause-by-clause summary and
//!   the effective date in Asia/Shanghai), plus SMS and e-mail deliveries only when the account
//!   has granted `notifications` (and, for e-mail, has an address). The alert engine sends those
//!   and checks the consent again at delivery. `anjia serve` runs it every minute, so an account
//!   created during the notice period is told too. One notice per (version, account), stored
//!   with the time: the proof of the notice period.
//! * [`Privacy::policy_notice_report`] is the compliance check: for every version after the
//!   first whose notice deadline (`effective_at − 7 days`) has passed, the active accounts
//!   created by the deadline that were not told by it. A version with any is a violation of
//!   `changes.notice`.
//! * A purpose the new version adds stays off for each user until that user grants it after the
//!   version takes effect (`ConsentState::needs_consent`, `reconcile`): nothing here grants it.
//!
//! # Breach response (个人信息保护法 第五十七条)
//! * [`Privacy::record_incident`] (an `admin` staff member): what happened, the window, the
//!   inventory categories concerned, cause, possible harm, remedies taken, what users can do, the
//!   contact, and whether a public notice is published. Audited (`breach`).
//! * [`Privacy::affected_accounts`] — **the rule**: an active account created at or before the
//!   end of the window is affected when (a) it holds a row in a table that the inventory lists
//!   for one of the incident's categories (tables of account rows only: `ACCOUNT_TABLES`), or
//!   (b) the audit log has an entry about its pseudonym inside the window. Audit entries inside
//!   the window about pseudonyms of no account are visitors: they cannot be told one by one.
//! * [`Privacy::notify_breach`] writes the notice (all the required parts) to each affected
//!   account's message centre, SMS/e-mail where `notifications` is granted, once per account;
//!   when visitors are affected the incident gets a public notice (`/notices/{id}`). Audited.

use crate::privacy::{Privacy, PrivacyError, SubjectId};
use crate::{AppState, error::AppError, error::PageError};
use anjia_domain::china_time::{format_shanghai, format_shanghai_date};
use anjia_privacy::audit::{Actor, AuditEvent, AuditKind};
use anjia_privacy::consent::Purpose;
use anjia_privacy::inventory::Inventory;
use anjia_privacy::policy::{
    MIN_NOTICE_DAYS, PolicyDocument, PolicyError, PolicyVersion, check_publication, diff,
};
use anjia_privacy::roles::StaffRole;
use anjia_store::StoreError;
use anjia_store::alerts::{Channel, NewDelivery, NewMessage};
use anjia_store::policy_breach::{
    ACCOUNT_TABLES, IncidentRow, NewIncident, NoticeOf, PolicySourceRow,
};
use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Duration, OffsetDateTime};

/// Accounts handled per store round trip by the notice passes.
const BATCH: i64 = 500;
/// Where users read what changed.
pub const CHANGES_PATH: &str = "/privacy/policy/changes";

/// Errors of publishing, notifying and recording incidents. Messages name the problem, never PI.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// The version file is invalid, published too late, or breaks the history.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// Storage, keys or audit failed.
    #[error("{0}")]
    Privacy(#[from] PrivacyError),
    /// The incident is not acceptable (the message names the field and the rule).
    #[error("incident: {0}")]
    BadIncident(String),
    /// Only an `admin` may record incidents and publish policy versions.
    #[error("staff member {0:?} is not an admin")]
    NotAllowed(String),
    /// No such incident.
    #[error("no breach incident {0}")]
    UnknownIncident(i64),
}

impl From<StoreError> for NoticeError {
    fn from(e: StoreError) -> Self {
        NoticeError::Privacy(PrivacyError::Store(e))
    }
}

/// What [`Privacy::publish_policy_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The version id.
    pub version: String,
    /// Its SHA-256.
    pub sha256: String,
    /// False when the same text was published before (nothing stored, nobody told again).
    pub newly_published: bool,
    /// When it takes effect.
    pub effective_at: OffsetDateTime,
    /// Accounts told by this call.
    pub notified: u64,
}

/// The notice status of one policy version (the compliance check's evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyNoticeStatus {
    /// Version id.
    pub version: String,
    /// Announced (UTC).
    pub published_at: OffsetDateTime,
    /// In effect from (UTC).
    pub effective_at: OffsetDateTime,
    /// Notices must be written by then: `effective_at − 7 days`.
    pub deadline: OffsetDateTime,
    /// Accounts told so far.
    pub accounts_notified: i64,
    /// The first and the last notice (UTC).
    pub first_notice_at: Option<OffsetDateTime>,
    /// The last notice (UTC).
    pub last_notice_at: Option<OffsetDateTime>,
    /// Active accounts created by the deadline that were not told by it (0 before the deadline).
    pub accounts_not_told_in_time: i64,
    /// Whether the notice period was not respected (`changes.notice`, PRV-09).
    pub violated: bool,
}

/// An incident as staff enter it (texts zh-CN; times UTC).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    /// Short title.
    pub title: String,
    /// What happened.
    pub what_happened: String,
    /// Start of the window.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// End of the window.
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    /// Inventory categories concerned (`phone_number`, `browsing_record`, …).
    pub categories: Vec<String>,
    /// Cause.
    pub cause: String,
    /// Possible harm.
    pub possible_harm: String,
    /// Remedies taken.
    pub remedies: String,
    /// What users can do.
    pub user_actions: String,
    /// Contact.
    pub contact: String,
    /// Publish a public notice (individual notice impossible or not enough).
    #[serde(default)]
    pub public_notice: bool,
}

/// Who an incident affects (see the module docs for the rule).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Affected {
    /// Account ids, sorted.
    pub accounts: Vec<String>,
    /// Pseudonyms in the window's audit entries that belong to no account (visitors).
    pub visitors: usize,
}

/// What [`Privacy::notify_breach`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BreachNotified {
    /// Accounts told by this call.
    pub notified: u64,
    /// Accounts affected in all.
    pub affected: u64,
    /// Visitors affected (cannot be told one by one).
    pub visitors: u64,
    /// Whether the incident has a public notice.
    pub public_notice: bool,
}

/// zh-CN name of an inventory category (the id itself for one without a name here).
pub fn category_label(id: &str) -> String {
    match id {
        "phone_number" => "手机号码",
        "email_address" => "电子邮箱地址",
        "real_name" => "姓名",
        "identity_document_number" => "证件号码",
        "identity_verification_result" => "实名认证结果",
        "birth_date" => "出生日期",
        "postal_address" => "地址",
        "profile" => "昵称等账号资料",
        "profile_photo" => "头像",
        "authentication_credential" => "登录凭据（密码摘要、会话）",
        "account_security" => "账号安全信息",
        "account_settings" => "账号设置",
        "login_record" => "登录记录",
        "browsing_record" => "浏览与搜索记录",
        "communication_content" => "站内消息与通知内容",
        "coarse_location" => "粗略位置",
        "consent_record" => "同意记录",
        "operation_log" => "操作日志",
        "online_identifier" => "账号标识",
        "device_information" => "设备信息",
        "ip_address" => "IP 地址",
        "transaction_record" => "交易记录",
        "guardian_consent" => "监护人同意记录",
        "provision_record" => "向第三方提供的记录",
        other => other,
    }
    .to_string()
}

fn has_long_digit_run(s: &str) -> bool {
    // Separators people put inside numbers (138 0013 8000, 138-0013-8000) do not end a run
    // (newcomer finding).
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            run += 1;
            if run >= 11 {
                return true;
            }
        } else if matches!(c, ' ' | '\u{3000}' | '-' | '－' | '.' | '\t') && run > 0 {
            continue;
        } else {
            run = 0;
        }
    }
    false
}

/// Checks an incident: every text present and within bounds, no run of 11 or more digits (a
/// phone or ID number has no place in it), a window that ends after it starts and not after
/// `now`, at least one category, every category one of the inventory's.
///
/// # Errors
/// [`NoticeError::BadIncident`] naming the field and the rule.
pub fn validate_incident(i: &IncidentInput, now: OffsetDateTime) -> Result<(), NoticeError> {
    let bad = |m: String| Err(NoticeError::BadIncident(m));
    for (field, text, max) in [
        ("title", &i.title, 100),
        ("what_happened", &i.what_happened, 4000),
        ("cause", &i.cause, 4000),
        ("possible_harm", &i.possible_harm, 4000),
        ("remedies", &i.remedies, 4000),
        ("user_actions", &i.user_actions, 4000),
        ("contact", &i.contact, 500),
    ] {
        let n = text.trim().chars().count();
        if n == 0 {
            return bad(format!("`{field}` is empty (PIPL Art. 57 asks for it)"));
        }
        if n > max {
            return bad(format!("`{field}` is longer than {max} characters"));
        }
        if has_long_digit_run(text) {
            return bad(format!(
                "`{field}` holds a run of 11 or more digits; a notice must not carry a phone or ID number"
            ));
        }
    }
    if i.ended_at < i.started_at {
        return bad("`ended_at` is before `started_at`".into());
    }
    if i.started_at > now {
        return bad("`started_at` is in the future".into());
    }
    if i.categories.is_empty() {
        return bad("`categories` is empty: name the inventory categories concerned".into());
    }
    let inventory =
        Inventory::bundled().map_err(|e| NoticeError::BadIncident(format!("inventory: {e}")))?;
    let known: BTreeSet<&str> = inventory
        .entries
        .iter()
        .map(|e| e.category.as_str())
        .collect();
    for c in &i.categories {
        if !known.contains(c.as_str()) {
            let safe = c.len() <= 40 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            return bad(if safe {
                format!("category `{c}` is not an inventory category")
            } else {
                "a category is not an inventory category".into()
            });
        }
    }
    Ok(())
}

/// The message-centre text of a breach notice: every part PIPL Art. 57 names, times in
/// Asia/Shanghai. (title, body)
pub fn breach_text(i: &NewIncident) -> (String, String) {
    let cats: Vec<String> = i.categories.iter().map(|c| category_label(c)).collect();
    let title = format!("个人信息安全事件告知：{}", i.title.trim());
    let body = format!(
        "【事件情况】{}\n【发生时间】{} 至 {}（北京时间）\n【涉及的个人信息种类】{}\n【发生原因】{}\n\
         【可能造成的危害】{}\n【我们已采取的补救措施】{}\n【您可以采取的措施】{}\n【联系方式】{}",
        i.what_happened.trim(),
        format_shanghai(i.started_at),
        format_shanghai(i.ended_at),
        cats.join("、"),
        i.cause.trim(),
        i.possible_harm.trim(),
        i.remedies.trim(),
        i.user_actions.trim(),
        i.contact.trim(),
    );
    (title, body)
}

/// The message-centre text of a policy-change notice. (title, body)
pub fn policy_notice_text(old: &PolicyVersion, new: &PolicyVersion) -> (String, String) {
    let d = diff(old, new);
    let title = format!(
        "隐私政策将于 {} 更新（版本 {}）",
        format_shanghai_date(new.effective_at()),
        new.version()
    );
    let heading = |v: &PolicyVersion, id: &str| {
        v.clause(id)
            .map_or_else(|| id.to_string(), |c| format!("{}（{id}）", c.heading))
    };
    let mut body = format!(
        "我们公布了新版《{}》（版本 {}），将于 {}（北京时间）生效，取代现行版本 {}。\n",
        new.title(),
        new.version(),
        format_shanghai(new.effective_at()),
        old.version()
    );
    let list = |ids: &[String], v: &PolicyVersion| {
        ids.iter()
            .map(|id| heading(v, id))
            .collect::<Vec<_>>()
            .join("；")
    };
    if !d.added.is_empty() {
        body.push_str(&format!("新增条款：{}\n", list(&d.added, new)));
    }
    if !d.changed.is_empty() {
        body.push_str(&format!("修改条款：{}\n", list(&d.changed, new)));
    }
    if !d.removed.is_empty() {
        body.push_str(&format!("删除条款：{}\n", list(&d.removed, old)));
    }
    if !d.added_purposes.is_empty() {
        let labels: Vec<String> = d
            .added_purposes
            .iter()
            .map(|p| p.label_zh().into_owned())
            .collect();
        body.push_str(&format!(
            "新增的处理目的：{}。在您同意之前，我们不会为这些目的处理您的个人信息；新版本生效后您可以在隐私设置中选择是否同意。\n",
            labels.join("；")
        ));
    }
    body.push_str(&format!(
        "逐条对比：{CHANGES_PATH}?version={}",
        new.version()
    ));
    (title, body)
}

impl Privacy {
    fn actor_of(staff: Option<&(anjia_store::StaffRow, StaffRole)>) -> Actor {
        match staff {
            Some((row, _)) => Actor::Staff(row.id.clone()),
            None => Actor::System,
        }
    }

    async fn admin(
        &self,
        username: &str,
    ) -> Result<(anjia_store::StaffRow, StaffRole), NoticeError> {
        let (row, role) = self.staff(username).await?;
        if role != StaffRole::Admin {
            return Err(NoticeError::NotAllowed(username.to_string()));
        }
        Ok((row, role))
    }

    /// Publishes a policy version file now (see the module docs). `staff` is the publishing
    /// admin's username (`None`: the system, e.g. tests and migrations).
    ///
    /// # Errors
    /// [`NoticeError::Policy`]: an invalid file, [`PolicyError::PublishedTooLate`] (less than
    /// seven days' notice from now), [`PolicyError::VersionTaken`] (the id is known with another
    /// text), [`PolicyError::EffectiveOrder`]; [`NoticeError::NotAllowed`] for a staff member who
    /// is not an admin; storage errors.
    pub async fn publish_policy_version(
        &self,
        toml: &str,
        staff: Option<&str>,
    ) -> Result<PublishOutcome, NoticeError> {
        let who = match staff {
            Some(u) => Some(self.admin(u).await?),
            None => None,
        };
        self.reload_policy().await?;
        let v = PolicyVersion::from_toml("the published file", toml)?;
        let doc = self.policy();
        if let Some(known) = doc.version(v.version()) {
            if known.sha256() != v.sha256() {
                return Err(PolicyError::VersionTaken(v.version().to_string()).into());
            }
            let notified = self.notify_policy_changes().await?;
            return Ok(PublishOutcome {
                version: v.version().to_string(),
                sha256: v.sha256().to_string(),
                newly_published: false,
                effective_at: v.effective_at(),
                notified,
            });
        }
        let now = self.now();
        check_publication(&v, now)?;
        let new_doc = doc.with_version(v.clone())?;
        let actor = Self::actor_of(who.as_ref());
        let stored = self
            .store()
            .insert_policy_source(
                &PolicySourceRow {
                    version: v.version().to_string(),
                    source_toml: toml.to_string(),
                    published_by: crate::privacy::actor_to_str(&actor),
                    stored_at: now,
                },
                v.sha256(),
                v.published_at(),
                v.effective_at(),
            )
            .await
            .map_err(|e| match e {
                StoreError::InvalidArgument { .. } => {
                    NoticeError::Policy(PolicyError::VersionTaken(v.version().to_string()))
                }
                e => e.into(),
            })?;
        self.set_policy(new_doc);
        if stored {
            self.audit(AuditEvent::new(AuditKind::PolicyPublished, actor).details(
                serde_json::json!({
                    "version": v.version(),
                    "sha256": v.sha256(),
                    "effective_at": v.effective_at().unix_timestamp(),
                    "source": "published",
                }),
            ))
            .await?;
        }
        let notified = self.notify_policy_changes().await?;
        Ok(PublishOutcome {
            version: v.version().to_string(),
            sha256: v.sha256().to_string(),
            newly_published: stored,
            effective_at: v.effective_at(),
            notified,
        })
    }

    /// SMS/e-mail deliveries for a notice to `account`: only with `notifications` granted now;
    /// e-mail only with an address on file.
    async fn notice_deliveries(
        &self,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<NewDelivery>, NoticeError> {
        let Some(subject) = SubjectId::parse(account) else {
            return Ok(vec![]);
        };
        let state = self.consent_state(Some(&subject)).await?;
        if !state.is_granted(&Purpose::Notifications) {
            return Ok(vec![]);
        }
        let mut out = vec![NewDelivery {
            channel: Channel::Sms,
            digest: false,
            next_attempt_at: now,
        }];
        if self
            .store()
            .notification_settings(account)
            .await?
            .email_ciphertext
            .is_some()
        {
            out.push(NewDelivery {
                channel: Channel::Email,
                digest: false,
                next_attempt_at: now,
            });
        }
        Ok(out)
    }

    /// Tells every active account of every announced version not yet in effect that it was not
    /// told of yet (see the module docs). Returns the accounts told. Audited per version
    /// (`policy_published`, details `notified`) when anyone was told.
    ///
    /// # Errors
    /// Storage and key errors (what was written stays written; the next pass goes on).
    pub async fn notify_policy_changes(&self) -> Result<u64, NoticeError> {
        self.reload_policy().await?;
        let doc = self.policy();
        let now = self.now();
        let mut total = 0;
        for new in doc.upcoming(now) {
            let Some(old) = doc.previous(new) else {
                continue; // the first version replaces nothing
            };
            let (title, body) = policy_notice_text(old, new);
            let link = format!("{CHANGES_PATH}?version={}", new.version());
            let mut told = 0u64;
            loop {
                let batch = self
                    .store()
                    .accounts_without_notice(NoticeOf::Policy(new.version()), now, BATCH)
                    .await?;
                if batch.is_empty() {
                    break;
                }
                for account in &batch {
                    let deliveries = self.notice_deliveries(account, now).await?;
                    let written = self
                        .store()
                        .record_notice(
                            NoticeOf::Policy(new.version()),
                            account,
                            &NewMessage {
                                title: &title,
                                body: &body,
                                link: Some(&link),
                            },
                            &deliveries,
                            now,
                        )
                        .await?;
                    if written.is_some() {
                        told += 1;
                    }
                }
            }
            if told > 0 {
                self.audit(
                    AuditEvent::new(AuditKind::PolicyPublished, Actor::System)
                        .details(serde_json::json!({"version": new.version(), "notified": told})),
                )
                .await?;
                tracing::info!(
                    version = new.version(),
                    accounts = told,
                    "policy change notified"
                );
            }
            total += told;
        }
        Ok(total)
    }

    /// The notice status of every version after the first (the compliance check of
    /// `changes.notice`; see the module docs).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn policy_notice_report(&self) -> Result<Vec<PolicyNoticeStatus>, NoticeError> {
        self.reload_policy().await?;
        let doc = self.policy();
        let now = self.now();
        let mut out = Vec::new();
        for v in doc.history().iter().skip(1) {
            let deadline = v.effective_at() - Duration::days(MIN_NOTICE_DAYS);
            let s = self.store().policy_notice_summary(v.version()).await?;
            let missing = if now >= deadline {
                self.store()
                    .policy_notice_gaps(v.version(), deadline)
                    .await?
            } else {
                0
            };
            out.push(PolicyNoticeStatus {
                version: v.version().to_string(),
                published_at: v.published_at(),
                effective_at: v.effective_at(),
                deadline,
                accounts_notified: s.accounts,
                first_notice_at: s.first_at,
                last_notice_at: s.last_at,
                accounts_not_told_in_time: missing,
                violated: missing > 0,
            });
        }
        Ok(out)
    }

    /// Records a breach incident for admin `staff` (validated by [`validate_incident`]);
    /// audited as `breach` (`recorded`). Returns its id.
    ///
    /// # Errors
    /// [`NoticeError::BadIncident`], [`NoticeError::NotAllowed`], unknown staff, storage errors.
    pub async fn record_incident(
        &self,
        staff: &str,
        input: &IncidentInput,
    ) -> Result<i64, NoticeError> {
        let who = self.admin(staff).await?;
        let now = self.now();
        validate_incident(input, now)?;
        let id = self
            .store()
            .insert_incident(&NewIncident {
                title: input.title.trim().to_string(),
                what_happened: input.what_happened.trim().to_string(),
                started_at: input.started_at,
                ended_at: input.ended_at,
                categories: input.categories.clone(),
                cause: input.cause.trim().to_string(),
                possible_harm: input.possible_harm.trim().to_string(),
                remedies: input.remedies.trim().to_string(),
                user_actions: input.user_actions.trim().to_string(),
                contact: input.contact.trim().to_string(),
                public_notice: input.public_notice,
                recorded_by: who.0.id.clone(),
                recorded_at: now,
            })
            .await?;
        self.audit(
            AuditEvent::new(AuditKind::Breach, Self::actor_of(Some(&who))).details(
                serde_json::json!({
                    "event": "recorded",
                    "incident": id,
                    "categories": input.categories,
                    "public_notice": input.public_notice,
                }),
            ),
        )
        .await?;
        Ok(id)
    }

    /// The accounts (and the number of visitors) an incident affects — the rule is in the
    /// module docs.
    ///
    /// # Errors
    /// Storage and key errors.
    pub async fn affected_accounts(&self, i: &NewIncident) -> Result<Affected, NoticeError> {
        let inventory = Inventory::bundled()
            .map_err(|e| NoticeError::BadIncident(format!("inventory: {e}")))?;
        let wanted: BTreeSet<&str> = i.categories.iter().map(String::as_str).collect();
        let tables: BTreeSet<&str> = inventory
            .entries
            .iter()
            .filter(|e| wanted.contains(e.category.as_str()))
            .filter_map(|e| e.table.as_deref())
            .filter(|t| ACCOUNT_TABLES.iter().any(|(a, _)| a == t))
            .collect();
        let mut accounts: BTreeSet<String> = BTreeSet::new();
        for t in tables {
            accounts.extend(self.store().accounts_with_rows_in(t, i.ended_at).await?);
        }
        // (b) the audit log inside the window, matched to accounts by pseudonym.
        let in_window: BTreeSet<String> = self
            .store()
            .audit_subjects_between(i.started_at, i.ended_at)
            .await?
            .into_iter()
            .collect();
        let mut matched = BTreeSet::new();
        if !in_window.is_empty() {
            let mut by_pseudonym: BTreeMap<String, String> = BTreeMap::new();
            for a in self.store().active_accounts_before(i.ended_at).await? {
                let Some(s) = SubjectId::parse(&a) else {
                    continue;
                };
                match self.pseudonym(&s).await {
                    Ok(p) => {
                        by_pseudonym.insert(p.as_str().to_string(), a);
                    }
                    Err(PrivacyError::Shredded | PrivacyError::UnknownSubject) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for p in &in_window {
                if let Some(a) = by_pseudonym.get(p) {
                    matched.insert(p.clone());
                    accounts.insert(a.clone());
                }
            }
        }
        Ok(Affected {
            accounts: accounts.into_iter().collect(),
            visitors: in_window.len() - matched.len(),
        })
    }

    /// Sends the notices of incident `id` (see the module docs); idempotent per account.
    /// `staff`: the admin doing it.
    ///
    /// # Errors
    /// [`NoticeError::UnknownIncident`], [`NoticeError::NotAllowed`], storage and key errors.
    pub async fn notify_breach(&self, staff: &str, id: i64) -> Result<BreachNotified, NoticeError> {
        let who = self.admin(staff).await?;
        let row = self
            .store()
            .incident(id)
            .await?
            .ok_or(NoticeError::UnknownIncident(id))?;
        let affected = self.affected_accounts(&row.incident).await?;
        let now = self.now();
        let (title, body) = breach_text(&row.incident);
        let link = format!("/notices/{id}");
        let mut notified = 0;
        for account in &affected.accounts {
            let deliveries = self.notice_deliveries(account, now).await?;
            if self
                .store()
                .record_notice(
                    NoticeOf::Breach(id),
                    account,
                    &NewMessage {
                        title: &title,
                        body: &body,
                        link: Some(&link),
                    },
                    &deliveries,
                    now,
                )
                .await?
                .is_some()
            {
                notified += 1;
            }
        }
        let public = row.incident.public_notice || affected.visitors > 0;
        let total = self.store().mark_incident_notified(id, now, public).await?;
        self.audit(
            AuditEvent::new(AuditKind::Breach, Self::actor_of(Some(&who))).details(
                serde_json::json!({
                    "event": "notified",
                    "incident": id,
                    "accounts_notified": notified,
                    "accounts_affected": affected.accounts.len(),
                    "visitors_affected": affected.visitors,
                    "public_notice": public,
                }),
            ),
        )
        .await?;
        Ok(BreachNotified {
            notified,
            affected: total as u64,
            visitors: affected.visitors as u64,
            public_notice: public,
        })
    }
}

// ---- policy changes: page and API ------------------------------------------------------------

/// One clause that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClauseChangeView {
    /// Clause id.
    pub id: String,
    /// `added`, `changed` or `removed`.
    pub change: String,
    /// Heading (the new one; the old one for a removed clause).
    pub heading: String,
    /// Text before (absent for an added clause).
    pub old_text: Option<String>,
    /// Text after (absent for a removed clause).
    pub new_text: Option<String>,
}

/// A purpose added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PurposeChangeView {
    /// Purpose id.
    pub id: String,
    /// zh-CN label.
    pub label: String,
}

/// What changed from one policy version to the next (`GET /api/v1/privacy/policy/changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyChanges {
    /// The earlier version.
    pub from_version: String,
    /// The version compared.
    pub to_version: String,
    /// When `to_version` was announced (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// When it takes effect (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    /// The same in Asia/Shanghai, `YYYY-MM-DD HH:MM`.
    pub effective_at_shanghai: String,
    /// Whether it is announced and not yet in effect.
    pub upcoming: bool,
    /// Clauses added, changed and removed, in the order of the versions.
    pub clauses: Vec<ClauseChangeView>,
    /// Purposes the new version adds (each needs the user's own consent).
    pub added_purposes: Vec<PurposeChangeView>,
    /// Purposes it no longer declares.
    pub removed_purposes: Vec<PurposeChangeView>,
}

/// Query of the changes page and API.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// The version to compare with its predecessor (default: the first upcoming version, else
    /// the one in effect).
    pub version: Option<String>,
}

/// The changes of `version` (or the default, see [`ChangesQuery`]) against the version before.
fn changes_of(
    doc: &PolicyDocument,
    now: OffsetDateTime,
    version: Option<&str>,
) -> Option<PolicyChanges> {
    let new = match version {
        Some(v) => doc.version(v)?,
        None => doc
            .upcoming(now)
            .first()
            .copied()
            .or_else(|| doc.current(now))?,
    };
    let old = doc.previous(new)?;
    let d = diff(old, new);
    let mut clauses = Vec::new();
    for c in new.clauses() {
        if d.added.contains(&c.id) {
            clauses.push(ClauseChangeView {
                id: c.id.clone(),
                change: "added".into(),
                heading: c.heading.clone(),
                old_text: None,
                new_text: Some(c.text.clone()),
            });
        } else if d.changed.contains(&c.id) {
            clauses.push(ClauseChangeView {
                id: c.id.clone(),
                change: "changed".into(),
                heading: c.heading.clone(),
                old_text: old.clause(&c.id).map(|o| o.text.clone()),
                new_text: Some(c.text.clone()),
            });
        }
    }
    for c in old.clauses() {
        if d.removed.contains(&c.id) {
            clauses.push(ClauseChangeView {
                id: c.id.clone(),
                change: "removed".into(),
                heading: c.heading.clone(),
                old_text: Some(c.text.clone()),
                new_text: None,
            });
        }
    }
    let view = |p: &Purpose| PurposeChangeView {
        id: p.id().into_owned(),
        label: p.label_zh().into_owned(),
    };
    Some(PolicyChanges {
        from_version: old.version().to_string(),
        to_version: new.version().to_string(),
        published_at: new.published_at(),
        effective_at: new.effective_at(),
        effective_at_shanghai: format_shanghai(new.effective_at()),
        upcoming: new.published_at() <= now && now < new.effective_at(),
        clauses,
        added_purposes: d.added_purposes.iter().map(view).collect(),
        removed_purposes: d.removed_purposes.iter().map(view).collect(),
    })
}

fn find_changes(state: &AppState, q: &ChangesQuery) -> Result<PolicyChanges, AppError> {
    let doc = state.privacy.policy();
    if let Some(v) = &q.version
        && doc.version(v).is_none()
    {
        return Err(AppError::NotFound("no policy version with that id".into()));
    }
    changes_of(&doc, state.privacy.now(), q.version.as_deref()).ok_or_else(|| {
        AppError::NotFound("this policy version has no earlier version to compare with".into())
    })
}

/// What changed in the coming policy version (or the one given), clause by clause.
#[utoipa::path(
    get, path = "/api/v1/privacy/policy/changes", tag = "privacy",
    params(("version" = Option<String>, Query, description = "Version to compare with its predecessor (default: the first upcoming, else the current)")),
    responses(
        (status = 200, description = "Clauses added, changed and removed; purposes added and removed", body = PolicyChanges),
        (status = 404, description = "Unknown version, or the first version", body = crate::error::Problem)
    )
)]
pub async fn policy_changes_api(
    State(state): State<AppState>,
    Query(q): Query<ChangesQuery>,
) -> Result<Json<PolicyChanges>, AppError> {
    Ok(Json(find_changes(&state, &q)?))
}

/// `/privacy/policy/changes`.
#[derive(Template, WebTemplate)]
#[template(path = "policy_changes.html")]
pub struct PolicyChangesPage {
    /// The comparison.
    pub c: PolicyChanges,
    /// Announced (Asia/Shanghai date).
    pub published: String,
}

/// `GET /privacy/policy/changes[?version=…]`: what changed, clause by clause, and the effective
/// date (Asia/Shanghai).
pub async fn policy_changes_page(
    State(state): State<AppState>,
    Query(q): Query<ChangesQuery>,
) -> Result<PolicyChangesPage, PageError> {
    let c = find_changes(&state, &q).map_err(|e| match e {
        AppError::NotFound(_) => AppError::NotFound("没有可比较的隐私政策版本。".into()),
        e => e,
    })?;
    Ok(PolicyChangesPage {
        published: format_shanghai_date(c.published_at),
        c,
    })
}

// ---- breach: public notice page ----------------------------------------------------------------

/// `/notices/{id}`: the public notice of an incident.
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
pub struct NoticePage {
    /// Title.
    pub title: String,
    /// Paragraphs: (label, text).
    pub parts: Vec<(String, String)>,
    /// Published (Asia/Shanghai).
    pub published: String,
}

/// The labelled parts of a notice (PIPL Art. 57), for the public page.
pub fn notice_parts(i: &IncidentRow) -> Vec<(String, String)> {
    let n = &i.incident;
    let cats: Vec<String> = n.categories.iter().map(|c| category_label(c)).collect();
    vec![
        ("事件情况".into(), n.what_happened.clone()),
        (
            "发生时间".into(),
            format!(
                "{} 至 {}（北京时间）",
                format_shanghai(n.started_at),
                format_shanghai(n.ended_at)
            ),
        ),
        ("涉及的个人信息种类".into(), cats.join("、")),
        ("发生原因".into(), n.cause.clone()),
        ("可能造成的危害".into(), n.possible_harm.clone()),
        ("我们已采取的补救措施".into(), n.remedies.clone()),
        ("您可以采取的措施".into(), n.user_actions.clone()),
        ("联系方式".into(), n.contact.clone()),
    ]
}

/// `GET /notices/{id}`: a public breach notice (only incidents with a public notice; others and
/// unknown ids are 404).
pub async fn notice_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<NoticePage, PageError> {
    let not_found = || PageError(AppError::NotFound("没有这份公告。".into()));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let row = state
        .privacy
        .store()
        .incident(id)
        .await?
        .filter(|r| r.incident.public_notice)
        .ok_or_else(not_found)?;
    Ok(NoticePage {
        title: format!("个人信息安全事件公告：{}", row.incident.title),
        published: format_shanghai(row.notified_at.unwrap_or(row.incident.recorded_at)),
        parts: notice_parts(&row),
    })
}

/// Runs [`Privacy::notify_policy_changes`] every `every` until the task is aborted (the
/// background task of `anjia serve`). A failed pass is logged and retried next time.
pub fn spawn_policy_notices(
    privacy: Privacy,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = privacy.notify_policy_changes().await {
                tracing::warn!(error = %e, "policy notice pass failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::has_long_digit_run;

    #[test]
    fn numbers_are_found_through_separators() {
        assert!(has_long_digit_run("手机 13800138000"));
        assert!(has_long_digit_run("手机 138 0013 8000，"));
        assert!(has_long_digit_run("身份证 110101 19900307 1234"));
        assert!(has_long_digit_run("138-0013-8000"));
        assert!(!has_long_digit_run(
            "2026-12-01 至 2026-12-03，约 1200 个账号"
        ));
        assert!(!has_long_digit_run("10:00 到 12:30"));
    }
}
