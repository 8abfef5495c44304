//! Personalization: levels and their events, profile attributes, suppressed keys, offers and
//! recompute runs, and the interactions a profile is derived from (facets only).

use std::collections::HashMap;

use steward_core::personalization::{Level, PROFILED, Source};
use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, Value, args};
use crate::{
    AttributeQuery, AttributeRow, FactRow, LevelEventRow, LevelRow, OfferRow, PersonalizationRun,
    ProfileChange, Result, StoreError, SuppressionRow,
};

macro_rules! attribute_cols {
    () => {
        "customer_id, key, source, min_level, value, derived_from, rule_key, rule_version,
         computed_at, expires_at"
    };
}

static LEVEL: Sql = Sql::new(
    "SELECT customer_id, level, consent_event_id, reason, changed_at
     FROM personalization_levels WHERE customer_id = ?1",
);
/// The level a write decides on, locked on PostgreSQL until the write commits: a recompute
/// and a withdrawal of consent for the same customer take their turns on this row.
static LEVEL_FOR_UPDATE: Sql =
    Sql::for_update("SELECT level FROM personalization_levels WHERE customer_id = ?1");
static PUT_LEVEL: Sql = Sql::new(
    "INSERT INTO personalization_levels (customer_id, level, consent_event_id, reason, changed_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (customer_id) DO UPDATE SET level = excluded.level,
         consent_event_id = excluded.consent_event_id, reason = excluded.reason,
         changed_at = excluded.changed_at",
);
static LEVEL_EVENT: Sql = Sql::new(
    "INSERT INTO personalization_level_events
         (id, customer_id, level, previous, reason, actor, consent_event_id, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
static HISTORY: Sql = Sql::new(
    "SELECT id, customer_id, level, previous, reason, actor, consent_event_id, at
     FROM personalization_level_events WHERE customer_id = ?1 ORDER BY at, id",
);
static PROFILING_CONSENT: Sql = Sql::new(
    "SELECT id FROM consent_current
     WHERE customer_id = ?1 AND purpose = ?2 AND state = 'given'
       AND (expires_at IS NULL OR expires_at > ?3)",
);
static DELETE_PROFILED: Sql =
    Sql::new("DELETE FROM profile_attributes WHERE customer_id = ?1 AND source <> 'declared'");
static PUT_ATTRIBUTE: Sql = Sql::new(concat!(
    "INSERT INTO profile_attributes (",
    attribute_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
     ON CONFLICT (customer_id, key) DO UPDATE SET source = excluded.source,
         min_level = excluded.min_level, value = excluded.value,
         derived_from = excluded.derived_from, rule_key = excluded.rule_key,
         rule_version = excluded.rule_version, computed_at = excluded.computed_at,
         expires_at = excluded.expires_at"
));
static DELETE_ATTRIBUTE: Sql =
    Sql::new("DELETE FROM profile_attributes WHERE customer_id = ?1 AND key = ?2");
static SUPPRESS: Sql = Sql::new(
    "INSERT INTO profile_suppressions (customer_id, key, at) VALUES (?1, ?2, ?3)
     ON CONFLICT (customer_id, key) DO NOTHING",
);
static ALLOW: Sql =
    Sql::new("DELETE FROM profile_suppressions WHERE customer_id = ?1 AND key = ?2");
static SUPPRESSED_OF: Sql = Sql::new("SELECT key FROM profile_suppressions WHERE customer_id = ?1");
static PURGE_EXPIRED: Sql =
    Sql::new("DELETE FROM profile_attributes WHERE expires_at IS NOT NULL AND expires_at <= ?1");
static PROFILED_FIRST: Sql = Sql::new(
    "SELECT customer_id FROM personalization_levels WHERE level = 'full'
     ORDER BY customer_id LIMIT ?1",
);
static PROFILED_AFTER: Sql = Sql::new(
    "SELECT customer_id FROM personalization_levels WHERE level = 'full' AND customer_id > ?1
     ORDER BY customer_id LIMIT ?2",
);
/// Every customer once, by the level they chose; those who never chose are at off.
static LEVEL_COUNTS: Sql = Sql::new(
    "SELECT COALESCE(pl.level, 'off') AS level, COUNT(*) FROM customers c
     LEFT JOIN personalization_levels pl ON pl.customer_id = c.id
     GROUP BY COALESCE(pl.level, 'off')",
);
static OFFERS: Sql = Sql::new(
    "SELECT key, title, category, tags, eligibility, priority, origin, created_by, created_at,
            retired_at
     FROM offers ORDER BY key",
);
static SEED_OFFER: Sql = Sql::new(
    "INSERT INTO offers (key, title, category, tags, eligibility, priority, origin, created_by,
                         created_at, retired_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (key) DO NOTHING",
);
static SAVE_OFFER: Sql = Sql::new(
    "INSERT INTO offers (key, title, category, tags, eligibility, priority, origin, created_by,
                         created_at, retired_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
     ON CONFLICT (key) DO UPDATE SET title = excluded.title, category = excluded.category,
         tags = excluded.tags, eligibility = excluded.eligibility,
         priority = excluded.priority, retired_at = excluded.retired_at",
);
static SAVE_RUN: Sql = Sql::new(
    "INSERT INTO personalization_runs
         (id, started_at, heartbeat_at, finished_at, cursor, customers, attributes, state)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,
         finished_at = excluded.finished_at, cursor = excluded.cursor,
         customers = excluded.customers, attributes = excluded.attributes,
         state = excluded.state",
);
static RUNS: Sql = Sql::new(
    "SELECT id, started_at, heartbeat_at, finished_at, cursor, customers, attributes, state
     FROM personalization_runs ORDER BY started_at DESC, id LIMIT ?1",
);
static ERASE: [Sql; 4] = [
    Sql::new("DELETE FROM personalization_levels WHERE customer_id = ?1"),
    Sql::new("DELETE FROM personalization_level_events WHERE customer_id = ?1"),
    Sql::new("DELETE FROM profile_attributes WHERE customer_id = ?1"),
    Sql::new("DELETE FROM profile_suppressions WHERE customer_id = ?1"),
];

fn level_of(text: &str) -> Result<Level> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("personalization level {text:?}")))
}

fn source_of(text: &str) -> Result<Source> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("attribute source {text:?}")))
}

fn level_from(r: &dyn Row) -> Result<LevelRow> {
    Ok(LevelRow {
        customer_id: r.id(0)?,
        level: level_of(&r.text(1)?)?,
        consent_event_id: r.opt_id(2)?,
        reason: r.text(3)?,
        changed_at: r.int(4)?,
    })
}

fn attribute_from(r: &dyn Row) -> Result<AttributeRow> {
    Ok(AttributeRow {
        customer_id: r.id(0)?,
        key: r.text(1)?,
        source: source_of(&r.text(2)?)?,
        min_level: level_of(&r.text(3)?)?,
        value: r.bytes(4)?,
        derived_from: r.text(5)?,
        rule_key: r.opt_text(6)?,
        rule_version: r
            .opt_int(7)?
            .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt("rule version".into())))
            .transpose()?,
        computed_at: r.int(8)?,
        expires_at: r.opt_int(9)?,
    })
}

/// `column IN (?, ?, ...)` over `values`, appended to `b`.
fn push_in<'a>(b: &mut Builder<'a>, column: &str, values: &[Value<'a>]) {
    let marks = vec!["?"; values.len()].join(", ");
    b.push(&format!(" AND {column} IN ({marks})"), values);
}

fn ids(list: &[Uuid]) -> Vec<Value<'static>> {
    list.iter().map(|c| Value::from(*c)).collect()
}

pub(crate) async fn level(x: &impl Exec, customer: Uuid) -> Result<Option<LevelRow>> {
    x.query_opt(&LEVEL, &args![customer], level_from).await
}

pub(crate) async fn levels(x: &impl Exec, customers: &[Uuid]) -> Result<Vec<LevelRow>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new(
        "SELECT customer_id, level, consent_event_id, reason, changed_at
         FROM personalization_levels WHERE 1 = 1",
    );
    push_in(&mut b, "customer_id", &ids(customers));
    x.query_text(&b.sql, &b.args, level_from).await
}

pub(crate) async fn level_history(x: &impl Exec, customer: Uuid) -> Result<Vec<LevelEventRow>> {
    x.query(&HISTORY, &args![customer], |r| {
        Ok(LevelEventRow {
            id: r.id(0)?,
            customer_id: r.id(1)?,
            level: level_of(&r.text(2)?)?,
            previous: level_of(&r.text(3)?)?,
            reason: r.text(4)?,
            actor: r.text(5)?,
            consent_event_id: r.opt_id(6)?,
            at: r.int(7)?,
        })
    })
    .await
}

pub(crate) async fn attributes(x: &impl Exec, q: &AttributeQuery) -> Result<Vec<AttributeRow>> {
    if q.customers.is_empty() || q.min_levels.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new(concat!(
        "SELECT ",
        attribute_cols!(),
        " FROM profile_attributes WHERE 1 = 1"
    ));
    push_in(&mut b, "customer_id", &ids(&q.customers));
    let levels: Vec<Value> = q
        .min_levels
        .iter()
        .map(|l| Value::from(l.as_str()))
        .collect();
    push_in(&mut b, "min_level", &levels);
    if !q.keys.is_empty() {
        let keys: Vec<Value> = q.keys.iter().map(Value::from).collect();
        push_in(&mut b, "key", &keys);
    }
    b.push(" AND (expires_at IS NULL OR expires_at > ?)", &args![q.now]);
    b.sql.push_str(" AND (rule_key IS NULL");
    for (rule, version) in &q.rule_versions {
        b.push(
            " OR (rule_key = ? AND rule_version = ?)",
            &args![rule, i64::from(*version)],
        );
    }
    b.sql.push_str(") ORDER BY customer_id, key");
    x.query_text(&b.sql, &b.args, attribute_from).await
}

pub(crate) async fn suppressed_keys(
    x: &impl Exec,
    customers: &[Uuid],
) -> Result<Vec<SuppressionRow>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new("SELECT customer_id, key, at FROM profile_suppressions WHERE 1 = 1");
    push_in(&mut b, "customer_id", &ids(customers));
    b.sql.push_str(" ORDER BY customer_id, key");
    x.query_text(&b.sql, &b.args, |r| {
        Ok(SuppressionRow {
            customer_id: r.id(0)?,
            key: r.text(1)?,
            at: r.int(2)?,
        })
    })
    .await
}

pub(crate) async fn profiled_after(
    x: &impl Exec,
    cursor: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Uuid>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    match cursor {
        None => x.query(&PROFILED_FIRST, &args![limit], |r| r.id(0)).await,
        Some(after) => {
            x.query(&PROFILED_AFTER, &args![after, limit], |r| r.id(0))
                .await
        }
    }
}

pub(crate) async fn level_counts(x: &impl Exec) -> Result<Vec<(Level, u64)>> {
    x.query(&LEVEL_COUNTS, &[], |r| {
        let n = u64::try_from(r.int(1)?).map_err(|_| StoreError::Corrupt("level count".into()))?;
        Ok((level_of(&r.text(0)?)?, n))
    })
    .await
}

pub(crate) async fn profile_facts(
    x: &impl Exec,
    customers: &[Uuid],
    since: i64,
    kinds: &[String],
) -> Result<Vec<FactRow>> {
    if customers.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    // Read through `interactions_profile` (customer, kind, time); the summary and body
    // columns are never selected.
    let mut b = Builder::new(
        "SELECT id, customer_id, kind, occurred_at, facets FROM interactions WHERE 1 = 1",
    );
    push_in(&mut b, "customer_id", &ids(customers));
    let kinds: Vec<Value> = kinds.iter().map(Value::from).collect();
    push_in(&mut b, "kind", &kinds);
    b.push(" AND occurred_at >= ?", &args![since]);
    x.query_text(&b.sql, &b.args, |r| {
        Ok(FactRow {
            id: r.id(0)?,
            customer_id: r.id(1)?,
            kind: r.text(2)?,
            occurred_at: r.int(3)?,
            facets: r.opt_bytes(4)?,
        })
    })
    .await
}

fn offer_from(r: &dyn Row) -> Result<OfferRow> {
    Ok(OfferRow {
        key: r.text(0)?,
        title: r.text(1)?,
        category: r.opt_text(2)?,
        tags: crate::records::from_json(&r.text(3)?)?,
        eligibility: r.text(4)?,
        priority: r.int(5)?,
        origin: r.text(6)?,
        created_by: r.text(7)?,
        created_at: r.int(8)?,
        retired_at: r.opt_int(9)?,
    })
}

pub(crate) async fn offers(x: &impl Exec) -> Result<Vec<OfferRow>> {
    x.query(&OFFERS, &[], offer_from).await
}

async fn write_offer(x: &impl Exec, sql: &Sql, o: &OfferRow) -> Result<()> {
    let tags = crate::records::to_json(&o.tags);
    x.execute(
        sql,
        &args![
            &o.key,
            &o.title,
            o.category.as_ref(),
            &tags,
            &o.eligibility,
            o.priority,
            &o.origin,
            &o.created_by,
            o.created_at,
            o.retired_at
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn seed_offers(x: &impl Exec, offers: &[OfferRow]) -> Result<()> {
    for o in offers {
        write_offer(x, &SEED_OFFER, o).await?;
    }
    Ok(())
}

pub(crate) async fn runs(x: &impl Exec, limit: usize) -> Result<Vec<PersonalizationRun>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    x.query(&RUNS, &args![limit], |r| {
        Ok(PersonalizationRun {
            id: r.id(0)?,
            started_at: r.int(1)?,
            heartbeat_at: r.int(2)?,
            finished_at: r.opt_int(3)?,
            cursor: r.opt_id(4)?,
            customers: r.int(5)?,
            attributes: r.int(6)?,
            state: r.text(7)?,
        })
    })
    .await
}

async fn locked_level(x: &impl Exec, customer: Uuid) -> Result<Level> {
    match x
        .query_opt(&LEVEL_FOR_UPDATE, &args![customer], |r| r.text(0))
        .await?
    {
        Some(text) => level_of(&text),
        None => Ok(Level::Off),
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_level(
    x: &impl Exec,
    customer: Uuid,
    level: Level,
    previous: Level,
    consent: Option<Uuid>,
    reason: &str,
    actor: &str,
    at: i64,
    event: Uuid,
) -> Result<()> {
    x.execute(
        &PUT_LEVEL,
        &args![customer, level.as_str(), consent, reason, at],
    )
    .await?;
    if level != previous {
        x.execute(
            &LEVEL_EVENT,
            &args![
                event,
                customer,
                level.as_str(),
                previous.as_str(),
                reason,
                actor,
                consent,
                at
            ],
        )
        .await?;
    }
    Ok(())
}

async fn put_attribute(x: &impl Exec, a: &AttributeRow) -> Result<()> {
    x.execute(
        &PUT_ATTRIBUTE,
        &args![
            a.customer_id,
            &a.key,
            a.source.as_str(),
            a.min_level.as_str(),
            &a.value,
            &a.derived_from,
            a.rule_key.as_ref(),
            a.rule_version.map(i64::from),
            a.computed_at,
            a.expires_at
        ],
    )
    .await?;
    Ok(())
}

/// Replaces the derived attributes of those of `customers` still at full.
async fn recomputed(x: &impl Exec, customers: &[Uuid], rows: &[AttributeRow]) -> Result<()> {
    let mut by_customer: HashMap<Uuid, Vec<&AttributeRow>> = HashMap::new();
    for r in rows {
        by_customer.entry(r.customer_id).or_default().push(r);
    }
    for &customer in customers {
        if locked_level(x, customer).await? != Level::Full {
            continue;
        }
        x.execute(&DELETE_PROFILED, &args![customer]).await?;
        let Some(rows) = by_customer.get(&customer) else {
            continue;
        };
        let suppressed = x
            .query(&SUPPRESSED_OF, &args![customer], |r| r.text(0))
            .await?;
        for row in rows {
            if row.source != Source::Declared && !suppressed.contains(&row.key) {
                put_attribute(x, row).await?;
            }
        }
    }
    Ok(())
}

/// Applies a change set's personalization changes, in order.
pub(crate) async fn apply(x: &impl Exec, changes: &[ProfileChange]) -> Result<()> {
    for change in changes {
        match change {
            ProfileChange::SetLevel {
                customer,
                level,
                reason,
                actor,
                at,
                event,
            } => {
                let previous = locked_level(x, *customer).await?;
                let consent = if *level == Level::Full {
                    let given = x
                        .query_opt(&PROFILING_CONSENT, &args![*customer, PROFILED, *at], |r| {
                            r.id(0)
                        })
                        .await?;
                    Some(given.ok_or(StoreError::Conflict)?)
                } else {
                    None
                };
                write_level(
                    x, *customer, *level, previous, consent, reason, actor, *at, *event,
                )
                .await?;
            }
            ProfileChange::DropLevel {
                customer,
                at_most,
                delete_profiled,
                reason,
                actor,
                at,
                event,
            } => {
                let previous = locked_level(x, *customer).await?;
                if previous > *at_most {
                    write_level(
                        x, *customer, *at_most, previous, None, reason, actor, *at, *event,
                    )
                    .await?;
                }
                if *delete_profiled {
                    x.execute(&DELETE_PROFILED, &args![*customer]).await?;
                }
            }
            ProfileChange::PutAttribute(a) => put_attribute(x, a).await?,
            ProfileChange::DeleteAttribute {
                customer,
                key,
                suppress,
                at,
            } => {
                x.execute(&DELETE_ATTRIBUTE, &args![*customer, key]).await?;
                if *suppress {
                    x.execute(&SUPPRESS, &args![*customer, key, *at]).await?;
                }
            }
            ProfileChange::Allow { customer, key } => {
                x.execute(&ALLOW, &args![*customer, key]).await?;
            }
            ProfileChange::Recomputed {
                customers, rows, ..
            } => {
                recomputed(x, customers, rows).await?;
            }
            ProfileChange::PurgeExpired { now } => {
                x.execute(&PURGE_EXPIRED, &args![*now]).await?;
            }
            ProfileChange::SaveOffer(o) => write_offer(x, &SAVE_OFFER, o).await?,
            ProfileChange::SaveRun(r) => {
                x.execute(
                    &SAVE_RUN,
                    &args![
                        r.id,
                        r.started_at,
                        r.heartbeat_at,
                        r.finished_at,
                        r.cursor,
                        r.customers,
                        r.attributes,
                        &r.state
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// At erasure: nothing of the customer's personalization remains, neither their level and
/// its history nor their attributes and suppressed keys.
pub(crate) async fn erase(x: &impl Exec, customer: Uuid) -> Result<()> {
    for sql in &ERASE {
        x.execute(sql, &args![customer]).await?;
    }
    Ok(())
}
