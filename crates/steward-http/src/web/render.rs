//! Turning a template, or a file to download, into an answer.

use askama::Template;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Renders a page; a template that fails to render is a bug, answered as one.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "page could not be rendered",
            )
                .into_response()
        }
    }
}

/// Renders a page that may carry validation errors: 422 when it does, so the browser and the
/// tests both see the form was refused.
pub fn render_checked(page: &impl Template, has_errors: bool) -> Response {
    let mut response = render(page);
    if has_errors {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// After a form's post, to the page that shows what it came to: a reload then posts nothing
/// again.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A file to download under `filename`, rather than a page to show.
pub fn attachment(content_type: &str, filename: &str, body: impl Into<Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body.into(),
    )
        .into_response()
}
