//! Steward's HTTP edge: the REST API under `/api/v1` (`api/`), the staff console
//! (`console/`), the pages the public and customers reach (`public/`), health and metrics.
//! The console and the public pages share what `web/` holds and nothing else of each other.
//! It calls `steward-app` and nothing below it. What each application error means at the
//! edge is decided once, in `classify.rs`: the API answers it as an RFC 9457 problem
//! (`problem.rs`), the console as a page (`console/errors.rs`).

mod api;
mod auth;
mod classify;
mod console;
mod evidence;
mod extract;
mod health;
mod layers;
mod metrics;
mod openapi;
mod problem;
mod public;
mod rate_limit;
mod starting;
mod state;
mod streaming;
mod tls;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use steward_app::Steward;

pub use problem::Problem;
pub use rate_limit::{Limits, Rate};
pub use starting::{Starting, serve_starting};
pub use state::{AppState, HttpOptions};
pub use tls::{TlsError, certificate_not_after, load_config as load_tls_config};

/// The whole HTTP application.
pub fn router(app: Arc<Steward>, options: &HttpOptions) -> Router {
    routes(state::state(app, options))
}

fn routes(state: AppState) -> Router {
    let (api, _) = api::routes();
    Router::new()
        .merge(health::routes())
        .merge(console::routes(&state))
        .merge(public::routes())
        .nest("/api/v1", api)
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            layers::request_context,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(layers::MAX_BODY_BYTES))
        .with_state(state)
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    openapi::document().to_pretty_json().unwrap_or_default()
}

/// Every API route as (method, path under /api/v1); the role matrix test walks this list.
pub fn api_routes() -> Vec<(Method, &'static str)> {
    api::routes().1
}

/// Serves until `shutdown` completes: HTTPS when the options carry a TLS configuration.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<Steward>,
    options: HttpOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_metrics(listener, None, app, options, shutdown).await
}

/// A listener for every metric, without a token and in plain HTTP, on the operator's own
/// network, never the public one; its counts are read as `reader`, the operator's actor.
pub struct MetricsListener {
    pub listener: tokio::net::TcpListener,
    pub reader: steward_app::Actor,
}

/// Serves like `serve`, and also every metric on `metrics`.
pub async fn serve_with_metrics(
    listener: tokio::net::TcpListener,
    metrics: Option<MetricsListener>,
    app: Arc<Steward>,
    options: HttpOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr().ok();
    let state = state::state(app, &options);
    let router = routes(state.clone());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(MetricsListener {
        listener: metrics,
        reader,
    }) = metrics
    {
        tracing::info!(addr = ?metrics.local_addr().ok(), "metrics listening (http)");
        let router = health::metrics_routes(reader).with_state(state);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let until = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(metrics, router)
                .with_graceful_shutdown(until)
                .await
            {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    // Client addresses reach the rate limiter through the connection's info.
    let service = router.into_make_service_with_connect_info::<tls::ClientAddr>();
    match options.tls {
        Some(config) => {
            tracing::info!(?addr, "listening (https)");
            let listener = tls::TlsListener::new(listener, config)?;
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            tracing::info!(?addr, "listening (http)");
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
