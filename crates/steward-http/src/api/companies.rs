//! Companies and the customers that belong to them. A company is kept in clear and needs no
//! purpose; its customers are personal data, reached with one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use steward_app::{CompanyInput, CompanyQuery, CompanyView, CustomerView, MemberQuery, Page};
use uuid::Uuid;

use crate::auth::{Caller, Purposed};
use crate::extract::{
    Body, Params, etag, if_match, parse_id, parse_id_of, parse_limit, parse_page,
};
use crate::{AppState, Problem};

const PURPOSE: &str =
    "Purpose of this access (a catalog purpose key); optional when the token holds exactly one";

fn with_etag(status: StatusCode, view: CompanyView) -> Response {
    let tag = etag(view.version);
    let location = format!("/api/v1/companies/{}", view.id);
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Companies with this tag.
    tag: Option<String>,
    /// Companies whose name starts with this, whatever the case.
    name: Option<String>,
    /// `name` (the default), `created`, `updated` or `owner` (the owner's display name,
    /// companies without one last); `-` first for descending.
    sort: Option<String>,
    /// From 1.
    page: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/companies",
    operation_id = "companies_list",
    tag = "companies",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of companies by number, with the total", body = Page<CompanyView>),
        (status = 422, description = "Invalid filter: tag, sort or page", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Params(p): Params<ListParams>,
) -> Result<Json<Page<CompanyView>>, Problem> {
    let query = CompanyQuery {
        tag: p.tag,
        name: p.name,
        sort: p.sort,
        page: parse_page(p.page.as_deref())?,
        limit: parse_limit(p.limit.as_deref())?,
    };
    Ok(Json(state.app.companies().list(&actor, query).await?))
}

#[utoipa::path(
    post,
    path = "/companies",
    operation_id = "companies_create",
    tag = "companies",
    request_body = CompanyInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Made; `ETag` holds its version", body = CompanyView),
        (status = 409, description = "The domain is another company's (`DUPLICATE` on `domain`)", body = Problem),
        (status = 422, description = "Invalid input: name, domain, country, tags or owner (a staff account in use)", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(input): Body<CompanyInput>,
) -> Result<Response, Problem> {
    let view = state.app.companies().create(&actor, input).await?;
    Ok(with_etag(StatusCode::CREATED, view))
}

#[utoipa::path(
    get,
    path = "/companies/{id}",
    operation_id = "companies_read",
    tag = "companies",
    params(("id" = String, Path, description = "Company id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The company, its owner by display name; `ETag` holds its version", body = CompanyView),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let view = state.app.companies().get(&actor, parse_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[utoipa::path(
    patch,
    path = "/companies/{id}",
    operation_id = "companies_update",
    tag = "companies",
    request_body(content = Object, description = "A JSON merge patch (RFC 7396) of the company as written; `null` removes the domain, the country or the owner"),
    params(("id" = String, Path, description = "Company id"), ("If-Match" = String, Header, description = "The version being changed, as \"N\"")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = CompanyView),
        (status = 404, description = "Not found", body = Problem),
        (status = 409, description = "The domain is another company's", body = Problem),
        (status = 412, description = "Changed since that version", body = Problem),
        (status = 422, description = "Invalid company; `errors` names the field", body = Problem),
        (status = 428, description = "If-Match missing", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Value>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    let view = state
        .app
        .companies()
        .update(&actor, id, &patch, Some(version))
        .await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[utoipa::path(
    delete,
    path = "/companies/{id}",
    operation_id = "companies_delete",
    tag = "companies",
    params(("id" = String, Path, description = "Company id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted with its memberships; its customers stay"),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.companies().delete(&actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MemberParams {
    /// As the customer list sorts.
    sort: Option<String>,
    /// From 1.
    page: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/companies/{id}/customers",
    operation_id = "companies_customers",
    tag = "companies",
    params(("id" = String, Path, description = "Company id"), MemberParams, ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Its customers as the customer list shows them, audited as a customer list", body = Page<CustomerView>),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid sort or page", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn customers(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Params(p): Params<MemberParams>,
) -> Result<Json<Page<CustomerView>>, Problem> {
    let query = MemberQuery {
        sort: p.sort,
        page: parse_page(p.page.as_deref())?,
        limit: parse_limit(p.limit.as_deref())?,
    };
    Ok(Json(
        state
            .app
            .companies()
            .members(&access, parse_id(&id)?, query)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    customer_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/companies/{id}/customers",
    operation_id = "companies_add_customer",
    tag = "companies",
    request_body = MemberInput,
    params(("id" = String, Path, description = "Company id"), ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The customer belongs to the company (also when they did already)"),
        (status = 404, description = "No such company or customer", body = Problem),
        (status = 409, description = "The customer belongs to another company", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn add_customer(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path(id): Path<String>,
    Body(input): Body<MemberInput>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .companies()
        .add_member(&access, parse_id(&id)?, input.customer_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/companies/{id}/customers/{customer_id}",
    operation_id = "companies_remove_customer",
    tag = "companies",
    params(("id" = String, Path, description = "Company id"), ("customer_id" = String, Path, description = "Customer id"), ("X-Purpose" = Option<String>, Header, description = PURPOSE)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The customer no longer belongs to the company"),
        (status = 404, description = "Not a member, or no such customer", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn remove_customer(
    State(state): State<AppState>,
    Purposed(access): Purposed,
    Path((id, customer)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .companies()
        .remove_member(
            &access,
            parse_id(&id)?,
            parse_id_of("customer_id", &customer)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
