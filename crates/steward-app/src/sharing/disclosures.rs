//! What a share delivered, read back: the share as recorded, its signed document for the
//! vendor, and, per customer, who received their data, from which country, for what and when
//! (Art. 15(1)(c)).
//!
//! The document is rebuilt at every download from the disclosures, each customer's values
//! opened with that customer's data key, and signed with the installation's Ed25519 share
//! key (its own, apart from the keys of receipts and of the audit log). A customer erased since the share has no key left, so their values are gone from the
//! document too; the header counts them as withheld.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_store::DisclosureRow;
use uuid::Uuid;

use super::require_reader;
use super::share_view::{DisclosureBody, ShareView, sealed_label};
use crate::collection::customers::unwrap_stored;
use crate::services::Shares;
use crate::{Access, Actor, AppError, Steward};

const PAGE: usize = 1_000;

/// A share's document as a vendor receives it: JSON lines (a header, then one line per
/// customer), with an Ed25519 signature over exactly those bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareDocument {
    pub share_id: Uuid,
    pub body: String,
    /// `Ed25519`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub algorithm: &'static str,
    /// The signature over `body`, base64.
    pub signature: String,
    /// The key that verifies it, base64 (32 bytes).
    pub public_key: String,
}

/// One disclosure of a customer's data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisclosureView {
    pub share_id: Uuid,
    pub vendor_id: Uuid,
    /// The recipient, as the register names it.
    pub vendor: String,
    pub purpose: String,
    pub categories: Vec<String>,
    /// Each country the data reached, through whom, and on what basis.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub destinations: Vec<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    share_id: Uuid,
    vendor_id: Uuid,
    agreement_id: Uuid,
    purpose: &'a str,
    fields: &'a [String],
    created_at: Timestamp,
    /// Customers shared then and erased since: their values are no longer delivered.
    withheld: u64,
}

#[derive(serde::Serialize)]
struct Line<'a> {
    customer_id: Uuid,
    fields: &'a serde_json::value::RawValue,
}

fn write_line(
    lines: &mut Vec<u8>,
    customer_id: Uuid,
    fields: &serde_json::value::RawValue,
) -> Result<(), AppError> {
    serde_json::to_writer(
        &mut *lines,
        &Line {
            customer_id,
            fields,
        },
    )
    .map_err(AppError::Encode)?;
    lines.push(b'\n');
    Ok(())
}

/// Appends one customer's line of a share's document, `values` being the JSON object of the
/// values shared, as they are sealed.
pub(crate) fn push_line(
    lines: &mut Vec<u8>,
    customer_id: Uuid,
    values: &[u8],
) -> Result<(), AppError> {
    let fields: &serde_json::value::RawValue = serde_json::from_slice(values)
        .map_err(|_| AppError::corrupt(format!("values shared of customer {customer_id}")))?;
    write_line(lines, customer_id, fields)
}

/// A share's document: its header, then `lines`, signed with the installation's share key.
pub(crate) fn signed_document(
    app: &Steward,
    share: &ShareView,
    withheld: u64,
    lines: &[u8],
) -> Result<ShareDocument, AppError> {
    let mut body = serde_json::to_vec(&Header {
        share_id: share.id,
        vendor_id: share.vendor_id,
        agreement_id: share.agreement_id,
        purpose: &share.purpose,
        fields: &share.fields,
        created_at: share.created_at,
        withheld,
    })
    .map_err(AppError::Encode)?;
    body.push(b'\n');
    body.extend_from_slice(lines);
    let body = String::from_utf8(body).map_err(|e| AppError::Internal(e.to_string()))?;
    let signer = app.vault.share_signer();
    Ok(ShareDocument {
        share_id: share.id,
        algorithm: "Ed25519",
        signature: STANDARD.encode(signer.sign(body.as_bytes())),
        public_key: STANDARD.encode(signer.public_key()),
        body,
    })
}

impl Shares<'_> {
    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<ShareView, AppError> {
        require_reader(actor)?;
        let row = self.app.store.share(id).await?.ok_or(AppError::NotFound)?;
        let mut view = ShareView::of(&row)?;
        if view.delivery == "webhook" {
            let p = self.app.store.webhook_progress(id).await?;
            let count = |n: i64| u64::try_from(n).unwrap_or_default();
            view.deliveries = Some(super::share_view::DeliveryProgress {
                pending: count(p.pending),
                delivered: count(p.delivered),
                failed: count(p.failed),
            });
        }
        Ok(view)
    }

    /// The latest shares, newest first, at most `limit` (capped at 500).
    pub async fn list(&self, actor: &Actor, limit: usize) -> Result<Vec<ShareView>, AppError> {
        require_reader(actor)?;
        self.app
            .store
            .shares(limit.min(500))
            .await?
            .iter()
            .map(ShareView::of)
            .collect()
    }

    /// The share's signed document; reading it is audited, a page of customers per entry.
    pub async fn download(&self, access: &Access, id: Uuid) -> Result<ShareDocument, AppError> {
        super::require_keeper(access)?;
        let app = self.app;
        let share = ShareView::of(&app.store.share(id).await?.ok_or(AppError::NotFound)?)?;
        let mut lines: Vec<u8> = Vec::new();
        let mut withheld = 0u64;
        let mut after = None;
        loop {
            let page = app.store.share_disclosures(id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id);
            let opened = app.open_disclosures(id, &page).await?;
            withheld += opened.withheld;
            let mut read = Vec::with_capacity(opened.customers.len());
            for (customer_id, fields) in &opened.customers {
                write_line(&mut lines, *customer_id, fields)?;
                read.push(customer_id.to_string());
            }
            if !read.is_empty() {
                app.append(vec![app.access_record(
                    access,
                    "share.download",
                    read,
                    share.fields.clone(),
                )])
                .await?;
            }
        }
        signed_document(app, &share, withheld, &lines)
    }

    /// Who received a customer's data, oldest first. Any purpose that opens records may ask;
    /// the answer holds no personal value, only where the data went.
    pub async fn disclosures(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<DisclosureView>, AppError> {
        access.require_record_access()?;
        let views = self.app.disclosure_views(customer).await?;
        self.app
            .append(vec![self.app.access_record(
                access,
                "customer.disclosures",
                vec![customer.to_string()],
                vec![],
            )])
            .await?;
        Ok(views)
    }
}

/// A page of a share's disclosures opened: each customer still known with the values sent,
/// and how many were erased since and are withheld.
pub(crate) struct Opened {
    /// Each customer's values as the JSON object that was sealed: checked, and written on as
    /// they are rather than parsed and printed again.
    pub customers: Vec<(Uuid, Box<serde_json::value::RawValue>)>,
    pub withheld: u64,
}

impl Steward {
    /// Opens what a share sent each customer of `page`, with each one's own data key.
    pub(crate) async fn open_disclosures(
        &self,
        share: Uuid,
        page: &[DisclosureRow],
    ) -> Result<Opened, AppError> {
        let label = sealed_label(share);
        let ids: Vec<Uuid> = page.iter().map(|d| d.customer_id).collect();
        let mut keys = self.keys.data_keys(&ids).await?;
        let mut opened = Opened {
            customers: Vec::with_capacity(page.len()),
            withheld: 0,
        };
        for d in page {
            let Some(stored) = keys.remove(&d.customer_id) else {
                opened.withheld += 1;
                continue;
            };
            let dek = self
                .vault
                .open_data_key(&d.customer_id, &unwrap_stored(stored))?;
            let plain = dek.open(&label, &d.sealed).map_err(|_| {
                AppError::Integrity(format!("share {share} customer {}", d.customer_id))
            })?;
            let fields: Box<serde_json::value::RawValue> =
                serde_json::from_slice(&plain).map_err(|_| {
                    AppError::corrupt(format!("share {share} customer {}", d.customer_id))
                })?;
            opened.customers.push((d.customer_id, fields));
        }
        Ok(opened)
    }

    /// A customer's disclosures, each with its recipient's name.
    pub(crate) async fn disclosure_views(
        &self,
        customer: Uuid,
    ) -> Result<Vec<DisclosureView>, AppError> {
        let rows = self.store.disclosures_of(customer).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let names: BTreeMap<Uuid, String> = self
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| (v.id, v.legal_name))
            .collect();
        rows.iter()
            .map(|d| disclosure_view(d, names.get(&d.vendor_id).cloned().unwrap_or_default()))
            .collect()
    }
}

fn disclosure_view(d: &DisclosureRow, vendor: String) -> Result<DisclosureView, AppError> {
    let body: DisclosureBody = serde_json::from_str(&d.disclosure)
        .map_err(|_| AppError::corrupt(format!("disclosure {} {}", d.share_id, d.customer_id)))?;
    Ok(DisclosureView {
        share_id: d.share_id,
        vendor_id: d.vendor_id,
        vendor,
        purpose: d.purpose.clone(),
        categories: body.categories,
        destinations: body.destinations,
        at: from_micros(d.at),
    })
}
