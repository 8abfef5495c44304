//! Duplicate customers merged into one.

use uuid::Uuid;

use super::{Exec, Sql, WriteTx, args, changes, companies, customers, tasks};
use crate::{Merge, Result, StoreError};

static VERSION: Sql = Sql::for_update("SELECT version FROM customers WHERE id = ?1");
static MOVE_INTERACTION: Sql = Sql::new(
    "UPDATE interactions SET customer_id = ?2, sealed = ?3, facets = ?4
     WHERE id = ?1 AND customer_id = ?5",
);
static LEFT_BEHIND: Sql = Sql::new("SELECT 1 FROM interactions WHERE customer_id = ?1 LIMIT 1");
/// An objection the desk upheld binds whoever holds the data now (Art. 21); the merged-away
/// customer's other requests stay its own, kept under the pseudonym an erasure leaves.
static MOVE_OBJECTIONS: Sql = Sql::new(
    "UPDATE requests SET customer_id = ?2
     WHERE customer_id = ?1 AND kind = 'objection' AND state = 'completed'",
);
static REPOINT: Sql =
    Sql::new("UPDATE customer_merges SET survivor_id = ?2 WHERE survivor_id = ?1");
static RECORD: Sql =
    Sql::new("INSERT INTO customer_merges (merged_id, survivor_id, merged_at) VALUES (?1, ?2, ?3)");
static SURVIVOR: Sql = Sql::new("SELECT survivor_id FROM customer_merges WHERE merged_id = ?1");

/// Merges inside a transaction the caller commits; false, with nothing applied, when the
/// merged-away customer is not there.
pub(crate) async fn merge(x: &impl WriteTx, m: Merge) -> Result<bool> {
    let merged = m.erasure.id;
    let Some(version) = x.query_opt(&VERSION, &args![merged], |r| r.int(0)).await? else {
        return Ok(false);
    };
    if version != m.merged_version {
        return Err(StoreError::Conflict);
    }
    for i in &m.moved {
        let args = args![i.id, m.survivor, &i.sealed, i.facets.as_ref(), merged];
        if x.execute(&MOVE_INTERACTION, &args).await? != 1 {
            return Err(StoreError::Conflict);
        }
    }
    if x.query_opt(&LEFT_BEHIND, &args![merged], |_| Ok(()))
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict);
    }
    tasks::move_to(x, merged, &m.moved_tasks).await?;
    x.execute(&companies::MOVE_MEMBERSHIP, &args![merged, m.survivor])
        .await?;
    if !m.moved.is_empty() {
        x.execute(&customers::RECOMPUTE_LAST_INTERACTION, &args![m.survivor])
            .await?;
    }
    x.execute(&MOVE_OBJECTIONS, &args![merged, m.survivor])
        .await?;
    x.execute(&REPOINT, &args![merged, m.survivor]).await?;
    x.execute(&RECORD, &args![merged, m.survivor, m.erasure.at])
        .await?;
    changes::erase(x, m.erasure).await
}

pub(crate) async fn survivor_of(x: &impl Exec, merged: Uuid) -> Result<Option<Uuid>> {
    x.query_opt(&SURVIVOR, &args![merged], |r| r.id(0)).await
}
