//! Steward's domain: the field catalog, purposes, roles, contact-value normalisation,
//! countries, the audit chain and the clock. Pure rules only: no I/O, no async.

pub mod audit;
pub mod catalog;
pub mod clock;
pub mod consent;
pub mod contact;
pub mod country;
pub mod customer;
pub mod field_value;
pub mod login;
pub mod readability;
pub mod request;
pub mod retention;
pub mod role;
pub mod sealed_fields;

pub use catalog::{
    Catalog, CatalogError, FieldDef, FieldKind, FormDef, LawfulBasis, PurposeDef, Sensitivity,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use country::CountryCode;
pub use role::Role;
