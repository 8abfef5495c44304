//! Files under `/.well-known/` that browsers and tools look for.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// Steward honours Global Privacy Control since this date (GPC specification, section 3.5).
const GPC_SINCE: &str = "2026-11-29";

pub fn routes() -> Router<AppState> {
    Router::new().route("/.well-known/gpc.json", get(gpc))
}

async fn gpc() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"gpc":true,"lastUpdate":"{GPC_SINCE}"}}"#),
    )
}
