//! Valuing one property: [`MarketIndex::value`].

use crate::district::District;
use crate::hedonic::{P, regressors};
use crate::lianjia::Features;
use crate::market::MarketIndex;
use crate::point::MarketPoint;
use crate::price_index::month_no;
use anjia_domain::geo::{LngLat, haversine_km};
use serde::Serialize;
use time::Date;

/// The property to value.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// Where it is, if known as a point (any system; converted to WGS-84).
    pub point: Option<MarketPoint>,
    /// Lianjia community id (`Cid`), if known.
    pub community_id: Option<u64>,
    /// Community (小区) name as in the Beijing community file, if known.
    pub community_name: Option<String>,
    /// District name or Lianjia code (`朝阳`, `朝阳区`, `7`), if known.
    pub district: Option<String>,
    /// Physical features (building area m², rooms, floor band and total floors, building year,
    /// type, lift, renovation, subway, 满五).
    pub features: Features,
}

/// How the estimate was made, from the most to the least precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Nearest comparable trades, adjusted for time and features.
    Comparables,
    /// The average of the community's earlier trades (no comparables near enough).
    Community,
    /// The district price index level (nothing closer known); widest interval.
    District,
}

impl Method {
    /// `comparables`, `community`, `district`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Comparables => "comparables",
            Method::Community => "community",
            Method::District => "district",
        }
    }
}

/// A trade used as a comparable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparable {
    /// Lianjia trade id.
    pub id: String,
    /// Lianjia community id.
    pub community_id: u64,
    /// Distance from the subject, metres (great circle, WGS-84).
    pub distance_m: u32,
    /// Trade date (always strictly before the as-of date).
    pub trade_date: Date,
    /// Unit price of the trade, 元/m².
    pub unit_price_yuan_m2: u32,
    /// The unit price moved to the as-of date by the district index, 元/m².
    pub time_adjusted_yuan_m2: u32,
    /// The time-adjusted price further adjusted for the feature differences to the subject
    /// (hedonic model), 元/m² — the value the estimate is the weighted median of.
    pub adjusted_yuan_m2: u32,
    /// Normalised weight (the weights of all comparables sum to 1).
    pub weight: f64,
}

/// An estimated rent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RentEstimate {
    /// The 板块 whose rent level was used.
    pub bankuai: String,
    /// Mean monthly rent per listing of the 板块, 元/月.
    pub bankuai_mean_monthly_rent_yuan: u32,
    /// Estimated monthly rent of the subject, 元/月 (see [`crate::RentTable::beijing_estimate`]).
    pub estimated_monthly_rent_yuan: u32,
    /// Month of the rent data (`2024-12`), which is not the as-of date.
    pub data_month: &'static str,
}

/// The result of a valuation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Valuation {
    /// The as-of date; nothing on or after it was used.
    pub as_of: Date,
    /// How the estimate was made.
    pub method: Method,
    /// Estimated unit price, 元/m² (integer).
    pub unit_price_yuan_m2: u32,
    /// Estimated total = unit price × building area, **fen**.
    pub total_fen: i64,
    /// Lower end of the interval, 元/m².
    pub low_unit_price_yuan_m2: u32,
    /// Upper end of the interval, 元/m².
    pub high_unit_price_yuan_m2: u32,
    /// The comparables (empty unless `method` is `comparables`), highest weight first.
    pub comparables: Vec<Comparable>,
    /// District of the subject (given, or of the nearest trades).
    pub district: Option<District>,
    /// Community id, when the subject was given one or sits on a community's point.
    pub community_id: Option<u64>,
    /// Date of the latest trade the estimate could use (the data end when `as_of` is after it).
    pub data_as_of: Date,
    /// Rent estimate where rent data exists for the subject's 板块 (Beijing).
    pub rent: Option<RentEstimate>,
}

impl Valuation {
    /// The total in 万元 (display unit), rounded to 0.01.
    pub fn total_wan(&self) -> f64 {
        (self.total_fen as f64 / 1_000_000.0 * 100.0).round() / 100.0
    }
}

/// Why a property cannot be valued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValuationError {
    /// Area not a positive finite number, or above [`MAX_AREA_M2`].
    #[error("building area {0} m² is not valid: it must be greater than 0 and at most 10,000 m²")]
    BadArea(f64),
    /// Building year before 1800 or more than [`MAX_YEARS_TO_COMPLETION`] years after the as-of
    /// year.
    #[error(
        "building year {year} is not valid for a valuation as of {as_of}: it must be between 1800 and two years after the as-of year"
    )]
    BadBuildingYear {
        /// The year given.
        year: i32,
        /// The as-of date.
        as_of: Date,
    },
    /// Total floors 0 or over 120.
    #[error("total floors {0} is not valid: 1..=120")]
    BadTotalFloors(u16),
    /// The point is outside the box around China of the GCJ-02 formula.
    #[error("the coordinates ({lng}, {lat}) are outside China")]
    OutsideChina {
        /// Longitude given.
        lng: f64,
        /// Latitude given.
        lat: f64,
    },
    /// The district name is not one of the 13 Lianjia Beijing districts.
    #[error(
        "unknown district {0:?}: the market data covers the Beijing districts 东城 西城 朝阳 海淀 丰台 石景山 通州 昌平 大兴 亦庄开发区 顺义 房山 门头沟"
    )]
    UnknownDistrict(String),
    /// The community is not in the market data.
    #[error("unknown community {0:?}")]
    UnknownCommunity(String),
    /// No point, community or district: nothing to locate the property.
    #[error("no location: give a point, a community or a district")]
    NoLocation,
    /// The as-of date is before the market data allows a valuation.
    #[error("as-of date {as_of} is before the market data (first usable month starts {first})")]
    AsOfBeforeData {
        /// The as-of date.
        as_of: Date,
        /// First date a valuation can be made for.
        first: Date,
    },
    /// No trades near the point and no district to fall back on (e.g. outside Beijing).
    #[error(
        "no market data near this location: the trades cover Beijing only (nearest trade farther than {0} km)"
    )]
    NoMarketData(f64),
}

/// Years after the as-of year a building year may lie (flats sold off-plan, 期房, are completed
/// up to about two years after the sale; 8 of the Lianjia trades have such years).
pub const MAX_YEARS_TO_COMPLETION: i32 = 2;

/// Largest building area accepted, m².
pub const MAX_AREA_M2: f64 = 10_000.0;

/// Tunable constants of the model (defaults chosen with the backtest on the training 90%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelParams {
    /// Comparables used (the highest-weighted of the candidates).
    pub k: usize,
    /// Candidates considered before weighting.
    pub candidates: usize,
    /// Most recent trades taken from one site (community).
    pub per_site: usize,
    /// Search radius for comparables, km; beyond it the community/district fallbacks apply.
    pub max_radius_km: f64,
    /// Fewest comparables for the comparables method.
    pub min_comparables: usize,
    /// Distance scale of the weight 1 / (1 + (d / scale)²), km.
    pub distance_scale_km: f64,
    /// Age scale of the weight exp(−age / scale), days.
    pub age_scale_days: f64,
    /// Scale of the weight exp(−(hedonic adjustment / scale)²), ln units.
    pub adjustment_scale: f64,
    /// Share of the district's recent monthly trend extrapolated from the reference month to
    /// the as-of date (0 = none).
    pub momentum: f64,
    /// Months over which the trend is measured.
    pub momentum_months: i32,
    /// Radius within which a point falls back to the district of the nearest trade, km.
    pub district_radius_km: f64,
    /// Scale of the weight exp(−(ln(area ratio) / scale)²): similar sizes count more.
    pub area_scale: f64,
    /// Weight factor for a comparable that looks like the same building (same total floors and
    /// building year as the subject).
    pub same_building_bonus: f64,
    /// Weight factor for a comparable with the same layout (bedrooms and living rooms).
    pub layout_bonus: f64,
    /// Weight factor for a comparable in the same floor band.
    pub floor_bonus: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            k: 8,
            candidates: 150,
            per_site: 60,
            max_radius_km: 3.0,
            min_comparables: 3,
            distance_scale_km: 0.5,
            age_scale_days: 365.0,
            adjustment_scale: 0.25,
            momentum: 1.0,
            momentum_months: 3,
            district_radius_km: 10.0,
            area_scale: 0.3,
            same_building_bonus: 2.0,
            layout_bonus: 1.0,
            floor_bonus: 1.0,
        }
    }
}

fn weighted_quantile(v: &mut [(f64, f64)], q: f64) -> f64 {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for &(x, w) in v.iter() {
        acc += w;
        if acc >= q * total {
            return x;
        }
    }
    v.last().map_or(f64::NAN, |x| x.0)
}

struct Located {
    q: Option<LngLat>,
    district: Option<District>,
    community_id: Option<u64>,
}

impl MarketIndex {
    fn validate(&self, s: &Subject, as_of: Date) -> Result<(), ValuationError> {
        let a = s.features.area_m2;
        if !(a.is_finite() && a > 0.0 && a <= MAX_AREA_M2) {
            return Err(ValuationError::BadArea(a));
        }
        if let Some(y) = s.features.building_year
            && !(1800..=as_of.year() + MAX_YEARS_TO_COMPLETION).contains(&y)
        {
            return Err(ValuationError::BadBuildingYear { year: y, as_of });
        }
        if let Some(n) = s.features.total_floors
            && !(1..=120).contains(&n)
        {
            return Err(ValuationError::BadTotalFloors(n));
        }
        if let Some(p) = s.point
            && !p.in_china()
        {
            return Err(ValuationError::OutsideChina {
                lng: p.lng,
                lat: p.lat,
            });
        }
        let first = crate::price_index::month_start(self.index.first_month() + 2);
        if self.trades.is_empty() || as_of < first {
            return Err(ValuationError::AsOfBeforeData { as_of, first });
        }
        Ok(())
    }

    fn locate(&self, s: &Subject) -> Result<Located, ValuationError> {
        let mut district = match &s.district {
            Some(d) if !d.trim().is_empty() => Some(
                District::from_name(d).ok_or_else(|| ValuationError::UnknownDistrict(d.clone()))?,
            ),
            _ => None,
        };
        let mut community_id = s.community_id;
        if let Some(id) = community_id
            && self.site_of_community(id).is_none()
        {
            return Err(ValuationError::UnknownCommunity(id.to_string()));
        }
        if community_id.is_none()
            && let Some(name) = s.community_name.as_deref().filter(|n| !n.trim().is_empty())
        {
            let found = self.communities_named(name);
            let pick = found
                .iter()
                .filter(|c| self.site_of_community(c.id).is_some())
                .find(|c| district.is_none_or(|d| District::from_name(&c.district) == Some(d)));
            community_id = Some(
                pick.ok_or_else(|| ValuationError::UnknownCommunity(name.to_string()))?
                    .id,
            );
        }
        let mut q = s.point.map(MarketPoint::to_wgs84);
        if let Some(id) = community_id
            && let Some((p, d)) = self.community_location(id)
        {
            q.get_or_insert(p);
            district.get_or_insert(d);
        }
        if district.is_none()
            && let Some(p) = q
        {
            district = self.district_near(p, self.params.district_radius_km);
        }
        if q.is_none() && district.is_none() {
            return Err(ValuationError::NoLocation);
        }
        Ok(Located {
            q,
            district,
            community_id,
        })
    }

    /// Values a property as of a date from the trades **strictly before** that date.
    ///
    /// 1. **Comparables** (when the subject has a point, or a community whose point is known):
    ///    the nearest sites within [`ModelParams::max_radius_km`], up to
    ///    [`ModelParams::per_site`] most recent trades before `as_of` from each, until
    ///    [`ModelParams::candidates`] are gathered. Each is moved to `as_of` by the district
    ///    index (its month → the month before `as_of`, then the district's trend over the last
    ///    months × [`ModelParams::momentum`] for the remaining days), and adjusted for feature
    ///    differences by the hedonic model of `as_of`'s year. Weight = 1 / (1 + (d/0.5 km)²) ·
    ///    exp(−age/365 d) · exp(−(adjustment/0.25)²); the best `k` are kept; the estimate is
    ///    their weighted median, the interval their weighted 10th–90th percentiles widened to at
    ///    least ±5 %.
    /// 2. **Community**: the community's earlier trades, time-adjusted, their mean (interval at
    ///    least ±12 %).
    /// 3. **District**: the district index level of the month before `as_of` with the trend
    ///    (interval ±25 %).
    ///
    /// # Errors
    /// [`ValuationError`] for an invalid area, building year or floor count, coordinates outside
    /// China, an unknown district or community, no location at all, an as-of date before the
    /// data, or no market data near the point.
    pub fn value(&self, s: &Subject, as_of: Date) -> Result<Valuation, ValuationError> {
        self.validate(s, as_of)?;
        let loc = self.locate(s)?;
        let p = self.params;
        let as_of_month = month_no(as_of);
        let reference = as_of_month - 1;
        let hed = self.hedonic_for(as_of);
        let xs = regressors(&s.features, as_of.year());
        // Levels: the index up to the reference month (the month before as_of); after the middle
        // of the reference month the district's recent trend (× momentum) is extrapolated.
        let ref_mid = crate::price_index::month_start(reference) + time::Duration::days(15);
        let slope_per_day = |d: District| -> f64 {
            if p.momentum == 0.0 {
                return 0.0;
            }
            self.index
                .ln_slope(Some(d), reference, p.momentum_months)
                .or_else(|| self.index.ln_slope(None, reference, p.momentum_months))
                .unwrap_or(0.0)
                * p.momentum
                / 30.44
        };
        // ln(level(as_of) / level(t)) for a trade of district d on date t (t < as_of).
        let time_adj = |d: District, t: Date| -> f64 {
            let slope = slope_per_day(d);
            let after = |x: Date| ((x - ref_mid).whole_days().max(0)) as f64 * slope;
            let m = month_no(t);
            let base = if m <= reference {
                self.index.ln_ratio(d, m, reference).unwrap_or(0.0)
            } else {
                0.0
            };
            base + after(as_of) - after(t)
        };
        let data_as_of = self
            .trades
            .get(
                self.trades
                    .partition_point(|t| t.date < as_of)
                    .saturating_sub(1),
            )
            .map_or(as_of, |t| t.date);
        let rent = self.rent_for(&loc, s.features.area_m2);

        // 1. Comparables.
        if let Some(q) = loc.q {
            struct Cand {
                ti: u32,
                d_km: f64,
                ln_time: f64,
                ln_adj: f64,
                w: f64,
            }
            let mut cands: Vec<Cand> = Vec::with_capacity(p.candidates + p.per_site);
            let mut nearest_site_km = None;
            for (s_idx, _) in self.sites_near(q, p.max_radius_km) {
                let (tis, _, district, sp) = self.site_trades_before(s_idx, as_of);
                let d_km = haversine_km(q, sp);
                nearest_site_km.get_or_insert(d_km);
                if tis.is_empty() || d_km > p.max_radius_km {
                    continue;
                }
                for &ti in tis.iter().rev().take(p.per_site) {
                    let t = &self.trades[ti as usize];
                    let ln_time = time_adj(district, t.date);
                    let ln_adj = hed.map_or(0.0, |h| {
                        h.ln_adjustment(&xs, &regressors(&t.features, t.date.year()))
                    });
                    let age = (as_of - t.date).whole_days() as f64;
                    let w = 1.0 / (1.0 + (d_km / p.distance_scale_km).powi(2))
                        * (-age / p.age_scale_days).exp()
                        * (-(ln_adj / p.adjustment_scale).powi(2)).exp()
                        * (-((s.features.area_m2 / t.features.area_m2).ln() / p.area_scale)
                            .powi(2))
                        .exp()
                        * if s.features.total_floors.is_some()
                            && s.features.total_floors == t.features.total_floors
                            && s.features.building_year.is_some()
                            && s.features.building_year == t.features.building_year
                        {
                            p.same_building_bonus
                        } else {
                            1.0
                        }
                        * if s.features.bedrooms == t.features.bedrooms
                            && s.features.living_rooms == t.features.living_rooms
                        {
                            p.layout_bonus
                        } else {
                            1.0
                        }
                        * if s.features.floor_band == t.features.floor_band {
                            p.floor_bonus
                        } else {
                            1.0
                        };
                    cands.push(Cand {
                        ti,
                        d_km,
                        ln_time,
                        ln_adj,
                        w,
                    });
                }
                if cands.len() >= p.candidates {
                    break;
                }
            }
            if cands.len() >= p.min_comparables {
                cands.sort_by(|a, b| b.w.total_cmp(&a.w));
                cands.truncate(p.k);
                let total_w: f64 = cands.iter().map(|c| c.w).sum();
                let mut vals: Vec<(f64, f64)> = cands
                    .iter()
                    .map(|c| {
                        let t = &self.trades[c.ti as usize];
                        (
                            f64::from(t.unit_price_yuan_m2).ln() + c.ln_time + c.ln_adj,
                            c.w / total_w,
                        )
                    })
                    .collect();
                let est = weighted_quantile(&mut vals, 0.5).exp();
                let lo = weighted_quantile(&mut vals, 0.1).exp().min(est * 0.95);
                let hi = weighted_quantile(&mut vals, 0.9).exp().max(est * 1.05);
                let comparables = cands
                    .iter()
                    .map(|c| {
                        let t = &self.trades[c.ti as usize];
                        let lp = f64::from(t.unit_price_yuan_m2).ln();
                        Comparable {
                            id: t.id.to_string(),
                            community_id: t.community_id,
                            distance_m: (c.d_km * 1000.0).round() as u32,
                            trade_date: t.date,
                            unit_price_yuan_m2: t.unit_price_yuan_m2,
                            time_adjusted_yuan_m2: (lp + c.ln_time).exp().round() as u32,
                            adjusted_yuan_m2: (lp + c.ln_time + c.ln_adj).exp().round() as u32,
                            weight: c.w / total_w,
                        }
                    })
                    .collect();
                let district = loc
                    .district
                    .or_else(|| cands.first().map(|c| self.trades[c.ti as usize].district));
                return Ok(self.finish(
                    as_of,
                    Method::Comparables,
                    est,
                    lo,
                    hi,
                    comparables,
                    district,
                    loc.community_id.or_else(|| {
                        cands
                            .first()
                            .filter(|c| c.d_km < 0.001)
                            .map(|c| self.trades[c.ti as usize].community_id)
                    }),
                    data_as_of,
                    s.features.area_m2,
                    rent,
                ));
            }
            if loc.community_id.is_none() && loc.district.is_none() {
                return Err(ValuationError::NoMarketData(
                    nearest_site_km.map_or(p.max_radius_km, |d: f64| (d * 10.0).round() / 10.0),
                ));
            }
        }

        // 2. Community.
        if let Some(cid) = loc.community_id
            && let Some(s_idx) = self.site_of_community(cid)
        {
            let (tis, _, district, _) = self.site_trades_before(s_idx, as_of);
            if !tis.is_empty() {
                let mut vals: Vec<(f64, f64)> = tis
                    .iter()
                    .map(|&ti| {
                        let t = &self.trades[ti as usize];
                        let adj = hed.map_or(0.0, |h| {
                            h.ln_adjustment(&xs, &regressors(&t.features, t.date.year()))
                        });
                        (
                            f64::from(t.unit_price_yuan_m2).ln() + time_adj(district, t.date) + adj,
                            1.0,
                        )
                    })
                    .collect();
                let mean = vals.iter().map(|v| v.0).sum::<f64>() / vals.len() as f64;
                let est = mean.exp();
                let lo = weighted_quantile(&mut vals, 0.1).exp().min(est * 0.88);
                let hi = weighted_quantile(&mut vals, 0.9).exp().max(est * 1.12);
                return Ok(self.finish(
                    as_of,
                    Method::Community,
                    est,
                    lo,
                    hi,
                    Vec::new(),
                    Some(district),
                    Some(cid),
                    data_as_of,
                    s.features.area_m2,
                    rent,
                ));
            }
        }

        // 3. District.
        if let Some(d) = loc.district
            && let Some(l) = self.index.ln_level(Some(d), reference)
        {
            let est = (l + time_adj(d, crate::price_index::month_start(reference))).exp();
            return Ok(self.finish(
                as_of,
                Method::District,
                est,
                est * 0.75,
                est * 1.25,
                Vec::new(),
                Some(d),
                loc.community_id,
                data_as_of,
                s.features.area_m2,
                rent,
            ));
        }
        Err(ValuationError::NoMarketData(p.district_radius_km))
    }

    fn rent_for(&self, loc: &Located, area_m2: f64) -> Option<RentEstimate> {
        let bankuai = loc
            .community_id
            .and_then(|c| self.community(c))
            .map(|c| c.bizcircle.as_str())
            .filter(|b| !b.is_empty())
            .or_else(|| loc.q.and_then(|q| self.bizcircle_near(q, 1.0)))?;
        let (est, level) = self.rents.beijing_estimate(bankuai, area_m2)?;
        Some(RentEstimate {
            bankuai: level.area.clone(),
            bankuai_mean_monthly_rent_yuan: level.mean_monthly_rent_yuan,
            estimated_monthly_rent_yuan: est,
            data_month: level.data_month,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        as_of: Date,
        method: Method,
        est: f64,
        lo: f64,
        hi: f64,
        comparables: Vec<Comparable>,
        district: Option<District>,
        community_id: Option<u64>,
        data_as_of: Date,
        area_m2: f64,
        rent: Option<RentEstimate>,
    ) -> Valuation {
        let unit = est.round() as u32;
        Valuation {
            as_of,
            method,
            unit_price_yuan_m2: unit,
            total_fen: (f64::from(unit) * area_m2 * 100.0).round() as i64,
            low_unit_price_yuan_m2: lo.round() as u32,
            high_unit_price_yuan_m2: hi.round() as u32,
            comparables,
            district,
            community_id,
            data_as_of,
            rent,
        }
    }
}

/// Regressor count, re-exported for documentation.
pub const REGRESSORS: usize = P;
