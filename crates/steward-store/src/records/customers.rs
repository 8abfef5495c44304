//! Customers: their rows, blind-index entries, interactions and import jobs.

use uuid::Uuid;

pub type IndexDigest = [u8; 16];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    pub id: Uuid,
    pub residency: String,
    pub status: String,
    pub tags: Vec<String>,
    /// Encoded `SealedFields`.
    pub fields: Vec<u8>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the customer's latest interaction happened. The store keeps it as interactions
    /// are added and swept; a write's value is ignored.
    pub last_interaction_at: Option<i64>,
    /// The staff account that looks after the customer, if one does.
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub field: String,
    pub digest: IndexDigest,
    pub unique: bool,
}

/// A customer row with blind-index entries: all of them for a new customer, the new entries
/// of the replaced fields for an update.
#[derive(Debug, Clone)]
pub struct CustomerWrite {
    pub row: CustomerRow,
    pub index: Vec<IndexEntry>,
}

#[derive(Debug, Clone)]
pub struct CustomerUpdate {
    /// The new state; `row.version` is the new version.
    pub write: CustomerWrite,
    pub expected_version: i64,
    /// Searchable fields whose index entries are replaced by `write.index` (a field listed
    /// here with no new entry loses its entry).
    pub replaced_index_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub occurred_at: i64,
    /// Encoded `SealedFields` with `summary` and `body`.
    pub sealed: Vec<u8>,
    pub created_at: i64,
    /// Its facets as JSON, sealed with the customer's key (field `interaction/{id}/facets`),
    /// when it has any.
    pub facets: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub index: Option<(String, IndexDigest)>,
    /// Name search: customers with an entry of every one of these digests in any of
    /// `name_fields`.
    pub name_tokens: Vec<IndexDigest>,
    pub name_fields: Vec<String>,
    pub tag: Option<String>,
    /// Only the members of this company.
    pub company: Option<Uuid>,
    pub status: Option<String>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    pub residency: Option<String>,
    pub owner: Option<OwnerFilter>,
    /// Cursor: return customers with ids after this one.
    pub after: Option<Uuid>,
    /// The column to sort on and whether descending; by id when `None`.
    pub order: Option<(ListOrder, bool)>,
    /// Rows to skip, for pages by number.
    pub offset: Option<u64>,
    pub limit: usize,
}

/// What a customer list can be sorted on: only what is not personal, kept in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    Created,
    Updated,
    LastInteraction,
    Residency,
    Status,
    /// By the owner's display name, case aside; customers without an owner come last either
    /// way.
    Owner,
}

/// Customers of one staff member, or those of no one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerFilter {
    Of(Uuid),
    Unowned,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportJob {
    pub fingerprint: String,
    pub byte_offset: u64,
    pub line: u64,
    pub imported: u64,
    pub rejected: u64,
    pub reject_len: u64,
    pub finished: bool,
    pub updated_at: i64,
}

/// The layout of `customers.index_keys`: per entry, field length (1 byte), field, digest
/// (16 bytes) and whether it is unique (1 byte).
pub(crate) fn encode_index_keys(entries: &[IndexEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 24);
    for e in entries {
        let field = &e.field.as_bytes()[..e.field.len().min(255)];
        out.push(field.len() as u8);
        out.extend_from_slice(field);
        out.extend_from_slice(&e.digest);
        out.push(u8::from(e.unique));
    }
    out
}

pub(crate) fn decode_index_keys(mut bytes: &[u8]) -> crate::Result<Vec<IndexEntry>> {
    let bad = || crate::StoreError::Corrupt("index keys".into());
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let (field, rest) = rest.split_at_checked(len as usize).ok_or_else(bad)?;
        let (digest, rest) = rest.split_at_checked(16).ok_or_else(bad)?;
        let (&unique, rest) = rest.split_first().ok_or_else(bad)?;
        out.push(IndexEntry {
            field: std::str::from_utf8(field).map_err(|_| bad())?.to_string(),
            digest: digest.try_into().map_err(|_| bad())?,
            unique: unique == 1,
        });
        bytes = rest;
    }
    Ok(out)
}

/// The entries a customer has after an update that replaces the entries of `replaced` fields.
pub(crate) fn merge_index_keys(
    old: Vec<IndexEntry>,
    new: &[IndexEntry],
    replaced: &[String],
) -> (Vec<IndexEntry>, Vec<IndexEntry>) {
    let (removed, mut kept): (Vec<_>, Vec<_>) =
        old.into_iter().partition(|e| replaced.contains(&e.field));
    kept.extend_from_slice(new);
    (kept, removed)
}
