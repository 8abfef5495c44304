//! Customers: their sealed rows, tags, interactions, tombstones and import jobs.

use uuid::Uuid;

use super::{
    Builder, Exec, Insert, Kind, Row, Sql, Value, args, blind_index, companies, idempotency,
    outbox, personalization, portal, tasks,
};
use crate::records::{decode_index_keys, encode_index_keys, merge_index_keys};
use crate::{
    CustomerFilter, CustomerRow, CustomerUpdate, CustomerWrite, ImportJob, IndexDigest,
    InteractionRow, ListOrder, OwnerFilter, Result, StoreError,
};

/// A customer's columns, read by [`customer_from`], for a query on `customers c`.
macro_rules! customer_cols {
    () => {
        "c.id, c.residency, c.status, c.fields, c.version, c.created_at, c.updated_at,
         (SELECT string_agg(tag, ',') FROM customer_tags t WHERE t.customer_id = c.id),
         c.last_interaction_at, c.owner_id"
    };
}
pub(crate) use customer_cols;

static BY_ID: Sql = Sql::new(concat!(
    "SELECT ",
    customer_cols!(),
    " FROM customers c WHERE c.id = ?1"
));
static INTERACTIONS: Sql = Sql::new(
    "SELECT id, kind, occurred_at, sealed, created_at, facets FROM interactions
     WHERE customer_id = ?1 AND (occurred_at, id) < (?2, ?3)
     ORDER BY occurred_at DESC, id DESC LIMIT ?4",
);
static INSERT: Insert = Insert::new(
    "customers",
    &[
        ("id", Kind::Id),
        ("residency", Kind::Text),
        ("status", Kind::Text),
        ("fields", Kind::Bytes),
        ("index_keys", Kind::Bytes),
        ("version", Kind::Int),
        ("created_at", Kind::Int),
        ("updated_at", Kind::Int),
        ("owner_id", Kind::Id),
    ],
    "",
);
static ADD_TAGS: Insert = Insert::new(
    "customer_tags",
    &[("tag", Kind::Text), ("customer_id", Kind::Id)],
    "ON CONFLICT DO NOTHING",
);
static CURRENT: Sql = Sql::for_update("SELECT version, index_keys FROM customers WHERE id = ?1");
static UPDATE: Sql = Sql::new(
    "UPDATE customers SET residency = ?2, status = ?3, fields = ?4, index_keys = ?5, version = ?6,
       updated_at = ?7, owner_id = ?8
     WHERE id = ?1",
);
static INSERT_INTERACTION: Sql = Sql::new(
    "INSERT INTO interactions (id, customer_id, kind, occurred_at, sealed, created_at, facets)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
);
/// Moves the customer's last interaction forward to `?2` if that is later; the same words on
/// both engines, which name the larger of two values differently.
static TOUCH_LAST_INTERACTION: Sql = Sql::new(
    "UPDATE customers SET last_interaction_at = ?2
     WHERE id = ?1 AND (last_interaction_at IS NULL OR last_interaction_at < ?2)",
);
/// After interactions are deleted: the latest of those left, none if none is.
pub(crate) static RECOMPUTE_LAST_INTERACTION: Sql = Sql::new(
    "UPDATE customers SET last_interaction_at =
       (SELECT MAX(i.occurred_at) FROM interactions i WHERE i.customer_id = ?1)
     WHERE id = ?1",
);
static COUNT: Sql = Sql::new("SELECT count(*) FROM customers");
static TOMBSTONED: Sql = Sql::new("SELECT 1 FROM tombstones WHERE customer_id = ?1");
static SAVE_JOB: Sql = Sql::new(
    "INSERT INTO import_jobs (fingerprint, byte_offset, line, imported, rejected, reject_len, finished, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (fingerprint) DO UPDATE SET byte_offset = excluded.byte_offset, line = excluded.line,
       imported = excluded.imported, rejected = excluded.rejected, reject_len = excluded.reject_len,
       finished = excluded.finished, updated_at = excluded.updated_at",
);
static JOB: Sql = Sql::new(
    "SELECT byte_offset, line, imported, rejected, reject_len, finished, updated_at
     FROM import_jobs WHERE fingerprint = ?1",
);

static INDEX_KEYS: Sql = Sql::for_update("SELECT index_keys FROM customers WHERE id = ?1");
static ERASE_INTERACTIONS: Sql = Sql::new("DELETE FROM interactions WHERE customer_id = ?1");
static ERASE_TAGS: Sql = Sql::new("DELETE FROM customer_tags WHERE customer_id = ?1");
static ERASE_CURRENT_CONSENTS: Sql = Sql::new("DELETE FROM consent_current WHERE customer_id = ?1");
static ERASE_CONSENT_EVENTS: Sql = Sql::new("DELETE FROM consent_events WHERE customer_id = ?1");
static ERASE_CUSTOMER: Sql = Sql::new("DELETE FROM customers WHERE id = ?1");
/// The ids merged into the customer pointed to them; erased, they point nowhere.
static ERASE_MERGE_POINTERS: Sql = Sql::new("DELETE FROM customer_merges WHERE survivor_id = ?1");
static TOMBSTONE: Sql = Sql::new(
    "INSERT INTO tombstones (customer_id, erased_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
);

/// Adds new customers' rows and tags. Their index entries are the caller's, added with
/// those of every other customer it writes, in key order.
pub(crate) async fn insert(x: &impl Exec, writes: &[CustomerWrite]) -> Result<()> {
    let keys: Vec<Vec<u8>> = writes.iter().map(|w| encode_index_keys(&w.index)).collect();
    let rows: Vec<_> = (writes.iter().zip(&keys))
        .map(|(w, keys)| {
            let r = &w.row;
            args![
                r.id,
                &r.residency,
                &r.status,
                &r.fields,
                keys,
                r.version,
                r.created_at,
                r.updated_at,
                r.owner_id
            ]
        })
        .collect();
    x.insert(&INSERT, &rows)
        .await
        .map_err(|e| e.duplicate_of("id"))?;
    add_tags(x, writes.iter().map(|w| (w.row.id, &w.row.tags[..]))).await
}

async fn add_tags<'t>(
    x: &impl Exec,
    customers: impl Iterator<Item = (Uuid, &'t [String])>,
) -> Result<()> {
    let rows: Vec<_> = customers
        .flat_map(|(id, tags)| tags.iter().map(move |tag| args![tag, id]))
        .collect();
    x.insert(&ADD_TAGS, &rows).await
}

/// Replaces a customer's row and tags if it is still at the version the caller read
/// (`Conflict` otherwise), and removes the index entries of the fields it replaces. Their new
/// entries are the caller's, like a new customer's.
pub(crate) async fn update(x: &impl Exec, u: &CustomerUpdate) -> Result<()> {
    let r = &u.write.row;
    let (version, old) = x
        .query_opt(&CURRENT, &args![r.id], |row| {
            Ok((row.int(0)?, decode_index_keys(row.blob(1)?)?))
        })
        .await?
        .ok_or(StoreError::NotFound)?;
    if version != u.expected_version {
        return Err(StoreError::Conflict);
    }
    let (kept, removed) = merge_index_keys(old, &u.write.index, &u.replaced_index_fields);
    blind_index::remove(x, r.id, &removed).await?;
    let keys = encode_index_keys(&kept);
    let args = args![
        r.id,
        &r.residency,
        &r.status,
        &r.fields,
        &keys,
        r.version,
        r.updated_at,
        r.owner_id
    ];
    x.execute(&UPDATE, &args).await?;
    x.execute(&ERASE_TAGS, &args![r.id]).await?;
    add_tags(x, std::iter::once((r.id, &r.tags[..]))).await
}

/// Adds interactions; `NotFound` when one's customer is not (or no longer) there.
pub(crate) async fn add_interactions(x: &impl Exec, interactions: &[InteractionRow]) -> Result<()> {
    for i in interactions {
        let args = args![
            i.id,
            i.customer_id,
            &i.kind,
            i.occurred_at,
            &i.sealed,
            i.created_at,
            i.facets.as_ref()
        ];
        x.execute(&INSERT_INTERACTION, &args)
            .await
            .map_err(StoreError::parent_missing)?;
        x.execute(
            &TOUCH_LAST_INTERACTION,
            &args![i.customer_id, i.occurred_at],
        )
        .await?;
    }
    Ok(())
}

/// Deletes a customer's rows and index entries and leaves a tombstone; false when there is
/// no such customer. Children go first, explicitly, so erasure never depends on foreign
/// keys. The customer's row is read first, which locks it on PostgreSQL.
pub(crate) async fn erase(x: &impl Exec, id: Uuid, at: i64) -> Result<bool> {
    let Some(entries) = x
        .query_opt(&INDEX_KEYS, &args![id], |r| decode_index_keys(r.blob(0)?))
        .await?
    else {
        return Ok(false);
    };
    blind_index::remove(x, id, &entries).await?;
    idempotency::scrub(x, id).await?;
    for sql in [
        &ERASE_INTERACTIONS,
        &tasks::ERASE,
        &companies::ERASE_MEMBERSHIP,
        &ERASE_TAGS,
        &ERASE_CURRENT_CONSENTS,
        &ERASE_CONSENT_EVENTS,
        &ERASE_MERGE_POINTERS,
    ] {
        x.execute(sql, &args![id]).await?;
    }
    outbox::erase(x, id).await?;
    portal::erase(x, id).await?;
    personalization::erase(x, id).await?;
    x.execute(&ERASE_CUSTOMER, &args![id]).await?;
    x.execute(&TOMBSTONE, &args![id, at]).await?;
    Ok(true)
}

/// A customer as [`customer_cols`] reads it. Tags are slugs, never holding a comma, and
/// come sorted byte by byte whichever engine gathered them.
pub(crate) fn customer_from(r: &dyn Row) -> Result<CustomerRow> {
    let mut tags: Vec<String> = r
        .opt_str(7)?
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    tags.sort_unstable();
    Ok(CustomerRow {
        id: r.id(0)?,
        residency: r.text(1)?,
        status: r.text(2)?,
        fields: r.bytes(3)?,
        version: r.int(4)?,
        created_at: r.int(5)?,
        updated_at: r.int(6)?,
        tags,
        last_interaction_at: r.opt_int(8)?,
        owner_id: r.opt_id(9)?,
    })
}

pub(crate) async fn get(x: &impl Exec, id: Uuid) -> Result<Option<CustomerRow>> {
    x.query_opt(&BY_ID, &args![id], customer_from).await
}

/// One page of the customers a filter selects, in the filter's order (by id unless it says).
/// The page is chosen over ids and sort keys alone, then its rows are read: the sealed
/// fields and the tags are read for the page's customers, not for every one sorted past.
pub(crate) async fn list(x: &impl Exec, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
    let (keys, tie) = order_keys(f.order);
    let mut chosen = String::from("SELECT c.id AS page_id");
    for (i, (expr, _)) in keys.iter().enumerate() {
        chosen.push_str(&format!(", {expr} AS k{i}"));
    }
    chosen.push_str(" FROM customers c");
    if matches!(f.order, Some((ListOrder::Owner, _))) {
        chosen.push_str(" LEFT JOIN users o ON o.id = c.owner_id");
    }
    chosen.push_str(" WHERE 1 = 1");
    let order = |prefix: &str| {
        let mut o = String::from(" ORDER BY ");
        for (i, (_, direction)) in keys.iter().enumerate() {
            o.push_str(&format!("{prefix}k{i}{direction}, "));
        }
        o.push_str(&format!("{prefix}page_id{tie}"));
        o
    };
    let mut b = Builder::new(concat!(
        "SELECT ",
        customer_cols!(),
        " FROM customers c JOIN ("
    ));
    b.push(&chosen, &[]);
    let words = rarest_first(x, f).await?;
    selected(&mut b, f, &words);
    if let Some(after) = f.after {
        b.push(" AND c.id > ?", &args![after]);
    }
    b.push(&order(""), &[]);
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    b.push(" LIMIT ?", &args![limit]);
    if let Some(offset) = f.offset {
        b.push(
            " OFFSET ?",
            &args![i64::try_from(offset).unwrap_or(i64::MAX)],
        );
    }
    b.push(") p ON p.page_id = c.id", &[]);
    b.push(&order("p."), &[]);
    x.query_text(&b.sql, &b.args, customer_from).await
}

/// The sort keys of an order, each with its direction, and the direction of the id that
/// breaks ties. NULL sorts first going up and last going down, as SQLite orders it of
/// itself; the PostgreSQL index on the last interaction is built in that order too, so both
/// engines read the page from an index and agree on it. Customers without an owner come
/// last either way.
fn order_keys(
    order: Option<(ListOrder, bool)>,
) -> (Vec<(&'static str, &'static str)>, &'static str) {
    let Some((column, descending)) = order else {
        return (Vec::new(), "");
    };
    let way = if descending { " DESC" } else { "" };
    let keys = match column {
        ListOrder::Created => vec![("c.created_at", way)],
        ListOrder::Updated => vec![("c.updated_at", way)],
        ListOrder::LastInteraction if descending => {
            vec![("c.last_interaction_at", " DESC NULLS LAST")]
        }
        ListOrder::LastInteraction => vec![("c.last_interaction_at", " NULLS FIRST")],
        ListOrder::Residency => vec![("c.residency", way)],
        ListOrder::Status => vec![("c.status", way)],
        ListOrder::Owner => vec![
            ("o.display_name IS NULL", ""),
            ("lower(o.display_name)", way),
        ],
    };
    (keys, way)
}

/// How many customers the filter selects, whatever the page.
pub(crate) async fn count_selected(x: &impl Exec, f: &CustomerFilter) -> Result<u64> {
    let mut b = Builder::new("SELECT COUNT(*) FROM customers c WHERE 1 = 1");
    let words = rarest_first(x, f).await?;
    selected(&mut b, f, &words);
    let n = x.query_text(&b.sql, &b.args, |r| r.int(0)).await?;
    Ok(n.first().map_or(0, |&n| u64::try_from(n).unwrap_or(0)))
}

/// The name fields, then a word's digest: what a condition on one word binds.
fn word_values<'f>(f: &'f CustomerFilter, digest: &'f IndexDigest) -> Vec<Value<'f>> {
    let mut values: Vec<Value<'f>> = f.name_fields.iter().map(|n| Value::Text(n)).collect();
    values.push(Value::Bytes(digest));
    values
}

/// A word's entries are counted up to this many: enough to tell a rare word from a common one
/// without reading a common one in full.
const WORD_COUNT_CAP: usize = 2_000;

/// The words of a name search, the rarest first. The first word's customers are read in full
/// and each looked up in the others' entries, so a search costs what its rarest word costs;
/// reading every word in full would cost what the commonest ("Anna") does.
async fn rarest_first<'f>(x: &impl Exec, f: &'f CustomerFilter) -> Result<Vec<&'f IndexDigest>> {
    if f.name_tokens.len() < 2 {
        return Ok(f.name_tokens.iter().collect());
    }
    let fields = vec!["?"; f.name_fields.len()].join(", ");
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM blind_index WHERE field IN ({fields}) AND digest = ?
           LIMIT {WORD_COUNT_CAP}) w"
    );
    let mut counted = Vec::with_capacity(f.name_tokens.len());
    for digest in &f.name_tokens {
        let mut b = Builder::new("");
        b.push(&sql, &word_values(f, digest));
        let n = x.query_text(&b.sql, &b.args, |r| r.int(0)).await?;
        counted.push((n.first().copied().unwrap_or(0), digest));
    }
    counted.sort_by_key(|&(n, _)| n);
    Ok(counted.into_iter().map(|(_, d)| d).collect())
}

/// The conditions of a filter, but for its page; `words` are its name words, rarest first.
fn selected<'f>(b: &mut Builder<'f>, f: &'f CustomerFilter, words: &[&'f IndexDigest]) {
    if let Some((field, digest)) = &f.index {
        b.push(
            " AND c.id IN (SELECT customer_id FROM unique_index WHERE field = ? AND digest = ?
              UNION ALL SELECT customer_id FROM blind_index WHERE field = ? AND digest = ?)",
            &args![field, digest, field, digest],
        );
    }
    let fields = vec!["?"; f.name_fields.len()].join(", ");
    for (i, digest) in words.iter().enumerate() {
        let clause = if i == 0 {
            format!(
                " AND c.id IN (SELECT customer_id FROM blind_index WHERE field IN ({fields}) AND digest = ?)"
            )
        } else {
            format!(
                " AND EXISTS (SELECT 1 FROM blind_index w WHERE w.field IN ({fields}) AND w.digest = ?
                   AND w.customer_id = c.id)"
            )
        };
        b.push(&clause, &word_values(f, digest));
    }
    if let Some(tag) = &f.tag {
        b.push(
            " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
            &args![tag],
        );
    }
    if let Some(company) = f.company {
        b.push(
            " AND c.id IN (SELECT customer_id FROM company_members WHERE company_id = ?)",
            &args![company],
        );
    }
    if let Some(s) = &f.status {
        b.push(" AND c.status = ?", &args![s]);
    }
    if let Some(r) = &f.residency {
        b.push(" AND c.residency = ?", &args![r]);
    }
    match f.owner {
        Some(OwnerFilter::Of(owner)) => b.push(" AND c.owner_id = ?", &args![owner]),
        Some(OwnerFilter::Unowned) => b.push(" AND c.owner_id IS NULL", &[]),
        None => {}
    }
    for (bound, clause) in [
        (f.created_after, " AND c.created_at > ?"),
        (f.created_before, " AND c.created_at < ?"),
        (f.updated_after, " AND c.updated_at > ?"),
        (f.updated_before, " AND c.updated_at < ?"),
    ] {
        if let Some(at) = bound {
            b.push(clause, &args![at]);
        }
    }
}

/// A customer's interactions, newest first; the cursor is the last (occurred_at, id) seen.
pub(crate) async fn interactions(
    x: &impl Exec,
    customer: Uuid,
    after: Option<(i64, Uuid)>,
    limit: usize,
) -> Result<Vec<InteractionRow>> {
    let (at, id) = after.unwrap_or((i64::MAX, Uuid::max()));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    x.query(&INTERACTIONS, &args![customer, at, id, limit], |r| {
        Ok(InteractionRow {
            id: r.id(0)?,
            customer_id: customer,
            kind: r.text(1)?,
            occurred_at: r.int(2)?,
            sealed: r.bytes(3)?,
            created_at: r.int(4)?,
            facets: r.opt_bytes(5)?,
        })
    })
    .await
}

pub(crate) async fn count(x: &impl Exec) -> Result<u64> {
    let n = x.query_opt(&COUNT, &[], |r| r.int(0)).await?;
    Ok(n.unwrap_or(0) as u64)
}

pub(crate) async fn is_tombstoned(x: &impl Exec, id: Uuid) -> Result<bool> {
    Ok(x.query_opt(&TOMBSTONED, &args![id], |_| Ok(()))
        .await?
        .is_some())
}

/// Adds or updates an import's progress.
pub(crate) async fn save_job(x: &impl Exec, j: &ImportJob) -> Result<()> {
    let args = args![
        &j.fingerprint,
        j.byte_offset as i64,
        j.line as i64,
        j.imported as i64,
        j.rejected as i64,
        j.reject_len as i64,
        j.finished,
        j.updated_at
    ];
    x.execute(&SAVE_JOB, &args).await?;
    Ok(())
}

pub(crate) async fn import_job(x: &impl Exec, fingerprint: &str) -> Result<Option<ImportJob>> {
    x.query_opt(&JOB, &args![fingerprint], |r| {
        Ok(ImportJob {
            fingerprint: fingerprint.to_string(),
            byte_offset: r.int(0)? as u64,
            line: r.int(1)? as u64,
            imported: r.int(2)? as u64,
            rejected: r.int(3)? as u64,
            reject_len: r.int(4)? as u64,
            finished: r.bool(5)?,
            updated_at: r.int(6)?,
        })
    })
    .await
}
