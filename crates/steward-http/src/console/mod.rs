//! The staff console: server-rendered pages over the same use cases as the REST API, with
//! the same roles, purposes and audit entries. Pages work without JavaScript and carry none;
//! personal values travel only in form bodies, never in URLs.

mod admin;
mod audit;
mod campaigns;
mod charts;
mod customers;
mod dashboard;
mod notices;
mod requests;
mod retention;
mod session;
mod sign_in;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use steward_app::core::Role;
use steward_app::{Actor, AppError};

use crate::AppState;
pub use session::Staff;
pub(crate) use session::{cookie, csrf_for, random_value, same};

/// Styles come only from the console's own stylesheet; no script runs at all.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../static/console.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(dashboard::show))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/login", get(sign_in::form).post(sign_in::submit))
        .route("/console/logout", post(sign_in::sign_out))
        .route(
            "/console/purpose",
            get(sign_in::purpose_form).post(sign_in::choose_purpose),
        )
        .route("/console/customers", get(customers::list))
        .route("/console/customers/search", post(customers::search))
        .route(
            "/console/customers/new",
            get(customers::new_form).post(customers::create),
        )
        .route("/console/customers/{id}", get(customers::detail))
        .route(
            "/console/customers/{id}/edit",
            get(customers::edit_form).post(customers::update),
        )
        .route(
            "/console/customers/{id}/interactions",
            post(customers::add_interaction),
        )
        .route(
            "/console/customers/{id}/erase",
            get(customers::erase_form).post(customers::erase),
        )
        .route(
            "/console/customers/{id}/consents",
            post(customers::record_consent),
        )
        .route("/console/customers/{id}/objection", post(customers::object))
        .route(
            "/console/customers/{id}/export/{format}",
            get(customers::export),
        )
        .route("/console/receipts/{id}", get(customers::receipt))
        .route("/console/notices", get(notices::list).post(notices::create))
        .route("/console/notices/{id}/publish", post(notices::publish))
        .route(
            "/console/campaigns",
            get(campaigns::list).post(campaigns::create_campaign),
        )
        .route("/console/campaigns/{id}/send", post(campaigns::send))
        .route("/console/segments", post(campaigns::create_segment))
        .route(
            "/console/requests",
            get(requests::list).post(requests::create),
        )
        .route("/console/requests/{id}/{step}", post(requests::step))
        .route("/console/retention", get(retention::show))
        .route("/console/retention/holds", post(retention::hold))
        .route(
            "/console/retention/holds/{id}/release",
            post(retention::release),
        )
        .route("/console/retention/runs", post(retention::sweep))
        .route("/console/audit", get(audit::log))
        .route("/console/catalog", get(audit::catalog))
        .route("/console/users", get(admin::users).post(admin::add_user))
        .route("/console/users/{id}", post(admin::update_user))
        .route(
            "/console/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(admin::revoke_token))
        .layer(axum::middleware::from_fn(console_headers))
}

async fn console_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// What every page's frame shows: who is signed in, for what purpose, and where they are.
pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub actor: String,
    pub role: String,
    pub purpose: Option<String>,
    pub purpose_name: String,
    pub csrf: String,
    pub manages_accounts: bool,
    pub reads_audit: bool,
    pub edits_notices: bool,
    pub runs_campaigns: bool,
    pub answers_requests: bool,
}

impl Chrome {
    pub fn new(
        app: &AppState,
        staff: &Staff,
        title: impl Into<String>,
        nav: &'static str,
    ) -> Chrome {
        let purpose_name = staff
            .purpose
            .as_deref()
            .and_then(|p| app.catalog().purpose(p))
            .map(|p| p.name.clone())
            .unwrap_or_default();
        Chrome {
            title: title.into(),
            nav,
            actor: staff.actor.id.clone(),
            role: staff.actor.role.to_string(),
            purpose: staff.purpose.clone(),
            purpose_name,
            csrf: staff.csrf.clone(),
            manages_accounts: manages_accounts(&staff.actor),
            reads_audit: matches!(staff.actor.role, Role::Auditor | Role::Dpo | Role::Admin),
            edits_notices: matches!(staff.actor.role, Role::Dpo | Role::Admin),
            runs_campaigns: matches!(staff.actor.role, Role::Marketer | Role::Admin),
            answers_requests: staff.actor.role == Role::Dpo,
        }
    }
}

fn manages_accounts(actor: &Actor) -> bool {
    actor.role == Role::Admin
}

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

/// A form body; a malformed one is answered with the console's own error page.
pub struct ConsoleForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S>
    for ConsoleForm<T>
{
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ConsoleError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(t)| ConsoleForm(t))
            .map_err(|e| ConsoleError::BadRequest(e.body_text()))
    }
}

/// Percent-encoding for the non-personal values (filters, cursors) that go into console links.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub const DATE_HINT: &str = "must be a date such as 2026-01-31";

/// A date input as the start of that day in UTC, or with `end` the start of the next day, so
/// that a range "until" a day includes it; `Ok(None)` for an empty input.
pub fn day_start(raw: &str, end: bool) -> Result<Option<jiff::Timestamp>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| if end { d.tomorrow().ok() } else { Some(d) })
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| Some(z.timestamp()))
        .ok_or(DATE_HINT)
}

/// A record id from a console path; a malformed one names no record.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, ConsoleError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ConsoleError::App(AppError::NotFound))
}

/// A form field's value, trimmed; absent when missing or blank.
pub fn form_value(form: &std::collections::HashMap<String, String>, key: &str) -> Option<String> {
    form.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Why a console request could not be served, rendered as a page or a redirect.
#[derive(Debug)]
pub enum ConsoleError {
    SignIn,
    PurposeFirst,
    Csrf,
    BadRequest(String),
    App(AppError),
}

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> Self {
        ConsoleError::App(e)
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
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
            ConsoleError::App(e) => match e {
                AppError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
                AppError::PurposeNotAllowed { .. }
                | AppError::UnknownPurpose(_)
                | AppError::PurposeRequired => {
                    (StatusCode::FORBIDDEN, "Not allowed", e.to_string())
                }
                AppError::NotFound => (
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no such record (it may have been erased).".to_string(),
                ),
                AppError::NoticeIncomplete(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Notice incomplete",
                    format!(
                        "Not published: {e}. A published notice covers every purpose of the catalog; draft a version with a summary for each."
                    ),
                ),
                AppError::Invalid(errors) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid input",
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                other => {
                    tracing::error!(error = %other, "console request failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "The server could not complete the request.".to_string(),
                    )
                }
            },
        };
        let mut response = render(&ErrorPage { title, message });
        *response.status_mut() = status;
        response
    }
}
