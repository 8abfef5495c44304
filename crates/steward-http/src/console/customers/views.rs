//! The staff member's saved views of the customer list: the filters and sort shown, saved
//! under a name, and deleted again.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::{AppError, FieldError};

use super::list::{Filters, page};
use crate::AppState;
use crate::console::{ConsoleError, ConsoleForm, Refusal, Staff, parse_id};
use crate::web::see_other;

const VIEW_INPUTS: [(&str, &str); 1] = [("view-name", "name")];

#[derive(Deserialize)]
pub struct SaveForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(flatten)]
    filters: Filters,
}

/// Saves the list as shown under the name given, then shows that view.
pub async fn save(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<SaveForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let saved = state
        .app
        .customers()
        .save_view(&staff.actor, &f.name, f.filters.as_view())
        .await;
    let errors = match saved {
        Ok(view) => {
            let shown = Filters::of_view(&view.filter);
            let sort = view.filter.sort.clone().unwrap_or_default();
            return Ok(see_other(&shown.href(&sort, 1)));
        }
        Err(AppError::Invalid(errors)) => errors,
        Err(AppError::Duplicate { field }) => vec![FieldError::new(
            field,
            "you have a view with this name already",
        )],
        Err(e) => return Err(e.into()),
    };
    let typed = HashMap::from([("view-name".to_string(), f.name.clone())]);
    let refusal = Refusal::new("view", typed, errors, VIEW_INPUTS);
    page(&state, &staff, f.filters, refusal).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: Option<String>,
}

pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<DeleteForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    state
        .app
        .customers()
        .delete_view(&staff.actor, parse_id(&id)?)
        .await?;
    Ok(see_other("/console/customers"))
}
