//! The shared SQL's statements on a PostgreSQL connection, each prepared once per connection
//! and kept in its statement cache.

use bytes::BytesMut;
use deadpool_postgres::{Client, GenericClient, Transaction};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use crate::sql::{Exec, Insert, Kind, Row, Sql, Value, dollar_placeholders};
use crate::{Result, StoreError};

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => v.to_sql_checked(ty, out),
            Value::Bool(v) => v.to_sql_checked(ty, out),
            Value::Text(v) => v.to_sql_checked(ty, out),
            Value::Bytes(v) => v.to_sql_checked(ty, out),
            Value::Id(v) => v.to_sql_checked(ty, out),
        }
    }

    // Each value checks its type against the parameter's as it is written.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl Row for tokio_postgres::Row {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.try_get(i)?)
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }
    fn opt_str(&self, i: usize) -> Result<Option<&str>> {
        Ok(self.try_get(i)?)
    }
    fn blob(&self, i: usize) -> Result<&[u8]> {
        Ok(self.try_get(i)?)
    }
    fn id(&self, i: usize) -> Result<Uuid> {
        Ok(self.try_get(i)?)
    }
    fn opt_id(&self, i: usize) -> Result<Option<Uuid>> {
        Ok(self.try_get(i)?)
    }
}

/// Runs a statement only PostgreSQL has, whose parameters include arrays the shared values
/// do not carry; prepared once per connection and kept, like every shared statement.
pub(crate) async fn query_arrays(
    client: &impl GenericClient,
    sql: &Sql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    let stmt = client.prepare_cached(sql.postgres()).await?;
    Ok(GenericClient::query(client, &stmt, params).await?)
}

/// Like [`query_arrays`], for a statement that returns no rows.
pub(crate) async fn execute_arrays(
    client: &impl GenericClient,
    sql: &Sql,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64> {
    let stmt = client.prepare_cached(sql.postgres()).await?;
    Ok(GenericClient::execute(client, &stmt, params).await?)
}

/// One column of an [`Insert`]'s rows, as the array its `unnest` reads.
#[derive(Debug)]
enum Array<'a> {
    Ids(Vec<Option<Uuid>>),
    Texts(Vec<Option<&'a str>>),
    Bytes(Vec<Option<&'a [u8]>>),
    Ints(Vec<Option<i64>>),
}

impl ToSql for Array<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Array::Ids(v) => v.to_sql_checked(ty, out),
            Array::Texts(v) => v.to_sql_checked(ty, out),
            Array::Bytes(v) => v.to_sql_checked(ty, out),
            Array::Ints(v) => v.to_sql_checked(ty, out),
        }
    }

    // Each array checks its type against the parameter's as it is written.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The rows turned into one array per column of `sql`.
fn arrays<'v, const N: usize>(sql: &Insert, rows: &[[Value<'v>; N]]) -> Result<Vec<Array<'v>>> {
    let mismatch = |column: &str| {
        StoreError::Database(format!(
            "{}: a value of column {column} is not of its kind",
            sql.postgres()
        ))
    };
    if sql.columns().len() != N {
        return Err(StoreError::Database(format!(
            "{}: rows of {N} values for {} columns",
            sql.postgres(),
            sql.columns().len()
        )));
    }
    let mut arrays = Vec::with_capacity(N);
    for (i, &(name, kind)) in sql.columns().iter().enumerate() {
        let values = rows.iter().map(|row| row[i]);
        let fail = || mismatch(name);
        let array = match kind {
            Kind::Id => Array::Ids(column(values, fail, |v| match v {
                Value::Id(id) => Some(id),
                _ => None,
            })?),
            Kind::Text => Array::Texts(column(values, fail, |v| match v {
                Value::Text(t) => Some(t),
                _ => None,
            })?),
            Kind::Bytes => Array::Bytes(column(values, fail, |v| match v {
                Value::Bytes(b) => Some(b),
                _ => None,
            })?),
            Kind::Int => Array::Ints(column(values, fail, |v| match v {
                Value::Int(n) => Some(n),
                _ => None,
            })?),
        };
        arrays.push(array);
    }
    Ok(arrays)
}

/// One column's values as its kind holds them, NULL kept; any other kind of value fails.
fn column<'v, T>(
    values: impl Iterator<Item = Value<'v>>,
    fail: impl Fn() -> StoreError,
    pick: impl Fn(Value<'v>) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    values
        .map(|v| match v {
            Value::Null => Ok(None),
            v => pick(v).map(Some).ok_or_else(&fail),
        })
        .collect()
}

fn params<'a>(args: &'a [Value<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// Implements `Exec` for one of deadpool's wrappers: statements are prepared through its
/// cache and run on the tokio-postgres type it wraps.
macro_rules! exec_on {
    ($t:ty, $inner:ty) => {
        impl Exec for $t {
            async fn execute(&self, sql: &Sql, args: &[Value<'_>]) -> Result<u64> {
                let stmt = self.prepare_cached(sql.postgres()).await?;
                let inner: &$inner = self;
                Ok(inner.execute(&stmt, &params(args)).await?)
            }

            async fn execute_each<'v, const N: usize>(
                &self,
                sql: &Sql,
                rows: &[[Value<'v>; N]],
            ) -> std::result::Result<(), (usize, StoreError)> {
                if rows.is_empty() {
                    return Ok(());
                }
                let stmt = self
                    .prepare_cached(sql.postgres())
                    .await
                    .map_err(|e| (0, e.into()))?;
                let inner: &$inner = self;
                for (i, row) in rows.iter().enumerate() {
                    let params: [&(dyn ToSql + Sync); N] = row.each_ref().map(|v| v as _);
                    inner
                        .execute(&stmt, &params)
                        .await
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
                let arrays = arrays(sql, rows)?;
                let params: Vec<&(dyn ToSql + Sync)> =
                    arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
                let stmt = self.prepare_cached(sql.postgres()).await?;
                let inner: &$inner = self;
                inner.execute(&stmt, &params).await?;
                Ok(())
            }

            async fn query<T>(
                &self,
                sql: &Sql,
                args: &[Value<'_>],
                mut row: impl FnMut(&dyn Row) -> Result<T>,
            ) -> Result<Vec<T>> {
                let stmt = self.prepare_cached(sql.postgres()).await?;
                let inner: &$inner = self;
                let rows = inner.query(&stmt, &params(args)).await?;
                rows.iter().map(|r| row(r)).collect()
            }

            async fn query_text<T>(
                &self,
                sql: &str,
                args: &[Value<'_>],
                mut row: impl FnMut(&dyn Row) -> Result<T>,
            ) -> Result<Vec<T>> {
                // Put together for this call only: prepared unnamed, not kept.
                let inner: &$inner = self;
                let rows = inner
                    .query(&dollar_placeholders(sql), &params(args))
                    .await?;
                rows.iter().map(|r| row(r)).collect()
            }

            async fn query_opt<T>(
                &self,
                sql: &Sql,
                args: &[Value<'_>],
                row: impl FnOnce(&dyn Row) -> Result<T>,
            ) -> Result<Option<T>> {
                let stmt = self.prepare_cached(sql.postgres()).await?;
                let inner: &$inner = self;
                let found = inner.query_opt(&stmt, &params(args)).await?;
                found.as_ref().map(|r| row(r)).transpose()
            }
        }
    };
}

exec_on!(Client, tokio_postgres::Client);
exec_on!(Transaction<'_>, tokio_postgres::Transaction<'_>);
