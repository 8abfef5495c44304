//! Steward's HTTP edge. It calls `steward-app` and nothing below it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use steward_app::Steward;

pub fn router(app: Arc<Steward>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// Prometheus text format. Counts only: no identifier or value of any customer.
async fn metrics(State(app): State<Arc<Steward>>) -> impl IntoResponse {
    let customers = app.count_customers().await;
    let audit = app.audit_length().await;
    match (customers, audit) {
        (Ok(c), Ok(a)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            format!(
                "# HELP steward_customers Customers currently stored.\n# TYPE steward_customers gauge\nsteward_customers {c}\n\
                 # HELP steward_audit_entries Entries in the audit chain.\n# TYPE steward_audit_entries gauge\nsteward_audit_entries {a}\n"
            ),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            String::new(),
        ),
    }
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<Steward>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "listening");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
