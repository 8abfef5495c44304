//! What every handler can reach: the application, and the edge's own counters and limits.

use std::ops::Deref;
use std::sync::Arc;

use steward_app::Steward;

use crate::metrics::Metrics;
use crate::rate_limit::{Limits, RateLimiter};

pub struct Http {
    pub app: Arc<Steward>,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
}

/// Handlers call use cases directly on the state.
impl Deref for Http {
    type Target = Steward;
    fn deref(&self) -> &Steward {
        &self.app
    }
}

pub type AppState = Arc<Http>;

/// Settings of the HTTP edge.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpOptions {
    pub limits: Limits,
}

pub fn state(app: Arc<Steward>, options: HttpOptions) -> AppState {
    Arc::new(Http {
        app,
        metrics: Metrics::default(),
        limiter: RateLimiter::new(options.limits),
    })
}
