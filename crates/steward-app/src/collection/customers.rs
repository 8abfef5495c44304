//! Customers: create, read, update, list and erase, each purpose-bound and audited.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_core::CountryCode;
use steward_core::catalog::FieldDef;
use steward_core::contact::{Email, Phone};
use steward_core::customer::{CustomerStatus, MAX_TAGS, parse_tag};
use steward_core::role::FieldAccess;
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, CustomerFilter, CustomerRow, CustomerUpdate, CustomerWrite, IndexEntry,
    RecipientUpdate, StoredKey,
};
use steward_vault::{DataKey, WrappedKey};
use uuid::Uuid;

use crate::collection::minimisation::{Consents, check_values, writable};
use crate::infra::cursor;
use crate::infra::idempotency::{Claim, IdempotencyKey, Outcome, Replayable};
use crate::{Access, AppError, FieldError, Steward};

/// The field customers are matched by; its blind-index entry is unique.
pub(crate) const MATCH_FIELD: &str = "email";

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerInput {
    pub fields: BTreeMap<String, String>,
    pub residency: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A partial update: a field set to `None` is removed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPatch {
    #[serde(default)]
    pub fields: BTreeMap<String, Option<String>>,
    pub residency: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<String>,
}

/// A customer as one access may see them: only the fields its purpose needs, decrypted only
/// where the role allows; fields the role sees masked are named, not opened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerView {
    pub id: Uuid,
    pub fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    pub residency: String,
    pub status: String,
    pub tags: Vec<String>,
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Replayable for CustomerView {
    fn customer(&self) -> Uuid {
        self.id
    }

    fn read_record(&self) -> (&'static str, Vec<String>, Vec<String>) {
        let fields = self.fields.keys().cloned().collect();
        ("customer.read", vec![self.id.to_string()], fields)
    }
}

#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub tag: Option<String>,
    pub status: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    pub residency: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub limit: usize,
}

/// A new customer, sealed: the row to write, the wrapped key for the key store, and the
/// data key itself for whatever the caller still has to seal or answer.
pub(crate) struct Sealed {
    pub write: CustomerWrite,
    pub key: (Uuid, StoredKey),
    pub dek: DataKey,
}

/// GDPR Art. 18: a restricted customer's data is kept, but used for nothing except storage
/// and legal claims until the restriction is lifted; only the legal-obligation purpose (the
/// privacy officer's) reaches it, for reading, changing or lifting.
pub(crate) fn ensure_processable(access: &Access, row: &CustomerRow) -> Result<(), AppError> {
    if row.status == CustomerStatus::Restricted.as_str() && access.purpose.key != LEGAL_OBLIGATION {
        Err(AppError::Forbidden(
            "processing of this customer is restricted: only storage and legal claims are allowed"
                .into(),
        ))
    } else {
        Ok(())
    }
}

pub(crate) const LEGAL_OBLIGATION: &str = "essential.legal_obligation";

pub(crate) fn parse_residency(raw: &str, errors: &mut Vec<FieldError>) -> Option<CountryCode> {
    CountryCode::parse(raw)
        .map_err(|e| errors.push(FieldError::new("residency", e.to_string())))
        .ok()
}

pub(crate) fn parse_tags(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if raw.len() > MAX_TAGS {
        errors.push(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut tags: Vec<String> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            parse_tag(t)
                .map_err(|m| errors.push(FieldError::new(format!("tags[{i}]"), m)))
                .ok()
        })
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

pub(crate) fn unwrap_stored(k: StoredKey) -> WrappedKey {
    WrappedKey {
        kek_version: k.kek_version,
        bytes: k.bytes,
    }
}

impl Steward {
    pub(crate) fn index_entry(
        &self,
        field: &FieldDef,
        value: &str,
    ) -> Result<Option<IndexEntry>, AppError> {
        if !field.searchable {
            return Ok(None);
        }
        Ok(Some(IndexEntry {
            field: field.key.clone(),
            digest: self.vault.blind_index(&field.key, value)?,
            unique: field.key == MATCH_FIELD,
        }))
    }

    /// Seals a new customer under a fresh data key. The wrapped key must reach the key store
    /// before the row reaches the database.
    pub(crate) fn seal_new(
        &self,
        values: &[(&FieldDef, String)],
        residency: CountryCode,
        tags: Vec<String>,
        now: i64,
    ) -> Result<Sealed, AppError> {
        let id = Uuid::now_v7();
        let (dek, wrapped) = self.vault.new_data_key(&id)?;
        let mut sealed = SealedFields::new();
        let mut index = Vec::new();
        for (field, value) in values {
            sealed.insert(&field.key, dek.seal(&field.key, value.as_bytes()));
            index.extend(self.index_entry(field, value)?);
        }
        let row = CustomerRow {
            id,
            residency: residency.to_string(),
            status: CustomerStatus::Active.to_string(),
            tags,
            fields: sealed.encode(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        Ok(Sealed {
            write: CustomerWrite { row, index },
            key: (
                id,
                StoredKey {
                    kek_version: wrapped.kek_version,
                    bytes: wrapped.bytes,
                },
            ),
            dek,
        })
    }

    /// The customer's data key. Erasure destroys the key before it deletes the rows, so a row
    /// without a key belongs to a customer who is erased (or being erased): not found.
    pub(crate) fn data_key(&self, id: Uuid) -> Result<DataKey, AppError> {
        let stored = self.keys.data_key(id)?.ok_or(AppError::NotFound)?;
        Ok(self.vault.open_data_key(&id, &unwrap_stored(stored))?)
    }

    /// Builds what `access` may see of a row. Returns the view and the fields opened.
    pub(crate) fn view(
        &self,
        access: &Access,
        row: &CustomerRow,
        dek: &DataKey,
    ) -> Result<(CustomerView, Vec<String>), AppError> {
        let sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let restricted = row.status == CustomerStatus::Restricted.as_str()
            && access.purpose.key != "essential.legal_obligation";
        let mut fields = BTreeMap::new();
        let mut masked = Vec::new();
        let mut opened = Vec::new();
        for (key, bytes) in sealed.iter() {
            let Some(def) = self.catalog.field(key) else {
                continue;
            };
            if restricted || !def.needed_for(&access.purpose.key) {
                continue;
            }
            match access.actor.role.field_access(def.sensitivity) {
                FieldAccess::Clear => {
                    let value = dek.open_string(key, bytes).map_err(|_| {
                        AppError::Integrity(format!("customer {} field {key}", row.id))
                    })?;
                    fields.insert(key.to_string(), value);
                    opened.push(key.to_string());
                }
                FieldAccess::Masked => masked.push(key.to_string()),
                FieldAccess::Hidden => {}
            }
        }
        let view = CustomerView {
            id: row.id,
            fields,
            masked,
            residency: row.residency.clone(),
            status: row.status.clone(),
            tags: row.tags.clone(),
            version: row.version,
            created_at: steward_core::clock::from_micros(row.created_at),
            updated_at: steward_core::clock::from_micros(row.updated_at),
        };
        Ok((view, opened))
    }

    pub async fn create_customer(
        &self,
        access: &Access,
        input: CustomerInput,
    ) -> Result<CustomerView, AppError> {
        self.insert_customer(access, input, None).await
    }

    /// Creates a customer once per idempotency key: sent again within the replay window,
    /// the same request gets the first answer and creates nothing.
    pub async fn create_customer_once(
        &self,
        access: &Access,
        key: &IdempotencyKey,
        input: CustomerInput,
    ) -> Result<Outcome<CustomerView>, AppError> {
        access.require_record_access()?;
        let claim = Claim::new(key, access, "customer.create", &input)?;
        if let Some(view) = self.replay(access, &claim).await? {
            return Ok(Outcome::Replayed(view));
        }
        match self.insert_customer(access, input, Some(&claim)).await {
            Ok(view) => Ok(Outcome::Created(view)),
            Err(e) => self.replay_after_race(access, &claim, e).await,
        }
    }

    async fn insert_customer(
        &self,
        access: &Access,
        input: CustomerInput,
        claim: Option<&Claim>,
    ) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let residency = parse_residency(&input.residency, &mut errors);
        let tags = parse_tags(&input.tags, &mut errors);
        let values = match check_values(
            &self.catalog,
            access,
            input.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            Consents::NONE,
        ) {
            Ok(v) => v,
            Err(mut e) => {
                errors.append(&mut e);
                Vec::new()
            }
        };
        if input.fields.is_empty() {
            errors.push(FieldError::new("fields", "at least one field is needed"));
        }
        let (Some(residency), true) = (residency, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        if let Some(address) = values
            .iter()
            .find(|(f, _)| f.key == MATCH_FIELD)
            .and_then(|(_, v)| Email::parse(v).ok())
        {
            self.refuse_suppressed(&format!("fields.{MATCH_FIELD}"), &address)
                .await?;
        }
        let now = self.clock.now().as_microsecond();
        let Sealed { write, key, dek } = self.seal_new(&values, residency, tags, now)?;
        if let Some(e) = write.index.iter().find(|e| e.unique)
            && !self
                .store
                .lookup_index(&e.field, &[e.digest])
                .await?
                .is_empty()
        {
            return Err(AppError::Duplicate {
                field: format!("fields.{}", e.field),
            });
        }
        let id = write.row.id;
        let keys: Vec<String> = values.iter().map(|(f, _)| f.key.clone()).collect();
        let audit = self.access_record(access, "customer.create", vec![id.to_string()], keys);
        let view = self.view(access, &write.row, &dek)?.0;
        let idempotency = claim.map(|c| c.keep(&dek, &view, now)).transpose()?;
        self.key_writer.submit(vec![key]).await?;
        let applied = self
            .store
            .apply(ChangeSet {
                inserts: vec![write],
                audit: vec![audit],
                idempotency,
                ..Default::default()
            })
            .await;
        if let Err(e) = applied {
            // The row never landed; its key must not outlive it.
            let _ = self.keys.destroy_data_key(id);
            return Err(match AppError::from(e) {
                AppError::Duplicate { field } => AppError::Duplicate {
                    field: format!("fields.{field}"),
                },
                other => other,
            });
        }
        Ok(view)
    }

    pub async fn get_customer(&self, access: &Access, id: Uuid) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let row = self
            .store
            .get_customer(id)
            .await?
            .ok_or(AppError::NotFound)?;
        ensure_processable(access, &row)?;
        let dek = self.data_key(id)?;
        let (view, opened) = self.view(access, &row, &dek)?;
        // The entry is written before any value leaves: no audit, no data.
        self.append(vec![self.access_record(
            access,
            "customer.read",
            vec![id.to_string()],
            opened,
        )])
        .await?;
        Ok(view)
    }

    pub async fn update_customer(
        &self,
        access: &Access,
        id: Uuid,
        patch: CustomerPatch,
        expected_version: i64,
    ) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let row = self
            .store
            .get_customer(id)
            .await?
            .ok_or(AppError::NotFound)?;
        ensure_processable(access, &row)?;
        if row.version != expected_version {
            return Err(AppError::StaleVersion);
        }
        let mut errors = Vec::new();
        let residency = patch
            .residency
            .as_deref()
            .and_then(|r| parse_residency(r, &mut errors));
        let tags = patch.tags.as_deref().map(|t| parse_tags(t, &mut errors));
        let status = patch.status.as_deref().and_then(|s| {
            s.parse::<CustomerStatus>()
                .map_err(|m| errors.push(FieldError::new("status", m)))
                .ok()
        });
        let sets = patch
            .fields
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v)));
        // Fields only consent-based purposes need are accepted while such a consent is given.
        let given = self.given_purposes(id).await?;
        let given: Vec<&str> = given.iter().map(String::as_str).collect();
        let consents = Consents(&given);
        let values = check_values(&self.catalog, access, sets, consents).unwrap_or_else(|mut e| {
            errors.append(&mut e);
            Vec::new()
        });
        let mut removed = Vec::new();
        for key in patch
            .fields
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
        {
            match writable(&self.catalog, access, key, consents) {
                Ok(def) => removed.push(def),
                Err(e) => errors.push(e),
            }
        }
        if patch.fields.is_empty()
            && patch.residency.is_none()
            && patch.tags.is_none()
            && patch.status.is_none()
        {
            errors.push(FieldError::new("fields", "the update changes nothing"));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let dek = self.data_key(id)?;
        let mut sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {id}")))?;
        // A new address goes through the same check as a new customer's: it must not bring
        // back someone erased at their own request.
        if let Some(address) = values
            .iter()
            .find(|(f, _)| f.key == MATCH_FIELD)
            .and_then(|(_, v)| Email::parse(v).ok())
        {
            let current = sealed
                .get(MATCH_FIELD)
                .map(|stored| dek.open_string(MATCH_FIELD, stored))
                .transpose()
                .map_err(|_| AppError::Integrity(format!("customer {id}")))?;
            if current.as_deref() != Some(address.as_str()) {
                self.refuse_suppressed(&format!("fields.{MATCH_FIELD}"), &address)
                    .await?;
            }
        }
        let mut index = Vec::new();
        let mut replaced = Vec::new();
        for (field, value) in &values {
            sealed.insert(&field.key, dek.seal(&field.key, value.as_bytes()));
            if let Some(entry) = self.index_entry(field, value)? {
                if entry.unique
                    && self
                        .store
                        .lookup_index(&entry.field, &[entry.digest])
                        .await?
                        .iter()
                        .any(|(_, owner)| *owner != id)
                {
                    return Err(AppError::Duplicate {
                        field: format!("fields.{}", entry.field),
                    });
                }
                replaced.push(field.key.clone());
                index.push(entry);
            }
        }
        for field in &removed {
            sealed.remove(&field.key);
            if field.searchable {
                replaced.push(field.key.clone());
            }
        }
        let mut touched: Vec<String> = values
            .iter()
            .map(|(f, _)| f.key.clone())
            .chain(removed.iter().map(|f| f.key.clone()))
            .collect();
        touched.extend(
            [
                ("residency", residency.is_some()),
                ("tags", tags.is_some()),
                ("status", status.is_some()),
            ]
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(k, _)| k.to_string()),
        );
        let new_row = CustomerRow {
            id,
            residency: residency
                .map(|r| r.to_string())
                .unwrap_or_else(|| row.residency.clone()),
            status: status
                .map(|s| s.to_string())
                .unwrap_or_else(|| row.status.clone()),
            tags: tags.unwrap_or_else(|| row.tags.clone()),
            fields: sealed.encode(),
            version: expected_version + 1,
            created_at: row.created_at,
            updated_at: self.clock.now().as_microsecond(),
        };
        // The answer shows the customer as updated: that read is recorded with the change.
        let (view, opened) = self.view(access, &new_row, &dek)?;
        let mut audit =
            vec![self.access_record(access, "customer.update", vec![id.to_string()], touched)];
        if !opened.is_empty() {
            audit.push(self.access_record(access, "customer.read", vec![id.to_string()], opened));
        }
        let now = new_row.updated_at;
        let (recipient_updates, mail) =
            self.told_of_update(&row, &new_row, &values, &removed, now)?;
        let queued = !mail.is_empty();
        let update = CustomerUpdate {
            write: CustomerWrite {
                row: new_row.clone(),
                index,
            },
            expected_version,
            replaced_index_fields: replaced,
        };
        self.store
            .apply(ChangeSet {
                updates: vec![update],
                audit,
                recipient_updates,
                mail,
                ..Default::default()
            })
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Duplicate { field } => AppError::Duplicate {
                    field: format!("fields.{field}"),
                },
                other => other,
            })?;
        if queued {
            self.mail_queued();
        }
        Ok(view)
    }

    /// Who is to be told of an update: recipients of the data of a rectification or a
    /// restriction (Art. 19), and the customer before their restriction is lifted (Art.
    /// 18(3)); the notice is queued in the same commit that lifts it.
    fn told_of_update(
        &self,
        old: &CustomerRow,
        new: &CustomerRow,
        values: &[(&FieldDef, String)],
        removed: &[&FieldDef],
        now: i64,
    ) -> Result<(Vec<RecipientUpdate>, Vec<steward_store::OutboxRow>), AppError> {
        let mut updates = Vec::new();
        let mut mail = Vec::new();
        let mut record = |kind: &str, fields: Vec<String>| {
            updates.push(RecipientUpdate {
                id: Uuid::now_v7(),
                customer_id: new.id,
                kind: kind.into(),
                fields,
                at: now,
                notified_at: None,
            })
        };
        let fields: Vec<String> = values
            .iter()
            .map(|(f, _)| f.key.clone())
            .chain(removed.iter().map(|f| f.key.clone()))
            .collect();
        if !fields.is_empty() {
            record("rectification", fields);
        }
        let restricted = CustomerStatus::Restricted.as_str();
        if old.status != restricted && new.status == restricted {
            record("restriction", Vec::new());
        }
        if old.status == restricted && new.status != restricted {
            record("restriction_lifted", Vec::new());
            if let Some((dek, to)) = self.customer_address(old)? {
                let letter = crate::infra::mail::Letter {
                    to,
                    subject: "The restriction on your data is being lifted".into(),
                    text: "You asked us to restrict the use of your data, and we did. We are \
                           now lifting that restriction: from today we use your data again for \
                           the purposes described in our privacy notice. If you disagree, reply \
                           to this message or use the privacy portal to object or to have your \
                           data erased.\n"
                        .into(),
                    unsubscribe: None,
                };
                mail.push(self.outbox_row(&dek, "restriction_lifted", None, &letter, now)?);
            }
        }
        Ok((updates, mail))
    }

    pub async fn list_customers(
        &self,
        access: &Access,
        q: CustomerQuery,
    ) -> Result<Page<CustomerView>, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let mut index = None;
        if let Some(raw) = &q.email {
            match Email::parse(raw) {
                Ok(e) => {
                    index = Some((
                        "email".to_string(),
                        self.vault.blind_index("email", e.as_str())?,
                    ))
                }
                Err(e) => errors.push(FieldError::new("email", e.to_string())),
            }
        }
        if let Some(raw) = &q.phone {
            match Phone::parse(raw) {
                Ok(p) if index.is_none() => {
                    index = Some((
                        "phone".to_string(),
                        self.vault.blind_index("phone", p.as_str())?,
                    ))
                }
                Ok(_) => errors.push(FieldError::new(
                    "phone",
                    "search by email or by phone, not both",
                )),
                Err(e) => errors.push(FieldError::new("phone", e.to_string())),
            }
        }
        let tag = q.tag.as_deref().and_then(|t| {
            parse_tag(t)
                .map_err(|m| errors.push(FieldError::new("tag", m)))
                .ok()
        });
        let status = q.status.as_deref().and_then(|s| {
            s.parse::<CustomerStatus>()
                .map(|s| s.to_string())
                .map_err(|m| errors.push(FieldError::new("status", m)))
                .ok()
        });
        let residency = q.residency.as_deref().and_then(|r| {
            CountryCode::parse(r)
                .map(|c| c.as_str().to_string())
                .map_err(|e| errors.push(FieldError::new("residency", e.to_string())))
                .ok()
        });
        let after = q
            .cursor
            .as_deref()
            .map(cursor::decode_id)
            .transpose()
            .unwrap_or_else(|e| {
                if let AppError::Invalid(mut e) = e {
                    errors.append(&mut e);
                }
                None
            });
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let filter = CustomerFilter {
            index,
            tag,
            status,
            created_after: q.created_after.map(|t| t.as_microsecond()),
            created_before: q.created_before.map(|t| t.as_microsecond()),
            updated_after: q.updated_after.map(|t| t.as_microsecond()),
            updated_before: q.updated_before.map(|t| t.as_microsecond()),
            residency,
            after,
            limit: limit + 1,
        };
        let mut rows = self.store.list_customers(&filter).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut keys = self.keys.data_keys(&ids)?;
        let mut items = Vec::with_capacity(rows.len());
        let mut opened_any = std::collections::BTreeSet::new();
        for row in &rows {
            let Some(stored) = keys.remove(&row.id) else {
                tracing::warn!(customer = %row.id, "skipped a customer whose key is destroyed: erasure in progress");
                continue;
            };
            let dek = self.vault.open_data_key(&row.id, &unwrap_stored(stored))?;
            let (view, opened) = self.view(access, row, &dek)?;
            opened_any.extend(opened);
            items.push(view);
        }
        if !items.is_empty() {
            let targets = items.iter().map(|v| v.id.to_string()).collect();
            self.append(vec![self.access_record(
                access,
                "customer.list",
                targets,
                opened_any.into_iter().collect(),
            )])
            .await?;
        }
        let next_cursor = if more {
            rows.last().map(|r| cursor::encode_id(r.id))
        } else {
            None
        };
        Ok(Page {
            items,
            next_cursor,
            limit,
        })
    }

    /// The customer's address and data key, when an address is held.
    pub(crate) fn customer_address(
        &self,
        row: &CustomerRow,
    ) -> Result<Option<(steward_vault::DataKey, String)>, AppError> {
        let dek = self.data_key(row.id)?;
        let sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        let Some(stored) = sealed.get(MATCH_FIELD) else {
            return Ok(None);
        };
        let address = dek
            .open_string(MATCH_FIELD, stored)
            .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
        Ok(Some((dek, address)))
    }
}
