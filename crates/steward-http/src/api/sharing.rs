//! The vendor register, data-sharing agreements, transfer checks and shares over HTTP, with
//! vendors' webhook endpoints and the deliveries made to them: the privacy officer keeps them,
//! the auditor reads them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use steward_app::core::sharing::{AgreementInput, ReviewInput, VendorInput};
use steward_app::{
    AdequacyTable, AffectedAgreement, AgreementView, DisclosureView, ReviewView, ShareDocument,
    ShareInput, ShareView, TransferCheck, VendorView, WebhookDeliveryView, WebhookEndpointView,
    WebhookInput, WebhookSecretShown,
};
use uuid::Uuid;

use crate::auth::{Caller, Purposed};
use crate::extract::{Body, Params, if_match, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/vendors",
    operation_id = "vendors_list",
    tag = "sharing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every vendor, with its review date and what needs attention", body = Vec<VendorView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn vendors(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<VendorView>>, Problem> {
    Ok(Json(state.app.vendors().list(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/vendors",
    operation_id = "vendors_create",
    tag = "sharing",
    request_body = VendorInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Entered in the register", body = VendorView),
        (status = 422, description = "Invalid vendor; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_vendor(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<VendorInput>,
) -> Result<(StatusCode, Json<VendorView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.vendors().create(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/vendors/{id}",
    operation_id = "vendors_get",
    tag = "sharing",
    params(("id" = String, Path, description = "Vendor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The vendor", body = VendorView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn vendor(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<VendorView>, Problem> {
    Ok(Json(state.app.vendors().get(&actor, parse_id(&id)?).await?))
}

#[utoipa::path(
    patch,
    path = "/vendors/{id}",
    operation_id = "vendors_update",
    tag = "sharing",
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the vendor as written"),
    params(("id" = String, Path, description = "Vendor id"), ("If-Match" = String, Header, description = "The version being changed, as \"N\""), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = VendorView),
        (status = 404, description = "Not found", body = Problem),
        (status = 412, description = "Changed since that version", body = Problem),
        (status = 422, description = "Invalid vendor; `errors` names the field", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update_vendor(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Value>,
) -> Result<Json<VendorView>, Problem> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    Ok(Json(
        state
            .app
            .vendors()
            .update(&access, id, &patch, Some(version))
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/vendors/{id}/reviews",
    operation_id = "vendors_review",
    tag = "sharing",
    request_body = ReviewInput,
    params(("id" = String, Path, description = "Vendor id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded beside the earlier reviews; the next review date follows from it", body = ReviewView),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid review; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn review(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<ReviewInput>,
) -> Result<(StatusCode, Json<ReviewView>), Problem> {
    let id = parse_id(&id)?;
    Ok((
        StatusCode::CREATED,
        Json(state.app.vendors().review(&access, id, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/vendors/{id}/reviews",
    operation_id = "vendors_reviews",
    tag = "sharing",
    params(("id" = String, Path, description = "Vendor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every review of the vendor, oldest first", body = Vec<ReviewView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn reviews(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReviewView>>, Problem> {
    Ok(Json(
        state.app.vendors().reviews(&actor, parse_id(&id)?).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgreementParams {
    /// Only this vendor's agreements.
    vendor_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/agreements",
    operation_id = "agreements_list",
    tag = "sharing",
    params(AgreementParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Agreements, each with whether it is in force today", body = Vec<AgreementView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn agreements(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Params(params): Params<AgreementParams>,
) -> Result<Json<Vec<AgreementView>>, Problem> {
    let vendor = params
        .vendor_id
        .as_deref()
        .map(|v| {
            Uuid::parse_str(v).map_err(|_| Problem::bad_request("vendor_id", "must be a UUID"))
        })
        .transpose()?;
    Ok(Json(state.app.agreements().list(&actor, vendor).await?))
}

#[utoipa::path(
    post,
    path = "/agreements",
    operation_id = "agreements_create",
    tag = "sharing",
    request_body = AgreementInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded; shares to the vendor are judged by it from its start", body = AgreementView),
        (status = 422, description = "Invalid agreement; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_agreement(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<AgreementInput>,
) -> Result<(StatusCode, Json<AgreementView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.agreements().create(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/agreements/{id}",
    operation_id = "agreements_get",
    tag = "sharing",
    params(("id" = String, Path, description = "Agreement id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agreement", body = AgreementView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn agreement(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<AgreementView>, Problem> {
    Ok(Json(
        state.app.agreements().get(&actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/agreements/{id}",
    operation_id = "agreements_update",
    tag = "sharing",
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the agreement as written"),
    params(("id" = String, Path, description = "Agreement id"), ("If-Match" = String, Header, description = "The version being changed, as \"N\""), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = AgreementView),
        (status = 404, description = "Not found", body = Problem),
        (status = 412, description = "Changed since that version", body = Problem),
        (status = 422, description = "Invalid agreement; `errors` names the field", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update_agreement(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Value>,
) -> Result<Json<AgreementView>, Problem> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    Ok(Json(
        state
            .app
            .agreements()
            .update(&access, id, &patch, Some(version))
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/transfers/adequacy",
    operation_id = "transfers_adequacy",
    tag = "sharing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The adequacy findings transfers are judged by, each with whether it is in force today", body = AdequacyTable),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn adequacy(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<AdequacyTable>, Problem> {
    Ok(Json(state.app.transfers().adequacy(&actor)?))
}

#[utoipa::path(
    get,
    path = "/transfers/affected-agreements",
    operation_id = "transfers_affected_agreements",
    tag = "sharing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agreements in force resting on an adequacy finding that has ended (their transfers are refused) or ends within 180 days, ended ones first", body = Vec<AffectedAgreement>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn affected_agreements(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<AffectedAgreement>>, Problem> {
    Ok(Json(
        state.app.transfers().affected_agreements(&actor).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub vendor_id: Uuid,
    /// ISO 3166-1 alpha-2 country of the customers whose data would go.
    pub residency: String,
}

#[utoipa::path(
    post,
    path = "/transfers/check",
    operation_id = "transfers_check",
    tag = "sharing",
    request_body = CheckInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Allowed: the basis for every country the data would reach", body = TransferCheck),
        (status = 404, description = "No such vendor", body = Problem),
        (status = 409, description = "Refused; `code` names the reason (e.g. NO_TRANSFER_MECHANISM) and the problem the country", body = Problem),
        (status = 422, description = "Invalid input; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<CheckInput>,
) -> Result<Json<TransferCheck>, Problem> {
    Ok(Json(
        state
            .app
            .transfers()
            .check(&actor, input.vendor_id, &input.residency)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/shares",
    operation_id = "shares_create",
    tag = "sharing",
    request_body = ShareInput,
    params(("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Shared: the agreed fields of the customers with a lawful basis; the others counted by reason", body = ShareView),
        (status = 409, description = "Refused; `code` names the reason (e.g. NO_AGREEMENT, CATEGORY_NOT_AGREED) and nothing was shared", body = Problem),
        (status = 422, description = "Invalid input; `errors` names the field", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn share(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(input): Body<ShareInput>,
) -> Result<(StatusCode, Json<ShareView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.shares().share(&access, input).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/shares/{id}",
    operation_id = "shares_get",
    tag = "sharing",
    params(("id" = String, Path, description = "Share id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The share as recorded", body = ShareView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn share_view(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<ShareView>, Problem> {
    Ok(Json(state.app.shares().get(&actor, parse_id(&id)?).await?))
}

#[utoipa::path(
    get,
    path = "/shares/{id}/download",
    operation_id = "shares_download",
    tag = "sharing",
    params(("id" = String, Path, description = "Share id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document for the vendor: JSON lines with its Ed25519 signature and the key that verifies it; customers erased since are withheld", body = ShareDocument),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<ShareDocument>, Problem> {
    Ok(Json(
        state.app.shares().download(&access, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/disclosures",
    operation_id = "customers_disclosures",
    tag = "sharing",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who received the customer's data, from which country, for what and when (Art. 15(1)(c))", body = Vec<DisclosureView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn disclosures(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<DisclosureView>>, Problem> {
    Ok(Json(
        state
            .app
            .shares()
            .disclosures(&access, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/vendors/{id}/webhook",
    operation_id = "vendors_set_webhook",
    tag = "sharing",
    request_body = WebhookInput,
    params(("id" = String, Path, description = "Vendor id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set, with a fresh signing secret shown this once (setting it again makes a new one)", body = WebhookSecretShown),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Not an https:// URL; `errors` names `url`", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn set_webhook(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<WebhookInput>,
) -> Result<Json<WebhookSecretShown>, Problem> {
    let id = parse_id(&id)?;
    Ok(Json(
        state.app.vendors().set_webhook(&access, id, input).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/vendors/{id}/webhook",
    operation_id = "vendors_webhook",
    tag = "sharing",
    params(("id" = String, Path, description = "Vendor id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The vendor's webhook endpoint; never its secret", body = WebhookEndpointView),
        (status = 404, description = "Not found, or no endpoint", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpointView>, Problem> {
    Ok(Json(
        state.app.vendors().webhook(&actor, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/vendors/{id}/webhook",
    operation_id = "vendors_remove_webhook",
    tag = "sharing",
    params(("id" = String, Path, description = "Vendor id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed; deliveries still waiting for it fail at their next attempt"),
        (status = 404, description = "Not found, or no endpoint", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn remove_webhook(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .vendors()
        .remove_webhook(&access, parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/shares/{id}/deliveries",
    operation_id = "shares_deliveries",
    tag = "sharing",
    params(("id" = String, Path, description = "Share id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The share's webhook deliveries, each with every attempt (status or error kind, duration, next try); empty for a file", body = Vec<WebhookDeliveryView>),
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
            .shares()
            .deliveries(&actor, parse_id(&id)?)
            .await?,
    ))
}
