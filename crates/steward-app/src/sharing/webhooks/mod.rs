//! Webhooks to vendors (Standard Webhooks): a vendor's HTTPS endpoint and its signing secret
//! (`endpoint.rs`), the HTTPS client they leave by (`client.rs`), the outbox of deliveries and
//! the sender that drains it with retries, recording every attempt (`outbox.rs`), and the
//! kinds of delivery: a page of a share's customers (`share_page.rs`), an Art. 19 notice to
//! a recipient (`recipient_notice.rs`), and an event told to an integration's subscription
//! (`subscriptions.rs` the subscriptions, `event.rs` the message).
//!
//! A delivery row says what it is about and nothing more; its kind builds the body at each
//! attempt from what is kept sealed, so the outbox never holds a personal value and an erasure
//! before an attempt is honoured by it. A new kind adds a variant to [`Kind`] and an arm to
//! its two matches: the body it sends, and what it makes of the outcome.

mod client;
mod endpoint;
mod event;
mod outbox;
mod recipient_notice;
pub(crate) mod share_page;
mod subscriptions;

use std::path::PathBuf;

use steward_core::audit::AuditRecord;

pub use endpoint::{WebhookEndpointView, WebhookInput, WebhookSecretShown};
pub use event::EventType;
pub(crate) use event::note;
pub use outbox::{WebhookAttemptView, WebhookDeliveryView, WebhookRound};
pub use subscriptions::{
    SubscriptionInput, SubscriptionPatch, SubscriptionShown, SubscriptionView,
};

/// How webhooks leave this installation.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// A PEM file of root certificates trusted beside the platform's, for endpoints behind a
    /// private authority.
    pub extra_roots: Option<PathBuf>,
}

/// The sender's configured parts, checked once at start-up.
pub(crate) struct Hooks {
    client: client::Client,
    /// Woken when a commit queued deliveries, so they leave at once rather than at the next
    /// poll.
    queued: tokio::sync::Notify,
}

impl Hooks {
    pub(crate) fn new(settings: &WebhookSettings) -> Result<Hooks, crate::AppError> {
        Ok(Hooks {
            client: client::Client::new(settings.extra_roots.as_deref())?,
            queued: tokio::sync::Notify::new(),
        })
    }
}

impl crate::Steward {
    /// Wakes the sender after a commit that queued deliveries.
    pub(crate) fn webhooks_queued(&self) {
        self.hooks.queued.notify_one();
    }
}

/// What a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One page of a share's customers, with the agreed fields of each.
    SharePage,
    /// An erasure, rectification or restriction told to a vendor that received the customer's
    /// data (Art. 19): ids, field names and a due date, no value.
    RecipientNotice,
    /// A change an integration subscribed to: ids and field names, and values only when the
    /// subscription's vendor and purpose allow them at the attempt.
    Event,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::SharePage => "share.page",
            Kind::RecipientNotice => "recipient.notice",
            Kind::Event => "event",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "share.page" => Some(Kind::SharePage),
            "recipient.notice" => Some(Kind::RecipientNotice),
            "event" => Some(Kind::Event),
            _ => None,
        }
    }
}

/// A message ready to sign, and the audit entry its sending makes (its detail left to the
/// sender, which knows the outcome).
pub(crate) struct Prepared {
    pub body: Vec<u8>,
    pub audit: AuditRecord,
}
