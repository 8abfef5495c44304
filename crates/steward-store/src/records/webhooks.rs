//! Webhook delivery to vendors and to integrations' subscriptions: endpoints, subscriptions,
//! the events changes queue, deliveries in the outbox, and their attempts.

use uuid::Uuid;

/// A vendor's webhook endpoint: its HTTPS URL and its signing secret, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRow {
    pub vendor_id: Uuid,
    pub url: String,
    pub secret: Vec<u8>,
    pub set_by: String,
    pub set_at: i64,
}

/// An integration's subscription to events: where they go, which, its signing secret sealed,
/// and the vendor and purpose under which values may go with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: Vec<u8>,
    pub active: bool,
    pub vendor_id: Option<Uuid>,
    pub purpose: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A change integrations may subscribe to, written with the change: the store queues one
/// delivery per active subscription that wants its `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// `customer.created`, `customer.updated`, ...
    pub kind: String,
    /// The customer (or the request) it is about.
    pub subject_id: Uuid,
    pub at: i64,
    /// Ids and field names as a JSON object, never a value: the delivery's reference.
    pub data: String,
}

/// One message to a vendor or to a subscription waiting in (or settled from) the outbox. It
/// names what it is about and no more; its body is built when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: Uuid,
    /// The vendor it goes to, or
    pub vendor_id: Option<Uuid>,
    /// the subscription it goes to.
    pub subscription_id: Option<Uuid>,
    /// `share.page`, ...
    pub kind: String,
    /// What the message is about (a share, ...), so its deliveries can be counted.
    pub subject_id: Uuid,
    /// Which part of the subject, as JSON the app writes and reads.
    pub reference: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    Delivered,
    /// Try again at the given time.
    Retry {
        at: i64,
    },
    /// Given up on.
    Failed,
}

impl WebhookOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retry { .. } => "retry",
            WebhookOutcome::Failed => "failed",
        }
    }

    pub(crate) fn from_parts(s: &str, retry_at: Option<i64>) -> crate::Result<WebhookOutcome> {
        match (s, retry_at) {
            ("delivered", _) => Ok(WebhookOutcome::Delivered),
            ("retry", Some(at)) => Ok(WebhookOutcome::Retry { at }),
            ("failed", _) => Ok(WebhookOutcome::Failed),
            (other, _) => Err(crate::StoreError::Corrupt(format!(
                "webhook outcome {other:?}"
            ))),
        }
    }
}

/// One attempt to deliver a message, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub delivery_id: Uuid,
    /// 1 for the first.
    pub attempt: i64,
    pub at: i64,
    pub outcome: WebhookOutcome,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// What went wrong when it did not (`timeout`, `connect`, `tls`, ...): a kind, never a
    /// message from the other side.
    pub error: Option<String>,
    /// How long the attempt took.
    pub micros: i64,
}

/// How many of a subject's deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookProgress {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}
