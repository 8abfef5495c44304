//! Turning a template into an answer.

use askama::Template;
use axum::http::StatusCode;
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
