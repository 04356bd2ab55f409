//! `cargo fuzz run parse_bytes` (from crates/anjia-ingest): every parser on arbitrary bytes.
#![no_main]

use anjia_ingest::{ImportKind, parse_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in ImportKind::ALL {
        let _ = parse_bytes(*kind, "fuzz_2020-05.bin", data);
    }
});
