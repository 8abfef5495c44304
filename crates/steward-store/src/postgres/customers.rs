//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;

#[async_trait]
impl Customers for PostgresStore {
    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        let client = self.pool.get().await?;
        customer_by_id(&client, id).await
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE c.id = ANY($1)"),
                &[&ids],
            )
            .await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE TRUE");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        if let Some((field, digest)) = &f.index {
            args.push(Box::new(field.clone()));
            args.push(Box::new(digest.to_vec()));
            sql.push_str(
                " AND c.id IN (SELECT customer_id FROM unique_index WHERE field = $1 AND digest = $2
                  UNION ALL SELECT customer_id FROM blind_index WHERE field = $1 AND digest = $2)",
            );
        }
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(tag) = &f.tag {
            arg(
                &mut sql,
                " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
                Box::new(tag.clone()),
            );
        }
        if let Some(s) = &f.status {
            arg(&mut sql, " AND c.status = ?", Box::new(s.clone()));
        }
        if let Some(r) = &f.residency {
            arg(&mut sql, " AND c.residency = ?", Box::new(r.clone()));
        }
        for (bound, clause) in [
            (f.created_after, " AND c.created_at > ?"),
            (f.created_before, " AND c.created_at < ?"),
            (f.updated_after, " AND c.updated_at > ?"),
            (f.updated_before, " AND c.updated_at < ?"),
        ] {
            if let Some(b) = bound {
                arg(&mut sql, clause, Box::new(b));
            }
        }
        if let Some(after) = f.after {
            arg(&mut sql, " AND c.id > ?", Box::new(after));
        }
        arg(&mut sql, " ORDER BY c.id LIMIT ?", Box::new(f.limit as i64));
        let client = self.pool.get().await?;
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&sql, &params).await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn count_customers(&self) -> Result<u64> {
        crate::sql::customers::count(&self.pool.get().await?).await
    }

    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>> {
        let client = self.pool.get().await?;
        let list: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
        let rows = client
            .query(
                "SELECT digest, customer_id FROM unique_index WHERE field = $1 AND digest = ANY($2)
                 UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = $1 AND digest = ANY($2)",
                &[&field, &list],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let d: &[u8] = r.get(0);
                let digest: IndexDigest = d
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("digest length".into()))?;
                Ok((digest, r.get(1)))
            })
            .collect()
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        crate::sql::customers::is_tombstoned(&self.pool.get().await?, id).await
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        let client = self.pool.get().await?;
        let (at, id) = after.unwrap_or((i64::MAX, Uuid::max()));
        let rows = client
            .query(
                "SELECT id, kind, occurred_at, sealed, created_at FROM interactions
                 WHERE customer_id = $1 AND (occurred_at, id) < ($2, $3)
                 ORDER BY occurred_at DESC, id DESC LIMIT $4",
                &[&customer, &at, &id, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| InteractionRow {
                id: r.get(0),
                customer_id: customer,
                kind: r.get(1),
                occurred_at: r.get(2),
                sealed: r.get(3),
                created_at: r.get(4),
            })
            .collect())
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        crate::sql::customers::import_job(&self.pool.get().await?, fingerprint).await
    }
}
