//! Customers in the console: find, open, create, edit, record interactions, erase. Searches
//! by email or phone go in a form body, so no personal value ever lands in a URL, a log line
//! or the browser's history.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use steward_app::core::catalog::FieldKind;
use steward_app::core::customer::{CustomerStatus, InteractionKind};
use steward_app::{
    Access, AppError, CustomerInput, CustomerPatch, CustomerQuery, CustomerView, FieldError,
    InteractionInput,
};
use uuid::Uuid;

use super::{
    Chrome, ConsoleError, ConsoleForm, Refusal, Staff, day_start, encode, parse_id,
    readable as when,
};
use crate::AppState;
use crate::web::{render, render_checked, see_other};

fn day_bound(
    field: &str,
    raw: &str,
    end: bool,
    errors: &mut Vec<FieldError>,
) -> Option<jiff::Timestamp> {
    day_start(raw, end)
        .map_err(|m| errors.push(FieldError::new(field, m)))
        .ok()
        .flatten()
}

struct Row {
    id: String,
    name: String,
    email: String,
    residency: String,
    status: String,
    tags: String,
    updated: String,
}

impl Row {
    fn of(v: &CustomerView) -> Row {
        let get = |k: &str| v.fields.get(k).map(String::as_str).unwrap_or("");
        let name = format!("{} {}", get("given_name"), get("family_name"))
            .trim()
            .to_string();
        Row {
            id: v.id.to_string(),
            name: if name.is_empty() { "—".into() } else { name },
            email: get("email").to_string(),
            residency: v.residency.clone(),
            status: v.status.clone(),
            tags: v.tags.join(", "),
            updated: when(v.updated_at),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    tag: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    residency: String,
    #[serde(default)]
    created_after: String,
    #[serde(default)]
    created_before: String,
    cursor: Option<String>,
    erased: Option<String>,
}

#[derive(Template)]
#[template(path = "console/customers.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    filters: Filters,
    statuses: Vec<&'static str>,
    next: Option<String>,
    searched: bool,
    search_email: String,
    search_phone: String,
    refusal: Refusal,
    notice: Option<&'static str>,
}

const FILTER_INPUTS: [(&str, &str); 5] = [
    ("tag", "tag"),
    ("status", "status"),
    ("residency", "residency"),
    ("created_after", "created_after"),
    ("created_before", "created_before"),
];
const SEARCH_INPUTS: [(&str, &str); 2] = [("email", "email"), ("phone", "phone")];

fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(filters): Query<Filters>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let mut errors = Vec::new();
    let query = CustomerQuery {
        tag: blank(&filters.tag),
        status: blank(&filters.status),
        residency: blank(&filters.residency).map(|r| r.to_uppercase()),
        created_after: day_bound("created_after", &filters.created_after, false, &mut errors),
        created_before: day_bound("created_before", &filters.created_before, true, &mut errors),
        cursor: filters.cursor.clone(),
        limit: Some(25),
        ..Default::default()
    };
    let (rows, next) = if errors.is_empty() {
        match state.app.list_customers(&access, query).await {
            Ok(page) => {
                let next = page.next_cursor.map(|c| {
                    format!(
                        "/console/customers?tag={}&status={}&residency={}&created_after={}&created_before={}&cursor={}",
                        encode(&filters.tag),
                        encode(&filters.status),
                        encode(&filters.residency),
                        encode(&filters.created_after),
                        encode(&filters.created_before),
                        encode(&c)
                    )
                });
                (page.items.iter().map(Row::of).collect(), next)
            }
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                (Vec::new(), None)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (Vec::new(), None)
    };
    let notice = filters.erased.as_ref().map(
        |_| "The customer was erased: their data key is destroyed and only a tombstone remains.",
    );
    let refusal = Refusal::new("filter", HashMap::new(), errors, FILTER_INPUTS);
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(&state, &staff, "Customers", "customers"),
            rows,
            filters,
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            next,
            searched: false,
            search_email: String::new(),
            search_phone: String::new(),
            refusal,
            notice,
        },
        has_errors,
    ))
}

#[derive(Deserialize)]
pub struct SearchForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

pub async fn search(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<SearchForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let mut errors = Vec::new();
    let (email, phone) = (blank(&f.email), blank(&f.phone));
    if email.is_none() && phone.is_none() {
        errors.push(FieldError::new(
            "email",
            "give an email address or a phone number",
        ));
    }
    let rows = if errors.is_empty() {
        let query = CustomerQuery {
            email,
            phone,
            limit: Some(25),
            ..Default::default()
        };
        match state.app.list_customers(&access, query).await {
            Ok(page) => page.items.iter().map(Row::of).collect(),
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        Vec::new()
    };
    let refusal = Refusal::new("search", HashMap::new(), errors, SEARCH_INPUTS);
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(&state, &staff, "Customers", "customers"),
            rows,
            filters: Filters::default(),
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            next: None,
            searched: true,
            search_email: f.email,
            search_phone: f.phone,
            refusal,
            notice: None,
        },
        has_errors,
    ))
}

struct Shown {
    label: String,
    category: String,
    value: Option<String>,
    masked: bool,
    multiline: bool,
}

struct Interaction {
    kind: String,
    occurred: String,
    summary: String,
    body: Option<String>,
}

struct ConsentRow {
    purpose: String,
    name: String,
    state: String,
    given: bool,
    expires: String,
}

struct ConsentEvent {
    id: String,
    at: String,
    purpose: String,
    state: String,
    method: String,
    notice: String,
}

struct History {
    at: String,
    actor: String,
    role: String,
    action: String,
    purpose: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "console/customer.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    heading: String,
    fields: Vec<Shown>,
    residency: String,
    status: String,
    tags: String,
    version: i64,
    created: String,
    updated: String,
    /// `None` when the purpose does not reach the interaction history.
    interactions: Option<Vec<Interaction>>,
    kinds: Vec<&'static str>,
    history: Vec<History>,
    may_erase: bool,
    /// The interaction or consent form, when it was sent back.
    refusal: Refusal,
    consents: Vec<ConsentRow>,
    consent_events: Vec<ConsentEvent>,
}

const INTERACTION_INPUTS: [(&str, &str); 3] =
    [("kind", "kind"), ("summary", "summary"), ("body", "body")];
const CONSENT_INPUTS: [(&str, &str); 3] = [
    ("purpose", "purpose"),
    ("state", "state"),
    ("notice_version", "notice_version"),
];

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    id: Uuid,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let view = state.app.get_customer(access, id).await?;
    let fields = state
        .app
        .catalog()
        .fields()
        .iter()
        .filter_map(|f| {
            let value = view.fields.get(&f.key).cloned();
            let masked = view.masked.contains(&f.key);
            (value.is_some() || masked).then(|| Shown {
                label: f.label.clone(),
                category: f.category.clone(),
                value,
                masked,
                multiline: f.kind == FieldKind::Multiline,
            })
        })
        .collect();
    let interactions = match state
        .app
        .list_interactions(access, id, None, Some(50))
        .await
    {
        Ok(page) => Some(
            page.items
                .into_iter()
                .map(|i| Interaction {
                    kind: i.kind.replace('_', " "),
                    occurred: when(i.occurred_at),
                    summary: i.summary,
                    body: i.body,
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let history = state
        .app
        .customer_access_history(access, id)
        .await?
        .into_iter()
        .map(|e| History {
            at: when(steward_app::core::clock::from_micros(e.record.at)),
            actor: e.record.actor,
            role: e.record.role,
            action: e.record.action,
            purpose: e.record.purpose.unwrap_or_default(),
            fields: e.record.fields.join(", "),
        })
        .collect();
    let consents = state
        .app
        .consents(access, id)
        .await?
        .into_iter()
        .map(|c| ConsentRow {
            name: state
                .app
                .catalog()
                .purpose(&c.purpose)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            state: c
                .state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "never asked (not given)".into()),
            given: c.given,
            expires: c.expires_at.map(when).unwrap_or_default(),
            purpose: c.purpose,
        })
        .collect();
    let consent_events = state
        .app
        .consent_history(access, id)
        .await?
        .into_iter()
        .rev()
        .map(|e| ConsentEvent {
            id: e.id.to_string(),
            at: when(e.at),
            purpose: e.purpose,
            state: e.state.to_string(),
            method: e.method,
            notice: e.notice_version.unwrap_or_default(),
        })
        .collect();
    let get = |k: &str| view.fields.get(k).map(String::as_str).unwrap_or("");
    let heading = format!("{} {}", get("given_name"), get("family_name"))
        .trim()
        .to_string();
    let has_errors = refusal.any();
    Ok(render_checked(
        &DetailPage {
            chrome: Chrome::new(state, staff, "Customer", "customers"),
            id: view.id.to_string(),
            heading: if heading.is_empty() {
                view.id.to_string()
            } else {
                heading
            },
            fields,
            residency: view.residency.clone(),
            status: view.status.clone(),
            tags: view.tags.join(", "),
            version: view.version,
            created: when(view.created_at),
            updated: when(view.updated_at),
            interactions,
            kinds: InteractionKind::ALL.iter().map(|k| k.as_str()).collect(),
            history,
            may_erase: staff.actor.role.may_erase(),
            refusal,
            consents,
            consent_events,
        },
        has_errors,
    ))
}

pub async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    detail_page(&state, &staff, &access, parse_id(&id)?, Refusal::none()).await
}

#[derive(Deserialize)]
pub struct InteractionForm {
    csrf: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
}

pub async fn add_interaction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<InteractionForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let input = InteractionInput {
        kind: f.kind.clone(),
        occurred_at: None,
        summary: f.summary.clone(),
        body: blank(&f.body),
    };
    match state.app.add_interaction(&access, id, input).await {
        Ok(_) => Ok(see_other(&format!("/console/customers/{id}#timeline"))),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([
                ("kind".to_string(), f.kind),
                ("summary".to_string(), f.summary),
                ("body".to_string(), f.body),
            ]);
            let refusal = Refusal::new("interaction", typed, errors, INTERACTION_INPUTS);
            detail_page(&state, &staff, &access, id, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

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
    let errors = match state.app.create_customer(&access, input).await {
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
    let view = state.app.get_customer(&access, parse_id(&id)?).await?;
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
    let (status, conflict, errors) =
        match state.app.update_customer(&access, id, patch, version).await {
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

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf: Option<String>,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    notice_version: String,
}

/// Records what the customer said (on the phone, in a letter) about a consent purpose.
pub async fn record_consent(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<ConsentForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let input = steward_app::ConsentInput {
        purpose: f.purpose.clone(),
        state: f.state.clone(),
        notice_version: blank(&f.notice_version),
        method: Some("form".into()),
        fields: Default::default(),
    };
    match state
        .app
        .record_consent(&access, id, input, &steward_app::Evidence::default())
        .await
    {
        Ok(_) => Ok(see_other(&format!("/console/customers/{id}#consent"))),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([
                ("purpose".to_string(), f.purpose),
                ("state".to_string(), f.state),
                ("notice_version".to_string(), f.notice_version),
            ]);
            let refusal = Refusal::new("consent", typed, errors, CONSENT_INPUTS);
            detail_page(&state, &staff, &access, id, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn object(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    state
        .app
        .object_to_direct_marketing(&access, id, &steward_app::Evidence::default())
        .await?;
    Ok(see_other(&format!("/console/customers/{id}#consent")))
}

/// A consent receipt as a file to keep: the compact JWS.
pub async fn receipt(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let receipt = state.app.consent_receipt(&access, parse_id(&id)?).await?;
    let disposition = format!(
        "attachment; filename=\"consent-receipt-{}.jws\"",
        receipt.id
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/jose".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        receipt.jws,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "console/erase.html")]
struct ErasePage {
    chrome: Chrome,
    id: String,
    /// Who this is, as far as the purpose lets the staff member see.
    name: String,
    email: String,
    fields: Vec<String>,
}

pub async fn erase_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    if !staff.actor.role.may_erase() {
        return Err(AppError::Forbidden(format!(
            "role {} may not erase customers",
            staff.actor.role
        ))
        .into());
    }
    let view = state.app.get_customer(&access, parse_id(&id)?).await?;
    let labels = |key: &String| {
        state
            .app
            .catalog()
            .field(key)
            .map(|f| f.label.clone())
            .unwrap_or_else(|| key.clone())
    };
    let get = |k: &str| view.fields.get(k).map(String::as_str).unwrap_or("");
    let name = format!("{} {}", get("given_name"), get("family_name"))
        .trim()
        .to_string();
    Ok(render(&ErasePage {
        chrome: Chrome::new(&state, &staff, "Erase customer", "customers"),
        id: view.id.to_string(),
        name,
        email: get("email").to_string(),
        fields: view
            .fields
            .keys()
            .chain(view.masked.iter())
            .map(labels)
            .collect(),
    }))
}

#[derive(Deserialize)]
pub struct EraseForm {
    csrf: Option<String>,
}

pub async fn erase(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<EraseForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    state.app.erase_customer(&access, parse_id(&id)?).await?;
    Ok(see_other("/console/customers?erased=1"))
}

/// A person's complete export, for answering an access request (legal-obligation purpose).
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let format = format
        .parse::<steward_app::SubjectFormat>()
        .map_err(|m| ConsoleError::App(steward_app::AppError::invalid("format", m)))?;
    let export = state
        .app
        .start_subject_export(&access, parse_id(&id)?, format)
        .await?;
    Ok(crate::streaming::subject_export(state, export, format))
}
