//! Accounts and API tokens, for administrators. A new account's password and a new token are
//! shown once, on the page that answers the form, and are kept nowhere.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;
use steward_app::core::Role;
use steward_app::{
    AppError, FieldError, NewToken, NewUser, TokenView, UserView, generate_password,
};

use super::posted_form::PostedForm;
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render_checked, see_other};

fn roles() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}

fn parse_role(raw: &str) -> Result<Role, AppError> {
    raw.parse::<Role>()
        .map_err(|m| AppError::invalid("role", m.to_string()))
}

/// What was made and is shown only now.
struct Created {
    what: &'static str,
    secret: String,
    extra: Option<String>,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    chrome: Chrome,
    /// Each account with the name its row's form is sent back under.
    users: Vec<(UserView, String)>,
    roles: Vec<&'static str>,
    created: Option<Created>,
    refusal: Refusal,
}

const USER_INPUTS: [(&str, &str); 2] = [("email", "email"), ("role", "role")];

async fn users_page(
    state: &AppState,
    staff: &Staff,
    created: Option<Created>,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let has_errors = refusal.any();
    Ok(render_checked(
        &UsersPage {
            chrome: Chrome::new(state, staff, "Staff accounts", "users"),
            users: state
                .app
                .accounts()
                .list_users(&staff.actor)
                .await?
                .into_iter()
                .map(|u| {
                    let form = u.id.to_string();
                    (u, form)
                })
                .collect(),
            roles: roles(),
            created,
            refusal,
        },
        has_errors,
    ))
}

pub async fn users(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    users_page(&state, &staff, None, Refusal::none()).await
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add_user(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<UserForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let password = generate_password();
    let outcome = match parse_role(&f.role) {
        Ok(role) => {
            state
                .app
                .accounts()
                .add_user(
                    &staff.actor,
                    NewUser {
                        email: f.email.clone(),
                        role,
                        password: password.clone(),
                        purposes: Vec::new(),
                    },
                )
                .await
        }
        Err(e) => Err(e),
    };
    let typed = HashMap::from([("email".to_string(), f.email), ("role".to_string(), f.role)]);
    let refused = |errors| Refusal::new("user", typed.clone(), errors, USER_INPUTS);
    match outcome {
        Ok(created) => {
            let shown = Created {
                what: "account",
                secret: password,
                extra: created.totp_uri,
            };
            users_page(&state, &staff, Some(shown), Refusal::none()).await
        }
        Err(AppError::Invalid(errors)) => users_page(&state, &staff, None, refused(errors)).await,
        Err(AppError::Duplicate { field }) => {
            let errors = vec![FieldError::new(field, "is already in use")];
            users_page(&state, &staff, None, refused(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    let disabled = Some(f.get("disabled").is_some_and(|v| v == "on"));
    let accounts = state.app.accounts();
    // Renamed only when the name was changed, so saving a role writes no rename to the log.
    let renamed = match (f.get("display_name"), f.get("display_name_was")) {
        (Some(name), was) if Some(name) != was => accounts.rename(&staff.actor, id, name).await,
        _ => Ok(()),
    };
    let outcome = match (renamed, f.get("role").map(|r| parse_role(r)).transpose()) {
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(role)) => accounts.update_user(&staff.actor, id, role, disabled).await,
    };
    match outcome {
        Ok(_) => Ok(see_other("/console/users")),
        Err(AppError::Invalid(errors)) => {
            let inputs = [("display_name", "display_name"), ("role", "role")];
            let refusal = Refusal::new(id.to_string(), f, errors, inputs);
            users_page(&state, &staff, None, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
    roles: Vec<&'static str>,
    purposes: Vec<(String, String)>,
    created: Option<Created>,
    refusal: Refusal,
    /// The purposes ticked when the form was sent back.
    ticked: Vec<String>,
}

const TOKEN_INPUTS: [(&str, &str); 5] = [
    ("name", "name"),
    ("role", "role"),
    ("purpose", "purposes"),
    ("expires_days", "expires_days"),
    ("expires_days", "expires_at"),
];

async fn tokens_page(
    state: &AppState,
    staff: &Staff,
    created: Option<Created>,
    refusal: Refusal,
    ticked: Vec<String>,
) -> Result<Response, ConsoleError> {
    let has_errors = refusal.any();
    Ok(render_checked(
        &TokensPage {
            chrome: Chrome::new(state, staff, "API tokens", "tokens"),
            tokens: state.app.accounts().list_tokens(&staff.actor).await?,
            roles: roles(),
            purposes: super::purpose_choices(state),
            created,
            refusal,
            ticked,
        },
        has_errors,
    ))
}

pub async fn tokens(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    tokens_page(&state, &staff, None, Refusal::none(), Vec::new()).await
}

pub async fn create_token(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<PostedForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.one("csrf"))?;
    let purposes = f.all("purpose");
    let ticked = purposes.clone();
    let days = f.one("expires_days").unwrap_or("").trim();
    let mut errors = Vec::new();
    let expires_at = match days.parse::<i64>() {
        _ if days.is_empty() => None,
        Ok(d) if (1..=3660).contains(&d) => state
            .app
            .now()
            .checked_add(jiff::SignedDuration::from_hours(24 * d))
            .ok(),
        _ => {
            errors.push(FieldError::new("expires_days", "must be 1 to 3660 days"));
            None
        }
    };
    let role = parse_role(f.one("role").unwrap_or(""));
    let outcome = match (role, errors.is_empty()) {
        (Ok(role), true) => {
            state
                .app
                .accounts()
                .create_token(
                    &staff.actor,
                    NewToken {
                        name: f.one("name").unwrap_or("").to_string(),
                        role,
                        purposes,
                        expires_at,
                    },
                )
                .await
        }
        (Err(e), _) => Err(e),
        (Ok(_), false) => Err(AppError::Invalid(errors)),
    };
    match outcome {
        Ok((_, token)) => {
            let shown = Created {
                what: "token",
                secret: token,
                extra: None,
            };
            tokens_page(&state, &staff, Some(shown), Refusal::none(), Vec::new()).await
        }
        Err(AppError::Invalid(errors)) => {
            let typed = f.typed_except("purpose");
            let refusal = Refusal::new("token", typed, errors, TOKEN_INPUTS);
            tokens_page(&state, &staff, None, refusal, ticked).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    state.app.accounts().revoke_token(&staff.actor, id).await?;
    Ok(see_other("/console/tokens"))
}
