//! The causal district monthly price index.
//!
//! For each district and calendar month `m` the level is the median of ln(unit price) of the
//! trades in a trailing window ending at `m` — one month when it holds at least
//! [`MIN_TRADES`] trades, else 2, 3 or 6 months — so **only trades of month `m` or earlier** are
//! used. Months without enough trades carry the previous level forward. The same is computed for
//! the whole city as a fallback. Levels are natural logarithms of 元/m².

use crate::district::District;
use crate::lianjia::Trade;
use time::{Date, Month};

/// Trades needed in the window for a level.
pub const MIN_TRADES: usize = 30;
const WINDOWS: [i32; 4] = [1, 2, 3, 6];

/// A month counted from year 0: `year * 12 + (month - 1)`.
pub fn month_no(d: Date) -> i32 {
    d.year() * 12 + (d.month() as i32 - 1)
}

/// The first day of a month number.
pub fn month_start(m: i32) -> Date {
    let y = m.div_euclid(12);
    let mo = Month::try_from((m.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    Date::from_calendar_date(y, mo, 1).unwrap_or(Date::MIN)
}

/// One point of a district's monthly index series.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IndexPoint {
    /// Calendar year.
    pub year: i32,
    /// Calendar month 1–12.
    pub month: u8,
    /// Index level: the median unit price of the window, 元/m².
    pub level_yuan_m2: u32,
    /// Trades of this month in the district (the window may be longer when this is small).
    pub trades: u32,
    /// Months in the window (1, 2, 3 or 6; 0 when the level was carried forward).
    pub window_months: u8,
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    ln_level: f64,
    trades: u32,
    window: u8,
}

/// District and city-wide monthly levels.
#[derive(Debug, Clone)]
pub struct PriceIndex {
    first_month: i32,
    /// `series[0]` = city, `series[1 + district.index()]` = district; one cell per month.
    series: Vec<Vec<Option<Cell>>>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl PriceIndex {
    /// Builds the index from trades (any order).
    pub fn build(trades: &[Trade]) -> PriceIndex {
        let (Some(first), Some(last)) = (
            trades.iter().map(|t| month_no(t.date)).min(),
            trades.iter().map(|t| month_no(t.date)).max(),
        ) else {
            return PriceIndex {
                first_month: 0,
                series: vec![Vec::new(); District::COUNT + 1],
            };
        };
        let months = (last - first + 1) as usize;
        // buckets[s][m] = ln prices
        let mut buckets: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); months]; District::COUNT + 1];
        for t in trades {
            let m = (month_no(t.date) - first) as usize;
            let lp = f64::from(t.unit_price_yuan_m2).ln();
            buckets[0][m].push(lp);
            buckets[1 + t.district.index()][m].push(lp);
        }
        let mut series = Vec::with_capacity(buckets.len());
        let mut scratch = Vec::new();
        for b in &buckets {
            let mut cells: Vec<Option<Cell>> = Vec::with_capacity(months);
            for m in 0..months {
                let mut cell = None;
                for w in WINDOWS {
                    let lo = (m as i32 - w + 1).max(0) as usize;
                    let n: usize = b[lo..=m].iter().map(Vec::len).sum();
                    if n >= MIN_TRADES {
                        scratch.clear();
                        for v in &b[lo..=m] {
                            scratch.extend_from_slice(v);
                        }
                        cell = Some(Cell {
                            ln_level: median(&mut scratch),
                            trades: b[m].len() as u32,
                            window: w as u8,
                        });
                        break;
                    }
                }
                if cell.is_none() {
                    cell = cells.last().copied().flatten().map(|c| Cell {
                        trades: b[m].len() as u32,
                        window: 0,
                        ..c
                    });
                }
                cells.push(cell);
            }
            series.push(cells);
        }
        PriceIndex {
            first_month: first,
            series,
        }
    }

    fn cell(&self, district: Option<District>, month: i32) -> Option<Cell> {
        let s = &self.series[district.map_or(0, |d| 1 + d.index())];
        if s.is_empty() || month < self.first_month {
            return None;
        }
        let i = ((month - self.first_month) as usize).min(s.len() - 1);
        s[i]
    }

    /// ln level of a district (or the city with `None`) in a month; months after the data take
    /// the last level. `None` before the district's first level.
    pub fn ln_level(&self, district: Option<District>, month: i32) -> Option<f64> {
        self.cell(district, month).map(|c| c.ln_level)
    }

    /// ln(level(to) / level(from)) for a district, falling back to the city when the district has
    /// no level in either month.
    pub fn ln_ratio(&self, district: District, from: i32, to: i32) -> Option<f64> {
        match (
            self.ln_level(Some(district), from),
            self.ln_level(Some(district), to),
        ) {
            (Some(a), Some(b)) => Some(b - a),
            _ => Some(self.ln_level(None, to)? - self.ln_level(None, from)?),
        }
    }

    /// Monthly growth of ln level over the `months` months ending at `month` (per month).
    pub fn ln_slope(&self, district: Option<District>, month: i32, months: i32) -> Option<f64> {
        let a = self.ln_level(district, month - months)?;
        let b = self.ln_level(district, month)?;
        Some((b - a) / f64::from(months))
    }

    /// The first month number with data.
    pub fn first_month(&self) -> i32 {
        self.first_month
    }

    /// The series of a district (or the city with `None`), oldest first, from its first level.
    pub fn series(&self, district: Option<District>) -> Vec<IndexPoint> {
        let s = &self.series[district.map_or(0, |d| 1 + d.index())];
        s.iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let c = (*c)?;
                let d = month_start(self.first_month + i as i32);
                Some(IndexPoint {
                    year: d.year(),
                    month: d.month() as u8,
                    level_yuan_m2: c.ln_level.exp().round() as u32,
                    trades: c.trades,
                    window_months: c.window,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lianjia::{Features, FloorBand};
    use crate::point::{CoordSystem, MarketPoint};
    use anjia_domain::geo::LngLat;

    pub(crate) fn trade(id: &str, district: u8, date: Date, price: u32) -> Trade {
        Trade {
            id: id.into(),
            community_id: 1,
            district: District::from_code(district).unwrap(),
            point: MarketPoint::new(CoordSystem::Wgs84, 116.4, 39.9).unwrap(),
            wgs84: LngLat::new(116.4, 39.9),
            date,
            unit_price_yuan_m2: price,
            total_price_fen: 0,
            features: Features {
                area_m2: 80.0,
                bedrooms: 2,
                living_rooms: 1,
                bathrooms: 1,
                floor_band: FloorBand::Middle,
                total_floors: Some(6),
                building_year: Some(2000),
                building_type: None,
                elevator: None,
                renovation: None,
                subway: None,
                five_years: None,
            },
        }
    }

    fn day(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn index_is_causal() {
        // 40 trades a month at 10,000 in Jan–Mar 2015, then a jump to 20,000 in April.
        let mut trades = Vec::new();
        for (m, p) in [(1u8, 10_000u32), (2, 10_000), (3, 10_000), (4, 20_000)] {
            for i in 0..40 {
                trades.push(trade(
                    &format!("{m}-{i}"),
                    7,
                    day(2015, m, 1 + (i % 28) as u8),
                    p,
                ));
            }
        }
        let idx = PriceIndex::build(&trades);
        let chaoyang = District::from_code(7);
        let march = month_no(day(2015, 3, 1));
        assert_eq!(
            idx.ln_level(chaoyang, march).unwrap().exp().round(),
            10_000.0
        );
        assert_eq!(
            idx.ln_level(chaoyang, march + 1).unwrap().exp().round(),
            20_000.0
        );
        // Adding trades in a later month never changes an earlier level.
        let mut later = trades.clone();
        for i in 0..40 {
            later.push(trade(&format!("5-{i}"), 7, day(2015, 5, 1), 90_000));
        }
        let idx2 = PriceIndex::build(&later);
        for m in month_no(day(2015, 1, 1))..=month_no(day(2015, 4, 1)) {
            assert_eq!(idx.ln_level(chaoyang, m), idx2.ln_level(chaoyang, m));
        }
        let s = idx.series(chaoyang);
        assert_eq!(s.len(), 4);
        assert_eq!(
            (s[3].year, s[3].month, s[3].level_yuan_m2),
            (2015, 4, 20_000)
        );
    }

    #[test]
    fn thin_months_pool_or_carry_forward() {
        let mut trades = Vec::new();
        for i in 0..30 {
            trades.push(trade(
                &format!("a{i}"),
                12,
                day(2014, 1, 1 + (i % 28) as u8),
                8_000,
            ));
        }
        // 10 trades in February only: the 2-month window (40 trades) gives the level.
        for i in 0..10 {
            trades.push(trade(&format!("b{i}"), 12, day(2014, 2, 1), 12_000));
        }
        let idx = PriceIndex::build(&trades);
        let mentougou = District::from_code(12);
        let feb = idx.series(mentougou)[1];
        assert_eq!(feb.window_months, 2);
        assert_eq!(feb.level_yuan_m2, 8_000);
        // A district without trades has no level; the ratio falls back to the city.
        let d = District::from_code(5).unwrap();
        assert_eq!(idx.ln_level(Some(d), month_no(day(2014, 2, 1))), None);
        assert!(
            idx.ln_ratio(d, month_no(day(2014, 1, 1)), month_no(day(2014, 2, 1)))
                .is_some()
        );
    }
}
