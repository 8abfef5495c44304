//! Importing customers from a CSV file in the console: upload, map each column to a catalog
//! field while seeing the first rows as the role and purpose allow, then watch the command
//! line's import run and download its rejects.
//!
//! The run's page is streamed: each progress report is appended as the import commits a
//! batch, and the stylesheet shows only the last, so the page updates without JavaScript.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use steward_app::import::{IGNORE_COLUMN, ImportRunView, MAX_UPLOAD, StagedImport};
use steward_app::{AppError, FieldError};
use uuid::Uuid;

use crate::AppState;
use crate::console::{Chrome, ConsoleError, ConsoleForm, Staff, group, parse_id};
use crate::streaming::Pages;
use crate::web::{attachment, render, render_checked, see_other};

/// Where the streamed run page puts its progress reports, and its summary.
const STEPS: &str = "<!--steps-->";
const SUMMARY: &str = "<!--summary-->";
/// How often the run page reports while the import runs.
const REPORT_EVERY: Duration = Duration::from_millis(300);

/// The largest request the upload form may send: the file and a few small fields.
pub const MAX_UPLOAD_REQUEST: usize = MAX_UPLOAD + 64 * 1024;

#[derive(Template)]
#[template(path = "console/import_upload.html")]
struct UploadPage {
    chrome: Chrome,
    residency: String,
    errors: Vec<FieldError>,
    max_mib: usize,
}

struct Choice {
    key: String,
    label: String,
}

struct MappedColumn {
    index: usize,
    header: String,
    chosen: String,
    /// The column's cells in the first rows; `None` where they are not shown.
    cells: Vec<Option<String>>,
}

#[derive(Template)]
#[template(path = "console/import_map.html")]
struct MapPage {
    chrome: Chrome,
    id: String,
    size: String,
    purpose_name: String,
    residency: String,
    columns: Vec<MappedColumn>,
    choices: Vec<Choice>,
    /// The numbers of the rows shown, from 1.
    rows: Vec<usize>,
    errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "console/import_run.html")]
struct RunPage {
    chrome: Chrome,
}

#[derive(Template)]
#[template(path = "console/import_summary.html")]
struct SummaryPage {
    id: String,
    view: ImportRunView,
}

impl SummaryPage {
    fn count(&self, n: &u64) -> String {
        group(*n)
    }
}

fn purpose_of(staff: &Staff) -> Result<String, ConsoleError> {
    staff.purpose.clone().ok_or(ConsoleError::PurposeFirst)
}

/// The upload form.
pub async fn form(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    purpose_of(&staff)?;
    Ok(render(&UploadPage {
        chrome: Chrome::new(&state, &staff, "Import customers", "customers"),
        residency: String::new(),
        errors: Vec::new(),
        max_mib: MAX_UPLOAD >> 20,
    }))
}

/// Holds the uploaded file and sends the staff member on to map its columns.
pub async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    mut multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let mut csrf = None;
    let mut residency = String::new();
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ConsoleError::BadRequest(e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "residency" => residency = String::from_utf8_lossy(&bytes).trim().to_string(),
            "file" => file = Some(bytes),
            _ => {}
        }
    }
    staff.check_csrf(csrf.as_deref())?;
    purpose_of(&staff)?;
    let staged = state
        .app
        .customers()
        .stage_import(&staff.actor, file.as_deref().unwrap_or_default());
    match staged {
        Ok(id) => {
            let query = if residency.is_empty() {
                String::new()
            } else {
                format!("?residency={}", crate::console::encode(&residency))
            };
            Ok(see_other(&format!("/console/import/{id}{query}")))
        }
        Err(AppError::Invalid(errors)) => Ok(render_checked(
            &UploadPage {
                chrome: Chrome::new(&state, &staff, "Import customers", "customers"),
                residency,
                errors,
                max_mib: MAX_UPLOAD >> 20,
            },
            true,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct Shown {
    residency: Option<String>,
}

/// An upload's mapping page, or its run's page once it is imported.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    axum::extract::Query(shown): axum::extract::Query<Shown>,
) -> Result<Response, ConsoleError> {
    let id = parse_id(&id)?;
    let purpose = purpose_of(&staff)?;
    match state.app.customers().import_run(&staff.actor, id) {
        Ok(_) => return Ok(run_page(state, staff, id)),
        Err(AppError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let staged =
        state
            .app
            .customers()
            .staged_import(&staff.actor, id, &purpose, &HashMap::new())?;
    let residency = shown.residency.unwrap_or_default();
    Ok(render(&map_page(
        &state,
        &staff,
        staged,
        &purpose,
        residency,
        Vec::new(),
    )))
}

fn map_page(
    state: &AppState,
    staff: &Staff,
    staged: StagedImport,
    purpose: &str,
    residency: String,
    errors: Vec<FieldError>,
) -> MapPage {
    let catalog = state.app.catalog();
    let mut choices = vec![Choice {
        key: IGNORE_COLUMN.into(),
        label: "Leave out".into(),
    }];
    choices.extend(
        catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(purpose))
            .map(|f| Choice {
                key: f.key.clone(),
                label: f.label.clone(),
            }),
    );
    choices.push(Choice {
        key: "residency".into(),
        label: "Residency (country code)".into(),
    });
    choices.push(Choice {
        key: "tags".into(),
        label: "Tags (separated by ; or |)".into(),
    });
    MapPage {
        chrome: Chrome::new(state, staff, "Map the file's columns", "customers"),
        id: staged.id.to_string(),
        size: format!("{} bytes", group(staged.size)),
        purpose_name: catalog
            .purpose(purpose)
            .map_or_else(|| purpose.to_string(), |p| p.name.clone()),
        residency,
        rows: (1..=staged.sample.len()).collect(),
        columns: staged
            .columns
            .into_iter()
            .enumerate()
            .map(|(index, c)| MappedColumn {
                index,
                header: c.header,
                chosen: c.suggested,
                cells: staged
                    .sample
                    .iter()
                    .map(|row| row.get(index).cloned().flatten())
                    .collect(),
            })
            .collect(),
        choices,
        errors,
    }
}

/// The mapping as the form posts it: `col<N>` for the file's N-th column.
fn mapping(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    form: &HashMap<String, String>,
) -> Result<HashMap<String, String>, ConsoleError> {
    let purpose = purpose_of(staff)?;
    let staged =
        state
            .app
            .customers()
            .staged_import(&staff.actor, id, &purpose, &HashMap::new())?;
    Ok(staged
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let key = form
                .get(&format!("col{i}"))
                .map(|k| k.trim().to_string())
                .unwrap_or_default();
            (c.header.clone(), key)
        })
        .collect())
}

/// The mapping page again with the columns as chosen, their cells shown accordingly; or,
/// for the form's import button, the import started and its page.
pub async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let id = parse_id(&id)?;
    let purpose = purpose_of(&staff)?;
    let chosen = mapping(&state, &staff, id, &form)?;
    let residency = form
        .get("residency")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let mut errors = Vec::new();
    if form.get("action").map(String::as_str) == Some("import") {
        let customers = state.app.customers();
        let default_residency = (!residency.is_empty()).then(|| residency.clone());
        // Claimed before the answer, so the run's page it redirects to finds the import.
        let claimed = customers
            .check_staged_import(&staff.actor, id, &purpose, &chosen)
            .and_then(|()| {
                customers.claim_staged_import(
                    &staff.actor,
                    id,
                    purpose.clone(),
                    default_residency,
                    chosen.clone(),
                )
            });
        match claimed {
            Ok(staged) => {
                let app = state.app.clone();
                tokio::spawn(async move {
                    if let Err(e) = app.customers().run_staged_import(staged).await {
                        tracing::warn!(upload = %id, error = %e, "an import started in the console stopped");
                    }
                });
                return Ok(see_other(&format!("/console/import/{id}")));
            }
            Err(AppError::Invalid(e)) => errors = e,
            Err(e) => return Err(e.into()),
        }
    }
    let staged = state
        .app
        .customers()
        .staged_import(&staff.actor, id, &purpose, &chosen)?;
    let has_errors = !errors.is_empty();
    Ok(render_checked(
        &map_page(&state, &staff, staged, &purpose, residency, errors),
        has_errors,
    ))
}

/// The run's page, streamed: the page up to its progress, a report per interval while the
/// import runs, then the summary and the rest of the page.
fn run_page(state: AppState, staff: Staff, id: Uuid) -> Response {
    let page = RunPage {
        chrome: Chrome::new(&state, &staff, "Importing customers", "customers"),
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return ConsoleError::App(AppError::Internal("page".into())).into_response();
        }
    };
    let (head, rest) = html.split_once(STEPS).unwrap_or((&html, ""));
    let (between, tail) = rest.split_once(SUMMARY).unwrap_or((rest, ""));
    let (head, between, tail) = (head.to_string(), between.to_string(), tail.to_string());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let _ = tx.send(Ok(head.into_bytes())).await;
        let view = loop {
            let view = match state.app.customers().import_run(&staff.actor, id) {
                Ok(view) => view,
                Err(e) => {
                    tracing::warn!(upload = %id, error = %e, "an import's page stopped");
                    return;
                }
            };
            if view.finished {
                break view;
            }
            let p = view.progress;
            let step = format!(
                "<div class=\"step\"><progress aria-label=\"Share of the file read\" value=\"{}\" max=\"{}\"></progress> \
                 <span>{} created, {} updated, {} refused so far</span></div>\n",
                p.bytes_read,
                p.bytes_total.max(1),
                group(p.created),
                group(p.updated),
                group(p.rejected)
            );
            if tx.send(Ok(step.into_bytes())).await.is_err() {
                return;
            }
            tokio::time::sleep(REPORT_EVERY).await;
        };
        let summary = SummaryPage {
            id: id.to_string(),
            view,
        }
        .render()
        .unwrap_or_default();
        for part in [between, summary, tail] {
            if tx.send(Ok(part.into_bytes())).await.is_err() {
                return;
            }
        }
    });
    let mut response = Body::from_stream(Pages(rx)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The reject file of a finished import, as a download.
pub async fn rejects(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = parse_id(&id)?;
    let bytes = state.app.customers().import_rejects(&staff.actor, id)?;
    Ok(attachment("text/csv; charset=utf-8", "rejects.csv", bytes))
}
