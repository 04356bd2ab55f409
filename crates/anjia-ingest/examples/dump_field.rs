//! Prints `title<TAB>property_type<TAB>district<TAB>city` for every posting of a file (for review):
//! `cargo run -p anjia-ingest --example dump_field -- KIND FILE`.

use anjia_ingest::{ImportKind, parse_file};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(path)) = (args.get(1).and_then(|k| ImportKind::parse(k)), args.get(2))
    else {
        eprintln!("usage: dump_field KIND FILE");
        return;
    };
    if let Ok(f) = parse_file(kind, std::path::Path::new(path)) {
        for p in &f.postings {
            println!(
                "{}\t{}\t{}\t{}\t{:?}\t{:?}",
                p.title,
                p.property_type,
                p.district.map(|c| c.to_string()).unwrap_or_default(),
                p.city.map(|c| c.to_string()).unwrap_or_default(),
                p.community,
                p.building_area_m2
            );
        }
    }
}
