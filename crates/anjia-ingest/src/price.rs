//! Reconstruction of the sf_taobao prices that the original scraper cut at the first thousands
//! separator (`430` = 430,xxx yuan, `2` = 2,xxx,xxx yuan).
//!
//! # Method (validated in `tests/price_reconstruction.rs`, results in `docs/PRICE-RECONSTRUCTION.md`)
//!
//! 1. **Magnitude.** The published figure `n` (1–999) is the leading group of a number with 0, 1, 2
//!    or 3 more groups of three digits: `n`, `n,xxx`, `n,xxx,xxx`, `n,xxx,xxx,xxx`. The deposit (保证金)
//!    is exact, and by law it is 5%–20% of the start price (最高人民法院关于人民法院网络司法拍卖若干问题
//!    的规定, 2017, art. 17). The magnitude whose band `[n·10^k, (n+1)·10^k)` overlaps
//!    `[deposit/0.20, deposit/0.05]` is chosen; when several or none do, the one whose band midpoint
//!    gives the deposit ratio closest to 10% (on a log scale) wins. Without a deposit the bid
//!    increment (typically 0.1%–1% of the start price) is used the same way, and without either the
//!    thousands band is assumed.
//! 2. **Value inside the band.** If `deposit / r` for a round ratio `r` ∈ {10%, 20%, 15%, 5%} (the
//!    ratios courts use, in order of frequency in the data) falls in the band, that value is taken
//!    (`deposit_ratio_10pct` …) — for the million band only when the deposit has at least two
//!    significant digits (a deposit of 100,000 says little about a 1,xxx,xxx price). Otherwise the
//!    geometric midpoint of the band is taken (`band_midpoint`), which for a log-uniform price is the
//!    median.
//! 3. **Appraised value.** Same magnitude rule with the start price instead of the deposit: the
//!    appraisal is at least the start price in practice, and the first-round start price is at least
//!    70% of it (art. 26 of the same provisions); the band is chosen so that start/appraisal lies in
//!    [0.4, 1.05] when possible. Inside a coarse band, if the start price's band is the same band, the
//!    appraisal is taken equal to the start price clamped to the band (`start_price_ratio_100pct`,
//!    the most frequent first-round ratio); otherwise the band midpoint.

use anjia_domain::{Money, PricePrecision, PriceValue};

/// Round deposit ratios courts use, most frequent first (measured on the 4,270 sf_taobao lots whose
/// start price is known to the thousand: 10% 515, 20% 227, 15% 89, 5% 14 exact hits).
pub const DEPOSIT_RATIOS: &[(f64, &str)] = &[
    (0.10, "deposit_ratio_10pct"),
    (0.20, "deposit_ratio_20pct"),
    (0.15, "deposit_ratio_15pct"),
    (0.05, "deposit_ratio_5pct"),
];

/// Legal deposit range as a share of the start price (2017 provisions, art. 17: 5%–20%).
pub const DEPOSIT_LEGAL_RANGE: (f64, f64) = (0.05, 0.20);

const MAGNITUDES: [(PricePrecision, i64); 4] = [
    (PricePrecision::Exact, 1),
    (PricePrecision::Thousands, 1_000),
    (PricePrecision::Millions, 1_000_000),
    (PricePrecision::Billions, 1_000_000_000),
];

/// Cuts an exact yuan amount the way the sf_taobao scraper did: the digits before the first
/// thousands separator (`430,512` → 430, `2,253,785` → 2, `999` → 999). Used to validate the method.
pub fn truncate_like_sf(yuan: i64) -> i64 {
    let mut v = yuan.max(0);
    while v >= 1000 {
        v /= 1000;
    }
    v
}

/// The band `[low, high]` in yuan for a truncated figure at a magnitude.
fn band(n: i64, unit: i64) -> (i64, i64) {
    if unit == 1 {
        (n, n)
    } else {
        (n * unit, (n + 1) * unit - 1)
    }
}

fn log_dist(a: f64, b: f64) -> f64 {
    if a <= 0.0 || b <= 0.0 {
        return f64::INFINITY;
    }
    (a / b).ln().abs()
}

/// Chooses the magnitude of a truncated figure `n` so that `reference / price` falls in
/// `[lo_ratio, hi_ratio]`, else closest (log scale) to `target_ratio`.
fn choose_magnitude(
    n: i64,
    reference: f64,
    (lo_ratio, hi_ratio): (f64, f64),
    target_ratio: f64,
) -> (PricePrecision, i64) {
    let mut best = (MAGNITUDES[1], f64::INFINITY);
    for m in MAGNITUDES {
        let (p, unit) = m;
        if unit == 1 && n >= 1000 {
            continue;
        }
        if p == PricePrecision::Exact && n == 0 {
            continue;
        }
        let (lo, hi) = band(n, unit);
        let (lo, hi) = (lo as f64, (hi + 1) as f64);
        let overlaps = reference / hi_ratio < hi && reference / lo_ratio >= lo;
        let mid = (lo * hi).sqrt();
        let mut score = log_dist(reference / mid, target_ratio);
        if overlaps {
            score -= 100.0;
        }
        if score < best.1 {
            best = (m, score);
        }
    }
    best.0
}

fn significant_digits(mut v: i64) -> u32 {
    if v <= 0 {
        return 0;
    }
    while v % 10 == 0 {
        v /= 10;
    }
    v.to_string().len() as u32
}

fn estimate(precision: PricePrecision, lo: i64, hi: i64, value: i64, method: &str) -> PriceValue {
    let value = value.clamp(lo, hi);
    PriceValue {
        value: Money::from_yuan(value),
        precision,
        low: Money::from_yuan(lo),
        high: Money::from_yuan(hi),
        method: Some(method.to_string()),
    }
}

fn geometric_mid(lo: i64, hi: i64) -> i64 {
    ((lo as f64) * ((hi + 1) as f64)).sqrt().round() as i64
}

/// Reconstructs a start price (起拍价) from its truncated figure `n` (yuan, digits before the first
/// thousands separator), the exact deposit and the exact increment (both in fen, as [`Money`]).
///
/// Returns an exact [`PriceValue`] only when the figure is below 1,000 and the deposit says the price
/// is that small. Values are whole yuan within the band (`low`/`high` are the band limits).
pub fn reconstruct_start_price(
    n: i64,
    deposit: Option<Money>,
    increment: Option<Money>,
) -> PriceValue {
    let n = n.max(0);
    let deposit_yuan = deposit.map(|d| d.yuan_f64()).filter(|d| *d > 0.0);
    let (precision, unit) = match (deposit_yuan, increment.map(|i| i.yuan_f64())) {
        (Some(d), _) => choose_magnitude(n, d, DEPOSIT_LEGAL_RANGE, 0.10),
        (None, Some(i)) if i > 0.0 => choose_magnitude(n, i, (0.0005, 0.02), 0.005),
        _ => (PricePrecision::Thousands, 1_000),
    };
    if precision == PricePrecision::Exact {
        return PriceValue::exact(Money::from_yuan(n));
    }
    let (lo, hi) = band(n, unit);
    if let Some(d) = deposit {
        let d_yuan = d.fen() / 100;
        let coarse = unit >= 1_000_000;
        if !coarse || significant_digits(d_yuan) >= 2 {
            for (r, method) in DEPOSIT_RATIOS {
                let p = (d.fen() as f64 / 100.0 / r).round() as i64;
                if (lo..=hi).contains(&p) {
                    return estimate(precision, lo, hi, p, method);
                }
            }
        }
    }
    estimate(precision, lo, hi, geometric_mid(lo, hi), "band_midpoint")
}

/// Reconstructs an appraised value (评估价) from its truncated figure `n` given the reconstructed
/// start price. See the module documentation for the rules used.
pub fn reconstruct_appraisal(n: i64, start: &PriceValue) -> PriceValue {
    let n = n.max(0);
    let s = start.value.yuan_f64();
    let (precision, unit) = if s > 0.0 {
        choose_magnitude(n, s, (0.4, 1.05), 0.8)
    } else {
        (PricePrecision::Thousands, 1_000)
    };
    if precision == PricePrecision::Exact {
        return PriceValue::exact(Money::from_yuan(n));
    }
    let (lo, hi) = band(n, unit);
    let coarse = unit >= 1_000_000;
    if coarse && start.low.fen() / 100 == lo && start.high.fen() / 100 == hi {
        return estimate(
            precision,
            lo,
            hi,
            start.value.fen() / 100,
            "start_price_ratio_100pct",
        );
    }
    estimate(precision, lo, hi, geometric_mid(lo, hi), "band_midpoint")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn truncates_like_the_scraper() {
        assert_eq!(truncate_like_sf(430_512), 430);
        assert_eq!(truncate_like_sf(2_253_785), 2);
        assert_eq!(truncate_like_sf(999), 999);
        assert_eq!(truncate_like_sf(1_000), 1);
        assert_eq!(truncate_like_sf(12_345_678_901), 12);
    }

    #[test]
    fn chooses_magnitude_from_deposit() {
        // 430 with an 80,000 deposit: 430,xxx.
        let p = reconstruct_start_price(430, Some(Money::from_yuan(80_000)), None);
        assert_eq!(p.precision, PricePrecision::Thousands);
        assert_eq!(p.low, Money::from_yuan(430_000));
        assert_eq!(p.high, Money::from_yuan(430_999));
        assert_eq!(p.method.as_deref(), Some("band_midpoint"));
        // 1 with a 205,000 deposit: 1,xxx,xxx; 205,000 is 20% of 1,025,000.
        let p = reconstruct_start_price(1, Some(Money::from_yuan(205_000)), None);
        assert_eq!(p.precision, PricePrecision::Millions);
        assert_eq!(p.value, Money::from_yuan(1_025_000));
        assert_eq!(p.method.as_deref(), Some("deposit_ratio_20pct"));
        // 50 with an 8,386 deposit: 50,xxx.
        let p = reconstruct_start_price(50, Some(Money::from_yuan(8_386)), None);
        assert_eq!(p.precision, PricePrecision::Thousands);
        // A round deposit says little about a million band: midpoint.
        let p = reconstruct_start_price(1, Some(Money::from_yuan(100_000)), None);
        assert_eq!(p.precision, PricePrecision::Millions);
        assert_eq!(p.method.as_deref(), Some("band_midpoint"));
        // Deposit exactly 10% of a price in the band.
        let p = reconstruct_start_price(296, Some(Money::from_yuan(29_650)), None);
        assert_eq!(p.value, Money::from_yuan(296_500));
        assert_eq!(p.method.as_deref(), Some("deposit_ratio_10pct"));
    }

    #[test]
    fn appraisal_follows_start() {
        let s = reconstruct_start_price(296, Some(Money::from_yuan(30_000)), None);
        let a = reconstruct_appraisal(370, &s);
        assert_eq!(a.precision, PricePrecision::Thousands);
        assert_eq!(a.low, Money::from_yuan(370_000));
        let s = reconstruct_start_price(2, Some(Money::from_yuan(260_000)), None);
        let a = reconstruct_appraisal(3, &s);
        assert_eq!(a.precision, PricePrecision::Millions);
        assert_eq!(a.low, Money::from_yuan(3_000_000));
    }

    proptest! {
        #[test]
        fn value_within_band(n in 1i64..1000, d in proptest::option::of(0i64..10_000_000_000), i in proptest::option::of(0i64..1_000_000_000)) {
            let p = reconstruct_start_price(n, d.map(Money), i.map(Money));
            prop_assert!(p.low <= p.value && p.value <= p.high);
            prop_assert_eq!(truncate_like_sf(p.value.fen() / 100), n);
            let a = reconstruct_appraisal(n, &p);
            prop_assert!(a.low <= a.value && a.value <= a.high);
        }
    }
}
