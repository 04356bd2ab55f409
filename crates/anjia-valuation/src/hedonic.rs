//! The hedonic regression: ln(unit price) on the physical features of a flat.
//!
//! The response is ln(unit price) minus the district index level of the trade's month (so the
//! time trend is removed), and both sides are **demeaned within the community** before a ridge
//! least-squares fit (normal equations solved with nalgebra's Cholesky). The coefficients are
//! therefore within-community price differences — what is needed to adjust a nearby comparable for
//! differences in size, floor, age, fit-out… to the subject. Location-only variables (subway, and
//! most of building type) are nearly constant within a community and get coefficients near 0.
//!
//! One model per calendar year `Y`, fitted only on trades **before 1 January `Y`**.

use crate::lianjia::{BuildingType, Features, FloorBand, Renovation, Trade};
use crate::price_index::{PriceIndex, month_no};
use nalgebra::{SMatrix, SVector};
use std::collections::HashMap;

/// Number of regressors.
pub const P: usize = 24;

/// Names of the regressors, in order (for documentation and debugging).
pub const NAMES: [&str; P] = [
    "ln_area",
    "bedrooms",
    "living_rooms",
    "bathrooms",
    "floor_bottom",
    "floor_low",
    "floor_high",
    "floor_top",
    "floor_unknown",
    "ln_total_floors",
    "total_floors_unknown",
    "age_years",
    "age_sq_per_100",
    "age_unknown",
    "type_tower",
    "type_bungalow",
    "type_plate_tower",
    "type_unknown",
    "elevator",
    "renovation_rough",
    "renovation_simple",
    "renovation_hardcover",
    "subway",
    "five_years",
];

/// The regressor vector of a flat at a date (year of the trade or valuation, for the age).
pub fn regressors(f: &Features, year: i32) -> [f64; P] {
    let mut x = [0.0; P];
    x[0] = f.area_m2.max(1.0).ln();
    x[1] = f64::from(f.bedrooms.min(6));
    x[2] = f64::from(f.living_rooms.min(4));
    x[3] = f64::from(f.bathrooms.min(4));
    match f.floor_band {
        FloorBand::Bottom => x[4] = 1.0,
        FloorBand::Low => x[5] = 1.0,
        FloorBand::Middle => {}
        FloorBand::High => x[6] = 1.0,
        FloorBand::Top => x[7] = 1.0,
        FloorBand::Unknown => x[8] = 1.0,
    }
    match f.total_floors {
        Some(n) => x[9] = f64::from(n.max(1)).ln(),
        None => x[10] = 1.0,
    }
    match f.building_year {
        Some(b) if (1800..=year + 5).contains(&b) => {
            let age = f64::from((year - b).clamp(0, 100));
            x[11] = age;
            x[12] = age * age / 100.0;
        }
        _ => x[13] = 1.0,
    }
    match f.building_type {
        Some(BuildingType::Tower) => x[14] = 1.0,
        Some(BuildingType::Bungalow) => x[15] = 1.0,
        Some(BuildingType::PlateTower) => x[16] = 1.0,
        Some(BuildingType::Plate) => {}
        None => x[17] = 1.0,
    }
    x[18] = f64::from(u8::from(f.elevator == Some(true)));
    match f.renovation {
        Some(Renovation::Rough) => x[19] = 1.0,
        Some(Renovation::Simple) => x[20] = 1.0,
        Some(Renovation::Hardcover) => x[21] = 1.0,
        Some(Renovation::Other) | None => {}
    }
    x[22] = f64::from(u8::from(f.subway == Some(true)));
    x[23] = f64::from(u8::from(f.five_years == Some(true)));
    x
}

/// Coefficients of one year's model.
#[derive(Debug, Clone, PartialEq)]
pub struct Hedonic {
    /// Calendar year the model is used for (fitted on trades before 1 January of it).
    pub year: i32,
    /// Coefficient per regressor (ln price per unit), in [`NAMES`] order.
    pub beta: [f64; P],
    /// Trades the model was fitted on.
    pub trades: usize,
}

impl Hedonic {
    /// A model that adjusts nothing.
    pub fn zero(year: i32) -> Hedonic {
        Hedonic {
            year,
            beta: [0.0; P],
            trades: 0,
        }
    }

    /// ln(price of `to`) − ln(price of `from`) predicted by the model.
    pub fn ln_adjustment(&self, to: &[f64; P], from: &[f64; P]) -> f64 {
        (0..P).map(|i| self.beta[i] * (to[i] - from[i])).sum()
    }
}

/// Trades needed to fit a year's model; with fewer the model adjusts nothing.
pub const MIN_FIT_TRADES: usize = 2_000;
/// Ridge penalty added to the diagonal of XᵀX (in units of squared regressors; negligible next to
/// the thousands of trades, it only pins columns that are constant within every community).
pub const RIDGE: f64 = 1.0;

/// Fits the model for `year` on the trades dated before 1 January `year`.
#[allow(clippy::needless_range_loop)] // matrix code reads better with indices
pub fn fit(trades: &[Trade], index: &PriceIndex, year: i32) -> Hedonic {
    struct Acc {
        n: f64,
        y: f64,
        x: [f64; P],
    }
    let cutoff = year * 12;
    let rows: Vec<(u64, f64, [f64; P])> = trades
        .iter()
        .filter(|t| month_no(t.date) < cutoff)
        .filter_map(|t| {
            let lvl = index.ln_level(Some(t.district), month_no(t.date))?;
            let y = f64::from(t.unit_price_yuan_m2).ln() - lvl;
            Some((t.community_id, y, regressors(&t.features, t.date.year())))
        })
        .collect();
    if rows.len() < MIN_FIT_TRADES {
        return Hedonic::zero(year);
    }
    let mut means: HashMap<u64, Acc> = HashMap::new();
    for (c, y, x) in &rows {
        let a = means.entry(*c).or_insert(Acc {
            n: 0.0,
            y: 0.0,
            x: [0.0; P],
        });
        a.n += 1.0;
        a.y += y;
        for i in 0..P {
            a.x[i] += x[i];
        }
    }
    let mut xtx = SMatrix::<f64, P, P>::zeros();
    let mut xty = SVector::<f64, P>::zeros();
    for (c, y, x) in &rows {
        let a = &means[c];
        if a.n < 2.0 {
            continue;
        }
        let yd = y - a.y / a.n;
        let mut xd = [0.0; P];
        for i in 0..P {
            xd[i] = x[i] - a.x[i] / a.n;
        }
        for i in 0..P {
            xty[i] += xd[i] * yd;
            for j in i..P {
                xtx[(i, j)] += xd[i] * xd[j];
            }
        }
    }
    for i in 0..P {
        for j in 0..i {
            xtx[(i, j)] = xtx[(j, i)];
        }
        xtx[(i, i)] += RIDGE;
    }
    match xtx.cholesky() {
        Some(ch) => {
            let b = ch.solve(&xty);
            let mut beta = [0.0; P];
            for i in 0..P {
                beta[i] = if b[i].is_finite() { b[i] } else { 0.0 };
            }
            Hedonic {
                year,
                beta,
                trades: rows.len(),
            }
        }
        None => Hedonic::zero(year),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::district::District;
    use crate::lianjia::Trade;
    use crate::point::{CoordSystem, MarketPoint};
    use anjia_domain::geo::LngLat;
    use time::{Date, Month};

    fn features(area: f64, band: FloorBand) -> Features {
        Features {
            area_m2: area,
            bedrooms: 2,
            living_rooms: 1,
            bathrooms: 1,
            floor_band: band,
            total_floors: Some(6),
            building_year: Some(2000),
            building_type: Some(BuildingType::Plate),
            elevator: Some(false),
            renovation: Some(Renovation::Simple),
            subway: Some(true),
            five_years: Some(true),
        }
    }

    #[test]
    fn recovers_a_known_effect_within_communities() {
        // 50 communities at different price levels; within each, the top floor is 10% cheaper and
        // price per m² falls with ln(area) at −0.2. Communities differ a lot (that must not leak).
        // Every month has top and other floors alike, so the monthly index does not absorb it.
        let mut trades = Vec::new();
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for c in 0..50u64 {
            let base = 20_000.0 + 1_000.0 * c as f64;
            for i in 0..60 {
                let area = 50.0 + 100.0 * rnd();
                let top = i % 3 == 0;
                let ln_p = base.ln() - 0.2 * (area / 80.0).ln() - if top { 0.1 } else { 0.0 }
                    + 0.01 * (rnd() - 0.5);
                let month = Month::try_from(1 + (i / 5) as u8).unwrap();
                trades.push(Trade {
                    id: format!("{c}-{i}").into(),
                    community_id: c,
                    district: District::from_code(7).unwrap(),
                    point: MarketPoint::new(CoordSystem::Wgs84, 116.4, 39.9).unwrap(),
                    wgs84: LngLat::new(116.4, 39.9),
                    date: Date::from_calendar_date(2014, month, 15).unwrap(),
                    unit_price_yuan_m2: ln_p.exp().round() as u32,
                    total_price_fen: 0,
                    features: features(
                        area,
                        if top {
                            FloorBand::Top
                        } else {
                            FloorBand::Middle
                        },
                    ),
                });
            }
        }
        let idx = PriceIndex::build(&trades);
        let h = fit(&trades, &idx, 2015);
        assert_eq!(h.trades, 3_000);
        assert!((h.beta[0] + 0.2).abs() < 0.02, "ln_area {}", h.beta[0]);
        assert!((h.beta[7] + 0.1).abs() < 0.01, "floor_top {}", h.beta[7]);
        // Fitted for 2014: no trades before 2014 → no adjustment.
        assert_eq!(fit(&trades, &idx, 2014), Hedonic::zero(2014));
        let a = regressors(&features(60.0, FloorBand::Top), 2015);
        let b = regressors(&features(60.0, FloorBand::Middle), 2015);
        assert!((h.ln_adjustment(&a, &b) - h.beta[7]).abs() < 1e-12);
    }
}
