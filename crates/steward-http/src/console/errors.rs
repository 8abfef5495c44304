//! Every console answer is a page: a refusal or an error is shown inside the console's frame,
//! with the navigation of whoever is signed in, never as a bare message or a JSON document.
//! An application error's status and words come from `classify.rs`, as the API's do.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use steward_app::AppError;

use super::{Chrome, Staff};
use crate::AppState;
use crate::classify::classify;
use crate::web::{render, see_other, with_console_policy};

/// Why a console request could not be served, rendered as a page or a redirect.
#[derive(Debug)]
pub enum ConsoleError {
    SignIn,
    PurposeFirst,
    Csrf,
    BadRequest(String),
    NoSuchPage,
    App(AppError),
}

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> Self {
        ConsoleError::App(e)
    }
}

/// What an error page says; the page itself is drawn by [`as_pages`], which knows who asks.
#[derive(Debug, Clone)]
struct Explanation {
    title: &'static str,
    message: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            ConsoleError::SignIn => return see_other("/console/login"),
            ConsoleError::PurposeFirst => return see_other("/console/purpose"),
            ConsoleError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form was missing its security token or came from another site. Go back, reload the page and try again.".to_string(),
            ),
            ConsoleError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            ConsoleError::NoSuchPage => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no such page in the console. Use the navigation above to go on.".to_string(),
            ),
            ConsoleError::App(e) => {
                let c = classify(e);
                (c.status, c.heading, c.explanation)
            }
        };
        let mut response = (status, message.clone()).into_response();
        response
            .extensions_mut()
            .insert(Explanation { title, message });
        response
    }
}

/// Unknown addresses under `/console`.
pub async fn no_such_page() -> ConsoleError {
    ConsoleError::NoSuchPage
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    chrome: Chrome,
    message: String,
}

/// What an answer that is not a console page (one from the framework itself, such as a wrong
/// method or an unreadable address) says instead.
fn explain(status: StatusCode) -> Explanation {
    let (title, message) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            "There is no such page in the console. Use the navigation above to go on.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Not available this way",
            "This address is used by a form or a link in the console; open it from there.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too much at once",
            "The form sent more than the console accepts in one go.",
        ),
        s if s.is_client_error() => (
            "Bad request",
            "The console could not read this request. Go back, reload the page and try again.",
        ),
        _ => (
            "Something went wrong",
            "The server could not complete the request.",
        ),
    };
    Explanation {
        title,
        message: message.to_string(),
    }
}

/// Draws errors as console pages, in the frame of whoever is signed in, and puts the
/// console's policy on every answer.
pub async fn as_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut cookies = HeaderMap::new();
    for value in request.headers().get_all(header::COOKIE) {
        cookies.append(header::COOKIE, value.clone());
    }
    let mut response = next.run(request).await;
    let status = response.status();
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let explained = response.extensions_mut().remove::<Explanation>();
    let failed = status.is_client_error() || status.is_server_error();
    if failed && let Some(explanation) = explained.or_else(|| (!is_page).then(|| explain(status))) {
        let chrome = match Staff::from_headers(&state, &cookies).await {
            Ok(staff) => Chrome::new(&state, &staff, explanation.title, ""),
            Err(_) => Chrome::visitor(explanation.title),
        };
        let mut page = render(&ErrorPage {
            chrome,
            message: explanation.message,
        });
        *page.status_mut() = status;
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                page.headers_mut().append(name, value.clone());
            }
        }
        response = page;
    }
    with_console_policy(response)
}

/// The answer to a console request over the rate limit. Nobody is looked up for it: the
/// limit is there to spare the server work.
pub fn too_many_requests(retry_after: u64, signing_in: bool) -> Response {
    let unit = if retry_after == 1 {
        "second"
    } else {
        "seconds"
    };
    let what = if signing_in {
        "sign-in attempts"
    } else {
        "requests"
    };
    let mut page = render(&ErrorPage {
        chrome: Chrome::visitor("Too many requests"),
        message: format!(
            "Too many {what} came from your address in a short time. Wait {retry_after} {unit}, then try again."
        ),
    });
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    with_console_policy(page)
}
