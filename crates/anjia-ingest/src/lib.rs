//! Parsers for the auction data files anjia imports. Pure parsing: no database, no HTTP.
//!
//! | [`ImportKind`] | file | platform / kind |
//! |---|---|---|
//! | `ali-list` | Ali judicial list-API JSON array (`ali_sf_item_list_*.json`) | Ali / judicial |
//! | `sf-taobao` | sf_taobao CSV export (`sf_taobao_*.csv`) with truncated prices, see [`price`] | Ali / judicial |
//! | `jd-asset` | `{"jd":[…]}` JD asset auctions | JD / asset |
//! | `taobao-asset` | `{"tb":[…]}` Taobao asset auctions | Ali / asset |
//! | `jsonl` | canonical JSON Lines, one [`NewPosting`] per line, see [`canonical`] | any |
//!
//! A whole-file problem (unreadable, empty, invalid JSON, wrong CSV header) is an [`IngestError`] and
//! yields no postings. A bad single record becomes an [`anjia_domain::Rejection`] and the rest of the
//! file is still parsed. No input makes a parser panic (property-tested, and fuzzable from `fuzz/`).
//!
//! Every text field of a produced posting is normalised ([`anjia_domain::text::normalize`]) and has
//! natural persons' names masked ([`names::mask_person_names`]).

use anjia_domain::{NewPosting, Rejection};
use std::path::Path;

pub mod canonical;
pub mod names;
pub mod price;
pub mod title;

mod ali;
mod asset;
mod sf_taobao;
mod util;

/// The file formats anjia can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    /// Ali judicial list-API JSON (`ali-list`).
    AliListJson,
    /// sf_taobao CSV export (`sf-taobao`).
    SfTaobaoCsv,
    /// JD asset-auction JSON `{"jd":[…]}` (`jd-asset`).
    JdAssetJson,
    /// Taobao asset-auction JSON `{"tb":[…]}` (`taobao-asset`).
    TaobaoAssetJson,
    /// Canonical JSON Lines, one `NewPosting` per line (`jsonl`).
    CanonicalJsonl,
}

impl ImportKind {
    /// Every kind, in declaration order.
    pub const ALL: &[ImportKind] = &[
        ImportKind::AliListJson,
        ImportKind::SfTaobaoCsv,
        ImportKind::JdAssetJson,
        ImportKind::TaobaoAssetJson,
        ImportKind::CanonicalJsonl,
    ];

    /// The name used on the command line: `ali-list`, `sf-taobao`, `jd-asset`, `taobao-asset`, `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::AliListJson => "ali-list",
            ImportKind::SfTaobaoCsv => "sf-taobao",
            ImportKind::JdAssetJson => "jd-asset",
            ImportKind::TaobaoAssetJson => "taobao-asset",
            ImportKind::CanonicalJsonl => "jsonl",
        }
    }

    /// The importer name written to [`NewPosting::importer`] (`ali_list_json`, `sf_taobao_csv`,
    /// `jd_asset_json`, `taobao_asset_json`, `canonical_jsonl`).
    pub fn importer_name(self) -> &'static str {
        match self {
            ImportKind::AliListJson => "ali_list_json",
            ImportKind::SfTaobaoCsv => "sf_taobao_csv",
            ImportKind::JdAssetJson => "jd_asset_json",
            ImportKind::TaobaoAssetJson => "taobao_asset_json",
            ImportKind::CanonicalJsonl => "canonical_jsonl",
        }
    }

    /// Parses [`ImportKind::as_str`] output; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Parses a kind name, with an error listing the valid names.
    ///
    /// # Errors
    /// [`IngestError::UnknownKind`] when `s` is not one of [`ImportKind::as_str`]'s values.
    pub fn parse_or_err(s: &str) -> Result<Self, IngestError> {
        Self::parse(s).ok_or_else(|| IngestError::UnknownKind(s.to_string()))
    }

    /// The valid names, comma-separated, for messages.
    pub fn valid_names() -> String {
        Self::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for ImportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of parsing one file: the postings and the rejected records.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// Format of the file.
    pub kind: ImportKind,
    /// File name as given (for summaries and rejection reports).
    pub file: String,
    /// Records read (data lines or array items; headers and blank lines excluded).
    pub records_read: u64,
    /// Postings produced, in file order.
    pub postings: Vec<NewPosting>,
    /// Records not imported, with location and reason.
    pub rejections: Vec<Rejection>,
}

/// A problem with a whole file. No postings are produced when one occurs.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path of the file.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is empty (or only white space).
    #[error("{file}: the file is empty")]
    Empty {
        /// File name.
        file: String,
    },
    /// The file is not valid JSON (truncated, syntax error) or not of the expected shape.
    #[error("{file}: invalid JSON at line {line}, column {column}: {msg}")]
    InvalidJson {
        /// File name.
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        msg: String,
    },
    /// The CSV header is not the one the format requires.
    #[error("{file}: wrong CSV header: expected {expected:?}, found {found:?}")]
    WrongCsvHeader {
        /// File name.
        file: String,
        /// The header required.
        expected: String,
        /// The header found.
        found: String,
    },
    /// The CSV could not be read at all (e.g. the header is not UTF-8).
    #[error("{file}: invalid CSV: {msg}")]
    InvalidCsv {
        /// File name.
        file: String,
        /// What is wrong.
        msg: String,
    },
    /// Unknown import kind name.
    #[error(
        "unknown import kind {0:?}; valid kinds: ali-list, sf-taobao, jd-asset, taobao-asset, jsonl"
    )]
    UnknownKind(String),
}

/// Reads and parses a file.
///
/// The file name (last path component) is used for the bundled snapshots' fetch date (see each
/// format's documentation) and in messages.
///
/// # Errors
/// [`IngestError::Io`] when the file cannot be read; otherwise as [`parse_bytes`].
pub fn parse_file(kind: ImportKind, path: &Path) -> Result<ParsedFile, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    parse_bytes(kind, &name, &bytes)
}

/// Parses the content of a file named `file_name`.
///
/// # Errors
/// [`IngestError::Empty`] for an empty or blank file, [`IngestError::InvalidJson`] for JSON that does
/// not parse or has the wrong shape, [`IngestError::WrongCsvHeader`] / [`IngestError::InvalidCsv`] for
/// CSV problems. Single bad records are reported in [`ParsedFile::rejections`] instead.
pub fn parse_bytes(
    kind: ImportKind,
    file_name: &str,
    bytes: &[u8],
) -> Result<ParsedFile, IngestError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty {
            file: file_name.to_string(),
        });
    }
    let mut out = ParsedFile {
        kind,
        file: file_name.to_string(),
        records_read: 0,
        postings: Vec::new(),
        rejections: Vec::new(),
    };
    match kind {
        ImportKind::AliListJson => ali::parse(file_name, bytes, &mut out)?,
        ImportKind::SfTaobaoCsv => sf_taobao::parse(file_name, bytes, &mut out)?,
        ImportKind::JdAssetJson => asset::parse(asset::Source::Jd, file_name, bytes, &mut out)?,
        ImportKind::TaobaoAssetJson => {
            asset::parse(asset::Source::Taobao, file_name, bytes, &mut out)?
        }
        ImportKind::CanonicalJsonl => canonical::parse(file_name, bytes, &mut out)?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in ImportKind::ALL {
            assert_eq!(ImportKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(ImportKind::parse("csv"), None);
        let e = ImportKind::parse_or_err("csv").unwrap_err().to_string();
        assert!(e.contains("sf-taobao") && e.contains("jsonl"), "{e}");
        assert_eq!(
            ImportKind::valid_names(),
            "ali-list, sf-taobao, jd-asset, taobao-asset, jsonl"
        );
    }

    #[test]
    fn empty_files_are_errors() {
        for k in ImportKind::ALL {
            assert!(matches!(
                parse_bytes(*k, "x", b" \n"),
                Err(IngestError::Empty { .. })
            ));
        }
    }
}
