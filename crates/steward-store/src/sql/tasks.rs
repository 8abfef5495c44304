//! Tasks and reminders on a customer: added and closed with a change set, moved by a merge,
//! deleted with their customer.

use uuid::Uuid;

use super::{Exec, Row, Sql, args};
use crate::{Result, StoreError, TaskMove, TaskRow};

macro_rules! task_cols {
    () => {
        "id, customer_id, sealed, due_on, owner_id, created_by, created_at, done_at, done_by"
    };
}

static INSERT: Sql = Sql::new(
    "INSERT INTO tasks (id, customer_id, sealed, due_on, owner_id, created_by, created_at,
       done_at, done_by)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
);
static DONE: Sql =
    Sql::new("UPDATE tasks SET done_at = ?2, done_by = ?3 WHERE id = ?1 AND done_at IS NULL");
static REOPEN: Sql = Sql::new(
    "UPDATE tasks SET done_at = NULL, done_by = NULL WHERE id = ?1 AND done_at IS NOT NULL",
);
static BY_ID: Sql = Sql::new(concat!(
    "SELECT ",
    task_cols!(),
    " FROM tasks WHERE id = ?1"
));
static OF_CUSTOMER: Sql = Sql::new(concat!(
    "SELECT ",
    task_cols!(),
    " FROM tasks WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
));
/// Those without a due date last, on both engines, which sort nulls differently.
static OPEN_OF_OWNER: Sql = Sql::new(concat!(
    "SELECT ",
    task_cols!(),
    " FROM tasks WHERE owner_id = ?1 AND done_at IS NULL
     ORDER BY due_on IS NULL, due_on, created_at, id LIMIT ?2"
));
static MOVE: Sql =
    Sql::new("UPDATE tasks SET customer_id = ?2, sealed = ?3 WHERE id = ?1 AND customer_id = ?4");
static LEFT_BEHIND: Sql = Sql::new("SELECT 1 FROM tasks WHERE customer_id = ?1 LIMIT 1");
pub(crate) static ERASE: Sql = Sql::new("DELETE FROM tasks WHERE customer_id = ?1");

fn task_from(r: &dyn Row) -> Result<TaskRow> {
    Ok(TaskRow {
        id: r.id(0)?,
        customer_id: r.id(1)?,
        sealed: r.bytes(2)?,
        due_on: r.opt_text(3)?,
        owner_id: r.id(4)?,
        created_by: r.text(5)?,
        created_at: r.int(6)?,
        done_at: r.opt_int(7)?,
        done_by: r.opt_text(8)?,
    })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds tasks and applies moves; see [`crate::ChangeSet::tasks`].
pub(crate) async fn save(x: &impl Exec, tasks: &[TaskRow], moves: &[TaskMove]) -> Result<()> {
    for t in tasks {
        let args = args![
            t.id,
            t.customer_id,
            &t.sealed,
            t.due_on.as_deref(),
            t.owner_id,
            &t.created_by,
            t.created_at,
            t.done_at,
            t.done_by.as_deref()
        ];
        x.execute(&INSERT, &args)
            .await
            .map_err(StoreError::parent_missing)?;
    }
    for m in moves {
        let changed = match &m.done {
            Some((by, at)) => x.execute(&DONE, &args![m.id, *at, by]).await?,
            None => x.execute(&REOPEN, &args![m.id]).await?,
        };
        if changed != 1 {
            return Err(StoreError::Conflict);
        }
    }
    Ok(())
}

pub(crate) async fn task(x: &impl Exec, id: Uuid) -> Result<Option<TaskRow>> {
    x.query_opt(&BY_ID, &args![id], task_from).await
}

/// A customer's latest `n` tasks, newest first.
pub(crate) async fn of_customer(x: &impl Exec, customer: Uuid, n: usize) -> Result<Vec<TaskRow>> {
    x.query(&OF_CUSTOMER, &args![customer, limit(n)], task_from)
        .await
}

/// Up to `n` open tasks of `owner`, soonest due first, those without a date last.
pub(crate) async fn open_of_owner(x: &impl Exec, owner: Uuid, n: usize) -> Result<Vec<TaskRow>> {
    x.query(&OPEN_OF_OWNER, &args![owner, limit(n)], task_from)
        .await
}

/// Moves tasks from `merged` to their new customer; `Conflict` when one is no longer
/// `merged`'s or one of `merged`'s was not among them.
pub(crate) async fn move_to(x: &impl Exec, merged: Uuid, moved: &[TaskRow]) -> Result<()> {
    for t in moved {
        let args = args![t.id, t.customer_id, &t.sealed, merged];
        if x.execute(&MOVE, &args).await? != 1 {
            return Err(StoreError::Conflict);
        }
    }
    if x.query_opt(&LEFT_BEHIND, &args![merged], |_| Ok(()))
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict);
    }
    Ok(())
}
