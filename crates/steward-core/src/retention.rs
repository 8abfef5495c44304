//! Retention rules: how long a kind of record is kept, counted from which event, and what
//! happens when the time is up. Rules are data: the default catalog ships some, operators add
//! and change them, and the sweeper carries them out.

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use crate::customer::InteractionKind;

vocabulary!(
    /// What a rule keeps or lets go.
    RecordType {
        Customer => "customer",
        Interaction => "interaction",
        Fields => "fields",
        Request => "request",
        ConsentProof => "consent_proof",
    }
);

vocabulary!(
    /// The event a rule's time counts from.
    Anchor {
        Created => "created",
        LastInteraction => "last_interaction",
        LastOrder => "last_order",
        ConsentWithdrawn => "consent_withdrawn",
        AccountClosed => "account_closed",
        RequestCompleted => "request_completed",
    }
);

vocabulary!(
    /// What happens to a record whose time is up: the customer is erased by crypto-shredding,
    /// the records are deleted, or they stay for counting without their content.
    RetentionAction {
        Erase => "erase",
        Delete => "delete",
        Anonymise => "anonymise",
    }
);

/// A rule as written: in the catalog or through the API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleInput {
    pub key: String,
    /// customer, interaction, fields, request or consent_proof.
    pub record: String,
    /// For interactions: only this kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// An ISO 8601 duration such as `P90D`, `P13M` or `P3Y`.
    pub duration: String,
    /// created, last_interaction, last_order, consent_withdrawn, account_closed or
    /// request_completed.
    pub anchor: String,
    /// erase, delete or anonymise.
    pub action: String,
    /// In plain words, for the public notice.
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A checked rule.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub key: String,
    pub record: RecordType,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub kind: Option<InteractionKind>,
    /// As written, ISO 8601.
    pub duration: String,
    #[serde(skip)]
    pub span: Span,
    pub anchor: Anchor,
    pub action: RetentionAction,
    pub description: String,
    pub enabled: bool,
}

/// Why a rule was refused: the field at fault and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> RuleError {
    RuleError {
        field,
        reason: reason.into(),
    }
}

/// Parses an ISO 8601 duration of whole years, months, weeks or days.
pub fn parse_duration(raw: &str) -> Result<Span, String> {
    let iso = raw.strip_prefix('-').unwrap_or(raw).starts_with(['P', 'p']);
    if !iso {
        return Err("must be an ISO 8601 duration such as P90D, P13M or P3Y".into());
    }
    let span: Span = raw
        .parse()
        .map_err(|_| "must be an ISO 8601 duration such as P90D, P13M or P3Y".to_string())?;
    if span.is_negative() {
        return Err("must not be negative".into());
    }
    if span.get_hours() != 0
        || span.get_minutes() != 0
        || span.get_seconds() != 0
        || span.get_milliseconds() != 0
        || span.get_microseconds() != 0
        || span.get_nanoseconds() != 0
    {
        return Err("must count whole days, weeks, months or years".into());
    }
    if span.get_years() > 100 {
        return Err("must be at most a hundred years".into());
    }
    Ok(span)
}

impl Rule {
    pub fn parse(input: &RuleInput) -> Result<Rule, RuleError> {
        let key = input.key.trim();
        if key.is_empty()
            || key.len() > 64
            || !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(refuse(
                "key",
                "must be 1 to 64 lower-case letters, digits or dashes",
            ));
        }
        let record: RecordType = input.record.parse().map_err(|m| refuse("record", m))?;
        let anchor: Anchor = input.anchor.parse().map_err(|m| refuse("anchor", m))?;
        let action: RetentionAction = input.action.parse().map_err(|m| refuse("action", m))?;
        let span = parse_duration(input.duration.trim()).map_err(|m| refuse("duration", m))?;
        let kind = input
            .kind
            .as_deref()
            .map(|k| k.parse::<InteractionKind>().map_err(|m| refuse("kind", m)))
            .transpose()?;
        if kind.is_some() && record != RecordType::Interaction {
            return Err(refuse("kind", "only an interaction rule names a kind"));
        }
        use Anchor::*;
        use RecordType as R;
        use RetentionAction as A;
        let anchors: &[Anchor] = match record {
            R::Customer => &[Created, LastInteraction, LastOrder, AccountClosed],
            R::Interaction => &[Created],
            R::Fields => &[ConsentWithdrawn],
            R::Request => &[RequestCompleted],
            // Counted from when the proof was made: the customer's erasure.
            R::ConsentProof => &[Created],
        };
        if !anchors.contains(&anchor) {
            let names: Vec<&str> = anchors.iter().map(|a| a.as_str()).collect();
            return Err(refuse(
                "anchor",
                format!("a {record} rule counts from {}", names.join(" or ")),
            ));
        }
        let actions: &[RetentionAction] = match record {
            R::Customer => &[A::Erase],
            R::Interaction => &[A::Delete, A::Anonymise],
            R::Fields | R::Request | R::ConsentProof => &[A::Delete],
        };
        if !actions.contains(&action) {
            let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
            return Err(refuse(
                "action",
                format!("a {record} rule may {}", names.join(" or ")),
            ));
        }
        if record == R::Fields && !span.is_zero() {
            return Err(refuse(
                "duration",
                "fields that only a consent needs go when the consent ends: P0D",
            ));
        }
        if record != R::Fields && span.is_zero() {
            return Err(refuse(
                "duration",
                "must be longer than nothing: a rule of P0D would take every record at once",
            ));
        }
        let description = input.description.trim();
        if description.is_empty() || description.chars().count() > 500 {
            return Err(refuse(
                "description",
                "is needed, in plain words, at most 500 characters",
            ));
        }
        Ok(Rule {
            key: key.to_string(),
            record,
            kind,
            duration: input.duration.trim().to_string(),
            span,
            anchor,
            action,
            description: description.to_string(),
            enabled: input.enabled,
        })
    }

    /// Back to the written form.
    pub fn input(&self) -> RuleInput {
        RuleInput {
            key: self.key.clone(),
            record: self.record.as_str().into(),
            kind: self.kind.map(|k| k.as_str().to_string()),
            duration: self.duration.clone(),
            anchor: self.anchor.as_str().into(),
            action: self.action.as_str().into(),
            description: self.description.clone(),
            enabled: self.enabled,
        }
    }

    /// Records whose anchor is at or before this instant are due at `now`.
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        shift(now, &self.span.negate()).unwrap_or(Timestamp::MIN)
    }

    /// When a record anchored at `anchor` falls due.
    pub fn due(&self, anchor: Timestamp) -> Timestamp {
        shift(anchor, &self.span).unwrap_or(Timestamp::MAX)
    }

    /// "kept for 90 days after it happened", for people.
    pub fn plain_period(&self) -> String {
        let after = match self.anchor {
            Anchor::Created => "after it was recorded",
            Anchor::LastInteraction => "after our last contact with you",
            Anchor::LastOrder => "after your last order",
            Anchor::ConsentWithdrawn => "once you withdraw the consent that needs it",
            Anchor::AccountClosed => "after you close your account",
            Anchor::RequestCompleted => "after your request is answered",
        };
        if self.span.is_zero() {
            return after.trim_start_matches("once ").to_string();
        }
        format!("{} {after}", friendly(&self.span))
    }
}

fn friendly(span: &Span) -> String {
    let parts = [
        (span.get_years() as i64, "year"),
        (span.get_months() as i64, "month"),
        (span.get_weeks() as i64, "week"),
        (span.get_days() as i64, "day"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Calendar arithmetic in UTC: a month is a calendar month, a year a calendar year. `None`
/// only past the end of time.
fn shift(at: Timestamp, by: &Span) -> Option<Timestamp> {
    at.to_zoned(TimeZone::UTC)
        .checked_add(*by)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(record: &str, duration: &str, anchor: &str, action: &str) -> RuleInput {
        RuleInput {
            key: "r".into(),
            record: record.into(),
            kind: None,
            duration: duration.into(),
            anchor: anchor.into(),
            action: action.into(),
            description: "kept a while".into(),
            enabled: true,
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn calendar_durations_count_calendar_time() {
        let rule =
            Rule::parse(&input("customer", "P3Y", "last_interaction", "erase")).expect("valid");
        assert_eq!(
            rule.cutoff(ts("2026-11-29T12:00:00Z")),
            ts("2023-11-29T12:00:00Z")
        );
        assert_eq!(
            rule.due(ts("2024-02-29T00:00:00Z")),
            ts("2027-02-28T00:00:00Z")
        );
        let web = Rule::parse(&input("interaction", "P90D", "created", "delete")).expect("valid");
        assert_eq!(
            web.due(ts("2026-01-01T00:00:00Z")),
            ts("2026-04-01T00:00:00Z")
        );
        assert_eq!(web.plain_period(), "90 days after it was recorded");
    }

    #[test]
    fn rules_that_make_no_sense_are_refused_by_field() {
        let cases = [
            (
                input("customer", "P90D", "request_completed", "erase"),
                "anchor",
            ),
            (input("customer", "P90D", "created", "delete"), "action"),
            (
                input("request", "P24M", "request_completed", "erase"),
                "action",
            ),
            (
                input("interaction", "PT5H", "created", "delete"),
                "duration",
            ),
            (
                input("interaction", "90 days", "created", "delete"),
                "duration",
            ),
            (
                input("interaction", "-P1D", "created", "delete"),
                "duration",
            ),
            (
                input("fields", "P30D", "consent_withdrawn", "delete"),
                "duration",
            ),
            (input("contacts", "P1D", "created", "delete"), "record"),
            (
                input("consent_proof", "P3Y", "last_interaction", "delete"),
                "anchor",
            ),
            (input("consent_proof", "P3Y", "created", "erase"), "action"),
            (
                RuleInput {
                    kind: Some("web_visit".into()),
                    ..input("customer", "P1Y", "created", "erase")
                },
                "kind",
            ),
            (
                RuleInput {
                    key: "Bad Key".into(),
                    ..input("customer", "P1Y", "created", "erase")
                },
                "key",
            ),
        ];
        for (case, field) in cases {
            let err = Rule::parse(&case).expect_err("refused");
            assert_eq!(err.field, field, "{case:?}: {err}");
        }
    }
}
