//! The `event` kind: a change told to an integration's subscription. The store queues one
//! delivery per subscription that wants it, with the change, its reference holding the
//! event's type, ids and field names; each attempt builds the Standard Webhooks envelope from
//! that as it stands, so an erasure before the attempt leaves ids only.

use jiff::Timestamp;
use steward_store::{EventNote, WebhookRow};
use uuid::Uuid;

use super::Prepared;
use crate::{Actor, AppError, Steward};

/// The events a subscription may want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    CustomerCreated,
    CustomerUpdated,
    CustomerErased,
    ConsentChanged,
    RequestCompleted,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::CustomerCreated,
        EventType::CustomerUpdated,
        EventType::CustomerErased,
        EventType::ConsentChanged,
        EventType::RequestCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
            EventType::CustomerErased => "customer.erased",
            EventType::ConsentChanged => "consent.changed",
            EventType::RequestCompleted => "request.completed",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// An event about a customer, naming the fields it concerns (none for an erasure), for the
/// store to queue with the change.
pub(crate) fn note(kind: EventType, customer: Uuid, fields: &[String], at: i64) -> EventNote {
    let data = if fields.is_empty() && kind == EventType::CustomerErased {
        serde_json::json!({ "customer_id": customer })
    } else {
        serde_json::json!({ "customer_id": customer, "fields": fields })
    };
    EventNote {
        kind: kind.as_str().into(),
        subject_id: customer,
        at,
        data: data.to_string(),
    }
}

/// What the store wrote in the delivery's reference.
#[derive(serde::Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Map<String, serde_json::Value>,
}

#[derive(serde::Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: Timestamp,
    data: &'a serde_json::Map<String, serde_json::Value>,
}

fn system() -> Actor {
    Actor::system("webhooks", &[])
}

/// The event's message as of `at`.
pub(crate) async fn prepare(
    app: &Steward,
    row: &WebhookRow,
    at: Timestamp,
) -> Result<Prepared, AppError> {
    let reference: Reference = serde_json::from_str(&row.reference)
        .map_err(|_| AppError::corrupt(format!("webhook delivery {}", row.id)))?;
    let body = serde_json::to_vec(&Envelope {
        kind: &reference.kind,
        timestamp: at,
        data: &reference.data,
    })
    .map_err(AppError::Encode)?;
    let subscription = row
        .subscription_id
        .map(|s| s.to_string())
        .unwrap_or_default();
    let audit = app.record(
        &system(),
        "webhook.event.deliver",
        None,
        vec![row.subject_id.to_string(), subscription],
        vec![],
        Some(reference.kind),
    );
    Ok(Prepared { body, audit })
}
