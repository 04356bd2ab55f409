//! `anjia valuate`: batch valuation of a CSV in the Lianjia Beijing transaction layout.
//!
//! Input columns (by header name; others ignored): `id, Lng, Lat` (BD-09), `square, livingRoom,
//! drawingRoom, kitchen, bathRoom, floor, buildingType, constructionTime, renovationCondition,
//! buildingStructure, elevator, subway, fiveYearsProperty`, optional `district` (code 1–13 or
//! name) and `tradeTime` as the as-of date (`YYYY-MM-DD`). Output columns: `id,
//! estimate_unit_price_yuan_m2, estimate_total_wan, low_unit_price, high_unit_price,
//! comparables_used, method, error` — one line per input row, in input order; a row that cannot
//! be valued has empty estimate columns and the reason in `error`. The batch never stops for a
//! bad row; only an unreadable file or a header without the required columns fails it.

use anjia_valuation::lianjia::{self, Header};
use anjia_valuation::{MarketIndex, Subject, Valuation};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use time::Date;

/// Rows valued per parallel chunk.
const CHUNK: usize = 4_096;

/// Counts of a batch run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValuateSummary {
    /// Data rows read.
    pub rows: u64,
    /// Rows valued.
    pub valued: u64,
    /// Rows with an error instead of an estimate.
    pub errors: u64,
}

/// One input row after parsing: the subject and as-of date, or why it cannot be valued.
type Parsed = (String, Result<(Subject, Date), String>);

fn parse_row(h: &Header, rec: &csv::StringRecord) -> Parsed {
    let id = h.get(rec, "id").to_string();
    let parsed = (|| {
        let features = lianjia::parse_features(h, rec).map_err(|e| e.detail)?;
        let point = lianjia::parse_point(h, rec).map_err(|e| e.detail)?;
        let tt = h.get(rec, "tradeTime");
        let as_of = lianjia::parse_date(tt)
            .ok_or_else(|| format!("tradeTime = {tt:?}: not a date (YYYY-MM-DD)"))?;
        let district = Some(h.get(rec, "district").to_string()).filter(|d| !d.is_empty());
        Ok((
            Subject {
                point: Some(point),
                community_id: None,
                community_name: None,
                district,
                features,
            },
            as_of,
        ))
    })();
    (id, parsed)
}

fn write_row(w: &mut impl Write, id: &str, r: &Result<Valuation, String>) -> std::io::Result<()> {
    let mut c = csv::Writer::from_writer(Vec::new());
    let rec: Vec<String> = match r {
        Ok(v) => vec![
            id.to_string(),
            v.unit_price_yuan_m2.to_string(),
            format!("{:.2}", v.total_wan()),
            v.low_unit_price_yuan_m2.to_string(),
            v.high_unit_price_yuan_m2.to_string(),
            v.comparables.len().to_string(),
            v.method.as_str().to_string(),
            String::new(),
        ],
        Err(e) => vec![
            id.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            e.clone(),
        ],
    };
    c.write_record(&rec).map_err(std::io::Error::other)?;
    let bytes = c
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    w.write_all(&bytes)
}

/// Values every row of `input` with `market` and writes `output`; a progress bar on stderr
/// when `progress`.
///
/// # Errors
/// The input cannot be opened or read as CSV, its header lacks a required column, or the
/// output cannot be written.
pub fn valuate_file(
    market: &MarketIndex,
    input: &Path,
    output: &Path,
    progress: bool,
) -> anyhow::Result<ValuateSummary> {
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let required: Vec<&str> = Header::SUBJECT_COLUMNS.to_vec();
    let header = Header::new(
        rdr.headers()
            .with_context(|| format!("{}: cannot read the header", input.display()))?,
        &required,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    let out = std::fs::File::create(output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let mut w = std::io::BufWriter::new(out);
    writeln!(
        w,
        "id,estimate_unit_price_yuan_m2,estimate_total_wan,low_unit_price,high_unit_price,comparables_used,method,error"
    )?;
    let pb = if progress {
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template(
                "valuating [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let mut summary = ValuateSummary::default();
    let mut chunk: Vec<Parsed> = Vec::with_capacity(CHUNK);
    let mut rec = csv::StringRecord::new();
    loop {
        let more = match rdr.read_record(&mut rec) {
            Ok(true) => {
                chunk.push(parse_row(&header, &rec));
                true
            }
            Ok(false) => false,
            Err(e) => {
                // A malformed record (e.g. an unclosed quote): report it on its own line.
                let line = e.position().map_or(0, |p| p.line());
                chunk.push((
                    String::new(),
                    Err(format!("line {line}: unreadable CSV record: {e}")),
                ));
                !matches!(e.kind(), csv::ErrorKind::Io(_))
            }
        };
        if chunk.len() >= CHUNK || (!more && !chunk.is_empty()) {
            let results: Vec<Result<Valuation, String>> = chunk
                .par_iter()
                .map(|(_, p)| match p {
                    Ok((s, as_of)) => market.value(s, *as_of).map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                })
                .collect();
            for ((id, _), r) in chunk.iter().zip(&results) {
                summary.rows += 1;
                match r {
                    Ok(_) => summary.valued += 1,
                    Err(_) => summary.errors += 1,
                }
                write_row(&mut w, id, r)?;
            }
            chunk.clear();
            pb.set_position(rdr.position().byte());
        }
        if !more {
            break;
        }
    }
    w.flush()?;
    pb.finish_and_clear();
    Ok(summary)
}
