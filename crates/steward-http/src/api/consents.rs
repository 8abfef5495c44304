//! The consent ledger over HTTP: what a customer has said about each consent-based purpose,
//! the history behind it, and recording a new decision.

use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use steward_app::{ConsentEventView, ConsentInput, ConsentStatus, Receipt, ReceiptCheck};

use crate::auth::{Caller, Purposed};
use crate::evidence::evidence;
use crate::extract::{Body, parse_id};
use crate::tls::ClientAddr;
use crate::web::Gpc;
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/customers/{id}/consents",
    operation_id = "consents_read",
    tag = "consent",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every consent-based purpose and where the customer stands; no event means not given", body = Vec<ConsentStatus>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn current(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConsentStatus>>, Problem> {
    Ok(Json(
        state.app.consent().current(&access, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/consents/history",
    operation_id = "consents_history",
    tag = "consent",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every consent event, oldest first", body = Vec<ConsentEventView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConsentEventView>>, Problem> {
    Ok(Json(
        state.app.consent().history(&access, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/customers/{id}/consents",
    operation_id = "consents_record",
    tag = "consent",
    params(("id" = String, Path, description = "Customer id"), ("Sec-GPC" = Option<String>, Header, description = "1 when the customer's browser sends Global Privacy Control: sale, sharing and third-party advertising are withdrawn first"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = ConsentInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded in the ledger, with the event's signed receipt", body = ConsentEventView),
        (status = 404, description = "Not found", body = Problem),
        (status = 412, description = "The customer changed while a withdrawal erased fields; send it again", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    Gpc(gpc): Gpc,
    headers: HeaderMap,
    Body(input): Body<ConsentInput>,
) -> Result<(StatusCode, Json<ConsentEventView>), Problem> {
    let customer = parse_id(&id)?;
    let evidence = evidence(client, &headers);
    // A Global Privacy Control signal withdraws sale, sharing and third-party advertising in
    // the same commit; an explicit decision in the request then stands on its own.
    let event = state
        .app
        .consent()
        .record_with_receipt(&access, customer, input, &evidence, gpc)
        .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// What the customer objects to.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    /// `direct_marketing` (GDPR Art. 21(2)): absolute and immediate; it also ends profiling
    /// for marketing (`personalize.content.profiled`).
    to: String,
}

#[utoipa::path(
    post,
    path = "/customers/{id}/objections",
    operation_id = "objections_record",
    tag = "consent",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = ObjectionBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded: every marketing consent and the profiling consent (`personalize.content.profiled`) withdrawn, every such purpose never asked about refused, all with method `objection`", body = Vec<ConsentEventView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn object(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    Body(body): Body<ObjectionBody>,
) -> Result<(StatusCode, Json<Vec<ConsentEventView>>), Problem> {
    let customer = parse_id(&id)?;
    if body.to != "direct_marketing" {
        return Err(steward_app::AppError::invalid(
            "to",
            "must be direct_marketing; objections to other processing are decided by staff",
        )
        .into());
    }
    let events = state
        .app
        .consent()
        .object_to_direct_marketing(&access, customer, &evidence(client, &headers))
        .await?;
    Ok((StatusCode::CREATED, Json(events)))
}

#[utoipa::path(
    get,
    path = "/receipts/{id}",
    operation_id = "receipts_read",
    tag = "consent",
    params(("id" = String, Path, description = "Consent event id (the receipt's consentReceiptID)"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed consent receipt (Kantara CR v1.1 as a compact JWS, EdDSA)", body = Receipt),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn receipt(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, Problem> {
    Ok(Json(
        state.app.consent().receipt(&access, parse_id(&id)?).await?,
    ))
}

/// A receipt to check.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The compact JWS.
    receipt: String,
}

#[utoipa::path(
    post,
    path = "/receipts/verify",
    operation_id = "receipts_verify",
    tag = "consent",
    request_body = VerifyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verdict: signature and agreement with the ledger, or with the proof kept once the customer was erased", body = ReceiptCheck),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Caller(_): Caller,
    Body(body): Body<VerifyBody>,
) -> Result<Json<ReceiptCheck>, Problem> {
    if body.receipt.len() > MAX_RECEIPT {
        return Err(Problem::invalid(vec![steward_app::FieldError::new(
            "receipt",
            format!("is longer than {MAX_RECEIPT} characters"),
        )]));
    }
    Ok(Json(
        state.app.consent().verify_receipt(&body.receipt).await?,
    ))
}

const MAX_RECEIPT: usize = 64 * 1024;
