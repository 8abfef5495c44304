//! Minimisation (I2): a value is stored only for a catalog field that some purpose with a
//! lawful basis for this customer needs, and only under a purpose that needs it.
//!
//! A purpose based on consent has a lawful basis only while the customer has given that
//! consent. Consent is recorded per customer by the consent ledger; a customer with no grant
//! event has given none, which is what `GivenConsents::NONE` says.

use steward_core::catalog::{Catalog, FieldDef};
use steward_core::field_value;
use steward_core::sealed_fields::SealedFields;

use crate::{Access, FieldError};

/// The consent-based purposes a customer has granted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GivenConsents<'a>(pub(crate) &'a [&'a str]);

impl GivenConsents<'_> {
    pub(crate) const NONE: GivenConsents<'static> = GivenConsents(&[]);

    fn granted(&self, purpose: &str) -> bool {
        self.0.contains(&purpose)
    }
}

/// Whether any purpose that needs this field has a lawful basis for the customer.
pub(crate) fn has_basis(catalog: &Catalog, field: &FieldDef, consents: GivenConsents<'_>) -> bool {
    field.purposes.iter().any(|p| {
        catalog
            .purpose(p)
            .is_some_and(|def| !def.requires_consent || consents.granted(&def.key))
    })
}

/// Fields that were dropped because no purpose has a basis for them any more.
pub(crate) struct Dropped {
    pub(crate) fields: Vec<String>,
    /// The dropped fields with blind-index entries, to be removed with them.
    pub(crate) indexed: Vec<String>,
}

/// Removes from `sealed` every value no purpose has a lawful basis for under `consents`.
pub(crate) fn drop_without_basis(
    catalog: &Catalog,
    sealed: &mut SealedFields,
    consents: GivenConsents<'_>,
) -> Dropped {
    let mut dropped = Dropped {
        fields: Vec::new(),
        indexed: Vec::new(),
    };
    for key in sealed.keys().map(str::to_string).collect::<Vec<_>>() {
        let Some(field) = catalog.field(&key) else {
            continue;
        };
        if has_basis(catalog, field, consents) {
            continue;
        }
        sealed.remove(&key);
        if field.is_indexed() {
            dropped.indexed.push(key.clone());
        }
        dropped.fields.push(key);
    }
    dropped
}

/// Checks that `key` may be written (or cleared) by this access for this customer.
pub(crate) fn writable<'c>(
    catalog: &'c Catalog,
    access: &Access,
    key: &str,
    consents: GivenConsents<'_>,
) -> Result<&'c FieldDef, FieldError> {
    let name = || format!("fields.{key}");
    let field = catalog
        .field(key)
        .ok_or_else(|| FieldError::new(name(), "is not a field of the catalog"))?;
    if !has_basis(catalog, field, consents) {
        return Err(FieldError::new(
            name(),
            "is needed only for purposes this customer has not consented to",
        ));
    }
    if !field.needed_for(&access.purpose.key) {
        return Err(FieldError::new(
            name(),
            format!("is not needed for purpose {}", access.purpose.key),
        ));
    }
    Ok(field)
}

/// Validates and normalises a set of values; reports every problem at once.
pub(crate) fn check_values<'c, 'v>(
    catalog: &'c Catalog,
    access: &Access,
    values: impl IntoIterator<Item = (&'v str, &'v str)>,
    consents: GivenConsents<'_>,
) -> Result<Vec<(&'c FieldDef, String)>, Vec<FieldError>> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for (key, raw) in values {
        match writable(catalog, access, key, consents) {
            Ok(field) => match field_value::normalise(field, raw) {
                Ok(v) => ok.push((field, v)),
                Err(message) => errors.push(FieldError::new(format!("fields.{key}"), message)),
            },
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

impl crate::Steward {
    /// The catalog fields this access may fill in on a form: needed for its purpose, with a
    /// lawful basis, and shown to its role in the clear.
    pub fn writable_fields(&self, access: &Access) -> Vec<&FieldDef> {
        self.catalog
            .fields()
            .iter()
            .filter(|f| writable(&self.catalog, access, &f.key, GivenConsents::NONE).is_ok())
            .filter(|f| {
                access.actor.role.field_access(f.sensitivity)
                    == steward_core::role::FieldAccess::Clear
            })
            .collect()
    }
}
