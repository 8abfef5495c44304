//! Recipients to tell in the console (Art. 19): the notices still to be sent, soonest due
//! first with the overdue ones marked, and those sent but not yet acknowledged, each with the
//! buttons its status allows. The privacy officer marks them; the auditor reads them.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{AppError, FieldError, NoticeQuery, NoticeStatus, RecipientNoticeView};

use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render_checked, see_other};

#[derive(Template)]
#[template(path = "console/recipient_notices.html")]
struct NoticesPage {
    chrome: Chrome,
    /// Pending or failed, soonest due first.
    open: Vec<RecipientNoticeView>,
    /// Sent, awaiting the recipient's acknowledgement.
    sent: Vec<RecipientNoticeView>,
    /// Whether the signed-in role marks notices, or only reads them.
    marks: bool,
    refusal: Refusal,
}

async fn of_status(
    state: &AppState,
    staff: &Staff,
    status: NoticeStatus,
) -> Result<Vec<RecipientNoticeView>, ConsoleError> {
    Ok(state
        .app
        .recipient_notices()
        .list(
            &staff.actor,
            &NoticeQuery {
                status: Some(status),
                ..Default::default()
            },
        )
        .await?)
}

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let mut open = of_status(state, staff, NoticeStatus::Pending).await?;
    open.extend(of_status(state, staff, NoticeStatus::Failed).await?);
    open.sort_by_key(|n| (n.due, n.id));
    let sent = of_status(state, staff, NoticeStatus::Sent).await?;
    let has_errors = refusal.any();
    Ok(render_checked(
        &NoticesPage {
            chrome: Chrome::new(state, staff, "Recipients to tell", "recipients"),
            open,
            sent,
            marks: staff.actor.role().may_keep_register(),
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&state, &staff, Refusal::none()).await
}

/// One notice marked `sent`, `acknowledged`, `failed` or `impossible`.
pub async fn mark(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, status)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let to = NoticeStatus::parse(&status).ok_or(AppError::NotFound)?;
    let reason = form.get("reason").cloned().unwrap_or_default();
    let done = state
        .app
        .recipient_notices()
        .mark(&access, id, to, Some(&reason))
        .await;
    // The row's forms come back under the notice's id; the reason box is the status's own.
    let reason_input = format!("{status}-reason");
    let typed = HashMap::from([(reason_input.clone(), reason)]);
    let refused = |errors| {
        Refusal::new(
            id.to_string(),
            typed.clone(),
            errors,
            [(reason_input.as_str(), "reason")],
        )
    };
    match done {
        Ok(_) => Ok(see_other("/console/recipient-notices")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(e @ (AppError::TransitionNotAllowed { .. } | AppError::Conflict(_))) => {
            let said = e.to_string();
            page(
                &state,
                &staff,
                refused(vec![FieldError::new("notice", said)]),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
