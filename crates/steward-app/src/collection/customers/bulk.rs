//! Changes made to many customers at once from a selection: all of them or none, each
//! customer's change its own audit entry, as if made one by one.

use std::collections::BTreeSet;

use steward_core::customer::{MAX_TAGS, parse_tag};
use steward_store::{ChangeSet, CustomerUpdate, CustomerWrite, StoreError};
use uuid::Uuid;

use super::MAX_LIMIT;
use crate::services::Customers;
use crate::{Access, AppError, FieldError};

/// Tags to add to and remove from every customer of a selection.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Retag {
    pub ids: Vec<Uuid>,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

impl Customers<'_> {
    /// Adds and removes tags on each selected customer in one transaction; the number of
    /// customers whose tags changed. A customer changed meanwhile fails the whole selection
    /// with `StaleVersion`, so nothing is half done.
    pub async fn retag(&self, access: &Access, change: Retag) -> Result<usize, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let ids: BTreeSet<Uuid> = change.ids.iter().copied().collect();
        if ids.is_empty() {
            errors.push(FieldError::new("ids", "select at least one customer"));
        }
        if ids.len() > MAX_LIMIT {
            errors.push(FieldError::new(
                "ids",
                format!("select at most {MAX_LIMIT} customers at once"),
            ));
        }
        let mut parsed = |list: &[String], name: &str| -> BTreeSet<String> {
            list.iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    parse_tag(t)
                        .map_err(|m| errors.push(FieldError::new(format!("{name}[{i}]"), m)))
                        .ok()
                })
                .collect()
        };
        let add = parsed(&change.add, "add");
        let remove = parsed(&change.remove, "remove");
        if change.add.is_empty() && change.remove.is_empty() {
            errors.push(FieldError::new("add", "give a tag to add or to remove"));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let rows = self.app.store.get_customers(&ids).await?;
        if rows.len() != ids.len() {
            return Err(AppError::NotFound);
        }
        let now = self.app.clock.now().as_microsecond();
        let mut updates = Vec::new();
        let mut audit = Vec::new();
        for row in rows {
            self.app.ensure_processable(access, &row).await?;
            let mut tags: BTreeSet<String> = row.tags.iter().cloned().collect();
            tags.extend(add.iter().cloned());
            tags.retain(|t| !remove.contains(t));
            let tags: Vec<String> = tags.into_iter().collect();
            if tags == row.tags {
                continue;
            }
            if tags.len() > MAX_TAGS {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "add",
                    format!("a customer holds at most {MAX_TAGS} tags"),
                )]));
            }
            audit.push(self.app.access_record(
                access,
                "customer.update",
                vec![row.id.to_string()],
                vec!["tags".to_string()],
            ));
            updates.push(CustomerUpdate {
                expected_version: row.version,
                replaced_index_fields: Vec::new(),
                write: CustomerWrite {
                    row: steward_store::CustomerRow {
                        tags,
                        version: row.version + 1,
                        updated_at: now,
                        ..row
                    },
                    index: Vec::new(),
                },
            });
        }
        let changed = updates.len();
        if changed > 0 {
            self.app
                .store
                .apply(ChangeSet {
                    updates,
                    audit,
                    ..Default::default()
                })
                .await
                .map_err(|e| match e {
                    StoreError::Conflict => AppError::StaleVersion,
                    other => other.into(),
                })?;
        }
        Ok(changed)
    }
}
