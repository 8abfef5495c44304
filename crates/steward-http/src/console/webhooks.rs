//! Integrations' webhook subscriptions, for the administrator and the privacy officer (the
//! auditor reads them): made with the events ticked (and, by the privacy officer, a vendor and
//! a purpose under which values may go), the signing secret shown once on the page that
//! answers the form, paused and resumed, deleted, and each one's recent deliveries with their
//! attempts.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{
    AppError, EventType, SubscriptionInput, SubscriptionPatch, SubscriptionShown, SubscriptionView,
    WebhookDeliveryView,
};

use super::posted_form::PostedForm;
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
    /// For the privacy officer: the vendors and purposes values may go under, by name.
    values_under: Option<ValuesUnder>,
    created: Option<SubscriptionShown>,
    refusal: Refusal,
}

struct ValuesUnder {
    vendors: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
}

impl ListPage {
    /// The name of the vendor values go to, for those who may read the register.
    fn vendor_name(&self, s: &SubscriptionView) -> Option<&str> {
        let vendor = s.vendor_id?.to_string();
        let under = self.values_under.as_ref()?;
        (under.vendors.iter())
            .find(|(id, _)| *id == vendor)
            .map(|(_, name)| name.as_str())
    }
}

#[derive(Template)]
#[template(path = "console/webhook_deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    subscription: SubscriptionView,
    deliveries: Vec<WebhookDeliveryView>,
}

const INPUTS: [(&str, &str); 5] = [
    ("name", "name"),
    ("url", "url"),
    ("event", "events"),
    ("vendor", "vendor_id"),
    ("purpose", "purpose"),
];

async fn list_page(
    state: &AppState,
    staff: &Staff,
    created: Option<SubscriptionShown>,
    refusal: Refusal,
    ticked: Vec<String>,
) -> Result<Response, ConsoleError> {
    let has_errors = refusal.any();
    let values_under = if staff.actor.role().may_keep_register() {
        let mut vendors: Vec<(String, String)> = (state.app.vendors().list(&staff.actor).await?)
            .into_iter()
            .map(|v| (v.vendor.id.to_string(), v.vendor.legal_name))
            .collect();
        vendors.sort_by_key(|(_, name)| name.to_lowercase());
        Some(ValuesUnder {
            vendors,
            purposes: super::purpose_choices(state),
        })
    } else {
        None
    };
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
            values_under,
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
    ConsoleForm(f): ConsoleForm<PostedForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.one("csrf"))?;
    let events = f.all("event");
    let input = SubscriptionInput {
        name: f.one("name").unwrap_or("").to_string(),
        url: f.one("url").unwrap_or("").to_string(),
        events: events.clone(),
        vendor_id: None,
        purpose: chosen(f.one("purpose")).map(str::to_string),
    };
    let input = match chosen(f.one("vendor")).map(str::parse::<uuid::Uuid>) {
        None => Ok(input),
        Some(Ok(vendor)) => Ok(SubscriptionInput {
            vendor_id: Some(vendor),
            ..input
        }),
        Some(Err(_)) => Err(AppError::invalid(
            "vendor_id",
            "is not a vendor of the register",
        )),
    };
    let made = match input {
        Ok(input) => state.app.webhooks().subscribe(&staff.actor, input).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(shown) => list_page(&state, &staff, Some(shown), Refusal::none(), Vec::new()).await,
        Err(AppError::Invalid(errors)) => {
            let refusal = Refusal::new("subscription", f.typed_except("event"), errors, INPUTS);
            list_page(&state, &staff, None, refusal, events).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A select's value, none when its empty first option was left chosen.
fn chosen(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
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
