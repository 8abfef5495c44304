//! Who is at the keyboard: the session cookie, the chosen purpose, and the CSRF token that
//! every form carries. Cookies are `HttpOnly` and `SameSite=Strict`, and `Secure` when
//! Steward serves TLS; the CSRF token is derived from the session secret, so a page from
//! another site can neither read nor forge it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use steward_app::{Access, Actor};

use super::ConsoleError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "steward_session";
pub const PURPOSE_COOKIE: &str = "steward_purpose";
/// Before sign-in there is no session: the sign-in form is protected by a random value that
/// must come back both as this cookie and as the form field.
pub const SIGN_IN_COOKIE: &str = "steward_sign_in";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value for the console's path; `None` clears the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!("{name}={v}; Path=/console; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn csrf_for(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"steward-console-csrf-v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Compares in time independent of where the values differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn random_value() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
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
    pub fn access(&self, app: &AppState) -> Result<Access, ConsoleError> {
        let purpose = self.purpose.as_deref().ok_or(ConsoleError::PurposeFirst)?;
        Ok(app.access(&self.actor, Some(purpose))?)
    }
}

impl Staff {
    /// The staff member whose session cookie `headers` carry.
    pub async fn from_headers(app: &AppState, headers: &HeaderMap) -> Result<Staff, ConsoleError> {
        let token = cookie(headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let actor = app.resume_session(&token).await.map_err(|e| match e {
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

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Staff, ConsoleError> {
        Staff::from_headers(app, &parts.headers).await
    }
}
