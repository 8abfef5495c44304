//! The security self-audit as the administrator, the privacy officer and the auditor read it:
//! every check run now, a summary drawn as bars, and for each finding its evidence, what it
//! concerns and the fix.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use steward_app::{Finding, FindingStatus, SecurityReport, Severity};

use super::charts::{self, Chart};
use super::{Chrome, ConsoleError, Staff};
use crate::AppState;
use crate::web::render;

#[derive(Template)]
#[template(path = "console/security.html")]
struct SecurityPage {
    chrome: Chrome,
    report: SecurityReport,
    ran_at: String,
    charts: Vec<Chart>,
    /// Failures first, the worst first; then the rest in the order the checks run.
    findings: Vec<Finding>,
}

fn summary(report: &SecurityReport) -> Vec<Chart> {
    let c = &report.counts;
    let outcomes = [
        ("Passed".to_string(), c.pass as u64),
        ("Failed".to_string(), c.fail as u64),
        ("Not applicable".to_string(), c.not_applicable as u64),
    ];
    let mut charts = vec![charts::bars("outcomes", "Checks by outcome", &outcomes)];
    if c.fail > 0 {
        let by_severity: Vec<(String, u64)> = Severity::ALL
            .iter()
            .rev()
            .map(|s| {
                let n = report.failed().filter(|f| f.severity == *s).count();
                (s.as_str().to_string(), n as u64)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        charts.push(charts::bars(
            "failed-severity",
            "Failed checks by severity",
            &by_severity,
        ));
    }
    charts
}

pub async fn show(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    let report = state
        .app
        .self_audit()
        .run(&staff.actor, &state.facts)
        .await?;
    let mut findings = report.findings.clone();
    // A stable sort keeps the checks' own order within each group.
    findings.sort_by_key(|f| {
        (
            f.status != FindingStatus::Fail,
            std::cmp::Reverse(f.severity),
        )
    });
    Ok(render(&SecurityPage {
        chrome: Chrome::new(&state, &staff, "Security self-audit", "security"),
        ran_at: super::readable(report.ran_at),
        charts: summary(&report),
        findings,
        report,
    }))
}
