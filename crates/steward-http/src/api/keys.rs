//! The key-encryption keys over HTTP, for admins: their state, a rotation (its rewrap runs
//! on in the background) and marking a version compromised.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use steward_app::KeyStatus;

use crate::auth::Caller;
use crate::extract::Body;
use crate::{AppState, Problem};

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompromisedInput {
    /// Why the version is taken as exposed (1 to 2000 characters).
    pub reason: String,
}

#[utoipa::path(
    get,
    path = "/keys",
    operation_id = "keys_status",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every version with its dates and what it wraps, the current one and its age", body = KeyStatus),
        (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<KeyStatus>, Problem> {
    Ok(Json(state.app.keys().status(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/keys/rotate",
    operation_id = "keys_rotate",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new version is current; the keys of older versions are being rewrapped onto it (follow with GET /keys)", body = KeyStatus),
        (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<(StatusCode, Json<KeyStatus>), Problem> {
    state.app.keys().rotate(&actor).await?;
    let status = state.app.keys().status(&actor).await?;
    let worker = state.clone();
    tokio::spawn(async move {
        if let Err(e) = worker.app.keys().rewrap(&actor, None, |_| {}).await {
            // The server's rewrapper takes it up again on its next round.
            tracing::warn!(error = %e, "rewrapping keys after a rotation failed");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(status)))
}

#[utoipa::path(
    post,
    path = "/keys/{version}/compromised",
    operation_id = "keys_mark_compromised",
    tag = "keys",
    request_body = CompromisedInput,
    params(("version" = u32, Path, description = "Key-encryption key version, such as 1 or v1")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Marked (a compromised current version is rotated away at once)", body = KeyStatus),
        (status = 404, description = "No such version", body = Problem),
        (status = 422, description = "Invalid version or reason", body = Problem),
        (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn mark_compromised(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(version): Path<String>,
    Body(input): Body<CompromisedInput>,
) -> Result<Json<KeyStatus>, Problem> {
    let version = parse_version(&version)?;
    let status = state
        .app
        .keys()
        .mark_compromised(&actor, version, &input.reason)
        .await?;
    Ok(Json(status))
}

/// `1` or `v1`, as the master key file and the status name versions.
fn parse_version(raw: &str) -> Result<u32, Problem> {
    raw.strip_prefix('v')
        .unwrap_or(raw)
        .parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            Problem::invalid(vec![steward_app::FieldError::new(
                "version",
                "is not a key version (a whole number from 1, as in GET /keys)",
            )])
        })
}
