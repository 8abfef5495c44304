//! Segments and campaigns over HTTP.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::{CampaignView, NewCampaign, NewSegment, SegmentView};

use crate::auth::{Caller, Purposed};
use crate::extract::{Body, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/segments",
    operation_id = "segments_list",
    tag = "campaigns",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every saved segment, by name", body = Vec<SegmentView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn segments(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<SegmentView>>, Problem> {
    Ok(Json(state.app.segments().list(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/segments",
    operation_id = "segments_create",
    tag = "campaigns",
    request_body = NewSegment,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Saved; evaluated whenever it is used", body = SegmentView),
        (status = 409, description = "A segment with this name exists", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_segment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<NewSegment>,
) -> Result<(StatusCode, Json<SegmentView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.segments().create(&actor, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/campaigns",
    operation_id = "campaigns_list",
    tag = "campaigns",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every campaign, newest first, with its log", body = Vec<CampaignView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn campaigns(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<CampaignView>>, Problem> {
    Ok(Json(state.app.campaigns().list(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/campaigns",
    operation_id = "campaigns_create",
    tag = "campaigns",
    request_body = NewCampaign,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A draft, to send with POST /campaigns/{id}/send", body = CampaignView),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_campaign(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<NewCampaign>,
) -> Result<(StatusCode, Json<CampaignView>), Problem> {
    let access = state.app.access(&actor, Some(&input.purpose))?;
    Ok((
        StatusCode::CREATED,
        Json(state.app.campaigns().create(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/campaigns/{id}",
    operation_id = "campaigns_read",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The campaign and its log: sent, failed, pending, unsubscribed", body = CampaignView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn campaign(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    Ok(Json(
        state.app.campaigns().get(&actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/campaigns/{id}/send",
    operation_id = "campaigns_send",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), ("X-Purpose" = Option<String>, Header, description = "The campaign's purpose; optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Queued for everyone in the audience now; the messages leave through the outbox", body = CampaignView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "Sent already, or being sent by another request", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    Ok(Json(
        state.app.campaigns().send(&access, parse_id(&id)?).await?,
    ))
}
