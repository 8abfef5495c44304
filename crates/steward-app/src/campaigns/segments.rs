//! Segments: saved, dynamic filters over customers (tags, residency, status, created,
//! updated and last-interaction dates, absolute or relative, consent state, and profile
//! attributes). A segment holds no list of people; it is evaluated each time it is used, so
//! it is always current.

use jiff::Timestamp;
use steward_core::consent::Moment;
use steward_core::customer::CustomerStatus;
use steward_core::personalization::LIMITED;
use steward_core::{CountryCode, Role};
use steward_store::{AttributeCondition, ConsentCondition, SegmentQuery, SegmentRow, Span};
use uuid::Uuid;

use crate::collection::customers::parse_tags;
use crate::services::Segments;
use crate::{Actor, AppError, FieldError, Steward};

const MAX_NAME: usize = 100;
const MAX_DAYS: u32 = 36_500;
/// Attribute conditions a filter may have, and how long a value it compares may be.
const MAX_ATTRIBUTES: usize = 8;
const MAX_EQUALS: usize = 100;
/// The consent conditions a segment may ask for.
const CONSENT_STATES: [&str; 6] = [
    "given",
    "not_given",
    "requested",
    "refused",
    "withdrawn",
    "expired",
];

/// What a segment selects. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentFilter {
    /// Customers with every one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Customers resident in any of these countries (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub residency: Vec<String>,
    /// `active`, `restricted` or `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Period>,
    /// When the latest interaction happened; customers with none do not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_interaction: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentFilter>,
    /// Customers holding every one of these profile attributes, usable at their level: an
    /// observed or inferred one reaches only customers at full, a declared one customers at
    /// basic or full.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeFilter>,
}

/// A profile attribute of the catalog the customer holds, and optionally its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeFilter {
    pub key: String,
    /// The value it must have; a list of values must hold it. Values are sealed, so this
    /// is compared on each member after their value is opened: counting an audience with
    /// it reads every candidate's attribute, and that read is audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// A stretch of time: relative (`last_days`), absolute (`from`, `until`), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    /// Within the last this many days, counted back from the moment the segment is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_days: Option<u32>,
    /// On or after this date (`2026-03-01`) or time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Before this date or time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// Where customers stand on one consent-based purpose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentFilter {
    pub purpose: String,
    /// `given`, `not_given`, `requested`, `refused`, `withdrawn` or `expired`.
    pub state: String,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSegment {
    pub name: String,
    pub filter: SegmentFilter,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentView {
    pub id: Uuid,
    pub name: String,
    pub filter: SegmentFilter,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// A date or an RFC 3339 time, as an instant (dates at midnight UTC).
fn instant(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if let Ok(t) = raw.parse::<Timestamp>() {
        return Some(t.as_microsecond());
    }
    raw.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_microsecond())
}

fn span(period: &Option<Period>, field: &str, now: i64, errors: &mut Vec<FieldError>) -> Span {
    let Some(p) = period else {
        return Span::default();
    };
    let mut out = Span::default();
    if let Some(days) = p.last_days {
        if days == 0 || days > MAX_DAYS {
            errors.push(FieldError::new(
                format!("{field}.last_days"),
                format!("must be between 1 and {MAX_DAYS}"),
            ));
        }
        out.from = Some(now.saturating_sub(steward_store::days_in_micros(i64::from(days))));
    }
    for (name, raw, slot) in [
        ("from", &p.from, &mut out.from),
        ("until", &p.until, &mut out.until),
    ] {
        if let Some(raw) = raw {
            match instant(raw) {
                // With both a relative and an absolute start, the later one holds.
                Some(t) => *slot = Some(slot.map_or(t, |s| s.max(t))),
                None => errors.push(FieldError::new(
                    format!("{field}.{name}"),
                    "must be a date (2026-03-01) or an RFC 3339 time",
                )),
            }
        }
    }
    if let (Some(from), Some(until)) = (out.from, out.until)
        && from >= until
    {
        errors.push(FieldError::new(
            format!("{field}.until"),
            "must be after the start of the period",
        ));
    }
    out
}

fn may_target(actor: &Actor) -> Result<(), AppError> {
    if matches!(actor.role, Role::Marketer | Role::Admin | Role::System) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not manage segments or campaigns",
            actor.role
        )))
    }
}

impl Steward {
    /// Checks a filter and fixes it at `now`. Errors name fields under `prefix`.
    pub(crate) fn segment_query(
        &self,
        filter: &SegmentFilter,
        prefix: &str,
        moment: Moment,
    ) -> Result<SegmentQuery, AppError> {
        let now = moment.now;
        let mut errors = Vec::new();
        let mut tag_errors = Vec::new();
        let tags = parse_tags(&filter.tags, &mut tag_errors);
        errors.extend(
            tag_errors
                .into_iter()
                .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.message)),
        );
        let residency = filter
            .residency
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                CountryCode::parse(r)
                    .map(|c| c.as_str().to_string())
                    .map_err(|e| {
                        errors.push(FieldError::new(
                            format!("{prefix}.residency[{i}]"),
                            e.to_string(),
                        ))
                    })
                    .ok()
            })
            .collect();
        let status = filter.status.as_deref().and_then(|s| {
            s.parse::<CustomerStatus>()
                .map(|s| s.to_string())
                .map_err(|e| errors.push(FieldError::new(format!("{prefix}.status"), e)))
                .ok()
        });
        let created = span(
            &filter.created,
            &format!("{prefix}.created"),
            now,
            &mut errors,
        );
        let updated = span(
            &filter.updated,
            &format!("{prefix}.updated"),
            now,
            &mut errors,
        );
        let last_interaction = span(
            &filter.last_interaction,
            &format!("{prefix}.last_interaction"),
            now,
            &mut errors,
        );
        let consent = filter.consent.as_ref().map(|c| {
            if !self
                .catalog
                .purpose(&c.purpose)
                .is_some_and(|p| p.requires_consent)
            {
                errors.push(FieldError::new(
                    format!("{prefix}.consent.purpose"),
                    "must be a consent-based purpose of the catalog",
                ));
            }
            if !CONSENT_STATES.contains(&c.state.as_str()) {
                errors.push(FieldError::new(
                    format!("{prefix}.consent.state"),
                    "must be given, not_given, requested, refused, withdrawn or expired",
                ));
            }
            ConsentCondition {
                purpose: c.purpose.clone(),
                state: c.state.clone(),
                now,
                given_since: moment.given_since,
            }
        });
        let attributes = self.attribute_conditions(&filter.attributes, prefix, moment, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok(SegmentQuery {
            attributes,
            tags,
            residency,
            status,
            created,
            updated,
            last_interaction,
            consent,
            audience: None,
            objected_purposes: Vec::new(),
        })
    }

    fn attribute_conditions(
        &self,
        filters: &[AttributeFilter],
        prefix: &str,
        moment: Moment,
        errors: &mut Vec<FieldError>,
    ) -> Vec<AttributeCondition> {
        if filters.len() > MAX_ATTRIBUTES {
            errors.push(FieldError::new(
                format!("{prefix}.attributes"),
                format!("at most {MAX_ATTRIBUTES} attributes"),
            ));
        }
        let book = self.catalog.personalization();
        let mut out = Vec::with_capacity(filters.len());
        for (i, f) in filters.iter().enumerate() {
            if !book.knows(&f.key) {
                errors.push(FieldError::new(
                    format!("{prefix}.attributes[{i}].key"),
                    "must be a profile attribute of the catalog",
                ));
            }
            if let Some(equals) = &f.equals
                && (equals.is_empty()
                    || equals.chars().count() > MAX_EQUALS
                    || equals.chars().any(char::is_control))
            {
                errors.push(FieldError::new(
                    format!("{prefix}.attributes[{i}].equals"),
                    format!("must be 1 to {MAX_EQUALS} characters on one line"),
                ));
            }
            out.push(AttributeCondition {
                key: f.key.clone(),
                equals: f.equals.clone(),
                rule_version: book.rule(&f.key).map(|r| r.version),
                now: moment.now,
                given_since: moment.given_since,
            });
        }
        out
    }

    pub(crate) async fn saved_segment(&self, id: Uuid) -> Result<SegmentView, AppError> {
        segment_view(self.store.segment(id).await?.ok_or(AppError::NotFound)?)
    }
}

impl Segments<'_> {
    pub async fn create(&self, actor: &Actor, input: NewSegment) -> Result<SegmentView, AppError> {
        may_target(actor)?;
        let name = input.name.trim().to_string();
        let now = self.app.clock.now().as_microsecond();
        let checked = self
            .app
            .segment_query(&input.filter, "filter", Moment::at(now));
        let mut errors = match checked {
            Err(AppError::Invalid(errors)) => errors,
            Err(e) => return Err(e),
            Ok(_) => Vec::new(),
        };
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            errors.insert(
                0,
                FieldError::new("name", format!("must be 1 to {MAX_NAME} characters")),
            );
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let filter = serde_json::to_string(&input.filter).map_err(AppError::Encode)?;
        let row = SegmentRow {
            id: Uuid::now_v7(),
            name,
            filter,
            created_by: actor.id.clone(),
            created_at: now,
        };
        let audit = self.app.record(
            actor,
            "segment.create",
            None,
            vec![format!("segment:{}", row.id)],
            vec![],
            None,
        );
        self.app.store.create_segment(&row, audit).await?;
        segment_view(row)
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<SegmentView>, AppError> {
        may_target(actor)?;
        self.app
            .store
            .segments()
            .await?
            .into_iter()
            .map(segment_view)
            .collect()
    }
}

pub(crate) fn may_manage_campaigns(actor: &Actor) -> Result<(), AppError> {
    may_target(actor)
}

/// The purposes an upheld objection to which keeps a customer out of an audience for
/// `purpose` (Art. 21): that purpose, and with attribute conditions the limited
/// personalization that any use of a profile rests on.
pub(crate) fn objected_purposes(purpose: &str, segment: &SegmentQuery) -> Vec<String> {
    let mut out = vec![purpose.to_string()];
    if !segment.attributes.is_empty() {
        out.push(LIMITED.to_string());
    }
    out
}

fn segment_view(row: SegmentRow) -> Result<SegmentView, AppError> {
    Ok(SegmentView {
        filter: serde_json::from_str(&row.filter)
            .map_err(|_| AppError::corrupt(format!("segment {} has a malformed filter", row.id)))?,
        id: row.id,
        name: row.name,
        created_by: row.created_by,
        created_at: steward_core::clock::from_micros(row.created_at),
    })
}
