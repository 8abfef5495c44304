//! What the customer's own copy of their data holds of personalization: their level and its
//! history, and every attribute kept, labelled with where it came from, whatever the level.

use uuid::Uuid;

use super::gate::{ReadFor, Wanted};
use super::{AttributeView, PersonalizationHeld, at};
use crate::{AppError, Steward};

impl Steward {
    /// Read through the gate for disclosure, unaudited: the caller's own entry names the
    /// fields (`PersonalizationHeld::fields`).
    pub(crate) async fn held_personalization(
        &self,
        customer: Uuid,
    ) -> Result<PersonalizationHeld, AppError> {
        let level = self.level_view(customer).await?;
        let read = self
            .read_attributes_many(&[customer], Wanted::All, ReadFor::Disclosure)
            .await?
            .pop()
            .ok_or(AppError::NotFound)?;
        let book = self.catalog.personalization();
        let attributes = read
            .attributes()
            .iter()
            .map(|a| {
                Ok(AttributeView {
                    key: a.key.clone(),
                    label: book.label(&a.key).unwrap_or(&a.key).to_string(),
                    value: a.value.clone(),
                    source: a.source,
                    derived_from: a.derived_from.clone(),
                    rule_key: a.rule_key.clone(),
                    rule_version: a.rule_version,
                    confidence: a.confidence,
                    min_level: a.min_level,
                    computed_at: at(a.computed_at)?,
                    expires_at: a.expires_at.map(at).transpose()?,
                    explanation: self.why(a),
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(PersonalizationHeld { level, attributes })
    }
}

impl PersonalizationHeld {
    /// The audit fields of what was read: `attr:<key>` for each attribute.
    pub fn fields(&self) -> impl Iterator<Item = String> + '_ {
        self.attributes.iter().map(|a| format!("attr:{}", a.key))
    }
}
