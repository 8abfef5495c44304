//! The profile, changed by the customer or by the privacy officer: declared attributes set
//! or corrected (sealed with the customer's key), any attribute deleted (one we derived is
//! then not derived again until allowed), and the customer's personalization page.

use serde::Serialize;
use steward_core::audit::AuditRecord;
use steward_core::personalization::{AttrValue, Level, Source};
use steward_store::{AttributeRow, ChangeSet, ProfileChange};
use uuid::Uuid;

use super::gate::sealed_field;
use super::{AttributeView, HowLevel, LevelView, at};
use crate::security::access::LEGAL_OBLIGATION;
use crate::services::{OwnRights, Personalization, Portal};
use crate::{Access, AppError, FieldError, Steward, Subject};

/// What the customer's personalization page shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalizationPage {
    pub level: LevelView,
    /// Every attribute kept, whatever the level.
    pub attributes: Vec<AttributeView>,
    /// Keys they deleted that are not derived again until they allow them.
    pub suppressed: Vec<SuppressedView>,
    /// Each level in plain words, to choose between.
    pub levels: Vec<HowLevel>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressedView {
    pub key: String,
    pub label: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: jiff::Timestamp,
}

/// Who changes a profile, for the audit entry.
enum Changer<'a> {
    Customer(Uuid),
    Staff(&'a Access),
}

impl Steward {
    fn profile_record(
        &self,
        by: &Changer<'_>,
        action: &str,
        customer: Uuid,
        key: &str,
    ) -> Result<AuditRecord, AppError> {
        let targets = vec![customer.to_string()];
        let fields = vec![format!("attr:{key}")];
        Ok(match by {
            Changer::Customer(id) => {
                let access = self.subject_access(*id)?;
                self.subject_record(*id, action, &access.purpose.key, targets, fields, None)
            }
            Changer::Staff(access) => self.access_record(access, action, targets, fields),
        })
    }

    /// Checks and seals a declared attribute's values, and commits it.
    async fn put_declared(
        &self,
        by: Changer<'_>,
        customer: Uuid,
        key: &str,
        values: Vec<String>,
    ) -> Result<(), AppError> {
        let book = self.catalog.personalization();
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
        let json = serde_json::to_vec(&serde_json::json!({ "value": AttrValue::List(values) }))
            .map_err(AppError::Encode)?;
        let dek = self.data_key(customer).await?;
        let now = self.clock.now().as_microsecond();
        let audit = self.profile_record(&by, "personalization.attribute.put", customer, key)?;
        self.store
            .apply(ChangeSet {
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
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// Deletes an attribute. One we derived is also suppressed, or the next recompute would
    /// bring it back; what the customer declared is simply gone.
    async fn delete_attribute_of(
        &self,
        by: Changer<'_>,
        customer: Uuid,
        key: &str,
    ) -> Result<(), AppError> {
        let source =
            self.catalog.personalization().source(key).ok_or_else(|| {
                AppError::invalid("key", "is not a profile attribute of the catalog")
            })?;
        let audit = self.profile_record(&by, "personalization.attribute.delete", customer, key)?;
        self.store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::DeleteAttribute {
                    customer,
                    key: key.to_string(),
                    suppress: source != Source::Declared,
                    at: self.clock.now().as_microsecond(),
                }],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// The customer's row, checked for `access`: unknown is `NotFound`, restricted is refused.
    async fn processable_row(&self, access: &Access, customer: Uuid) -> Result<(), AppError> {
        let row = self
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.ensure_processable(access, &row).await
    }
}

impl OwnRights<'_> {
    /// Sets (or corrects) one declared attribute: each value one of the catalog's product
    /// categories, at most as many as the attribute allows. An empty list is kept, and says
    /// "none" rather than "not asked".
    pub async fn correct_attribute(
        &self,
        subject: &Subject,
        key: &str,
        values: Vec<String>,
    ) -> Result<(), AppError> {
        let customer = subject.customer();
        let access = self.app.subject_access(customer)?;
        self.app.processable_row(&access, customer).await?;
        self.app
            .put_declared(Changer::Customer(customer), customer, key, values)
            .await
    }

    /// Deletes one of the customer's attributes; one we derived is not derived again until
    /// they allow it.
    pub async fn delete_attribute(&self, subject: &Subject, key: &str) -> Result<(), AppError> {
        let customer = subject.customer();
        self.app
            .delete_attribute_of(Changer::Customer(customer), customer, key)
            .await
    }

    /// Lets a deleted attribute be derived again.
    pub async fn allow_attribute(&self, subject: &Subject, key: &str) -> Result<(), AppError> {
        let customer = subject.customer();
        if !self.app.catalog.personalization().knows(key) {
            return Err(AppError::invalid(
                "key",
                "is not a profile attribute of the catalog",
            ));
        }
        let audit = self.app.profile_record(
            &Changer::Customer(customer),
            "personalization.attribute.allow",
            customer,
            key,
        )?;
        self.app
            .store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::Allow {
                    customer,
                    key: key.to_string(),
                }],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(())
    }
}

impl Portal<'_> {
    /// The customer's personalization page: their level and its history, every attribute
    /// kept with where it came from, what they asked not to be derived again, and the levels
    /// to choose from. The view is audited with the attributes it shows.
    pub async fn personalization(
        &self,
        subject: &Subject,
    ) -> Result<PersonalizationPage, AppError> {
        let customer = subject.customer();
        let held = self.app.held_personalization(customer).await?;
        let book = self.app.catalog.personalization();
        let suppressed = self
            .app
            .store
            .suppressed_keys(&[customer])
            .await?
            .into_iter()
            .map(|s| {
                Ok(SuppressedView {
                    label: book.label(&s.key).unwrap_or(&s.key).to_string(),
                    key: s.key,
                    at: at(s.at)?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        let access = self.app.subject_access(customer)?;
        self.app
            .append(vec![self.app.subject_record(
                customer,
                "portal.view",
                &access.purpose.key,
                vec![customer.to_string()],
                held.fields().collect(),
                Some("personalization".into()),
            )])
            .await?;
        Ok(PersonalizationPage {
            level: held.level,
            attributes: held.attributes,
            suppressed,
            levels: Level::ALL
                .iter()
                .map(|l| HowLevel {
                    level: *l,
                    text: l.describe(),
                })
                .collect(),
        })
    }
}

impl Personalization<'_> {
    /// Every attribute kept about a customer, for the privacy officer (legal obligation):
    /// answering a request, checking a complaint.
    pub async fn attributes(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<AttributeView>, AppError> {
        may_keep_profiles(access)?;
        self.app.processable_row(access, customer).await?;
        let held = self.app.held_personalization(customer).await?;
        self.app
            .append(vec![self.app.access_record(
                access,
                "personalization.read",
                vec![customer.to_string()],
                held.fields().collect(),
            )])
            .await?;
        Ok(held.attributes)
    }

    /// Sets a declared attribute on the customer's word (a letter, a call to the privacy
    /// officer).
    pub async fn put_attribute(
        &self,
        access: &Access,
        customer: Uuid,
        key: &str,
        values: Vec<String>,
    ) -> Result<(), AppError> {
        may_keep_profiles(access)?;
        self.app.processable_row(access, customer).await?;
        self.app
            .put_declared(Changer::Staff(access), customer, key, values)
            .await
    }

    /// Deletes an attribute on the customer's word; one we derived is not derived again.
    pub async fn delete_attribute(
        &self,
        access: &Access,
        customer: Uuid,
        key: &str,
    ) -> Result<(), AppError> {
        may_keep_profiles(access)?;
        self.app.processable_row(access, customer).await?;
        self.app
            .delete_attribute_of(Changer::Staff(access), customer, key)
            .await
    }
}

/// Staff change or read a profile as a whole only for the legal obligation to answer the
/// customer's rights; marketing reads it through recommendations alone.
fn may_keep_profiles(access: &Access) -> Result<(), AppError> {
    if access.purpose.key == LEGAL_OBLIGATION {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "profile attributes are kept and corrected for {LEGAL_OBLIGATION} only"
        )))
    }
}
