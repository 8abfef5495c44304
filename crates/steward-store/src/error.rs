#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The row changed since the caller read it.
    #[error("the record was changed by someone else (stale version)")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// A unique value is already taken; names the field, never the value.
    #[error("{field} is already in use")]
    Duplicate { field: String },
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(String),
    #[error("migration {version}: {reason}")]
    Migration { version: u32, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The driver's Display says only "db error"; the server's message is in the source.
        match e.as_db_error() {
            Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
            None => StoreError::Database(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(e.to_string())
    }
}
