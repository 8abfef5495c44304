//! Figures for the console's dashboard: how many customers live where, how fast they arrive,
//! and who opens personal data for what. Counts only; no personal value and no record id.

use std::collections::BTreeMap;

use jiff::civil::Date;
use steward_store::{AudienceOf, MICROS_PER_DAY, SegmentQuery};

use crate::{AppError, Steward};

/// Weeks of new customers shown.
pub const WEEKS: i64 = 12;
/// Days of access and activity shown.
pub const DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub customers: u64,
    pub by_residency: Vec<(String, u64)>,
    /// Monday of each week, oldest first, weeks without customers included.
    pub new_per_week: Vec<(Date, u64)>,
    /// Each day, oldest first, with accesses to personal data per purpose.
    pub accesses_per_day: Vec<(Date, BTreeMap<String, u64>)>,
    /// Audit entries per role over the same days, busiest first.
    pub role_activity: Vec<(String, u64)>,
    /// For each consent-based purpose, by key: the customers an audience reaches now. Counts,
    /// not percentages, so that a share too small to round to a whole percent still shows.
    pub consent_reach: Vec<(String, u64)>,
    /// Each day, oldest first, with consents given per purpose.
    pub consents_given_per_day: Vec<(Date, BTreeMap<String, u64>)>,
}

fn date_of_day(day: i64) -> Date {
    jiff::Timestamp::from_second(day.saturating_mul(86_400))
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .unwrap_or(Date::ZERO)
}

fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(jiff::Span::new().days(back))
        .unwrap_or(date)
}

/// Reads and changes of customer records and their history, as opposed to sign-ins and
/// account management.
fn touches_personal_data(action: &str) -> bool {
    action.starts_with("customer.") || action.starts_with("interaction.")
}

impl Steward {
    pub async fn dashboard(&self) -> Result<Dashboard, AppError> {
        let now = self.clock.now().as_microsecond();
        let moment = self.consent_moment().await?;
        let today = now.div_euclid(MICROS_PER_DAY);
        let this_monday = monday_of(date_of_day(today));
        let first_monday = this_monday
            .checked_sub(jiff::Span::new().weeks(WEEKS - 1))
            .unwrap_or(this_monday);
        let since_weeks = first_monday
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(0);
        let stats = self.store.customer_stats(since_weeks).await?;
        let mut weeks: BTreeMap<Date, u64> = (0..WEEKS)
            .filter_map(|w| first_monday.checked_add(jiff::Span::new().weeks(w)).ok())
            .map(|d| (d, 0))
            .collect();
        for (day, n) in &stats.created_per_day {
            if let Some(count) = weeks.get_mut(&monday_of(date_of_day(*day))) {
                *count += n;
            }
        }

        let first_day = today - (DAYS - 1);
        let activity = self
            .store
            .audit_activity(first_day * MICROS_PER_DAY)
            .await?;
        let mut days: BTreeMap<i64, BTreeMap<String, u64>> =
            (first_day..=today).map(|d| (d, BTreeMap::new())).collect();
        let mut roles: BTreeMap<String, u64> = BTreeMap::new();
        for a in activity {
            *roles.entry(a.role.clone()).or_default() += a.count;
            if let (Some(purpose), true) = (a.purpose, touches_personal_data(&a.action))
                && let Some(day) = days.get_mut(&a.day)
            {
                *day.entry(purpose).or_default() += a.count;
            }
        }
        let customers: u64 = stats.by_residency.iter().map(|(_, n)| n).sum();
        let mut consent_reach = Vec::new();
        for p in self
            .catalog
            .purposes()
            .iter()
            .filter(|p| p.requires_consent)
        {
            let reached = self
                .store
                .count_segment(&SegmentQuery {
                    audience: Some(AudienceOf {
                        purpose: p.key.clone(),
                        now: moment.now,
                        given_since: moment.given_since,
                    }),
                    ..Default::default()
                })
                .await?;
            consent_reach.push((p.key.clone(), reached));
        }
        let consent = self.store.consent_stats(first_day * MICROS_PER_DAY).await?;
        let mut given: BTreeMap<i64, BTreeMap<String, u64>> =
            (first_day..=today).map(|d| (d, BTreeMap::new())).collect();
        for (day, purpose, state, n) in consent.per_day {
            if let (Some(d), "given") = (given.get_mut(&day), state.as_str()) {
                *d.entry(purpose).or_default() += n;
            }
        }
        let mut role_activity: Vec<(String, u64)> = roles.into_iter().collect();
        role_activity.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Dashboard {
            customers,
            consent_reach,
            consents_given_per_day: given
                .into_iter()
                .map(|(d, purposes)| (date_of_day(d), purposes))
                .collect(),
            by_residency: stats.by_residency,
            new_per_week: weeks.into_iter().collect(),
            accesses_per_day: days
                .into_iter()
                .map(|(d, purposes)| (date_of_day(d), purposes))
                .collect(),
            role_activity,
        })
    }
}
