//! Parsing of search parameters from a query string, shared by the JSON API and the pages.
//!
//! Parameters (all optional; repeated keys and comma-separated values both work for lists):
//!
//! | name | meaning | unit / form |
//! |---|---|---|
//! | `q` | free text, e.g. `朝阳区住宅`, `杭州 二拍` | ≤ 200 characters |
//! | `region` | GB/T 2260 code at any level | six digits, e.g. `110105` |
//! | `type` | property type | `residential`, `commercial`, `office`, `industrial`, `land`, `parking`, `other` |
//! | `round` | round | `first`, `second`, `third`, `sell_off`, `re_auction` |
//! | `status` | stored status or derived state | `sold`, `unsold`, …, `bidding`, `ended_awaiting_result`, … |
//! | `price_min`, `price_max` | start price bounds | 万元 (10,000 yuan), decimals allowed |
//! | `discount_min`, `discount_max` | start price ÷ appraised value | ratio, e.g. `0.7` |
//! | `start_from`, `start_to` | auction start date range, inclusive | `YYYY-MM-DD`, Asia/Shanghai |
//! | `area_min`, `area_max` | building area | m² |
//! | `sort` | order | `relevance`, `start_asc`, `start_desc`, `price_asc`, `price_desc`, `discount_asc`, `discount_desc` |
//! | `page`, `per_page` | pagination | page ≥ 1; 1 ≤ per_page ≤ 100 (default 20) |

use anjia_domain::{LotState, Money, PropertyType, RegionCode, Round};
use anjia_search::{SearchRequest, Sort};
use time::Date;
use time::macros::format_description;

/// A query parameter that could not be understood.
///
/// Neither field ever holds the value sent (PRV-20: error bodies never echo what the request
/// carried): `param` is one of our parameter names, or an unknown name only when it passes
/// [`is_safe_name`] (otherwise empty), and `reason` names the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct BadParam {
    /// The parameter's name as sent, or empty for an unrecognised name that is not echoed.
    pub param: String,
    /// What is wrong with it (never the value).
    pub reason: String,
}

impl BadParam {
    fn describe(&self) -> String {
        if self.param.is_empty() {
            self.reason.clone()
        } else {
            format!("parameter `{}`: {}", self.param, self.reason)
        }
    }

    /// An unknown parameter: named only when the name passes [`is_safe_name`], otherwise
    /// "an unrecognised parameter" (a phone number pasted after `?` becomes a name).
    pub fn unknown(name: &str) -> BadParam {
        if is_safe_name(name) {
            bad(name, "unknown parameter")
        } else {
            bad(
                "",
                "an unrecognised parameter (names are lower-case letters and `_`)",
            )
        }
    }
}

/// Whether a name sent by the client may be echoed in an error: 1–40 of `a-z`, `_`, `:` (no
/// digits, no other characters), the alphabet of our parameter names and purpose ids.
pub fn is_safe_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b':')
}

fn bad(param: &str, reason: impl Into<String>) -> BadParam {
    BadParam {
        param: param.to_string(),
        reason: reason.into(),
    }
}

/// Default page size.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// Parses a raw query string (without `?`) into a validated [`SearchRequest`].
///
/// # Errors
/// [`BadParam`] naming the first parameter that is unknown, malformed or inconsistent (for example
/// `price_min` greater than `price_max`).
pub fn parse_search(query: &str) -> Result<SearchRequest, BadParam> {
    let mut req = SearchRequest {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        ..SearchRequest::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim();
        let key = k.as_ref();
        if !known(key) {
            return Err(BadParam::unknown(key));
        }
        // Empty values come from untouched form fields: they mean "no filter".
        if v.is_empty() {
            continue;
        }
        // Single-valued parameters given twice are ambiguous: refuse rather than pick one.
        if !MULTI.contains(&key) {
            if seen.iter().any(|s| s == key) {
                return Err(bad(key, "is given more than once; give it once"));
            }
            seen.push(key.to_string());
        }
        match key {
            "q" => {
                if v.chars().count() > 200 {
                    return Err(bad("q", "is longer than 200 characters"));
                }
                req.q = Some(v.to_string());
            }
            "region" => {
                req.region = Some(RegionCode::parse(v).map_err(|_| {
                    bad(
                        "region",
                        "expected a six-digit GB/T 2260 region code (e.g. 110105; province part 11–91)",
                    )
                })?)
            }
            "type" => {
                for s in split(v) {
                    let t = PropertyType::parse(s).ok_or_else(|| {
                        bad("type", format!("expected one of {}", codes(PropertyType::ALL.iter().map(|t| t.as_str()))))
                    })?;
                    if !req.property_types.contains(&t) {
                        req.property_types.push(t);
                    }
                }
            }
            "round" => {
                for s in split(v) {
                    let r = Round::parse(s).ok_or_else(|| {
                        bad("round", format!("expected one of {}", codes(Round::ALL.iter().map(|r| r.as_str()))))
                    })?;
                    if !req.rounds.contains(&r) {
                        req.rounds.push(r);
                    }
                }
            }
            "status" => {
                for s in split(v) {
                    let st = LotState::parse(s).ok_or_else(|| {
                        bad("status", format!("expected one of {}", codes(LotState::all_codes())))
                    })?;
                    if !req.statuses.contains(&st) {
                        req.statuses.push(st);
                    }
                }
            }
            "price_min" => req.price_min = Some(wan(key, v)?),
            "price_max" => req.price_max = Some(wan(key, v)?),
            "discount_min" => req.discount_min = Some(number(key, v)?),
            "discount_max" => req.discount_max = Some(number(key, v)?),
            "area_min" => req.area_min = Some(number(key, v)?),
            "area_max" => req.area_max = Some(number(key, v)?),
            "start_from" => req.start_from = Some(date(key, v)?),
            "start_to" => req.start_to = Some(date(key, v)?),
            "sort" => {
                req.sort = Sort::parse(v).ok_or_else(|| {
                    bad("sort", "expected one of relevance, start_asc, start_desc, price_asc, price_desc, discount_asc, discount_desc")
                })?
            }
            "page" => req.page = positive(key, v, 100_000)?,
            "per_page" => req.per_page = positive(key, v, 100)?,
            other => return Err(BadParam::unknown(other)),
        }
    }
    if let (Some(lo), Some(hi)) = (req.price_min, req.price_max)
        && lo > hi
    {
        return Err(bad(
            "price_min",
            "must not be greater than price_max (both in 万元)",
        ));
    }
    req.validate().map_err(|e| bad(e.param, e.reason))?;
    Ok(req)
}

const KNOWN: [&str; 18] = [
    "q",
    "region",
    "type",
    "round",
    "status",
    "price_min",
    "price_max",
    "discount_min",
    "discount_max",
    "area_min",
    "area_max",
    "start_from",
    "start_to",
    "sort",
    "page",
    "per_page",
    // accepted and ignored: the submit button's name in the search form
    "go",
    "",
];

/// Parameters that take several values (repeated or comma-separated).
const MULTI: [&str; 5] = ["type", "round", "status", "go", ""];

fn known(key: &str) -> bool {
    KNOWN.contains(&key)
}

fn split(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn codes<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

fn number(param: &str, v: &str) -> Result<f64, BadParam> {
    let x: f64 = v
        .parse()
        .map_err(|_| bad(param, "expected a number ≥ 0 (e.g. 0.7 or 90)"))?;
    if !x.is_finite() || x < 0.0 {
        return Err(bad(param, "expected a finite number ≥ 0 (e.g. 0.7 or 90)"));
    }
    Ok(x)
}

/// 万元 → fen, exactly (up to 6 decimals of 万元 = whole fen… we allow up to 4, i.e. whole yuan).
fn wan(param: &str, v: &str) -> Result<Money, BadParam> {
    let err = || {
        bad(
            param,
            "expected an amount in 万元 (e.g. 200 or 85.5; at most 8 digits before the point and 4 after)",
        )
    };
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if int.is_empty()
        || int.len() > 8
        || frac.len() > 4
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let int: i64 = int.parse().map_err(|_| err())?;
    let mut frac_yuan: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| err())?
    };
    for _ in frac.len()..4 {
        frac_yuan *= 10;
    }
    Ok(Money::from_yuan(int * 10_000 + frac_yuan))
}

fn date(param: &str, v: &str) -> Result<Date, BadParam> {
    Date::parse(v, format_description!("[year]-[month]-[day]"))
        .map_err(|_| bad(param, "expected a date of the form YYYY-MM-DD"))
}

fn positive(param: &str, v: &str, max: i64) -> Result<u32, BadParam> {
    match v.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n as u32),
        Ok(_) => Err(bad(param, format!("must be between 1 and {max}"))),
        Err(_) => Err(bad(
            param,
            format!("expected a whole number between 1 and {max}"),
        )),
    }
}

/// Re-encodes a request as a query string (for pagination links and facet links).
///
/// `page` is set to `page`; `overrides` replaces or removes (`None`) single parameters.
pub fn to_query(req: &SearchRequest, page: u32, overrides: &[(&str, Option<String>)]) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(q) = &req.q {
        pairs.push(("q", q.clone()));
    }
    if let Some(r) = req.region {
        pairs.push(("region", r.to_string()));
    }
    let join = |v: Vec<&str>| v.join(",");
    if !req.property_types.is_empty() {
        pairs.push((
            "type",
            join(req.property_types.iter().map(|t| t.as_str()).collect()),
        ));
    }
    if !req.rounds.is_empty() {
        pairs.push((
            "round",
            join(req.rounds.iter().map(|t| t.as_str()).collect()),
        ));
    }
    if !req.statuses.is_empty() {
        pairs.push((
            "status",
            join(req.statuses.iter().map(|t| t.code()).collect()),
        ));
    }
    let wan_str = |m: Money| {
        let yuan = m.fen() / 100;
        if yuan % 10_000 == 0 {
            (yuan / 10_000).to_string()
        } else {
            format!("{}.{:04}", yuan / 10_000, yuan % 10_000)
        }
    };
    if let Some(m) = req.price_min {
        pairs.push(("price_min", wan_str(m)));
    }
    if let Some(m) = req.price_max {
        pairs.push(("price_max", wan_str(m)));
    }
    for (k, v) in [
        ("discount_min", req.discount_min),
        ("discount_max", req.discount_max),
        ("area_min", req.area_min),
        ("area_max", req.area_max),
    ] {
        if let Some(x) = v {
            pairs.push((k, x.to_string()));
        }
    }
    if let Some(d) = req.start_from {
        pairs.push(("start_from", d.to_string()));
    }
    if let Some(d) = req.start_to {
        pairs.push(("start_to", d.to_string()));
    }
    if req.sort != Sort::Relevance {
        pairs.push(("sort", req.sort.as_str().to_string()));
    }
    if req.per_page != DEFAULT_PER_PAGE {
        pairs.push(("per_page", req.per_page.to_string()));
    }
    if page != 1 {
        pairs.push(("page", page.to_string()));
    }
    for (k, v) in overrides {
        pairs.retain(|(pk, _)| pk != k);
        if let Some(v) = v {
            pairs.push((k, v.clone()));
        }
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, &v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let r = parse_search("q=%E6%9C%9D%E9%98%B3&type=residential,parking&round=second&price_min=50&price_max=200.5&status=bidding&page=2").unwrap();
        assert_eq!(r.q.as_deref(), Some("朝阳"));
        assert_eq!(
            r.property_types,
            vec![PropertyType::Residential, PropertyType::Parking]
        );
        assert_eq!(r.rounds, vec![Round::Second]);
        assert_eq!(r.price_min, Some(Money::from_yuan(500_000)));
        assert_eq!(r.price_max, Some(Money::from_yuan(2_005_000)));
        assert_eq!(r.page, 2);
        let back = parse_search(&to_query(&r, 2, &[])).unwrap();
        assert_eq!(back.price_max, r.price_max);
        assert_eq!(back.property_types, r.property_types);
    }

    #[test]
    fn errors_name_the_parameter() {
        for (qs, param) in [
            ("page=-1", "page"),
            ("page=0", "page"),
            ("page=abc", "page"),
            ("per_page=1000", "per_page"),
            ("price_min=abc", "price_min"),
            ("price_min=300&price_max=200", "price_min"),
            ("type=castle", "type"),
            ("round=fifth", "round"),
            ("region=12", "region"),
            ("sort=random", "sort"),
            ("start_from=2020-13-01", "start_from"),
            ("bogus=1", "bogus"),
            ("area_min=-5", "area_min"),
            ("region=110000&region=310000", "region"),
            ("page=1&page=2", "page"),
        ] {
            let e = parse_search(qs).unwrap_err();
            assert_eq!(e.param, param, "{qs}: {e}");
        }
        let long = format!("q={}", "房".repeat(10_000));
        assert_eq!(parse_search(&long).unwrap_err().param, "q");
    }

    #[test]
    fn messages_use_the_units_users_type() {
        let e = parse_search("price_min=500&price_max=100").unwrap_err();
        assert!(
            e.reason.contains("price_max") && e.reason.contains("万元"),
            "{e}"
        );
        let e = parse_search("per_page=0").unwrap_err();
        assert!(e.reason.contains("between 1 and 100"), "{e}");
        assert!(!e.reason.contains("100000"), "{e}");
        let e = parse_search("region=000000").unwrap_err();
        assert!(e.reason.contains("six-digit"), "{e}");
        let e = parse_search("type=castle").unwrap_err();
        assert!(e.reason.contains("residential, commercial"), "{e}");
        assert!(parse_search("type=residential&type=parking").is_ok());
    }

    #[test]
    fn errors_never_echo_the_value() {
        // PRV-20: a phone or ID number typed into any parameter never comes back.
        let secret = "17725839146";
        for p in [
            "region",
            "type",
            "round",
            "status",
            "sort",
            "price_min",
            "price_max",
            "discount_min",
            "area_min",
            "start_from",
            "start_to",
            "page",
            "per_page",
        ] {
            for v in [secret, "禤燊龢", "-17725839146", "1772583914.6"] {
                let Err(e) = parse_search(&format!("{p}={v}&price_max=0")) else {
                    continue;
                };
                let shown = format!("{e} {}", e.param);
                assert!(
                    !shown.contains("1772583") && !shown.contains("禤"),
                    "{p}: {shown}"
                );
            }
        }
        // A value pasted after `?` becomes a parameter name: not echoed unless it is a plain name.
        for qs in [
            secret,
            "17725839146=1",
            "禤燊龢",
            "Name=x",
            "a1=x",
            "17725839146&q=x",
        ] {
            let e = parse_search(qs).unwrap_err();
            assert_eq!(e.param, "", "{qs}");
            assert!(
                e.to_string().contains("unrecognised parameter"),
                "{qs}: {e}"
            );
            assert!(!e.to_string().contains("1772583"), "{qs}: {e}");
        }
        let e = parse_search("bogus_name=1").unwrap_err();
        assert_eq!(e.to_string(), "parameter `bogus_name`: unknown parameter");
        // Repeated unknown names are refused as unknown, not echoed as repeated.
        let e = parse_search("17725839146=1&17725839146=2").unwrap_err();
        assert_eq!(e.param, "");
    }

    #[test]
    fn empty_form_fields_are_ignored() {
        let r = parse_search("q=&region=&price_min=&sort=relevance&go=").unwrap();
        assert!(r.q.is_none() && r.region.is_none() && r.price_min.is_none());
    }
}
