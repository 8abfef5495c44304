//! Liveness and Prometheus metrics: no token needed, and no personal data in either.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    match (app.count_customers().await, app.audit_length().await) {
        (Ok(c), Ok(a)) => {
            let mut out = format!(
                "# HELP steward_customers Customers currently stored.\n# TYPE steward_customers gauge\nsteward_customers {c}\n\
                 # HELP steward_audit_entries Entries in the audit chain.\n# TYPE steward_audit_entries gauge\nsteward_audit_entries {a}\n"
            );
            app.metrics.render(&mut out);
            (StatusCode::OK, content_type, out)
        }
        _ => (StatusCode::SERVICE_UNAVAILABLE, content_type, String::new()),
    }
}
