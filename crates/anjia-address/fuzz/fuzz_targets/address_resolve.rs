//! `cargo fuzz run address_resolve` (from crates/anjia-address): resolution of arbitrary text,
//! with and without a hint, never panics and is deterministic.
#![no_main]

use anjia_address::Resolver;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = Resolver::bundled();
    let a = r.resolve(&text);
    assert_eq!(a, r.resolve(&text));
    // Second half as a hint.
    let mid = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let (t, h) = text.split_at(mid);
    let _ = r.resolve_with_hint(t, Some(h));
});
