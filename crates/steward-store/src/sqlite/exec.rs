//! The shared SQL's statements on a SQLite connection. Nothing here waits: each future is
//! ready when first polled, which is how the writer's synchronous closures run them.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction};
use steward_core::audit::{AuditEntry, AuditRecord};
use uuid::Uuid;

use crate::sql::{Exec, Insert, Lock, Row, Sql, Value, WriteTx};
use crate::{Result, Revoked, StoreError};

/// Runs a shared query to its end on this thread.
pub(crate) fn ready<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Database(
            "a SQLite statement did not finish at once".into(),
        )),
    }
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Value::Id(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v.as_bytes())),
        })
    }
}

impl Row for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.get(i)?)
    }
    fn opt_str(&self, i: usize) -> Result<Option<&str>> {
        self.get_ref(i)?
            .as_str_or_null()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<&[u8]> {
        self.get_ref(i)?
            .as_blob()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn id(&self, i: usize) -> Result<Uuid> {
        Uuid::from_slice(self.blob(i)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    fn opt_id(&self, i: usize) -> Result<Option<Uuid>> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            _ => self.id(i).map(Some),
        }
    }
}

impl Exec for Connection {
    async fn execute(&self, sql: &Sql, args: &[Value<'_>]) -> Result<u64> {
        let n = self
            .prepare_cached(sql.sqlite())?
            .execute(rusqlite::params_from_iter(args))?;
        Ok(n as u64)
    }

    async fn execute_each<'v, const N: usize>(
        &self,
        sql: &Sql,
        rows: &[[Value<'v>; N]],
    ) -> std::result::Result<(), (usize, StoreError)> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut stmt = self
            .prepare_cached(sql.sqlite())
            .map_err(|e| (0, e.into()))?;
        for (i, row) in rows.iter().enumerate() {
            stmt.execute(rusqlite::params_from_iter(row))
                .map_err(|e| (i, e.into()))?;
        }
        Ok(())
    }

    async fn insert<'v, const N: usize>(
        &self,
        sql: &Insert,
        rows: &[[Value<'v>; N]],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut stmt = self.prepare_cached(sql.sqlite())?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row))?;
        }
        Ok(())
    }

    async fn query<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        Exec::query_text(self, sql.sqlite(), args, row).await
    }

    async fn query_text<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        mut row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(row(r)?);
        }
        Ok(out)
    }

    async fn query_opt<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.prepare_cached(sql.sqlite())?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        rows.next()?.map(|r| row(r)).transpose()
    }
}

impl Exec for Transaction<'_> {
    async fn execute(&self, sql: &Sql, args: &[Value<'_>]) -> Result<u64> {
        Exec::execute(&**self, sql, args).await
    }

    async fn execute_each<'v, const N: usize>(
        &self,
        sql: &Sql,
        rows: &[[Value<'v>; N]],
    ) -> std::result::Result<(), (usize, StoreError)> {
        Exec::execute_each(&**self, sql, rows).await
    }

    async fn insert<'v, const N: usize>(
        &self,
        sql: &Insert,
        rows: &[[Value<'v>; N]],
    ) -> Result<()> {
        Exec::insert(&**self, sql, rows).await
    }

    async fn query<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        Exec::query(&**self, sql, args, row).await
    }

    async fn query_text<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        Exec::query_text(&**self, sql, args, row).await
    }

    async fn query_opt<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>> {
        Exec::query_opt(&**self, sql, args, row).await
    }
}

impl WriteTx for Transaction<'_> {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        super::audit_log::append_audit_tx(self, records)
    }

    async fn lock(&self, _: Lock<'_>) -> Result<()> {
        Ok(())
    }

    async fn revoked(&self, _: Revoked) -> Result<()> {
        Ok(())
    }
}
