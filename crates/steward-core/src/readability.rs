//! How hard a text is to read: the Flesch reading ease score (Flesch, 1948). About 60–70 is
//! plain English; below 50 is college level. Syllables are estimated from vowel groups, which
//! is close enough to warn an author, not to grade them.

/// Flesch reading ease of `text`; 100 for a text without words.
pub fn flesch_reading_ease(text: &str) -> f64 {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    if words.is_empty() {
        return 100.0;
    }
    let sentences = text
        .split(['.', '!', '?', ';', ':'])
        .filter(|s| s.chars().any(char::is_alphabetic))
        .count()
        .max(1);
    let syllables: usize = words.iter().map(|w| syllables(w)).sum();
    let w = words.len() as f64;
    206.835 - 1.015 * (w / sentences as f64) - 84.6 * (syllables as f64 / w)
}

fn syllables(word: &str) -> usize {
    let lower = word.to_lowercase();
    let chars: Vec<char> = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let mut groups = 0;
    let mut previous = false;
    for &c in &chars {
        let v = vowel(c);
        if v && !previous {
            groups += 1;
        }
        previous = v;
    }
    // A final silent "e" ("use", "store") is no syllable of its own, "le" ("simple") is.
    if chars.len() > 2
        && chars.last() == Some(&'e')
        && !vowel(chars[chars.len() - 2])
        && chars[chars.len() - 2] != 'l'
    {
        groups -= 1;
    }
    groups.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_score_higher_than_legalese() {
        let plain = flesch_reading_ease(
            "We use your email to send you news. You can stop this at any time.",
        );
        let legal = flesch_reading_ease(
            "Notwithstanding the aforementioned stipulations, the controller shall process personal information pursuant to legitimate organisational considerations.",
        );
        assert!(plain > 70.0, "{plain}");
        assert!(legal < 20.0, "{legal}");
    }

    #[test]
    fn syllables_are_estimated_from_vowel_groups() {
        assert_eq!(syllables("email"), 2);
        assert_eq!(syllables("use"), 1);
        assert_eq!(syllables("simple"), 2);
        assert_eq!(syllables("privacy"), 3);
    }
}
