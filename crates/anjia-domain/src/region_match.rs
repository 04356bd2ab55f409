//! Place names in free text (titles, typed addresses) resolved to GB/T 2260 division codes.
//!
//! Moved here from `anjia-ingest` (title parsing) so that address resolution (`anjia-address`)
//! and title parsing resolve places by one rule set. The names come from the bundled
//! [`Gazetteer`]: full names in force (朝阳区, 杭州市), short forms of provinces, prefecture-level
//! cities and county-level cities/counties (杭州, 昌邑, 浦江), and abolished names mapped to their
//! successors (崇文区 → 东城区, 闸北区 → 静安区).

use crate::region::{RegionLevel, short_name};
use crate::{Gazetteer, RegionCode};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
struct RegionIndex {
    /// name → candidate codes (current codes; abolished names map to their successors).
    names: HashMap<String, Vec<RegionCode>>,
    /// names that are short forms (杭州 for 杭州市) and need a boundary check.
    short: HashMap<String, bool>,
    /// Longest name (in chars) starting with each character: most characters of a title start
    /// no name and are skipped without a lookup.
    max_len_from: HashMap<char, usize>,
}

fn region_index() -> &'static RegionIndex {
    static IDX: OnceLock<RegionIndex> = OnceLock::new();
    IDX.get_or_init(|| {
        let g = Gazetteer::bundled();
        let mut names: HashMap<String, Vec<RegionCode>> = HashMap::new();
        let mut short: HashMap<String, bool> = HashMap::new();
        let skip = |n: &str| {
            matches!(
                n,
                "市辖区" | "县" | "省直辖县级行政区划" | "自治区直辖县级行政区划"
            )
        };
        let add = |names: &mut HashMap<String, Vec<RegionCode>>, n: &str, c: RegionCode| {
            let v = names.entry(n.to_string()).or_default();
            if !v.contains(&c) {
                v.push(c);
            }
        };
        for (code, name) in g.current() {
            if skip(name) {
                continue;
            }
            add(&mut names, name, code);
        }
        // Short forms: provinces, prefecture-level cities, county-level cities (…市) and counties (…县).
        let mut shorts: HashMap<String, Vec<RegionCode>> = HashMap::new();
        for (code, name) in g.current() {
            if skip(name) {
                continue;
            }
            let s = short_name(name);
            if s == name || s.chars().count() < 2 {
                continue;
            }
            let eligible = match code.level() {
                RegionLevel::Province | RegionLevel::City => true,
                RegionLevel::District => name.ends_with('市') || name.ends_with('县'),
            };
            if eligible {
                shorts.entry(s.to_string()).or_default().push(code);
            }
        }
        for (s, codes) in shorts {
            if names.contains_key(&s) {
                continue;
            }
            short.insert(s.clone(), true);
            for c in codes {
                add(&mut names, &s, c);
            }
        }
        // Abolished names (崇文区, 静海县, 襄樊市…) → their successors in force.
        let mut hist: Vec<(RegionCode, &str)> = g.known().collect();
        hist.sort();
        // A name in force elsewhere (江北区: Ningbo in force, Chongqing's 500105 merged into
        // 两江新区) gets the successor as one more candidate, so that 重庆市江北区 resolves; alone
        // it is then ambiguous and needs context like any shared name.
        let in_force: std::collections::HashSet<String> = names.keys().cloned().collect();
        for (code, name) in hist {
            if g.is_current(code) || skip(name) {
                continue;
            }
            let shared = in_force.contains(name);
            if names.contains_key(name) && !shared {
                continue;
            }
            let succ = g.successors(code);
            let target = match succ.as_slice() {
                [one] => Some(*one),
                [] => None,
                many => {
                    // Several successors: their common parent, if in force.
                    let p = many[0].city().unwrap_or(many[0].province());
                    many.iter()
                        .all(|c| c.is_within(p))
                        .then_some(p)
                        .filter(|p| g.is_known(*p))
                }
            };
            if let Some(t) = target {
                if shared {
                    // Only codes in force (510211 江北区 → 500105, itself abolished, is dropped),
                    // and not on a chain with a name in force (the old county-level 巴中市 became
                    // 巴州区, inside 巴中市 in force: 巴中市 must stay the city).
                    let unrelated = names
                        .get(name)
                        .is_some_and(|v| v.iter().all(|c| !consistent(*c, t)));
                    if g.is_current(t) && unrelated {
                        add(&mut names, name, t);
                    }
                } else {
                    names.insert(name.to_string(), vec![t]);
                }
            }
        }
        let mut max_len_from: HashMap<char, usize> = HashMap::new();
        for k in names.keys() {
            if let Some(c) = k.chars().next() {
                let e = max_len_from.entry(c).or_default();
                *e = (*e).max(k.chars().count());
            }
        }
        RegionIndex {
            names,
            short,
            max_len_from,
        }
    })
}

/// Characters after a place's short name that show it is part of a road, street, village or
/// building name (中山北路, 朝阳街道, 太和镇, 南京西路).
fn looks_like_street_after(chars: &[char], at: usize) -> bool {
    let mut i = at;
    if matches!(chars.get(i), Some('东' | '西' | '南' | '北' | '中')) {
        i += 1;
    }
    match chars.get(i) {
        Some(
            '路' | '街' | '道' | '巷' | '弄' | '村' | '镇' | '乡' | '桥' | '里' | '湾' | '苑'
            | '园',
        )
        | Some('庄' | '屯' | '坊' | '居' | '楼' | '阁' | '府' | '门' | '口' | '站' | '港') => {
            true
        }
        Some('大') => matches!(chars.get(i + 1), Some('道' | '街' | '厦' | '楼')),
        Some('小') => matches!(chars.get(i + 1), Some('区')),
        Some('花') => matches!(chars.get(i + 1), Some('园')),
        Some('广') => matches!(chars.get(i + 1), Some('场')),
        Some('公') => matches!(chars.get(i + 1), Some('寓' | '馆' | '园')),
        Some('新') => matches!(chars.get(i + 1), Some('村' | '城')),
        _ => false,
    }
}

/// One place name found in a text.
#[derive(Debug, Clone)]
struct Mention {
    codes: Vec<RegionCode>,
    /// Two-character names (城区, 郊区, 东区…) are only trusted together with context.
    weak: bool,
    /// Short form of a county-level name (东方 for 东方市, 龙山 for 龙山县): not taken against a hint.
    short_county: bool,
    /// Byte range of the name in the searched text.
    span: Range<usize>,
}

/// Region names found in `text`, in order, as candidate code lists (longest name first at each
/// position; no allocation per candidate).
fn region_mentions(text: &str) -> Vec<Mention> {
    let idx = region_index();
    let chars: Vec<char> = text.chars().collect();
    // Byte offset of each char, plus the end.
    let mut offs: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    offs.push(text.len());
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut found = None;
        let max_len = idx.max_len_from.get(&chars[i]).copied().unwrap_or(0);
        for len in (2..=max_len.min(chars.len() - i)).rev() {
            let cand = &text[offs[i]..offs[i + len]];
            if let Some(codes) = idx.names.get(cand) {
                let is_short = idx.short.contains_key(cand);
                if is_short && looks_like_street_after(&chars, i + len) {
                    continue;
                }
                found = Some((len, codes, is_short));
                break;
            }
        }
        match found {
            Some((len, codes, is_short)) => {
                let weak = !is_short && len == 2 && chars[i + 1] != '县';
                let short_county =
                    is_short && codes.iter().all(|c| c.level() == RegionLevel::District);
                out.push(Mention {
                    codes: codes.clone(),
                    weak,
                    short_county,
                    span: offs[i]..offs[i + len],
                });
                i += len;
            }
            None => i += 1,
        }
    }
    out
}

fn consistent(a: RegionCode, b: RegionCode) -> bool {
    a.is_within(b) || b.is_within(a)
}

/// Narrows `best` with one mention; returns whether the mention was used.
fn apply(best: &mut Option<RegionCode>, m: &Mention, context: &[RegionCode]) -> bool {
    let weak = m.weak;
    let cands = &m.codes;
    let mut pool: Vec<RegionCode> = match best {
        Some(b) => cands
            .iter()
            .copied()
            .filter(|c| consistent(*c, *b))
            .collect(),
        None => cands.clone(),
    };
    if m.short_county && !context.is_empty() {
        pool.retain(|c| context.iter().any(|h| consistent(*c, *h)));
        if pool.is_empty() {
            return false;
        }
    }
    if weak && best.is_none() {
        // Only with context from the hint.
        pool.retain(|c| context.iter().any(|h| consistent(*c, *h)));
        if pool.is_empty() {
            return false;
        }
    }
    if pool.len() > 1 {
        let narrowed: Vec<RegionCode> = pool
            .iter()
            .copied()
            .filter(|c| context.iter().any(|h| consistent(*c, *h)))
            .collect();
        if !narrowed.is_empty() {
            pool = narrowed;
        }
    }
    // All candidates on one chain (吉林 = 吉林省 ⊃ 吉林市): take the deepest.
    pool.sort_by_key(|c| c.ancestry().len());
    let deepest = match pool.last() {
        Some(d) => *d,
        None => return false,
    };
    if !pool.iter().all(|c| deepest.is_within(*c)) {
        return false; // still ambiguous
    }
    match best {
        Some(b) if deepest.is_within(*b) => *best = Some(deepest),
        Some(_) => {}
        None => *best = Some(deepest),
    }
    true
}

/// The divisions a text names, with where it names them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionMatch {
    /// Province (`PP0000`).
    pub province: Option<RegionCode>,
    /// Prefecture-level city (`PPCC00`), or the province code for the four municipalities (as
    /// [`RegionCode::city`] does); `None` for county-level units directly under a province.
    pub city: Option<RegionCode>,
    /// County-level district, county or county-level city.
    pub district: Option<RegionCode>,
    /// The deepest code found (district, else city, else province); `None` when nothing was found.
    pub deepest: Option<RegionCode>,
    /// Byte ranges in the searched text of the place names that were used, in text order
    /// (names from the hint are not listed).
    pub spans: Vec<Range<usize>>,
}

/// Resolves the province, city and district named in `text`, using `hint` (a place name such as
/// `沈阳市`, `浦江县` or a court name) to disambiguate and to complete missing levels when consistent.
///
/// Ambiguous names (朝阳区 is in Beijing and Changchun) are resolved by an already found
/// province/city or the hint, otherwise left out; short names (佛山, 杭州) are not taken when they
/// begin a road or street name (中山北路, 朝阳街道); abolished names map to their successors
/// (崇文区 → 东城区). `text` should be normalised first ([`crate::text::normalize`]).
pub fn match_region_detail(text: &str, hint: Option<&str>) -> RegionMatch {
    let mentions = region_mentions(text);
    let hint_mentions = hint.map(region_mentions).unwrap_or_default();
    // Hint resolved on its own, for context.
    let mut hint_best = None;
    for m in &hint_mentions {
        apply(&mut hint_best, m, &[]);
    }
    let context: Vec<RegionCode> = hint_best.into_iter().collect();
    let mut best = None;
    let mut pending = Vec::new();
    let mut spans = Vec::new();
    for m in &mentions {
        if apply(&mut best, m, &context) {
            spans.push(m.span.clone());
        } else {
            pending.push(m);
        }
    }
    if let Some(h) = hint_best {
        match best {
            None => best = Some(h),
            Some(b) if h.is_within(b) => best = Some(h),
            _ => {}
        }
    }
    for m in pending {
        if apply(&mut best, m, &context) {
            spans.push(m.span.clone());
        }
    }
    spans.sort_by_key(|r| r.start);
    let Some(b) = best else {
        return RegionMatch::default();
    };
    let g = Gazetteer::bundled();
    RegionMatch {
        province: Some(b.province()),
        city: b.city().filter(|c| g.is_known(*c)),
        district: (b.level() == RegionLevel::District).then_some(b),
        deepest: Some(b),
        spans,
    }
}

/// [`match_region_detail`] as a `(province, city, district)` triple.
pub fn match_region(
    text: &str,
    hint: Option<&str>,
) -> (Option<RegionCode>, Option<RegionCode>, Option<RegionCode>) {
    let m = match_region_detail(text, hint);
    (m.province, m.city, m.district)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(n: u32) -> RegionCode {
        RegionCode::new(n).unwrap()
    }

    #[test]
    fn spans_point_at_the_names_used() {
        let t = "北京市朝阳区望京西园三区";
        let m = match_region_detail(t, None);
        assert_eq!(m.district, Some(rc(110105)));
        let used: Vec<&str> = m.spans.iter().map(|r| &t[r.clone()]).collect();
        assert_eq!(used, vec!["北京市", "朝阳区"]);
        // Unresolvable alone: no spans, no codes.
        let m = match_region_detail("朝阳区人民大街", None);
        assert_eq!(m, RegionMatch::default());
        // Abolished name maps to its successor.
        assert_eq!(match_region("上海市闸北区", None).2, Some(rc(310106)));
        // An abolished name shared with one in force: the context decides.
        assert_eq!(match_region("重庆市江北区", None).2, Some(rc(500157)));
        assert_eq!(match_region("宁波市江北区", None).2, Some(rc(330205)));
        // …but not when the successor lies inside the name in force (old county-level 巴中市).
        assert_eq!(match_region("巴中市平昌县", None).2, Some(rc(511923)));
        assert_eq!(match_region("巴中市", None).2, None);
    }
}
