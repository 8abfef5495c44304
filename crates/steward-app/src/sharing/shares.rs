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
use steward_core::sharing::{Clearance, CustomerCondition, Refusal, check_share};
use steward_core::{CountryCode, PurposeDef};
use steward_store::{ConsentEvent, CustomerRow, DisclosureRow, ShareRow};
use uuid::Uuid;

use super::disclosures::{ShareDocument, push_line, signed_document};
use super::register::Dossier;
use super::share_input::{ShareDelivery, ShareInput, Source, asked_fields, source};
use super::share_view::{
    DeliveryProgress, DisclosureBody, Exclusion, ShareBody, ShareView, sealed_label,
};
use super::{encoded, require_keeper};
use crate::collection::customers::unwrap_stored;
use crate::services::Shares;
use crate::{Access, AppError, Steward};

/// Customers read, checked and sealed per page, so a large share never holds every
/// customer's values in the clear at once.
const PAGE: usize = 1_000;

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
    /// Each residency's clearance, and the disclosure record it gives every customer of it.
    cleared: HashMap<String, (Clearance, String)>,
    excluded: BTreeMap<Exclusion, u64>,
    /// The customers come from the purpose's audience, whose query already kept only those
    /// whose consent stands (an objection withdraws it), so the ledger is not read again.
    consent_checked: bool,
    disclosures: Vec<DisclosureRow>,
    audit: Vec<steward_core::audit::AuditRecord>,
    delivery: ShareDelivery,
    /// The document's lines, written as customers are sealed, when the caller wants it now.
    document: Option<Vec<u8>>,
}

impl Shares<'_> {
    /// Shares the asked fields of the asked customers with a vendor, for a purpose. Refused
    /// (`AppError::Refused`, its code naming the first reason) unless the vendor is in good
    /// standing and an agreement in force covers the purpose, every field's category and every
    /// country the data reaches for each residency among the customers; then only the refusal
    /// is audited. Customers without a lawful basis for the purpose are left out and counted.
    pub async fn share(&self, access: &Access, input: ShareInput) -> Result<ShareView, AppError> {
        Ok(self.make(access, input, false).await?.0)
    }

    /// Shares as [`Shares::share`] does, for delivery as a file, and writes the vendor's
    /// signed document in the same pass from the values as they are sealed: the document
    /// [`Shares::download`] would rebuild, without opening every customer a second time.
    pub async fn share_to_file(
        &self,
        access: &Access,
        input: ShareInput,
    ) -> Result<(ShareView, ShareDocument), AppError> {
        if input.delivery != ShareDelivery::File {
            return Err(AppError::invalid(
                "delivery",
                "a document is written for a share delivered as a file",
            ));
        }
        let (view, lines) = self.make(access, input, true).await?;
        let app = self.app;
        app.append(vec![app.access_record(
            access,
            "share.document",
            vec![view.id.to_string(), view.vendor_id.to_string()],
            view.fields.clone(),
        )])
        .await?;
        let document = signed_document(app, &view, 0, &lines)?;
        Ok((view, document))
    }

    /// The share, and its document's lines when `with_document`.
    async fn make(
        &self,
        access: &Access,
        input: ShareInput,
        with_document: bool,
    ) -> Result<(ShareView, Vec<u8>), AppError> {
        require_keeper(access)?;
        let app = self.app;
        let purpose = app
            .catalog
            .purpose(&input.purpose)
            .ok_or_else(|| AppError::invalid("purpose", "is not a purpose of the catalog"))?;
        let fields = asked_fields(app, &input.fields, &purpose.key)?;
        let source = source(app, &input, purpose).await?;
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
            consent_checked: matches!(&source, Source::Segment(q) if q.audience.is_some()),
            disclosures: Vec::new(),
            audit: Vec::new(),
            delivery: input.delivery,
            document: with_document.then(Vec::new),
        };
        let outcome = match source {
            Source::Ids(ids) => {
                let mut result = Ok(());
                for chunk in ids.chunks(PAGE) {
                    let rows = app.store.get_customers(chunk).await?;
                    let found: BTreeSet<Uuid> = rows.iter().map(|r| r.id).collect();
                    let missing = chunk.iter().filter(|id| !found.contains(id)).count();
                    if missing > 0 {
                        *draft.excluded.entry(Exclusion::NotFound).or_default() += missing as u64;
                    }
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
        } else if input.audience.is_some() {
            "audience"
        } else {
            "customer_ids"
        };
        let lines = draft.document.take().unwrap_or_default();
        Ok((draft.record(app, access, asked_by).await?, lines))
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
                        let disclosure = encoded(&DisclosureBody {
                            agreement_id: clearance.agreement,
                            categories: self.categories.clone(),
                            destinations: clearance
                                .transfers
                                .destinations
                                .iter()
                                .map(serde_json::to_value)
                                .collect::<Result<_, _>>()
                                .map_err(AppError::Encode)?,
                        })?;
                        self.cleared
                            .insert(row.residency.clone(), (clearance, disclosure));
                    }
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let consents: HashMap<Uuid, ConsentEvent> = if self.consent_checked {
            HashMap::new()
        } else {
            app.store
                .consents_for(&self.purpose.key, &ids)
                .await?
                .into_iter()
                .map(|e| (e.customer_id, e))
                .collect()
        };
        // An objection to a purpose resting on legitimate interests is a request for staff to
        // decide; until they deny it, the customer's data is not processed for the purpose.
        let objecting: BTreeSet<Uuid> = if self.purpose.requires_consent {
            BTreeSet::new()
        } else {
            app.store
                .objecting(&self.purpose.key, &ids)
                .await?
                .into_iter()
                .collect()
        };
        let explicit = self.explicit_consents(app, &ids).await?;
        let mut lawful = Vec::with_capacity(rows.len());
        for row in rows {
            if objecting.contains(&row.id) {
                *self.excluded.entry(Exclusion::Objected).or_default() += 1;
                continue;
            }
            match self.exclusion(row, consents.get(&row.id), &explicit) {
                Some(reason) => *self.excluded.entry(reason).or_default() += 1,
                None => lawful.push(row),
            }
        }
        let lawful_ids: Vec<Uuid> = lawful.iter().map(|r| r.id).collect();
        let mut keys = app.keys.data_keys(&lawful_ids).await?;
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
            if let Some(lines) = &mut self.document {
                push_line(lines, row.id, &plain)?;
            }
            let (_, disclosure) = self
                .cleared
                .get(&row.residency)
                .ok_or_else(|| AppError::Internal("a residency was not checked".into()))?;
            self.disclosures.push(DisclosureRow {
                share_id: self.id,
                customer_id: row.id,
                vendor_id: self.vendor_id,
                purpose: self.purpose.key.clone(),
                disclosure: disclosure.clone(),
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

    /// For each purpose whose consent is the explicit consent a transfer of this share rests
    /// on (Art. 49(1)(a)), which of `ids` have it given and unexpired now.
    async fn explicit_consents(
        &self,
        app: &Steward,
        ids: &[Uuid],
    ) -> Result<HashMap<String, BTreeSet<Uuid>>, AppError> {
        let mut given: HashMap<String, BTreeSet<Uuid>> = HashMap::new();
        for (clearance, _) in self.cleared.values() {
            for condition in &clearance.transfers.per_customer {
                let CustomerCondition::ExplicitTransferConsent { purpose, .. } = condition;
                if given.contains_key(purpose) {
                    continue;
                }
                let holding = app
                    .store
                    .consents_for(purpose, ids)
                    .await?
                    .into_iter()
                    .filter(|e| self.is_given(e))
                    .map(|e| e.customer_id)
                    .collect();
                given.insert(purpose.clone(), holding);
            }
        }
        Ok(given)
    }

    fn is_given(&self, e: &ConsentEvent) -> bool {
        e.state
            .parse::<ConsentState>()
            .ok()
            .map(|s| consent::effective(s, e.at, e.expires_at, self.moment))
            == Some(ConsentState::Given)
    }

    /// Why a customer may not be part of the share, if they may not, given their current
    /// consent event for its purpose and who gave the explicit consents its transfers need.
    fn exclusion(
        &self,
        row: &CustomerRow,
        current: Option<&ConsentEvent>,
        explicit: &HashMap<String, BTreeSet<Uuid>>,
    ) -> Option<Exclusion> {
        if row.status == CustomerStatus::Restricted.as_str() {
            return Some(Exclusion::Restricted);
        }
        if row.status == CustomerStatus::Closed.as_str() {
            return Some(Exclusion::Closed);
        }
        if current.is_some_and(|e| e.method == ConsentMethod::Objection.as_str()) {
            return Some(Exclusion::Objected);
        }
        if self.purpose.requires_consent
            && !self.consent_checked
            && !current.is_some_and(|e| self.is_given(e))
        {
            return Some(Exclusion::NoConsent);
        }
        let lacks_explicit = self.cleared.get(&row.residency).is_some_and(|(c, _)| {
            c.transfers.per_customer.iter().any(|condition| {
                let CustomerCondition::ExplicitTransferConsent { purpose, .. } = condition;
                !explicit
                    .get(purpose)
                    .is_some_and(|ids| ids.contains(&row.id))
            })
        });
        lacks_explicit.then_some(Exclusion::NoExplicitConsent)
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
            Some((c, _)) => c.agreement,
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
