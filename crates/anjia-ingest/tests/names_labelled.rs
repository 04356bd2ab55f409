//! Precision and recall of person-name detection on the labelled sample
//! `tests/data/person_names_labelled.tsv` (every sf_taobao title naming a person, plus 410 without).

use anjia_domain::text::normalize;
use anjia_ingest::names::{find_person_names, mask_person_names};
use anjia_ingest::title::strip_round_prefix;

#[test]
fn detection_precision_and_recall() {
    let data = include_str!("data/person_names_labelled.tsv");
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut titles = 0;
    let mut errors = Vec::new();
    for line in data.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad line {line}");
        titles += 1;
        let want: Vec<&str> = cols[2].split(',').filter(|s| !s.is_empty()).collect();
        let norm = normalize(cols[1]);
        let (_, body) = strip_round_prefix(&norm);
        let mut got: Vec<String> = Vec::new();
        for m in find_person_names(body) {
            if !got.contains(&m.name) {
                got.push(m.name); // a name repeated in one title counts once, as in the labels
            }
        }
        let mut remaining = want.clone();
        for g in &got {
            if let Some(i) = remaining.iter().position(|w| w == g) {
                remaining.remove(i);
                tp += 1;
            } else {
                fp += 1;
                errors.push(format!("FP {g} in {}", cols[1]));
            }
        }
        fn_ += remaining.len();
        for r in remaining {
            errors.push(format!("FN {r} in {}", cols[1]));
        }
        // Masking leaves no labelled name behind.
        let masked = mask_person_names(body);
        for w in &want {
            if !got.iter().any(|g| g == w) {
                continue;
            }
            assert!(!masked.contains(w), "{w} still in {masked}");
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!(
        "name detection on {titles} titles: tp {tp}, fp {fp}, fn {fn_}; precision {precision:.3}, recall {recall:.3}"
    );
    for e in &errors {
        eprintln!("  {e}");
    }
    assert!(titles >= 148 + 300);
    assert!(recall >= 0.98, "recall {recall:.3}");
    assert!(precision >= 0.95, "precision {precision:.3}");
}
