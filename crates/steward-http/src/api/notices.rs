//! Privacy notices over HTTP: drafts, publishing, and every version for staff.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::{NoticeInput, NoticeView};

use crate::auth::Caller;
use crate::extract::{Body, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/notices",
    operation_id = "notices_list",
    tag = "consent",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every version, drafts included, newest first, each summary with its readability", body = Vec<NoticeView>),
        (status = 401, description = "No valid token", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(_): Caller,
) -> Result<Json<Vec<NoticeView>>, Problem> {
    Ok(Json(state.app.notices().list().await?))
}

#[utoipa::path(
    post,
    path = "/notices",
    operation_id = "notices_create",
    tag = "consent",
    request_body = NoticeInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new draft", body = NoticeView),
        (status = 409, description = "That version exists", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<NoticeInput>,
) -> Result<(StatusCode, Json<NoticeView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.notices().create(&actor, input).await?),
    ))
}

#[utoipa::path(
    post,
    path = "/notices/{id}/publish",
    operation_id = "notices_publish",
    tag = "consent",
    params(("id" = String, Path, description = "Notice id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Published; it cannot change from now on", body = NoticeView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden, or already published", body = Problem),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<NoticeView>, Problem> {
    Ok(Json(
        state.app.notices().publish(&actor, parse_id(&id)?).await?,
    ))
}
