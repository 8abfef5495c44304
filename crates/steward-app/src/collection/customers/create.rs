//! Customers created by staff or integrations: checked against the catalog and the
//! suppression list, sealed under a key of their own, once per idempotency key.

use steward_core::contact::Email;
use steward_store::ChangeSet;

use super::{CustomerInput, CustomerView, MATCH_FIELD, Sealed, parse_residency, parse_tags};
use crate::collection::minimisation::{GivenConsents, check_values};
use crate::infra::idempotency::{Claim, IdempotencyKey, Outcome};
use crate::services::Customers;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, FieldError, Steward};

impl Steward {
    async fn insert_customer(
        &self,
        access: &Access,
        input: CustomerInput,
        claim: Option<&Claim>,
    ) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let residency = parse_residency(&input.residency, &mut errors);
        let tags = parse_tags(&input.tags, &mut errors);
        let values = match check_values(
            &self.catalog,
            access,
            input.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            GivenConsents::NONE,
        ) {
            Ok(v) => v,
            Err(mut e) => {
                errors.append(&mut e);
                Vec::new()
            }
        };
        if input.fields.is_empty() {
            errors.push(FieldError::new("fields", "at least one field is needed"));
        }
        let (Some(residency), true) = (residency, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        if let Some(address) = values
            .iter()
            .find(|(f, _)| f.key == MATCH_FIELD)
            .and_then(|(_, v)| Email::parse(v).ok())
        {
            self.refuse_suppressed(&format!("fields.{MATCH_FIELD}"), &address)
                .await?;
        }
        let now = self.clock.now().as_microsecond();
        let Sealed { write, key, dek } = self.seal_new(&values, residency, tags, now)?;
        if let Some(e) = write.index.iter().find(|e| e.unique)
            && !self
                .store
                .lookup_index(&e.field, &[e.digest])
                .await?
                .is_empty()
        {
            return Err(AppError::Duplicate {
                field: format!("fields.{}", e.field),
            });
        }
        let id = write.row.id;
        let keys: Vec<String> = values.iter().map(|(f, _)| f.key.clone()).collect();
        let audit = self.access_record(
            access,
            "customer.create",
            vec![id.to_string()],
            keys.clone(),
        );
        let view = self.view(access, &write.row, &dek)?.0;
        let idempotency = claim.map(|c| c.keep(&dek, &view, now)).transpose()?;
        self.key_writer.submit(vec![key]).await?;
        let applied = self
            .store
            .apply(ChangeSet {
                inserts: vec![write],
                events: vec![note(EventType::CustomerCreated, id, &keys, now)],
                audit: vec![audit],
                idempotency,
                ..Default::default()
            })
            .await;
        if let Err(e) = applied {
            // The row never landed; its key must not outlive it.
            let _ = self.destroy_key(id).await;
            return Err(match AppError::from(e) {
                AppError::Duplicate { field } => AppError::Duplicate {
                    field: format!("fields.{field}"),
                },
                other => other,
            });
        }
        self.webhooks_queued();
        Ok(view)
    }
}

impl Customers<'_> {
    pub async fn create(
        &self,
        access: &Access,
        input: CustomerInput,
    ) -> Result<CustomerView, AppError> {
        self.app.insert_customer(access, input, None).await
    }

    /// Creates a customer once per idempotency key: sent again within the replay window,
    /// the same request gets the first answer and creates nothing.
    pub async fn create_once(
        &self,
        access: &Access,
        key: &IdempotencyKey,
        input: CustomerInput,
    ) -> Result<Outcome<CustomerView>, AppError> {
        access.require_record_access()?;
        let claim = Claim::new(key, access, "customer.create", &input)?;
        if let Some(view) = self.app.replay(access, &claim).await? {
            return Ok(Outcome::Replayed(view));
        }
        match self.app.insert_customer(access, input, Some(&claim)).await {
            Ok(view) => Ok(Outcome::Created(view)),
            Err(e) => self.app.replay_after_race(access, &claim, e).await,
        }
    }
}
