//! Vendor reviews: each answers a fixed checklist and ends in an outcome; the vendor's risk tier
//! sets when the next is due. What a dashboard shows about a vendor follows from these and from
//! its contracts' dates.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{Span, Timestamp, ToSpan};

use super::dpa::DpaState;
use super::invalid::{InvalidCode, InvalidInput, invalid, optional_text, past, text};
use super::vendor::{RiskTier, Vendor};
use crate::retention::parse_duration;
use crate::transfers::utc_day;

vocabulary!(
    ReviewOutcome {
        Approved => "approved",
        ApprovedWithConditions => "approved_with_conditions",
        Suspend => "suspend",
    }
);

vocabulary!(
    /// What every review asks.
    ReviewQuestion {
        ContractKept => "contract_kept",
        SecurityAdequate => "security_adequate",
        CertificationsValid => "certifications_valid",
        SubProcessorsKnown => "sub_processors_known",
        TransfersSafeguarded => "transfers_safeguarded",
        IncidentsHandled => "incidents_handled",
    }
);

vocabulary!(
    Answer {
        Yes => "yes",
        No => "no",
        NotApplicable => "not_applicable",
    }
);

/// How long after a review the next is due, per risk tier: [`ReviewIntervals::default`] is
/// three years for tier 1, two for tier 2, one for tier 3 and six months for tier 4.
#[derive(Debug, Clone)]
pub struct ReviewIntervals {
    written: [String; 4],
    spans: [Span; 4],
}

impl Default for ReviewIntervals {
    fn default() -> Self {
        let spans = [36.months(), 24.months(), 12.months(), 6.months()];
        ReviewIntervals {
            written: spans.map(|s| s.to_string()),
            spans,
        }
    }
}

impl ReviewIntervals {
    /// ISO 8601 periods for tiers 1 to 4, such as `["P36M", "P24M", "P12M", "P6M"]`.
    pub fn parse(written: [&str; 4]) -> Result<ReviewIntervals, InvalidInput> {
        let mut spans = [Span::new(); 4];
        for (i, raw) in written.iter().enumerate() {
            let field = format!("review_intervals.tier_{}", i + 1);
            let span = parse_duration(raw.trim())
                .map_err(|m| invalid(&field, InvalidCode::Malformed, m))?;
            if span.is_zero() {
                return Err(invalid(
                    &field,
                    InvalidCode::OutOfRange,
                    "must be longer than nothing",
                ));
            }
            spans[i] = span;
        }
        Ok(ReviewIntervals {
            written: written.map(|w| w.trim().to_string()),
            spans,
        })
    }

    pub fn for_tier(&self, tier: RiskTier) -> Span {
        self.spans[usize::from(tier.get() - 1)]
    }

    pub fn written(&self) -> [&str; 4] {
        [0, 1, 2, 3].map(|i| self.written[i].as_str())
    }
}

/// A review as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewInput {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub reviewed_on: Date,
    pub reviewer: String,
    /// Every question of [`ReviewQuestion`], by its name.
    pub answers: BTreeMap<String, Answer>,
    pub outcome: ReviewOutcome,
    /// The conditions of an `approved_with_conditions` outcome.
    #[serde(default)]
    pub conditions: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewAnswer {
    pub question: ReviewQuestion,
    pub answer: Answer,
}

/// A checked review.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub reviewed_on: Date,
    pub reviewer: String,
    pub answers: Vec<ReviewAnswer>,
    pub outcome: ReviewOutcome,
    pub conditions: Option<String>,
}

impl Review {
    pub fn parse(input: &ReviewInput, now: Timestamp) -> Result<Review, InvalidInput> {
        let reviewed_on = past("reviewed_on", input.reviewed_on, utc_day(now))?;
        let reviewer = text("reviewer", &input.reviewer, 200, false)?;
        if let Some(key) = input
            .answers
            .keys()
            .find(|k| k.parse::<ReviewQuestion>().is_err())
        {
            return Err(invalid(
                format!("answers.{key}"),
                InvalidCode::UnknownQuestion,
                "is not a question of the review",
            ));
        }
        let answers = ReviewQuestion::ALL
            .iter()
            .map(|q| {
                input
                    .answers
                    .get(q.as_str())
                    .map(|a| ReviewAnswer {
                        question: *q,
                        answer: *a,
                    })
                    .ok_or_else(|| {
                        invalid(
                            format!("answers.{q}"),
                            InvalidCode::Required,
                            "must be answered",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let conditions = optional_text("conditions", input.conditions.as_deref(), 2000, true)?;
        match (input.outcome, &conditions) {
            (ReviewOutcome::ApprovedWithConditions, None) => Err(invalid(
                "conditions",
                InvalidCode::Required,
                "an approval with conditions states them",
            )),
            (ReviewOutcome::Approved | ReviewOutcome::Suspend, Some(_)) => Err(invalid(
                "conditions",
                InvalidCode::NotApplicable,
                "only an approval with conditions has conditions",
            )),
            _ => Ok(Review {
                reviewed_on,
                reviewer,
                answers,
                outcome: input.outcome,
                conditions,
            }),
        }
    }

    /// The latest of a vendor's reviews; of two on one day, the one recorded later.
    pub fn latest(reviews: &[Review]) -> Option<&Review> {
        reviews.iter().max_by_key(|r| r.reviewed_on)
    }

    /// When the review after this one is due.
    pub fn next_due(&self, tier: RiskTier, intervals: &ReviewIntervals) -> Date {
        self.reviewed_on
            .checked_add(intervals.for_tier(tier))
            .unwrap_or(Date::MAX)
    }
}

/// Where a vendor stands with its reviews. A vendor never reviewed counts as overdue: it is
/// reviewed before it is trusted with data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReviewState {
    NeverReviewed,
    Due {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        on: Date,
    },
    Overdue {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        since: Date,
    },
}

impl ReviewState {
    pub fn of(
        last: Option<&Review>,
        tier: RiskTier,
        intervals: &ReviewIntervals,
        today: Date,
    ) -> ReviewState {
        match last.map(|r| r.next_due(tier, intervals)) {
            None => ReviewState::NeverReviewed,
            Some(due) if today > due => ReviewState::Overdue { since: due },
            Some(due) => ReviewState::Due { on: due },
        }
    }

    pub fn is_overdue(self) -> bool {
        !matches!(self, ReviewState::Due { .. })
    }
}

/// What needs the privacy officer's attention about one vendor, for the dashboard and the
/// metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attention {
    pub review: ReviewState,
    /// For a vendor whose role needs a DPA.
    pub dpa: Option<DpaState>,
    /// Certifications that end within 30 days.
    pub certifications_expiring: usize,
    pub certifications_expired: usize,
}

impl Attention {
    pub fn of(
        vendor: &Vendor,
        last_review: Option<&Review>,
        intervals: &ReviewIntervals,
        now: Timestamp,
    ) -> Attention {
        let today = utc_day(now);
        Attention {
            review: ReviewState::of(last_review, vendor.risk_tier, intervals, today),
            dpa: vendor.role.needs_dpa().then(|| vendor.dpa_state(today)),
            certifications_expiring: vendor.certifications_expiring(today).count(),
            certifications_expired: vendor.certifications_expired(today).count(),
        }
    }

    pub fn dpa_expired(&self) -> bool {
        matches!(self.dpa, Some(DpaState::Expired { .. }))
    }
}
