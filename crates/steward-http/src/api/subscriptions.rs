//! Integrations' webhook subscriptions over HTTP: the administrator and the privacy officer
//! keep them, the auditor reads them and their deliveries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::{
    SubscriptionInput, SubscriptionPatch, SubscriptionShown, SubscriptionView, WebhookDeliveryView,
};

use crate::auth::Caller;
use crate::extract::{Body, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/webhooks/subscriptions",
    operation_id = "webhook_subscriptions_list",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every subscription; never a secret", body = Vec<SubscriptionView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<SubscriptionView>>, Problem> {
    Ok(Json(state.app.webhooks().subscriptions(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/webhooks/subscriptions",
    operation_id = "webhook_subscriptions_create",
    tag = "webhooks",
    request_body = SubscriptionInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Made, with its signing secret shown this once", body = SubscriptionShown),
        (status = 422, description = "`errors` names `name`, `url`, `events` (or `events[i]`), `vendor_id` or `purpose`", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<SubscriptionInput>,
) -> Result<(StatusCode, Json<SubscriptionShown>), Problem> {
    let shown = state.app.webhooks().subscribe(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(shown)))
}

#[utoipa::path(
    get,
    path = "/webhooks/subscriptions/{id}",
    operation_id = "webhook_subscriptions_read",
    tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The subscription; never its secret", body = SubscriptionView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<SubscriptionView>, Problem> {
    Ok(Json(
        state
            .app
            .webhooks()
            .subscription(&actor, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/webhooks/subscriptions/{id}",
    operation_id = "webhook_subscriptions_update",
    tag = "webhooks",
    request_body = SubscriptionPatch,
    params(("id" = String, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; `active: false` pauses it (no event is queued for it), `true` resumes it", body = SubscriptionView),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "`errors` names `name`, `url` or `events`", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(patch): Body<SubscriptionPatch>,
) -> Result<Json<SubscriptionView>, Problem> {
    let id = parse_id(&id)?;
    Ok(Json(
        state
            .app
            .webhooks()
            .change_subscription(&actor, id, patch)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/webhooks/subscriptions/{id}",
    operation_id = "webhook_subscriptions_delete",
    tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; its deliveries stay on record, those still waiting fail at their next attempt"),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .webhooks()
        .unsubscribe(&actor, parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/webhooks/subscriptions/{id}/rotate-secret",
    operation_id = "webhook_subscriptions_rotate_secret",
    tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new signing secret, shown this once; the old one signs no more", body = SubscriptionShown),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<SubscriptionShown>, Problem> {
    Ok(Json(
        state
            .app
            .webhooks()
            .rotate_secret(&actor, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/webhooks/subscriptions/{id}/deliveries",
    operation_id = "webhook_subscriptions_deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "Subscription id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The latest deliveries, newest first, each with every attempt (status or error kind, duration, next try)", body = Vec<WebhookDeliveryView>),
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
            .webhooks()
            .subscription_deliveries(&actor, parse_id(&id)?)
            .await?,
    ))
}
