//! Erasing a customer: a page that shows what goes, then the erasure itself.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::AppError;

use crate::AppState;
use crate::console::{Chrome, ConsoleError, ConsoleForm, Staff, parse_id};
use crate::web::{render, see_other};

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
    if !staff.actor.role().may_erase() {
        return Err(AppError::Forbidden(format!(
            "role {} may not erase customers",
            staff.actor.role()
        ))
        .into());
    }
    let view = state.app.customers().get(&access, parse_id(&id)?).await?;
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
    state.app.rights().erase(&access, parse_id(&id)?).await?;
    Ok(see_other("/console/customers?erased=1"))
}
