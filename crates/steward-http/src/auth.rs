//! Who is calling: a bearer token resolved by the app into an actor. Tokens never reach a log.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use steward_app::{Access, Actor};

use crate::{AppState, Problem};

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be: Bearer <token>")
            })?;
        match state.app.sessions().authenticate_token(token).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(steward_app::AppError::Forbidden(_)) => Err(Problem::unauthorized(
                "the token is unknown, expired or revoked",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// The caller plus the purpose the request states in `X-Purpose` (or the caller's only one),
/// checked against the caller's role.
pub struct Purposed(pub Access);

impl FromRequestParts<AppState> for Purposed {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(actor) = Caller::from_request_parts(parts, state).await?;
        let purpose = match parts.headers.get("x-purpose") {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| Problem::bad_request("X-Purpose", "must be a purpose key"))?,
            ),
            None => None,
        };
        Ok(Purposed(state.app.access(&actor, purpose)?))
    }
}
