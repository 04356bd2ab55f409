//! Import bookkeeping shared by the importers, storage and the CLI.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A source record that was not imported, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Where in the file: `line 12` (CSV/JSONL, 1-based, header = line 1) or `item 3` (JSON arrays,
    /// 0-based index) — always enough to find the record.
    pub location: String,
    /// Short machine-readable reason code, e.g. `bad_price`, `missing_title`, `duplicate_in_file`.
    pub reason: String,
    /// Human-readable explanation naming the field and value at fault.
    pub detail: String,
}

/// The outcome of importing one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// The file imported.
    pub file: String,
    /// Importer used.
    pub importer: String,
    /// Records read from the file.
    pub read: u64,
    /// Postings newly stored.
    pub inserted: u64,
    /// Postings that existed and changed.
    pub updated: u64,
    /// Postings that existed unchanged.
    pub unchanged: u64,
    /// Rejected records by reason code.
    pub rejected: BTreeMap<String, u64>,
    /// Ids of postings inserted or updated (the search index must be brought in step with these).
    pub changed_ids: Vec<i64>,
    /// Change events (new lot, next round, price or status changed) this import stored for the
    /// alerts (`lot_events`); 0 when nothing changed, e.g. when the same file is imported again.
    #[serde(default)]
    pub events_created: u64,
}

impl ImportSummary {
    /// Total rejected records.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}
