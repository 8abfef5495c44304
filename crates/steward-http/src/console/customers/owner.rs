//! Who looks after a customer, changed from their page: the same change a selection gets
//! from the list, for one customer.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::{AppError, Reassign};
use uuid::Uuid;

use super::record::detail_page;
use crate::AppState;
use crate::console::{ConsoleError, ConsoleForm, Refusal, Staff, parse_id};
use crate::web::see_other;

#[derive(Deserialize)]
pub struct OwnerForm {
    csrf: Option<String>,
    /// A staff account's id, or `none`.
    #[serde(default)]
    owner: String,
}

pub async fn reassign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<OwnerForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let owner = match f.owner.trim() {
        "none" | "" => Ok(None),
        raw => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| AppError::invalid("owner", "choose a staff member")),
    };
    let outcome = match owner {
        Ok(owner) => {
            state
                .app
                .customers()
                .reassign(
                    &access,
                    Reassign {
                        ids: vec![id],
                        owner,
                    },
                )
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/console/customers/{id}#owner"))),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([("owner-select".to_string(), f.owner)]);
            let refusal = Refusal::new("owner", typed, errors, [("owner-select", "owner")]);
            detail_page(&state, &staff, &access, id, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}
