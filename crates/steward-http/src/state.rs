//! What every handler can reach: the application, and the edge's own counters and limits.

use std::sync::Arc;

use steward_app::Steward;

use crate::metrics::Metrics;
use crate::rate_limit::{Limits, RateLimiter};

pub struct Http {
    /// The use cases. Handlers call them as `state.app.…`, so what is the application's and
    /// what is the edge's own stays visible at each call.
    pub app: Arc<Steward>,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Served over TLS: answers carry `Strict-Transport-Security`.
    pub tls: bool,
    /// What the self-audit is told of the installation by whoever started the server.
    pub facts: steward_app::InstallationFacts,
}

pub type AppState = Arc<Http>;

/// Settings of the HTTP edge.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub limits: Limits,
    /// Serve HTTPS with this configuration (see `load_tls_config`) instead of plain HTTP.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// How the server was set up, as the security self-audit needs to know it.
    pub facts: steward_app::InstallationFacts,
}

pub fn state(app: Arc<Steward>, options: &HttpOptions) -> AppState {
    Arc::new(Http {
        app,
        metrics: Metrics::default(),
        limiter: RateLimiter::new(options.limits),
        tls: options.tls.is_some(),
        facts: options.facts.clone(),
    })
}
