//! Personalization over HTTP: staff set the level a customer asked for, the privacy officer
//! reads and corrects the profile, marketing reads recommendations and keeps the offers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use steward_app::core::personalization::Offer;
use steward_app::{AttributeView, FieldError, LevelInput, LevelView, OfferView, Recommendations};

use crate::auth::{Caller, Purposed};
use crate::extract::{Body, Params, parse_id};
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/customers/{id}/personalization",
    operation_id = "personalization_level",
    tag = "personalization",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "The purpose of the read")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's level and its history", body = LevelView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn level(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<LevelView>, Problem> {
    Ok(Json(
        state
            .app
            .personalization()
            .level(&access, parse_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/customers/{id}/personalization",
    operation_id = "personalization_set_level",
    tag = "personalization",
    request_body = LevelInput,
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "The purpose of the change")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set as the customer asked; the change is audited", body = LevelView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "Full needs the customer's own profiling consent (`CONSENT_REQUIRED`)", body = Problem),
        (status = 422, description = "Invalid level", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this personalization was upheld", body = Problem),
    )
)]
pub async fn set_level(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<LevelInput>,
) -> Result<Json<LevelView>, Problem> {
    Ok(Json(
        state
            .app
            .personalization()
            .set_level(&access, parse_id(&id)?, input)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendParams {
    /// How many offers, 1 to the most the service shows
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/customers/{id}/recommendations",
    operation_id = "personalization_recommend",
    tag = "personalization",
    params(("id" = String, Path, description = "Customer id"), RecommendParams, ("X-Purpose" = Option<String>, Header, description = "personalize.content.limited or personalize.content.profiled")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Offers with why each is shown; `personalized: false` when the customer chose off. The read is audited with the attributes it used", body = Recommendations),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid `limit`", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this personalization was upheld", body = Problem),
    )
)]
pub async fn recommend(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(p): Params<RecommendParams>,
) -> Result<Json<Recommendations>, Problem> {
    let id = parse_id(&id)?;
    // The range is the use case's to check; here only that it is a number at all.
    let limit = p
        .limit
        .map(|l| {
            l.parse::<usize>().map_err(|_| {
                Problem::invalid(vec![FieldError::new("limit", "must be a whole number")])
            })
        })
        .transpose()?;
    Ok(Json(
        state
            .app
            .personalization()
            .recommend(&access, id, limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/attributes",
    operation_id = "personalization_attributes",
    tag = "personalization",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every attribute kept, declared and derived, each labelled with its source; the read is audited", body = Vec<AttributeView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn attributes(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttributeView>>, Problem> {
    Ok(Json(
        state
            .app
            .personalization()
            .attributes(&access, parse_id(&id)?)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeInput {
    /// The values the customer declared
    values: Vec<String>,
}

#[utoipa::path(
    put,
    path = "/customers/{id}/attributes/{key}",
    operation_id = "personalization_put_attribute",
    tag = "personalization",
    request_body = AttributeInput,
    params(("id" = String, Path, description = "Customer id"), ("key" = String, Path, description = "A declared attribute's key"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Set as the customer declared it"),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Not a declared attribute, or a value it does not take", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn put_attribute(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path((id, key)): Path<(String, String)>,
    Body(input): Body<AttributeInput>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .personalization()
        .put_attribute(&access, parse_id(&id)?, &key, input.values)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/customers/{id}/attributes/{key}",
    operation_id = "personalization_delete_attribute",
    tag = "personalization",
    params(("id" = String, Path, description = "Customer id"), ("key" = String, Path, description = "Attribute key"), ("X-Purpose" = Option<String>, Header, description = "essential.legal_obligation")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; one that was derived is not derived again"),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Not an attribute", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn delete_attribute(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .personalization()
        .delete_attribute(&access, parse_id(&id)?, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/offers",
    operation_id = "offers_list",
    tag = "personalization",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every offer by key, retired ones included", body = Vec<OfferView>),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn offers(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<OfferView>>, Problem> {
    Ok(Json(state.app.personalization().offers(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/offers",
    operation_id = "offers_create",
    tag = "personalization",
    request_body = Offer,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added; shown from now on to the customers it suits", body = OfferView),
        (status = 409, description = "An offer with this key exists", body = Problem),
        (status = 422, description = "Invalid offer", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_offer(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(offer): Body<Offer>,
) -> Result<(StatusCode, Json<OfferView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .app
                .personalization()
                .create_offer(&actor, offer)
                .await?,
        ),
    ))
}

#[utoipa::path(
    delete,
    path = "/offers/{key}",
    operation_id = "offers_retire",
    tag = "personalization",
    params(("key" = String, Path, description = "Offer key")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Retired: no longer shown, still listed", body = OfferView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn retire_offer(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(key): Path<String>,
) -> Result<Json<OfferView>, Problem> {
    Ok(Json(
        state
            .app
            .personalization()
            .retire_offer(&actor, &key)
            .await?,
    ))
}
