//! SQL written once for both engines. A statement is written with SQLite's numbered
//! placeholders and turned into PostgreSQL's once; a repository's queries are `async fn`s
//! generic over [`Exec`], which each engine implements for its connections and transactions.
//! On SQLite every such future is ready at once, so the writer's synchronous closures poll it
//! a single time; on PostgreSQL it is awaited like any other.
//!
//! What differs is said here once, not spelled out per engine: a read a write decides on is
//! locked on PostgreSQL only ([`Sql::for_update`]); many rows are inserted one by one on
//! SQLite and as one statement over arrays on PostgreSQL ([`Insert`]); a write transaction
//! ([`WriteTx`]) appends to the audit chain and takes the locks PostgreSQL needs each in its
//! engine's way. Statements that take arrays, skip locked rows or set up a connection stay
//! with their engine.

pub(crate) mod accounts;
pub(crate) mod audit_log;
pub(crate) mod audit_search;
pub(crate) mod blind_index;
pub(crate) mod breach_scope;
pub(crate) mod breaches;
pub(crate) mod campaign_results;
pub(crate) mod campaigns;
pub(crate) mod changes;
pub(crate) mod companies;
pub(crate) mod consent_ledger;
pub(crate) mod consent_proofs;
pub(crate) mod customers;
pub(crate) mod idempotency;
pub(crate) mod keystore;
pub(crate) mod leases;
pub(crate) mod merges;
pub(crate) mod notices;
pub(crate) mod outbox;
pub(crate) mod personalization;
pub(crate) mod portal;
pub(crate) mod recipient_notices;
pub(crate) mod reports;
pub(crate) mod request_desk;
pub(crate) mod retention;
pub(crate) mod segments;
pub(crate) mod shares;
pub(crate) mod sharing;
pub(crate) mod signups;
pub(crate) mod subscriptions;
pub(crate) mod sweep;
pub(crate) mod tasks;
pub(crate) mod views;
pub(crate) mod webhooks;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::OnceLock;

use steward_core::audit::{AuditEntry, AuditRecord};
use uuid::Uuid;

use crate::records::hash32;
use crate::{Result, Revoked, StoreError};

/// One statement, written with numbered placeholders (`?1`, `?2`...); PostgreSQL's form
/// (`$1`, `$2`...) is made on first use and kept, so each engine prepares a fixed string.
pub(crate) struct Sql {
    text: &'static str,
    for_update: bool,
    postgres: OnceLock<String>,
}

impl Sql {
    pub(crate) const fn new(text: &'static str) -> Sql {
        Sql {
            text,
            for_update: false,
            postgres: OnceLock::new(),
        }
    }

    /// A read whose rows a write transaction decides on: PostgreSQL locks them until the
    /// transaction ends (`FOR UPDATE`), since instances sharing its database may write at
    /// once; SQLite's one writer already runs one write transaction at a time.
    pub(crate) const fn for_update(text: &'static str) -> Sql {
        Sql {
            text,
            for_update: true,
            postgres: OnceLock::new(),
        }
    }

    pub(crate) fn sqlite(&self) -> &str {
        self.text
    }

    pub(crate) fn postgres(&self) -> &str {
        self.postgres.get_or_init(|| {
            let mut sql = dollar_placeholders(self.text);
            if self.for_update {
                sql.push_str(" FOR UPDATE");
            }
            sql
        })
    }
}

/// The type of an [`Insert`]'s column, which PostgreSQL needs to read its array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Id,
    Text,
    Bytes,
    Int,
}

impl Kind {
    fn postgres_array(self) -> &'static str {
        match self {
            Kind::Id => "uuid[]",
            Kind::Text => "text[]",
            Kind::Bytes => "bytea[]",
            Kind::Int => "bigint[]",
        }
    }
}

/// An insert of many rows, written once as its table, its columns and what follows the rows.
/// SQLite runs it once per row, prepared once, as a statement there costs no round trip;
/// PostgreSQL runs it once for all the rows, each column one array that `unnest` turns back
/// into rows, so a batch of thousands of customers is one round trip, not one per row.
pub(crate) struct Insert {
    table: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// After the rows: `ON CONFLICT ...`, or nothing.
    tail: &'static str,
    sqlite: OnceLock<String>,
    postgres: OnceLock<String>,
}

impl Insert {
    pub(crate) const fn new(
        table: &'static str,
        columns: &'static [(&'static str, Kind)],
        tail: &'static str,
    ) -> Insert {
        Insert {
            table,
            columns,
            tail,
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    pub(crate) fn columns(&self) -> &[(&'static str, Kind)] {
        self.columns
    }

    fn head(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        format!("INSERT INTO {} ({})", self.table, names.join(", "))
    }

    /// One row's statement.
    pub(crate) fn sqlite(&self) -> &str {
        self.sqlite.get_or_init(|| {
            let values: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
            format!(
                "{} VALUES ({}) {}",
                self.head(),
                values.join(", "),
                self.tail
            )
        })
    }

    /// All the rows' statement, one array parameter per column.
    pub(crate) fn postgres(&self) -> &str {
        self.postgres.get_or_init(|| {
            let arrays: Vec<String> = (self.columns.iter().enumerate())
                .map(|(i, (_, kind))| format!("${}::{}", i + 1, kind.postgres_array()))
                .collect();
            format!(
                "{} SELECT * FROM unnest({}) {}",
                self.head(),
                arrays.join(", "),
                self.tail
            )
        })
    }
}

/// `?N` becomes `$N`. No statement written once holds a `?` followed by a digit anywhere else.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A bound parameter, borrowed from the caller where it can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// A 16-byte BLOB on SQLite, a `uuid` on PostgreSQL.
    Id(Uuid),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Bytes(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Value::Bytes(v)
    }
}

impl From<Uuid> for Value<'_> {
    fn from(v: Uuid) -> Self {
        Value::Id(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The parameters of one statement, in order.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        [$($crate::sql::Value::from($v)),*]
    };
}
pub(crate) use args;

/// A statement put together for one call (a filter's conditions), each value it binds
/// borrowed and numbered in order like any written-once statement's.
pub(crate) struct Builder<'a> {
    pub(crate) sql: String,
    pub(crate) args: Vec<Value<'a>>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(start: &str) -> Builder<'a> {
        Builder {
            sql: start.to_string(),
            args: Vec::new(),
        }
    }

    /// Appends `clause`, each `?` in it bound to the next of `values`; a `?` past the last
    /// value binds the last one again.
    pub(crate) fn push(&mut self, clause: &str, values: &[Value<'a>]) {
        let mut values = values.iter();
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                if let Some(v) = values.next() {
                    self.args.push(*v);
                }
                // Writing to a String cannot fail.
                let _ = write!(self.sql, "?{}", self.args.len());
            }
            self.sql.push_str(part);
        }
    }
}

/// `n` placeholders for an `IN (...)` list a [`Builder`] numbers.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A row as either engine returns it, read by column position.
pub(crate) trait Row {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn bool(&self, i: usize) -> Result<bool>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    /// Text read in place, not copied out of the row.
    fn opt_str(&self, i: usize) -> Result<Option<&str>>;
    /// Text read in place, never null.
    fn str(&self, i: usize) -> Result<&str> {
        self.opt_str(i)?
            .ok_or_else(|| crate::StoreError::Corrupt(format!("column {i} is null")))
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>>;
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>>;
    /// Bytes read in place, not copied out of the row.
    fn blob(&self, i: usize) -> Result<&[u8]>;
    /// A 32-byte hash, read without copying the column first.
    fn hash(&self, i: usize) -> Result<[u8; 32]> {
        hash32(self.blob(i)?)
    }
    fn id(&self, i: usize) -> Result<Uuid>;
    fn opt_id(&self, i: usize) -> Result<Option<Uuid>>;
}

/// Runs statements on a connection or in a transaction of either engine. Statements are
/// prepared once per connection and kept.
pub(crate) trait Exec {
    /// Runs a statement; returns how many rows it changed.
    fn execute(&self, sql: &Sql, args: &[Value<'_>]) -> impl Future<Output = Result<u64>>;

    /// Runs a statement once for each row of values, prepared once for all of them (and not
    /// at all for no rows). A failure stops it and comes back with the index of the row that
    /// failed.
    fn execute_each<'v, const N: usize>(
        &self,
        sql: &Sql,
        rows: &[[Value<'v>; N]],
    ) -> impl Future<Output = Result<(), (usize, StoreError)>>;

    /// Inserts rows, each a value per column of `sql`; nothing for no rows. A failure names no
    /// row: on PostgreSQL they all went as one statement.
    fn insert<'v, const N: usize>(
        &self,
        sql: &Insert,
        rows: &[[Value<'v>; N]],
    ) -> impl Future<Output = Result<()>>;

    fn query<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> impl Future<Output = Result<Vec<T>>>;

    fn query_opt<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> impl Future<Output = Result<Option<T>>>;

    /// A statement put together for one call (a filter's conditions), with numbered
    /// placeholders like any other.
    fn query_text<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> impl Future<Output = Result<Vec<T>>>;
}

/// A write transaction of either engine. Besides its statements, it makes the few writes
/// whose SQL differs between the engines.
pub(crate) trait WriteTx: Exec {
    /// Appends to the audit chain: SQLite signs the new head at the commit, PostgreSQL under
    /// the head's row lock.
    fn append_audit(
        &self,
        records: Vec<AuditRecord>,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>>;

    /// Holds `lock` until the transaction ends. Only PostgreSQL takes any: instances sharing
    /// its database may write at once, while SQLite's one writer runs one write at a time.
    fn lock(&self, lock: Lock<'_>) -> impl Future<Output = Result<()>>;

    /// Tells every instance sharing the database, once this transaction commits, that
    /// `revoked` no longer holds, so that none keeps honouring it from its cache. Only
    /// PostgreSQL has other instances to tell; on SQLite the one process evicts its own.
    fn revoked(&self, revoked: Revoked) -> impl Future<Output = Result<()>>;
}

/// What a write holds where writes racing on a PostgreSQL database could otherwise both pass
/// a check that only one of them should.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// A held sign-up, while a followed link decides whether it settles: links of one
    /// sign-up followed at once each wait for the other, and the last to take it sees every
    /// other link spent.
    Signup(Uuid),
    /// An address, while the portal codes sent to it are counted against its quota.
    Address(&'a [u8]),
    /// A customer's consent ledger, while a consent is recorded or the ledger's proofs are
    /// kept before an erasure: a consent committed during an erasure would otherwise be
    /// deleted without its proof, or outlive its customer.
    Consents(Uuid),
    /// A staff member's test sends, while they are counted against the allowance.
    TestSends(&'a str),
}

#[cfg(test)]
mod tests {
    use super::{Insert, Kind, Sql, dollar_placeholders};

    #[test]
    fn an_insert_is_one_row_on_sqlite_and_arrays_on_postgres() {
        let insert = Insert::new(
            "t",
            &[("id", Kind::Id), ("n", Kind::Int), ("b", Kind::Bytes)],
            "ON CONFLICT DO NOTHING",
        );
        assert_eq!(
            insert.sqlite(),
            "INSERT INTO t (id, n, b) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            insert.postgres(),
            "INSERT INTO t (id, n, b) SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bytea[]) \
             ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn numbered_placeholders_become_postgres_ones() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, '?', x ? 1 FROM t WHERE a = ?12"),
            "SELECT $1, '?', x ? 1 FROM t WHERE a = $12"
        );
        let once = Sql::new("UPDATE t SET a = ?2 WHERE id = ?1");
        assert_eq!(once.sqlite(), "UPDATE t SET a = ?2 WHERE id = ?1");
        assert_eq!(once.postgres(), "UPDATE t SET a = $2 WHERE id = $1");
        assert!(std::ptr::eq(once.postgres(), once.postgres()));
        let locking = Sql::for_update("SELECT a FROM t WHERE id = ?1");
        assert_eq!(locking.sqlite(), "SELECT a FROM t WHERE id = ?1");
        assert_eq!(
            locking.postgres(),
            "SELECT a FROM t WHERE id = $1 FOR UPDATE"
        );
    }
}
