//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;
use std::fmt::Write as _;

use crate::sql::{Exec, Value, blind_index, customers};

/// Digests per lookup statement, well under SQLite's limit on bound parameters.
const LOOKUP_CHUNK: usize = 500;

#[async_trait]
impl Customers for SqliteStore {
    async fn residencies(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Option<String>)>> {
        self.read(|c| ready(crate::sql::breach_scope::residencies(c, ids)))
    }

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

    async fn count_listed(&self, f: &CustomerFilter) -> Result<u64> {
        self.read(|c| ready(customers::count_selected(c, f)))
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
                out.extend(ready(tx.query_text(&sql, &args, blind_index::hit))?);
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
