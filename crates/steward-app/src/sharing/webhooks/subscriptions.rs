//! Integrations' subscriptions to events: made, changed, paused, rotated and deleted by the
//! administrator or the privacy officer, each change audited with the subscription's id. The
//! signing secret is shown once, at creation or rotation, and kept sealed under the
//! installation's webhook key, bound to the subscription. Naming a vendor and a purpose,
//! under which values may go with the events, is the register keeper's.

use std::collections::BTreeSet;

use jiff::Timestamp;
use steward_store::SubscriptionRow;
use steward_vault::WebhookSecret;
use uuid::Uuid;

use super::WebhookDeliveryView;
use super::client::Target;
use super::event::EventType;
use super::outbox::delivery_views;
use crate::services::Webhooks;
use crate::{Actor, AppError, Steward};

/// The most deliveries the view of a subscription shows.
const RECENT: usize = 50;
const NAME_MAX: usize = 100;

/// A subscription as staff read it; never the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionView {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// With `purpose`: the vendor under whose agreement values may go with the events.
    pub vendor_id: Option<Uuid>,
    pub purpose: Option<String>,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A subscription just made (or its secret just rotated), with its signing secret: the one
/// time Steward shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionShown {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// `whsec_` and the base64 of 32 random bytes: the key of the HMAC-SHA256 signature in
    /// each message's `webhook-signature` header.
    pub secret: String,
}

/// What is given to make a subscription.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub name: String,
    /// An `https://` URL, without credentials.
    pub url: String,
    /// A non-empty subset of `customer.created`, `customer.updated`, `customer.erased`,
    /// `consent.changed`, `request.completed`.
    pub events: Vec<String>,
    /// With `purpose`, the vendor whose agreement in force may let values go with events.
    #[serde(default)]
    pub vendor_id: Option<Uuid>,
    #[serde(default)]
    pub purpose: Option<String>,
}

/// What may be changed; what is left out stays.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// False pauses the subscription: no event is queued for it until it is resumed.
    #[serde(default)]
    pub active: Option<bool>,
}

/// The label a subscription's secret is sealed under, so it opens for that subscription only.
fn sealed_as(id: Uuid) -> String {
    format!("webhook-subscription-secret:{id}")
}

fn view(row: &SubscriptionRow) -> SubscriptionView {
    SubscriptionView {
        id: row.id,
        name: row.name.clone(),
        url: row.url.clone(),
        events: row.events.clone(),
        active: row.active,
        vendor_id: row.vendor_id,
        purpose: row.purpose.clone(),
        created_by: row.created_by.clone(),
        created_at: steward_core::clock::from_micros(row.created_at),
        updated_at: steward_core::clock::from_micros(row.updated_at),
    }
}

fn require_keeper(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_keep_subscriptions() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not manage webhook subscriptions",
            actor.role
        )))
    }
}

fn require_reader(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_read_subscriptions() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not read webhook subscriptions",
            actor.role
        )))
    }
}

fn name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            format!("give a name of 1 to {NAME_MAX} characters, without control characters"),
        ));
    }
    Ok(name.to_string())
}

fn url(url: &str) -> Result<String, AppError> {
    Ok(Target::parse(url.trim())
        .map_err(|m| AppError::invalid("url", m))?
        .as_str())
}

/// The events, each known and each once, in a fixed order.
fn events(events: &[String]) -> Result<Vec<String>, AppError> {
    let mut known = BTreeSet::new();
    for (i, e) in events.iter().enumerate() {
        let Some(event) = EventType::parse(e) else {
            return Err(AppError::invalid(
                format!("events[{i}]"),
                "is not an event: use customer.created, customer.updated, customer.erased, consent.changed or request.completed",
            ));
        };
        known.insert(event);
    }
    if known.is_empty() {
        return Err(AppError::invalid(
            "events",
            "name at least one event to subscribe to",
        ));
    }
    Ok(known.into_iter().map(|e| e.as_str().to_string()).collect())
}

impl Webhooks<'_> {
    /// Makes a subscription with a fresh secret, shown in the answer and never again.
    pub async fn subscribe(
        &self,
        actor: &Actor,
        input: SubscriptionInput,
    ) -> Result<SubscriptionShown, AppError> {
        require_keeper(actor)?;
        let app = self.app;
        let name = name(&input.name)?;
        let url = url(&input.url)?;
        let events = events(&input.events)?;
        let (vendor_id, purpose) = match (input.vendor_id, input.purpose) {
            (None, None) => (None, None),
            (Some(vendor), Some(purpose)) => {
                if !actor.role.may_keep_register() {
                    return Err(AppError::Forbidden(format!(
                        "role {} may not choose a vendor that values go to",
                        actor.role
                    )));
                }
                app.store.vendor(vendor).await?.ok_or_else(|| {
                    AppError::invalid("vendor_id", "is not a vendor of the register")
                })?;
                let purpose = app
                    .catalog
                    .purpose(&purpose)
                    .ok_or_else(|| AppError::invalid("purpose", "is not a purpose of the catalog"))?
                    .key
                    .clone();
                (Some(vendor), Some(purpose))
            }
            (None, Some(_)) => {
                return Err(AppError::invalid(
                    "vendor_id",
                    "a purpose goes with the vendor the values go to",
                ));
            }
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "purpose",
                    "a vendor goes with the purpose the values are shared for",
                ));
            }
        };
        let id = Uuid::now_v7();
        let secret = WebhookSecret::generate();
        let now = app.clock.now().as_microsecond();
        let row = SubscriptionRow {
            id,
            name,
            url,
            events,
            secret: app.vault.webhook_key().seal(&sealed_as(id), secret.bytes()),
            active: true,
            vendor_id,
            purpose,
            created_by: actor.id.clone(),
            created_at: now,
            updated_at: now,
        };
        let record = app.record(
            actor,
            "webhook.subscription.create",
            None,
            vec![id.to_string()],
            vec![],
            Some(row.events.join(",")),
        );
        app.store.create_subscription(&row, record).await?;
        Ok(SubscriptionShown {
            subscription: view(&row),
            secret: secret.reveal().to_string(),
        })
    }

    pub async fn subscriptions(&self, actor: &Actor) -> Result<Vec<SubscriptionView>, AppError> {
        require_reader(actor)?;
        Ok(self
            .app
            .store
            .subscriptions()
            .await?
            .iter()
            .map(view)
            .collect())
    }

    pub async fn subscription(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<SubscriptionView, AppError> {
        require_reader(actor)?;
        Ok(view(&self.found(id).await?))
    }

    async fn found(&self, id: Uuid) -> Result<SubscriptionRow, AppError> {
        self.app
            .store
            .subscription(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Changes a subscription's name, URL, events or whether it is active.
    pub async fn change_subscription(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: SubscriptionPatch,
    ) -> Result<SubscriptionView, AppError> {
        require_keeper(actor)?;
        let mut row = self.found(id).await?;
        let mut changed = Vec::new();
        if let Some(n) = &patch.name {
            row.name = name(n)?;
            changed.push("name");
        }
        if let Some(u) = &patch.url {
            row.url = url(u)?;
            changed.push("url");
        }
        if let Some(e) = &patch.events {
            row.events = events(e)?;
            changed.push("events");
        }
        if let Some(active) = patch.active {
            row.active = active;
            changed.push(if active { "resumed" } else { "paused" });
        }
        row.updated_at = self.app.clock.now().as_microsecond();
        let record = self.app.record(
            actor,
            "webhook.subscription.update",
            None,
            vec![id.to_string()],
            vec![],
            Some(changed.join(",")),
        );
        if !self.app.store.update_subscription(&row, record).await? {
            return Err(AppError::NotFound);
        }
        Ok(view(&row))
    }

    /// Replaces a subscription's secret: the new one is shown once and signs from the next
    /// attempt on; the old one stops signing at once.
    pub async fn rotate_secret(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<SubscriptionShown, AppError> {
        require_keeper(actor)?;
        let app = self.app;
        let mut row = self.found(id).await?;
        let secret = WebhookSecret::generate();
        row.secret = app.vault.webhook_key().seal(&sealed_as(id), secret.bytes());
        row.updated_at = app.clock.now().as_microsecond();
        let record = app.record(
            actor,
            "webhook.subscription.rotate",
            None,
            vec![id.to_string()],
            vec![],
            None,
        );
        if !app.store.update_subscription(&row, record).await? {
            return Err(AppError::NotFound);
        }
        Ok(SubscriptionShown {
            subscription: view(&row),
            secret: secret.reveal().to_string(),
        })
    }

    /// Deletes a subscription: its deliveries stay as history, and those still waiting fail
    /// at their next attempt.
    pub async fn unsubscribe(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        require_keeper(actor)?;
        let record = self.app.record(
            actor,
            "webhook.subscription.delete",
            None,
            vec![id.to_string()],
            vec![],
            None,
        );
        if self.app.store.delete_subscription(id, record).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A subscription's latest deliveries, newest first, with every attempt.
    pub async fn subscription_deliveries(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<Vec<WebhookDeliveryView>, AppError> {
        require_reader(actor)?;
        self.found(id).await?;
        let (deliveries, attempts) = self.app.store.subscription_deliveries(id, RECENT).await?;
        Ok(delivery_views(deliveries, attempts))
    }
}

impl Steward {
    /// A subscription's URL and its secret opened, to sign a message with; none when the
    /// subscription was deleted.
    pub(crate) async fn subscription_target(
        &self,
        id: Uuid,
    ) -> Result<Option<(Target, WebhookSecret)>, AppError> {
        let Some(row) = self.store.subscription(id).await? else {
            return Ok(None);
        };
        let target = Target::parse(&row.url)
            .map_err(|_| AppError::corrupt(format!("webhook subscription {id}")))?;
        let bytes = self
            .vault
            .webhook_key()
            .open(&sealed_as(id), &row.secret)
            .map_err(|_| AppError::Integrity(format!("secret of webhook subscription {id}")))?;
        let secret = WebhookSecret::from_bytes(&bytes)
            .map_err(|_| AppError::Integrity(format!("secret of webhook subscription {id}")))?;
        Ok(Some((target, secret)))
    }
}
