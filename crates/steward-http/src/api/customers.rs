use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use steward_app::{
    CustomerInput, CustomerPatch, CustomerQuery, CustomerView, InteractionInput, Outcome,
};

use crate::auth::Purposed;
use crate::extract::{
    Body, IDEMPOTENT_REPLAYED, Params, etag, idempotency_key, if_match, parse_id, parse_limit,
    parse_page, parse_time,
};
use crate::{AppState, Problem};
use steward_app::{InteractionView, Page};

fn with_etag(status: StatusCode, view: CustomerView) -> Response {
    let tag = etag(view.version);
    let location = format!("/api/v1/customers/{}", view.id);
    let mut response = (status, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location)
    {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

#[utoipa::path(
    post,
    path = "/customers",
    operation_id = "customers_create",
    tag = "customers",
    params(("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same request within 24 hours, the first answer is replayed instead of creating again"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = CustomerInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CustomerView),
        (status = 409, description = "Email already in use, or a request with this Idempotency-Key ran at the same time", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    headers: HeaderMap,
    Body(input): Body<CustomerInput>,
) -> Result<Response, Problem> {
    let outcome = match idempotency_key(&headers)? {
        Some(key) => {
            state
                .app
                .customers()
                .create_once(&access, &key, input)
                .await?
        }
        None => Outcome::Created(state.app.customers().create(&access, input).await?),
    };
    let replayed = outcome.is_replay();
    Ok(mark_replay(
        with_etag(StatusCode::CREATED, outcome.into_inner()),
        replayed,
    ))
}

fn mark_replay(mut response: Response, replayed: bool) -> Response {
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    tag: Option<String>,
    status: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    residency: Option<String>,
    /// A staff account's id, `me` (the signed-in staff member), or `none`.
    owner: Option<String>,
    /// `created`, `updated`, `last_interaction`, `residency`, `status` or `owner` (by display
    /// name); `-` first for descending. A sorted list is paged by `page` and counts its `total`.
    sort: Option<String>,
    /// A page by number, from 1, instead of the cursor.
    page: Option<String>,
}

#[utoipa::path(
    get,
    path = "/customers",
    operation_id = "customers_list",
    tag = "customers",
    params(ListParams, ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of customers", body = Page<CustomerView>),
        (status = 422, description = "Invalid filter", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Params(p): Params<ListParams>,
) -> Result<Json<steward_app::Page<CustomerView>>, Problem> {
    // Names are searched by POST only: words of a name in a URL would reach access logs.
    let query = CustomerQuery {
        name: None,
        email: p.email,
        phone: p.phone,
        tag: p.tag,
        company: None,
        status: p.status,
        created_after: parse_time("created_after", p.created_after.as_deref())?,
        created_before: parse_time("created_before", p.created_before.as_deref())?,
        updated_after: parse_time("updated_after", p.updated_after.as_deref())?,
        updated_before: parse_time("updated_before", p.updated_before.as_deref())?,
        residency: p.residency,
        owner: p.owner,
        cursor: p.cursor,
        limit: parse_limit(p.limit.as_deref())?,
        sort: p.sort,
        page: parse_page(p.page.as_deref())?,
    };
    Ok(Json(state.app.customers().list(&access, query).await?))
}

/// An exact-match search (an email, a phone, or whole words of a name): the values travel in
/// the body, never in a URL or an access log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Whole words of a given, family or company name, all of which must match.
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(
    post,
    path = "/customers/search",
    operation_id = "customers_search",
    tag = "customers",
    params(("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = SearchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Customers whose email or phone is exactly the one given, or whose name fields hold every word given", body = Page<CustomerView>),
        (status = 422, description = "Invalid search", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(b): Body<SearchBody>,
) -> Result<Json<steward_app::Page<CustomerView>>, Problem> {
    if b.name.is_none() && b.email.is_none() && b.phone.is_none() {
        return Err(Problem::invalid(vec![steward_app::FieldError::new(
            "name",
            "give words of a name, an email or a phone number to search by",
        )]));
    }
    let query = CustomerQuery {
        name: b.name,
        email: b.email,
        phone: b.phone,
        cursor: b.cursor,
        limit: b.limit,
        ..Default::default()
    };
    Ok(Json(state.app.customers().list(&access, query).await?))
}

#[utoipa::path(
    get,
    path = "/customers/{id}",
    operation_id = "customers_read",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this purpose was upheld (GDPR Art. 21)", body = Problem),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let view = state.app.customers().get(&access, parse_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[utoipa::path(
    patch,
    path = "/customers/{id}",
    operation_id = "customers_update",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("If-Match" = String, Header, description = "ETag of the version being changed"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = CustomerPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = CustomerView),
        (status = 404, description = "Not found", body = Problem),
        (status = 412, description = "Stale version", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this purpose was upheld (GDPR Art. 21)", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<CustomerPatch>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    let view = state
        .app
        .customers()
        .update(&access, id, patch, version)
        .await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[utoipa::path(
    delete,
    path = "/customers/{id}",
    operation_id = "customers_erase",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Erased"),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "ERASURE_LEGAL_HOLD: a legal hold covers the customer; nothing was erased", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.rights().erase(&access, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/customers/{id}/interactions",
    operation_id = "interactions_create",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("Idempotency-Key" = Option<String>, Header, description = "Sent again with the same request within 24 hours, the first answer is replayed instead of creating again"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = InteractionInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = InteractionView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "A request with this Idempotency-Key ran at the same time", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this purpose was upheld (GDPR Art. 21)", body = Problem),
    )
)]
pub async fn add_interaction(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(input): Body<InteractionInput>,
) -> Result<Response, Problem> {
    let customer = parse_id(&id)?;
    let outcome = match idempotency_key(&headers)? {
        Some(key) => {
            state
                .app
                .interactions()
                .add_once(&access, &key, customer, input)
                .await?
        }
        None => Outcome::Created(
            state
                .app
                .interactions()
                .add(&access, customer, input)
                .await?,
        ),
    };
    let replayed = outcome.is_replay();
    let response = (StatusCode::CREATED, Json(outcome.into_inner())).into_response();
    Ok(mark_replay(response, replayed))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/customers/{id}/interactions",
    operation_id = "interactions_list",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), PageParams, ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = Page<InteractionView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when the customer's objection to this purpose was upheld (GDPR Art. 21)", body = Problem),
    )
)]
pub async fn interactions(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(p): Params<PageParams>,
) -> Result<Json<steward_app::Page<steward_app::InteractionView>>, Problem> {
    let limit = parse_limit(p.limit.as_deref())?;
    Ok(Json(
        state
            .app
            .interactions()
            .list(&access, parse_id(&id)?, p.cursor.as_deref(), limit)
            .await?,
    ))
}

/// Which customer to merge into the one in the path, and whether only to see the outcome.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The id of the duplicate, which is erased once merged and answers with a pointer to
    /// the survivor from then on.
    merge: String,
    /// Only answer what the survivor would hold; nothing is changed.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/customers/{id}/merge",
    operation_id = "customers_merge",
    tag = "customers",
    params(("id" = String, Path, description = "The survivor's id"), ("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = MergeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Merged, or with dry_run what the survivor would hold. Fields: the survivor's value wins where it has one, the duplicate's fills its blanks. Consents: the most restrictive choice wins on each purpose", body = steward_app::MergeView),
        (status = 404, description = "Either customer not found", body = Problem),
        (status = 409, description = "MERGE_LEGAL_HOLD: a legal hold covers either customer; MERGE_OPEN_REQUEST: either has an open rights request; STALE_VERSION: either changed meanwhile", body = Problem),
        (status = 410, description = "CUSTOMER_MERGED: either id was merged into another already; `survivor` names it", body = Problem),
        (status = 422, description = "MERGE_SAME_CUSTOMER, or an invalid id", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden; the code is OBJECTED when either customer's objection to this purpose was upheld (GDPR Art. 21)", body = Problem),
    )
)]
pub async fn merge(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(body): Body<MergeBody>,
) -> Result<Json<steward_app::MergeView>, Problem> {
    let survivor = parse_id(&id)?;
    let merged = uuid::Uuid::parse_str(&body.merge).map_err(|_| {
        Problem::invalid(vec![steward_app::FieldError::new(
            "merge",
            "is not a customer id",
        )])
    })?;
    Ok(Json(
        state
            .app
            .customers()
            .merge(&access, survivor, merged, body.dry_run)
            .await?,
    ))
}

/// How many customers a change to a selection changed.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Changed {
    changed: usize,
}

#[utoipa::path(
    post,
    path = "/customers/bulk/owner",
    operation_id = "customers_reassign",
    tag = "customers",
    params(("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = steward_app::Reassign,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Each selected customer now has the owner (or none); one audit entry per customer changed", body = Changed),
        (status = 404, description = "A selected customer was not found; nothing changed", body = Problem),
        (status = 409, description = "STALE_VERSION: a selected customer changed meanwhile; nothing changed", body = Problem),
        (status = 422, description = "No selection, too many, or an owner that is not a staff account in use", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn reassign(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(body): Body<steward_app::Reassign>,
) -> Result<Json<Changed>, Problem> {
    let changed = state.app.customers().reassign(&access, body).await?;
    Ok(Json(Changed { changed }))
}

#[utoipa::path(
    post,
    path = "/customers/bulk/tags",
    operation_id = "customers_retag",
    tag = "customers",
    params(("X-Purpose" = Option<String>, Header, description = "Purpose of this access (a catalog purpose key); optional when the token holds exactly one")),
    request_body = steward_app::Retag,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tags added to and removed from each selected customer; one audit entry per customer changed", body = Changed),
        (status = 404, description = "A selected customer was not found; nothing changed", body = Problem),
        (status = 409, description = "STALE_VERSION: a selected customer changed meanwhile; nothing changed", body = Problem),
        (status = 422, description = "No selection, too many, no tag, or a tag that is not a slug", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn retag(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Body(body): Body<steward_app::Retag>,
) -> Result<Json<Changed>, Problem> {
    let changed = state.app.customers().retag(&access, body).await?;
    Ok(Json(Changed { changed }))
}
