//! Realistic synthetic postings for tests and benchmarks.
//!
//! The generator samples the real bundled Taobao judicial-auction list of May 2020
//! (`data/auctions/sf_taobao_2020-05.csv`, 5,999 lots): titles, disposal places (regions), round
//! prefixes, prices (start price, appraisal, deposit) and areas. Each synthetic posting recombines
//! the head of one real title (up to its first 路/街/道/巷/号) with the tail of another title from the
//! same place, re-draws the digits, and scales the prices of a real lot by a random factor, so the
//! vocabulary, regions, rounds, types and price distributions follow the real data while a million
//! postings are all different. Everything is drawn from a seeded RNG: the same `(seed, n)` always
//! yields the same postings.
//!
//! ```
//! let postings: Vec<_> = anjia_search::synth::Generator::bundled(42).take(3).collect();
//! assert_eq!(postings.len(), 3);
//! assert!(!postings[0].data.title.is_empty());
//! ```

use anjia_domain::{
    AuctionKind, Gazetteer, Money, NewPosting, Platform, Posting, PriceValue, PropertyType,
    RegionCode, Round, SellerKind, StoredStatus, region::RegionLevel, text::normalize,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::OnceLock;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The bundled real list the generator samples.
pub const BUNDLED_CSV: &str = include_str!("../../../data/auctions/sf_taobao_2020-05.csv");

/// The reference time of generated data: the snapshot date of the bundled list.
pub const REFERENCE_TIME: OffsetDateTime = datetime!(2020-05-15 00:00 UTC);

/// One real lot reduced to what the generator recombines.
#[derive(Debug, Clone)]
pub struct Template {
    /// Title without the round prefix, normalised.
    pub title: String,
    /// Round from the prefix.
    pub round: Round,
    /// Property type inferred from the title.
    pub property_type: PropertyType,
    /// Region resolved from the disposal place (most specific code found).
    pub region: Option<RegionCode>,
    /// Disposal place as published (e.g. `长沙市`).
    pub place: String,
    /// Reconstructed start price, yuan.
    pub start_yuan: i64,
    /// Reconstructed appraisal, yuan.
    pub appraisal_yuan: i64,
    /// Deposit, yuan (exact in the source).
    pub deposit_yuan: i64,
    /// Area in m² when the title states it.
    pub area_m2: Option<f64>,
}

/// Round from a title prefix such as `【第二次拍卖】`.
pub fn round_of_prefix(prefix: &str) -> Round {
    if prefix.contains("第二次") || prefix.contains("二拍") {
        Round::Second
    } else if prefix.contains("变卖") {
        Round::SellOff
    } else if prefix.contains("再次") || prefix.contains("重新") {
        Round::ReAuction
    } else if prefix.contains("第三次") {
        Round::Third
    } else {
        Round::First
    }
}

/// Property type inferred from title words (车位/车库 → parking, 商铺/门面/店 → commercial, …;
/// 住宅/房/室 → residential).
pub fn property_type_of_title(t: &str) -> PropertyType {
    let has = |ws: &[&str]| ws.iter().any(|w| t.contains(w));
    if has(&["车位", "车库", "停车"]) {
        PropertyType::Parking
    } else if has(&["土地", "地块", "国有建设用地"]) && !has(&["室", "住宅"]) {
        PropertyType::Land
    } else if has(&["厂房", "仓库", "车间", "工业"]) {
        PropertyType::Industrial
    } else if has(&["写字楼", "办公"]) {
        PropertyType::Office
    } else if has(&["商铺", "门面", "店面", "商业", "商服", "店", "铺"]) {
        PropertyType::Commercial
    } else if has(&[
        "住宅", "住房", "室", "房产", "房屋", "单元", "套", "号房", "别墅", "公寓",
    ]) {
        PropertyType::Residential
    } else {
        PropertyType::Other
    }
}

/// Resolves a disposal place such as `山西省大同市`, `长沙市` or `沅陵县` to a region code.
pub fn resolve_place(g: &Gazetteer, place: &str) -> Option<RegionCode> {
    let chars: Vec<(usize, char)> = place.char_indices().collect();
    for (i, _) in &chars {
        let tail = &place[*i..];
        let head = &place[..*i];
        let mut cands: Vec<RegionCode> = g.by_full_name(tail).to_vec();
        if cands.is_empty() {
            cands = g.by_short_name(tail).to_vec();
        }
        if cands.is_empty() {
            continue;
        }
        if !head.is_empty() {
            let ctx: Vec<RegionCode> = g
                .by_full_name(head)
                .iter()
                .chain(g.by_short_name(head))
                .copied()
                .collect();
            if let Some(c) = cands.iter().find(|c| ctx.iter().any(|x| c.is_within(*x))) {
                return Some(*c);
            }
        }
        // Prefer cities over districts, then the first.
        return cands
            .iter()
            .find(|c| c.level() != RegionLevel::District)
            .or(cands.first())
            .copied();
    }
    None
}

fn parse_int(s: &str) -> Option<i64> {
    s.trim()
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .map(|v| v as i64)
}

/// Chooses the power of 1,000 that the truncated figure `lead` was cut by, as the one whose value is
/// closest (in log scale) to `target`.
fn reconstruct(lead: i64, target: f64) -> i64 {
    let mut best = lead;
    let mut best_d = f64::INFINITY;
    for m in [1i64, 1_000, 1_000_000, 1_000_000_000] {
        let v = lead.saturating_mul(m);
        let d = ((v.max(1) as f64).ln() - target.max(1.0).ln()).abs();
        if d < best_d {
            best_d = d;
            best = v;
        }
    }
    best
}

fn area_of_title(t: &str) -> Option<f64> {
    for unit in ["平方米", "㎡", "m2", "平米"] {
        if let Some(pos) = t.find(unit) {
            let before = &t[..pos];
            let num: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if let Ok(v) = num.parse::<f64>()
                && v > 1.0
                && v < 100_000.0
            {
                return Some(v);
            }
        }
    }
    None
}

/// Parses templates from a CSV in the `sf_taobao` shape (`address,url,first_price,caution_money,
/// evaluation_price,Price_increase,disposal_place,date_1,item_id`); bad rows are skipped.
pub fn templates_from_csv(csv_text: &str) -> Vec<Template> {
    let g = Gazetteer::bundled();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records().flatten() {
        let get = |i: usize| rec.get(i).unwrap_or("");
        let raw = normalize(get(0));
        let (prefix, title) = match (raw.find('【'), raw.find('】')) {
            (Some(0), Some(e)) => (
                &raw[..e],
                raw[e + '】'.len_utf8()..].trim_start_matches([':', '：']),
            ),
            _ => ("", raw.as_str()),
        };
        if title.chars().count() < 4 {
            continue;
        }
        let (Some(first), Some(deposit), Some(eval)) =
            (parse_int(get(2)), parse_int(get(3)), parse_int(get(4)))
        else {
            continue;
        };
        if first <= 0 || deposit <= 0 {
            continue;
        }
        let start_yuan = reconstruct(first, deposit as f64 * 8.0);
        let appraisal_yuan = reconstruct(eval.max(1), start_yuan as f64 / 0.75).max(start_yuan / 2);
        let place = get(6).trim().to_string();
        out.push(Template {
            title: title.to_string(),
            round: round_of_prefix(prefix),
            property_type: property_type_of_title(title),
            region: resolve_place(g, &place),
            place,
            start_yuan,
            appraisal_yuan,
            deposit_yuan: deposit,
            area_m2: area_of_title(title),
        });
    }
    out
}

/// The templates of [`BUNDLED_CSV`], parsed once.
pub fn bundled_templates() -> &'static [Template] {
    static T: OnceLock<Vec<Template>> = OnceLock::new();
    T.get_or_init(|| templates_from_csv(BUNDLED_CSV))
}

const MARKERS: &[char] = &['路', '街', '道', '巷', '号', '镇', '村'];

fn split_at_marker(t: &str) -> Option<(&str, &str)> {
    let mut seen = 0;
    for (i, c) in t.char_indices() {
        seen += 1;
        if seen >= 3 && MARKERS.contains(&c) {
            let e = i + c.len_utf8();
            return Some((&t[..e], &t[e..]));
        }
    }
    None
}

/// An endless, seeded stream of synthetic postings (ids 1, 2, 3, …; asset id = id).
pub struct Generator {
    rng: StdRng,
    templates: &'static [Template],
    by_place: HashMap<&'static str, Vec<usize>>,
    children: HashMap<RegionCode, Vec<RegionCode>>,
    next_id: i64,
    reference: OffsetDateTime,
}

impl Generator {
    /// A generator over `templates` (must not be empty to yield anything).
    pub fn new(templates: &'static [Template], seed: u64) -> Generator {
        let mut by_place: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, t) in templates.iter().enumerate() {
            by_place.entry(t.place.as_str()).or_default().push(i);
        }
        Generator {
            rng: StdRng::seed_from_u64(seed),
            templates,
            by_place,
            children: HashMap::new(),
            next_id: 1,
            reference: REFERENCE_TIME,
        }
    }

    /// A generator over the bundled templates.
    pub fn bundled(seed: u64) -> Generator {
        Generator::new(bundled_templates(), seed)
    }

    /// Generates one posting.
    pub fn posting(&mut self) -> Option<Posting> {
        if self.templates.is_empty() {
            return None;
        }
        let g = Gazetteer::bundled();
        let rng = &mut self.rng;
        let a = &self.templates[rng.random_range(0..self.templates.len())];
        // Head of `a`, tail of another lot from the same place.
        let title = match split_at_marker(&a.title) {
            Some((head, _)) => {
                let same = &self.by_place[a.place.as_str()];
                let b = &self.templates[same[rng.random_range(0..same.len())]];
                let tail = split_at_marker(&b.title).map_or("", |(_, t)| t);
                format!("{head}{tail}")
            }
            None => a.title.clone(),
        };
        let title: String = title
            .chars()
            .map(|c| {
                if c.is_ascii_digit() && rng.random_bool(0.5) {
                    char::from(b'0' + rng.random_range(0..10u8))
                } else {
                    c
                }
            })
            .collect();
        let property_type = if rng.random_bool(0.9) {
            property_type_of_title(&title)
        } else {
            a.property_type
        };
        // Round: mostly the template's, sometimes another one with the real proportions.
        let round = if rng.random_bool(0.8) {
            a.round
        } else {
            self.templates[rng.random_range(0..self.templates.len())].round
        };
        // Region: the template's; a city gets one of its districts most of the time.
        let mut region = a.region;
        if let Some(r) = region
            && r.level() != RegionLevel::District
            && rng.random_bool(0.7)
        {
            let kids = self.children.entry(r).or_insert_with(|| {
                g.children(r)
                    .into_iter()
                    .filter(|c| c.level() == RegionLevel::District)
                    .collect()
            });
            if !kids.is_empty() {
                region = Some(kids[rng.random_range(0..kids.len())]);
            }
        }
        let (province, city, district) = match region {
            None => (None, None, None),
            Some(r) => (
                Some(r.province()),
                match r.level() {
                    RegionLevel::Province => None,
                    _ => r.city(),
                },
                (r.level() == RegionLevel::District).then_some(r),
            ),
        };
        // Prices: the template's scaled by ×0.5–×2, to the hundred yuan.
        let factor = (rng.random_range(-0.7f64..0.7)).exp();
        let start_yuan = ((a.start_yuan as f64 * factor / 100.0).round() as i64).max(1) * 100;
        let ratio = a.start_yuan as f64 / a.appraisal_yuan.max(1) as f64;
        let ratio = (ratio * rng.random_range(0.95..1.05)).clamp(0.3, 1.2);
        let appraisal_yuan = ((start_yuan as f64 / ratio).round() as i64).max(1);
        let deposit_yuan = (start_yuan as f64 * rng.random_range(0.05..0.2)).round() as i64;
        let area = a.area_m2.or_else(|| {
            let (lo, hi) = match property_type {
                PropertyType::Residential => (35.0, 220.0),
                PropertyType::Parking => (10.0, 45.0),
                PropertyType::Commercial => (20.0, 600.0),
                PropertyType::Office => (40.0, 800.0),
                PropertyType::Industrial => (300.0, 20_000.0),
                PropertyType::Land => (500.0, 50_000.0),
                PropertyType::Other => (10.0, 500.0),
            };
            rng.random_bool(0.8)
                .then(|| (rng.random_range(lo..hi) * 100.0f64).round() / 100.0)
        });
        // Times: 10:00 Shanghai on a day within ±400 days of the reference; 24 h of bidding
        // (sell-off: 60 days); listed 30 (first round) or 15 days before.
        let day = rng.random_range(-400i64..400);
        let start = self.reference + Duration::days(day) + Duration::hours(2);
        let end = if round == Round::SellOff {
            start + Duration::days(60)
        } else {
            start + Duration::hours(24)
        };
        let listed = (start - Duration::days(if round == Round::First { 30 } else { 15 })).date();
        let has_window = rng.random_bool(0.97);
        let stored_status = if has_window && end < self.reference && rng.random_bool(0.8) {
            Some(match rng.random_range(0..100) {
                0..45 => StoredStatus::Sold,
                45..90 => StoredStatus::Unsold,
                90..94 => StoredStatus::Suspended,
                94..97 => StoredStatus::Withdrawn,
                97..99 => StoredStatus::Postponed,
                _ => StoredStatus::Defaulted,
            })
        } else {
            None
        };
        let seller = if a.place.is_empty() {
            None
        } else {
            Some(format!("{}人民法院", a.place))
        };
        let id = self.next_id;
        self.next_id += 1;
        let price = |y: i64| PriceValue::exact(Money::from_yuan(y));
        Some(Posting {
            id,
            asset_id: id,
            created_at: self.reference,
            updated_at: self.reference,
            data: NewPosting {
                platform: Platform::Ali,
                kind: AuctionKind::Judicial,
                source_item_id: format!("synth-{id}"),
                source_url: None,
                fetched_at: self.reference,
                importer: "synth".into(),
                address: title.clone(),
                title,
                community: None,
                round,
                stored_status,
                property_type,
                province,
                city,
                district,
                building_area_m2: area,
                start_price: Some(price(start_yuan)),
                appraised_value: Some(price(appraisal_yuan)),
                appraisal_basis: Some("appraisal".into()),
                deposit: Some(Money::from_yuan(deposit_yuan)),
                increment: None,
                current_price: None,
                auction_start: has_window.then_some(start),
                auction_end: has_window.then_some(end),
                listed_on: Some(listed),
                seller_name: seller,
                seller_kind: SellerKind::Court,
                applicant_count: None,
                viewer_count: None,
                bid_count: None,
                supports_loan: None,
                bankruptcy: false,
                raw: serde_json::Value::Null,
            },
        })
    }
}

impl Iterator for Generator {
    type Item = Posting;
    fn next(&mut self) -> Option<Posting> {
        self.posting()
    }
}

/// `n` synthetic postings from the bundled templates with `seed`.
pub fn postings(n: usize, seed: u64) -> Vec<Posting> {
    Generator::bundled(seed).take(n).collect()
}

/// Property-type words a user would type, by type (the interpreted words of [`crate::interpret`]).
fn type_word(t: PropertyType) -> &'static str {
    match t {
        PropertyType::Residential => "住宅",
        PropertyType::Commercial => "商铺",
        PropertyType::Office => "写字楼",
        PropertyType::Industrial => "厂房",
        PropertyType::Land => "土地",
        PropertyType::Parking => "车位",
        PropertyType::Other => "",
    }
}

/// A price ceiling a user would pick above a start price: the next of 50万, 100万, 150万, 200万,
/// 300万, 500万, 800万, 1000万, 2000万, 5000万 above `yuan` × 1–1.5, in fen.
fn price_band(yuan: i64, rng: &mut StdRng) -> Money {
    const BANDS_WAN: [i64; 10] = [50, 100, 150, 200, 300, 500, 800, 1000, 2000, 5000];
    let target = (yuan as f64 * rng.random_range(1.0..1.5)) as i64;
    let wan = BANDS_WAN
        .iter()
        .copied()
        .find(|b| b * 10_000 >= target)
        .unwrap_or(10_000);
    Money::from_yuan(wan * 10_000)
}

/// `n` saved searches (选房条件) as users would save them, drawn from the bundled list with `seed`
/// (for benchmarks of the percolator and the alert engine). The template lot of each search is
/// drawn at random, so regions, types and price levels follow the real lots; the mix:
///
/// | share | criteria |
/// |---|---|
/// | 30% | `region` (a district 60% of the time, else the lot's city) + its property type + a price ceiling |
/// | 20% | `q` = `区名 住宅` style text (full district or city name and a type word), a ceiling half the time |
/// | 15% | `q` = a word of the lot's title (a community, road or building name), a region half the time |
/// | 10% | `region` + rounds 二拍 or 二拍/变卖 |
/// | 10% | `region` + property type + discount ceiling 7折 or 8折 |
/// | 5% | `q` = `城市 二拍` |
/// | 5% | province `region` + property type + price ceiling |
/// | 3% | property type + price ceiling only |
/// | 2% | a price band only |
pub fn saved_searches(n: usize, seed: u64) -> Vec<crate::SearchRequest> {
    use crate::SearchRequest;
    let g = Gazetteer::bundled();
    let templates = bundled_templates();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut children: HashMap<RegionCode, Vec<RegionCode>> = HashMap::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let t = &templates[rng.random_range(0..templates.len())];
        let Some(base) = t.region else { continue };
        let region = if base.level() != RegionLevel::District && rng.random_bool(0.6) {
            let kids = children.entry(base).or_insert_with(|| {
                g.children(base)
                    .into_iter()
                    .filter(|c| c.level() == RegionLevel::District)
                    .collect()
            });
            if kids.is_empty() {
                base
            } else {
                kids[rng.random_range(0..kids.len())]
            }
        } else {
            base
        };
        let city = region.city().unwrap_or(region);
        // What a user types for a region: its own name, or its province's for a placeholder
        // level such as 北京's 市辖区.
        let typed = |c: RegionCode| match g.name(c) {
            Some(n) if n != "市辖区" && n != "县" => n.to_string(),
            _ => g.name(c.province()).unwrap_or("").to_string(),
        };
        let ceiling = price_band(t.start_yuan, &mut rng);
        let roll = rng.random_range(0..100);
        let req = match roll {
            0..30 => SearchRequest {
                region: Some(region),
                property_types: vec![t.property_type],
                price_max: Some(ceiling),
                ..SearchRequest::default()
            },
            30..50 => {
                let q = format!("{} {}", typed(region), type_word(t.property_type));
                SearchRequest {
                    q: Some(q.trim().to_string()),
                    price_max: rng.random_bool(0.5).then_some(ceiling),
                    ..SearchRequest::default()
                }
            }
            50..65 => {
                let words: Vec<String> = crate::tokenize::segment(&t.title)
                    .into_iter()
                    .map(|(_, w)| w)
                    .filter(|w| {
                        w.chars().count() >= 2
                            && w.chars().all(crate::tokenize::is_cjk)
                            && !crate::interpret::STOP_WORDS.contains(&w.as_str())
                    })
                    .collect();
                if words.is_empty() {
                    continue;
                }
                let w = words[rng.random_range(0..words.len())].clone();
                SearchRequest {
                    q: Some(w),
                    region: rng.random_bool(0.5).then_some(city),
                    ..SearchRequest::default()
                }
            }
            65..75 => SearchRequest {
                region: Some(region),
                rounds: if rng.random_bool(0.5) {
                    vec![Round::Second]
                } else {
                    vec![Round::Second, Round::SellOff]
                },
                ..SearchRequest::default()
            },
            75..85 => SearchRequest {
                region: Some(region),
                property_types: vec![t.property_type],
                discount_max: Some(if rng.random_bool(0.5) { 0.7 } else { 0.8 }),
                ..SearchRequest::default()
            },
            85..90 => SearchRequest {
                q: Some(format!("{} 二拍", typed(city))),
                ..SearchRequest::default()
            },
            90..95 => SearchRequest {
                region: Some(region.province()),
                property_types: vec![t.property_type],
                price_max: Some(ceiling),
                ..SearchRequest::default()
            },
            95..98 => SearchRequest {
                property_types: vec![t.property_type],
                price_max: Some(ceiling),
                ..SearchRequest::default()
            },
            _ => SearchRequest {
                price_min: Some(Money(ceiling.fen() / 2)),
                price_max: Some(ceiling),
                ..SearchRequest::default()
            },
        };
        out.push(req);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_the_bundled_list() {
        let t = bundled_templates();
        assert!(t.len() > 5_000, "{}", t.len());
        let with_region = t.iter().filter(|t| t.region.is_some()).count();
        assert!(with_region * 10 > t.len() * 9, "{with_region}");
        assert!(t.iter().any(|t| t.round == Round::Second));
        assert!(t.iter().any(|t| t.property_type == PropertyType::Parking));
        let first = &t[0];
        assert_eq!(first.round, Round::Second);
        assert_eq!(first.start_yuan / 1000, 296);
    }

    #[test]
    fn deterministic_and_varied() {
        let a = postings(200, 7);
        let b = postings(200, 7);
        assert_eq!(a, b);
        let mut titles: Vec<_> = a.iter().map(|p| p.data.title.clone()).collect();
        titles.sort();
        titles.dedup();
        assert!(titles.len() > 180);
        assert!(a.iter().all(|p| p.data.start_price.is_some()));
    }

    #[test]
    fn saved_searches_are_valid_and_varied() {
        let s = saved_searches(2_000, 3);
        assert_eq!(s.len(), 2_000);
        assert!(s.iter().all(|r| r.validate().is_ok()));
        assert_eq!(s, saved_searches(2_000, 3));
        let with_q = s.iter().filter(|r| r.q.is_some()).count();
        let with_region = s.iter().filter(|r| r.region.is_some()).count();
        assert!((600..1_000).contains(&with_q), "{with_q}");
        assert!(with_region > 1_000, "{with_region}");
    }
}
