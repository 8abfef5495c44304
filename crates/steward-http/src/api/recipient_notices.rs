//! Art. 19 notices over HTTP: the privacy officer lists the recipients still to be told of a
//! customer's erasure, rectification or restriction and records how telling each went; the
//! auditor reads them, and the webhook delivery of a notice to a vendor with an endpoint.

use axum::Json;
use axum::extract::{Path, State};
use steward_app::{NoticeQuery, NoticeStatus, RecipientNoticeView, WebhookDeliveryView};

use crate::auth::{Caller, Purposed};
use crate::extract::{Body, Params, parse_id};
use crate::{AppState, Problem};

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticeParams {
    /// Only notices in this status: `pending`, `sent`, `acknowledged`, `failed` or `impossible`.
    status: Option<String>,
    /// Only notices still to be sent whose due date has passed, soonest due first.
    overdue: Option<bool>,
    /// At most this many (1 to 500; 500 by default).
    limit: Option<usize>,
}

/// How telling a recipient went.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeMark {
    /// `sent`, `acknowledged`, `failed` or `impossible`.
    status: NoticeStatus,
    /// Why it failed, or why telling the recipient is impossible (needed then). Never a
    /// personal value.
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(
    get,
    path = "/recipient-notices",
    operation_id = "recipient_notices_list",
    tag = "sharing",
    params(NoticeParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notices to recipients, newest first (overdue ones soonest due first)", body = Vec<RecipientNoticeView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Params(params): Params<NoticeParams>,
) -> Result<Json<Vec<RecipientNoticeView>>, Problem> {
    let status = params
        .status
        .as_deref()
        .map(|s| {
            NoticeStatus::parse(s).ok_or_else(|| {
                Problem::bad_request(
                    "status",
                    "must be pending, sent, acknowledged, failed or impossible",
                )
            })
        })
        .transpose()?;
    let query = NoticeQuery {
        status,
        overdue: params.overdue.unwrap_or(false),
        limit: params.limit,
    };
    Ok(Json(
        state.app.recipient_notices().list(&actor, &query).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/recipient-notices",
    operation_id = "customers_recipient_notices",
    tag = "sharing",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The recipients told, or to be told, of the customer's erasure, rectification or restriction (Art. 19), oldest first", body = Vec<RecipientNoticeView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn of_customer(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<RecipientNoticeView>>, Problem> {
    Ok(Json(
        state
            .app
            .recipient_notices()
            .of_customer(&access, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/recipient-notices/{id}/status",
    operation_id = "recipient_notices_mark",
    tag = "sharing",
    request_body = NoticeMark,
    params(("id" = String, Path, description = "Notice id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notice as it now stands", body = RecipientNoticeView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "The notice's status does not allow this move (`TRANSITION_NOT_ALLOWED`), or it moved on meanwhile", body = Problem),
        (status = 422, description = "Invalid input; `errors` names the field (a reason is needed for `impossible`)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn mark(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<NoticeMark>,
) -> Result<Json<RecipientNoticeView>, Problem> {
    Ok(Json(
        state
            .app
            .recipient_notices()
            .mark(
                &access,
                parse_id(&id)?,
                input.status,
                input.reason.as_deref(),
            )
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/recipient-notices/{id}/deliveries",
    operation_id = "recipient_notices_deliveries",
    tag = "sharing",
    params(("id" = String, Path, description = "Notice id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notice's webhook delivery with every attempt (status or error kind, duration, next try); empty for a recipient without an endpoint, told by hand", body = Vec<WebhookDeliveryView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<WebhookDeliveryView>>, Problem> {
    Ok(Json(
        state
            .app
            .recipient_notices()
            .deliveries(&actor, parse_id(&id)?)
            .await?,
    ))
}
