//! Liveness, readiness and Prometheus metrics. None needs a token nor reveals personal data: what
//! counts personal records (customers, audit entries) is shown only to a token of a role that
//! may read such figures, or on the separate metrics listener, which is for an operator's
//! network alone.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use steward_app::Actor;

use crate::auth::Caller;
use crate::{AppState, Problem};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(public_metrics))
}

/// The routes of the separate metrics listener: every metric, no token, read as `reader`,
/// the operator who opened that listener.
pub fn metrics_routes(reader: Actor) -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(
            move |State(state): State<AppState>| async move { render(&state, Some(&reader)).await },
        ),
    )
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// Ready when the database and the key store both answer: a load balancer sends no request
/// to an instance that could not read a customer. `/healthz` stays up meanwhile, so the
/// instance is not restarted for an outage that is not its own.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.readiness().await {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ready"}"#,
        )
            .into_response(),
        Err(part) => {
            let mut problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "Not ready",
                part.to_string(),
            );
            problem.retry_after = Some(1);
            problem.into_response()
        }
    }
}

async fn public_metrics(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, Problem> {
    let caller = if parts.headers.contains_key(header::AUTHORIZATION) {
        Some(Caller::from_request_parts(&mut parts, &state).await?.0)
    } else {
        None
    };
    render(&state, caller.as_ref()).await
}

async fn render(state: &AppState, reader: Option<&Actor>) -> Result<Response, Problem> {
    let mut out = String::new();
    if let Some(actor) = reader {
        let counts = state.app.record_counts(actor).await?;
        out.push_str(&format!(
            "# HELP steward_customers Customers stored (a sign-up becomes one only once its address is confirmed).\n\
             # TYPE steward_customers gauge\nsteward_customers {}\n\
             # HELP steward_audit_entries Entries in the audit chain.\n# TYPE steward_audit_entries gauge\nsteward_audit_entries {}\n\
             # HELP steward_vendors_review_overdue Engaged vendors whose review is overdue or was never made.\n\
             # TYPE steward_vendors_review_overdue gauge\nsteward_vendors_review_overdue {}\n\
             # HELP steward_vendors_dpa_not_current Engaged vendors whose processing contract is missing, ended or incomplete.\n\
             # TYPE steward_vendors_dpa_not_current gauge\nsteward_vendors_dpa_not_current {}\n\
             # HELP steward_vendor_certifications_expiring Vendors' certifications ending within 30 days.\n\
             # TYPE steward_vendor_certifications_expiring gauge\nsteward_vendor_certifications_expiring {}\n\
             # HELP steward_vendor_certifications_expired Vendors' certifications that have ended.\n\
             # TYPE steward_vendor_certifications_expired gauge\nsteward_vendor_certifications_expired {}\n\
             # HELP steward_recipient_notices_overdue Notices to recipients of changed data (Art. 19) still to be sent past their due date.\n\
             # TYPE steward_recipient_notices_overdue gauge\nsteward_recipient_notices_overdue {}\n",
            counts.customers,
            counts.audit_entries,
            counts.vendors_review_overdue,
            counts.vendors_dpa_not_current,
            counts.certifications_expiring,
            counts.certifications_expired,
            counts.recipient_notices_overdue,
        ));
        out.push_str(&format!(
            "# HELP steward_breaches_open Breaches in the register not closed.\n\
             # TYPE steward_breaches_open gauge\nsteward_breaches_open {}\n\
             # HELP steward_breaches_overdue Breaches past 72 hours from awareness without a decision on notifying the authority.\n\
             # TYPE steward_breaches_overdue gauge\nsteward_breaches_overdue {}\n\
             # HELP steward_breach_hours_left Hours until an undecided breach's 72-hour deadline (negative past it).\n\
             # TYPE steward_breach_hours_left gauge\n",
            counts.breaches_open, counts.breaches_overdue,
        ));
        for (id, hours) in &counts.breach_hours_left {
            out.push_str(&format!(
                "steward_breach_hours_left{{breach=\"{id}\"}} {hours:.2}\n"
            ));
        }
        // Which checks fail would tell an attacker where to look, so it is shown only to
        // those who may read the figures above.
        if let Some(report) = state.app.self_audit().last() {
            security_audit_gauges(&report, &mut out);
        }
    }
    out.push_str(&format!(
        "# HELP steward_token_cache_on Whether this instance answers recently verified tokens from memory (1) or checks each against the database (0): on PostgreSQL it caches only while it hears the revocations other instances announce.\n\
         # TYPE steward_token_cache_on gauge\nsteward_token_cache_on {}\n",
        u8::from(state.app.sessions().caching_tokens())
    ));
    state.metrics.render(&mut out);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        out,
    )
        .into_response())
}

fn security_audit_gauges(report: &steward_app::SecurityReport, out: &mut String) {
    out.push_str(
        "# HELP steward_security_audit_failed Whether the check failed in the latest security self-audit (1) or not (0).\n\
         # TYPE steward_security_audit_failed gauge\n",
    );
    for id in steward_app::check_ids() {
        let failed = report
            .finding(id)
            .is_some_and(|f| f.status == steward_app::FindingStatus::Fail);
        out.push_str(&format!(
            "steward_security_audit_failed{{check=\"{id}\"}} {}\n",
            u8::from(failed)
        ));
    }
    out.push_str(&format!(
        "# HELP steward_security_audit_last_run_seconds When the latest security self-audit ran (Unix time).\n\
         # TYPE steward_security_audit_last_run_seconds gauge\nsteward_security_audit_last_run_seconds {}\n",
        report.ran_at.as_second()
    ));
}
