//! The canonical JSON Lines format (`jsonl`): one [`NewPosting`] per line, serialised with serde
//! (field names as in the struct, money in fen, times RFC 3339 UTC, `raw` included). It is both an
//! import format and the export format; see `docs/CANONICAL-FORMAT.md`.
//!
//! Blank lines are skipped. A line that is not a valid posting is rejected (`bad_json`, naming the
//! line and serde's message); a repeated `(platform, source_item_id)` is rejected as
//! `duplicate_in_file`. Person names detected in the title are masked again on import (in title,
//! address and community), so a hand-edited file cannot bring them in.

use crate::{IngestError, ParsedFile, names};
use anjia_domain::{NewPosting, Rejection, text::normalize};

use std::collections::HashSet;
use std::io::{self, Write};

/// Writes postings as JSON Lines (one compact JSON object per line, `\n`-terminated).
///
/// # Errors
/// Any I/O error of `w`.
pub fn write_jsonl<'a, W: Write>(
    mut w: W,
    postings: impl IntoIterator<Item = &'a NewPosting>,
) -> io::Result<()> {
    for p in postings {
        serde_json::to_writer(&mut w, p).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Parses one line of the canonical format into a posting. The title is normalised; person names
/// detected in it are masked in the title, address and community.
///
/// # Errors
/// serde's message when the line is not a posting.
pub fn read_line(line: &str) -> Result<NewPosting, String> {
    let mut p: NewPosting = serde_json::from_str(line).map_err(|e| e.to_string())?;
    // Names are detected in the title (where their context is) and masked wherever they occur.
    p.title = normalize(&p.title);
    let found = names::find_person_names(&p.title);
    if !found.is_empty() {
        let mask = |s: &str| {
            let mut s = s.to_string();
            for m in &found {
                s = s.replace(&m.name, &anjia_domain::mask::mask_person_name(&m.name));
            }
            s
        };
        p.title = mask(&p.title);
        p.address = mask(&p.address);
        p.community = p.community.as_deref().map(mask);
    }
    Ok(p)
}

pub(crate) fn parse(file: &str, bytes: &[u8], out: &mut ParsedFile) -> Result<(), IngestError> {
    let _ = file;
    let mut seen = HashSet::new();
    for (i, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let Ok(line) = std::str::from_utf8(raw_line) else {
            out.records_read += 1;
            out.rejections.push(Rejection {
                location: format!("line {line_no}"),
                reason: "bad_encoding".into(),
                detail: "not valid UTF-8".into(),
            });
            continue;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        out.records_read += 1;
        match read_line(line) {
            Ok(p) => {
                if seen.insert((p.platform, p.source_item_id.clone())) {
                    out.postings.push(p);
                } else {
                    out.rejections.push(Rejection {
                        location: format!("line {line_no}"),
                        reason: "duplicate_in_file".into(),
                        detail: format!(
                            "{} {} already seen in this file",
                            p.platform, p.source_item_id
                        ),
                    });
                }
            }
            Err(e) => out.rejections.push(Rejection {
                location: format!("line {line_no}"),
                reason: "bad_json".into(),
                detail: e,
            }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example line of `docs/CANONICAL-FORMAT.md` (times as RFC 3339 strings, the date as
    /// `YYYY-MM-DD`, absent optional fields) is a valid posting, and writing it gives the same
    /// string forms back.
    #[test]
    fn the_documented_example_reads_and_writes_the_documented_forms() {
        let doc = include_str!("../../../docs/CANONICAL-FORMAT.md");
        let line = doc
            .lines()
            .find(|l| l.starts_with("{\"platform\""))
            .expect("example line in the document");
        let p = read_line(line).expect("the documented example is a posting");
        assert_eq!(p.fetched_at, time::macros::datetime!(2020-04-30 16:00 UTC));
        assert_eq!(p.listed_on, Some(time::macros::date!(2020 - 05 - 01)));
        assert_eq!(p.auction_start, None);
        let mut out = Vec::new();
        write_jsonl(&mut out, [&p]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["fetched_at"], "2020-04-30T16:00:00Z");
        assert_eq!(v["listed_on"], "2020-05-01");
        assert_eq!(v["auction_start"], serde_json::Value::Null);
        assert_eq!(
            read_line(std::str::from_utf8(&out).unwrap().trim()).unwrap(),
            p
        );
    }
}
