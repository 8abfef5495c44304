//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;

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

macro_rules! customer_cols {
    () => {
        "c.id, c.residency, c.status, c.fields, c.version, c.created_at, c.updated_at,
         (SELECT group_concat(tag, ',') FROM customer_tags t WHERE t.customer_id = c.id)"
    };
}
pub(super) const CUSTOMER_COLS: &str = customer_cols!();
const CUSTOMER_BY_ID: &str = concat!(
    "SELECT ",
    customer_cols!(),
    " FROM customers c WHERE c.id = ?1"
);

pub(super) fn customer_by_id(c: &Connection, id: Uuid) -> Result<Option<CustomerRow>> {
    c.prepare_cached(CUSTOMER_BY_ID)?
        .query_row([id.as_bytes().as_slice()], customer_from)
        .optional()?
        .map(finish_customer)
        .transpose()
}

pub(super) fn customer_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, CustomerRow)> {
    let tags: Option<String> = r.get(7)?;
    let mut tags: Vec<String> = tags
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    tags.sort();
    Ok((
        r.get(0)?,
        CustomerRow {
            id: Uuid::nil(),
            residency: r.get(1)?,
            status: r.get(2)?,
            fields: r.get(3)?,
            version: r.get(4)?,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
            tags,
        },
    ))
}

pub(super) fn finish_customer((id, mut row): (Vec<u8>, CustomerRow)) -> Result<CustomerRow> {
    row.id = uuid_from(id)?;
    Ok(row)
}

#[async_trait]
impl Customers for SqliteStore {
    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        self.read(|c| customer_by_id(c, id))
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(customer_by_id(&tx, *id)?);
            }
            Ok(out)
        })
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        use rusqlite::types::Value;
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some((field, digest)) = &f.index {
            args.push(Value::Text(field.clone()));
            args.push(Value::Blob(digest.to_vec()));
            sql.push_str(
                " AND c.id IN (SELECT customer_id FROM unique_index WHERE field = ?1 AND digest = ?2
                  UNION ALL SELECT customer_id FROM blind_index WHERE field = ?1 AND digest = ?2)",
            );
        }
        let mut arg = |sql: &mut String, clause: &str, v: Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(tag) = &f.tag {
            arg(
                &mut sql,
                " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
                Value::Text(tag.clone()),
            );
        }
        if let Some(s) = &f.status {
            arg(&mut sql, " AND c.status = ?", Value::Text(s.clone()));
        }
        if let Some(r) = &f.residency {
            arg(&mut sql, " AND c.residency = ?", Value::Text(r.clone()));
        }
        for (bound, clause) in [
            (f.created_after, " AND c.created_at > ?"),
            (f.created_before, " AND c.created_at < ?"),
            (f.updated_after, " AND c.updated_at > ?"),
            (f.updated_before, " AND c.updated_at < ?"),
        ] {
            if let Some(b) = bound {
                arg(&mut sql, clause, Value::Integer(b));
            }
        }
        if let Some(after) = f.after {
            arg(
                &mut sql,
                " AND c.id > ?",
                Value::Blob(after.as_bytes().to_vec()),
            );
        }
        arg(
            &mut sql,
            " ORDER BY c.id LIMIT ?",
            Value::Integer(f.limit as i64),
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), customer_from)?;
            rows.map(|r| finish_customer(r?)).collect()
        })
    }

    async fn count_customers(&self) -> Result<u64> {
        self.read(|c| ready(crate::sql::customers::count(c)))
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
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!(
                    "SELECT digest, customer_id FROM unique_index WHERE field = ? AND digest IN ({marks})
                     UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = ? AND digest IN ({marks})"
                );
                let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(2 * (chunk.len() + 1));
                for _ in 0..2 {
                    args.push(&field);
                    args.extend(chunk.iter().map(|d| d as &dyn rusqlite::ToSql));
                }
                let mut stmt = tx.prepare_cached(&sql)?;
                let rows = stmt.query_map(args.as_slice(), |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
                for row in rows {
                    let (digest, id) = row?;
                    let digest: IndexDigest =
                        digest.as_slice().try_into().map_err(|_| StoreError::Corrupt("digest length".into()))?;
                    out.push((digest, uuid_from(id)?));
                }
            }
            tx.finish()?;
            Ok(out)
        })
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        self.read(|c| ready(crate::sql::customers::is_tombstoned(c, id)))
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        self.read(|c| {
            // Newest first; the cursor is the last (occurred_at, id) seen.
            let (at, id) = after.unwrap_or((i64::MAX, Uuid::max()));
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, occurred_at, sealed, created_at FROM interactions
                 WHERE customer_id = ?1 AND (occurred_at < ?2 OR (occurred_at = ?2 AND id < ?3))
                 ORDER BY occurred_at DESC, id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![
                    customer.as_bytes().as_slice(),
                    at,
                    id.as_bytes().as_slice(),
                    limit as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                },
            )?;
            rows.map(|r| {
                let (id, kind, occurred_at, sealed, created_at) = r?;
                Ok(InteractionRow {
                    id: uuid_from(id)?,
                    customer_id: customer,
                    kind,
                    occurred_at,
                    sealed,
                    created_at,
                })
            })
            .collect()
        })
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        self.read(|c| ready(crate::sql::customers::import_job(c, fingerprint)))
    }
}
