//! Consent on staff's word: recording what a customer said about a purpose (on the phone, in
//! a letter), their objection to direct marketing, and the signed receipt of an event.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::AppError;

use super::blank;
use super::record::detail_page;
use crate::AppState;
use crate::console::{ConsoleError, ConsoleForm, Refusal, Staff, parse_id};
use crate::web::{attachment, see_other};

const CONSENT_INPUTS: [(&str, &str); 3] = [
    ("purpose", "purpose"),
    ("state", "state"),
    ("notice_version", "notice_version"),
];

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
        .consent()
        .record(&access, id, input, &steward_app::Evidence::default())
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
        .consent()
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
    let receipt = state.app.consent().receipt(&access, parse_id(&id)?).await?;
    Ok(attachment(
        "application/jose",
        &format!("consent-receipt-{}.jws", receipt.id),
        receipt.jws,
    ))
}
