//! Customers changed: a patch checked field by field against what the purpose may write,
//! guarded by the row's version, and the customer told when lifting a restriction.

use steward_core::catalog::FieldDef;
use steward_core::contact::Email;
use steward_core::customer::CustomerStatus;
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, RecipientUpdate};
use uuid::Uuid;

use super::{CustomerPatch, CustomerView, MATCH_FIELD, parse_residency, parse_tags};
use crate::collection::minimisation::{GivenConsents, check_values, writable};
use crate::services::Customers;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, FieldError, Steward};

impl Steward {
    /// Who is to be told of an update: recipients of the data of a rectification or a
    /// restriction (Art. 19), and the customer before their restriction is lifted (Art.
    /// 18(3)); the notice is queued in the same commit that lifts it.
    async fn told_of_update(
        &self,
        old: &CustomerRow,
        new: &CustomerRow,
        values: &[(&FieldDef, String)],
        removed: &[&FieldDef],
        now: i64,
    ) -> Result<(Vec<RecipientUpdate>, Vec<steward_store::OutboxRow>), AppError> {
        let mut updates = Vec::new();
        let mut mail = Vec::new();
        let mut record = |kind: &str, fields: Vec<String>| -> Result<(), AppError> {
            updates.push(self.recipient_update(new.id, kind, fields, now)?);
            Ok(())
        };
        let fields: Vec<String> = values
            .iter()
            .map(|(f, _)| f.key.clone())
            .chain(removed.iter().map(|f| f.key.clone()))
            .collect();
        if !fields.is_empty() {
            record("rectification", fields)?;
        }
        let restricted = CustomerStatus::Restricted.as_str();
        if old.status != restricted && new.status == restricted {
            record("restriction", Vec::new())?;
        }
        if old.status == restricted && new.status != restricted {
            record("restriction_lifted", Vec::new())?;
            if let Some((dek, to)) = self.customer_address(old).await? {
                let letter = crate::infra::mail::Letter {
                    to,
                    subject: "The restriction on your data is being lifted".into(),
                    text: "You asked us to restrict the use of your data, and we did. We are \
                           now lifting that restriction: from today we use your data again for \
                           the purposes described in our privacy notice. If you disagree, reply \
                           to this message or use the privacy portal to object or to have your \
                           data erased.\n"
                        .into(),
                    unsubscribe: None,
                };
                mail.push(self.outbox_row(&dek, "restriction_lifted", None, &letter, now)?);
            }
        }
        Ok((updates, mail))
    }
}

impl Customers<'_> {
    pub async fn update(
        &self,
        access: &Access,
        id: Uuid,
        patch: CustomerPatch,
        expected_version: i64,
    ) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let Some(row) = self.app.store.get_customer(id).await? else {
            return Err(self.app.missing(id).await);
        };
        self.app.ensure_processable(access, &row).await?;
        if row.version != expected_version {
            return Err(AppError::StaleVersion);
        }
        let mut errors = Vec::new();
        let residency = patch
            .residency
            .as_deref()
            .and_then(|r| parse_residency(r, &mut errors));
        let tags = patch.tags.as_deref().map(|t| parse_tags(t, &mut errors));
        let status = patch.status.as_deref().and_then(|s| {
            s.parse::<CustomerStatus>()
                .map_err(|m| errors.push(FieldError::new("status", m)))
                .ok()
        });
        let sets = patch
            .fields
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v)));
        // Fields only consent-based purposes need are accepted while such a consent is given.
        let given = self.app.given_purposes(id).await?;
        let given: Vec<&str> = given.iter().map(String::as_str).collect();
        let consents = GivenConsents(&given);
        let values =
            check_values(&self.app.catalog, access, sets, consents).unwrap_or_else(|mut e| {
                errors.append(&mut e);
                Vec::new()
            });
        let mut removed = Vec::new();
        for key in patch
            .fields
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
        {
            match writable(&self.app.catalog, access, key, consents) {
                Ok(def) => removed.push(def),
                Err(e) => errors.push(e),
            }
        }
        if patch.fields.is_empty()
            && patch.residency.is_none()
            && patch.tags.is_none()
            && patch.status.is_none()
        {
            errors.push(FieldError::new("fields", "the update changes nothing"));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let dek = self.app.row_key(&row).await?;
        let mut sealed = SealedFields::decode(&row.fields)
            .map_err(|_| AppError::Integrity(format!("customer {id}")))?;
        // A new address goes through the same check as a new customer's: it must not bring
        // back someone erased at their own request.
        if let Some(address) = values
            .iter()
            .find(|(f, _)| f.key == MATCH_FIELD)
            .and_then(|(_, v)| Email::parse(v).ok())
        {
            let current = sealed
                .get(MATCH_FIELD)
                .map(|stored| dek.open_string(MATCH_FIELD, stored))
                .transpose()
                .map_err(|_| AppError::Integrity(format!("customer {id}")))?;
            if current.as_deref() != Some(address.as_str()) {
                self.app
                    .refuse_suppressed(&format!("fields.{MATCH_FIELD}"), &address)
                    .await?;
            }
        }
        let mut index = Vec::new();
        let mut replaced = Vec::new();
        for (field, value) in &values {
            sealed.insert(&field.key, dek.seal(&field.key, value.as_bytes()));
            if let Some(entries) = self.app.index_entries(field, value)? {
                for entry in entries.iter().filter(|e| e.unique) {
                    if self
                        .app
                        .store
                        .lookup_index(&entry.field, &[entry.digest])
                        .await?
                        .iter()
                        .any(|(_, owner)| *owner != id)
                    {
                        return Err(AppError::Duplicate {
                            field: format!("fields.{}", entry.field),
                        });
                    }
                }
                replaced.push(field.key.clone());
                index.extend(entries);
            }
        }
        for field in &removed {
            sealed.remove(&field.key);
            if field.is_indexed() {
                replaced.push(field.key.clone());
            }
        }
        let mut touched: Vec<String> = values
            .iter()
            .map(|(f, _)| f.key.clone())
            .chain(removed.iter().map(|f| f.key.clone()))
            .collect();
        touched.extend(
            [
                ("residency", residency.is_some()),
                ("tags", tags.is_some()),
                ("status", status.is_some()),
            ]
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(k, _)| k.to_string()),
        );
        let new_row = CustomerRow {
            id,
            residency: residency
                .map(|r| r.to_string())
                .unwrap_or_else(|| row.residency.clone()),
            status: status
                .map(|s| s.to_string())
                .unwrap_or_else(|| row.status.clone()),
            tags: tags.unwrap_or_else(|| row.tags.clone()),
            fields: sealed.encode(),
            version: expected_version + 1,
            created_at: row.created_at,
            updated_at: self.app.clock.now().as_microsecond(),
            last_interaction_at: row.last_interaction_at,
            owner_id: row.owner_id,
        };
        // The answer shows the customer as updated: that read is recorded with the change.
        let (mut view, opened) = self.app.view(access, &new_row, &dek)?;
        self.app
            .name_owners(std::slice::from_mut(&mut view))
            .await?;
        let event = note(EventType::CustomerUpdated, id, &touched, new_row.updated_at);
        let mut audit =
            vec![
                self.app
                    .access_record(access, "customer.update", vec![id.to_string()], touched),
            ];
        if !opened.is_empty() {
            audit.push(self.app.access_record(
                access,
                "customer.read",
                vec![id.to_string()],
                opened,
            ));
        }
        let now = new_row.updated_at;
        let (recipient_updates, mail) = self
            .app
            .told_of_update(&row, &new_row, &values, &removed, now)
            .await?;
        let queued = !mail.is_empty();
        let update = CustomerUpdate {
            write: CustomerWrite {
                row: new_row.clone(),
                index,
            },
            expected_version,
            replaced_index_fields: replaced,
        };
        self.app
            .store
            .apply(ChangeSet {
                updates: vec![update],
                audit,
                recipient_updates,
                mail,
                events: vec![event],
                ..Default::default()
            })
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Duplicate { field } => AppError::Duplicate {
                    field: format!("fields.{field}"),
                },
                other => other,
            })?;
        if queued {
            self.app.mail_queued();
        }
        self.app.webhooks_queued();
        Ok(view)
    }
}
