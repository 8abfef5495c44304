//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;
use std::fmt::Write as _;

use crate::sql::{Exec, Value, customers};

/// Inserts index entries in key order: digests are random, and visiting the index B-trees in
/// order touches each page once per batch instead of once per entry.
pub(super) fn insert_entries(tx: &Transaction, entries: Vec<(&IndexEntry, &[u8])>) -> Result<()> {
    // Each entry is keyed by its index (table and field: a handful) and its digest as one
    // integer, so sorting compares integers rather than strings.
    let mut indexes: Vec<(bool, &str)> = Vec::new();
    let mut keyed: Vec<(usize, u128, &IndexEntry, &[u8])> = entries
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
    let mut unique = tx.prepare_cached(
        "INSERT INTO unique_index (field, digest, customer_id) VALUES (?1, ?2, ?3)",
    )?;
    let mut shared = tx.prepare_cached(
        "INSERT OR IGNORE INTO blind_index (field, digest, customer_id) VALUES (?1, ?2, ?3)",
    )?;
    for (_, _, e, id) in keyed {
        let stmt = if e.unique { &mut unique } else { &mut shared };
        stmt.execute(params![e.field, &e.digest[..], id])
            .map_err(|err| map_unique(err, &e.field))?;
    }
    Ok(())
}

pub(super) fn delete_entries(tx: &Transaction, id: &[u8], entries: &[IndexEntry]) -> Result<()> {
    let mut unique = tx.prepare_cached(
        "DELETE FROM unique_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3",
    )?;
    let mut shared = tx.prepare_cached(
        "DELETE FROM blind_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3",
    )?;
    for e in entries {
        let stmt = if e.unique { &mut unique } else { &mut shared };
        stmt.execute(params![e.field, &e.digest[..], id])?;
    }
    Ok(())
}

fn replace_tags(tx: &Transaction, id: &[u8], tags: &[String], had_tags: bool) -> Result<()> {
    if had_tags {
        tx.prepare_cached("DELETE FROM customer_tags WHERE customer_id = ?1")?
            .execute([id])?;
    }
    let mut tag = tx
        .prepare_cached("INSERT OR IGNORE INTO customer_tags (tag, customer_id) VALUES (?1, ?2)")?;
    for t in tags {
        tag.execute(params![t, id])?;
    }
    Ok(())
}

pub(super) fn insert_customer(tx: &Transaction, w: &CustomerWrite) -> Result<()> {
    let r = &w.row;
    let id = r.id.as_bytes().as_slice();
    tx.prepare_cached(
        "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![id, r.residency, r.status, r.fields, encode_index_keys(&w.index), r.version, r.created_at, r.updated_at])
    .map_err(|e| map_unique(e, "id"))?;
    replace_tags(tx, id, &r.tags, false)
}

pub(super) fn update_customer(tx: &Transaction, u: &CustomerUpdate) -> Result<()> {
    let r = &u.write.row;
    let id = r.id.as_bytes().as_slice();
    let current: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT version, index_keys FROM customers WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (version, keys) = current.ok_or(StoreError::NotFound)?;
    if version != u.expected_version {
        return Err(StoreError::Conflict);
    }
    let (kept, removed) = merge_index_keys(
        decode_index_keys(&keys)?,
        &u.write.index,
        &u.replaced_index_fields,
    );
    delete_entries(tx, id, &removed)?;
    tx.prepare_cached(
        "UPDATE customers SET residency = ?2, status = ?3, fields = ?4, index_keys = ?5, version = ?6, updated_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![id, r.residency, r.status, r.fields, encode_index_keys(&kept), r.version, r.updated_at])?;
    replace_tags(tx, id, &r.tags, true)
}

#[async_trait]
impl Customers for SqliteStore {
    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        self.read(|c| ready(customers::get(c, id)))
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        self.read(|c| {
            // One read transaction for the whole list, not one per lookup.
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(ready(customers::get(&tx, *id))?);
            }
            Ok(out)
        })
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        self.read(|c| ready(customers::list(c, f)))
    }

    async fn count_customers(&self) -> Result<u64> {
        self.read(|c| ready(customers::count(c)))
    }

    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>> {
        self.read(|c| {
            // One read transaction and one statement per chunk: a lookup on its own would take
            // and release the database's shared locks every time.
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::new();
            for chunk in digests.chunks(LOOKUP_CHUNK) {
                let mut marks = String::with_capacity(6 * chunk.len());
                for n in 2..chunk.len() + 2 {
                    let sep = if n > 2 { "," } else { "" };
                    // Writing to a String cannot fail.
                    let _ = write!(marks, "{sep}?{n}");
                }
                let sql = format!(
                    "SELECT digest, customer_id FROM unique_index WHERE field = ?1 AND digest IN ({marks})
                     UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = ?1 AND digest IN ({marks})"
                );
                let mut args = Vec::with_capacity(chunk.len() + 1);
                args.push(Value::Text(field));
                args.extend(chunk.iter().map(Value::from));
                out.extend(ready(tx.query_text(&sql, &args, customers::index_hit))?);
            }
            tx.finish()?;
            Ok(out)
        })
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        self.read(|c| ready(customers::is_tombstoned(c, id)))
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        self.read(|c| ready(customers::interactions(c, customer, after, limit)))
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        self.read(|c| ready(customers::import_job(c, fingerprint)))
    }
}
