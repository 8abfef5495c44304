//! Integration tests of the use cases against a real SQLite file, a real key store and (where
//! named) a real PostgreSQL server.

mod audit;
mod consent;
mod customers;
mod erasure;
mod import;
#[allow(dead_code)]
mod support;
