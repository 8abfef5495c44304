//! Steward's HTTP edge: the REST API under `/api/v1`, health and metrics. It calls
//! `steward-app` and nothing below it; errors become RFC 9457 problems in `problem.rs` only.

mod api;
mod auth;
mod extract;
mod health;
mod layers;
mod problem;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use steward_app::Steward;

pub use problem::Problem;

pub type AppState = Arc<Steward>;

/// The whole HTTP application.
pub fn router(app: Arc<Steward>) -> Router {
    let (api, _) = api::routes();
    Router::new()
        .merge(health::routes())
        .nest("/api/v1", api)
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn(layers::request_context))
        .layer(axum::extract::DefaultBodyLimit::max(layers::MAX_BODY_BYTES))
        .with_state(app)
}

/// Every API route as (method, path under /api/v1); the role matrix test walks this list.
pub fn api_routes() -> Vec<(Method, &'static str)> {
    api::routes().1
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
