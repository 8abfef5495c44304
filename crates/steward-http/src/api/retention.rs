//! Retention over HTTP: rules, legal holds and sweeps, for the privacy officer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::core::retention::RuleInput;
use steward_app::{HoldInput, HoldView, RulePatch, RuleView, RunView};

use crate::auth::Purposed;
use crate::extract::{Body, parse_id};
use crate::{AppState, Problem};

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// Report what would go, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[utoipa::path(
    get,
    path = "/retention/rules",
    operation_id = "retention_rules_list",
    tag = "retention",
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every rule, in force or not", body = Vec<RuleView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn rules(
    State(state): State<AppState>,
    Purposed(access): Purposed,
) -> Result<Json<Vec<RuleView>>, Problem> {
    Ok(Json(state.app.retention().rules(&access).await?))
}

#[utoipa::path(
    post,
    path = "/retention/rules",
    operation_id = "retention_rules_create",
    tag = "retention",
    request_body = RuleInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added; the sweeper carries it out from its next run", body = RuleView),
        (status = 409, description = "A rule with this key exists", body = Problem),
        (status = 422, description = "Invalid rule", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_rule(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<RuleInput>,
) -> Result<(StatusCode, Json<RuleView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.retention().create_rule(&access, input).await?),
    ))
}

#[utoipa::path(
    patch,
    path = "/retention/rules/{key}",
    operation_id = "retention_rules_update",
    tag = "retention",
    request_body = RulePatch,
    params(("key" = String, Path, description = "Rule key"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = RuleView),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid rule", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update_rule(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(key): Path<String>,
    Body(patch): Body<RulePatch>,
) -> Result<Json<RuleView>, Problem> {
    Ok(Json(
        state
            .app
            .retention()
            .update_rule(&access, &key, patch)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/legal-holds",
    operation_id = "legal_holds_list",
    tag = "retention",
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every hold, in force or not", body = Vec<HoldView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn holds(
    State(state): State<AppState>,
    Purposed(access): Purposed,
) -> Result<Json<Vec<HoldView>>, Problem> {
    Ok(Json(state.app.holds().list(&access).await?))
}

#[utoipa::path(
    post,
    path = "/legal-holds",
    operation_id = "legal_holds_create",
    tag = "retention",
    request_body = HoldInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "In force: the sweeper skips and reports what it holds", body = HoldView),
        (status = 422, description = "Invalid hold", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_hold(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<HoldInput>,
) -> Result<(StatusCode, Json<HoldView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.holds().create(&access, input).await?),
    ))
}

#[utoipa::path(
    delete,
    path = "/legal-holds/{id}",
    operation_id = "legal_holds_release",
    tag = "retention",
    params(("id" = String, Path, description = "Hold id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Released"),
        (status = 404, description = "No such hold in force", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn release_hold(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.holds().release(&access, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/retention/runs",
    operation_id = "retention_runs_start",
    tag = "retention",
    request_body = RunInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Started; follow it with GET /retention/runs/{id}", body = RunView),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn start_run(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<RunInput>,
) -> Result<(StatusCode, Json<RunView>), Problem> {
    let run = state
        .app
        .retention()
        .start_run(&access, input.dry_run)
        .await?;
    let (worker, id) = (state.clone(), run.id);
    tokio::spawn(async move {
        // A failure is logged and recorded on the run by the use case.
        let _ = worker
            .app
            .retention()
            .run(id, |_| std::ops::ControlFlow::Continue(()), |_| {})
            .await;
    });
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(
    get,
    path = "/retention/runs/{id}",
    operation_id = "retention_runs_read",
    tag = "retention",
    params(("id" = String, Path, description = "Run id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run and its report: per rule what went and what was held, and the items by rule, anchor and due date (ids only)", body = RunView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(
        state
            .app
            .retention()
            .get_run(&access, parse_id(&id)?)
            .await?,
    ))
}
