use std::sync::Arc;

/// Failures keep the driver's error as their source, so a caller can walk the chain down to
/// it; the message still names what went wrong, for callers that only log it. Driver errors
/// are shared behind an `Arc` because one failed group commit answers every write in it, and
/// the source is the driver's error itself, not its `Arc`, so it downcasts to the driver's type.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// The row changed since the caller read it.
    Conflict,
    NotFound,
    /// A unique value is already taken; names the field, never the value.
    Duplicate {
        field: String,
    },
    Corrupt(String),
    Sqlite(Arc<rusqlite::Error>),
    Postgres(Arc<tokio_postgres::Error>),
    Pool(Arc<deadpool_postgres::PoolError>),
    /// Opening the database failed before any statement ran.
    Open {
        context: String,
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The store itself could not answer: its writer stopped, or a write panicked.
    Database(String),
    Migration {
        version: u32,
        source: Box<StoreError>,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => {
                f.write_str("the record was changed by someone else (stale version)")
            }
            StoreError::NotFound => f.write_str("not found"),
            StoreError::Duplicate { field } => write!(f, "{field} is already in use"),
            StoreError::Corrupt(what) => write!(f, "stored data is malformed: {what}"),
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
            // The driver's Display says only "db error"; the server's code and message say more.
            StoreError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "postgres: {}: {}", db.code().code(), db.message()),
                None => write!(f, "postgres: {e}"),
            },
            StoreError::Pool(e) => write!(f, "postgres pool: {e}"),
            StoreError::Open { context, source } => write!(f, "{context}: {source}"),
            StoreError::Database(what) => write!(f, "database: {what}"),
            StoreError::Migration { version, source } => write!(f, "migration {version}: {source}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(&**e),
            StoreError::Postgres(e) => Some(&**e),
            StoreError::Pool(e) => Some(&**e),
            StoreError::Open { source, .. } => Some(&**source),
            StoreError::Migration { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl StoreError {
    /// The error a write reports when it breaks a constraint: `Duplicate` of `field` for what
    /// each engine counts as a taken value (on SQLite any constraint, on PostgreSQL a unique
    /// one), anything else as it was.
    pub(crate) fn duplicate_of(self, field: &str) -> StoreError {
        let taken = match &self {
            StoreError::Sqlite(e) => matches!(
                &**e,
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation
            ),
            StoreError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        };
        if taken {
            StoreError::Duplicate {
                field: field.to_string(),
            }
        } else {
            self
        }
    }

    /// The error a write reports when a row it refers to is not there: `NotFound` for a
    /// broken reference (on SQLite any constraint, on PostgreSQL a foreign key), anything
    /// else as it was.
    pub(crate) fn parent_missing(self) -> StoreError {
        let missing = match &self {
            StoreError::Sqlite(e) => matches!(
                &**e,
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation
            ),
            StoreError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
            }
            _ => false,
        };
        if missing { StoreError::NotFound } else { self }
    }

    pub(crate) fn open(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Open {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(e))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Postgres(Arc::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Pool(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn driver_errors_stay_reachable_as_the_source() {
        let e = StoreError::from(rusqlite::Error::QueryReturnedNoRows);
        let source = std::error::Error::source(&e).expect("the driver's error");
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());
        let migration = StoreError::Migration {
            version: 3,
            source: Box::new(e),
        };
        assert!(migration.to_string().starts_with("migration 3: sqlite: "));
    }
}
