//! The retention job's deletions (PRIVACY.md PRV-22; issue 5 item 4): one [`RetentionRule`] per
//! table whose personal information the inventory (`data/privacy/inventory.toml`) keeps for a
//! number of days. [`Store::apply_retention`] counts (dry run) or deletes what each rule selects,
//! with the **same** predicate either way, so a dry run shows exactly what a run deletes.
//!
//! The test `crates/anjia-store/tests/retention.rs` checks that every inventory entry with a
//! `days` retention has a rule for its table with the same number of days, and runs every rule on
//! both backends.

use crate::{Pool, Store, StoreError};
use time::{Duration, OffsetDateTime};

/// One deletion rule: rows of `table` matching `predicate` go.
///
/// `predicate` is SQL over the table's columns with `$1` = now − [`RetentionRule::days`] and,
/// when [`RetentionRule::grace_days`] is set, `$2` = now − grace days. Both are constants of
/// this file (never built from input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRule {
    /// The table (as the inventory names it; `analytics_events` is `analytics.analytics_events`
    /// on PostgreSQL).
    pub table: &'static str,
    /// The longest time a row is kept, days (the inventory's `retention.days`).
    pub days: u32,
    /// Days after expiry or revocation, for tables whose rows end before their maximum age.
    pub grace_days: Option<u32>,
    /// Which rows go (SQL, see above).
    pub predicate: &'static str,
    /// What the rule does, for people (the CLI prints it).
    pub description: &'static str,
}

/// The rules, in the order they run (deliveries before the notifications they belong to).
pub const RETENTION_RULES: [RetentionRule; 10] = [
    RetentionRule {
        table: "search_history",
        days: 180,
        grace_days: None,
        predicate: "searched_at < $1",
        description: "searches older than 180 days",
    },
    RetentionRule {
        table: "browsing_history",
        days: 180,
        grace_days: None,
        predicate: "viewed_at < $1",
        description: "lots last viewed more than 180 days ago",
    },
    RetentionRule {
        table: "sms_codes",
        days: 1,
        grace_days: None,
        predicate: "created_at < $1",
        description: "SMS codes sent more than 24 hours ago",
    },
    RetentionRule {
        table: "sms_outbox",
        days: 1,
        grace_days: None,
        predicate: "created_at < $1",
        description: "development SMS outbox messages older than 24 hours",
    },
    RetentionRule {
        table: "email_outbox",
        days: 1,
        grace_days: None,
        predicate: "created_at < $1",
        description: "development e-mail outbox messages older than 24 hours",
    },
    RetentionRule {
        table: "oauth_states",
        days: 1,
        grace_days: Some(0),
        predicate: "expires_at < $2 OR created_at < $1",
        description: "linked-login requests that expired (at most a day old)",
    },
    RetentionRule {
        table: "sessions",
        days: 120,
        grace_days: Some(30),
        predicate: "created_at < $1 OR expires_at < $2 OR revoked_at < $2",
        description: "sessions 30 days after expiry or revocation, at most 120 days after sign-in",
    },
    RetentionRule {
        table: "deliveries",
        days: 90,
        grace_days: None,
        predicate: "status <> 'pending' AND created_at < $1",
        description: "finished notification deliveries older than 90 days",
    },
    RetentionRule {
        table: "notifications",
        days: 90,
        grace_days: None,
        predicate: "created_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d \
                    WHERE d.notification_id = notifications.id AND d.status = 'pending')",
        description: "notifications older than 90 days with no delivery pending",
    },
    RetentionRule {
        table: "analytics_events",
        days: 365,
        grace_days: None,
        predicate: "hour_bucket < $1",
        description: "de-identified analytics events older than 365 days",
    },
];

/// What one rule did (or would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// The rule.
    pub rule: RetentionRule,
    /// now − days, UTC.
    pub cutoff: OffsetDateTime,
    /// Rows deleted (or, in a dry run, that would be).
    pub rows: u64,
}

impl Store {
    /// Runs every [`RETENTION_RULES`] rule at `now`: deletes the rows each selects, or with
    /// `dry_run` only counts them. Each rule is one statement (atomic per table).
    ///
    /// # Errors
    /// [`StoreError::Database`]; rules before the failing one have run.
    pub async fn apply_retention(
        &self,
        now: OffsetDateTime,
        dry_run: bool,
    ) -> Result<Vec<RetentionOutcome>, StoreError> {
        let mut out = Vec::with_capacity(RETENTION_RULES.len());
        for rule in RETENTION_RULES {
            let cutoff = now - Duration::days(i64::from(rule.days));
            let grace = rule.grace_days.map(|g| now - Duration::days(i64::from(g)));
            let rows = match &self.pool {
                Pool::Sqlite(p) => {
                    crate::privacy::backend::sqlite::apply_rule(p, &rule, cutoff, grace, dry_run)
                        .await?
                }
                Pool::Postgres(p) => {
                    crate::privacy::backend::postgres::apply_rule(p, &rule, cutoff, grace, dry_run)
                        .await?
                }
            };
            out.push(RetentionOutcome { rule, cutoff, rows });
        }
        Ok(out)
    }
}
