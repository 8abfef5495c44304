//! Companies, their tags and their members: kept in clear, as organisations are not persons;
//! a membership holds ids only. Erasing a customer deletes their membership, and a merge
//! gives the duplicate's to the survivor when the survivor has none.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, WriteTx, args};
use crate::{CompanyFilter, CompanyOrder, CompanyRow, Joined, Result, StoreError};

macro_rules! company_cols {
    () => {
        "c.id, c.name, c.domain, c.country, c.owner_id, c.version, c.created_at, c.updated_at,
         (SELECT string_agg(tag, ',') FROM company_tags t WHERE t.company_id = c.id),
         (SELECT COUNT(*) FROM company_members m WHERE m.company_id = c.id)"
    };
}

static INSERT: Sql = Sql::new(
    "INSERT INTO companies (id, name, name_key, domain, country, owner_id, version, created_at,
       updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
);
static UPDATE: Sql = Sql::new(
    "UPDATE companies SET name = ?2, name_key = ?3, domain = ?4, country = ?5, owner_id = ?6,
       version = ?7, updated_at = ?8
     WHERE id = ?1 AND version = ?9",
);
static BY_ID: Sql = Sql::new(concat!(
    "SELECT ",
    company_cols!(),
    " FROM companies c WHERE c.id = ?1"
));
static LOCK: Sql = Sql::for_update("SELECT 1 FROM companies WHERE id = ?1");
static ADD_TAG: Sql = Sql::new("INSERT INTO company_tags (company_id, tag) VALUES (?1, ?2)");
static ERASE_TAGS: Sql = Sql::new("DELETE FROM company_tags WHERE company_id = ?1");
static ERASE_MEMBERS: Sql = Sql::new("DELETE FROM company_members WHERE company_id = ?1");
static DELETE: Sql = Sql::new("DELETE FROM companies WHERE id = ?1");
static MEMBER_OF: Sql = Sql::new("SELECT company_id FROM company_members WHERE customer_id = ?1");
static ADD_MEMBER: Sql = Sql::new(
    "INSERT INTO company_members (customer_id, company_id, added_at) VALUES (?1, ?2, ?3)
              ON CONFLICT (customer_id) DO NOTHING",
);
static REMOVE_MEMBER: Sql =
    Sql::new("DELETE FROM company_members WHERE customer_id = ?1 AND company_id = ?2");
/// A customer's membership goes with their erasure, in its transaction.
pub(crate) static ERASE_MEMBERSHIP: Sql =
    Sql::new("DELETE FROM company_members WHERE customer_id = ?1");
/// The merged-away customer's membership given to the survivor (`?2`), unless the survivor
/// belongs to a company already; the duplicate's own goes with its erasure.
pub(crate) static MOVE_MEMBERSHIP: Sql = Sql::new(
    "INSERT INTO company_members (customer_id, company_id, added_at)
     SELECT ?2, company_id, added_at FROM company_members WHERE customer_id = ?1
     ON CONFLICT (customer_id) DO NOTHING",
);

fn company_from(r: &dyn Row) -> Result<CompanyRow> {
    let mut tags: Vec<String> = r
        .opt_str(8)?
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    tags.sort_unstable();
    Ok(CompanyRow {
        id: r.id(0)?,
        name: r.text(1)?,
        domain: r.opt_text(2)?,
        country: r.opt_text(3)?,
        owner_id: r.opt_id(4)?,
        version: r.int(5)?,
        created_at: r.int(6)?,
        updated_at: r.int(7)?,
        tags,
        members: r.int(9)?,
    })
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

async fn add_tags(x: &impl Exec, c: &CompanyRow) -> Result<()> {
    for tag in &c.tags {
        x.execute(&ADD_TAG, &args![c.id, tag]).await?;
    }
    Ok(())
}

pub(crate) async fn create(x: &impl WriteTx, c: &CompanyRow, audit: AuditRecord) -> Result<()> {
    let key = name_key(&c.name);
    let args = args![
        c.id,
        &c.name,
        &key,
        c.domain.as_ref(),
        c.country.as_ref(),
        c.owner_id,
        c.version,
        c.created_at,
        c.updated_at
    ];
    x.execute(&INSERT, &args)
        .await
        .map_err(|e| e.duplicate_of("domain"))?;
    add_tags(x, c).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces a company at the version before the row's; false, with nothing audited, when the
/// kept version is another.
pub(crate) async fn update(x: &impl WriteTx, c: &CompanyRow, audit: AuditRecord) -> Result<bool> {
    let key = name_key(&c.name);
    let args = args![
        c.id,
        &c.name,
        &key,
        c.domain.as_ref(),
        c.country.as_ref(),
        c.owner_id,
        c.version,
        c.updated_at,
        c.version.saturating_sub(1)
    ];
    let n = x
        .execute(&UPDATE, &args)
        .await
        .map_err(|e| e.duplicate_of("domain"))?;
    if n == 0 {
        return Ok(false);
    }
    x.execute(&ERASE_TAGS, &args![c.id]).await?;
    add_tags(x, c).await?;
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn get(x: &impl Exec, id: Uuid) -> Result<Option<CompanyRow>> {
    x.query_opt(&BY_ID, &args![id], company_from).await
}

/// `%`, `_` and the escape itself matched as themselves in a `LIKE` pattern.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

fn selected<'f>(b: &mut Builder<'f>, f: &'f CompanyFilter, pattern: Option<&'f String>) {
    if let Some(tag) = &f.tag {
        b.push(
            " AND c.id IN (SELECT company_id FROM company_tags WHERE tag = ?)",
            &args![tag],
        );
    }
    if let Some(pattern) = pattern {
        b.push(" AND c.name_key LIKE ? ESCAPE '\\'", &args![pattern]);
    }
}

pub(crate) async fn list(x: &impl Exec, f: &CompanyFilter) -> Result<Vec<CompanyRow>> {
    let pattern = f.name_prefix.as_deref().map(like_prefix);
    let mut b = Builder::new(concat!("SELECT ", company_cols!(), " FROM companies c"));
    if f.order == CompanyOrder::Owner {
        b.push(" LEFT JOIN users u ON u.id = c.owner_id", &[]);
    }
    b.push(" WHERE 1 = 1", &[]);
    selected(&mut b, f, pattern.as_ref());
    // Companies without an owner come last whichever way the owners are sorted.
    let order = match (f.order, f.descending) {
        (CompanyOrder::Name, false) => " ORDER BY c.name_key, c.id",
        (CompanyOrder::Name, true) => " ORDER BY c.name_key DESC, c.id DESC",
        (CompanyOrder::Created, false) => " ORDER BY c.created_at, c.id",
        (CompanyOrder::Created, true) => " ORDER BY c.created_at DESC, c.id DESC",
        (CompanyOrder::Updated, false) => " ORDER BY c.updated_at, c.id",
        (CompanyOrder::Updated, true) => " ORDER BY c.updated_at DESC, c.id DESC",
        (CompanyOrder::Owner, false) => {
            " ORDER BY u.display_name IS NULL, lower(u.display_name), c.name_key, c.id"
        }
        (CompanyOrder::Owner, true) => {
            " ORDER BY u.display_name IS NULL, lower(u.display_name) DESC, c.name_key DESC, c.id DESC"
        }
    };
    b.push(order, &[]);
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(f.offset).unwrap_or(i64::MAX);
    b.push(" LIMIT ? OFFSET ?", &args![limit, offset]);
    x.query_text(&b.sql, &b.args, company_from).await
}

pub(crate) async fn count(x: &impl Exec, f: &CompanyFilter) -> Result<u64> {
    let pattern = f.name_prefix.as_deref().map(like_prefix);
    let mut b = Builder::new("SELECT COUNT(*) FROM companies c WHERE 1 = 1");
    selected(&mut b, f, pattern.as_ref());
    let n = x.query_text(&b.sql, &b.args, |r| r.int(0)).await?;
    Ok(n.first().map_or(0, |&n| u64::try_from(n).unwrap_or(0)))
}

/// Deletes a company with its tags and memberships; the row is locked first, so a member
/// added meanwhile on another instance waits and then finds no company.
pub(crate) async fn delete(x: &impl WriteTx, id: Uuid, audit: AuditRecord) -> Result<bool> {
    if x.query_opt(&LOCK, &args![id], |_| Ok(())).await?.is_none() {
        return Ok(false);
    }
    x.execute(&ERASE_MEMBERS, &args![id]).await?;
    x.execute(&ERASE_TAGS, &args![id]).await?;
    x.execute(&DELETE, &args![id]).await?;
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn add_member(
    x: &impl WriteTx,
    company: Uuid,
    customer: Uuid,
    at: i64,
    audit: AuditRecord,
) -> Result<Joined> {
    if x.query_opt(&LOCK, &args![company], |_| Ok(()))
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound);
    }
    match company_of(x, customer).await? {
        Some(c) if c == company => return Ok(Joined::Already),
        Some(other) => return Ok(Joined::Elsewhere(other)),
        None => {}
    }
    let added = x
        .execute(&ADD_MEMBER, &args![customer, company, at])
        .await
        .map_err(StoreError::parent_missing)?;
    if added == 0 {
        // Joined meanwhile on another instance: the insert waited for that commit, which a
        // second read now sees.
        return match company_of(x, customer).await? {
            Some(c) if c == company => Ok(Joined::Already),
            Some(other) => Ok(Joined::Elsewhere(other)),
            None => Err(StoreError::Conflict),
        };
    }
    x.append_audit(vec![audit]).await?;
    Ok(Joined::Added)
}

pub(crate) async fn remove_member(
    x: &impl WriteTx,
    company: Uuid,
    customer: Uuid,
    audit: AuditRecord,
) -> Result<bool> {
    if x.execute(&REMOVE_MEMBER, &args![customer, company]).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn company_of(x: &impl Exec, customer: Uuid) -> Result<Option<Uuid>> {
    x.query_opt(&MEMBER_OF, &args![customer], |r| r.id(0)).await
}
