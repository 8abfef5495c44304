//! The one way personal data leaves for a third party: a share with a vendor, checked against
//! the register and the vendor's agreements for every residency among the customers (I6),
//! carrying only the asked fields of the customers with a lawful basis for the purpose, the
//! others counted by reason. What went is kept as one disclosure per customer, the values
//! sealed under that customer's data key; the share, its disclosures and its audit entries
//! commit together, or, refused, only the refusal is audited.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use steward_core::catalog::FieldDef;
use steward_core::consent::{self, ConsentMethod, ConsentState, Moment};
use steward_core::customer::CustomerStatus;
use steward_core::sharing::{Clearance, Refusal, check_share};
use steward_core::{CountryCode, PurposeDef};
use steward_store::{ConsentEvent, CustomerRow, DisclosureRow, SegmentQuery, ShareRow};
use uuid::Uuid;

use super::register::Dossier;
use super::{encoded, require_keeper};
use crate::collection::customers::unwrap_stored;
use crate::services::Shares;
use crate::{Access, AppError, Steward};

/// Customers read, checked and sealed per page, so a large share never holds every
/// customer's values in the clear at once.
const PAGE: usize = 1_000;

/// What the privacy officer asks to share: the fields of a set of customers (given by id, or
/// a saved segment), for a purpose, with a vendor.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    pub vendor_id: Uuid,
    pub purpose: String,
    pub fields: Vec<String>,
    #[serde(default)]
    pub customer_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    /// `file` (the default) or `webhook`, to the vendor's endpoint.
    #[serde(default)]
    pub delivery: ShareDelivery,
}

/// How a share reaches its vendor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShareDelivery {
    /// A signed JSON-lines document the privacy officer downloads and hands over.
    #[default]
    File,
    /// Pushed to the vendor's endpoint, a page of customers per signed message.
    Webhook,
}

impl ShareDelivery {
    fn as_str(self) -> &'static str {
        match self {
            ShareDelivery::File => "file",
            ShareDelivery::Webhook => "webhook",
        }
    }
}

/// How far a share's webhook deliveries have come, in messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryProgress {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// Why a customer asked for was left out of a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exclusion {
    /// The purpose rests on consent and none is given and unexpired.
    NoConsent,
    /// Processing is restricted (Art. 18).
    Restricted,
    /// The customer objected to the purpose (Art. 21).
    Objected,
    /// The customer's account is closed.
    Closed,
    /// No such customer, or one erased.
    NotFound,
    /// The transfer rests on the customer's explicit consent (Art. 49(1)(a)), which Steward
    /// does not record yet, so nobody qualifies.
    NoExplicitConsent,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::NoConsent => "no_consent",
            Exclusion::Restricted => "restricted",
            Exclusion::Objected => "objected",
            Exclusion::Closed => "closed",
            Exclusion::NotFound => "not_found",
            Exclusion::NoExplicitConsent => "no_explicit_consent",
        }
    }
}

/// What a share records beside its columns, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ShareBody {
    pub fields: Vec<String>,
    pub categories: Vec<String>,
    pub excluded: BTreeMap<String, u64>,
    pub delivery: String,
}

/// Where one customer's data went and on what basis, as a disclosure records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DisclosureBody {
    pub agreement_id: Uuid,
    pub categories: Vec<String>,
    /// Each country the data reaches, through whom, and on what basis.
    pub destinations: Vec<serde_json::Value>,
}

/// A share as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareView {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub agreement_id: Uuid,
    pub purpose: String,
    pub fields: Vec<String>,
    pub shared: u64,
    /// Customers asked for and left out, by reason.
    pub excluded: BTreeMap<String, u64>,
    /// How the data is delivered: `file`, a signed JSON-lines document to download, or
    /// `webhook`, pushed to the vendor's endpoint.
    pub delivery: String,
    /// For a webhook share, how many of its messages are pending, delivered and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<DeliveryProgress>,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl ShareView {
    pub(crate) fn of(row: &ShareRow) -> Result<ShareView, AppError> {
        let body: ShareBody = serde_json::from_str(&row.share)
            .map_err(|_| AppError::corrupt(format!("share {}", row.id)))?;
        Ok(ShareView {
            id: row.id,
            vendor_id: row.vendor_id,
            agreement_id: row.agreement_id,
            purpose: row.purpose.clone(),
            fields: body.fields,
            shared: u64::try_from(row.shared).unwrap_or_default(),
            excluded: body.excluded,
            delivery: body.delivery,
            deliveries: None,
            created_by: row.created_by.clone(),
            created_at: steward_core::clock::from_micros(row.created_at),
        })
    }
}

/// The label a share's sealed values are bound to, so one share's values cannot pass for
/// another's.
pub(crate) fn sealed_label(share: Uuid) -> String {
    format!("share:{share}")
}

/// Where the customers of a share come from.
enum Source {
    Ids(Vec<Uuid>),
    Segment(Box<SegmentQuery>),
}

/// A share being put together: what it checked, whom it left out, what it will record.
struct Draft<'a> {
    id: Uuid,
    vendor_id: Uuid,
    dossier: &'a Dossier,
    purpose: &'a PurposeDef,
    fields: Vec<&'a FieldDef>,
    categories: Vec<String>,
    now: Timestamp,
    moment: Moment,
    cleared: HashMap<String, Clearance>,
    excluded: BTreeMap<Exclusion, u64>,
    disclosures: Vec<DisclosureRow>,
    audit: Vec<steward_core::audit::AuditRecord>,
    delivery: ShareDelivery,
}

impl Shares<'_> {
    /// Shares the asked fields of the asked customers with a vendor, for a purpose. Refused
    /// (`AppError::Refused`, its code naming the first reason) unless the vendor is in good
    /// standing and an agreement in force covers the purpose, every field's category and every
    /// country the data reaches for each residency among the customers; then only the refusal
    /// is audited. Customers without a lawful basis for the purpose are left out and counted.
    pub async fn share(&self, access: &Access, input: ShareInput) -> Result<ShareView, AppError> {
        require_keeper(access)?;
        let app = self.app;
        let purpose = app
            .catalog
            .purpose(&input.purpose)
            .ok_or_else(|| AppError::invalid("purpose", "is not a purpose of the catalog"))?;
        let fields = asked_fields(app, &input.fields, &purpose.key)?;
        let source = source(app, &input).await?;
        let dossier = app
            .dossier(input.vendor_id)
            .await?
            .ok_or_else(|| AppError::invalid("vendor_id", "is not a vendor of the register"))?;
        if input.delivery == ShareDelivery::Webhook
            && app.store.webhook(input.vendor_id).await?.is_none()
        {
            return Err(AppError::invalid(
                "delivery",
                "the vendor has no webhook endpoint: set one, or deliver as a file",
            ));
        }
        let mut categories: Vec<String> = fields.iter().map(|f| f.category.clone()).collect();
        categories.sort();
        categories.dedup();
        let mut draft = Draft {
            id: Uuid::now_v7(),
            vendor_id: input.vendor_id,
            dossier: &dossier,
            purpose,
            fields,
            categories,
            now: app.clock.now(),
            moment: app.consent_moment().await?,
            cleared: HashMap::new(),
            excluded: BTreeMap::new(),
            disclosures: Vec::new(),
            audit: Vec::new(),
            delivery: input.delivery,
        };
        let outcome = match source {
            Source::Ids(ids) => {
                let mut result = Ok(());
                for chunk in ids.chunks(PAGE) {
                    let rows = app.store.get_customers(chunk).await?;
                    let found: BTreeSet<Uuid> = rows.iter().map(|r| r.id).collect();
                    let missing = chunk.iter().filter(|id| !found.contains(id)).count();
                    *draft.excluded.entry(Exclusion::NotFound).or_default() += missing as u64;
                    result = draft.page(app, access, &rows).await?;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
            Source::Segment(query) => {
                let mut result = Ok(());
                let mut after = None;
                loop {
                    let rows = app.store.segment_page(&query, after, PAGE).await?;
                    let Some(last) = rows.last() else { break };
                    after = Some(last.id);
                    result = draft.page(app, access, &rows).await?;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        if let Err(refusal) = outcome {
            return Err(refused(app, access, &input, refusal).await);
        }
        let asked_by = if input.segment_id.is_some() {
            "segment_id"
        } else {
            "customer_ids"
        };
        draft.record(app, access, asked_by).await
    }
}

/// Audits a refused share (nothing else is written) and answers with the refusal.
async fn refused(app: &Steward, access: &Access, input: &ShareInput, refusal: Refusal) -> AppError {
    let mut record = app.access_record(
        access,
        "share.refused",
        vec![input.vendor_id.to_string()],
        vec![],
    );
    let mut detail = format!("purpose {}; code {}", input.purpose, refusal.code());
    if let Some(field) = refusal.field() {
        detail.push_str(&format!("; field {field}"));
    }
    if let Some(country) = refusal.country() {
        detail.push_str(&format!("; country {country}"));
    }
    record.detail = Some(detail);
    match app.append(vec![record]).await {
        Ok(()) => AppError::Refused(refusal),
        Err(e) => e,
    }
}

/// The asked fields, each in the catalog and needed for the purpose (minimisation), once each.
fn asked_fields<'a>(
    app: &'a Steward,
    asked: &[String],
    purpose: &str,
) -> Result<Vec<&'a FieldDef>, AppError> {
    if asked.is_empty() {
        return Err(AppError::invalid("fields", "name at least one field"));
    }
    let mut fields: Vec<&FieldDef> = Vec::with_capacity(asked.len());
    for key in asked {
        let def = app
            .catalog
            .field(key)
            .ok_or_else(|| AppError::invalid("fields", format!("{key} is not in the catalog")))?;
        if !def.needed_for(purpose) {
            return Err(AppError::invalid(
                "fields",
                format!("{key} is not needed for {purpose}"),
            ));
        }
        if !fields.iter().any(|f| f.key == def.key) {
            fields.push(def);
        }
    }
    Ok(fields)
}

async fn source(app: &Steward, input: &ShareInput) -> Result<Source, AppError> {
    match (&input.customer_ids, input.segment_id) {
        (Some(_), Some(_)) => Err(AppError::invalid(
            "segment_id",
            "give customer_ids or a segment_id, not both",
        )),
        (None, None) => Err(AppError::invalid(
            "customer_ids",
            "give customer_ids or a segment_id",
        )),
        (Some(ids), None) => {
            if ids.is_empty() {
                return Err(AppError::invalid(
                    "customer_ids",
                    "name at least one customer",
                ));
            }
            let mut ids = ids.clone();
            ids.sort();
            ids.dedup();
            Ok(Source::Ids(ids))
        }
        (None, Some(id)) => {
            let saved = app.saved_segment(id).await.map_err(|e| match e {
                AppError::NotFound => AppError::invalid("segment_id", "no such segment"),
                other => other,
            })?;
            let moment = app.consent_moment().await?;
            Ok(Source::Segment(Box::new(app.segment_query(
                &saved.filter,
                "segment_id",
                moment,
            )?)))
        }
    }
}

impl Draft<'_> {
    /// Checks, sifts and seals one page of customers. The outer error is a failure; the inner
    /// one, a refusal of the whole share.
    async fn page(
        &mut self,
        app: &Steward,
        access: &Access,
        rows: &[CustomerRow],
    ) -> Result<Result<(), Refusal>, AppError> {
        for row in rows {
            if !self.cleared.contains_key(&row.residency) {
                let residency = CountryCode::parse(&row.residency)
                    .map_err(|_| AppError::corrupt(format!("customer {} residency", row.id)))?;
                match check_share(
                    &self.dossier.file(),
                    &self.purpose.key,
                    &self.fields,
                    residency,
                    &app.sharing,
                    self.now,
                ) {
                    Ok(clearance) => {
                        self.cleared.insert(row.residency.clone(), clearance);
                    }
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let consents: HashMap<Uuid, ConsentEvent> = app
            .store
            .consents_for(&self.purpose.key, &ids)
            .await?
            .into_iter()
            .map(|e| (e.customer_id, e))
            .collect();
        let mut lawful = Vec::with_capacity(rows.len());
        for row in rows {
            match self.exclusion(row, consents.get(&row.id)) {
                Some(reason) => *self.excluded.entry(reason).or_default() += 1,
                None => lawful.push(row),
            }
        }
        let lawful_ids: Vec<Uuid> = lawful.iter().map(|r| r.id).collect();
        let mut keys = app.keys.data_keys(&lawful_ids)?;
        let label = sealed_label(self.id);
        let mut shared = Vec::with_capacity(lawful.len());
        for row in lawful {
            // A key destroyed since the page was read: that customer is being erased.
            let Some(stored) = keys.remove(&row.id) else {
                *self.excluded.entry(Exclusion::NotFound).or_default() += 1;
                continue;
            };
            let dek = app.vault.open_data_key(&row.id, &unwrap_stored(stored))?;
            let sealed = steward_core::sealed_fields::SealedFields::decode(&row.fields)
                .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
            let mut values = BTreeMap::new();
            for field in &self.fields {
                if let Some(bytes) = sealed.get(&field.key) {
                    let value = dek.open_string(&field.key, bytes).map_err(|_| {
                        AppError::Integrity(format!("customer {} field {}", row.id, field.key))
                    })?;
                    values.insert(field.key.clone(), value);
                }
            }
            let plain =
                zeroize::Zeroizing::new(serde_json::to_vec(&values).map_err(AppError::Encode)?);
            let clearance = self
                .cleared
                .get(&row.residency)
                .ok_or_else(|| AppError::Internal("a residency was not checked".into()))?;
            let body = DisclosureBody {
                agreement_id: clearance.agreement,
                categories: self.categories.clone(),
                destinations: clearance
                    .transfers
                    .destinations
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()
                    .map_err(AppError::Encode)?,
            };
            self.disclosures.push(DisclosureRow {
                share_id: self.id,
                customer_id: row.id,
                vendor_id: self.vendor_id,
                purpose: self.purpose.key.clone(),
                disclosure: encoded(&body)?,
                sealed: dek.seal(&label, &plain),
                at: self.now.as_microsecond(),
            });
            shared.push(row.id.to_string());
        }
        if !shared.is_empty() {
            self.audit.push(app.access_record(
                access,
                "share.read",
                shared,
                self.fields.iter().map(|f| f.key.clone()).collect(),
            ));
        }
        Ok(Ok(()))
    }

    /// Why a customer may not be part of the share, if they may not, given their current
    /// consent event for its purpose.
    fn exclusion(&self, row: &CustomerRow, current: Option<&ConsentEvent>) -> Option<Exclusion> {
        if row.status == CustomerStatus::Restricted.as_str() {
            return Some(Exclusion::Restricted);
        }
        if row.status == CustomerStatus::Closed.as_str() {
            return Some(Exclusion::Closed);
        }
        if current.is_some_and(|e| e.method == ConsentMethod::Objection.as_str()) {
            return Some(Exclusion::Objected);
        }
        if self.purpose.requires_consent {
            let given = current.is_some_and(|e| {
                e.state
                    .parse::<ConsentState>()
                    .ok()
                    .map(|s| consent::effective(s, e.at, e.expires_at, self.moment))
                    == Some(ConsentState::Given)
            });
            if !given {
                return Some(Exclusion::NoConsent);
            }
        }
        let needs_explicit = self
            .cleared
            .get(&row.residency)
            .is_some_and(|c| !c.transfers.per_customer.is_empty());
        needs_explicit.then_some(Exclusion::NoExplicitConsent)
    }

    /// Writes the share, its disclosures and its audit entries in one transaction.
    /// `asked_by` names the input that gave the customers, for the answer when it gave none.
    async fn record(
        mut self,
        app: &Steward,
        access: &Access,
        asked_by: &str,
    ) -> Result<ShareView, AppError> {
        let agreement = match self.cleared.values().next() {
            Some(c) => c.agreement,
            None => {
                return Err(AppError::invalid(
                    asked_by,
                    "names no customer of Steward: nothing to check the share against",
                ));
            }
        };
        let excluded: BTreeMap<String, u64> = self
            .excluded
            .iter()
            .map(|(reason, n)| (reason.as_str().to_string(), *n))
            .collect();
        let body = ShareBody {
            fields: self.fields.iter().map(|f| f.key.clone()).collect(),
            categories: self.categories.clone(),
            excluded,
            delivery: self.delivery.as_str().into(),
        };
        let row = ShareRow {
            id: self.id,
            vendor_id: self.vendor_id,
            agreement_id: agreement,
            purpose: self.purpose.key.clone(),
            share: encoded(&body)?,
            shared: i64::try_from(self.disclosures.len()).unwrap_or(i64::MAX),
            created_by: access.actor.id.clone(),
            created_at: self.now.as_microsecond(),
        };
        let mut record = app.access_record(
            access,
            "share.create",
            vec![self.id.to_string(), self.vendor_id.to_string()],
            vec![],
        );
        let excluded: Vec<String> = body
            .excluded
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        record.detail = Some(format!(
            "purpose {}; agreement {agreement}; shared {}; excluded {}",
            row.purpose,
            row.shared,
            if excluded.is_empty() {
                "none".into()
            } else {
                excluded.join(", ")
            }
        ));
        self.audit.push(record);
        let deliveries = match self.delivery {
            ShareDelivery::File => Vec::new(),
            ShareDelivery::Webhook => super::webhooks::share_page::deliveries(
                self.id,
                self.vendor_id,
                self.disclosures.iter().map(|d| d.customer_id).collect(),
                row.created_at,
            )?,
        };
        let pages = deliveries.len() as u64;
        app.store
            .record_share(
                &row,
                std::mem::take(&mut self.disclosures),
                deliveries,
                self.audit,
            )
            .await?;
        let mut view = ShareView::of(&row)?;
        if self.delivery == ShareDelivery::Webhook {
            app.webhooks_queued();
            view.deliveries = Some(DeliveryProgress {
                pending: pages,
                ..DeliveryProgress::default()
            });
        }
        Ok(view)
    }
}
