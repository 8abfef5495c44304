//! Changes made to many customers at once from a selection: all of them or none, each
//! customer's change its own audit entry, as if made one by one.

use std::collections::BTreeSet;

use steward_core::audit::AuditRecord;
use steward_core::customer::{MAX_TAGS, parse_tag};
use steward_store::{ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, StoreError};
use uuid::Uuid;

use super::MAX_LIMIT;
use crate::services::Customers;
use crate::sharing::webhooks::{EventType, note};
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

/// The staff member to look after every customer of a selection; none takes their owner away.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    pub ids: Vec<Uuid>,
    pub owner: Option<Uuid>,
}

/// The selection without repeats, or its refusal added to `errors`.
fn selection(ids: &[Uuid], errors: &mut Vec<FieldError>) -> Vec<Uuid> {
    let ids: BTreeSet<Uuid> = ids.iter().copied().collect();
    if ids.is_empty() {
        errors.push(FieldError::new("ids", "select at least one customer"));
    }
    if ids.len() > MAX_LIMIT {
        errors.push(FieldError::new(
            "ids",
            format!("select at most {MAX_LIMIT} customers at once"),
        ));
    }
    ids.into_iter().collect()
}

impl Customers<'_> {
    /// Adds and removes tags on each selected customer in one transaction; the number of
    /// customers whose tags changed. A customer changed meanwhile fails the whole selection
    /// with `StaleVersion`, so nothing is half done.
    pub async fn retag(&self, access: &Access, change: Retag) -> Result<usize, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let ids = selection(&change.ids, &mut errors);
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
        self.change_each(access, &ids, "tags", |row| {
            let mut tags: BTreeSet<String> = row.tags.iter().cloned().collect();
            tags.extend(add.iter().cloned());
            tags.retain(|t| !remove.contains(t));
            let tags: Vec<String> = tags.into_iter().collect();
            if tags == row.tags {
                return Ok(None);
            }
            if tags.len() > MAX_TAGS {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "add",
                    format!("a customer holds at most {MAX_TAGS} tags"),
                )]));
            }
            Ok(Some(CustomerRow {
                tags,
                ..row.clone()
            }))
        })
        .await
    }

    /// Gives each selected customer the owner, or none, in one transaction; the number of
    /// customers whose owner changed.
    pub async fn reassign(&self, access: &Access, change: Reassign) -> Result<usize, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let ids = selection(&change.ids, &mut errors);
        if let Some(owner) = change.owner
            && !self.app.owner_in_use(owner).await?
        {
            errors.push(FieldError::new(
                "owner",
                "is not a staff account in use: choose one from the staff list",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.change_each(access, &ids, "owner", |row| {
            Ok((row.owner_id != change.owner).then(|| CustomerRow {
                owner_id: change.owner,
                ..row.clone()
            }))
        })
        .await
    }

    /// Reads the selected customers, has `change` say each one's new row (or that it stays
    /// as it is), and writes them all with one `customer.update` entry and one
    /// `customer.updated` event per customer naming `field`. An unknown customer fails the
    /// selection with `NotFound`, one changed meanwhile with `StaleVersion`.
    async fn change_each(
        &self,
        access: &Access,
        ids: &[Uuid],
        field: &str,
        change: impl Fn(&CustomerRow) -> Result<Option<CustomerRow>, AppError>,
    ) -> Result<usize, AppError> {
        let rows = self.app.store.get_customers(ids).await?;
        if rows.len() != ids.len() {
            return Err(AppError::NotFound);
        }
        let now = self.app.clock.now().as_microsecond();
        let mut updates = Vec::new();
        let mut audit: Vec<AuditRecord> = Vec::new();
        let mut events = Vec::new();
        let fields = [field.to_string()];
        for row in &rows {
            self.app.ensure_processable(access, row).await?;
            let Some(changed) = change(row)? else {
                continue;
            };
            audit.push(self.app.access_record(
                access,
                "customer.update",
                vec![row.id.to_string()],
                fields.to_vec(),
            ));
            events.push(note(EventType::CustomerUpdated, row.id, &fields, now));
            updates.push(CustomerUpdate {
                expected_version: row.version,
                replaced_index_fields: Vec::new(),
                write: CustomerWrite {
                    row: CustomerRow {
                        version: row.version + 1,
                        updated_at: now,
                        ..changed
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
                    events,
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
