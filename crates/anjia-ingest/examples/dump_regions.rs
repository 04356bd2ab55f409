//! Prints postings without a resolved district/city (for reviewing the region matcher):
//! `cargo run -p anjia-ingest --example dump_regions -- KIND FILE [city|district]`.

use anjia_ingest::{ImportKind, parse_file};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1).and_then(|k| ImportKind::parse(k)), args.get(2))
    else {
        eprintln!("usage: dump_regions KIND FILE [city|district]");
        return;
    };
    let level = args.get(3).map(String::as_str).unwrap_or("city");
    if let Ok(f) = parse_file(kind, std::path::Path::new(path)) {
        for p in &f.postings {
            let missing = match level {
                "district" => p.district.is_none(),
                _ => p.city.is_none(),
            };
            if missing {
                let hint = p.raw.get("disposal_place").or(p.raw.get("city"));
                println!(
                    "{}\t{:?}\t{}",
                    p.title,
                    hint,
                    p.province.map(|c| c.to_string()).unwrap_or_default()
                );
            }
        }
    }
}
