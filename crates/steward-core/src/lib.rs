//! Steward's domain: the field catalog, purposes, roles, contact-value normalisation,
//! countries, the audit chain, the clock, the vendor register with its agreements, and the
//! rules for cross-border transfers. Pure rules only: no I/O, no async.

/// A closed set of words, each spelled one way in storage, in JSON and in messages: the enum,
/// its list, its spelling, and parsing that names the words allowed.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("must be one of {}", names.join(", "))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod audit;
pub mod breach;
pub mod catalog;
pub mod clock;
pub mod consent;
pub mod contact;
pub mod country;
pub mod customer;
pub mod field_value;
pub mod login;
pub mod name_tokens;
pub mod personalization;
pub mod readability;
pub mod request;
pub mod retention;
pub mod role;
pub mod sealed_fields;
pub mod sharing;
pub mod transfers;

pub use catalog::{
    Catalog, CatalogError, FieldDef, FieldKind, FormDef, LawfulBasis, PurposeDef, Sensitivity,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use country::CountryCode;
pub use role::Role;
