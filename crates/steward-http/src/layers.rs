//! What wraps every request: a request id, security headers, and a log line that names the
//! route and status but never a query string, a body or a token.

use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::rate_limit::Key;
use crate::tls::ClientAddr;

pub const MAX_BODY_BYTES: usize = 256 * 1024;

tokio::task_local! {
    /// The current request's id, for problem documents.
    pub static REQUEST_ID: Uuid;
}

pub fn request_id() -> Option<Uuid> {
    REQUEST_ID.try_with(|id| *id).ok()
}

const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Sent only over TLS: two years, as the HSTS preload list asks.
const HSTS: &str = "max-age=63072000; includeSubDomains";

fn is_console(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// The limits a request counts against: its client address (stricter for sign-in) and the
/// credential it carries.
fn rate_keys(request: &Request) -> Vec<Key> {
    let mut keys = Vec::with_capacity(2);
    if let Some(ConnectInfo(ClientAddr(addr))) =
        request.extensions().get::<ConnectInfo<ClientAddr>>()
    {
        let ip = addr.ip();
        let path = request.uri().path();
        // Sign-in and code requests share the strict limit: each is a guess or a mail.
        let signs_in = path.ends_with("/auth/login")
            || path == "/console/login"
            || (request.method() == axum::http::Method::POST
                && (path.starts_with("/portal/") || path.starts_with("/forms/")));
        keys.push(if signs_in {
            Key::Login(ip)
        } else {
            Key::Client(ip)
        });
    }
    if let Some(credential) = request.headers().get(header::AUTHORIZATION) {
        let digest = Sha256::digest(credential.as_bytes());
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&digest[..16]);
        keys.push(Key::Credential(prefix));
    }
    keys
}

pub async fn request_context(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let id = Uuid::now_v7();
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let limited = rate_keys(&request)
        .into_iter()
        .find_map(|k| state.limiter.check(k).err().map(|wait| (k, wait)));
    let console = is_console(request.uri().path());
    let mut response = match limited {
        // Staff in a browser get a page they can read, not a problem document.
        Some((key, retry_after)) if console => {
            crate::console::too_many_requests(retry_after, matches!(key, Key::Login(_)))
        }
        Some((_, retry_after)) => {
            REQUEST_ID
                .scope(id, async move {
                    crate::Problem {
                        retry_after: Some(retry_after),
                        ..crate::Problem::new(
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            "rate-limited",
                            "Too many requests",
                            "slow down and retry after the time given in Retry-After",
                        )
                    }
                    .into_response()
                })
                .await
        }
        None => REQUEST_ID.scope(id, next.run(request)).await,
    };
    state.metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if state.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    tracing::info!(
        request_id = %id,
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
