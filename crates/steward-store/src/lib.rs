//! Persistence. One trait per mechanism (`repos`), bundled as `Store`; one implementation per
//! engine (SQLite embedded, PostgreSQL for scale), each with its own connections and
//! append-only migrations, over SQL written once for both where the engines agree (`sql`);
//! and the key store, a separate SQLite file that holds wrapped keys apart from the data they
//! protect. The only crate with SQL in it.

mod audit_head;
mod error;
mod keystore;
mod migrations;
mod postgres;
mod records;
pub mod repos;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StoreError;
pub use keystore::{
    JobLock, KEYS_CHANNEL, KekUsage, KekVersionRow, KeyStore, PendingBatch, Rewrapped, StoredKey,
};
pub use postgres::PostgresStore;
pub use postgres::listen::{Heard, Listener, REVOKED_CHANNEL};
pub use records::*;
pub use repos::Store;
pub use sqlite::SqliteStore;

/// What a second claim of one idempotency key is reported as taken: the column holding it.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
