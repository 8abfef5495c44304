//! Signing in and out, and choosing the purpose of the work before any personal data opens.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::{PurposeDef, Role};
use steward_app::{Access, AppError};

use super::session::{PURPOSE_COOKIE, SESSION_COOKIE, SIGN_IN_COOKIE, set_cookie};
use super::{Chrome, ConsoleError, ConsoleForm, Staff};
use crate::AppState;
use crate::web::{cookie, random_value, render, render_checked, same, see_other};

#[derive(Template)]
#[template(path = "console/login.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    email: String,
    message: Option<String>,
}

fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    email: String,
    message: Option<String>,
) -> Response {
    let csrf = random_value();
    let mut response = render(&SignInPage {
        chrome: Chrome::visitor("Sign in to Steward"),
        csrf: csrf.clone(),
        email,
        message,
    });
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, Some(&csrf), state.tls),
    );
    response
}

pub async fn form(State(state): State<AppState>) -> Response {
    sign_in_page(&state, StatusCode::OK, String::new(), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    totp: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    client: crate::tls::ClientInfo,
    headers: HeaderMap,
    ConsoleForm(f): ConsoleForm<SignInForm>,
) -> Result<Response, ConsoleError> {
    // An empty cookie and an empty field are equal but prove nothing: the value must be one
    // this server handed out.
    match (cookie(&headers, SIGN_IN_COOKIE), f.csrf.as_deref()) {
        (Some(expected), Some(sent)) if !expected.is_empty() && same(&expected, sent) => {}
        _ => return Err(ConsoleError::Csrf),
    }
    let totp = f.totp.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match state
        .app
        .sessions()
        .login(&f.email, &f.password, totp, crate::tls::client_ip(client))
        .await
    {
        Ok(session) => {
            let mut response = see_other("/console/purpose");
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, Some(&session.token), state.tls),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(PURPOSE_COOKIE, None, state.tls),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(SIGN_IN_COOKIE, None, state.tls),
            );
            Ok(response)
        }
        Err(AppError::Unauthenticated(message)) => Ok(sign_in_page(
            &state,
            StatusCode::UNAUTHORIZED,
            f.email,
            Some(capitalise(&message)),
        )),
        Err(e @ AppError::TooManyAttempts { .. }) => Ok(sign_in_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            f.email,
            Some(capitalise(&e.to_string())),
        )),
        Err(other) => Err(other.into()),
    }
}

fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    ConsoleForm(f): ConsoleForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.app.sessions().logout(&token).await?;
    }
    let mut response = see_other("/console/login");
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, None, state.tls),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(PURPOSE_COOKIE, None, state.tls),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "console/purpose.html")]
struct PurposePage {
    chrome: Chrome,
    purposes: Vec<PurposeDef>,
    error: Option<String>,
}

fn purpose_page(state: &AppState, staff: &Staff, error: Option<String>) -> Response {
    let purposes: Vec<PurposeDef> = staff
        .actor
        .effective_purposes()
        .into_iter()
        .filter_map(|p| state.app.catalog().purpose(p).cloned())
        .collect();
    let title = if purposes.is_empty() {
        "No purpose to choose"
    } else {
        "Choose the purpose of your work"
    };
    let has_error = error.is_some();
    render_checked(
        &PurposePage {
            chrome: Chrome::new(state, staff, title, "purpose"),
            purposes,
            error,
        },
        has_error,
    )
}

pub async fn purpose_form(State(state): State<AppState>, staff: Staff) -> Response {
    purpose_page(&state, &staff, None)
}

#[derive(Deserialize)]
pub struct PurposeForm {
    csrf: Option<String>,
    #[serde(default)]
    purpose: String,
}

/// Where work under a purpose starts: the customer list when the purpose opens records,
/// otherwise the campaigns (purposes that rest on consent reach people only through them),
/// otherwise the dashboard.
fn landing(access: &Access) -> &'static str {
    if access.require_record_access().is_ok() {
        "/console/customers"
    } else if matches!(access.actor().role(), Role::Marketer | Role::Admin) {
        "/console/campaigns"
    } else {
        "/console"
    }
}

pub async fn choose_purpose(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<PurposeForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    if f.purpose.trim().is_empty() {
        return Ok(purpose_page(
            &state,
            &staff,
            Some("Choose one of the purposes.".into()),
        ));
    }
    let access = match state.app.access(&staff.actor, Some(&f.purpose)) {
        Ok(access) => access,
        Err(
            e @ (AppError::PurposeNotAllowed { .. }
            | AppError::UnknownPurpose(_)
            | AppError::PurposeRequired),
        ) => {
            return Ok(purpose_page(
                &state,
                &staff,
                Some(capitalise(&e.to_string())),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = see_other(landing(&access));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(PURPOSE_COOKIE, Some(&access.purpose().key), state.tls),
    );
    Ok(response)
}
