//! Integrations' webhook subscriptions, for the administrator and the privacy officer (the
//! auditor reads them): made with the events ticked, the signing secret shown once on the
//! page that answers the form, paused and resumed, deleted, and each one's recent deliveries
//! with their attempts.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{
    AppError, EventType, SubscriptionInput, SubscriptionPatch, SubscriptionShown, SubscriptionView,
    WebhookDeliveryView,
};

use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render_checked, see_other};

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct ListPage {
    chrome: Chrome,
    subscriptions: Vec<SubscriptionView>,
    events: Vec<String>,
    ticked: Vec<String>,
    keeps: bool,
    created: Option<SubscriptionShown>,
    refusal: Refusal,
}

#[derive(Template)]
#[template(path = "console/webhook_deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    subscription: SubscriptionView,
    deliveries: Vec<WebhookDeliveryView>,
}

const INPUTS: [(&str, &str); 3] = [("name", "name"), ("url", "url"), ("event", "events")];

async fn list_page(
    state: &AppState,
    staff: &Staff,
    created: Option<SubscriptionShown>,
    refusal: Refusal,
    ticked: Vec<String>,
) -> Result<Response, ConsoleError> {
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(state, staff, "Webhooks", "webhooks"),
            subscriptions: state.app.webhooks().subscriptions(&staff.actor).await?,
            events: EventType::ALL
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            ticked,
            keeps: staff.actor.role().may_keep_subscriptions(),
            created,
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    list_page(&state, &staff, None, Refusal::none(), Vec::new()).await
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    staff.check_csrf(get("csrf"))?;
    let events: Vec<String> = f
        .iter()
        .filter(|(n, _)| n == "event")
        .map(|(_, v)| v.clone())
        .collect();
    let input = SubscriptionInput {
        name: get("name").unwrap_or("").to_string(),
        url: get("url").unwrap_or("").to_string(),
        events: events.clone(),
        vendor_id: None,
        purpose: None,
    };
    match state.app.webhooks().subscribe(&staff.actor, input).await {
        Ok(shown) => list_page(&state, &staff, Some(shown), Refusal::none(), Vec::new()).await,
        Err(AppError::Invalid(errors)) => {
            let typed: HashMap<String, String> =
                f.iter().filter(|(n, _)| n != "event").cloned().collect();
            let refusal = Refusal::new("subscription", typed, errors, INPUTS);
            list_page(&state, &staff, None, refusal, events).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    let patch = SubscriptionPatch {
        active: Some(f.get("active").map(String::as_str) == Some("true")),
        ..Default::default()
    };
    state
        .app
        .webhooks()
        .change_subscription(&staff.actor, id, patch)
        .await?;
    Ok(see_other("/console/webhooks"))
}

pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    state.app.webhooks().unsubscribe(&staff.actor, id).await?;
    Ok(see_other("/console/webhooks"))
}

pub async fn deliveries(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = super::parse_id(&id)?;
    let hooks = state.app.webhooks();
    let subscription = hooks.subscription(&staff.actor, id).await?;
    let deliveries = hooks.subscription_deliveries(&staff.actor, id).await?;
    Ok(render_checked(
        &DeliveriesPage {
            chrome: Chrome::new(
                &state,
                &staff,
                format!("Deliveries to {}", subscription.name),
                "webhooks",
            ),
            subscription,
            deliveries,
        },
        false,
    ))
}
