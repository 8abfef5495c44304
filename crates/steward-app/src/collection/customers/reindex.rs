//! The name index written again for every customer: for those saved before their names were
//! searchable, and after the catalog marks another field `name_search`. It opens each
//! customer's names in memory only, to derive their words' digests; nothing leaves the process.

use steward_core::Role;
use steward_core::audit::AuditRecord;
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, CustomerFilter, CustomerRow, CustomerUpdate, CustomerWrite, StoreError,
};
use uuid::Uuid;

use super::unwrap_stored;
use crate::services::Customers;
use crate::{Actor, AppError};

/// Customers per transaction: each is a few statements, so a batch stays well under a
/// second while the run commits rarely enough to be quick.
const BATCH: usize = 500;

/// What a run did, in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReindexOutcome {
    /// Customers whose name entries were written again.
    pub reindexed: u64,
    /// Customers changed or erased while the run read them: their own write set their
    /// entries, or they have none to set.
    pub changed_meanwhile: u64,
    /// Customers whose data key is gone (an erasure in progress).
    pub key_destroyed: u64,
}

impl Customers<'_> {
    /// Writes the name entries of every customer again from their sealed names, a batch per
    /// transaction in id order; `progress` hears the customers passed so far. Each batch is
    /// one audit entry naming its customers and the fields opened. Running it twice leaves
    /// the same entries.
    pub async fn reindex_names(
        &self,
        actor: &Actor,
        mut progress: impl FnMut(u64),
    ) -> Result<ReindexOutcome, AppError> {
        if !matches!(actor.role, Role::Admin | Role::System) {
            return Err(AppError::Forbidden(format!(
                "role {} may not rebuild the name index",
                actor.role
            )));
        }
        let app = self.app;
        let fields: Vec<String> = app.catalog.name_fields().map(|f| f.key.clone()).collect();
        let mut out = ReindexOutcome::default();
        if fields.is_empty() {
            return Ok(out);
        }
        let mut after = None;
        let mut passed = 0;
        loop {
            let rows = app
                .store
                .list_customers(&CustomerFilter {
                    after,
                    limit: BATCH,
                    ..CustomerFilter::default()
                })
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            passed += rows.len() as u64;
            let updates = self.name_updates(&rows, &fields, &mut out).await?;
            if updates.is_empty() {
                progress(passed);
                continue;
            }
            let ids: Vec<String> = updates.iter().map(|u| u.write.row.id.to_string()).collect();
            let audit = app.record(
                actor,
                "customer.reindex",
                None,
                ids,
                fields.clone(),
                Some("name index written again".into()),
            );
            match app
                .store
                .apply(ChangeSet {
                    updates: updates.clone(),
                    audit: vec![audit.clone()],
                    ..Default::default()
                })
                .await
            {
                Ok(_) => out.reindexed += updates.len() as u64,
                Err(StoreError::Conflict | StoreError::NotFound) => {
                    self.one_by_one(updates, audit, &mut out).await?
                }
                Err(e) => return Err(e.into()),
            }
            progress(passed);
            tokio::task::yield_now().await;
        }
        Ok(out)
    }

    /// Each customer's row as it stands, with its name entries derived again; the row is
    /// otherwise unchanged, so the update only guards against a write made meanwhile.
    async fn name_updates(
        &self,
        rows: &[CustomerRow],
        fields: &[String],
        out: &mut ReindexOutcome,
    ) -> Result<Vec<CustomerUpdate>, AppError> {
        let app = self.app;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut keys = app.keys.data_keys(&ids).await?;
        let mut updates = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(stored) = keys.remove(&row.id) else {
                out.key_destroyed += 1;
                continue;
            };
            let dek = app.vault.open_data_key(&row.id, &unwrap_stored(stored))?;
            let sealed = SealedFields::decode(&row.fields)
                .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
            let mut index = Vec::new();
            for key in fields {
                let (Some(field), Some(bytes)) = (app.catalog.field(key), sealed.get(key)) else {
                    continue;
                };
                let value = dek
                    .open_string(key, bytes)
                    .map_err(|_| AppError::Integrity(format!("customer {}", row.id)))?;
                index.extend(app.index_entries(field, &value)?.into_iter().flatten());
            }
            updates.push(CustomerUpdate {
                expected_version: row.version,
                replaced_index_fields: fields.to_vec(),
                write: CustomerWrite {
                    row: row.clone(),
                    index,
                },
            });
        }
        Ok(updates)
    }

    /// A batch refused because one of its customers changed meanwhile, committed again one
    /// customer at a time, passing over those that changed.
    async fn one_by_one(
        &self,
        updates: Vec<CustomerUpdate>,
        audit: AuditRecord,
        out: &mut ReindexOutcome,
    ) -> Result<(), AppError> {
        for update in updates {
            let id = update.write.row.id.to_string();
            let audit = AuditRecord {
                targets: vec![id],
                ..audit.clone()
            };
            match self
                .app
                .store
                .apply(ChangeSet {
                    updates: vec![update],
                    audit: vec![audit],
                    ..Default::default()
                })
                .await
            {
                Ok(_) => out.reindexed += 1,
                Err(StoreError::Conflict | StoreError::NotFound) => out.changed_meanwhile += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
