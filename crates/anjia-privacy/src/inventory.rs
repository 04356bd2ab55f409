//! The PI inventory (PRIVACY.md PRV-01, PRV-39): every stored field, log field, event attribute
//! and outbound payload field that carries personal information, in one machine-readable file,
//! `data/privacy/inventory.toml`, with the impact assessments it references in
//! `data/privacy/impact-assessments.toml`.
//!
//! # Format (`inventory.toml`)
//! ```toml
//! version = 1
//!
//! [[entry]]
//! id = "search_history.query_ciphertext"   # unique, [a-z0-9_.]
//! store = "main"               # main | vault | analytics | log | file | outbound | metrics
//! table = "search_history"     # database stores (main, vault, analytics) only
//! column = "query_ciphertext"  # or columns = ["a", "b"] for a record's columns together
//! location = "…"               # other stores: file path pattern, log name, recipient payload …
//! category = "search_history"  # PI category (GB/T 35273-2020 Appendix A/B)
//! description = "…"
//! sensitive = false            # sensitive PI (PIPL Art. 28; GB/T 35273-2020 Appendix B)
//! purposes = ["search_history"]
//! legal_basis = "consent"      # PIPL Art. 13 item, see LegalBasis
//! retention_rule = "180 days, then deleted by the retention job"
//! retention = { kind = "days", days = 180 }
//! encryption = "field_aes_gcm" # field_aes_gcm | hmac | pseudonym | kek_wrapped | none
//! recipients = []              # third-party ids (data/privacy/third-parties.toml)
//! impact_assessment = "PIA-2026-009"  # required when sensitive or recipients (PRV-39)
//!
//! [[not_pi]]                   # every other column, with the reason it is not PI
//! store = "main"               # default main
//! table = "postings"
//! column = "*"                 # "*": every column of the table not named by a PI entry
//! reason = "…"
//! ```
//!
//! [`Inventory::check_schema`] compares the inventory with the columns a database really has: an
//! unclassified column is *undeclared*, an inventory column that does not exist is *stale*.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The bundled inventory (`data/privacy/inventory.toml`).
pub const BUNDLED_INVENTORY: &str = include_str!("../../../data/privacy/inventory.toml");
/// The bundled impact assessments (`data/privacy/impact-assessments.toml`).
pub const BUNDLED_IMPACT_ASSESSMENTS: &str =
    include_str!("../../../data/privacy/impact-assessments.toml");

/// Where a piece of PI lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The main database.
    Main,
    /// The key vault (a separate database).
    Vault,
    /// De-identified analytics tables (PostgreSQL schema `analytics`; in SQLite, tables of the
    /// main file).
    Analytics,
    /// Log output (access log, application log).
    Log,
    /// Files on disk (source files, search index, uploads).
    File,
    /// Payloads sent to third parties.
    Outbound,
    /// Metrics and traces.
    Metrics,
}

impl StoreKind {
    /// Whether entries of this store name a database `table` and columns.
    pub fn is_database(self) -> bool {
        matches!(
            self,
            StoreKind::Main | StoreKind::Vault | StoreKind::Analytics
        )
    }

    /// The database that holds this store's tables, if it is a database store.
    pub fn database(self) -> Option<Database> {
        match self {
            StoreKind::Main | StoreKind::Analytics => Some(Database::Main),
            StoreKind::Vault => Some(Database::Vault),
            _ => None,
        }
    }
}

/// A database whose schema [`Inventory::check_schema`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Database {
    /// The main database (stores `main` and `analytics`).
    Main,
    /// The key vault (store `vault`).
    Vault,
}

/// Legal basis of processing: the items of PIPL (2021) Art. 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 13(1): the individual's consent.
    Consent,
    /// Art. 13(1) with separate consent (单独同意; Arts. 23, 25, 26, 29).
    SeparateConsent,
    /// Art. 13(2): necessary to conclude or perform a contract with the individual, or for
    /// human-resources management.
    Contract,
    /// Art. 13(3): necessary to fulfil a statutory duty or obligation.
    LegalObligation,
    /// Art. 13(4): public-health emergencies, protection of life, health and property.
    VitalInterests,
    /// Art. 13(5): news reporting and public-opinion supervision in the public interest.
    NewsReporting,
    /// Art. 13(6) with Art. 27: PI disclosed by the individual or otherwise lawfully disclosed,
    /// processed within a reasonable scope (e.g. court-published auction listings).
    Disclosed,
    /// Art. 13(7): other circumstances provided by laws and administrative regulations.
    OtherLaw,
}

impl LegalBasis {
    /// The article and item, e.g. `PIPL Art. 13(1)`.
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent | LegalBasis::SeparateConsent => "PIPL Art. 13(1)",
            LegalBasis::Contract => "PIPL Art. 13(2)",
            LegalBasis::LegalObligation => "PIPL Art. 13(3)",
            LegalBasis::VitalInterests => "PIPL Art. 13(4)",
            LegalBasis::NewsReporting => "PIPL Art. 13(5)",
            LegalBasis::Disclosed => "PIPL Art. 13(6)",
            LegalBasis::OtherLaw => "PIPL Art. 13(7)",
        }
    }
}

/// Machine-readable retention rule (the retention job and the deletion tests read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Retention {
    /// Until the account is cancelled (a visitor: until the subject is erased).
    UntilCancellation,
    /// Until the user deletes it (or resets it to the default).
    UntilUserDeletes,
    /// A fixed number of days after it was recorded, then deleted.
    Days {
        /// Days kept.
        days: u32,
    },
    /// A number of years after an event (e.g. 3 years after `order_completed`, E-commerce Law
    /// Art. 31), under a legal-hold key, then deleted.
    YearsAfter {
        /// Years kept after the event.
        years: u32,
        /// Event id, e.g. `order_completed`.
        event: String,
    },
    /// As long as the record it belongs to exists (e.g. a posting, a staff member).
    WhileRecordExists {
        /// The record, e.g. `posting`.
        record: String,
    },
    /// Kept as proof (consent, audit, provisions, shredding records); the subject is named by a
    /// pseudonym that crypto-shredding unlinks.
    AsProof,
    /// Not kept by anjia: used for one request or sent out at once.
    Transient,
}

/// How the value is protected at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// AES-256-GCM per field under the subject's data key (`FieldCipher`).
    FieldAesGcm,
    /// A keyed hash (HMAC-SHA256) only (`BlindIndex`).
    Hmac,
    /// A keyed pseudonym instead of the identity (`Pseudonymizer`).
    Pseudonym,
    /// Wrapped by a key-encryption key kept outside every database.
    KekWrapped,
    /// Stored as is.
    None,
}

/// One declared piece of PI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiEntry {
    /// Unique id, e.g. `search_history.query_ciphertext` (`[a-z0-9_.]`); third-party field lists
    /// and provisions name entries by it.
    pub id: String,
    /// Where it lives.
    pub store: StoreKind,
    /// Table (database stores only).
    #[serde(default)]
    pub table: Option<String>,
    /// One column (database stores; or use `columns`).
    #[serde(default)]
    pub column: Option<String>,
    /// Several columns of one record declared together (database stores; or use `column`).
    #[serde(default)]
    pub columns: Vec<String>,
    /// For other stores: file path pattern, log name or payload.
    #[serde(default)]
    pub location: Option<String>,
    /// PI category (GB/T 35273-2020 Appendix A/B wording, snake_case).
    pub category: String,
    /// What it is, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Sensitive PI (PIPL Art. 28; GB/T 35273-2020 Appendix B).
    pub sensitive: bool,
    /// Processing purposes (ids).
    pub purposes: Vec<String>,
    /// Legal basis (PIPL Art. 13).
    pub legal_basis: LegalBasis,
    /// Retention rule as text.
    pub retention_rule: String,
    /// Retention rule, machine-readable.
    pub retention: Retention,
    /// Protection at rest.
    pub encryption: Encryption,
    /// Third-party recipient ids.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Impact-assessment id (required when sensitive or with recipients: PRV-39, PIPL Art. 55).
    #[serde(default)]
    pub impact_assessment: Option<String>,
}

impl PiEntry {
    /// The database columns this entry declares (`column` and `columns`).
    pub fn db_columns(&self) -> Vec<&str> {
        self.column
            .iter()
            .map(String::as_str)
            .chain(self.columns.iter().map(String::as_str))
            .collect()
    }
}

/// A column classified as not PI, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotPi {
    /// Store (default `main`).
    #[serde(default = "default_store")]
    pub store: StoreKind,
    /// Table (for `log`, `metrics`: the log or metric name).
    pub table: String,
    /// Column (field), or `*` for every column of the table not declared by a PI entry.
    pub column: String,
    /// Why it is not PI.
    pub reason: String,
}

fn default_store() -> StoreKind {
    StoreKind::Main
}

/// The PI inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Format version (1).
    pub version: u32,
    /// PI entries.
    #[serde(default, rename = "entry")]
    pub entries: Vec<PiEntry>,
    /// Non-PI columns and fields.
    #[serde(default)]
    pub not_pi: Vec<NotPi>,
}

/// One impact-assessment record (个人信息保护影响评估, PIPL Arts. 55–56; GB/T 39335-2020).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactAssessment {
    /// Id, e.g. `PIA-2026-001`.
    pub id: String,
    /// What was assessed.
    pub title: String,
    /// Date of the assessment (`YYYY-MM-DD`).
    pub date: String,
    /// Inventory entry ids or recipient ids it covers.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Risks found and measures taken (PIPL Art. 56 content).
    pub conclusion: String,
    /// Reviewer (a role, not a name).
    pub reviewed_by: String,
    /// Kept at least 3 years (PIPL Art. 56): the date until which it must be kept.
    pub keep_until: String,
}

/// The impact-assessment records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactAssessments {
    /// The records.
    #[serde(default, rename = "assessment")]
    pub assessments: Vec<ImpactAssessment>,
}

impl ImpactAssessments {
    /// Parses `impact-assessments.toml`.
    ///
    /// # Errors
    /// [`InventoryError::Parse`].
    pub fn parse(text: &str) -> Result<ImpactAssessments, InventoryError> {
        toml::from_str(text).map_err(|e| InventoryError::Parse {
            file: "impact-assessments.toml",
            message: e.to_string(),
        })
    }

    /// The bundled records.
    ///
    /// # Errors
    /// [`InventoryError::Parse`] (a test guards the bundled file).
    pub fn bundled() -> Result<ImpactAssessments, InventoryError> {
        ImpactAssessments::parse(BUNDLED_IMPACT_ASSESSMENTS)
    }

    /// Whether a record with this id exists.
    pub fn contains(&self, id: &str) -> bool {
        self.assessments.iter().any(|a| a.id == id)
    }
}

/// A problem of the inventory itself, or of a field list checked against it. Messages name the
/// entry (never any data).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum InventoryError {
    /// The TOML is malformed or has unknown keys.
    #[error("{file}: {message}")]
    Parse {
        /// File name.
        file: &'static str,
        /// Parser message.
        message: String,
    },
    /// Two entries share an id.
    #[error("inventory entry `{0}`: duplicate id")]
    DuplicateId(String),
    /// An id is not `[a-z0-9_.]+`.
    #[error("inventory entry `{0}`: malformed id (expected [a-z0-9_.]+)")]
    MalformedId(String),
    /// A required text field is empty.
    #[error("inventory entry `{entry}`: `{field}` is empty")]
    Empty {
        /// Entry id.
        entry: String,
        /// Field name.
        field: &'static str,
    },
    /// A database entry without table or columns, or a non-database entry with them.
    #[error("inventory entry `{entry}`: {problem}")]
    Location {
        /// Entry id.
        entry: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A column is declared twice (by two PI entries, a PI entry and a not_pi line, or two
    /// not_pi lines).
    #[error("column {table}.{column} is declared more than once")]
    DuplicateColumn {
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// A sensitive entry, or one with recipients, names no impact assessment (PRV-39).
    #[error(
        "inventory entry `{0}`: sensitive or provided to third parties, but names no impact_assessment"
    )]
    MissingImpactAssessment(String),
    /// The named impact assessment is not in `impact-assessments.toml`.
    #[error("inventory entry `{entry}`: impact assessment `{assessment}` does not exist")]
    UnknownImpactAssessment {
        /// Entry id.
        entry: String,
        /// The id named.
        assessment: String,
    },
    /// A field sent to a recipient is not an inventory entry.
    #[error("recipient `{recipient}`: field `{field}` is not declared in the PI inventory")]
    UndeclaredField {
        /// Recipient id.
        recipient: String,
        /// Field id.
        field: String,
    },
    /// A field sent to a recipient does not list that recipient.
    #[error("recipient `{recipient}`: inventory entry `{field}` does not list it as a recipient")]
    RecipientNotListed {
        /// Recipient id.
        recipient: String,
        /// Field id.
        field: String,
    },
}

/// A difference between the inventory and a real schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SchemaIssue {
    /// The database has a column that is neither a PI entry nor a `not_pi` line.
    Undeclared {
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// The inventory names a column (or a table, for `*`) the database does not have.
    Stale {
        /// PI entry id, or `not_pi` for a not_pi line.
        entry: String,
        /// Table.
        table: String,
        /// Column (`*` for a whole-table not_pi line).
        column: String,
    },
}

impl std::fmt::Display for SchemaIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaIssue::Undeclared { table, column } => write!(
                f,
                "undeclared column {table}.{column}: add a PI entry or a [[not_pi]] line to \
                 data/privacy/inventory.toml"
            ),
            SchemaIssue::Stale {
                entry,
                table,
                column,
            } => write!(
                f,
                "stale inventory entry `{entry}`: column {table}.{column} does not exist"
            ),
        }
    }
}

fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

impl Inventory {
    /// Parses `inventory.toml` (unknown keys are errors).
    ///
    /// # Errors
    /// [`InventoryError::Parse`].
    pub fn parse(text: &str) -> Result<Inventory, InventoryError> {
        toml::from_str(text).map_err(|e| InventoryError::Parse {
            file: "inventory.toml",
            message: e.to_string(),
        })
    }

    /// The bundled inventory (`data/privacy/inventory.toml`, compiled in).
    ///
    /// # Errors
    /// [`InventoryError::Parse`] (a test guards the bundled file).
    pub fn bundled() -> Result<Inventory, InventoryError> {
        Inventory::parse(BUNDLED_INVENTORY)
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&PiEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Checks the inventory: ids unique and well-formed; required texts present; database entries
    /// name a table and columns, other entries do not; no column declared twice; every sensitive
    /// entry and every entry with recipients names an impact assessment that exists (PRV-39).
    ///
    /// # Errors
    /// Every problem found, each naming the entry.
    pub fn validate(&self, assessments: &ImpactAssessments) -> Result<(), Vec<InventoryError>> {
        let mut errors = Vec::new();
        let mut ids = HashSet::new();
        let mut columns: HashSet<(StoreKind, &str, &str)> = HashSet::new();
        for e in &self.entries {
            let id = e.id.clone();
            if !id_ok(&e.id) {
                errors.push(InventoryError::MalformedId(id.clone()));
            }
            if !ids.insert(e.id.as_str()) {
                errors.push(InventoryError::DuplicateId(id.clone()));
            }
            for (field, text) in [
                ("category", &e.category),
                ("retention_rule", &e.retention_rule),
            ] {
                if text.trim().is_empty() {
                    errors.push(InventoryError::Empty {
                        entry: id.clone(),
                        field,
                    });
                }
            }
            if e.purposes.is_empty() || e.purposes.iter().any(|p| p.trim().is_empty()) {
                errors.push(InventoryError::Empty {
                    entry: id.clone(),
                    field: "purposes",
                });
            }
            let cols = e.db_columns();
            if e.store.is_database() {
                match &e.table {
                    None => errors.push(InventoryError::Location {
                        entry: id.clone(),
                        problem: "a database entry needs `table`",
                    }),
                    Some(table) => {
                        if cols.is_empty() {
                            errors.push(InventoryError::Location {
                                entry: id.clone(),
                                problem: "a database entry needs `column` or `columns`",
                            });
                        }
                        for c in &cols {
                            if *c == "*" {
                                errors.push(InventoryError::Location {
                                    entry: id.clone(),
                                    problem: "a PI entry names its columns (no `*`)",
                                });
                            } else if !columns.insert((db_of(e.store), table, c)) {
                                errors.push(InventoryError::DuplicateColumn {
                                    table: table.clone(),
                                    column: (*c).to_string(),
                                });
                            }
                        }
                    }
                }
            } else {
                if e.table.is_some() || !cols.is_empty() {
                    errors.push(InventoryError::Location {
                        entry: id.clone(),
                        problem: "only database stores (main, vault, analytics) have table/columns",
                    });
                }
                if e.location.as_deref().is_none_or(|l| l.trim().is_empty()) {
                    errors.push(InventoryError::Location {
                        entry: id.clone(),
                        problem: "a non-database entry needs `location`",
                    });
                }
            }
            if e.sensitive || !e.recipients.is_empty() {
                match &e.impact_assessment {
                    None => errors.push(InventoryError::MissingImpactAssessment(id.clone())),
                    Some(a) if !assessments.contains(a) => {
                        errors.push(InventoryError::UnknownImpactAssessment {
                            entry: id.clone(),
                            assessment: a.clone(),
                        })
                    }
                    Some(_) => {}
                }
            } else if let Some(a) = &e.impact_assessment
                && !assessments.contains(a)
            {
                errors.push(InventoryError::UnknownImpactAssessment {
                    entry: id.clone(),
                    assessment: a.clone(),
                });
            }
        }
        for n in &self.not_pi {
            if n.reason.trim().is_empty() {
                errors.push(InventoryError::Empty {
                    entry: format!("not_pi {}.{}", n.table, n.column),
                    field: "reason",
                });
            }
            if n.column != "*" && !columns.insert((db_of(n.store), &n.table, &n.column)) {
                errors.push(InventoryError::DuplicateColumn {
                    table: n.table.clone(),
                    column: n.column.clone(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks that `fields` (inventory ids a recipient receives, as in
    /// `data/privacy/third-parties.toml`) are all declared and list `recipient_id` among their
    /// recipients (PRV-35: every outbound field is in the inventory).
    ///
    /// # Errors
    /// Every field that is undeclared or does not list the recipient.
    pub fn check_recipient_fields<S: AsRef<str>>(
        &self,
        recipient_id: &str,
        fields: &[S],
    ) -> Result<(), Vec<InventoryError>> {
        let errors: Vec<InventoryError> = fields
            .iter()
            .filter_map(|f| {
                let f = f.as_ref();
                match self.entry(f) {
                    None => Some(InventoryError::UndeclaredField {
                        recipient: recipient_id.to_string(),
                        field: f.to_string(),
                    }),
                    Some(e) if !e.recipients.iter().any(|r| r == recipient_id) => {
                        Some(InventoryError::RecipientNotListed {
                            recipient: recipient_id.to_string(),
                            field: f.to_string(),
                        })
                    }
                    Some(_) => None,
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Every recipient id named by some entry.
    pub fn recipients(&self) -> BTreeSet<&str> {
        self.entries
            .iter()
            .flat_map(|e| e.recipients.iter().map(String::as_str))
            .collect()
    }

    /// Compares the inventory with the real `columns` (table, column) of `database`: returns
    /// every column that is neither declared by a PI entry nor classified by a `not_pi` line
    /// (`*` covers the remaining columns of a table), and every PI column or `not_pi` line that
    /// names a column or table the database does not have. Sorted; empty when they agree.
    pub fn check_schema<T: AsRef<str>, C: AsRef<str>>(
        &self,
        database: Database,
        columns: &[(T, C)],
    ) -> Vec<SchemaIssue> {
        let actual: BTreeSet<(&str, &str)> = columns
            .iter()
            .map(|(t, c)| (t.as_ref(), c.as_ref()))
            .collect();
        let tables: BTreeSet<&str> = actual.iter().map(|(t, _)| *t).collect();
        let mut declared: BTreeSet<(&str, &str)> = BTreeSet::new();
        let mut whole_tables: BTreeSet<&str> = BTreeSet::new();
        let mut issues = Vec::new();
        for e in &self.entries {
            if e.store.database() != Some(database) {
                continue;
            }
            let Some(table) = e.table.as_deref() else {
                continue;
            };
            for c in e.db_columns() {
                declared.insert((table, c));
                if !actual.contains(&(table, c)) {
                    issues.push(SchemaIssue::Stale {
                        entry: e.id.clone(),
                        table: table.to_string(),
                        column: c.to_string(),
                    });
                }
            }
        }
        for n in &self.not_pi {
            if n.store.database() != Some(database) {
                continue;
            }
            let (table, column) = (n.table.as_str(), n.column.as_str());
            if column == "*" {
                whole_tables.insert(table);
                if !tables.contains(table) {
                    issues.push(SchemaIssue::Stale {
                        entry: "not_pi".to_string(),
                        table: table.to_string(),
                        column: "*".to_string(),
                    });
                }
            } else {
                declared.insert((table, column));
                if !actual.contains(&(table, column)) {
                    issues.push(SchemaIssue::Stale {
                        entry: "not_pi".to_string(),
                        table: table.to_string(),
                        column: column.to_string(),
                    });
                }
            }
        }
        for (table, column) in &actual {
            if !declared.contains(&(*table, *column)) && !whole_tables.contains(table) {
                issues.push(SchemaIssue::Undeclared {
                    table: (*table).to_string(),
                    column: (*column).to_string(),
                });
            }
        }
        issues.sort();
        issues
    }

    /// Entries by store, for reports.
    pub fn by_store(&self) -> BTreeMap<StoreKind, Vec<&PiEntry>> {
        let mut m: BTreeMap<StoreKind, Vec<&PiEntry>> = BTreeMap::new();
        for e in &self.entries {
            m.entry(e.store).or_default().push(e);
        }
        m
    }
}

/// Database stores that share a namespace of table names.
fn db_of(store: StoreKind) -> StoreKind {
    match store {
        StoreKind::Analytics => StoreKind::Main,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> (Inventory, ImpactAssessments) {
        (
            Inventory::bundled().expect("inventory.toml parses"),
            ImpactAssessments::bundled().expect("impact-assessments.toml parses"),
        )
    }

    const ENTRY: &str = r#"
        [[entry]]
        id = "t.secret"
        store = "main"
        table = "t"
        column = "secret"
        category = "x"
        sensitive = false
        purposes = ["core"]
        legal_basis = "consent"
        retention_rule = "180 days"
        retention = { kind = "days", days = 180 }
        encryption = "field_aes_gcm"
    "#;

    fn one(extra: &str) -> Inventory {
        Inventory::parse(&format!("version = 1\n{ENTRY}\n{extra}")).unwrap()
    }

    #[test]
    fn bundled_inventory_is_valid() {
        let (inv, pia) = bundled();
        inv.validate(&pia).unwrap();
        assert!(inv.entry("search_history.query_ciphertext").is_some());
        assert!(inv.entry("posting_provenance.raw").unwrap().sensitive);
        assert_eq!(LegalBasis::Disclosed.article(), "PIPL Art. 13(6)");
    }

    #[test]
    fn validation_names_the_entry() {
        let pia = ImpactAssessments {
            assessments: vec![],
        };
        let inv = one(ENTRY);
        assert!(
            inv.validate(&pia)
                .unwrap_err()
                .contains(&InventoryError::DuplicateId("t.secret".into()))
        );

        let mut inv = one("");
        inv.entries[0].sensitive = true;
        let errs = inv.validate(&pia).unwrap_err();
        assert_eq!(
            errs,
            [InventoryError::MissingImpactAssessment("t.secret".into())]
        );
        assert!(errs[0].to_string().contains("t.secret"));

        inv.entries[0].sensitive = false;
        inv.entries[0].recipients = vec!["sms_gateway".into()];
        inv.entries[0].impact_assessment = Some("PIA-X".into());
        assert_eq!(
            inv.validate(&pia).unwrap_err(),
            [InventoryError::UnknownImpactAssessment {
                entry: "t.secret".into(),
                assessment: "PIA-X".into()
            }]
        );
        let (_, real) = bundled();
        inv.entries[0].impact_assessment = Some("PIA-2026-001".into());
        inv.validate(&real).unwrap();
    }

    #[test]
    fn validation_catches_location_and_duplicate_columns() {
        let pia = ImpactAssessments {
            assessments: vec![],
        };
        let inv = one("[[not_pi]]\ntable = \"t\"\ncolumn = \"secret\"\nreason = \"r\"\n");
        assert_eq!(
            inv.validate(&pia).unwrap_err(),
            [InventoryError::DuplicateColumn {
                table: "t".into(),
                column: "secret".into()
            }]
        );
        let mut inv = one("");
        inv.entries[0].store = StoreKind::Outbound;
        let errs = inv.validate(&pia).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(Inventory::parse("version = 1\nbogus = 3\n").is_err());
    }

    #[test]
    fn schema_check_reports_undeclared_and_stale_columns() {
        let inv = one(
            "[[not_pi]]\ntable = \"t\"\ncolumn = \"id\"\nreason = \"key\"\n\
             [[not_pi]]\ntable = \"u\"\ncolumn = \"*\"\nreason = \"r\"\n\
             [[not_pi]]\nstore = \"vault\"\ntable = \"k\"\ncolumn = \"*\"\nreason = \"r\"\n",
        );
        let ok = [("t", "id"), ("t", "secret"), ("u", "a"), ("u", "b")];
        assert_eq!(inv.check_schema(Database::Main, &ok), []);

        let drifted = [("t", "id"), ("t", "phone"), ("u", "a")];
        let issues = inv.check_schema(Database::Main, &drifted);
        assert_eq!(
            issues,
            [
                SchemaIssue::Undeclared {
                    table: "t".into(),
                    column: "phone".into()
                },
                SchemaIssue::Stale {
                    entry: "t.secret".into(),
                    table: "t".into(),
                    column: "secret".into()
                },
            ]
        );
        assert!(
            issues[0]
                .to_string()
                .starts_with("undeclared column t.phone")
        );
        // The vault's not_pi table is stale in an empty vault; main-store lines are not checked
        // against the vault.
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            inv.check_schema(Database::Vault, &none),
            [SchemaIssue::Stale {
                entry: "not_pi".into(),
                table: "k".into(),
                column: "*".into()
            }]
        );
    }

    #[test]
    fn recipient_fields_must_be_declared_for_that_recipient() {
        let (inv, _) = bundled();
        inv.check_recipient_fields("sms_gateway", &["account.phone", "sms.text"])
            .unwrap();
        let errs = inv
            .check_recipient_fields("sms_gateway", &["account.phone", "order.amount", "nope"])
            .unwrap_err();
        assert_eq!(
            errs,
            [
                InventoryError::RecipientNotListed {
                    recipient: "sms_gateway".into(),
                    field: "order.amount".into()
                },
                InventoryError::UndeclaredField {
                    recipient: "sms_gateway".into(),
                    field: "nope".into()
                },
            ]
        );
    }

    /// Cross-check with the third-party registry (read generically, so that this test does not
    /// depend on the registry's Rust types): every recipient's fields are declared for it, every
    /// recipient named by the inventory is registered, and its impact assessment exists.
    #[test]
    fn agrees_with_the_third_party_registry() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/privacy/third-parties.toml"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("SKIPPED: {path} does not exist yet");
            return;
        };
        let (inv, pia) = bundled();
        let registry: toml::Table = toml::from_str(&text).expect("third-parties.toml parses");
        let recipients = registry
            .get("recipient")
            .and_then(|r| r.as_array())
            .expect("[[recipient]] list");
        let mut registered = BTreeSet::new();
        let mut problems = Vec::new();
        for r in recipients {
            let id = r.get("id").and_then(|v| v.as_str()).expect("recipient id");
            registered.insert(id.to_string());
            let fields: Vec<&str> = r
                .get("fields")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            if let Err(e) = inv.check_recipient_fields(id, &fields) {
                problems.extend(e.iter().map(ToString::to_string));
            }
            match r.get("impact_assessment").and_then(|v| v.as_str()) {
                Some(a) if pia.contains(a) => {}
                other => problems.push(format!(
                    "recipient {id}: impact assessment {other:?} missing"
                )),
            }
        }
        for r in inv.recipients() {
            if !registered.contains(r) {
                problems.push(format!(
                    "inventory names recipient {r}, which is not registered"
                ));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
