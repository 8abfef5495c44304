//! The rules that derive observed and inferred attributes from a customer's interactions, and
//! the sentence that explains each result to them. A rule reads facets only (never the text of
//! an interaction), within a window that ends now.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Channel, Engagement, Facets, Level, Source};
use crate::customer::InteractionKind;

vocabulary!(
    /// What a rule works out from the interactions it matches.
    Compute {
        Count => "count",
        LastAt => "last_at",
        MostFrequent => "most_frequent",
        NoneSince => "none_since",
    }
);

vocabulary!(
    /// The facet a `most_frequent` rule counts.
    Of {
        Category => "category",
        Channel => "channel",
    }
);

/// Which of the matched kinds' interactions a rule counts: each list, when not empty, must
/// hold the interaction's facet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engagement: Vec<Engagement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<Channel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

impl Filter {
    fn holds(&self, f: &Facets) -> bool {
        (self.engagement.is_empty() || f.engagement.is_some_and(|e| self.engagement.contains(&e)))
            && (self.channel.is_empty() || f.channel.is_some_and(|c| self.channel.contains(&c)))
            && (self.categories.is_empty()
                || f.categories.iter().any(|c| self.categories.contains(c)))
    }
}

/// A checked rule of the catalog.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PersonalizationRule))]
pub struct Rule {
    pub key: String,
    /// Rows computed under another version are not used.
    pub version: u32,
    pub label: String,
    /// The data category (fideslang `user.*`) the record of processing lists it under.
    pub category: String,
    pub source: Source,
    pub min_level: Level,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub kinds: Vec<InteractionKind>,
    /// ISO 8601, as written: how far back the rule looks.
    pub window: String,
    #[serde(skip)]
    pub window_span: Span,
    pub filter: Filter,
    pub compute: Compute,
    pub of: Option<Of>,
    pub min_count: u32,
    /// ISO 8601, as written: how long a result stays usable without being computed again.
    pub expires: String,
    #[serde(skip)]
    pub expires_span: Span,
    pub weight: f64,
    /// A sentence for the customer with `{value}`, `{count}`, `{total}` and `{days}`.
    pub explanation: String,
}

/// A derived value: a category or channel, a list the customer declared, a yes or no, or a
/// count. A date is written as text (`2026-05-01`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AttrValue {
    Flag(bool),
    Count(i64),
    Text(String),
    List(Vec<String>),
}

impl AttrValue {
    /// The value as a condition compares it (`when.equals`).
    pub fn as_text(&self) -> String {
        match self {
            AttrValue::Flag(b) => b.to_string(),
            AttrValue::Count(n) => n.to_string(),
            AttrValue::Text(s) => s.clone(),
            AttrValue::List(l) => l.join(", "),
        }
    }

    /// Whether the value is, or holds, `item`.
    pub fn names(&self, item: &str) -> bool {
        match self {
            AttrValue::Text(s) => s == item,
            AttrValue::List(l) => l.iter().any(|v| v == item),
            AttrValue::Flag(_) | AttrValue::Count(_) => false,
        }
    }
}

/// One interaction as a rule sees it: no text, only its kind, time and facets.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub kind: InteractionKind,
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    pub facets: Facets,
}

/// What a rule worked out for one customer, and from how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Derived {
    pub value: AttrValue,
    /// Between 0 and 1: the share of the counted interactions that support the value.
    pub confidence: f64,
    /// Interactions supporting the value.
    pub count: u32,
    /// Interactions counted.
    pub total: u32,
    /// Days since the latest matching interaction, where the rule looks at one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn window_start(span: &Span, now: Timestamp) -> i64 {
    now.to_zoned(TimeZone::UTC)
        .checked_sub(*span)
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or(i64::MIN)
}

fn days_between(earlier: i64, now: i64) -> u32 {
    u32::try_from((now - earlier).max(0) / MICROS_PER_DAY).unwrap_or(u32::MAX)
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The rule's result for one customer's interactions, or `None` when there is too little to
/// say anything (fewer than `min_count` matches; for `none_since`, no match ever).
pub fn evaluate(rule: &Rule, facts: &[Fact], now: Timestamp) -> Option<Derived> {
    let now_us = now.as_microsecond();
    let start = window_start(&rule.window_span, now);
    let of_kind = |f: &&Fact| rule.kinds.contains(&f.kind) && rule.filter.holds(&f.facets);
    let ever: Vec<&Fact> = facts
        .iter()
        .filter(of_kind)
        .filter(|f| f.occurred_at <= now_us)
        .collect();
    let within: Vec<&Fact> = ever
        .iter()
        .copied()
        .filter(|f| f.occurred_at >= start)
        .collect();
    let latest = within.iter().map(|f| f.occurred_at).max();
    match rule.compute {
        Compute::Count => {
            let n = count_u32(within.len());
            (n >= rule.min_count).then(|| Derived {
                value: AttrValue::Count(i64::from(n)),
                confidence: 1.0,
                count: n,
                total: n,
                days: latest.map(|l| days_between(l, now_us)),
            })
        }
        Compute::LastAt => {
            let n = count_u32(within.len());
            let last = latest.filter(|_| n >= rule.min_count.max(1))?;
            let date = jiff::Timestamp::from_microsecond(last)
                .ok()?
                .to_zoned(TimeZone::UTC)
                .date();
            Some(Derived {
                value: AttrValue::Text(date.to_string()),
                confidence: 1.0,
                count: n,
                total: n,
                days: Some(days_between(last, now_us)),
            })
        }
        Compute::MostFrequent => {
            let mut tally: BTreeMap<String, u32> = BTreeMap::new();
            let mut total = 0u32;
            for f in &within {
                let values: Vec<String> = match rule.of {
                    Some(Of::Channel) => f.facets.channel.iter().map(|c| c.to_string()).collect(),
                    Some(Of::Category) | None => f.facets.categories.clone(),
                };
                if values.is_empty() {
                    continue;
                }
                total = total.saturating_add(1);
                for v in values {
                    *tally.entry(v).or_default() += 1;
                }
            }
            // Highest count first; equal counts go to the value first in order, so the same
            // interactions always give the same answer.
            let (value, count) =
                tally
                    .into_iter()
                    .fold(None::<(String, u32)>, |best, (v, n)| match best {
                        Some((_, m)) if m >= n => best,
                        _ => Some((v, n)),
                    })?;
            if count < rule.min_count.max(1) {
                return None;
            }
            Some(Derived {
                value: AttrValue::Text(value),
                confidence: f64::from(count) / f64::from(total.max(1)),
                count,
                total,
                days: latest.map(|l| days_between(l, now_us)),
            })
        }
        Compute::NoneSince => {
            let last_ever = ever.iter().map(|f| f.occurred_at).max()?;
            let n = count_u32(within.len());
            Some(Derived {
                value: AttrValue::Flag(n == 0),
                confidence: 1.0,
                count: n,
                total: count_u32(ever.len()),
                days: Some(days_between(last_ever, now_us)),
            })
        }
    }
}

/// The placeholders an explanation may use.
pub const PLACEHOLDERS: &[&str] = &["value", "count", "total", "days"];

/// The names between braces in `template`, or the first malformed one.
pub(crate) fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a '{' is never closed".to_string())?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{{{name}}} is not a placeholder; use {{value}}, {{count}}, {{total}} or {{days}}"
            ));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("a '}' is never opened".into());
    }
    Ok(names)
}

/// The explanation with the result filled in.
pub fn explain(template: &str, d: &Derived) -> String {
    template
        .replace("{value}", &d.value.as_text())
        .replace("{count}", &d.count.to_string())
        .replace("{total}", &d.total.to_string())
        .replace(
            "{days}",
            &d.days.map_or_else(|| "?".to_string(), |n| n.to_string()),
        )
}
