//! The record of processing activities (Art. 30) over HTTP: JSON by default, or the same
//! record as Markdown or CSV, for the privacy officer and the auditor.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use steward_app::{FieldError, Ropa, RopaFormat};

use crate::auth::Caller;
use crate::extract::Params;
use crate::{AppState, Problem};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RopaParams {
    /// `json` (the default), `md` or `csv`.
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/ropa",
    operation_id = "ropa",
    tag = "sharing",
    params(RopaParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The record of processing: controller, purposes, categories of subjects and data, recipients, third countries with their mechanism, retention periods and security measures",
            content((Ropa = "application/json"), (String = "text/markdown"), (String = "text/csv"))),
        (status = 422, description = "Unknown format", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn ropa(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Params(p): Params<RopaParams>,
) -> Result<Response, Problem> {
    let format = match p.format.as_deref() {
        None => RopaFormat::Json,
        Some(raw) => raw
            .parse::<RopaFormat>()
            .map_err(|e| Problem::invalid(vec![FieldError::new("format", e)]))?,
    };
    let ropa = state.app.records().ropa(&actor).await?;
    if format == RopaFormat::Json {
        return Ok(Json(ropa).into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        ropa.render(format)?,
    )
        .into_response())
}
