//! Privacy notices in the console: draft a version with a plain summary per purpose, see how
//! readable each summary is, and publish it.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{AppError, FieldError, NoticeInput, NoticeView, PurposeSummary};

use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, day_start};
use crate::AppState;
use crate::web::{render_checked, see_other};

const PARTS: [(&str, &str); 4] = [
    ("collected", "What is collected"),
    ("why", "Why"),
    ("how_long", "For how long"),
    ("recipients", "Who else receives it"),
];

struct PurposeFields {
    key: String,
    name: String,
    /// (input name, element id, label) of each part of the summary.
    parts: Vec<(String, String, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/notices.html")]
struct NoticesPage {
    chrome: Chrome,
    notices: Vec<NoticeView>,
    purposes: Vec<PurposeFields>,
    refusal: Refusal,
    threshold: f64,
}

/// The draft form sent back with `errors`, each beside its input.
fn refused(state: &AppState, form: HashMap<String, String>, errors: Vec<FieldError>) -> Refusal {
    let mut inputs: Vec<(String, String)> =
        ["version", "language", "effective", "material", "body"]
            .iter()
            .map(|n| (n.to_string(), n.to_string()))
            .collect();
    inputs[2].1 = "effective_at".into();
    for p in state.app.catalog().purposes() {
        for (part, _) in PARTS {
            inputs.push((
                format!("{}.{part}", p.key),
                format!("summaries.{}.{part}", p.key),
            ));
        }
    }
    Refusal::new(
        "notice",
        form,
        errors,
        inputs.iter().map(|(i, f)| (i.as_str(), f.as_str())),
    )
}

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let purposes = state
        .app
        .catalog()
        .purposes()
        .iter()
        .map(|p| PurposeFields {
            parts: PARTS
                .iter()
                .map(|(part, label)| {
                    let id = format!("s-{}-{part}", p.key.replace('.', "-"));
                    (format!("{}.{part}", p.key), id, *label)
                })
                .collect(),
            key: p.key.clone(),
            name: p.name.clone(),
        })
        .collect();
    let has_errors = refusal.any();
    Ok(render_checked(
        &NoticesPage {
            chrome: Chrome::new(state, staff, "Privacy notices", "notices"),
            notices: state.app.notices().list().await?,
            purposes,
            refusal,
            threshold: state.app.notices().readability_threshold(),
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
    let text = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut summaries = BTreeMap::new();
    for p in state.app.catalog().purposes() {
        let part = |name: &str| text(&format!("{}.{name}", p.key));
        let parts = [
            part("collected"),
            part("why"),
            part("how_long"),
            part("recipients"),
        ];
        // A purpose is covered once any of its four parts is written; the rest are then required.
        if parts.iter().any(|s| !s.is_empty()) {
            let [collected, why, how_long, recipients] = parts;
            summaries.insert(
                p.key.clone(),
                PurposeSummary {
                    collected,
                    why,
                    how_long,
                    recipients,
                },
            );
        }
    }
    let effective_at = match day_start(&text("effective"), false) {
        Ok(at) => at,
        Err(m) => {
            let errors = vec![FieldError::new("effective", m)];
            return page(&state, &staff, refused(&state, form, errors)).await;
        }
    };
    let input = NoticeInput {
        version: text("version"),
        language: text("language"),
        effective_at,
        material: form.contains_key("material"),
        body: text("body"),
        summaries,
    };
    match state.app.notices().create(&staff.actor, input).await {
        Ok(_) => Ok(see_other("/console/notices")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(&state, form, errors)).await,
        Err(AppError::Duplicate { field }) => {
            let errors = vec![FieldError::new(field, "is taken by an earlier version")];
            page(&state, &staff, refused(&state, form, errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/confirm_publish.html")]
struct ConfirmPublishPage {
    chrome: Chrome,
    notice: NoticeView,
    /// (name, key) of each purpose the version summarises.
    purposes: Vec<(String, String)>,
    /// The form came without its confirmation.
    unconfirmed: bool,
}

/// What publishing a version does, with a button that publishes it.
async fn confirm_page(
    state: &AppState,
    staff: &Staff,
    id: uuid::Uuid,
    unconfirmed: bool,
) -> Result<Response, ConsoleError> {
    let notice = state
        .app
        .notices()
        .list()
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or(AppError::NotFound)?;
    if notice.published_at.is_some() {
        return Err(AppError::Conflict(format!(
            "version {} is published already and cannot change",
            notice.version
        ))
        .into());
    }
    let purposes = notice
        .summaries
        .keys()
        .map(|k| {
            let name = state
                .app
                .catalog()
                .purpose(k)
                .map_or_else(|| k.clone(), |p| p.name.clone());
            (name, k.clone())
        })
        .collect();
    Ok(render_checked(
        &ConfirmPublishPage {
            chrome: Chrome::new(
                state,
                staff,
                format!("Publish {}?", notice.version),
                "notices",
            ),
            notice,
            purposes,
            unconfirmed,
        },
        unconfirmed,
    ))
}

pub async fn confirm_publish(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    confirm_page(&state, &staff, super::parse_id(&id)?, false).await
}

/// Publishes once the confirmation page's button says so; anything else gets that page.
pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return confirm_page(&state, &staff, id, true).await;
    }
    state.app.notices().publish(&staff.actor, id).await?;
    Ok(see_other("/console/notices"))
}
