//! The security headers of pages. No page runs a script; styles come only from Steward's own
//! stylesheet, and no other site may frame a page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// The console's pages: their forms post only to the console, images come from it alone.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages the public and customers reach.
pub const PUBLIC_CSP: &str =
    "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's policy, on every answer under `/console`.
pub fn with_console_policy(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    response
}

/// A public page answered with `status`. What it shows belongs to one visitor, so no cache
/// keeps it.
pub fn with_public_policy(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PUBLIC_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
