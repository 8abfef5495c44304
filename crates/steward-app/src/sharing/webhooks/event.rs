//! The `event` kind: a change told to an integration's subscription. The store queues one
//! delivery per subscription that wants it, with the change, its reference holding the
//! event's type, ids and field names; each attempt builds the Standard Webhooks envelope from
//! that as it stands, so an erasure before the attempt leaves ids only.
//!
//! Values go with a customer's created or updated event only when its subscription names a
//! vendor and a purpose, and then through the one `share` (I6): at each attempt, the event's
//! fields that the purpose needs are shared with the vendor for this customer, checked against
//! the vendor's agreement in force, the transfer rules for the customer's residency and the
//! customer's lawful basis (consent where the purpose needs it, an upheld objection). What the
//! share recorded as disclosed is what the message carries; refused, or the customer left
//! out, the message carries names only.

use jiff::Timestamp;
use serde_json::value::RawValue;
use steward_store::{EventNote, SubscriptionRow, WebhookRow};
use uuid::Uuid;

use super::Prepared;
use crate::security::access::LEGAL_OBLIGATION;
use crate::sharing::share_input::{ShareDelivery, ShareInput};
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

/// The event type a subscription's delivery carries, from its reference.
pub(super) fn event_type(reference: &str) -> Option<String> {
    serde_json::from_str::<Reference>(reference)
        .ok()
        .map(|r| r.kind)
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
    data: Data<'a>,
}

#[derive(serde::Serialize)]
struct Data<'a> {
    #[serde(flatten)]
    noted: &'a serde_json::Map<String, serde_json::Value>,
    /// The shared fields' values, when the subscription's vendor and purpose allowed them.
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_id: Option<Uuid>,
}

/// What a share at the attempt let go with the event.
struct Shared {
    share_id: Uuid,
    purpose: String,
    fields: Vec<String>,
    values: Box<RawValue>,
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
    let subscription = match row.subscription_id {
        Some(id) => app.store.subscription(id).await?,
        None => None,
    };
    let shared = match &subscription {
        Some(s) => values(app, s, &reference).await?,
        None => None,
    };
    let body = serde_json::to_vec(&Envelope {
        kind: &reference.kind,
        timestamp: at,
        data: Data {
            noted: &reference.data,
            values: shared.as_ref().map(|s| &*s.values),
            share_id: shared.as_ref().map(|s| s.share_id),
        },
    })
    .map_err(AppError::Encode)?;
    let subscription = row
        .subscription_id
        .map(|s| s.to_string())
        .unwrap_or_default();
    let audit = app.record(
        &system(),
        "webhook.event.deliver",
        shared.as_ref().map(|s| s.purpose.as_str()),
        vec![row.subject_id.to_string(), subscription],
        shared
            .as_ref()
            .map(|s| s.fields.clone())
            .unwrap_or_default(),
        Some(reference.kind),
    );
    Ok(Prepared { body, audit })
}

/// The values that may go with a customer's event now, shared (and so checked, recorded as a
/// disclosure and audited) for this attempt; none when the subscription names no vendor, the
/// event names no field the purpose needs, the customer is gone, or the share is refused or
/// leaves them out.
async fn values(
    app: &Steward,
    subscription: &SubscriptionRow,
    reference: &Reference,
) -> Result<Option<Shared>, AppError> {
    let (Some(vendor), Some(purpose)) = (subscription.vendor_id, &subscription.purpose) else {
        return Ok(None);
    };
    let about_fields = matches!(
        EventType::parse(&reference.kind),
        Some(EventType::CustomerCreated | EventType::CustomerUpdated)
    );
    let customer = reference
        .data
        .get("customer_id")
        .and_then(|c| c.as_str())
        .and_then(|c| Uuid::parse_str(c).ok());
    let Some(customer) = customer.filter(|_| about_fields) else {
        return Ok(None);
    };
    let fields: Vec<String> = reference
        .data
        .get("fields")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .filter(|f| app.catalog.field(f).is_some_and(|d| d.needed_for(purpose)))
        .map(str::to_string)
        .collect();
    if fields.is_empty() || app.store.get_customer(customer).await?.is_none() {
        return Ok(None);
    }
    let access = app.access(
        &Actor::system("webhooks", &[LEGAL_OBLIGATION]),
        Some(LEGAL_OBLIGATION),
    )?;
    let input = ShareInput {
        vendor_id: vendor,
        purpose: purpose.clone(),
        fields,
        customer_ids: Some(vec![customer]),
        segment_id: None,
        audience: None,
        delivery: ShareDelivery::File,
    };
    let share = match app.shares().share(&access, input).await {
        Ok(share) => share,
        // Refused by the register (the share audits its refusal), or asked for in a way the
        // catalog no longer accepts: the event goes with names only.
        Err(AppError::Refused(_) | AppError::Invalid(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if share.shared == 0 {
        return Ok(None);
    }
    let disclosures = app
        .store
        .share_disclosures_between(share.id, customer, customer)
        .await?;
    let opened = app.open_disclosures(share.id, &disclosures).await?;
    Ok(opened
        .customers
        .into_iter()
        .next()
        .map(|(_, values)| Shared {
            share_id: share.id,
            purpose: share.purpose,
            fields: share.fields,
            values,
        }))
}
