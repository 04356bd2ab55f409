//! Detection and masking of natural persons' names in auction titles (PRIVACY.md PRV-14).
//!
//! Court titles name debtors, co-owners and third parties: `被执行人邢力燕与案外人董辉晶在…`,
//! `郝静斌所有位于…`, `沈勇、雷东浩所有的…`, `登记在詹超昊之子姜俊名下…`. Names are found by context,
//! never by a dictionary of given names:
//!
//! * **after a role word** ([`ROLE_WORDS`]: 被执行人, 案外人, 共有人, 担保人, 配偶, 其妻, 之子, 登记在 …)
//!   a surname ([`SINGLE_SURNAMES`] or a compound surname) plus one to three more characters, ending
//!   where an ownership/link word follows ([`AFTER_WORDS`]: 所有, 名下, 与, 、, 位于, 在, 的, 购买 …);
//! * **at the start of a title or of a bracketed/comma segment**, a 2–5 character run beginning with a
//!   surname and followed by an ownership word (`郝静斌所有…`, `孟和格日勒所有的…`, `胡蓉信在…`);
//! * **in the middle of a title**, the 3- (else 2-, else 4-) character run before a strong ownership
//!   word (所有的, 名下, 址在, 共同所有 …; `…明生村樊佩薇所有的…`);
//! * **lists**: after a detected name, `、` or `与` followed by another surname-initial run.
//!
//! Candidates containing characters of places, buildings or organisations ([`NON_NAME_CHARS`]: 市, 县,
//! 路, 号, 楼, 公司's 司, 会, 行 …) are rejected, so 宏源房产公司, 中国银行, 村民委员会 or 黄河大道 are not
//! names. Measured on the labelled sample `tests/data/person_names_labelled.tsv` (148 titles with 183
//! names, 410 without) by the test `names_labelled`.

use anjia_domain::mask::{COMPOUND_SURNAMES, mask_person_name};

/// Common single-character Chinese surnames (from the 百家姓 and the most frequent modern surnames),
/// without those that are also everyday address words (东, 西, 南, 北, 上, 下, 门, 楼…).
pub const SINGLE_SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南宫钮况郜栗奚浦蔺";

/// Words that introduce a person's name (role of the person in the case or ownership).
pub const ROLE_WORDS: &[&str] = &[
    "被执行人",
    "被申请人",
    "申请执行人",
    "申请人",
    "案外人",
    "共有人",
    "担保人",
    "保证人",
    "抵押人",
    "所有权人",
    "产权人",
    "业主",
    "被告",
    "原告",
    "第三人",
    "债务人",
    "配偶",
    "其妻",
    "其夫",
    "之妻",
    "之夫",
    "之子",
    "之女",
    "登记在",
    "户主",
];

/// Words that may follow a person's name (ownership, location or link to another person).
pub const AFTER_WORDS: &[&str] = &[
    "所有", "名下", "共有", "共同", "单独", "按份", "持有", "占有", "抵押", "购买", "址在", "位于",
    "坐落", "的", "与", "、", "在", "之", "(", ")", ",", "，", "及",
];

/// Strong ownership words that mark a name even in the middle of a title.
const STRONG_AFTER: &[&str] = &[
    "所有的",
    "所有位于",
    "所有坐落",
    "名下",
    "址在",
    "共有的",
    "共同所有",
    "单独所有",
    "占有位于",
];

/// Characters that do not occur in the persons' names of these titles but do in places, buildings and
/// organisations; a candidate containing one is not a name.
pub const NON_NAME_CHARS: &str = "市县区镇乡村路街巷道号楼室层栋幢单房屋宅产司厂局院馆会店场处部门委政府行省州旗所人拍卖执被案共有名下位于址的与在及权证户地块宗土用工程项目城园苑府庭苑广厦大道小镇花区期座套间套一二三四五六七八九十百千万第";

/// A person's name found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMatch {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
    /// The name as written.
    pub name: String,
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

fn starts_with_surname(chars: &[char]) -> bool {
    let Some(first) = chars.first() else {
        return false;
    };
    if chars.len() >= 3 {
        let two: String = chars[..2].iter().collect();
        if COMPOUND_SURNAMES.contains(&two.as_str()) {
            return true;
        }
    }
    SINGLE_SURNAMES.contains(*first)
}

/// Words that look like surname-initial names but are not (单独所有, 共同所有).
const NOT_NAMES: &[&str] = &["单独", "共同", "按份", "单位", "单价", "房屋", "所有"];

fn plausible_name(chars: &[char]) -> bool {
    let s: String = chars.iter().collect();
    (2..=5).contains(&chars.len())
        && !NOT_NAMES.contains(&s.as_str())
        && chars.iter().all(|c| is_han(*c))
        && starts_with_surname(chars)
        && !chars[1..].iter().any(|c| NON_NAME_CHARS.contains(*c))
}

fn starts_with_any(chars: &[char], at: usize, words: &[&str]) -> Option<usize> {
    words
        .iter()
        .filter(|w| {
            let wc: Vec<char> = w.chars().collect();
            chars.len() >= at + wc.len() && chars[at..at + wc.len()] == wc[..]
        })
        .map(|w| w.chars().count())
        .max()
}

/// Whether an ownership/link word starts at `at` (or the text ends there). `所有权` (ownership right)
/// and `共有人` (a role word) do not count as ownership words.
fn after_word_at(chars: &[char], at: usize) -> bool {
    if at >= chars.len() {
        return true;
    }
    let rest: String = chars[at..chars.len().min(at + 3)].iter().collect();
    if rest.starts_with("所有权") {
        return false;
    }
    starts_with_any(chars, at, AFTER_WORDS).is_some()
}

/// Finds the names of natural persons in `text` (already normalised or not), in order of position.
pub fn find_person_names(text: &str) -> Vec<NameMatch> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans: Vec<(usize, usize)> = Vec::new(); // char ranges
    let n = chars.len();

    // 1. After role words.
    let mut i = 0;
    while i < n {
        if let Some(len) = starts_with_any(&chars, i, ROLE_WORDS) {
            let s = i + len;
            if let Some(e) = name_ending_at_after_word(&chars, s) {
                spans.push((s, e));
                chain(&chars, e, &mut spans);
            }
            i = s;
        } else {
            i += 1;
        }
    }

    // 2. At the start of the title or of a segment.
    for s in 0..n {
        let seg_start = s == 0 || matches!(chars[s - 1], '(' | '（' | ',' | '，' | ' ' | '。');
        let after_lead = starts_with_prefix_word(&chars, s);
        if !(seg_start || after_lead) {
            continue;
        }
        if let Some(e) = run_to_after_word(&chars, s) {
            let strong = starts_with_any(&chars, e, STRONG_AFTER).is_some();
            let is_list = matches!(chars.get(e), Some('、' | '与'));
            // Mid-title segments (after a bracket or comma) need a strong word or a list.
            if s == 0 || after_lead || strong || is_list {
                let before = spans.len();
                spans.push((s, e));
                chain(&chars, e, &mut spans);
                // A bracketed list must end in a strong ownership word.
                if s != 0 && !after_lead && !strong {
                    let last = spans.last().map(|x| x.1).unwrap_or(e);
                    if starts_with_any(&chars, last, STRONG_AFTER).is_none() {
                        spans.truncate(before);
                    }
                }
            }
        }
    }

    // 3. Before strong ownership words anywhere.
    for m in 1..n {
        if starts_with_any(&chars, m, STRONG_AFTER).is_none() {
            continue;
        }
        for len in [3usize, 2, 4] {
            if len > m {
                continue;
            }
            let cand = &chars[m - len..m];
            if len == 4 && !starts_with_surname(&cand[..3]) {
                continue;
            }
            if plausible_name(cand) {
                spans.push((m - len, m));
                // A list before: `A、B所有`.
                let mut s = m - len;
                while s >= 1 && chars[s - 1] == '、' {
                    let prev_end = s - 1;
                    let mut found = false;
                    for l in [3usize, 2] {
                        if l <= prev_end && plausible_name(&chars[prev_end - l..prev_end]) {
                            spans.push((prev_end - l, prev_end));
                            s = prev_end - l;
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        break;
                    }
                }
                break;
            }
        }
    }

    spans.sort();
    spans.dedup();
    // Drop spans overlapping an earlier one (keep the first, longest).
    let mut out: Vec<(usize, usize)> = Vec::new();
    for sp in spans {
        if let Some(last) = out.last_mut()
            && sp.0 < last.1
        {
            if sp.0 == last.0 && sp.1 > last.1 {
                *last = sp;
            }
            continue;
        }
        out.push(sp);
    }
    let byte_at = |ci: usize| chars[..ci].iter().map(|c| c.len_utf8()).sum::<usize>();
    out.into_iter()
        .map(|(s, e)| NameMatch {
            start: byte_at(s),
            end: byte_at(e),
            name: chars[s..e].iter().collect(),
        })
        .collect()
}

/// Words after which a title's "owner" clause starts (`拍卖郝某所有的…`, `关于杜某名下…`).
fn starts_with_prefix_word(chars: &[char], s: usize) -> bool {
    ["拍卖", "关于"].iter().any(|w| {
        let wc: Vec<char> = w.chars().collect();
        s >= wc.len() && chars[s - wc.len()..s] == wc[..]
    })
}

/// A name starting at `s`, 2–4 characters, followed by an ownership/link word: returns its end.
fn name_ending_at_after_word(chars: &[char], s: usize) -> Option<usize> {
    for len in 2..=4 {
        let e = s + len;
        if e > chars.len() {
            break;
        }
        let cand = &chars[s..e];
        if !plausible_name(cand) {
            // Later characters only make it worse once a non-name character is included.
            if cand
                .iter()
                .any(|c| !is_han(*c) || NON_NAME_CHARS.contains(*c))
            {
                break;
            }
            continue;
        }
        if after_word_at(chars, e) {
            return Some(e);
        }
    }
    None
}

/// The longest run of 2–5 characters starting at `s` that is a plausible name and followed by an
/// ownership/link word.
fn run_to_after_word(chars: &[char], s: usize) -> Option<usize> {
    let mut best = None;
    for len in 2..=5 {
        let e = s + len;
        if e > chars.len() {
            break;
        }
        let cand = &chars[s..e];
        if cand.iter().any(|c| !is_han(*c)) {
            break;
        }
        if plausible_name(cand) && after_word_at(chars, e) && e < chars.len() {
            best = Some(e);
            break;
        }
    }
    best
}

/// After a name ending at `e`: `、B`, `与B` (and so on) where B is a name.
fn chain(chars: &[char], mut e: usize, spans: &mut Vec<(usize, usize)>) {
    let mut prev_len = spans.last().map(|x| x.1 - x.0).unwrap_or(3);
    while matches!(chars.get(e), Some('、' | '与')) {
        let s = e + 1;
        let next = name_ending_at_after_word(chars, s).or_else(|| {
            // `A、B遵义…`: no ownership word after B; take B with A's length.
            let e2 = s + prev_len;
            (chars[..].len() >= e2 && plausible_name(&chars[s..e2.min(chars.len())])).then_some(e2)
        });
        match next {
            Some(e2) if e2 <= chars.len() => {
                spans.push((s, e2));
                prev_len = e2 - s;
                e = e2;
            }
            _ => break,
        }
    }
}

/// Replaces every detected person's name by surname + `**` ([`mask_person_name`]), leaving everything
/// else (places, companies, banks, courts) unchanged.
pub fn mask_person_names(text: &str) -> String {
    let found = find_person_names(text);
    if found.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for m in found {
        out.push_str(&text[pos..m.start]);
        out.push_str(&mask_person_name(&m.name));
        pos = m.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(t: &str) -> Vec<String> {
        find_person_names(t).into_iter().map(|m| m.name).collect()
    }

    #[test]
    fn finds_names_by_context() {
        assert_eq!(
            names("被执行人邢力燕与案外人董辉晶在沅陵县沅陵镇迎宾南路(沁园春商住楼3栋)的住房一套"),
            ["邢力燕", "董辉晶"]
        );
        assert_eq!(names("郝静斌所有位于四平市铁东区平东街"), ["郝静斌"]);
        assert_eq!(
            names("郑艳春、许辉海位于威远县严陵镇"),
            ["郑艳春", "许辉海"]
        );
        assert_eq!(
            names("开鲁县小街基镇明生村樊佩薇所有的1-2层房屋"),
            ["樊佩薇"]
        );
        assert_eq!(
            names("登记在詹超昊之子姜俊名下的位于余庆县"),
            ["詹超昊", "姜俊"]
        );
        assert_eq!(names("孟和格日勒所有的位于内蒙古镶黄旗"), ["孟和格日勒"]);
        assert_eq!(names("被执行人彭凤位于永州市"), ["彭凤"]);
        assert_eq!(
            names("岚皋县城关镇孟家巷66号(詹蕾涛、郭全雪名下房产)"),
            ["詹蕾涛", "郭全雪"]
        );
    }

    #[test]
    fn leaves_organisations_and_places() {
        for t in [
            "(破)正国公司名下瑞安塘下壹鼎大厦2211房产",
            "(破)东方巨龙投资发展(杭州)有限公司所有的8幢213室房屋",
            "莱西市店埠镇张家横岭村民委员会所有的位于莱西市的6间房屋",
            "黄河大道与彰德路交叉口西北角华豫锦绣园3号楼",
            "被执行人所有的位于准格尔旗兴隆住宅楼1号地下库房",
            "上海市普陀区西康路1288弄1号703室及1-6号126车位所有权及土地使用权",
            "宏源房产公司名下碧桂园8座",
            "中国银行所有的房产",
        ] {
            assert!(names(t).is_empty(), "{t}: {:?}", names(t));
        }
    }

    #[test]
    fn masks_to_surname() {
        assert_eq!(
            mask_person_names("被执行人邢力燕与案外人董辉晶在沅陵县"),
            "被执行人邢**与案外人董**在沅陵县"
        );
        assert_eq!(mask_person_names("碧桂园西苑"), "碧桂园西苑");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let m = mask_person_names(&s);
            prop_assert!(m.chars().count() <= s.chars().count() + 10);
        }
    }
}
