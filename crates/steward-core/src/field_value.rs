//! Checking and normalising one value for one catalog field.

use crate::catalog::{FieldDef, FieldKind};
use crate::contact::{Email, Phone};

/// Whether `c` overrides, embeds or isolates the direction of the text around it. Such
/// characters let a name display as something else than it is (right-to-left override,
/// "Trojan Source"); text in any script reads correctly without them.
pub fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns the value as it will be stored, or a message for the caller that names no value.
/// Line breaks in multi-line values are stored as LF, whether a browser sent CRLF (as every
/// textarea does) or an old system a lone CR.
pub fn normalise(field: &FieldDef, raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let value = if field.kind == FieldKind::Multiline && trimmed.contains('\r') {
        trimmed.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        trimmed.to_string()
    };
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > field.max_length {
        return Err(format!("is longer than {} characters", field.max_length));
    }
    let bad_control = |c: char| {
        c.is_control() && !(field.kind == FieldKind::Multiline && (c == '\n' || c == '\t'))
    };
    if value.chars().any(bad_control) {
        return Err("contains control characters".into());
    }
    if value.chars().any(is_direction_control) {
        return Err(
            "contains a character that overrides the direction of the text around it".into(),
        );
    }
    match field.kind {
        FieldKind::Text | FieldKind::Multiline => Ok(value),
        FieldKind::Email => Email::parse(&value)
            .map(|e| e.as_str().to_string())
            .map_err(|e| e.to_string()),
        FieldKind::Phone => Phone::parse(&value)
            .map(|p| p.as_str().to_string())
            .map_err(|e| e.to_string()),
        FieldKind::Date => value
            .parse::<jiff::civil::Date>()
            .ok()
            .filter(|_| value.len() == 10)
            .map(|d| d.to_string())
            .ok_or_else(|| "must be a date written YYYY-MM-DD".into()),
        FieldKind::Language => {
            let ok = value.split('-').enumerate().all(|(i, part)| {
                let len_ok = if i == 0 {
                    (2..=3).contains(&part.len())
                } else {
                    (2..=8).contains(&part.len())
                };
                len_ok
                    && part.chars().all(|c| c.is_ascii_alphanumeric())
                    && (i > 0 || part.chars().all(|c| c.is_ascii_alphabetic()))
            });
            if ok {
                Ok(value)
            } else {
                Err("must be a BCP 47 language tag such as en or pt-BR".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn kinds_are_checked() {
        let c = Catalog::default_catalog().expect("catalog");
        let f = |k: &str| c.field(k).expect("field").clone();
        assert_eq!(normalise(&f("email"), " A@B.CO "), Ok("a@b.co".into()));
        assert!(normalise(&f("email"), "nope").is_err());
        assert_eq!(
            normalise(&f("birth_date"), "1990-02-28"),
            Ok("1990-02-28".into())
        );
        assert!(normalise(&f("birth_date"), "1990-02-30").is_err());
        assert!(normalise(&f("preferred_language"), "pt-BR").is_ok());
        assert!(normalise(&f("preferred_language"), "english please").is_err());
        assert!(normalise(&f("given_name"), &"x".repeat(101)).is_err());
        assert!(normalise(&f("given_name"), "a\u{0}b").is_err());
        assert!(normalise(&f("notes"), "line one\nline two").is_ok());
        assert!(normalise(&f("given_name"), "   ").is_err());
    }

    #[test]
    fn line_breaks_from_browsers_are_stored_as_lf() {
        let c = Catalog::default_catalog().expect("catalog");
        let address = c.field("postal_address").expect("field");
        assert_eq!(
            normalise(address, "1 Main Street\r\nFlat 2\r\n").as_deref(),
            Ok("1 Main Street\nFlat 2")
        );
        assert_eq!(
            normalise(address, "1 Main Street\rFlat 2").as_deref(),
            Ok("1 Main Street\nFlat 2")
        );
        let name = c.field("given_name").expect("field");
        assert!(normalise(name, "Ada\r\nLovelace").is_err());
    }

    #[test]
    fn direction_overrides_are_refused_and_right_to_left_text_is_not() {
        let c = Catalog::default_catalog().expect("catalog");
        let name = c.field("family_name").expect("field");
        // "Smith" written to display as "htimS" and an isolate around a look-alike.
        for spoof in [
            "\u{202E}htimS",
            "Ada \u{2067}Lovelace\u{2069}",
            "a\u{202A}b\u{202C}",
        ] {
            assert!(normalise(name, spoof).is_err(), "{spoof:?}");
        }
        for honest in ["עדה", "آدا لوفلايس", "Ada (עדה) Lovelace", "O\u{2019}Brien"]
        {
            assert_eq!(normalise(name, honest).as_deref(), Ok(honest));
        }
    }
}
