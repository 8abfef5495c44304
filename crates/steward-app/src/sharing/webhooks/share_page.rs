//! The `share.page` kind: a share delivered by webhook goes as one message per page of its
//! customers, in customer order. The delivery row keeps only the page's first and last
//! customer; each attempt opens those customers' disclosures with their own data keys, so a
//! customer erased before an attempt is withheld from it (and counted), as in the download.

use jiff::Timestamp;
use steward_store::WebhookRow;
use uuid::Uuid;

use super::{Kind, Prepared};
use crate::sharing::encoded;
use crate::sharing::share_view::ShareView;
use crate::{Actor, AppError, Steward};

/// Customers per message: a vendor's receiver takes a few hundred kilobytes at most at once.
pub(crate) const PAGE: usize = 500;

/// Which customers of the share a delivery carries.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PageRef {
    first: Uuid,
    last: Uuid,
    /// From 1.
    page: usize,
    pages: usize,
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: Timestamp,
    data: Data<'a>,
}

#[derive(serde::Serialize)]
struct Data<'a> {
    share_id: Uuid,
    vendor_id: Uuid,
    agreement_id: Uuid,
    purpose: &'a str,
    fields: &'a [String],
    page: usize,
    pages: usize,
    /// Customers of this page erased since the share: their values are no longer delivered.
    withheld: u64,
    customers: Vec<Customer<'a>>,
}

#[derive(serde::Serialize)]
struct Customer<'a> {
    customer_id: Uuid,
    fields: &'a serde_json::value::RawValue,
}

/// The deliveries that will carry a share to its vendor: one per page of `customers`.
pub(crate) fn deliveries(
    share: Uuid,
    vendor: Uuid,
    mut customers: Vec<Uuid>,
    now: i64,
) -> Result<Vec<WebhookRow>, AppError> {
    customers.sort_unstable();
    let pages = customers.len().div_ceil(PAGE);
    customers
        .chunks(PAGE)
        .enumerate()
        .map(|(i, chunk)| {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                return Err(AppError::Internal("an empty page of a share".into()));
            };
            Ok(WebhookRow {
                id: Uuid::now_v7(),
                vendor_id: Some(vendor),
                subscription_id: None,
                kind: Kind::SharePage.as_str().into(),
                subject_id: share,
                reference: encoded(&PageRef {
                    first: *first,
                    last: *last,
                    page: i + 1,
                    pages,
                })?,
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                settled_at: None,
            })
        })
        .collect()
}

/// The page's message as of `at`, from the disclosures as they stand.
pub(crate) async fn prepare(
    app: &Steward,
    row: &WebhookRow,
    at: Timestamp,
) -> Result<Prepared, AppError> {
    let page: PageRef = serde_json::from_str(&row.reference)
        .map_err(|_| AppError::corrupt(format!("webhook delivery {}", row.id)))?;
    let share = ShareView::of(
        &app.store
            .share(row.subject_id)
            .await?
            .ok_or_else(|| AppError::corrupt(format!("webhook delivery {}", row.id)))?,
    )?;
    let disclosures = app
        .store
        .share_disclosures_between(share.id, page.first, page.last)
        .await?;
    let opened = app.open_disclosures(share.id, &disclosures).await?;
    let body = serde_json::to_vec(&Payload {
        kind: Kind::SharePage.as_str(),
        timestamp: at,
        data: Data {
            share_id: share.id,
            vendor_id: share.vendor_id,
            agreement_id: share.agreement_id,
            purpose: &share.purpose,
            fields: &share.fields,
            page: page.page,
            pages: page.pages,
            withheld: opened.withheld,
            customers: opened
                .customers
                .iter()
                .map(|(customer_id, fields)| Customer {
                    customer_id: *customer_id,
                    fields,
                })
                .collect(),
        },
    })
    .map_err(AppError::Encode)?;
    let audit = app.record(
        &Actor::system("webhooks", &[]),
        "share.deliver",
        Some(&share.purpose),
        opened
            .customers
            .iter()
            .map(|(id, _)| id.to_string())
            .collect(),
        share.fields.clone(),
        None,
    );
    Ok(Prepared { body, audit })
}
