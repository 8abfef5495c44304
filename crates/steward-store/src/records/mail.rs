//! The outbox: messages, their deliveries and their links.

use uuid::Uuid;

/// A message waiting in (or sent from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `confirmation`, `campaign`, ...
    pub kind: String,
    pub campaign_id: Option<Uuid>,
    /// The message, sealed with the customer's data key.
    pub sealed: Vec<u8>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What one attempt to deliver a message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Try again at the given time.
    Retry {
        at: i64,
    },
    /// Given up on.
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Failed => "failed",
        }
    }

    pub(crate) fn from_parts(s: &str, retry_at: Option<i64>) -> crate::Result<DeliveryOutcome> {
        match (s, retry_at) {
            ("sent", _) => Ok(DeliveryOutcome::Sent),
            ("retry", Some(at)) => Ok(DeliveryOutcome::Retry { at }),
            ("failed", _) => Ok(DeliveryOutcome::Failed),
            (other, _) => Err(crate::StoreError::Corrupt(format!(
                "delivery outcome {other:?}"
            ))),
        }
    }
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: Uuid,
    pub attempt: i64,
    pub at: i64,
    pub outcome: DeliveryOutcome,
    /// A status code or an error kind; never an address.
    pub detail: Option<String>,
}

/// A link, sent by email, that acts for a customer; kept under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLink {
    pub token_hash: [u8; 32],
    /// `confirm` or `unsubscribe`.
    pub kind: String,
    pub customer_id: Uuid,
    pub purpose: String,
    pub notice_version: Option<String>,
    /// How the consent the link confirms was first expressed.
    pub method: String,
    pub campaign_id: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Spends a single-use link at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentLink {
    pub token_hash: [u8; 32],
    pub at: i64,
}
