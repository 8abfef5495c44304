//! Collection and storage: what the catalog lets a purpose collect (minimisation), customers
//! and their interactions sealed under a key of each customer's own, and bulk import and
//! export of them.

pub(crate) mod companies;
pub(crate) mod customers;
pub(crate) mod export;
pub mod import;
pub(crate) mod interactions;
pub(crate) mod minimisation;
pub(crate) mod tasks;
pub(crate) mod timeline;
