//! `cargo fuzz run id_document` (from crates/anjia-domain): every identity-document parser and the
//! 15-digit upgrade on arbitrary bytes (read as UTF-8, invalid sequences replaced), PRV-11.
#![no_main]

use anjia_domain::id_document::{DocumentType, parse, upgrade_15};
use libfuzzer_sys::fuzz_target;
use time::macros::date;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    for kind in DocumentType::ALL {
        if let Ok(doc) = parse(kind, &s, date!(2026 - 06 - 15)) {
            // A parsed document re-parses to itself (normalisation is idempotent).
            let again = parse(kind, doc.number(), date!(2026 - 06 - 15));
            assert_eq!(again.as_ref().map(|d| d.number()), Ok(doc.number()));
        }
    }
    let _ = upgrade_15(&s);
});
