//! Segments and campaigns over HTTP.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::{
    CampaignPreview, CampaignResults, CampaignView, NewCampaign, NewSegment, ScheduleInput,
    SegmentView,
};

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

#[utoipa::path(
    get,
    path = "/campaigns/{id}/preview",
    operation_id = "campaigns_preview",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), ("X-Purpose" = Option<String>, Header, description = "The campaign's purpose fills the preview for one customer of its audience (read and audited); another shows each merge field's name")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The message as it would be sent: subject, and plain text with its footer", body = CampaignPreview),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<CampaignPreview>, Problem> {
    Ok(Json(
        state
            .app
            .campaigns()
            .preview(&access, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/campaigns/{id}/test-send",
    operation_id = "campaigns_test_send",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), ("X-Purpose" = Option<String>, Header, description = "Any purpose the caller holds; optional when it holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued to the signed-in staff member's own address, subject marked [Test]; not counted in the campaign's results"),
        (status = 403, description = "Forbidden; NO_OWN_ADDRESS when the caller (an API token) has no address of its own", body = Problem),
        (status = 404, description = "Not found", body = Problem),
        (status = 429, description = "TEST_SEND_LIMIT: too many test sends in ten minutes; Retry-After says when", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem),
    )
)]
pub async fn test_send(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .campaigns()
        .test_send(&access, parse_id(&id)?)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    put,
    path = "/campaigns/{id}/schedule",
    operation_id = "campaigns_schedule",
    tag = "campaigns",
    request_body = ScheduleInput,
    params(("id" = String, Path, description = "Campaign id"), ("X-Purpose" = Option<String>, Header, description = "The campaign's purpose; optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Scheduled: sent when its time comes", body = CampaignView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "CAMPAIGN_NOT_DRAFT: only a draft is scheduled", body = Problem),
        (status = 422, description = "Invalid input; SCHEDULE_IN_PAST when the time is not in the future", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn schedule(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<ScheduleInput>,
) -> Result<Json<CampaignView>, Problem> {
    Ok(Json(
        state
            .app
            .campaigns()
            .schedule(&access, parse_id(&id)?, input)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/campaigns/{id}/schedule",
    operation_id = "campaigns_unschedule",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The schedule is cancelled: a draft again", body = CampaignView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "CAMPAIGN_NOT_SCHEDULED: not scheduled (it may have started sending)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn unschedule(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    Ok(Json(
        state
            .app
            .campaigns()
            .unschedule(&actor, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/campaigns/{id}/results",
    operation_id = "campaigns_results",
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts per hour (per day past three days): queued, delivered, failed, unsubscribed. Opens and clicks are not tracked", body = CampaignResults),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn results(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignResults>, Problem> {
    Ok(Json(
        state
            .app
            .campaigns()
            .results(&actor, parse_id(&id)?)
            .await?,
    ))
}
