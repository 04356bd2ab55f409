//! The retention job's rules (`anjia_store::retention`): every inventory entry kept for a number
//! of days has a rule for its table with the same days, every rule is valid SQL on both
//! backends, a dry run counts exactly what a run deletes, and rows younger than the limit stay.

use anjia_privacy::inventory::{Inventory, Retention, StoreKind};
use anjia_store::retention::RETENTION_RULES;
use anjia_store::{AnalyticsEventRow, Store, test_on_both_backends};
use std::collections::BTreeMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2027-06-01 12:00 UTC);

#[test]
fn every_days_retention_of_the_inventory_has_its_rule() {
    let inv = Inventory::bundled().expect("inventory.toml parses");
    let mut checked = 0;
    for e in &inv.entries {
        let Retention::Days { days } = e.retention else {
            continue;
        };
        if !matches!(e.store, StoreKind::Main | StoreKind::Analytics) {
            continue;
        }
        let table = e.table.as_deref().expect("database entries name a table");
        let rule = RETENTION_RULES
            .iter()
            .find(|r| r.table == table)
            .unwrap_or_else(|| panic!("{}: no retention rule deletes {table}", e.id));
        assert_eq!(rule.days, days, "{}: inventory says {days} days", e.id);
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
    // And no rule deletes a table the inventory does not limit.
    for r in RETENTION_RULES {
        assert!(
            inv.entries
                .iter()
                .any(|e| e.table.as_deref() == Some(r.table)
                    && matches!(e.retention, Retention::Days { days } if days == r.days)),
            "rule for {} has no inventory entry",
            r.table
        );
    }
}

fn by_table(o: &[anjia_store::retention::RetentionOutcome]) -> BTreeMap<&'static str, u64> {
    o.iter().map(|x| (x.rule.table, x.rows)).collect()
}

async fn dry_run_counts_what_a_run_deletes(store: Store) {
    // Every rule runs on an empty database.
    let o = store.apply_retention(NOW, true).await.unwrap();
    assert_eq!(o.len(), RETENTION_RULES.len());
    assert!(o.iter().all(|x| x.rows == 0));
    // Two outbox messages past 24 hours, one fresh; analytics past a year and fresh.
    let idx = "a".repeat(64);
    for age in [Duration::hours(30), Duration::days(3), Duration::hours(2)] {
        store
            .insert_sms_outbox(&idx, "【安家】验证码 123456", NOW - age)
            .await
            .unwrap();
    }
    for age in [Duration::days(400), Duration::days(10)] {
        store
            .insert_analytics_event(&AnalyticsEventRow {
                id: 0,
                hour_bucket: NOW - age,
                kind: "search".into(),
                attributes: BTreeMap::new(),
            })
            .await
            .unwrap();
    }
    let dry = by_table(&store.apply_retention(NOW, true).await.unwrap());
    assert_eq!(dry["sms_outbox"], 2);
    assert_eq!(dry["analytics_events"], 1);
    assert_eq!(
        store.sms_outbox_for(&idx).await.unwrap().len(),
        3,
        "a dry run deletes nothing"
    );
    let run = by_table(&store.apply_retention(NOW, false).await.unwrap());
    assert_eq!(run, dry, "the run deletes what the dry run counted");
    let left = store.sms_outbox_for(&idx).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].2, NOW - Duration::hours(2));
    let again = store.apply_retention(NOW, false).await.unwrap();
    assert!(again.iter().all(|x| x.rows == 0), "nothing left to delete");
}

test_on_both_backends!(dry_run_counts_what_a_run_deletes);
