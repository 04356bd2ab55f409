//! `cargo fuzz run valuation_body` (from crates/anjia-web): any bytes as a `POST
//! /api/v1/valuations` body go through the same steps as the handler before the market is asked —
//! JSON into [`ValuationBody`], [`ValuationBody::into_request`], [`property_input`] — without
//! panicking; an accepted property has an area in [5, 10000] m².
#![no_main]

use anjia_web::valuation::api::{ValuationBody, property_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<ValuationBody>(data) else {
        return;
    };
    let Ok((req, _location)) = body.into_request() else {
        return;
    };
    let today = time::macros::date!(2026 - 11 - 30);
    if let Ok(p) = property_input(&req, today) {
        assert!((5.0..=10_000.0).contains(&p.features.area_m2));
    }
});
