//! The dashboard: charts of counts, with the numbers behind each. Purposes are named as the
//! catalog names them; days as people write them.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use jiff::civil::Date;

use super::charts::{self, Chart};
use super::{Chrome, ConsoleError, Staff, group};
use steward_app::VendorAttention;
use steward_app::core::sharing::{DpaState, ReviewState};

use crate::AppState;
use crate::web::render;

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    customers: String,
    charts: Vec<Chart>,
    /// Shown to those who may read the vendor register; `None` to everyone else.
    vendors: Option<Vec<VendorRow>>,
    /// Notices to recipients (Art. 19) past their due date, for the same readers.
    overdue_notices: Option<u64>,
    /// Breaches not closed, for those who may read the breach register.
    breaches: Option<Vec<steward_app::BreachView>>,
}

impl DashboardPage {
    fn countdown(&self, b: &steward_app::BreachView) -> String {
        super::breaches::countdown(b)
    }
}

/// A vendor that needs the privacy officer, in words.
struct VendorRow {
    id: uuid::Uuid,
    name: String,
    status: String,
    review: String,
    dpa: String,
    certifications: String,
}

impl VendorRow {
    fn of(v: VendorAttention) -> VendorRow {
        let a = v.attention;
        VendorRow {
            id: v.vendor_id,
            name: v.legal_name,
            status: v.status.to_string(),
            review: match a.review {
                ReviewState::NeverReviewed => "never reviewed".into(),
                ReviewState::Due { on } => format!("due {on}"),
                ReviewState::Overdue { since } => format!("overdue since {since}"),
            },
            dpa: match a.dpa {
                None => "not needed".into(),
                Some(DpaState::Current) => "current".into(),
                Some(DpaState::Missing) => "missing".into(),
                Some(DpaState::Incomplete { .. }) => "incomplete".into(),
                Some(DpaState::Expired { on }) => format!("ended {on}"),
            },
            certifications: match (a.certifications_expiring, a.certifications_expired) {
                (0, 0) => "in force".into(),
                (soon, 0) => format!("{soon} ending within 30 days"),
                (0, gone) => format!("{gone} ended"),
                (soon, gone) => format!("{soon} ending within 30 days, {gone} ended"),
            },
        }
    }
}

/// A day under its column ("2 Mar") and in the table ("Mon 2 Mar 2026").
fn day_labels(day: Date) -> (String, String) {
    (
        day.strftime("%-d %b").to_string(),
        day.strftime("%a %-d %b %Y").to_string(),
    )
}

/// Counts per day by purpose key, as chart periods with the purposes' names.
fn by_purpose_name(
    state: &AppState,
    days: &[(Date, BTreeMap<String, u64>)],
) -> Vec<(String, String, BTreeMap<String, u64>)> {
    days.iter()
        .map(|(day, counts)| {
            let (short, full) = day_labels(*day);
            let named = counts
                .iter()
                .map(|(key, n)| {
                    let name = state
                        .app
                        .catalog()
                        .purpose(key)
                        .map_or_else(|| key.clone(), |p| p.name.clone());
                    (name, *n)
                })
                .collect();
            (short, full, named)
        })
        .collect()
}

pub async fn show(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    let d = state.app.dashboard().await?;
    let weeks: Vec<(String, String, u64)> = d
        .new_per_week
        .iter()
        .map(|(monday, n)| {
            let (short, full) = day_labels(*monday);
            (short, format!("Week of {full}"), *n)
        })
        .collect();
    let reach: Vec<(String, u64)> = d
        .consent_reach
        .iter()
        .map(|(key, n)| {
            let name = state
                .app
                .catalog()
                .purpose(key)
                .map_or_else(|| key.clone(), |p| p.name.clone());
            (name, *n)
        })
        .collect();
    let levels = state.app.personalization().level_counts().await?;
    let charts = vec![
        charts::bars(
            "residency",
            "Customers by country of residence",
            &d.by_residency,
        ),
        charts::columns("weekly", "New customers per week (week starting)", &weeks),
        charts::stacked(
            "accesses",
            "Accesses to personal data per day, by purpose",
            &by_purpose_name(&state, &d.accesses_per_day),
        ),
        charts::bars(
            "roles",
            "Audit entries by role, last 14 days",
            &d.role_activity,
        ),
        charts::shares(
            "consent-rates",
            "Customers consenting now, by purpose",
            &reach,
            d.customers,
        ),
        charts::stacked(
            "consents-given",
            "Consents given per day, by purpose",
            &by_purpose_name(&state, &d.consents_given_per_day),
        ),
        super::offers::level_chart(&levels),
    ];
    let vendors = if staff.actor.role().may_read_register() {
        Some(
            state
                .app
                .vendors()
                .attention(&staff.actor)
                .await?
                .into_iter()
                .map(VendorRow::of)
                .collect(),
        )
    } else {
        None
    };
    let overdue_notices = if staff.actor.role().may_read_register() {
        Some(state.app.overdue_recipient_notices().await?)
    } else {
        None
    };
    let breaches = if staff.actor.role().may_read_breaches() {
        let mut open = state.app.breaches().list(&staff.actor).await?;
        open.retain(|b| b.breach.closed_at.is_none());
        Some(open)
    } else {
        None
    };
    Ok(render(&DashboardPage {
        chrome: Chrome::new(&state, &staff, "Dashboard", "dashboard"),
        customers: group(d.customers),
        charts,
        vendors,
        overdue_notices,
        breaches,
    }))
}
