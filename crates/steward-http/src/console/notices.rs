//! Privacy notices in the console: draft a version with a plain summary per purpose, see how
//! readable each summary is, and publish it.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{AppError, FieldError, NoticeInput, NoticeView, PurposeSummary};

use super::{Chrome, ConsoleError, ConsoleForm, Staff, day_start, render_checked, see_other};
use crate::AppState;

const PARTS: [(&str, &str); 4] = [
    ("collected", "What is collected"),
    ("why", "Why"),
    ("how_long", "For how long"),
    ("recipients", "Who else receives it"),
];

struct PurposeFields {
    key: String,
    name: String,
    parts: Vec<(&'static str, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "console/notices.html")]
struct NoticesPage {
    chrome: Chrome,
    notices: Vec<NoticeView>,
    purposes: Vec<PurposeFields>,
    form: HashMap<String, String>,
    errors: Vec<FieldError>,
    threshold: f64,
}

async fn page(
    app: &AppState,
    staff: &Staff,
    form: HashMap<String, String>,
    errors: Vec<FieldError>,
) -> Result<Response, ConsoleError> {
    let purposes = app
        .catalog()
        .purposes()
        .iter()
        .map(|p| PurposeFields {
            parts: PARTS
                .iter()
                .map(|(part, label)| {
                    let value = form
                        .get(&format!("{}.{part}", p.key))
                        .cloned()
                        .unwrap_or_default();
                    (*part, *label, value)
                })
                .collect(),
            key: p.key.clone(),
            name: p.name.clone(),
        })
        .collect();
    let has_errors = !errors.is_empty();
    Ok(render_checked(
        &NoticesPage {
            chrome: Chrome::new(app, staff, "Privacy notices", "notices"),
            notices: app.notices().await?,
            purposes,
            form,
            errors,
            threshold: app.readability_threshold(),
        },
        has_errors,
    ))
}

pub async fn list(State(app): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&app, &staff, HashMap::new(), Vec::new()).await
}

pub async fn create(
    State(app): State<AppState>,
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
    for p in app.catalog().purposes() {
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
    let effective_at = day_start(&text("effective"), false)
        .map_err(|m| ConsoleError::App(AppError::invalid("effective", m)))?;
    let input = NoticeInput {
        version: text("version"),
        language: text("language"),
        effective_at,
        material: form.contains_key("material"),
        body: text("body"),
        summaries,
    };
    match app.create_notice(&staff.actor, input).await {
        Ok(_) => Ok(see_other("/console/notices")),
        Err(AppError::Invalid(errors)) => page(&app, &staff, form, errors).await,
        Err(AppError::Duplicate { field }) => {
            let errors = vec![FieldError::new(field, "is taken by an earlier version")];
            page(&app, &staff, form, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn publish(
    State(app): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    app.publish_notice(&staff.actor, id).await?;
    Ok(see_other("/console/notices"))
}
