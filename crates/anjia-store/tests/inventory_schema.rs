//! PRV-01: every column of the migrated main database and key vault is classified by the PI
//! inventory (`data/privacy/inventory.toml`: a PI entry or a `[[not_pi]]` line), and the inventory
//! names no column that does not exist. Runs on SQLite and PostgreSQL. That the check can fail is
//! shown by `anjia_privacy::inventory`'s unit tests (fake column lists) and by the test below.

use anjia_privacy::inventory::{Database, ImpactAssessments, Inventory, SchemaIssue};
use anjia_store::{
    KeyVault, SchemaColumn, Store, test_on_both_backends, test_vault_on_both_backends,
};

fn inventory() -> Inventory {
    let inv = Inventory::bundled().expect("inventory.toml parses");
    let pia = ImpactAssessments::bundled().expect("impact-assessments.toml parses");
    if let Err(errors) = inv.validate(&pia) {
        panic!("invalid inventory: {errors:#?}");
    }
    inv
}

fn pairs(cols: &[SchemaColumn]) -> Vec<(&str, &str)> {
    cols.iter()
        .map(|c| (c.table.as_str(), c.column.as_str()))
        .collect()
}

fn assert_agrees(db: Database, cols: &[SchemaColumn]) {
    assert!(!cols.is_empty(), "introspection found no column");
    assert!(
        !cols.iter().any(|c| c.table == "_sqlx_migrations"),
        "sqlx's bookkeeping is skipped"
    );
    let issues = inventory().check_schema(db, &pairs(cols));
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert!(
        issues.is_empty(),
        "{db:?} schema vs inventory:\n{}",
        text.join("\n")
    );
}

test_on_both_backends!(main_schema_is_fully_classified);
test_vault_on_both_backends!(vault_schema_is_fully_classified);

async fn main_schema_is_fully_classified(store: Store) {
    let cols = store.schema_columns().await.unwrap();
    assert!(
        cols.iter()
            .any(|c| c.table == "analytics_events" && c.column == "attributes")
    );
    assert_agrees(Database::Main, &cols);

    // The check fails on a column added behind the inventory's back.
    anjia_store::testing::execute_raw(&store, "ALTER TABLE subjects ADD COLUMN phone TEXT")
        .await
        .unwrap();
    let cols = store.schema_columns().await.unwrap();
    assert_eq!(
        inventory().check_schema(Database::Main, &pairs(&cols)),
        [SchemaIssue::Undeclared {
            table: "subjects".into(),
            column: "phone".into()
        }]
    );
}

async fn vault_schema_is_fully_classified(vault: KeyVault) {
    let cols = vault.schema_columns().await.unwrap();
    assert_agrees(Database::Vault, &cols);
    // The main database's tables are not in the vault: checking the vault's columns against the
    // main inventory reports them stale.
    assert!(
        !inventory()
            .check_schema(Database::Main, &pairs(&cols))
            .is_empty()
    );
}
