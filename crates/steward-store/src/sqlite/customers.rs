//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;

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
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))? as u64)
        })
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
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT 1 FROM tombstones WHERE customer_id = ?1")?
                    .query_row([id.as_bytes().as_slice()], |_| Ok(()))
                    .optional()?
                    .is_some(),
            )
        })
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
        self.read(|c| {
            c.prepare_cached(
                "SELECT byte_offset, line, imported, rejected, reject_len, finished, updated_at
                 FROM import_jobs WHERE fingerprint = ?1",
            )?
            .query_row([fingerprint], |r| {
                Ok(ImportJob {
                    fingerprint: fingerprint.to_string(),
                    byte_offset: r.get::<_, i64>(0)? as u64,
                    line: r.get::<_, i64>(1)? as u64,
                    imported: r.get::<_, i64>(2)? as u64,
                    rejected: r.get::<_, i64>(3)? as u64,
                    reject_len: r.get::<_, i64>(4)? as u64,
                    finished: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            })
            .optional()
            .map_err(Into::into)
        })
    }
}
