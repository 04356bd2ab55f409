//! Tokenizers: jieba (search mode) for words and CJK character bigrams for substring-like matching.
//!
//! jieba may cut a title differently from a query (`望京西园` vs `望京`); the bigram field makes every
//! CJK substring of two or more characters findable: a query word matches when the jieba field holds
//! the word itself **or** the bigram field holds all of the word's bigrams.

use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy_jieba::JiebaTokenizer;

/// Name under which the jieba analyzer is registered.
pub const JIEBA: &str = "anjia_jieba";
/// Name under which the CJK bigram analyzer is registered.
pub const BIGRAM: &str = "anjia_cjk_bigram";

/// Whether `c` is a CJK ideograph.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The analyzer of the word field: jieba in search mode (long words also yield their dictionary
/// sub-words), lower-cased, very long tokens dropped.
pub fn jieba_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .build()
}

/// The analyzer of the bigram field.
pub fn bigram_analyzer() -> TextAnalyzer {
    TextAnalyzer::from(CjkBigramTokenizer)
}

/// Bigrams of each run of CJK ideographs in `text` (a run of one character yields that character).
pub fn cjk_bigrams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        } else {
            for w in run.windows(2) {
                out.push(w.iter().collect());
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else if !run.is_empty() {
            flush(&mut run, &mut out);
        }
    }
    if !run.is_empty() {
        flush(&mut run, &mut out);
    }
    out
}

/// Emits [`cjk_bigrams`] as tokens.
#[derive(Clone, Copy, Debug, Default)]
pub struct CjkBigramTokenizer;

/// Token stream of [`CjkBigramTokenizer`].
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for CjkBigramTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = cjk_bigrams(text)
            .into_iter()
            .enumerate()
            .map(|(i, t)| Token {
                offset_from: 0,
                offset_to: 0,
                position: i,
                text: t,
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

/// Segments `text` with jieba in default (non-search) mode, returning `(byte_start, word)` pairs.
pub fn segment(text: &str) -> Vec<(usize, String)> {
    let mut tok = JiebaTokenizer::with_search_mode(false);
    let mut s = tok.token_stream(text);
    let mut out = Vec::new();
    while s.advance() {
        let t = s.token();
        out.push((t.offset_from, t.text.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_of_runs() {
        assert_eq!(
            cjk_bigrams("望京西园3区"),
            vec!["望京", "京西", "西园", "区"]
        );
        assert_eq!(cjk_bigrams("abc"), Vec::<String>::new());
    }

    #[test]
    fn segments_keep_offsets() {
        let s = segment("朝阳区 住宅");
        let joined: String = s.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(joined, "朝阳区 住宅");
        assert_eq!(s[0].0, 0);
    }
}
