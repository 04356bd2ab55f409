//! Parsing of auction titles: round prefix, region, property type, building area, community, address.
//!
//! Titles are the only structured description most sources give, e.g.
//! `【第二次拍卖】上海市杨浦区水丰路125弄2号501-502室` or `（破）沭阳县雯锦花园小区7-103商铺`.
//! [`parse_title`] normalises ([`anjia_domain::text::normalize`]), masks natural persons' names
//! ([`crate::names::mask_person_names`]), strips the round prefix and extracts what it can.

use crate::names::mask_person_names;
use anjia_domain::{PropertyType, RegionCode, Round};

/// What a title says, after normalisation and masking.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTitle {
    /// Round from the prefix (`【第一次拍卖】`, `【一拍】`, `【变卖】` …) or an explicit round word in the
    /// title (`第二次拍卖`, `(变卖二)`); `None` when the title names none.
    pub round: Option<Round>,
    /// Property type from keywords (see [`property_type`]).
    pub property_type: PropertyType,
    /// Province (`xx0000`).
    pub province: Option<RegionCode>,
    /// Prefecture-level city (`xxxx00`), or the province code for the four municipalities (as
    /// [`RegionCode::city`] does); `None` for county-level units directly under a province.
    pub city: Option<RegionCode>,
    /// County-level district, county or county-level city.
    pub district: Option<RegionCode>,
    /// Building area in m² when stated (`建筑面积183.53㎡`, `面积:120平方米`, `88平方`).
    pub building_area_m2: Option<f64>,
    /// Community (小区) name when recognisable (best effort).
    pub community: Option<String>,
    /// The title without the round prefix, bankruptcy marker, leading `位于` and trailing boilerplate
    /// (`的房产`, `予以拍卖`, `(整体拍卖)` …); masked.
    pub address: String,
    /// The title without the round prefix; normalised and masked.
    pub title: String,
    /// Whether the title carries the bankruptcy marker `(破)`.
    pub bankruptcy: bool,
    /// How many person names were masked.
    pub masked_names: usize,
}

/// Round prefixes and words, longest first.
const ROUND_WORDS: &[(&str, Round)] = &[
    ("第一次拍卖", Round::First),
    ("第二次拍卖", Round::Second),
    ("第三次拍卖", Round::Third),
    ("再次拍卖", Round::ReAuction),
    ("重新拍卖", Round::ReAuction),
    ("变卖", Round::SellOff),
    ("一拍", Round::First),
    ("二拍", Round::Second),
    ("三拍", Round::Third),
];

/// Splits a leading `【…】` round prefix off a normalised title: `【第二次拍卖】上海市…` →
/// `(Some(Second), "上海市…")`. Other bracketed prefixes are left in place.
pub fn strip_round_prefix(s: &str) -> (Option<Round>, &str) {
    let t = s.trim_start();
    if let Some(rest) = t.strip_prefix('【')
        && let Some((inner, after)) = rest.split_once('】')
        && let Some((_, r)) = ROUND_WORDS.iter().find(|(w, _)| inner.trim() == *w)
    {
        let after = after.trim_start_matches(['-', ' ', '—', ':']);
        return (Some(*r), after);
    }
    (None, t)
}

/// Round words elsewhere in a title: `…1307房第二次拍卖`, `(变卖二)`.
fn round_in_text(s: &str) -> Option<Round> {
    ROUND_WORDS
        .iter()
        .filter(|(w, _)| w.chars().count() > 2 || *w == "变卖")
        .find(|(w, _)| s.contains(w))
        .map(|(_, r)| *r)
}

/// Parses a raw title. `hint_place` is a place known from elsewhere in the record (the court's city
/// in sf_taobao `disposal_place`, the `city` field of the asset JSON) used to resolve or complete the
/// region; it is ignored when it contradicts the title.
pub fn parse_title(raw: &str, hint_place: Option<&str>) -> ParsedTitle {
    let norm = anjia_domain::text::normalize(raw);
    let (prefix_round, rest) = strip_round_prefix(&norm);
    let masked = mask_person_names(rest);
    let masked_names = crate::names::find_person_names(rest).len();
    let mut body = masked.as_str();
    let mut bankruptcy = false;
    if let Some(b) = body.strip_prefix("(破)") {
        bankruptcy = true;
        body = b.trim_start();
    }
    let round = prefix_round.or_else(|| round_in_text(body));
    let address = clean_address(body);
    let (province, city, district) = match_region(&address, hint_place);
    ParsedTitle {
        round,
        property_type: property_type(body),
        province,
        city,
        district,
        building_area_m2: building_area(body),
        community: community(&address),
        address,
        title: masked.trim().to_string(),
        bankruptcy,
        masked_names,
    }
}

/// Trailing boilerplate removed from addresses, longest first; applied repeatedly.
const TRAILING: &[&str] = &[
    "(整体拍卖)",
    "(合并拍卖)",
    "(可按揭)",
    "予以拍卖",
    "的房产一套",
    "的住房一套",
    "房屋一套",
    "房产一套",
    "的房地产",
    "的不动产",
    "的房产",
    "的房屋",
    "房地产",
    "不动产",
    "第二次拍卖",
    "第一次拍卖",
    "房产",
    "拍卖",
    "一套",
    "一处",
    "。",
    ".",
];

/// Leading boilerplate removed from addresses.
const LEADING: &[&str] = &["关于拍卖", "拍卖", "关于", "位于", "坐落于", "坐落在"];

fn clean_address(body: &str) -> String {
    let mut s = body.trim();
    // Marketing prefixes such as 【融侨5月购房季】 or 【国茂拍卖 SQ H003】.
    while let Some(rest) = s.strip_prefix('【') {
        match rest.split_once('】') {
            Some((_, after)) => s = after.trim_start_matches(['-', ' ']),
            None => break,
        }
    }
    loop {
        let before = s;
        for p in LEADING {
            if let Some(r) = s.strip_prefix(p) {
                s = r.trim_start();
            }
        }
        if s == before {
            break;
        }
    }
    loop {
        let before = s;
        for t in TRAILING {
            if let Some(r) = s.strip_suffix(t)
                && r.chars().count() >= 4
            {
                s = r.trim_end();
            }
        }
        if s == before {
            break;
        }
    }
    s.to_string()
}

// ---------------------------------------------------------------- regions

/// Region names in a text, moved to [`anjia_domain::region_match`] so that other crates
/// (anjia-address) resolve places the same way; re-exported here for ingest's callers.
pub use anjia_domain::region_match::match_region;

// ---------------------------------------------------------------- property type

/// Keywords by property type; longer keywords win at the same position.
const TYPE_WORDS: &[(&str, PropertyType)] = &[
    ("国有建设用地使用权", PropertyType::Land),
    ("土地使用权", PropertyType::Land),
    ("建设用地", PropertyType::Land),
    ("地块", PropertyType::Land),
    ("宗地", PropertyType::Land),
    ("土地", PropertyType::Land),
    ("工业用地", PropertyType::Industrial),
    ("厂房", PropertyType::Industrial),
    ("仓库", PropertyType::Industrial),
    ("工业", PropertyType::Industrial),
    ("车间", PropertyType::Industrial),
    ("办公", PropertyType::Office),
    ("写字楼", PropertyType::Office),
    ("写字间", PropertyType::Office),
    ("非住宅", PropertyType::Commercial),
    ("商铺", PropertyType::Commercial),
    ("门面", PropertyType::Commercial),
    ("商业", PropertyType::Commercial),
    ("店铺", PropertyType::Commercial),
    ("商场", PropertyType::Commercial),
    ("铺面", PropertyType::Commercial),
    ("门市", PropertyType::Commercial),
    ("商店", PropertyType::Commercial),
    ("营业", PropertyType::Commercial),
    ("商服", PropertyType::Commercial),
    ("酒店", PropertyType::Commercial),
    ("停车位", PropertyType::Parking),
    ("停车场", PropertyType::Parking),
    ("汽车位", PropertyType::Parking),
    ("车位", PropertyType::Parking),
    ("车库", PropertyType::Parking),
    ("商住", PropertyType::Residential),
    ("住宅", PropertyType::Residential),
    ("住房", PropertyType::Residential),
    ("房屋", PropertyType::Residential),
    ("公寓", PropertyType::Residential),
    ("别墅", PropertyType::Residential),
    ("商品房", PropertyType::Residential),
    ("自建房", PropertyType::Residential),
    ("平房", PropertyType::Residential),
    ("单元", PropertyType::Residential),
    ("室", PropertyType::Residential),
    ("房", PropertyType::Residential),
    ("户", PropertyType::Residential),
];

/// Words that attach a secondary object to the main one (`住宅及车位`, `房屋及土地使用权`).
const CONJUNCTIONS: &[char] = &['及', '和', '、', '含', '带', '附', '+', '与'];

/// Property type of a normalised title.
///
/// The type of the **last** keyword wins (`…商业区120号1355车位` is parking, `…工业区…4号房` is
/// residential), unless that keyword is joined to an earlier one by a conjunction (及, 和, 、, 含 …),
/// in which case the earlier, main object wins (`住宅及车位` is residential, `房屋及土地使用权` is
/// residential). Parenthesised inclusions (`(含装修、车库)`) and the word `小区` are ignored;
/// `办公室` is office, `商住` residential, `非住宅` commercial. No keyword: a numbered unit in a
/// building (`5栋2814号`, `1-104`, `3号楼`) is residential, anything else [`PropertyType::Other`].
pub fn property_type(title: &str) -> PropertyType {
    let cleaned = strip_inclusions(title)
        .replace("小区", "")
        .replace("社区", "");
    let chars: Vec<char> = cleaned.chars().collect();
    let mut hits: Vec<(usize, usize, PropertyType)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut best: Option<(usize, PropertyType)> = None;
        for (w, t) in TYPE_WORDS {
            let wc: Vec<char> = w.chars().collect();
            if chars.len() >= i + wc.len()
                && chars[i..i + wc.len()] == wc[..]
                && best.is_none_or(|(l, _)| wc.len() > l)
            {
                best = Some((wc.len(), *t));
            }
        }
        match best {
            Some((len, t)) => {
                // 室 / 房 / 户 only count after a number or letter (1501室, 2904房, 西户): not in
                // 办公室-like words already handled, nor 房地产.
                let single = len == 1;
                let ok = !single || {
                    let prev = if i > 0 { chars[i - 1] } else { ' ' };
                    let next = chars.get(i + 1).copied().unwrap_or(' ');
                    (prev.is_ascii_alphanumeric()
                        || matches!(prev, '东' | '西' | '套' | '楼' | '号'))
                        && next != '地'
                };
                if ok {
                    hits.push((i, i + len, t));
                }
                i += len;
            }
            None => i += 1,
        }
    }
    let Some(&(start, _, last_t)) = hits.last() else {
        // No keyword: a numbered unit in a building (`5栋2814号`, `1-104`, `3号楼`) is a dwelling.
        let unit_like = ["栋", "幢", "号楼", "单元", "座"]
            .iter()
            .any(|w| cleaned.contains(w))
            || chars
                .windows(3)
                .any(|w| w[0].is_ascii_digit() && w[1] == '-' && w[2].is_ascii_digit());
        return if unit_like {
            PropertyType::Residential
        } else {
            PropertyType::Other
        };
    };
    if hits.len() >= 2 {
        let (_, prev_end, prev_t) = hits[hits.len() - 2];
        let between: String = chars[prev_end..start].iter().collect();
        let joined = between.chars().count() <= 12
            && between.chars().any(|c| CONJUNCTIONS.contains(&c))
            && between.chars().last().is_some_and(|c| {
                CONJUNCTIONS.contains(&c) || c.is_ascii_alphanumeric() || c == '#' || c == '号'
            });
        if joined && prev_t != last_t {
            return prev_t;
        }
        // A dwelling, shop or office sold together with parking (`1902房屋及两个地下车位`,
        // `304室房产及地下车位一个`) is that property: the parking space is the accessory.
        if last_t == PropertyType::Parking
            && prev_t != PropertyType::Parking
            && between.chars().any(|c| CONJUNCTIONS.contains(&c))
        {
            return prev_t;
        }
    }
    last_t
}

#[cfg(test)]
mod accessory_parking_tests {
    use super::*;

    #[test]
    fn dwelling_with_parking_is_residential() {
        assert_eq!(
            property_type("北京市朝阳区成慧路1号院1号楼1902房屋及两个地下车位"),
            PropertyType::Residential
        );
        assert_eq!(
            property_type("某花园3栋304室房产及地下车位一个"),
            PropertyType::Residential
        );
        assert_eq!(property_type("某小区地下车位"), PropertyType::Parking);
    }
}

/// Removes `(含…)` / `(包括…)` parentheses.
fn strip_inclusions(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('(') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        match after.find(')') {
            Some(q) if after.starts_with('含') || after.starts_with("包括") => {
                rest = &after[q + 1..];
            }
            _ => {
                out.push('(');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- area

/// Units of area as they appear after normalisation (`㎡` becomes `m2` under NFKC), longest first.
const AREA_UNITS: &[&str] = &["平方米", "平米", "平方", "m2", "M2", "㎡"];

/// Building area in m² stated in a normalised title: the number before a unit (`183.53m2`,
/// `120平方米`, `88平方`), preferring one introduced by `建筑面积`/`面积`. Values outside 1–10^7 m² are
/// ignored.
pub fn building_area(title: &str) -> Option<f64> {
    let mut found: Vec<(f64, bool)> = Vec::new();
    for unit in AREA_UNITS {
        let mut from = 0;
        while let Some(p) = title[from..].find(unit) {
            let at = from + p;
            from = at + unit.len();
            let before = &title[..at];
            let num_start = before
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
                .last()
                .map(|(i, _)| i);
            let Some(ns) = num_start else { continue };
            let num = before[ns..].trim_start_matches('.');
            if let Ok(v) = num.parse::<f64>()
                && (1.0..1e7).contains(&v)
            {
                let pre = &before[..ns];
                let labelled = pre.ends_with("面积")
                    || pre.ends_with("面积:")
                    || pre.ends_with("面积为")
                    || pre.ends_with("面积约");
                found.push((v, labelled));
            }
        }
    }
    found
        .iter()
        .find(|(_, l)| *l)
        .or(found.first())
        .map(|(v, _)| *v)
}

// ---------------------------------------------------------------- community

/// Suffixes that end a community (小区) name, longest first.
const COMMUNITY_SUFFIXES: &[&str] = &[
    "小区", "花园", "家园", "新村", "山庄", "公寓", "大厦", "广场", "新城", "华府", "名邸", "雅苑",
    "嘉园", "花苑", "名苑", "苑", "园", "城", "府", "庭", "居", "湾", "郡",
];

/// Characters after which a community name starts (the end of a road, number or administrative part).
const COMMUNITY_BOUNDARY: &[char] = &[
    '号', '路', '街', '道', '巷', '弄', '镇', '区', '县', '市', '村', '(', ')', '、', ',', ' ',
    '#', '省', '乡', '会', '处', '侧', '内', '-', '之',
];

/// Community (小区) name in an address: the run of characters ending in a community suffix (花园,
/// 小区, 苑, 园, 大厦, 广场, 城 …) that starts after the last road/number/administrative boundary.
/// Best effort: `…狮山镇松岗商业大道北2号海逸桃源花园6栋2904房` → `海逸桃源花园`.
pub fn community(address: &str) -> Option<String> {
    let chars: Vec<char> = address.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        for suf in COMMUNITY_SUFFIXES {
            let sc: Vec<char> = suf.chars().collect();
            if chars.len() < i + sc.len() || chars[i..i + sc.len()] != sc[..] {
                continue;
            }
            let end = i + sc.len();
            // A one-character suffix must end the word (not 园区, 城市, 府路).
            if sc.len() == 1 {
                let next = chars.get(end).copied();
                if matches!(
                    next,
                    Some('区' | '市' | '路' | '街' | '镇' | '村' | '乡' | '县')
                ) {
                    continue;
                }
            }
            let mut s = i;
            while s > 0 {
                let c = chars[s - 1];
                if COMMUNITY_BOUNDARY.contains(&c) || c.is_ascii_digit() {
                    break;
                }
                s -= 1;
            }
            // Extend to a later suffix in the same run (`果园名居`, `碧桂园西苑`).
            let mut end = end;
            let mut j = end;
            while j < chars.len()
                && j - s < 12
                && !COMMUNITY_BOUNDARY.contains(&chars[j])
                && !chars[j].is_ascii_alphanumeric()
                && !matches!(chars[j], '栋' | '幢' | '座' | '楼' | '期')
            {
                j += 1;
                for suf2 in COMMUNITY_SUFFIXES {
                    let c2: Vec<char> = suf2.chars().collect();
                    if j >= c2.len() && chars[j - c2.len()..j] == c2[..] {
                        end = j;
                    }
                }
            }
            let name: String = chars[s..end].iter().collect();
            let n = end - s;
            if n > sc.len() && (2..=12).contains(&n) && !name.contains('*') {
                return Some(name);
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(n: u32) -> RegionCode {
        RegionCode::new(n).unwrap()
    }

    #[test]
    fn strips_round_prefixes() {
        assert_eq!(
            strip_round_prefix("【第二次拍卖】上海市杨浦区"),
            (Some(Round::Second), "上海市杨浦区")
        );
        assert_eq!(
            strip_round_prefix("【一拍】-平安银行-宜滨新村"),
            (Some(Round::First), "平安银行-宜滨新村")
        );
        assert_eq!(strip_round_prefix("【变卖】x"), (Some(Round::SellOff), "x"));
        assert_eq!(
            strip_round_prefix("【再次拍卖】x").0,
            Some(Round::ReAuction)
        );
        assert_eq!(strip_round_prefix("【融侨5月购房季】x").0, None);
    }

    #[test]
    fn regions() {
        assert_eq!(
            match_region("北京市朝阳区朝阳路1号", None),
            (Some(rc(110000)), Some(rc(110000)), Some(rc(110105)))
        );
        assert_eq!(
            match_region("杭州市西湖区文三路", None),
            (Some(rc(330000)), Some(rc(330100)), Some(rc(330106)))
        );
        assert_eq!(match_region("昌邑市奎聚街道", None).2, Some(rc(370786)));
        assert_eq!(match_region("北京市崇文区", None).2, Some(rc(110101)));
        // 朝阳路 / 朝阳街道 are not 朝阳市 or 朝阳区.
        assert_eq!(match_region("朝阳路88号", None), (None, None, None));
        assert_eq!(match_region("朝阳街道幸福里", None), (None, None, None));
        // Ambiguous 朝阳区 resolved by a hint.
        assert_eq!(
            match_region("朝阳区人民大街", Some("长春市")).2,
            Some(rc(220104))
        );
        assert_eq!(match_region("朝阳区人民大街", None).2, None);
        // District unique in the country gives the city.
        assert_eq!(match_region("顺德区北滘镇", None).1, Some(rc(440600)));
        // Hint completes a title without a place.
        assert_eq!(
            match_region("晶都小区49号", Some("浦江县")).2,
            Some(rc(330726))
        );
        assert_eq!(
            match_region("铁西区兴华街", Some("沈阳市")).2,
            Some(rc(210106))
        );
    }

    #[test]
    fn property_types() {
        use PropertyType::*;
        for (t, want) in [
            (
                "位于佛山市南海区里水镇洲村里横路悦园小区商业区120号1355车位",
                Parking,
            ),
            ("某小区3栋住宅及车位", Residential),
            (
                "南京市鼓楼区黑龙江路19号汇林绿洲怡林苑3幢3单元101室房产",
                Residential,
            ),
            (
                "位于佛山市南海区桂城街道南海大道北16号联华大厦701办公室",
                Office,
            ),
            ("(破)沭阳县雯锦花园小区7-103商铺", Commercial),
            ("泰州市海陵区九龙镇世纪大道51号1-7幢厂房", Industrial),
            (
                "(破)启东中信科技有限公司名下的国有土地使用权及在建工程",
                Land,
            ),
            ("沭阳县贤官镇大江木业南侧房屋及土地使用权", Residential),
            (
                "江阴市文富花苑二区44幢505室住宅房地产(含装潢、阁楼及自行车库)",
                Residential,
            ),
            ("深圳市南山区蛇口工业区沿山路龟山小筑A座4号房", Residential),
            ("集装箱做的设备六个", Other),
            (
                "长沙市开福区湘江中路一段126号华盛新外滩花园5栋2814号",
                Residential,
            ),
            ("重庆市渝北区双龙湖街道龙康街33号1幢8-1", Residential),
        ] {
            assert_eq!(property_type(t), want, "{t}");
        }
    }

    #[test]
    fn areas() {
        assert_eq!(building_area("建筑面积183.53m2"), Some(183.53));
        assert_eq!(building_area("面积:120平方米"), Some(120.0));
        assert_eq!(building_area("徐州市袁桥小区二期75.35m2"), Some(75.35));
        assert_eq!(building_area("宿迁市项王三期多层二楼120平方"), Some(120.0));
        assert_eq!(building_area("15栋2单元"), None);
    }

    #[test]
    fn communities() {
        for (a, want) in [
            (
                "佛山市南海区狮山镇松岗商业大道北2号海逸桃源花园6栋2904房",
                Some("海逸桃源花园"),
            ),
            (
                "南京市六合区横梁镇山东路51号雨花石文化园49幢一单元302",
                Some("雨花石文化园"),
            ),
            ("上海市杨浦区水丰路125弄2号501-502室", None),
            ("(破)沭阳县雯锦花园小区7-103商铺", Some("雯锦花园")),
            ("南通市通州区果园名居2幢504", Some("果园名居")),
        ] {
            assert_eq!(community(a).as_deref(), want, "{a}");
        }
    }

    #[test]
    fn parses_whole_titles() {
        let p = parse_title(
            "【第二次拍卖】被执行人邢力燕与案外人董辉晶在沅陵县沅陵镇迎宾南路（沁园春商住楼3栋）的住房一套",
            Some("沅陵县"),
        );
        assert_eq!(p.round, Some(Round::Second));
        assert_eq!(p.district, Some(rc(431222)));
        assert_eq!(p.property_type, PropertyType::Residential);
        assert!(
            p.title.starts_with("被执行人邢**与案外人董**在沅陵县"),
            "{}",
            p.title
        );
        assert!(!p.address.contains("力燕"));
        let b = parse_title(
            "（破）南京市六合区横梁镇山东路51号雨花石文化园49幢一单元302",
            None,
        );
        assert!(b.bankruptcy);
        assert_eq!(b.district, Some(rc(320116)));
        assert_eq!(b.community.as_deref(), Some("雨花石文化园"));
    }
}
