//! Blind-index entries: a searchable field's keyed digest, pointing at its customer, in
//! `unique_index` (one customer per digest) or `blind_index` (many).

use uuid::Uuid;

use super::{Exec, Insert, Kind, Row, Sql, Value, args};
use crate::{CustomerWrite, IndexDigest, IndexEntry, Result, StoreError};

const ENTRY: &[(&str, Kind)] = &[
    ("field", Kind::Text),
    ("digest", Kind::Bytes),
    ("customer_id", Kind::Id),
];
static ADD_UNIQUE: Insert = Insert::new("unique_index", ENTRY, "");
static ADD_SHARED: Insert = Insert::new("blind_index", ENTRY, "ON CONFLICT DO NOTHING");
static REMOVE_UNIQUE: Sql =
    Sql::new("DELETE FROM unique_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3");
static REMOVE_SHARED: Sql =
    Sql::new("DELETE FROM blind_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3");

/// The index entries of the customers a change writes, as rows to add in key order: digests
/// are random, and visiting the index B-trees in order touches each page once per batch
/// instead of once per entry.
pub(crate) struct Additions<'e> {
    /// `field, digest, customer_id`: those of unique indexes first, then the others.
    rows: Vec<[Value<'e>; 3]>,
    unique: usize,
}

/// The entries of the customers `writes`, in key order.
pub(crate) fn in_key_order<'e>(writes: impl Iterator<Item = &'e CustomerWrite>) -> Additions<'e> {
    // Each entry is keyed by its table, its index (a handful of fields) and its digest as
    // one integer, so sorting compares integers rather than strings.
    let mut indexes: Vec<(bool, &str)> = Vec::new();
    let mut keyed: Vec<(bool, usize, u128, &IndexEntry, Uuid)> = Vec::new();
    for w in writes {
        for e in &w.index {
            let index = (e.unique, e.field.as_str());
            let n = indexes.iter().position(|i| *i == index).unwrap_or_else(|| {
                indexes.push(index);
                indexes.len() - 1
            });
            keyed.push((!e.unique, n, u128::from_be_bytes(e.digest), e, w.row.id));
        }
    }
    keyed.sort_unstable_by_key(|k| (k.0, k.1, k.2));
    Additions {
        unique: keyed.partition_point(|k| !k.0),
        rows: keyed
            .iter()
            .map(|&(_, _, _, e, id)| args![&e.field, &e.digest, id])
            .collect(),
    }
}

/// Adds the entries; a digest another customer holds in a unique index fails as a
/// `Duplicate` of its field.
pub(crate) async fn add(x: &impl Exec, additions: &Additions<'_>) -> Result<()> {
    let (unique, shared) = additions.rows.split_at(additions.unique);
    for (sql, rows) in [(&ADD_UNIQUE, unique), (&ADD_SHARED, shared)] {
        // One statement per field, so that a taken digest names its field. A row's first
        // value is its field, and the rows of a field are together.
        for of_field in rows.chunk_by(|a, b| a[0] == b[0]) {
            x.insert(sql, of_field)
                .await
                .map_err(|err| match of_field[0][0] {
                    Value::Text(field) => err.duplicate_of(field),
                    _ => err,
                })?;
        }
    }
    Ok(())
}

pub(crate) async fn remove(x: &impl Exec, customer: Uuid, entries: &[IndexEntry]) -> Result<()> {
    for e in entries {
        let sql = if e.unique {
            &REMOVE_UNIQUE
        } else {
            &REMOVE_SHARED
        };
        x.execute(sql, &args![&e.field, &e.digest, customer])
            .await?;
    }
    Ok(())
}

/// A lookup's hit: `digest, customer_id`.
pub(crate) fn hit(r: &dyn Row) -> Result<(IndexDigest, Uuid)> {
    let digest = r
        .blob(0)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("digest length".into()))?;
    Ok((digest, r.id(1)?))
}
