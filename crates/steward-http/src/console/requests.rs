//! The request desk in the console: open requests soonest due first with the ones due this
//! week marked, every step a button, a form to log a request that came by email, phone or
//! post, and the year's figures as a chart.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{
    AppError, FieldError, KindTally, ReasonInput, RequestInput, RequestQuery, RequestView,
};

use super::charts::{Chart, bars};
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, form_value};
use crate::AppState;
use crate::web::{render_checked, see_other};

/// Requests due within this many days are marked on the desk.
const DUE_SOON_DAYS: i64 = 7;
/// The latest requests looked through for the closed list.
const CLOSED_SHOWN: usize = 100;

#[derive(Template)]
#[template(path = "console/requests.html")]
struct RequestsPage {
    chrome: Chrome,
    /// Each open request, whether it is due soon, and the name of its row's forms.
    open: Vec<(RequestView, bool, String)>,
    closed: Vec<RequestView>,
    report: Vec<KindTally>,
    chart: Chart,
    kinds: &'static [steward_app::core::request::RequestKind],
    refusal: Refusal,
}

const REQUEST_INPUTS: [(&str, &str); 7] = [
    ("kind", "type"),
    ("channel", "channel"),
    ("contact", "email"),
    ("contact", "phone"),
    ("contact", "customer_id"),
    ("residency", "residency"),
    ("purpose", "purpose"),
];

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    // Every open request, soonest due first, however old; the latest closed ones.
    let mut open = state
        .app
        .requests()
        .list(
            &access,
            &RequestQuery {
                open: true,
                limit: Some(steward_app::MAX_REQUESTS),
                ..Default::default()
            },
        )
        .await?;
    let closed: Vec<RequestView> = state
        .app
        .requests()
        .list(
            &access,
            &RequestQuery {
                limit: Some(CLOSED_SHOWN),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .filter(|r| r.state == "completed" || r.state == "denied")
        .collect();
    let soon = state.app.now().as_microsecond() + DUE_SOON_DAYS * 24 * 3_600 * 1_000_000;
    // A correction to review is shown with the value it proposes (each such read audited).
    for r in open.iter_mut().filter(|r| r.proposed_field.is_some()) {
        *r = state.app.requests().get(&access, r.id).await?;
    }
    let report = state.app.requests().report(&access).await?.kinds;
    let chart = bars(
        "requests",
        "Requests this year, by kind",
        &report
            .iter()
            .map(|k| (k.kind.clone(), k.received))
            .collect::<Vec<_>>(),
    );
    let has_errors = refusal.any();
    Ok(render_checked(
        &RequestsPage {
            chrome: Chrome::new(state, staff, "Privacy requests", "requests"),
            open: open
                .into_iter()
                .map(|r| {
                    let due_soon = r.due_at.as_microsecond() <= soon;
                    let form = r.id.to_string();
                    (r, due_soon, form)
                })
                .collect(),
            closed,
            report,
            chart,
            kinds: steward_app::core::request::RequestKind::ALL,
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&state, &staff, Refusal::none()).await
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let contact = form_value(&form, "contact").unwrap_or_default();
    let input = RequestInput {
        kind: form_value(&form, "kind").unwrap_or_default(),
        channel: form_value(&form, "channel").unwrap_or_default(),
        email: contact.contains('@').then(|| contact.clone()),
        phone: (!contact.is_empty() && !contact.contains('@')).then(|| contact.clone()),
        residency: form_value(&form, "residency"),
        purpose: form_value(&form, "purpose"),
        customer_id: None,
    };
    let refused = |errors| Refusal::new("request", form.clone(), errors, REQUEST_INPUTS);
    match state.app.requests().create(&access, input).await {
        Ok(_) => Ok(see_other("/console/requests")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(AppError::Conflict(m)) => {
            page(&state, &staff, refused(vec![FieldError::new("request", m)])).await
        }
        Err(e) => Err(e.into()),
    }
}

/// One step on a request: verify, start, extend, complete or deny.
pub async fn step(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, step)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let reason = ReasonInput {
        reason: form.get("reason").cloned().unwrap_or_default(),
    };
    let done = match step.as_str() {
        "verify" => state.app.requests().verify(&access, id).await,
        "start" => state.app.requests().start(&access, id).await,
        "complete" => state.app.requests().complete(&access, id).await,
        "extend" => state.app.requests().extend(&access, id, &reason).await,
        "deny" => state.app.requests().deny(&access, id, &reason).await,
        _ => Err(AppError::NotFound),
    };
    // The row's forms are sent back under the request's id; the reason box is the step's own.
    let reason_input = format!("{step}-reason");
    let mut typed = HashMap::new();
    typed.insert(reason_input.clone(), reason.reason);
    let refused = |errors| {
        Refusal::new(
            id.to_string(),
            typed.clone(),
            errors,
            [(reason_input.as_str(), "reason")],
        )
    };
    match done {
        Ok(_) => Ok(see_other("/console/requests")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(AppError::Conflict(m)) => {
            page(&state, &staff, refused(vec![FieldError::new("request", m)])).await
        }
        Err(e) => Err(e.into()),
    }
}
