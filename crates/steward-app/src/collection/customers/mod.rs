//! Customers: create, read, update, list and erase, each purpose-bound and audited.

mod bulk;
mod create;
pub(crate) mod merge;
mod owners;
mod reading;
mod reindex;
mod update;
mod views;

pub use bulk::{Reassign, Retag};
pub use reindex::ReindexOutcome;
pub use views::{SavedView, ViewFilter};

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_core::CountryCode;
use steward_core::catalog::FieldDef;
use steward_core::customer::{CustomerStatus, MAX_TAGS, parse_tag};
use steward_core::name_tokens::name_tokens;
use steward_core::role::FieldAccess;
use steward_core::sealed_fields::SealedFields;
use steward_store::{CustomerRow, CustomerWrite, IndexEntry, StoredKey};
use steward_vault::{DataKey, WrappedKey};
use uuid::Uuid;

use crate::infra::idempotency::Replayable;
use crate::security::staff::StaffMember;
use crate::{Access, AppError, FieldError, Steward};

/// The blind-index key of the tokens of names (`name_search` fields).
pub(crate) const NAME_TOKENS: &str = "name.tokens";

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
    /// When their latest interaction happened; absent when they have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_interaction_at: Option<Timestamp>,
    /// The staff member who looks after the customer, by display name; absent when no one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<StaffMember>,
    /// The company they belong to, on a read of this one customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
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
    /// Words of a given, family or company name; a customer is found when every word is a
    /// whole word of one of their name fields (case, accents and apostrophes aside).
    pub name: Option<String>,
    pub tag: Option<String>,
    /// Only the customers that belong to this company.
    pub company: Option<Uuid>,
    pub status: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    pub residency: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
    /// Whose customers: a staff account's id, `me` for the actor's own, or `none` for those
    /// no one looks after.
    pub owner: Option<String>,
    /// `created`, `updated`, `last_interaction`, `residency`, `status` or `owner`, after a `-`
    /// for descending order. A sorted list is paged by number.
    pub sort: Option<String>,
    /// The page by number, from 1; the answer then counts every customer the filter selects.
    pub page: Option<usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub limit: usize,
    /// How many items the query selects in all, when it was asked for a page by number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// A new customer, sealed: the row to write, the wrapped key for the key store, and the
/// data key itself for whatever the caller still has to seal or answer.
pub(crate) struct Sealed {
    pub write: CustomerWrite,
    pub key: (Uuid, StoredKey),
    pub dek: DataKey,
}

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
    /// The blind-index entries of a field's value: `None` for a field that is not indexed,
    /// whose old entries an update therefore need not replace. A searchable field has one
    /// entry, its whole value; a name field one per token, all under one key so that a
    /// token is the same digest in every name field, each entry named for its field so that
    /// a change of one name field replaces only its own.
    pub(crate) fn index_entries(
        &self,
        field: &FieldDef,
        value: &str,
    ) -> Result<Option<Vec<IndexEntry>>, AppError> {
        if field.searchable {
            return Ok(Some(vec![IndexEntry {
                field: field.key.clone(),
                digest: self.vault.blind_index(&field.key, value)?,
                unique: field.key == MATCH_FIELD,
            }]));
        }
        if !field.name_search {
            return Ok(None);
        }
        name_tokens(value)
            .iter()
            .map(|token| {
                Ok(IndexEntry {
                    field: field.key.clone(),
                    digest: self.vault.blind_index(NAME_TOKENS, token)?,
                    unique: false,
                })
            })
            .collect::<Result<_, AppError>>()
            .map(Some)
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
            index.extend(self.index_entries(field, value)?.into_iter().flatten());
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
            last_interaction_at: None,
            owner_id: None,
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
    pub(crate) async fn data_key(&self, id: Uuid) -> Result<DataKey, AppError> {
        let stored = self.keys.data_key(id).await?.ok_or(AppError::NotFound)?;
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
            last_interaction_at: row
                .last_interaction_at
                .map(steward_core::clock::from_micros),
            owner: row.owner_id.map(|id| StaffMember {
                id,
                display_name: format!("user:{id}"),
            }),
            company_id: None,
        };
        Ok((view, opened))
    }

    /// The customer's address and data key, when an address is held.
    pub(crate) async fn customer_address(
        &self,
        row: &CustomerRow,
    ) -> Result<Option<(steward_vault::DataKey, String)>, AppError> {
        let dek = self.data_key(row.id).await?;
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
