//! Blind-index entries: a searchable field's keyed digest, pointing at its customer, in
//! `unique_index` (one customer per digest) or `blind_index` (many).

use uuid::Uuid;

use super::{Exec, Row, Sql, args};
use crate::{IndexDigest, IndexEntry, Result, StoreError};

static ADD_UNIQUE: Sql =
    Sql::new("INSERT INTO unique_index (field, digest, customer_id) VALUES (?1, ?2, ?3)");
static ADD_SHARED: Sql = Sql::new(
    "INSERT INTO blind_index (field, digest, customer_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
);
static REMOVE_UNIQUE: Sql =
    Sql::new("DELETE FROM unique_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3");
static REMOVE_SHARED: Sql =
    Sql::new("DELETE FROM blind_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3");

/// Adds entries in key order: digests are random, and visiting the index B-trees in order
/// touches each page once per batch instead of once per entry. A digest another customer
/// holds in a unique index fails as a `Duplicate` of its field.
pub(crate) async fn add(x: &impl Exec, entries: Vec<(&IndexEntry, Uuid)>) -> Result<()> {
    // Each entry is keyed by its index (table and field: a handful) and its digest as one
    // integer, so sorting compares integers rather than strings.
    let mut indexes: Vec<(bool, &str)> = Vec::new();
    let mut keyed: Vec<(usize, u128, &IndexEntry, Uuid)> = entries
        .into_iter()
        .map(|(e, id)| {
            let index = (e.unique, e.field.as_str());
            let n = indexes.iter().position(|i| *i == index).unwrap_or_else(|| {
                indexes.push(index);
                indexes.len() - 1
            });
            (n, u128::from_be_bytes(e.digest), e, id)
        })
        .collect();
    keyed.sort_unstable_by_key(|k| (k.0, k.1));
    for (_, _, e, id) in keyed {
        let sql = if e.unique { &ADD_UNIQUE } else { &ADD_SHARED };
        x.execute(sql, &args![&e.field, &e.digest, id])
            .await
            .map_err(|err| err.duplicate_of(&e.field))?;
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
