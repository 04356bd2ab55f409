//! The normal form in which texts and community names are compared.

use anjia_domain::text::normalize;

/// Normal form for matching: [`anjia_domain::text::normalize`] (NFKC: full-width digits, letters
/// and brackets become half-width; invisible format characters dropped), then every white-space
/// character and the separators `·` / `•` removed and ASCII letters lower-cased.
///
/// `（破）望京西园 三区１号` → `(破)望京西园三区1号`.
pub fn normalize_key(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '・'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Suffixes a title may leave out (`望京花园小区` is `望京花园` in a title and vice versa).
const OPTIONAL_SUFFIXES: [&str; 2] = ["小区", "社区"];

/// The keys under which a community name is indexed: its normal form; without a parenthesised
/// part (`万科城(一期)` → `万科城`); without a trailing `小区`/`社区` when at least two characters
/// remain; a Beijing-style `…号院` also without the final `院` when at least five characters
/// remain (`什坊院甲3号院` → `什坊院甲3号`, which a title writes as `什坊院甲3号楼`). Deduplicated,
/// in that order; empty names give no key.
pub(crate) fn key_variants(name: &str) -> Vec<String> {
    let base = normalize_key(name);
    let mut out: Vec<String> = Vec::new();
    let push = |k: String, out: &mut Vec<String>| {
        if !k.is_empty() && !out.contains(&k) {
            out.push(k);
        }
    };
    push(base.clone(), &mut out);
    let no_paren = strip_parens(&base);
    push(no_paren.clone(), &mut out);
    for k in [base, no_paren] {
        for suf in OPTIONAL_SUFFIXES {
            if let Some(s) = k.strip_suffix(suf)
                && s.chars().count() >= 2
            {
                push(s.to_string(), &mut out);
            }
        }
        if k.ends_with("号院") && k.chars().count() > 5 {
            push(k.trim_end_matches('院').to_string(), &mut out);
        }
    }
    out
}

/// Removes `(…)` parts (half-width after normalisation); an unclosed `(` is kept as is.
fn strip_parens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('(') {
        match rest[p..].find(')') {
            Some(q) => {
                out.push_str(&rest[..p]);
                rest = &rest[p + q + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form() {
        assert_eq!(
            normalize_key("（破）望京西园 三区１号"),
            "(破)望京西园三区1号"
        );
        assert_eq!(normalize_key("NAGA上院"), "naga上院");
        assert_eq!(normalize_key("　"), "");
    }

    #[test]
    fn variants() {
        assert_eq!(key_variants("万科城(一期)"), vec!["万科城(一期)", "万科城"]);
        assert_eq!(
            key_variants("望京花园小区"),
            vec!["望京花园小区", "望京花园"]
        );
        assert_eq!(
            key_variants("什坊院甲3号院"),
            vec!["什坊院甲3号院", "什坊院甲3号"]
        );
        // Too short to drop the suffix / the 院.
        assert_eq!(key_variants("东小区"), vec!["东小区"]);
        assert_eq!(key_variants("甲3号院"), vec!["甲3号院"]);
        assert!(key_variants(" ").is_empty());
        assert_eq!(strip_parens("a(b"), "a(b");
    }
}
