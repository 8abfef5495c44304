use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steward_app::core::Role;
use steward_app::{FieldError, NewToken, NewUser, TokenView, UserView};

use crate::auth::Caller;
use crate::extract::{Body, parse_id, parse_time};
use crate::{AppState, Problem};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    actor: String,
    role: String,
    purposes: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me_read",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who the token belongs to", body = Me),
        (status = 401, description = "No valid token", body = Problem),
    )
)]
pub async fn me(Caller(actor): Caller) -> Json<Me> {
    let purposes = actor
        .effective_purposes()
        .into_iter()
        .map(str::to_string)
        .collect();
    Json(Me {
        actor: actor.id().to_string(),
        role: actor.role().to_string(),
        purposes,
    })
}

fn parse_role(raw: &str) -> Result<Role, Problem> {
    raw.parse::<Role>()
        .map_err(|e| Problem::invalid(vec![FieldError::new("role", e.to_string())]))
}

#[utoipa::path(
    get,
    path = "/users",
    operation_id = "users_list",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Staff accounts", body = Vec<steward_app::UserView>),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<UserView>>, Problem> {
    Ok(Json(state.app.accounts().list_users(&actor).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    email: String,
    role: String,
    password: String,
    #[serde(default)]
    purposes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    id: uuid::Uuid,
    /// Authenticator enrolment for accounts that need a second factor; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    totp_uri: Option<String>,
}

#[utoipa::path(
    post,
    path = "/users",
    operation_id = "users_create",
    tag = "accounts",
    request_body = NewUserBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Created),
        (status = 409, description = "Email in use", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn add_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(b): Body<NewUserBody>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let role = parse_role(&b.role)?;
    let created = state
        .app
        .accounts()
        .add_user(
            &actor,
            NewUser {
                email: b.email,
                role,
                password: b.password,
                purposes: b.purposes,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: created.id,
            totp_uri: created.totp_uri,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    role: Option<String>,
    disabled: Option<bool>,
    /// What the console shows for them: trimmed, 1 to 80 characters, no control characters.
    display_name: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "users_update",
    tag = "accounts",
    params(("id" = String, Path, description = "Id")),
    request_body = UserChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 404, description = "Not found", body = Problem),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(b): Body<UserChange>,
) -> Result<StatusCode, Problem> {
    let role = b.role.as_deref().map(parse_role).transpose()?;
    let id = parse_id(&id)?;
    let accounts = state.app.accounts();
    if let Some(name) = &b.display_name {
        accounts.rename(&actor, id, name).await?;
    }
    if role.is_some() || b.disabled.is_some() || b.display_name.is_none() {
        accounts.update_user(&actor, id, role, b.disabled).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/tokens",
    operation_id = "tokens_list",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "API tokens (never the tokens themselves)", body = Vec<steward_app::TokenView>),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<TokenView>>, Problem> {
    Ok(Json(state.app.accounts().list_tokens(&actor).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    name: String,
    role: String,
    #[serde(default)]
    purposes: Vec<String>,
    expires_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    id: uuid::Uuid,
    /// Shown once; only its hash is kept.
    token: String,
}

#[utoipa::path(
    post,
    path = "/tokens",
    operation_id = "tokens_create",
    tag = "accounts",
    request_body = NewTokenBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the token is shown once", body = CreatedToken),
        (status = 422, description = "Invalid input", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(b): Body<NewTokenBody>,
) -> Result<(StatusCode, Json<CreatedToken>), Problem> {
    let role = parse_role(&b.role)?;
    let expires_at = parse_time("expires_at", b.expires_at.as_deref())?;
    let (id, token) = state
        .app
        .accounts()
        .create_token(
            &actor,
            NewToken {
                name: b.name,
                role,
                purposes: b.purposes,
                expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, token })))
}

#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    operation_id = "tokens_revoke",
    tag = "accounts",
    params(("id" = String, Path, description = "Id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "Not found", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .app
        .accounts()
        .revoke_token(&actor, parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
    totp: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginReply {
    token: String,
    #[schema(value_type = String, format = DateTime)]
    expires_at: jiff::Timestamp,
    role: String,
}

#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "auth_login",
    tag = "accounts",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = LoginReply),
        (status = 401, description = "Wrong email, password or code", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: crate::tls::ClientInfo,
    Body(b): Body<LoginBody>,
) -> Result<Json<LoginReply>, Problem> {
    let session = state
        .app
        .sessions()
        .login(
            &b.email,
            &b.password,
            b.totp.as_deref(),
            crate::tls::client_ip(client),
        )
        .await?;
    Ok(Json(LoginReply {
        token: session.token,
        expires_at: session.expires_at,
        role: session.actor.role().to_string(),
    }))
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "auth_logout",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid token", body = Problem),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    _caller: Caller,
) -> Result<StatusCode, Problem> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    state.app.sessions().logout(token).await?;
    Ok(StatusCode::NO_CONTENT)
}
