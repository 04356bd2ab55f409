//! Query interpretation: which words of the free text are regions, property types and rounds
//! (they become filters), and which remain as text terms (all required).
//!
//! Steps, for each space-separated part of the normalised query:
//! 1. property-type and round words (`住宅`, `车位`, `二拍`, `变卖`, …) are cut out wherever they occur;
//! 2. each remaining fragment is segmented with jieba (default mode);
//! 3. runs of up to three consecutive jieba words are looked up in the gazetteer: full names at any level
//!    (`朝阳区`, `杭州市`, `北京市`), short names of provinces and cities only (`杭州`, `北京`; district short
//!    names such as `浦东` stay text because they also name roads and communities). A short name directly
//!    followed by `路`/`街`/`道`/`巷`/`弄` is a street, not a region;
//! 4. the other words become terms; stop words and punctuation are dropped, and a single CJK character is
//!    glued to its neighbour (`朝阳` + `路` → `朝阳路`) so it is matched as part of a longer string.
//!
//! Ambiguous names (朝阳区 is 110105 in Beijing and 220104 in Changchun) keep every candidate (OR) unless
//! another region in the query contains some of them: `北京 朝阳区` → 110105 only, and the containing
//! region (北京) is then dropped as mere context.

use crate::results::QueryInterpretation;
use crate::tokenize::{is_cjk, segment};
use anjia_domain::region::RegionLevel;
use anjia_domain::{Gazetteer, PropertyType, RegionCode, Round, text::normalize};

/// Property-type words and what they mean.
pub const PROPERTY_WORDS: &[(&str, PropertyType)] = &[
    ("住宅", PropertyType::Residential),
    ("住房", PropertyType::Residential),
    ("商铺", PropertyType::Commercial),
    ("商业", PropertyType::Commercial),
    ("门面", PropertyType::Commercial),
    ("店面", PropertyType::Commercial),
    ("写字楼", PropertyType::Office),
    ("办公", PropertyType::Office),
    ("厂房", PropertyType::Industrial),
    ("仓库", PropertyType::Industrial),
    ("土地", PropertyType::Land),
    ("车位", PropertyType::Parking),
    ("车库", PropertyType::Parking),
];

/// Round words and what they mean.
pub const ROUND_WORDS: &[(&str, Round)] = &[
    ("第一次拍卖", Round::First),
    ("第二次拍卖", Round::Second),
    ("第三次拍卖", Round::Third),
    ("重新拍卖", Round::ReAuction),
    ("再次拍卖", Round::ReAuction),
    ("一拍", Round::First),
    ("二拍", Round::Second),
    ("三拍", Round::Third),
    ("变卖", Round::SellOff),
];

/// Words that carry no meaning for matching (every lot is a 法拍 property).
pub const STOP_WORDS: &[&str] = &[
    "的",
    "了",
    "和",
    "与",
    "及",
    "或",
    "在",
    "位于",
    "于",
    "之",
    "等",
    "一套",
    "一处",
    "法拍",
    "法拍房",
    "拍卖",
    "司法拍卖",
    "房产",
    "房屋",
    "房子",
    "房",
    "附近",
    "周边",
];

const STREET_CHARS: &[char] = &['路', '街', '道', '巷', '弄'];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text still to be segmented.
    Text(String),
    /// A recognised filter word (ends the adjacency of text around it).
    Cut,
}

/// Cuts property-type and round words out of `part`.
fn cut_keywords(part: &str, types: &mut Vec<PropertyType>, rounds: &mut Vec<Round>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut cur = String::new();
    let mut rest = part;
    'outer: while let Some(c) = rest.chars().next() {
        for (w, r) in ROUND_WORDS {
            if let Some(after) = rest.strip_prefix(w) {
                push_unique(rounds, *r);
                pieces.push(Piece::Text(std::mem::take(&mut cur)));
                pieces.push(Piece::Cut);
                rest = after;
                continue 'outer;
            }
        }
        for (w, t) in PROPERTY_WORDS {
            if let Some(after) = rest.strip_prefix(w) {
                push_unique(types, *t);
                pieces.push(Piece::Text(std::mem::take(&mut cur)));
                pieces.push(Piece::Cut);
                rest = after;
                continue 'outer;
            }
        }
        cur.push(c);
        rest = &rest[c.len_utf8()..];
    }
    pieces.push(Piece::Text(cur));
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    pieces
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn region_candidates(g: &Gazetteer, s: &str) -> Vec<RegionCode> {
    if s.chars().count() < 2 || !s.chars().all(is_cjk) {
        return Vec::new();
    }
    let full = g.by_full_name(s);
    if !full.is_empty() {
        return full.to_vec();
    }
    g.by_short_name(s)
        .iter()
        .copied()
        .filter(|c| c.level() != RegionLevel::District)
        .collect()
}

fn is_significant(w: &str) -> bool {
    w.chars().any(char::is_alphanumeric) && !STOP_WORDS.contains(&w)
}

/// Interprets a free-text query (see the module documentation).
pub fn interpret(q: &str) -> QueryInterpretation {
    let g = Gazetteer::bundled();
    let norm = normalize(q);
    let mut out = QueryInterpretation::default();
    let mut mentions: Vec<Vec<RegionCode>> = Vec::new();
    for part in norm.split(' ').filter(|p| !p.is_empty()) {
        for piece in cut_keywords(part, &mut out.property_types, &mut out.rounds) {
            let Piece::Text(frag) = piece else { continue };
            let words = segment(&frag);
            // (byte start, byte end, word) of words that are not regions.
            let mut rest: Vec<(usize, usize, String)> = Vec::new();
            let mut i = 0;
            while i < words.len() {
                let mut matched = None;
                for len in (1..=3).rev() {
                    if i + len > words.len() {
                        continue;
                    }
                    let s: String = words[i..i + len].iter().map(|(_, w)| w.as_str()).collect();
                    let cands = region_candidates(g, &s);
                    if cands.is_empty() {
                        continue;
                    }
                    let is_full = !g.by_full_name(&s).is_empty();
                    let next_is_street = words
                        .get(i + len)
                        .and_then(|(_, w)| w.chars().next())
                        .is_some_and(|c| STREET_CHARS.contains(&c));
                    if !is_full && next_is_street {
                        continue;
                    }
                    matched = Some((len, cands));
                    break;
                }
                match matched {
                    Some((len, cands)) => {
                        mentions.push(cands);
                        i += len;
                    }
                    None => {
                        let (start, w) = &words[i];
                        rest.push((*start, start + w.len(), w.clone()));
                        i += 1;
                    }
                }
            }
            for t in glue_terms(&rest) {
                if is_significant(&t) {
                    push_unique(&mut out.terms, t.to_lowercase());
                }
            }
        }
    }
    out.regions = resolve_regions(mentions);
    out.region_names = out.regions.iter().map(|c| g.full_name(*c)).collect();
    out
}

/// Drops whitespace/punctuation words and glues single CJK characters to an adjacent CJK word.
fn glue_terms(words: &[(usize, usize, String)]) -> Vec<String> {
    let mut terms: Vec<(usize, usize, String)> = Vec::new();
    let mut pending_single: Option<(usize, usize, String)> = None;
    for (s, e, w) in words {
        if !w.chars().any(char::is_alphanumeric) {
            if let Some(p) = pending_single.take() {
                terms.push(p);
            }
            continue;
        }
        let single_cjk =
            w.chars().count() == 1 && w.chars().all(is_cjk) && !STOP_WORDS.contains(&w.as_str());
        let cjk = w.chars().all(is_cjk);
        if let Some(p) = pending_single.take() {
            if p.1 == *s && cjk {
                terms.push((p.0, *e, format!("{}{}", p.2, w)));
                continue;
            }
            terms.push(p);
        }
        if single_cjk {
            if let Some(last) = terms.last_mut()
                && last.1 == *s
                && last.2.chars().all(is_cjk)
            {
                last.2.push_str(w);
                last.1 = *e;
                continue;
            }
            pending_single = Some((*s, *e, w.clone()));
            continue;
        }
        terms.push((*s, *e, w.clone()));
    }
    if let Some(p) = pending_single {
        terms.push(p);
    }
    terms.into_iter().map(|t| t.2).collect()
}

/// Narrows ambiguous mentions by the other mentions and drops mentions that only give context.
fn resolve_regions(mut mentions: Vec<Vec<RegionCode>>) -> Vec<RegionCode> {
    let n = mentions.len();
    for i in 0..n {
        let others: Vec<RegionCode> = mentions
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        let narrowed: Vec<RegionCode> = mentions[i]
            .iter()
            .copied()
            .filter(|c| others.iter().any(|o| o != c && c.is_within(*o)))
            .collect();
        if !narrowed.is_empty() && narrowed.len() < mentions[i].len() {
            mentions[i] = narrowed;
        }
    }
    let all: Vec<RegionCode> = mentions.iter().flatten().copied().collect();
    let mut out = Vec::new();
    for m in &mentions {
        // A mention every candidate of which contains another mentioned region is context only.
        let context = m
            .iter()
            .all(|c| all.iter().any(|o| o != c && o.is_within(*c)));
        if !context {
            for c in m {
                push_unique(&mut out, *c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(n: u32) -> RegionCode {
        RegionCode::new(n).unwrap()
    }

    #[test]
    fn chaoyang_residential() {
        let i = interpret("朝阳区住宅");
        assert_eq!(i.regions, vec![rc(110105), rc(220104)]);
        assert_eq!(i.property_types, vec![PropertyType::Residential]);
        assert!(i.terms.is_empty(), "{:?}", i.terms);
    }

    #[test]
    fn city_narrows_ambiguous_district() {
        let i = interpret("北京 朝阳区住宅");
        assert_eq!(i.regions, vec![rc(110105)]);
        assert_eq!(i.region_names, vec!["北京市朝阳区".to_string()]);
        let i = interpret("北京市朝阳区");
        assert_eq!(i.regions, vec![rc(110105)]);
        let i = interpret("长春朝阳区");
        assert_eq!(i.regions, vec![rc(220104)]);
    }

    #[test]
    fn hangzhou_second_round() {
        let i = interpret("杭州 二拍");
        assert_eq!(i.regions, vec![rc(330100)]);
        assert_eq!(i.rounds, vec![Round::Second]);
        assert!(i.terms.is_empty());
    }

    #[test]
    fn wangjing_second_round() {
        let i = interpret("望京二拍");
        assert_eq!(i.rounds, vec![Round::Second]);
        assert_eq!(i.terms, vec!["望京".to_string()]);
        assert!(i.regions.is_empty());
    }

    #[test]
    fn parking() {
        let i = interpret("车位");
        assert_eq!(i.property_types, vec![PropertyType::Parking]);
        assert!(i.terms.is_empty());
    }

    #[test]
    fn district_short_names_and_streets_stay_text() {
        let i = interpret("浦东");
        assert!(i.regions.is_empty());
        assert_eq!(i.terms, vec!["浦东".to_string()]);
        let i = interpret("朝阳路");
        assert!(i.regions.is_empty(), "{:?}", i.regions);
        assert_eq!(i.terms, vec!["朝阳路".to_string()]);
    }

    #[test]
    fn stop_words_and_punctuation_dropped() {
        let i = interpret("，碧桂园的房产!!");
        assert_eq!(i.terms, vec!["碧桂园".to_string()]);
        let i = interpret("ＡＢＣ　大厦");
        assert_eq!(i.terms, vec!["abc".to_string(), "大厦".to_string()]);
    }
}
