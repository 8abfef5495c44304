//! The catalog's TOML read and checked: keys well formed, every purpose's fields known, no
//! field or purpose defined twice across sources, forms asking only for what their purposes
//! need; errors name the source and line.

use std::collections::BTreeMap;

use super::{
    Catalog, CatalogError, CategoryDef, FieldDef, FieldKind, FormDef, LawfulBasis, PurposeDef,
    Sensitivity,
};
use crate::personalization::catalog as personalization;
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    purpose: Vec<Spanned<RawPurpose>>,
    #[serde(default)]
    field: Vec<Spanned<RawField>>,
    #[serde(default)]
    form: Vec<Spanned<RawForm>>,
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
    #[serde(default)]
    retention: Vec<Spanned<crate::retention::RuleInput>>,
    #[serde(default)]
    product_category: Vec<Spanned<crate::personalization::ProductCategory>>,
    #[serde(default)]
    attribute: Vec<Spanned<personalization::RawAttribute>>,
    #[serde(default)]
    personalization_rule: Vec<Spanned<personalization::RawRule>>,
    #[serde(default)]
    offer: Vec<Spanned<crate::personalization::Offer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    key: String,
    title: String,
    purposes: Vec<String>,
    fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    key: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    key: String,
    name: String,
    description: String,
    lawful_basis: LawfulBasis,
    requires_consent: bool,
    #[serde(default)]
    consent_valid_days: Option<u32>,
    #[serde(default)]
    confirm_by_email: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    key: String,
    label: String,
    category: String,
    sensitivity: Sensitivity,
    kind: FieldKind,
    #[serde(default)]
    searchable: bool,
    #[serde(default)]
    name_search: bool,
    max_length: usize,
    purposes: Vec<String>,
    #[serde(default)]
    reviewed: bool,
}

const MAX_FIELD_LENGTH: usize = 65_536;

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn is_key(s: &str, allow_dots: bool) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        parts += 1;
        let mut chars = part.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return false;
        }
    }
    allow_dots || parts == 1
}

impl Catalog {
    /// Parses and validates several sources in order; later sources may add fields and
    /// purposes but not redefine one.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Self, CatalogError> {
        let mut catalog = Catalog {
            fields: Vec::new(),
            purposes: Vec::new(),
            forms: Vec::new(),
            categories: Vec::new(),
            retention: Vec::new(),
            personalization: crate::personalization::Book::default(),
            field_index: BTreeMap::new(),
            purpose_index: BTreeMap::new(),
        };
        let mut pending_fields = Vec::new();
        let mut confirmed = Vec::new();
        let mut pending_forms = Vec::new();
        let mut personalization = personalization::Pending::default();
        for (name, text) in sources {
            let err = |offset: usize, reason: String| CatalogError {
                source_name: (*name).to_string(),
                line: line_of(text, offset),
                reason,
            };
            let raw: RawCatalog = toml::from_str(text).map_err(|e| {
                let offset = e.span().map(|s| s.start).unwrap_or(0);
                err(offset, e.message().to_string())
            })?;
            for spanned in raw.purpose {
                let at = spanned.span().start;
                let p = spanned.into_inner();
                if !is_key(&p.key, true) {
                    return Err(err(
                        at,
                        format!("purpose key {:?} must be dotted lower-case words", p.key),
                    ));
                }
                if catalog.purpose_index.contains_key(&p.key) {
                    return Err(err(at, format!("purpose {:?} is defined twice", p.key)));
                }
                if p.name.trim().is_empty() || p.description.trim().is_empty() {
                    return Err(err(
                        at,
                        format!(
                            "purpose {:?} needs a name and a plain-language description",
                            p.key
                        ),
                    ));
                }
                if (p.lawful_basis == LawfulBasis::Consent) != p.requires_consent {
                    return Err(err(
                        at,
                        format!(
                            "purpose {:?}: requires_consent must be true exactly when lawful_basis is \"consent\"",
                            p.key
                        ),
                    ));
                }
                if p.consent_valid_days.is_some() && !p.requires_consent
                    || p.consent_valid_days == Some(0)
                {
                    return Err(err(
                        at,
                        format!(
                            "purpose {:?}: consent_valid_days is for consent-based purposes and must be at least 1",
                            p.key
                        ),
                    ));
                }
                if p.confirm_by_email && !p.requires_consent {
                    return Err(err(
                        at,
                        format!(
                            "purpose {:?}: confirm_by_email is for consent-based purposes",
                            p.key
                        ),
                    ));
                }
                if p.confirm_by_email {
                    confirmed.push((err(at, String::new()), p.key.clone()));
                }
                catalog
                    .purpose_index
                    .insert(p.key.clone(), catalog.purposes.len());
                catalog.purposes.push(PurposeDef {
                    key: p.key,
                    name: p.name,
                    description: p.description,
                    lawful_basis: p.lawful_basis,
                    requires_consent: p.requires_consent,
                    consent_valid_days: p.consent_valid_days,
                    confirm_by_email: p.confirm_by_email,
                });
            }
            for spanned in raw.category {
                let at = spanned.span().start;
                let c = spanned.into_inner();
                if !(c.key == "user" || c.key.starts_with("user.")) || !is_key(&c.key, true) {
                    return Err(err(
                        at,
                        format!(
                            "data category {:?} must be a fideslang user.* category",
                            c.key
                        ),
                    ));
                }
                if catalog.categories.iter().any(|d| d.key == c.key) {
                    return Err(err(at, format!("data category {:?} is named twice", c.key)));
                }
                if c.name.trim().is_empty() {
                    return Err(err(at, format!("data category {:?} needs a name", c.key)));
                }
                catalog.categories.push(CategoryDef {
                    key: c.key,
                    name: c.name,
                });
            }
            for spanned in raw.field {
                let at = spanned.span().start;
                pending_fields.push((err(at, String::new()), spanned.into_inner()));
            }
            for spanned in raw.form {
                let at = spanned.span().start;
                pending_forms.push((err(at, String::new()), spanned.into_inner()));
            }
            for spanned in raw.retention {
                let at = spanned.span().start;
                let rule = crate::retention::Rule::parse(spanned.get_ref())
                    .map_err(|e| err(at, format!("retention rule: {e}")))?;
                if catalog.retention.iter().any(|r| r.key == rule.key) {
                    return Err(err(
                        at,
                        format!("retention rule {:?} is defined twice", rule.key),
                    ));
                }
                catalog.retention.push(rule);
            }
            for spanned in raw.product_category {
                let at = spanned.span().start;
                personalization
                    .categories
                    .push((err(at, String::new()), spanned.into_inner()));
            }
            for spanned in raw.attribute {
                let at = spanned.span().start;
                personalization
                    .attributes
                    .push((err(at, String::new()), spanned.into_inner()));
            }
            for spanned in raw.personalization_rule {
                let at = spanned.span().start;
                personalization
                    .rules
                    .push((err(at, String::new()), spanned.into_inner()));
            }
            for spanned in raw.offer {
                let at = spanned.span().start;
                personalization
                    .offers
                    .push((err(at, String::new()), spanned.into_inner()));
            }
        }
        catalog.personalization = personalization.build()?;
        // Fields are checked after every source's purposes are known, so an extension may
        // declare a purpose and a field that needs it in either order.
        for (located, f) in pending_fields {
            let err = |reason: String| CatalogError {
                reason,
                ..located.clone()
            };
            if !is_key(&f.key, false) {
                return Err(err(format!(
                    "field key {:?} must be a lower-case word (a-z, 0-9, _)",
                    f.key
                )));
            }
            if catalog.field_index.contains_key(&f.key) {
                return Err(err(format!("field {:?} is defined twice", f.key)));
            }
            if f.label.trim().is_empty() {
                return Err(err(format!("field {:?} needs a label", f.key)));
            }
            if !(f.category == "user" || f.category.starts_with("user."))
                || !is_key(&f.category, true)
            {
                return Err(err(format!(
                    "field {:?}: data category {:?} must be a fideslang user.* category",
                    f.key, f.category
                )));
            }
            if f.max_length == 0 || f.max_length > MAX_FIELD_LENGTH {
                return Err(err(format!(
                    "field {:?}: max_length must be between 1 and {MAX_FIELD_LENGTH}",
                    f.key
                )));
            }
            if f.purposes.is_empty() {
                return Err(err(format!(
                    "field {:?} lists no purpose; a field no purpose needs may not be collected",
                    f.key
                )));
            }
            for p in &f.purposes {
                if !catalog.purpose_index.contains_key(p) {
                    return Err(err(format!(
                        "field {:?} names unknown purpose {:?}",
                        f.key, p
                    )));
                }
            }
            if f.searchable
                && !matches!(
                    f.kind,
                    FieldKind::Email | FieldKind::Phone | FieldKind::Text
                )
            {
                return Err(err(format!(
                    "field {:?}: only text, email and phone fields can be searchable",
                    f.key
                )));
            }
            if f.name_search && (f.kind != FieldKind::Text || f.searchable) {
                return Err(err(format!(
                    "field {:?}: only a text field that is not searchable whole can be searched by name",
                    f.key
                )));
            }
            catalog
                .field_index
                .insert(f.key.clone(), catalog.fields.len());
            catalog.fields.push(FieldDef {
                key: f.key,
                label: f.label,
                category: f.category,
                sensitivity: f.sensitivity,
                kind: f.kind,
                searchable: f.searchable,
                name_search: f.name_search,
                max_length: f.max_length,
                purposes: f.purposes,
                reviewed: f.reviewed,
            });
        }
        for (located, key) in confirmed {
            if catalog.email_field(&key).is_none() {
                return Err(CatalogError {
                    reason: format!(
                        "purpose {key:?}: confirm_by_email needs a field of kind \"email\" that the purpose needs"
                    ),
                    ..located
                });
            }
        }
        for (located, f) in pending_forms {
            let err = |reason: String| CatalogError {
                reason,
                ..located.clone()
            };
            catalog.check_form(&f).map_err(err)?;
            catalog.forms.push(FormDef {
                key: f.key,
                title: f.title,
                purposes: f.purposes,
                fields: f.fields,
            });
        }
        if !catalog.field_index.contains_key("email") {
            return Err(CatalogError {
                source_name: sources
                    .first()
                    .map(|s| s.0)
                    .unwrap_or("catalog")
                    .to_string(),
                line: 1,
                reason: "the catalog must declare an \"email\" field: customers are matched by it"
                    .into(),
            });
        }
        Ok(catalog)
    }

    fn check_form(&self, f: &RawForm) -> Result<(), String> {
        if !is_key(&f.key, false) {
            return Err(format!(
                "form key {:?} must be a lower-case word (a-z, 0-9, _)",
                f.key
            ));
        }
        if self.forms.iter().any(|other| other.key == f.key) {
            return Err(format!("form {:?} is defined twice", f.key));
        }
        if f.title.trim().is_empty() || f.purposes.is_empty() {
            return Err(format!(
                "form {:?} needs a title and at least one purpose",
                f.key
            ));
        }
        for p in &f.purposes {
            if !self.purpose(p).is_some_and(|d| d.requires_consent) {
                return Err(format!(
                    "form {:?}: {p:?} is not a consent-based purpose of the catalog",
                    f.key
                ));
            }
        }
        for key in &f.fields {
            let field = self
                .field(key)
                .ok_or_else(|| format!("form {:?} asks for unknown field {key:?}", f.key))?;
            if !f.purposes.iter().any(|p| field.needed_for(p)) {
                return Err(format!(
                    "form {:?} asks for {key:?}, which none of its purposes needs",
                    f.key
                ));
            }
        }
        // The address is how a public form's consents are confirmed, and how the person is
        // found again (the portal, suppression after erasure): the catalog's `email` field.
        if !f.fields.iter().any(|k| k == "email") {
            return Err(format!("form {:?} must ask for the \"email\" field", f.key));
        }
        Ok(())
    }
}
