//! Text normalisation for titles and queries.

use unicode_normalization::UnicodeNormalization;

/// Normalises full-width ASCII forms (`１２３`, `（`, `Ａ`) to half-width and the ideographic space to
/// a plain space, using Unicode NFKC, then collapses runs of white space to one space and trims.
///
/// CJK ideographs are unchanged. `【` and `】` are kept (they carry the round prefix). `㎡` becomes
/// `m2` under NFKC, so callers that look for `㎡` should look for `m2` as well.
pub fn normalize(s: &str) -> String {
    let nfkc: String = s.nfkc().collect();
    let mut out = String::with_capacity(nfkc.len());
    let mut last_space = true;
    for c in nfkc.chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
        } else if !c.is_control() && !is_invisible_format(c) {
            out.push(c);
            last_space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Zero-width and other invisible format characters that change no meaning but break matching:
/// U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+FEFF.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_becomes_half_width() {
        assert_eq!(normalize("（破）１２３号　Ａ座"), "(破)123号 A座");
        assert_eq!(normalize("  a \t b  "), "a b");
        assert_eq!(normalize("【一拍】"), "【一拍】");
        assert_eq!(normalize("朝阳\u{200B}区\u{FEFF}住宅"), "朝阳区住宅");
    }
}
