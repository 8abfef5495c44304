//! The breach register over HTTP: the privacy officer opens and writes breaches, appends their
//! phases, ticks off the plan's steps and tells customers; the auditor reads.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use steward_app::core::breach::{BreachInput, BreachPlan, ScopeQuery, StepKind};
use steward_app::{
    BreachScope, BreachView, CustomerNoticeRun, FieldError, PhaseInput, PhaseView, StepUpdate,
};

use crate::auth::{Caller, Purposed};
use crate::extract::{Body, if_match, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/breaches",
    operation_id = "breaches_list",
    tag = "breaches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every breach, newest first, with where its 72-hour clock stands", body = Vec<BreachView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<BreachView>>, Problem> {
    Ok(Json(state.app.breaches().list(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/breaches",
    operation_id = "breaches_open",
    tag = "breaches",
    request_body = BreachInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened, with the response plan's steps as its checklist; the response team is mailed", body = BreachView),
        (status = 409, description = "No response plan (`NO_BREACH_PLAN`)", body = Problem),
        (status = 422, description = "Invalid breach; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<BreachInput>,
) -> Result<(StatusCode, Json<BreachView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.breaches().open(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/breaches/{id}",
    operation_id = "breaches_get",
    tag = "breaches",
    params(("id" = String, Path, description = "Breach id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The breach", body = BreachView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<BreachView>, Problem> {
    Ok(Json(
        state.app.breaches().get(&actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/breaches/{id}",
    operation_id = "breaches_update",
    tag = "breaches",
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the breach as written"),
    params(("id" = String, Path, description = "Breach id"), ("If-Match" = String, Header, description = "The version being changed, as \"N\""), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; the change is audited", body = BreachView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "Refused by the register, e.g. a closed breach (`BREACH_CLOSED`) or the encryption exemption without it holding (`ENCRYPTION_EXEMPTION_UNAVAILABLE`)", body = Problem),
        (status = 412, description = "Changed meanwhile", body = Problem),
        (status = 422, description = "Invalid change; `errors` names the field (a notification after 72 hours without `authority.delay_reason`)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Value>,
) -> Result<Json<BreachView>, Problem> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    Ok(Json(
        state
            .app
            .breaches()
            .update(&access, id, &patch, Some(version))
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/breaches/{id}/phases",
    operation_id = "breaches_add_phase",
    tag = "breaches",
    request_body = PhaseInput,
    params(("id" = String, Path, description = "Breach id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Appended after the earlier phases, which stay as they were", body = PhaseView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "The breach is closed (`BREACH_CLOSED`)", body = Problem),
        (status = 422, description = "Invalid phase", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn add_phase(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<PhaseInput>,
) -> Result<(StatusCode, Json<PhaseView>), Problem> {
    let id = parse_id(&id)?;
    Ok((
        StatusCode::CREATED,
        Json(state.app.breaches().add_phase(&access, id, input).await?),
    ))
}

#[utoipa::path(
    post,
    path = "/breaches/{id}/steps/{step}",
    operation_id = "breaches_step",
    tag = "breaches",
    request_body = StepUpdate,
    params(("id" = String, Path, description = "Breach id"), ("step" = StepKind, Path, description = "A step of the response plan"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The step marked done or not done", body = BreachView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "The breach is closed (`BREACH_CLOSED`)", body = Problem),
        (status = 422, description = "Unknown step", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn step(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path((id, step)): Path<(String, String)>,
    Body(update): Body<StepUpdate>,
) -> Result<Json<BreachView>, Problem> {
    let id = parse_id(&id)?;
    let step: StepKind = step
        .parse()
        .map_err(|e: String| Problem::invalid(vec![FieldError::new("step", e)]))?;
    Ok(Json(
        state.app.breaches().step(&access, id, step, update).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/breaches/{id}/scope",
    operation_id = "breaches_scope",
    tag = "breaches",
    request_body = ScopeQuery,
    params(("id" = String, Path, description = "Breach id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whom the audit log says the breach reached in the window, by the selected accounts, tokens, actions, fields or vendor; the customers are attached to the breach by pseudonymous id", body = BreachScope),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "The breach is closed (`BREACH_CLOSED`)", body = Problem),
        (status = 422, description = "Invalid query; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn scope(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(query): Body<ScopeQuery>,
) -> Result<Json<BreachScope>, Problem> {
    let id = parse_id(&id)?;
    Ok(Json(state.app.breaches().scope(&access, id, query).await?))
}

#[utoipa::path(
    get,
    path = "/breaches/{id}/authority-notice",
    operation_id = "breaches_authority_notice",
    tag = "breaches",
    params(("id" = String, Path, description = "Breach id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notification for the supervisory authority (Art. 33(3)), written from the register", content_type = "text/markdown", body = String),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn authority_notice(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let md = state
        .app
        .breaches()
        .authority_notice(&actor, parse_id(&id)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeRunInput {
    /// Count whom the notices would reach and show their text, sending nothing.
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/breaches/{id}/customer-notices",
    operation_id = "breaches_customer_notices",
    tag = "breaches",
    request_body = NoticeRunInput,
    params(("id" = String, Path, description = "Breach id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One message per affected customer not told before, queued (or counted in a dry run)", body = CustomerNoticeRun),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "No decision to tell customers (`CUSTOMERS_NOT_TO_BE_TOLD`), or nobody attached (`NO_AFFECTED_CUSTOMERS`)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn customer_notices(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<NoticeRunInput>,
) -> Result<Json<CustomerNoticeRun>, Problem> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .app
            .breaches()
            .notify_customers(&access, id, input.dry_run)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/breach-plan",
    operation_id = "breaches_plan",
    tag = "breaches",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The response plan prepared in advance", body = BreachPlan),
        (status = 404, description = "No plan is configured", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<BreachPlan>, Problem> {
    let plan = state.app.breaches().plan(&actor)?;
    Ok(Json(plan.ok_or(steward_app::AppError::NotFound)?))
}
