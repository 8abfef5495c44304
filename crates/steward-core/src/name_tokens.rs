//! The tokens a name is found by: the words of a given, family or company name, folded so
//! that the ways one name is typed give one token ("Müller", "MÜLLER" and "Muller" give
//! "muller"; "O'Brien" gives "obrien"). Each token is indexed as a keyed digest, so search is
//! by whole tokens only: equal tokens are findable, prefixes and misspellings are not.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Tokens longer than this are cut: a name is not an essay, and a token's digest is as long
/// whatever its length.
pub const MAX_TOKEN_CHARS: usize = 64;
/// At most this many tokens per value, so a long value cannot grow the index without bound.
pub const MAX_TOKENS: usize = 16;

/// Apostrophes join a word ("O'Brien"); they are dropped rather than split on.
fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}')
}

/// The distinct tokens of `value`, in the order they first appear.
pub fn name_tokens(value: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, tokens: &mut Vec<String>| {
        if !current.is_empty() && tokens.len() < MAX_TOKENS {
            let token: String = current.chars().take(MAX_TOKEN_CHARS).collect();
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        current.clear();
    };
    // Compatibility decomposition splits ligatures and full-width forms and separates
    // accents from their letters, which are then dropped.
    for c in value.nfkd() {
        if is_combining_mark(c) || is_joiner(c) {
            continue;
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if c.is_whitespace() || !is_format(c) {
            // Spaces, hyphens and other punctuation end a token; format characters
            // (direction marks, zero-width joiners) are invisible and end nothing.
            flush(&mut current, &mut tokens);
        }
    }
    flush(&mut current, &mut tokens);
    tokens
}

/// Unicode's format characters (category Cf) that names carry unseen: direction marks and
/// isolates, zero-width joiners, the byte-order mark, soft hyphens.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_and_apostrophes_fold_away() {
        for typed in ["Müller", "MÜLLER", "Muller", "Mu\u{0308}ller"] {
            assert_eq!(name_tokens(typed), vec!["muller"], "{typed:?}");
        }
        assert_eq!(name_tokens("O'Brien"), name_tokens("O\u{2019}brien"));
        assert_eq!(name_tokens("O'Brien"), vec!["obrien"]);
    }

    #[test]
    fn words_are_split_on_space_and_punctuation_and_deduplicated() {
        assert_eq!(
            name_tokens("  Anna-Lena  von der  Smith, Smith "),
            vec!["anna", "lena", "von", "der", "smith"]
        );
        assert_eq!(
            name_tokens("Acme\r\nGmbH & Co. KG"),
            vec!["acme", "gmbh", "co", "kg"]
        );
        assert!(name_tokens(" - . ").is_empty());
    }

    #[test]
    fn invisible_format_characters_neither_split_nor_stay() {
        assert_eq!(name_tokens("Sm\u{200B}ith"), vec!["smith"]);
        assert_eq!(name_tokens("\u{2067}Smith\u{2069}"), vec!["smith"]);
        assert_eq!(name_tokens("\u{202E}htimS"), vec!["htims"]);
    }

    #[test]
    fn right_to_left_and_other_scripts_are_tokens_too() {
        assert_eq!(name_tokens("محمد علي"), vec!["محمد", "علي"]);
        assert_eq!(name_tokens("Σωκράτης"), vec!["σωκρατης"]);
        assert_eq!(name_tokens("ﬁona"), vec!["fiona"]);
        assert_eq!(name_tokens("Ｓｍｉｔｈ"), vec!["smith"]);
    }

    #[test]
    fn long_values_are_bounded() {
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(name_tokens(&many).len(), MAX_TOKENS);
        let long = "a".repeat(500);
        assert_eq!(name_tokens(&long)[0].chars().count(), MAX_TOKEN_CHARS);
    }
}
