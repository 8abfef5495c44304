//! The request desk over HTTP: data-subject requests, their deadlines and outcomes, and a
//! person's complete export for answering them. Handled under `essential.legal_obligation`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use steward_app::{
    AppError, ExportScope, ReasonInput, RecipientUpdateView, RequestInput, RequestQuery,
    RequestReport, RequestView, SubjectFormat,
};

use crate::auth::Purposed;
use crate::extract::{Body, Params, parse_id, parse_id_of};
use crate::{AppState, Problem};

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only requests not yet completed or denied, soonest due first.
    #[serde(default)]
    pub open: Option<bool>,
    /// Only open requests due within this many days, overdue ones included.
    #[serde(default)]
    pub due_within_days: Option<u32>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (the default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// `access` (the default): every profile attribute, each labelled with its source; or
    /// `portability`: what the customer declared and what was observed, nothing inferred.
    #[serde(default)]
    pub scope: Option<String>,
}

#[utoipa::path(
    get,
    path = "/requests",
    operation_id = "requests_list",
    tag = "requests",
    params(ListParams, ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Requests, newest first (open ones soonest due first)", body = Vec<RequestView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Params(params): Params<ListParams>,
) -> Result<Json<Vec<RequestView>>, Problem> {
    let query = RequestQuery {
        open: params.open.unwrap_or(false),
        due_within_days: params.due_within_days,
        customer_id: params
            .customer_id
            .as_deref()
            .map(|raw| parse_id_of("customer_id", raw))
            .transpose()?,
        limit: params.limit,
    };
    Ok(Json(state.app.requests().list(&access, &query).await?))
}

#[utoipa::path(
    post,
    path = "/requests",
    operation_id = "requests_create",
    tag = "requests",
    request_body = RequestInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Logged with its deadlines; acknowledged to the customer by email when one is known", body = RequestView),
        (status = 409, description = "An open request of this kind from this person exists", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<RequestInput>,
) -> Result<(StatusCode, Json<RequestView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.requests().create(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/requests/report",
    operation_id = "requests_report",
    tag = "requests",
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Requests of the last twelve months by kind and outcome, with the median days to close", body = RequestReport),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Purposed(access): Purposed,
) -> Result<Json<RequestReport>, Problem> {
    Ok(Json(state.app.requests().report(&access).await?))
}

#[utoipa::path(
    get,
    path = "/requests/{id}",
    operation_id = "requests_read",
    tag = "requests",
    params(("id" = String, Path, description = "Request id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, Problem> {
    Ok(Json(
        state.app.requests().get(&access, parse_id(&id)?).await?,
    ))
}

macro_rules! step {
    ($name:ident, $op:literal, $path:literal, $doc:literal, $call:ident) => {
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $op,
            tag = "requests",
            params(("id" = String, Path, description = "Request id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
            security(("bearer" = [])),
            responses(
                (status = 200, description = $doc, body = RequestView),
                (status = 404, description = "Not found", body = Problem),
                (status = 409, description = "The request is in a state this step does not follow", body = Problem),
                (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Purposed(access): Purposed,
            Path(id): Path<String>,
        ) -> Result<Json<RequestView>, Problem> {
            Ok(Json(state.app.requests().$call(&access, parse_id(&id)?).await?))
        }
    };
}

macro_rules! reasoned_step {
    ($name:ident, $op:literal, $path:literal, $doc:literal, $call:ident) => {
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $op,
            tag = "requests",
            request_body = ReasonInput,
            params(("id" = String, Path, description = "Request id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
            security(("bearer" = [])),
            responses(
                (status = 200, description = $doc, body = RequestView),
                (status = 404, description = "Not found", body = Problem),
                (status = 409, description = "The request is in a state this step does not follow", body = Problem),
                (status = 422, description = "Invalid input", body = Problem),
                (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Purposed(access): Purposed,
            Path(id): Path<String>,
            Body(input): Body<ReasonInput>,
        ) -> Result<Json<RequestView>, Problem> {
            Ok(Json(state.app.requests().$call(&access, parse_id(&id)?, &input).await?))
        }
    };
}

step!(
    verify,
    "requests_verify",
    "/requests/{id}/verify",
    "The requester's identity is confirmed",
    verify
);
step!(
    start,
    "requests_start",
    "/requests/{id}/start",
    "Work on the request has started",
    start
);
step!(
    complete,
    "requests_complete",
    "/requests/{id}/complete",
    "Completed and the requester told; an erasure erases the customer (409 ERASURE_LEGAL_HOLD while a legal hold covers them: deny the request with that reason) and a restriction restricts them",
    complete
);
reasoned_step!(
    extend,
    "requests_extend",
    "/requests/{id}/extend",
    "Extended as far as the law allows; the reason is sent to the requester",
    extend
);
reasoned_step!(
    deny,
    "requests_deny",
    "/requests/{id}/deny",
    "Denied; the reason is sent to the requester",
    deny
);

#[utoipa::path(
    get,
    path = "/customers/{id}/export",
    operation_id = "customers_export",
    tag = "requests",
    params(("id" = String, Path, description = "Customer id"), ExportParams, ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Everything held about the customer, streamed: every value with its purposes, consents and their history, requests, access history, profile attributes labelled with their source (none inferred for portability) and every interaction", content_type = "application/json"),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid scope", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(params): Params<ExportParams>,
) -> Result<Response, Problem> {
    let format = params
        .format
        .as_deref()
        .unwrap_or("json")
        .parse::<SubjectFormat>()
        .map_err(|m| Problem::bad_request("format", &m))?;
    let scope = params
        .scope
        .as_deref()
        .map_or(Ok(ExportScope::Access), str::parse::<ExportScope>)
        .map_err(|m| AppError::invalid("scope", m))?;
    let export = state
        .app
        .rights()
        .start_scoped_export(&access, parse_id(&id)?, format, scope)
        .await?;
    Ok(crate::streaming::subject_export(state, export, format))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/recipient-updates",
    operation_id = "recipient_updates_list",
    tag = "requests",
    params(("id" = String, Path, description = "Customer id, also of an erased customer"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each erasure, rectification and restriction, for telling the recipients of the data (Art. 19)", body = Vec<RecipientUpdateView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn recipient_updates(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<RecipientUpdateView>>, Problem> {
    Ok(Json(
        state
            .app
            .requests()
            .recipient_updates(&access, parse_id(&id)?)
            .await?,
    ))
}
