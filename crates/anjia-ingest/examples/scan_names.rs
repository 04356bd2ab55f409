//! Prints every title of a file in which person names were found, with the masked title
//! (for reviewing the detector): `cargo run -p anjia-ingest --example scan_names -- KIND FILE`.

use anjia_ingest::{ImportKind, names::find_person_names, parse_file};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1).and_then(|k| ImportKind::parse(k)), args.get(2))
    else {
        eprintln!("usage: scan_names KIND FILE");
        return;
    };
    match parse_file(kind, std::path::Path::new(path)) {
        Ok(f) => {
            for p in &f.postings {
                let raw = p.raw.get("address").or(p.raw.get("title"));
                let raw = raw.and_then(|v| v.as_str()).unwrap_or("");
                let norm = anjia_domain::text::normalize(raw);
                let (_, body) = anjia_ingest::title::strip_round_prefix(&norm);
                let n = find_person_names(body);
                if !n.is_empty() {
                    let names: Vec<_> = n.iter().map(|m| m.name.as_str()).collect();
                    println!("{}\t{}\t{}", p.source_item_id, names.join(","), p.title);
                }
            }
        }
        Err(e) => eprintln!("{e}"),
    }
}
