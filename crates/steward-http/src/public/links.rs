//! Pages behind the links Steward emails to customers: confirming a consent (double opt-in),
//! unsubscribing, and proving a new sign-in address. Opening a link only shows what it does;
//! acting takes a POST, so a mail scanner that fetches links acts on nothing. The unsubscribe
//! POST is also RFC 8058's one-click request, sent by mail clients with
//! `List-Unsubscribe=One-Click`.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use steward_app::{AppError, LinkView};

use crate::evidence::evidence;
use crate::tls::ClientAddr;
use crate::web::{Gpc, render, with_public_policy};
use crate::{AppState, Problem};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/consent/confirm/{token}",
            get(show_confirmation).post(confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(show_unsubscribe).post(unsubscribe),
        )
        .route(
            "/portal/address/{token}",
            get(show_address).post(confirm_address),
        )
}

#[derive(Template)]
#[template(path = "public/link.html")]
struct LinkPage {
    title: String,
    paragraphs: Vec<String>,
    button: Option<String>,
}

/// A public page with a title and a few lines of text.
pub(crate) fn message_page(title: &str, paragraphs: Vec<String>) -> Response {
    render(&LinkPage {
        title: title.into(),
        paragraphs,
        button: None,
    })
}

fn page(
    status: StatusCode,
    title: &str,
    paragraphs: Vec<String>,
    button: Option<&str>,
) -> Response {
    let response = render(&LinkPage {
        title: title.into(),
        paragraphs,
        button: button.map(str::to_string),
    });
    // The token is in the address: keep it out of caches and of other sites' logs.
    let mut response = with_public_policy(response, status);
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn failure(e: AppError) -> Response {
    match e {
        AppError::NotFound => page(
            StatusCode::NOT_FOUND,
            "Link not found",
            vec!["This link is not known here. Check that it was copied whole.".into()],
            None,
        ),
        AppError::LinkSpent => page(
            StatusCode::GONE,
            "This link no longer works",
            vec!["It was used already, or its time ran out.".into()],
            None,
        ),
        AppError::Conflict(m) => page(StatusCode::CONFLICT, "Not changed", vec![m], None),
        other => Problem::from(other).into_response(),
    }
}

async fn show_confirmation(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.links().confirmation(&token).await {
        Ok(LinkView { usable: false, .. }) => failure(AppError::LinkSpent),
        Ok(view) => page(
            StatusCode::OK,
            &format!("Confirm: {}", view.purpose_name),
            vec![
                view.description,
                "Nothing changes until you confirm. You can withdraw at any time, as easily."
                    .into(),
            ],
            Some("Yes, I confirm"),
        ),
        Err(e) => failure(e),
    }
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    Gpc(gpc): Gpc,
    headers: HeaderMap,
) -> Response {
    let evidence = evidence(client, &headers);
    match state.app.links().confirm(&token, &evidence, gpc).await {
        Ok(event) => {
            let name = state
                .app
                .catalog()
                .purpose(&event.purpose)
                .map_or(event.purpose.clone(), |p| p.name.clone());
            page(
                StatusCode::OK,
                "Confirmed",
                vec![format!(
                    "Thank you: {name} is now on. Every message we send has a link to turn it off again."
                )],
                None,
            )
        }
        Err(e) => failure(e),
    }
}

async fn show_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.links().unsubscription(&token).await {
        Ok(LinkView { usable: false, .. }) => failure(AppError::LinkSpent),
        Ok(view) => page(
            StatusCode::OK,
            &format!("Unsubscribe: {}", view.purpose_name),
            vec!["One click and we stop. Nothing else about your account changes.".into()],
            Some("Unsubscribe"),
        ),
        Err(e) => failure(e),
    }
}

async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
) -> Response {
    match state
        .app
        .links()
        .unsubscribe(&token, &evidence(client, &headers))
        .await
    {
        Ok(withdrawn) => page(
            StatusCode::OK,
            "You are unsubscribed",
            vec![if withdrawn.is_some() {
                "We have recorded your choice and will not send you these messages again.".into()
            } else {
                "You were unsubscribed already; nothing more was needed.".into()
            }],
            None,
        ),
        Err(e) => failure(e),
    }
}

async fn show_address(Path(_token): Path<String>) -> Response {
    page(
        StatusCode::OK,
        "Confirm your new address",
        vec!["From now on you will sign in to see and manage your data with this address.".into()],
        Some("Yes, use this address"),
    )
}

async fn confirm_address(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.app.own_rights().confirm_address(&token).await {
        Ok(()) => page(
            StatusCode::OK,
            "Your address is changed",
            vec!["Sign in with your new address from now on.".into()],
            None,
        ),
        Err(e) => failure(e),
    }
}
