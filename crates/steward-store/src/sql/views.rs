//! Saved views of the customer list.

use uuid::Uuid;

use super::{Exec, Row, Sql, args};
use crate::{Result, SavedViewRow};

static INSERT: Sql = Sql::new(
    "INSERT INTO saved_views (id, owner, name, filter, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
);
static OF_OWNER: Sql = Sql::new(
    "SELECT id, owner, name, filter, created_at FROM saved_views WHERE owner = ?1 ORDER BY name",
);
static DELETE: Sql = Sql::new("DELETE FROM saved_views WHERE owner = ?1 AND id = ?2");

fn view_from(r: &dyn Row) -> Result<SavedViewRow> {
    Ok(SavedViewRow {
        id: r.id(0)?,
        owner: r.text(1)?,
        name: r.text(2)?,
        filter: r.text(3)?,
        created_at: r.int(4)?,
    })
}

pub(crate) async fn save(x: &impl Exec, v: &SavedViewRow) -> Result<()> {
    x.execute(
        &INSERT,
        &args![v.id, &v.owner, &v.name, &v.filter, v.created_at],
    )
    .await
    .map_err(|e| e.duplicate_of("name"))?;
    Ok(())
}

pub(crate) async fn of_owner(x: &impl Exec, owner: &str) -> Result<Vec<SavedViewRow>> {
    x.query(&OF_OWNER, &args![owner], view_from).await
}

pub(crate) async fn delete(x: &impl Exec, owner: &str, id: Uuid) -> Result<bool> {
    Ok(x.execute(&DELETE, &args![owner, id]).await? > 0)
}
