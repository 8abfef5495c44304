//! Audiences over HTTP: how many customers a consent-based purpose may reach right now.

use axum::Json;
use axum::extract::State;
use steward_app::{AudienceQuery, AudienceSummary};

use crate::auth::Caller;
use crate::extract::Body;
use crate::{AppState, Problem};

#[utoipa::path(
    post,
    path = "/audiences",
    tag = "consent",
    request_body = AudienceQuery,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The audience: customers whose consent to the purpose is given and unexpired now, not restricted or closed", body = AudienceSummary),
        (status = 422, description = "Invalid filter", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn evaluate(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Body(query): Body<AudienceQuery>,
) -> Result<Json<AudienceSummary>, Problem> {
    let access = app.access(&actor, Some(&query.purpose))?;
    Ok(Json(app.audience(&access, &query).await?))
}
