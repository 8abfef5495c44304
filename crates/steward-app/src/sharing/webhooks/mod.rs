//! Webhooks to vendors (Standard Webhooks): a vendor's HTTPS endpoint and its signing secret
//! (`endpoint.rs`), the HTTPS client they leave by (`client.rs`), the outbox of deliveries and
//! the sender that drains it with retries, recording every attempt (`outbox.rs`), and the one
//! kind of delivery so far, a page of a share's customers (`share_page.rs`).
//!
//! A delivery row says what it is about and nothing more; its kind builds the body at each
//! attempt from what is kept sealed, so the outbox never holds a personal value and an erasure
//! before an attempt is honoured by it. A new kind adds a variant to [`Kind`] and an arm to
//! its two matches: the body it sends, and what it makes of the outcome.

mod client;
mod endpoint;
mod outbox;
pub(crate) mod share_page;

use std::path::PathBuf;

pub use endpoint::{WebhookEndpointView, WebhookInput, WebhookSecretShown};
pub use outbox::{WebhookAttemptView, WebhookDeliveryView, WebhookRound};

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
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::SharePage => "share.page",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "share.page" => Some(Kind::SharePage),
            _ => None,
        }
    }
}
