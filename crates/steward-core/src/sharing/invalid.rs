//! Input the register refuses: the field at fault (a path such as `destinations[1].country`),
//! a code for machines and a message for people that never repeats the value.

use jiff::civil::Date;

use crate::CountryCode;

vocabulary!(
    /// Why a field was refused, for machines.
    InvalidCode {
        Required => "required",
        TooLong => "too_long",
        ControlCharacters => "control_characters",
        UnknownCountry => "unknown_country",
        UnknownPurpose => "unknown_purpose",
        UnknownCategory => "unknown_category",
        UnknownQuestion => "unknown_question",
        UnknownVendor => "unknown_vendor",
        UnknownSubProcessor => "unknown_sub_processor",
        OutOfRange => "out_of_range",
        SccModuleMismatch => "scc_module_mismatch",
        EndsBeforeStart => "ends_before_start",
        ParentRequired => "parent_required",
        ParentNotAllowed => "parent_not_allowed",
        InFuture => "in_future",
        NotApplicable => "not_applicable",
        Duplicate => "duplicate",
        Malformed => "malformed",
        UnknownRole => "unknown_role",
        OnwardTransferNotAllowed => "onward_transfer_not_allowed",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: String,
    pub code: InvalidCode,
    pub message: String,
}

pub(crate) fn invalid(
    field: impl Into<String>,
    code: InvalidCode,
    message: impl Into<String>,
) -> InvalidInput {
    InvalidInput {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// A trimmed, non-empty text of at most `max` characters; line breaks only where `multiline`.
pub(crate) fn text(
    field: &str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, InvalidInput> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(invalid(field, InvalidCode::Required, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(
            field,
            InvalidCode::TooLong,
            format!("must be at most {max} characters"),
        ));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(invalid(
            field,
            InvalidCode::ControlCharacters,
            "contains control characters",
        ));
    }
    Ok(value.replace("\r\n", "\n"))
}

/// Text that may be left out; when given, it must be good text.
pub(crate) fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, InvalidInput> {
    raw.map(|r| text(field, r, max, multiline)).transpose()
}

pub(crate) fn country(field: &str, raw: &str) -> Result<CountryCode, InvalidInput> {
    CountryCode::parse(raw).map_err(|e| invalid(field, InvalidCode::UnknownCountry, e.to_string()))
}

/// Countries in code order, each once, each checked; `field` names the list.
pub(crate) fn countries(field: &str, raws: &[String]) -> Result<Vec<CountryCode>, InvalidInput> {
    let mut out = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| country(&format!("{field}[{i}]"), raw))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A date of something that has happened: not after today.
pub(crate) fn past(field: &str, date: Date, today: Date) -> Result<Date, InvalidInput> {
    if date > today {
        return Err(invalid(
            field,
            InvalidCode::InFuture,
            "must not be in the future",
        ));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(text("f", "  Acme  ", 10, false), Ok("Acme".into()));
        let code = |r: Result<String, InvalidInput>| r.map_err(|e| e.code);
        assert_eq!(
            code(text("f", "   ", 10, false)),
            Err(InvalidCode::Required)
        );
        assert_eq!(
            code(text("f", "abcdefghijk", 10, false)),
            Err(InvalidCode::TooLong)
        );
        assert_eq!(
            code(text("f", "a\nb", 10, false)),
            Err(InvalidCode::ControlCharacters)
        );
        assert_eq!(text("f", "a\r\nb", 10, true), Ok("a\nb".into()));
    }

    #[test]
    fn countries_are_checked_sorted_and_named_by_position() {
        let list = |raws: &[&str]| {
            countries(
                "stores_in",
                &raws.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        let ok = list(&["us", "DE", "US"]).expect("valid");
        assert_eq!(
            ok.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            ["DE", "US"]
        );
        let err = list(&["DE", "XX"]).expect_err("unknown");
        assert_eq!(
            (err.field.as_str(), err.code),
            ("stores_in[1]", InvalidCode::UnknownCountry)
        );
    }
}
