//! What the customer tells us about themselves: the declared attributes of the catalog
//! (what they like, what to avoid), sealed with their key. Used from basic up.

use steward_core::personalization::{AttrValue, Source};
use steward_store::{AttributeRow, ChangeSet, ProfileChange};

use super::gate::sealed_field;
use crate::security::access::ensure_processable;
use crate::services::OwnRights;
use crate::{AppError, FieldError, Subject};

impl OwnRights<'_> {
    /// Sets (or corrects) one declared attribute: each value one of the catalog's product
    /// categories, at most as many as the attribute allows. An empty list keeps an empty
    /// answer, which says "none" rather than "not asked".
    pub async fn correct_attribute(
        &self,
        subject: &Subject,
        key: &str,
        values: Vec<String>,
    ) -> Result<(), AppError> {
        let customer = subject.customer();
        let book = self.app.catalog.personalization();
        let def = book
            .attribute(key)
            .filter(|d| d.source == Source::Declared)
            .ok_or_else(|| AppError::invalid("key", "is not an attribute a customer declares"))?;
        let mut errors = Vec::new();
        if values.len() > def.max_values {
            errors.push(FieldError::new(
                "values",
                format!("holds at most {} values", def.max_values),
            ));
        }
        for (i, v) in values.iter().enumerate() {
            if !book.is_product_category(v) {
                errors.push(FieldError::new(
                    format!("values[{i}]"),
                    "is not a product category of the catalog",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut values = values;
        values.sort();
        values.dedup();
        let access = self.app.subject_access(customer)?;
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        ensure_processable(&access, &row)?;
        let json = serde_json::to_vec(&serde_json::json!({ "value": AttrValue::List(values) }))
            .map_err(AppError::Encode)?;
        let dek = self.app.data_key(customer)?;
        let now = self.app.clock.now().as_microsecond();
        let changes = ChangeSet {
            personalization: vec![ProfileChange::PutAttribute(AttributeRow {
                customer_id: customer,
                key: def.key.clone(),
                source: Source::Declared,
                min_level: def.min_level,
                value: dek.seal(&sealed_field(&def.key), &json),
                derived_from: "{}".into(),
                rule_key: None,
                rule_version: None,
                computed_at: now,
                expires_at: None,
            })],
            audit: vec![self.app.subject_record(
                customer,
                "personalization.attribute.put",
                &access.purpose.key,
                vec![customer.to_string()],
                vec![format!("attr:{}", def.key)],
                None,
            )],
            ..Default::default()
        };
        self.app.store.apply(changes).await?;
        Ok(())
    }
}
