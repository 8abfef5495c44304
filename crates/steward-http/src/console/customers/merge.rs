//! Merging a duplicate into the customer whose page it is: the other customer named by id or
//! by email (typed into a form, so never in a URL), what the survivor would hold shown from a
//! dry run, and the merge once confirmed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::{Access, AppError, CustomerQuery, FieldError, MergeView};
use uuid::Uuid;

use super::record::detail_page;
use crate::AppState;
use crate::console::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, parse_id};
use crate::web::{render, see_other};

/// The merge form's one input, and the name its errors carry.
pub(super) const MERGE_INPUTS: [(&str, &str); 1] = [("other", "other")];

struct Field {
    label: String,
    value: String,
    from_duplicate: bool,
}

struct Consent {
    name: String,
    survivor: String,
    merged: String,
    result: String,
    kept_from: &'static str,
}

#[derive(Template)]
#[template(path = "console/merge.html")]
struct MergePage {
    chrome: Chrome,
    id: String,
    other: String,
    fields: Vec<Field>,
    masked: Vec<String>,
    dropped: Vec<String>,
    tags: String,
    tags_added: String,
    status: String,
    consents: Vec<Consent>,
    interactions_moved: usize,
    objections_moved: usize,
    level: String,
    field_rule: &'static str,
    consent_rule: &'static str,
}

#[derive(Deserialize)]
pub struct MergeForm {
    csrf: Option<String>,
    #[serde(default)]
    other: String,
}

/// The other customer: an id as typed, or the one other customer whose email it is.
async fn other_customer(
    state: &AppState,
    access: &Access,
    survivor: Uuid,
    typed: &str,
) -> Result<Uuid, AppError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(AppError::invalid(
            "other",
            "give the duplicate's id or email address",
        ));
    }
    if let Ok(id) = Uuid::parse_str(typed) {
        return Ok(id);
    }
    let found = state
        .app
        .customers()
        .list(
            access,
            CustomerQuery {
                email: Some(typed.to_string()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| match e {
            AppError::Invalid(_) => {
                AppError::invalid("other", "is neither a customer id nor an email address")
            }
            other => other,
        })?;
    found
        .items
        .iter()
        .map(|c| c.id)
        .find(|id| *id != survivor)
        .ok_or_else(|| AppError::invalid("other", "no other customer has this email address"))
}

/// A refusal the page can show beside the input, or the error as it is.
fn as_refusal(e: AppError, typed: &str) -> Result<Refusal, ConsoleError> {
    let message = match e {
        AppError::Invalid(errors) => {
            let typed = HashMap::from([("other".to_string(), typed.to_string())]);
            return Ok(Refusal::new("merge", typed, errors, MERGE_INPUTS));
        }
        AppError::NotFound => "no customer has this id".to_string(),
        AppError::Merged { survivor } => {
            format!("this customer was merged into customer {survivor} already")
        }
        AppError::MergeRefused(refusal) => refusal.message().to_string(),
        other => return Err(other.into()),
    };
    let typed = HashMap::from([("other".to_string(), typed.to_string())]);
    Ok(Refusal::new(
        "merge",
        typed,
        vec![FieldError::new("other", message)],
        MERGE_INPUTS,
    ))
}

fn state_name(s: Option<steward_app::core::consent::ConsentState>) -> String {
    s.map(|s| s.to_string())
        .unwrap_or_else(|| "never asked".into())
}

fn page(state: &AppState, staff: &Staff, view: MergeView) -> MergePage {
    let catalog = state.app.catalog();
    let label = |key: &String| {
        catalog
            .field(key)
            .map(|f| f.label.clone())
            .unwrap_or_else(|| key.clone())
    };
    let fields = catalog
        .fields()
        .iter()
        .filter_map(|f| {
            view.customer.fields.get(&f.key).map(|v| Field {
                label: f.label.clone(),
                value: v.clone(),
                from_duplicate: view.fields_filled.contains(&f.key),
            })
        })
        .collect();
    let consents = view
        .consents
        .iter()
        .map(|c| Consent {
            name: state
                .app
                .catalog()
                .purpose(&c.purpose)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| c.purpose.clone()),
            survivor: state_name(c.survivor),
            merged: state_name(c.merged),
            result: state_name(c.result),
            kept_from: match c.kept_from {
                "survivor" => "this customer's",
                "merged" => "the duplicate's",
                _ => "neither answered",
            },
        })
        .collect();
    MergePage {
        chrome: Chrome::new(state, staff, "Merge a duplicate", "customers"),
        id: view.survivor.to_string(),
        other: view.merged.to_string(),
        fields,
        masked: view.customer.masked.iter().map(label).collect(),
        dropped: view.fields_dropped.iter().map(label).collect(),
        tags: view.customer.tags.join(", "),
        tags_added: view.tags_added.join(", "),
        status: view.customer.status.clone(),
        consents,
        interactions_moved: view.interactions_moved,
        objections_moved: view.objections_moved,
        level: view
            .personalization_level
            .unwrap_or_else(|| "never chosen".into()),
        field_rule: view.field_rule,
        consent_rule: view.consent_rule,
    }
}

/// What the survivor would hold, from a dry run, with the button that merges.
pub async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<MergeForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let survivor = parse_id(&id)?;
    let outcome = match other_customer(&state, &access, survivor, &f.other).await {
        Ok(merged) => {
            state
                .app
                .customers()
                .merge(&access, survivor, merged, true)
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(view) => Ok(render(&page(&state, &staff, view))),
        Err(e) => {
            let refusal = as_refusal(e, &f.other)?;
            detail_page(&state, &staff, &access, survivor, refusal).await
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    merge: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<ConfirmForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let survivor = parse_id(&id)?;
    let merged = parse_id(&f.merge)?;
    match state
        .app
        .customers()
        .merge(&access, survivor, merged, false)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/console/customers/{survivor}?merged=done"
        ))),
        Err(e) => {
            let refusal = as_refusal(e, &f.merge)?;
            detail_page(&state, &staff, &access, survivor, refusal).await
        }
    }
}
