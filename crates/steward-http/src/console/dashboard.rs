//! The dashboard: four charts of counts, with the numbers behind each.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::charts::{self, Chart};
use super::{Chrome, ConsoleError, Staff, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    customers: u64,
    charts: Vec<Chart>,
}

pub async fn show(State(app): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    let d = app.dashboard().await?;
    let weeks: Vec<(String, u64)> = d
        .new_per_week
        .iter()
        .map(|(monday, n)| (monday.to_string(), *n))
        .collect();
    let days: Vec<(String, _)> = d
        .accesses_per_day
        .into_iter()
        .map(|(day, counts)| (day.to_string(), counts))
        .collect();
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
            &days,
        ),
        charts::bars(
            "roles",
            "Audit entries by role, last 14 days",
            &d.role_activity,
        ),
        charts::bars(
            "consent-rates",
            "Customers consenting now, by purpose (percent)",
            &d.consent_rates,
        ),
        charts::stacked(
            "consents-given",
            "Consents given per day, by purpose",
            &d.consents_given_per_day
                .iter()
                .map(|(day, counts)| (day.to_string(), counts.clone()))
                .collect::<Vec<_>>(),
        ),
    ];
    Ok(render(&DashboardPage {
        chrome: Chrome::new(&app, &staff, "Dashboard", "dashboard"),
        customers: d.customers,
        charts,
    }))
}
