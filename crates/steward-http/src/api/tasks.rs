//! Tasks on a customer, a staff member's open tasks, and the customer's timeline.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use steward_app::{MyTask, TaskInput, TaskView, TimelineView};

use crate::auth::Purposed;
use crate::extract::{Body, Params, parse_id, parse_id_of, parse_limit};
use crate::{AppState, Problem};

const PURPOSE: &str =
    "Purpose of this access (a catalog purpose key); optional when the token holds exactly one";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    /// How many, newest first (50 unless given).
    limit: Option<String>,
}

#[utoipa::path(
    post,
    path = "/customers/{id}/tasks",
    operation_id = "tasks_create",
    tag = "tasks",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    request_body = TaskInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Made; its title sealed under the customer's key", body = TaskView),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid input: title (1 to 200 characters), due_on (YYYY-MM-DD) or owner (a staff account)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<TaskInput>,
) -> Result<(StatusCode, Json<TaskView>), Problem> {
    let view = state
        .app
        .tasks()
        .add(&access, parse_id(&id)?, input)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/tasks",
    operation_id = "tasks_of_customer",
    tag = "tasks",
    params(("id" = String, Path, description = "Customer id"), LimitParams, ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's latest tasks, newest first", body = Vec<TaskView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn of_customer(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(p): Params<LimitParams>,
) -> Result<Json<Vec<TaskView>>, Problem> {
    let limit = parse_limit(p.limit.as_deref())?;
    Ok(Json(
        state
            .app
            .tasks()
            .list(&access, parse_id(&id)?, limit)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OwnerParams {
    /// `me` (the signed-in staff member) or a staff account's id.
    owner: String,
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/tasks",
    operation_id = "tasks_of_owner",
    tag = "tasks",
    params(OwnerParams, ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The owner's open tasks, soonest due first (so overdue ones lead), undated last, each with its customer's name", body = Vec<MyTask>),
        (status = 422, description = "owner=me asked with a token, which owns no tasks", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn of_owner(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Params(p): Params<OwnerParams>,
) -> Result<Json<Vec<MyTask>>, Problem> {
    let limit = parse_limit(p.limit.as_deref())?;
    let tasks = state.app.tasks();
    Ok(Json(match p.owner.as_str() {
        "me" => tasks.mine(&access, limit).await?,
        other => {
            tasks
                .owned_by(&access, parse_id_of("owner", other)?, limit)
                .await?
        }
    }))
}

#[utoipa::path(
    post,
    path = "/tasks/{id}/done",
    operation_id = "tasks_done",
    tag = "tasks",
    params(("id" = String, Path, description = "Task id"), ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done, with who and when", body = TaskView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "Done already", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn done(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, Problem> {
    Ok(Json(
        state.app.tasks().complete(&access, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/tasks/{id}/reopen",
    operation_id = "tasks_reopen",
    tag = "tasks",
    params(("id" = String, Path, description = "Task id"), ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open again", body = TaskView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "Open already", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn reopen(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, Problem> {
    Ok(Json(
        state.app.tasks().reopen(&access, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/timeline",
    operation_id = "customers_timeline",
    tag = "tasks",
    params(("id" = String, Path, description = "Customer id"), LimitParams, ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Interactions, consent changes, requests, tasks and accesses, newest first, at most 200", body = TimelineView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(p): Params<LimitParams>,
) -> Result<Json<TimelineView>, Problem> {
    let limit = parse_limit(p.limit.as_deref())?;
    Ok(Json(
        state
            .app
            .timeline()
            .of(&access, parse_id(&id)?, limit)
            .await?,
    ))
}
