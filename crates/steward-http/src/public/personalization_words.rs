//! Personalization in a reader's words, for the portal's pages and the public notice alike:
//! levels with their examples, where an attribute comes from, what a rule reads and over how
//! long. Keys stay in the page's attributes, for machines.

use steward_app::core::personalization::{Book, Level, Source};
use steward_app::core::retention::parse_duration;
use steward_app::{AttributeView, HowLevel};

use super::dates::day;

pub struct LevelRow {
    pub key: &'static str,
    pub name: &'static str,
    pub what: &'static str,
    pub example: &'static str,
    pub chosen: bool,
}

/// Every level in the app's words, the one chosen (if any) marked.
pub(super) fn level_rows(levels: &[HowLevel], chosen: Option<Level>) -> Vec<LevelRow> {
    levels
        .iter()
        .map(|l| LevelRow {
            key: l.level.as_str(),
            name: l.text.name,
            what: l.text.what,
            example: l.text.example,
            chosen: Some(l.level) == chosen,
        })
        .collect()
}

pub(super) fn source_words(source: Source) -> &'static str {
    match source {
        Source::Declared => "You told us",
        Source::Observed => "We counted it from what you did",
        Source::Inferred => "We worked it out from what you did",
    }
}

/// "the last 12 months" for `P12M`; the duration itself if it does not parse.
pub(super) fn duration_words(iso: &str) -> String {
    let Ok(span) = parse_duration(iso) else {
        return iso.to_string();
    };
    let parts = [
        (i64::from(span.get_years()), "year"),
        (i64::from(span.get_months()), "month"),
        (i64::from(span.get_weeks()), "week"),
        (i64::from(span.get_days()), "day"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        iso.to_string()
    } else {
        words.join(" and ")
    }
}

/// The kinds of interaction a rule reads, as a reader would name them.
pub(super) fn kinds_words<'a>(kinds: impl IntoIterator<Item = &'a str>) -> String {
    kinds
        .into_iter()
        .map(|k| match k {
            "order" => "your orders",
            "message" => "the messages we sent you",
            "web_visit" => "your visits to our website",
            "call" => "your calls with us",
            "email" => "your emails with us",
            "ticket" => "your support requests",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One attribute kept, ready to show.
pub struct AttributeRow {
    pub key: String,
    pub label: String,
    pub value: String,
    pub source: &'static str,
    pub declared: bool,
    /// What it was drawn from, and over how long; empty for what the customer declared.
    pub from: String,
    /// The rule and its version, for what we derived.
    pub rule: Option<String>,
    /// As a percentage, where a rule gives one.
    pub confidence: Option<u32>,
    pub expires: Option<String>,
    pub explanation: String,
    /// Kept but not used at the level in force.
    pub unused: bool,
}

/// What `derived_from` names (`{"kinds": [...], "window": "P12M"}`), in words.
fn from_words(derived_from: &str) -> String {
    let Ok(from) = serde_json::from_str::<serde_json::Value>(derived_from) else {
        return String::new();
    };
    let kinds = from["kinds"]
        .as_array()
        .map(|k| kinds_words(k.iter().filter_map(|k| k.as_str())))
        .unwrap_or_default();
    match from["window"].as_str() {
        Some(window) if !kinds.is_empty() => {
            format!("{kinds}, over the last {}", duration_words(window))
        }
        _ => kinds,
    }
}

pub(super) fn attribute_rows(
    book: &Book,
    effective: Level,
    attributes: &[AttributeView],
) -> Vec<AttributeRow> {
    attributes
        .iter()
        .map(|a| {
            let derived = a.source != Source::Declared;
            AttributeRow {
                key: a.key.clone(),
                label: a.label.clone(),
                value: book.words(&a.value),
                source: source_words(a.source),
                declared: !derived,
                from: if derived {
                    from_words(&a.derived_from)
                } else {
                    String::new()
                },
                rule: match (&a.rule_key, a.rule_version) {
                    (Some(k), Some(v)) => Some(format!("{k}, version {v}")),
                    (Some(k), None) => Some(k.clone()),
                    (None, _) => None,
                },
                confidence: (derived && a.source == Source::Inferred)
                    .then(|| (a.confidence * 100.0).round().clamp(0.0, 100.0) as u32),
                expires: a.expires_at.map(day),
                explanation: a.explanation.clone(),
                unused: a.min_level > effective,
            }
        })
        .collect()
}
