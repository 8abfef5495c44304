//! The staff console: server-rendered pages over the same use cases as the REST API, with
//! the same roles, purposes and audit entries. Pages work without JavaScript and carry none;
//! personal values travel only in form bodies, never in URLs.

mod admin;
mod audit;
mod breaches;
mod campaign_detail;
mod campaigns;
mod charts;
mod companies;
mod customers;
mod dashboard;
mod datamap;
mod errors;
mod import;
mod notices;
mod offers;
mod posted_form;
mod recipient_notices;
mod refusal;
mod register;
mod requests;
mod retention;
mod ropa;
mod security;
mod session;
mod sign_in;
mod sorting;
mod webhooks;

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use steward_app::core::Role;
use steward_app::{Actor, AppError};

use crate::AppState;
use crate::web::see_other;
pub use errors::{ConsoleError, too_many_requests};
pub use refusal::Refusal;
pub use session::Staff;

const STYLESHEET: &str = include_str!("../../static/console.css");

pub fn routes(state: &AppState) -> Router<AppState> {
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
        .route(
            "/console/import",
            get(import::form)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    import::MAX_UPLOAD_REQUEST,
                )),
        )
        .route(
            "/console/import/{id}",
            get(import::show).post(import::submit),
        )
        .route("/console/import/{id}/rejects.csv", get(import::rejects))
        .route("/console/customers/search", post(customers::search))
        .route("/console/customers/bulk", post(customers::bulk))
        .route("/console/customers/views", post(customers::save_view))
        .route(
            "/console/customers/views/{id}/delete",
            post(customers::delete_view),
        )
        .route(
            "/console/customers/bulk/erase",
            post(customers::erase_selection),
        )
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
        .route("/console/customers/{id}/tasks", post(customers::add_task))
        .route("/console/customers/{id}/owner", post(customers::reassign))
        .route(
            "/console/companies",
            get(companies::list).post(companies::create),
        )
        .route("/console/companies/new", get(companies::new_form))
        .route(
            "/console/companies/{id}",
            get(companies::show).post(companies::update),
        )
        .route("/console/companies/{id}/delete", post(companies::delete))
        .route("/console/customers/{id}/company", post(companies::link))
        .route("/console/tasks", get(customers::my_tasks))
        .route("/console/tasks/{id}/done", post(customers::task_done))
        .route("/console/tasks/{id}/reopen", post(customers::task_reopen))
        .route(
            "/console/customers/{id}/erase",
            get(customers::erase_form).post(customers::erase),
        )
        .route(
            "/console/customers/{id}/merge",
            post(customers::preview_merge),
        )
        .route(
            "/console/customers/{id}/merge/confirm",
            post(customers::confirm_merge),
        )
        .route(
            "/console/customers/{id}/consents",
            post(customers::record_consent),
        )
        .route("/console/customers/{id}/objection", post(customers::object))
        .route(
            "/console/customers/{id}/attributes/{key}/delete",
            post(customers::delete_attribute),
        )
        .route(
            "/console/customers/{id}/export/{format}",
            get(customers::export),
        )
        .route("/console/receipts/{id}", get(customers::receipt))
        .route("/console/notices", get(notices::list).post(notices::create))
        .route(
            "/console/notices/{id}/publish",
            get(notices::confirm_publish).post(notices::publish),
        )
        .route(
            "/console/campaigns",
            get(campaigns::list).post(campaigns::create_campaign),
        )
        .route("/console/campaigns/{id}", get(campaign_detail::show))
        .route(
            "/console/campaigns/{id}/test-send",
            post(campaign_detail::test_send),
        )
        .route(
            "/console/campaigns/{id}/schedule",
            post(campaign_detail::schedule),
        )
        .route(
            "/console/campaigns/{id}/unschedule",
            post(campaign_detail::unschedule),
        )
        .route(
            "/console/campaigns/{id}/send",
            get(campaigns::confirm_send).post(campaigns::send),
        )
        .route("/console/segments", post(campaigns::create_segment))
        .route("/console/offers", get(offers::list).post(offers::create))
        .route("/console/offers/{key}/retire", post(offers::retire))
        .route(
            "/console/requests",
            get(requests::list).post(requests::create),
        )
        .route("/console/requests/{id}/{step}", post(requests::step))
        .route(
            "/console/breaches",
            get(breaches::list).post(breaches::open),
        )
        .route(
            "/console/breaches/{id}",
            get(breaches::show).post(breaches::update),
        )
        .route("/console/breaches/{id}/steps/{step}", post(breaches::step))
        .route("/console/breaches/{id}/phases", post(breaches::add_phase))
        .route("/console/breaches/{id}/scope", post(breaches::scope))
        .route(
            "/console/breaches/{id}/customer-notices",
            post(breaches::notify_customers),
        )
        .route(
            "/console/breaches/{id}/authority-notice",
            get(breaches::authority_notice),
        )
        .route("/console/recipient-notices", get(recipient_notices::list))
        .route(
            "/console/recipient-notices/{id}/{status}",
            post(recipient_notices::mark),
        )
        .route("/console/retention", get(retention::show))
        .route("/console/retention/holds", post(retention::hold))
        .route(
            "/console/retention/holds/{id}/release",
            post(retention::release),
        )
        .route("/console/retention/runs", post(retention::sweep))
        .route("/console/retention/sweep", get(retention::confirm_sweep))
        .route("/console/vendors", get(register::vendors))
        .route("/console/vendors/{id}", get(register::vendor))
        .route("/console/agreements", get(register::agreements))
        .route("/console/shares", get(register::shares))
        .route("/console/shares/{id}", get(register::share))
        .route("/console/transfers", get(register::adequacy))
        .route("/console/ropa", get(ropa::ropa))
        .route("/console/ropa/{format}", get(ropa::ropa_download))
        .route("/console/audit", get(audit::log))
        .route("/console/audit/{seq}", get(audit::entry_page))
        .route("/console/catalog", get(audit::catalog))
        .route("/console/security", get(security::show))
        .route("/console/users", get(admin::users).post(admin::add_user))
        .route("/console/users/{id}", post(admin::update_user))
        .route(
            "/console/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(admin::revoke_token))
        .route(
            "/console/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/console/webhooks/{id}", get(webhooks::deliveries))
        .route("/console/webhooks/{id}/active", post(webhooks::set_active))
        .route("/console/webhooks/{id}/delete", post(webhooks::delete))
        .route("/console/", get(|| async { see_other("/console") }))
        .route("/console/{*rest}", any(errors::no_such_page))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            errors::as_pages,
        ))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// What every page's frame shows: who is signed in, for what purpose, and where they may go
/// from here. A visitor who is not signed in sees only the way to sign in.
pub struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub signed_in: bool,
    pub actor: String,
    pub role: String,
    pub purpose: Option<String>,
    pub purpose_name: String,
    pub csrf: String,
    /// The role works under some purpose; otherwise there is none to choose.
    pub holds_purposes: bool,
    /// The chosen purpose (or, before one is chosen, one of the role's) opens customer records.
    pub opens_records: bool,
    pub manages_accounts: bool,
    pub reads_audit: bool,
    pub edits_notices: bool,
    pub runs_campaigns: bool,
    /// Keeps the offer book; offers hold no personal data, so no purpose is needed.
    pub manages_offers: bool,
    pub answers_requests: bool,
    /// May read the vendor register, its agreements and shares, the record of processing,
    /// and the recipients to tell of changes.
    pub reads_register: bool,
    /// May read the breach register.
    pub reads_breaches: bool,
    /// Works with companies.
    pub reads_companies: bool,
    /// May read integrations' webhook subscriptions and their deliveries.
    pub reads_webhooks: bool,
    /// For the catalog's names of the purposes a page mentions.
    state: Option<AppState>,
}

/// A moment as staff read it, such as "6 Dec 2026, 14:05 UTC". Pages are drawn on the
/// server, which knows nobody's time zone, so times are in UTC and say so.
pub fn readable(t: jiff::Timestamp) -> String {
    t.strftime("%-d %b %Y, %H:%M UTC").to_string()
}

/// A moment however deeply a template holds it.
pub trait Moment {
    fn moment(&self) -> jiff::Timestamp;
}

impl Moment for jiff::Timestamp {
    fn moment(&self) -> jiff::Timestamp {
        *self
    }
}

impl<T: Moment + ?Sized> Moment for &T {
    fn moment(&self) -> jiff::Timestamp {
        (**self).moment()
    }
}

impl Chrome {
    pub fn when(&self, t: impl Moment) -> String {
        readable(t.moment())
    }

    /// The catalog's name of a purpose; its key when the catalog no longer has it.
    pub fn purpose_name(&self, key: &str) -> String {
        self.state
            .as_ref()
            .and_then(|state| state.app.catalog().purpose(key))
            .map_or_else(|| key.to_string(), |p| p.name.clone())
    }

    pub fn new(
        state: &AppState,
        staff: &Staff,
        title: impl Into<String>,
        nav: &'static str,
    ) -> Chrome {
        let catalog = state.app.catalog();
        let chosen = staff.purpose.as_deref().and_then(|p| catalog.purpose(p));
        let held: Vec<_> = staff
            .actor
            .effective_purposes()
            .into_iter()
            .filter_map(|p| catalog.purpose(p))
            .collect();
        let role = staff.actor.role();
        Chrome {
            title: title.into(),
            nav,
            signed_in: true,
            actor: staff.actor.id().to_string(),
            role: role.to_string(),
            purpose: staff.purpose.clone(),
            purpose_name: chosen.map(|p| p.name.clone()).unwrap_or_default(),
            csrf: staff.csrf.clone(),
            holds_purposes: !held.is_empty(),
            opens_records: match chosen {
                Some(p) => !p.requires_consent,
                None => held.iter().any(|p| !p.requires_consent),
            },
            manages_accounts: manages_accounts(&staff.actor),
            reads_audit: matches!(role, Role::Auditor | Role::Dpo | Role::Admin),
            edits_notices: matches!(role, Role::Dpo | Role::Admin),
            runs_campaigns: matches!(role, Role::Marketer | Role::Admin)
                && held.iter().any(|p| p.requires_consent),
            manages_offers: matches!(role, Role::Marketer | Role::Admin),
            answers_requests: role == Role::Dpo,
            reads_register: role.may_read_register(),
            reads_breaches: role.may_read_breaches(),
            reads_companies: role.may_read_companies(),
            reads_webhooks: role.may_read_subscriptions(),
            state: Some(state.clone()),
        }
    }

    /// The frame for someone who is not signed in (or whose session could not be read).
    pub fn visitor(title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            nav: "",
            signed_in: false,
            actor: String::new(),
            role: String::new(),
            purpose: None,
            purpose_name: String::new(),
            csrf: String::new(),
            holds_purposes: false,
            opens_records: false,
            manages_accounts: false,
            reads_audit: false,
            edits_notices: false,
            runs_campaigns: false,
            manages_offers: false,
            answers_requests: false,
            reads_register: false,
            reads_breaches: false,
            reads_companies: false,
            reads_webhooks: false,
            state: None,
        }
    }
}

fn manages_accounts(actor: &Actor) -> bool {
    actor.role() == Role::Admin
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

/// Every purpose of the catalog as a choice: its key, and its name as people read it.
pub fn purpose_choices(state: &AppState) -> Vec<(String, String)> {
    (state.app.catalog().purposes().iter())
        .map(|p| (p.key.clone(), p.name.clone()))
        .collect()
}

/// A count with thousands separated: 52,997.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group(52_997), "52,997");
        assert_eq!(group(1_000_000), "1,000,000");
        assert_eq!(group(999), "999");
        assert_eq!(group(0), "0");
    }
}
