//! Who is at the keyboard: the session cookie, the chosen purpose, and the CSRF token that
//! every form carries, derived from the session's secret (see `web::csrf_for`). Cookies stay
//! on `/console`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use steward_app::{Access, Actor};

use super::ConsoleError;
use crate::AppState;
use crate::web::{CookiePath, cookie, csrf_for, same};

pub const SESSION_COOKIE: &str = "steward_session";
pub const PURPOSE_COOKIE: &str = "steward_purpose";
/// Before sign-in there is no session: the sign-in form is protected by a random value that
/// must come back both as this cookie and as the form field.
pub const SIGN_IN_COOKIE: &str = "steward_sign_in";

/// A `Set-Cookie` value for the console's path; `None` clears the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let path = CookiePath::new("/console", secure);
    match value {
        Some(v) => path.set(name, v),
        None => path.clear(name),
    }
    .unwrap_or_else(|| HeaderValue::from_static(""))
}

/// A signed-in staff member.
pub struct Staff {
    pub actor: Actor,
    pub csrf: String,
    /// The purpose chosen for this session's work, when one is chosen and still allowed.
    pub purpose: Option<String>,
}

impl Staff {
    /// Refuses a form whose CSRF field is missing or wrong.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), ConsoleError> {
        match submitted {
            Some(token) if same(token, &self.csrf) => Ok(()),
            _ => Err(ConsoleError::Csrf),
        }
    }

    /// The access for opening personal data; without a chosen purpose, the staff member is
    /// sent to choose one first.
    pub fn access(&self, state: &AppState) -> Result<Access, ConsoleError> {
        let purpose = self.purpose.as_deref().ok_or(ConsoleError::PurposeFirst)?;
        Ok(state.app.access(&self.actor, Some(purpose))?)
    }
}

impl Staff {
    /// The staff member whose session cookie `headers` carry.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Staff, ConsoleError> {
        let token = cookie(headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let actor = state
            .app
            .sessions()
            .resume(&token)
            .await
            .map_err(|e| match e {
                steward_app::AppError::Unauthenticated(_) => ConsoleError::SignIn,
                other => ConsoleError::App(other),
            })?;
        let purpose = cookie(headers, PURPOSE_COOKIE).filter(|p| actor.holds(p));
        Ok(Staff {
            csrf: csrf_for(&token),
            actor,
            purpose,
        })
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Staff, ConsoleError> {
        Staff::from_headers(state, &parts.headers).await
    }
}
