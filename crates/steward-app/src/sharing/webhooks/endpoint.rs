//! A vendor's webhook endpoint: set by the privacy officer, with a fresh signing secret shown
//! once and kept sealed under the installation's webhook key, bound to the vendor; removed the
//! same way. Each change is audited with the vendor's id, never the secret.

use jiff::Timestamp;
use steward_store::WebhookEndpointRow;
use steward_vault::WebhookSecret;
use uuid::Uuid;

use super::client::Target;
use crate::services::Vendors;
use crate::sharing::{require_keeper, require_reader};
use crate::{Access, Actor, AppError, Steward};

/// A vendor's endpoint as the register shows it: where, and since when; never the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointView {
    pub vendor_id: Uuid,
    pub url: String,
    pub set_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub set_at: Timestamp,
}

/// The endpoint just set, with its signing secret: the one time Steward shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSecretShown {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// `whsec_` and the base64 of 32 random bytes: the key of the HMAC-SHA256 signature in
    /// each message's `webhook-signature` header. Shown once; setting the endpoint again makes
    /// a new one.
    pub secret: String,
}

/// What the privacy officer gives to set an endpoint.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An `https://` URL, without credentials.
    pub url: String,
}

/// The label a vendor's secret is sealed under, so it opens for that vendor only.
fn sealed_as(vendor: Uuid) -> String {
    format!("webhook-secret:{vendor}")
}

fn view(row: &WebhookEndpointRow) -> WebhookEndpointView {
    WebhookEndpointView {
        vendor_id: row.vendor_id,
        url: row.url.clone(),
        set_by: row.set_by.clone(),
        set_at: steward_core::clock::from_micros(row.set_at),
    }
}

impl Vendors<'_> {
    /// Sets (or replaces) a vendor's endpoint with a fresh secret, shown in the answer and
    /// never again; a replaced secret stops signing at once.
    pub async fn set_webhook(
        &self,
        access: &Access,
        vendor: Uuid,
        input: WebhookInput,
    ) -> Result<WebhookSecretShown, AppError> {
        require_keeper(access)?;
        let app = self.app;
        let target = Target::parse(input.url.trim()).map_err(|m| AppError::invalid("url", m))?;
        app.store.vendor(vendor).await?.ok_or(AppError::NotFound)?;
        let secret = WebhookSecret::generate();
        let row = WebhookEndpointRow {
            vendor_id: vendor,
            url: target.as_str(),
            secret: app
                .vault
                .webhook_key()
                .seal(&sealed_as(vendor), secret.bytes()),
            set_by: access.actor.id.clone(),
            set_at: app.clock.now().as_microsecond(),
        };
        let record = app.access_record(
            access,
            "vendor.webhook.set",
            vec![vendor.to_string()],
            vec![],
        );
        app.store.set_webhook(&row, record).await?;
        Ok(WebhookSecretShown {
            endpoint: view(&row),
            secret: secret.reveal().to_string(),
        })
    }

    /// Removes a vendor's endpoint: deliveries still waiting for it fail at their next attempt.
    pub async fn remove_webhook(&self, access: &Access, vendor: Uuid) -> Result<(), AppError> {
        require_keeper(access)?;
        let record = self.app.access_record(
            access,
            "vendor.webhook.remove",
            vec![vendor.to_string()],
            vec![],
        );
        if self.app.store.remove_webhook(vendor, record).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    pub async fn webhook(
        &self,
        actor: &Actor,
        vendor: Uuid,
    ) -> Result<WebhookEndpointView, AppError> {
        require_reader(actor)?;
        let row = self
            .app
            .store
            .webhook(vendor)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(view(&row))
    }
}

impl Steward {
    /// A vendor's endpoint and its secret opened, to sign a message with.
    pub(crate) async fn webhook_target(
        &self,
        vendor: Uuid,
    ) -> Result<Option<(Target, WebhookSecret)>, AppError> {
        let Some(row) = self.store.webhook(vendor).await? else {
            return Ok(None);
        };
        let target = Target::parse(&row.url)
            .map_err(|_| AppError::corrupt(format!("webhook endpoint of vendor {vendor}")))?;
        let bytes = self
            .vault
            .webhook_key()
            .open(&sealed_as(vendor), &row.secret)
            .map_err(|_| AppError::Integrity(format!("webhook secret of vendor {vendor}")))?;
        let secret = WebhookSecret::from_bytes(&bytes)
            .map_err(|_| AppError::Integrity(format!("webhook secret of vendor {vendor}")))?;
        Ok(Some((target, secret)))
    }
}
