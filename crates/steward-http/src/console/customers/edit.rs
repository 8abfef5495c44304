//! Creating and editing a customer with the catalog's fields. An edit sends only the fields
//! the person changed, recognised by a keyed fingerprint of what the form showed.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sha2::{Digest, Sha256};
use steward_app::core::catalog::FieldKind;
use steward_app::core::customer::CustomerStatus;
use steward_app::{Access, AppError, CustomerInput, CustomerPatch, FieldError};

use super::blank;
use crate::AppState;
use crate::console::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, parse_id};
use crate::web::{render, see_other};

struct FormField {
    key: String,
    label: String,
    category: String,
    purposes: String,
    value: String,
    original: String,
    error: Option<String>,
    focus: bool,
    multiline: bool,
    input_type: &'static str,
}

#[derive(Template)]
#[template(path = "console/customer_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    id: Option<String>,
    fields: Vec<FormField>,
    residency: String,
    tags: String,
    status: String,
    statuses: Vec<&'static str>,
    version: Option<i64>,
    conflict: bool,
    refusal: Refusal,
}

/// The customer form's inputs in page order, each with the name errors about it carry.
fn customer_inputs(fields: &[FormField]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| (format!("field.{}", f.key), format!("fields.{}", f.key)))
        .chain(["residency", "tags", "status"].map(|n| (n.to_string(), n.to_string())))
        .collect()
}

/// The customer form sent back with `errors`, each beside its field.
fn customer_refusal(fields: &mut [FormField], errors: Vec<FieldError>) -> Refusal {
    let inputs = customer_inputs(fields);
    let refusal = Refusal::new(
        "customer",
        HashMap::new(),
        errors,
        inputs.iter().map(|(i, f)| (i.as_str(), f.as_str())),
    );
    for f in fields.iter_mut() {
        let input = format!("field.{}", f.key);
        f.error = refusal.message("customer", &input).map(str::to_string);
        f.focus = refusal.focus("customer", &input);
    }
    refusal
}

/// A fingerprint of a field's value as the form showed it, keyed with the session's CSRF
/// secret, so an edit sends only the fields the person changed.
fn fingerprint(csrf: &str, key: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(csrf.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .chain_update([0])
        .chain_update(value.as_bytes())
        .finalize();
    hex::encode(&digest[..12])
}

fn form_fields(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    values: &HashMap<String, String>,
    originals: Option<&HashMap<String, String>>,
) -> Vec<FormField> {
    state
        .app
        .writable_fields(access)
        .into_iter()
        .map(|f| {
            let value = values.get(&f.key).cloned().unwrap_or_default();
            let original = match originals {
                Some(o) => o.get(&f.key).cloned().unwrap_or_default(),
                None => fingerprint(&staff.csrf, &f.key, &value),
            };
            FormField {
                key: f.key.clone(),
                label: f.label.clone(),
                category: f.category.clone(),
                purposes: f
                    .purposes
                    .iter()
                    .map(|p| {
                        state
                            .app
                            .catalog()
                            .purpose(p)
                            .map_or_else(|| p.clone(), |d| d.name.clone())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                error: None,
                focus: false,
                value,
                original,
                multiline: f.kind == FieldKind::Multiline,
                input_type: match f.kind {
                    FieldKind::Email => "email",
                    FieldKind::Phone => "tel",
                    FieldKind::Date => "date",
                    _ => "text",
                },
            }
        })
        .collect()
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    access.require_record_access()?;
    let fields = form_fields(&state, &staff, &access, &HashMap::new(), None);
    Ok(render(&FormPage {
        chrome: Chrome::new(&state, &staff, "New customer", "customers"),
        action: "/console/customers/new".into(),
        id: None,
        fields,
        residency: String::new(),
        tags: String::new(),
        status: String::new(),
        statuses: Vec::new(),
        version: None,
        conflict: false,
        refusal: Refusal::none(),
    }))
}

/// The catalog fields of a submitted form, by key.
fn submitted(form: &HashMap<String, String>, prefix: &str) -> HashMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v.clone())))
        .collect()
}

fn split_tags(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let values = submitted(&form, "field.");
    let text = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = CustomerInput {
        fields: values
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        residency: text("residency").trim().to_uppercase(),
        tags: split_tags(&text("tags")),
    };
    let errors = match state.app.customers().create(&access, input).await {
        Ok(view) => return Ok(see_other(&format!("/console/customers/{}", view.id))),
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::Duplicate { field }) => vec![FieldError::new(
            field,
            "is already in use by another customer",
        )],
        Err(AppError::Suppressed { field }) => vec![FieldError::new(
            field,
            "belongs to someone erased at their own request; only they can sign up again, through a sign-up form that confirms the address",
        )],
        Err(e) => return Err(e.into()),
    };
    let mut fields = form_fields(&state, &staff, &access, &values, None);
    let refusal = customer_refusal(&mut fields, errors);
    let mut response = render(&FormPage {
        chrome: Chrome::new(&state, &staff, "New customer", "customers"),
        action: "/console/customers/new".into(),
        id: None,
        fields,
        residency: text("residency"),
        tags: text("tags"),
        status: String::new(),
        statuses: Vec::new(),
        version: None,
        conflict: false,
        refusal,
    });
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let view = state.app.customers().get(&access, parse_id(&id)?).await?;
    let values: HashMap<String, String> = view.fields.clone().into_iter().collect();
    let fields = form_fields(&state, &staff, &access, &values, None);
    Ok(render(&FormPage {
        chrome: Chrome::new(&state, &staff, "Edit customer", "customers"),
        action: format!("/console/customers/{}/edit", view.id),
        id: Some(view.id.to_string()),
        fields,
        residency: view.residency,
        tags: view.tags.join(", "),
        status: view.status,
        statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
        version: Some(view.version),
        conflict: false,
        refusal: Refusal::none(),
    }))
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let text = |k: &str| form.get(k).cloned().unwrap_or_default();
    let version = text("version")
        .parse::<i64>()
        .map_err(|_| ConsoleError::BadRequest("the form has no version; reload it".into()))?;
    let values = submitted(&form, "field.");
    let originals = submitted(&form, "original.");
    let changed = values.iter().filter(|(k, v)| {
        originals.get(*k).map(String::as_str) != Some(fingerprint(&staff.csrf, k, v).as_str())
    });
    let patch = CustomerPatch {
        fields: changed.map(|(k, v)| (k.clone(), blank(v))).collect(),
        residency: Some(text("residency").trim().to_uppercase()),
        tags: Some(split_tags(&text("tags"))),
        status: blank(&text("status")),
    };
    let (status, conflict, errors) = match state
        .app
        .customers()
        .update(&access, id, patch, version)
        .await
    {
        Ok(_) => return Ok(see_other(&format!("/console/customers/{id}"))),
        Err(AppError::StaleVersion) => (StatusCode::CONFLICT, true, Vec::new()),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, false, errors),
        Err(AppError::Duplicate { field }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            vec![FieldError::new(
                field,
                "is already in use by another customer",
            )],
        ),
        Err(e) => return Err(e.into()),
    };
    let mut fields = form_fields(&state, &staff, &access, &values, Some(&originals));
    let refusal = customer_refusal(&mut fields, errors);
    let mut response = render(&FormPage {
        chrome: Chrome::new(&state, &staff, "Edit customer", "customers"),
        action: format!("/console/customers/{id}/edit"),
        id: Some(id.to_string()),
        fields,
        residency: text("residency"),
        tags: text("tags"),
        status: text("status"),
        statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
        version: Some(version),
        conflict,
        refusal,
    });
    *response.status_mut() = status;
    Ok(response)
}
