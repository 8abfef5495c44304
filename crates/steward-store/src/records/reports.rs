//! Counts for the dashboard.

/// Counts behind the console's charts; no personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerStats {
    pub by_residency: Vec<(String, u64)>,
    /// New customers per day, as (days since 1970-01-01, count), oldest first.
    pub created_per_day: Vec<(i64, u64)>,
}

/// Consent counts for the dashboard: how many customers have each purpose in each state now,
/// and how many events of each state were recorded per day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentStats {
    /// (purpose, state, customers) from the current state, expiry not applied.
    pub current: Vec<(String, String, u64)>,
    /// (days since 1970-01-01, purpose, state, events).
    pub per_day: Vec<(i64, String, String, u64)>,
}

/// Audit entries counted per day, role, purpose and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCount {
    /// Days since 1970-01-01.
    pub day: i64,
    pub role: String,
    pub purpose: Option<String>,
    pub action: String,
    pub count: u64,
}

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `days` in microseconds, saturating: a number of days from input never overflows.
pub fn days_in_micros(days: i64) -> i64 {
    days.saturating_mul(MICROS_PER_DAY)
}
