//! The field catalog: every personal field Steward may hold, the purposes that need it,
//! and the lawful basis of each purpose. Parsed from TOML and validated once; afterwards
//! the rest of the code trusts it.

mod parse;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The catalog that ships with the binary.
pub const DEFAULT_CATALOG: &str = include_str!("../../catalog/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sensitivity {
    Standard,
    /// GDPR Art. 9-like data, or data the operator treats as such: masked for support roles.
    Special,
}

/// GDPR Art. 6(1) lawful bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LawfulBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
}

impl LawfulBasis {
    /// Whether a person may object to processing on this basis (Art. 21(1)): only processing
    /// for a public task or for legitimate interests must stop when the objection is upheld.
    pub fn open_to_objection(self) -> bool {
        matches!(
            self,
            LawfulBasis::PublicTask | LawfulBasis::LegitimateInterests
        )
    }
}

/// How a field's values are checked and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FieldKind {
    Text,
    Multiline,
    Email,
    Phone,
    Date,
    Language,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeDef {
    pub key: String,
    pub name: String,
    pub description: String,
    pub lawful_basis: LawfulBasis,
    pub requires_consent: bool,
    /// How long a given consent lasts before it counts as expired; `None`: until withdrawn.
    pub consent_valid_days: Option<u32>,
    /// Double opt-in: a consent given counts only once the customer follows a link sent to
    /// their email address.
    pub confirm_by_email: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldDef {
    pub key: String,
    pub label: String,
    pub category: String,
    pub sensitivity: Sensitivity,
    pub kind: FieldKind,
    pub searchable: bool,
    /// Found by the words of its value (`name_tokens`), each word a blind-index entry.
    pub name_search: bool,
    pub max_length: usize,
    pub purposes: Vec<String>,
    /// A customer's correction of this field waits for staff to check it (for values whose
    /// change needs proof, such as a date of birth).
    pub reviewed: bool,
}

impl FieldDef {
    /// Whether the field has blind-index entries, which go when its value goes.
    pub fn is_indexed(&self) -> bool {
        self.searchable || self.name_search
    }

    pub fn needed_for(&self, purpose: &str) -> bool {
        self.purposes.iter().any(|p| p == purpose)
    }
}

/// A public sign-up and preference form: the consent-based purposes it offers and the fields
/// it asks for, each field needed by at least one of those purposes.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormDef {
    pub key: String,
    pub title: String,
    pub purposes: Vec<String>,
    pub fields: Vec<String>,
}

/// A name for a data category, shown to customers in place of its fideslang key. A category
/// without a name of its own goes by its nearest named parent's (`user.contact.email` by
/// `user.contact`'s).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryDef {
    pub key: String,
    pub name: String,
}

/// A validated catalog. Field and purpose order follows the source files.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    fields: Vec<FieldDef>,
    purposes: Vec<PurposeDef>,
    forms: Vec<FormDef>,
    categories: Vec<CategoryDef>,
    /// The retention rules the catalog ships; the database holds them from first start on.
    retention: Vec<crate::retention::Rule>,
    /// Product categories, declared attributes, the rules deriving the others, and offers.
    personalization: crate::personalization::Book,
    #[serde(skip)]
    field_index: BTreeMap<String, usize>,
    #[serde(skip)]
    purpose_index: BTreeMap<String, usize>,
}

/// Why a catalog was refused, with where: the source name and the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {reason}")]
pub struct CatalogError {
    pub source_name: String,
    pub line: usize,
    pub reason: String,
}

impl Catalog {
    /// The default catalog alone.
    pub fn default_catalog() -> Result<Self, CatalogError> {
        Self::from_sources(&[("default catalog", DEFAULT_CATALOG)])
    }

    pub fn form(&self, key: &str) -> Option<&FormDef> {
        self.forms.iter().find(|f| f.key == key)
    }

    pub fn forms(&self) -> &[FormDef] {
        &self.forms
    }

    /// The name of a data category: its own, or its nearest named parent's.
    pub fn category_name(&self, key: &str) -> Option<&str> {
        let mut key = key;
        loop {
            if let Some(c) = self.categories.iter().find(|c| c.key == key) {
                return Some(&c.name);
            }
            key = key.rsplit_once('.')?.0;
        }
    }

    pub fn retention_rules(&self) -> &[crate::retention::Rule] {
        &self.retention
    }

    pub fn personalization(&self) -> &crate::personalization::Book {
        &self.personalization
    }

    /// The email field that mail for `purpose` goes to (and a double opt-in is confirmed
    /// through).
    pub fn email_field(&self, purpose: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.kind == FieldKind::Email && f.needed_for(purpose))
    }

    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    pub fn purposes(&self) -> &[PurposeDef] {
        &self.purposes
    }

    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.field_index.get(key).map(|&i| &self.fields[i])
    }

    pub fn purpose(&self, key: &str) -> Option<&PurposeDef> {
        self.purpose_index.get(key).map(|&i| &self.purposes[i])
    }

    pub fn searchable_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.searchable)
    }

    /// The fields a name search looks in.
    pub fn name_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.name_search)
    }
}

impl fmt::Display for LawfulBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LawfulBasis::Consent => "consent",
            LawfulBasis::Contract => "contract",
            LawfulBasis::LegalObligation => "legal obligation",
            LawfulBasis::VitalInterests => "vital interests",
            LawfulBasis::PublicTask => "public task",
            LawfulBasis::LegitimateInterests => "legitimate interests",
        })
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sensitivity::Standard => "standard",
            Sensitivity::Special => "special",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_is_valid_and_covers_the_required_fields() {
        let c = Catalog::default_catalog().expect("default catalog");
        for key in [
            "given_name",
            "family_name",
            "email",
            "phone",
            "postal_address",
            "birth_date",
            "preferred_language",
            "company",
            "notes",
        ] {
            assert!(c.field(key).is_some(), "missing {key}");
        }
        assert!(c.field("email").is_some_and(|f| f.searchable));
        assert!(
            c.purpose("marketing.communications.email")
                .is_some_and(|p| p.requires_consent)
        );
    }

    #[test]
    fn every_category_is_named_by_itself_or_its_nearest_named_parent() {
        let c = Catalog::default_catalog().expect("default catalog");
        assert_eq!(
            c.category_name("user.contact.phone_number"),
            Some("Contact details")
        );
        assert_eq!(c.category_name("user.name"), Some("Name"));
        assert_eq!(c.category_name("user.account.loyalty"), Some("About you"));
        assert!(
            c.fields()
                .iter()
                .all(|f| c.category_name(&f.category).is_some()),
            "every field's category has a name"
        );
        let extra = "[[category]]\nkey = \"user.contact.phone_number\"\nname = \"Phone\"\n";
        let more = Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("x", extra)])
            .expect("an extension names a narrower category");
        assert_eq!(
            more.category_name("user.contact.phone_number"),
            Some("Phone")
        );
        for bad in [
            "[[category]]\nkey = \"system.operations\"\nname = \"Ops\"\n",
            "[[category]]\nkey = \"user.name\"\nname = \"Again\"\n",
            "[[category]]\nkey = \"user.x\"\nname = \" \"\n",
        ] {
            assert!(
                Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("x", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_purpose_is_reported_with_its_line() {
        let extra = "\n\n[[field]]\nkey = \"shoe_size\"\nlabel = \"Shoe size\"\ncategory = \"user.demographic\"\nsensitivity = \"standard\"\nkind = \"text\"\nmax_length = 4\npurposes = [\"sell.shoes\"]\n";
        let e = Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("extra.toml", extra)])
            .expect_err("refused");
        assert_eq!(e.source_name, "extra.toml");
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("sell.shoes"), "{e}");
    }

    #[test]
    fn syntax_and_type_errors_name_the_line() {
        let bad = "[[purpose]]\nkey = \"x.y\"\nname = \"n\"\ndescription = \"d\"\nlawful_basis = \"because\"\nrequires_consent = false\n";
        let e = Catalog::from_sources(&[("bad.toml", bad)]).expect_err("refused");
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn redefining_a_default_field_is_refused() {
        let extra = "[[field]]\nkey = \"email\"\nlabel = \"E\"\ncategory = \"user.contact.email\"\nsensitivity = \"standard\"\nkind = \"email\"\nmax_length = 10\npurposes = [\"essential.service\"]\n";
        let e = Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("x", extra)])
            .expect_err("refused");
        assert!(e.reason.contains("twice"), "{e}");
    }

    #[test]
    fn forms_offer_consent_purposes_and_only_fields_they_need() {
        let c = Catalog::default_catalog().expect("default");
        let newsletter = c.form("newsletter").expect("the default form");
        assert!(newsletter.fields.contains(&"email".to_string()));
        let form = |purposes: &str, fields: &str| {
            format!(
                "\n[[form]]\nkey = \"f\"\ntitle = \"T\"\npurposes = [{purposes}]\nfields = [{fields}]\n"
            )
        };
        for (purposes, fields, why) in [
            ("\"essential.service\"", "\"email\"", "consent-based"),
            (
                "\"marketing.communications.sms\"",
                "\"phone\", \"email\"",
                "none of its purposes",
            ),
            (
                "\"marketing.communications.email\"",
                "\"given_name\"",
                "\"email\" field",
            ),
        ] {
            let e = Catalog::from_sources(&[
                ("default", DEFAULT_CATALOG),
                ("x", &form(purposes, fields)),
            ])
            .expect_err("refused");
            assert!(e.reason.contains(why), "{e}");
            assert_eq!((e.source_name.as_str(), e.line), ("x", 2), "{e}");
        }
    }

    #[test]
    fn double_opt_in_needs_consent_and_an_email_field() {
        let not_consent = "[[purpose]]\nkey = \"m.x\"\nname = \"n\"\ndescription = \"d\"\nlawful_basis = \"contract\"\nrequires_consent = false\nconfirm_by_email = true\n";
        let e = Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("x", not_consent)])
            .expect_err("refused");
        assert!(e.reason.contains("consent-based"), "{e}");
        let no_field = "\n[[purpose]]\nkey = \"m.y\"\nname = \"n\"\ndescription = \"d\"\nlawful_basis = \"consent\"\nrequires_consent = true\nconfirm_by_email = true\n";
        let e = Catalog::from_sources(&[("default", DEFAULT_CATALOG), ("y", no_field)])
            .expect_err("refused");
        assert_eq!((e.source_name.as_str(), e.line), ("y", 2), "{e}");
        let c = Catalog::default_catalog().expect("default");
        assert_eq!(
            c.email_field("marketing.communications.email")
                .map(|f| f.key.as_str()),
            Some("email")
        );
    }

    #[test]
    fn consent_basis_and_flag_must_agree() {
        let bad = "[[purpose]]\nkey = \"m.x\"\nname = \"n\"\ndescription = \"d\"\nlawful_basis = \"consent\"\nrequires_consent = false\n";
        assert!(Catalog::from_sources(&[("b", bad)]).is_err());
    }
}
