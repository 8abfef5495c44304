//! Segments as SQL: the customers a segment's conditions select, counted or read a page at a
//! time. The statement is put together per query, from the conditions it has.

use steward_core::personalization::PROFILED;
use uuid::Uuid;

use super::customers::{customer_cols, customer_from};
use super::{Builder, Exec, Value, args};
use crate::{AttributeCondition, ConsentCondition, CustomerRow, Result, SegmentQuery, Span};

impl<'a> Builder<'a> {
    fn span(&mut self, column: &str, span: Span) {
        if let Some(from) = span.from {
            self.push(&format!(" AND {column} >= ?"), &args![from]);
        }
        if let Some(until) = span.until {
            self.push(&format!(" AND {column} < ?"), &args![until]);
        }
    }

    /// `x.at >= since`, when consent must have been given since a moment.
    fn since(&mut self, alias: &str, since: Option<i64>) {
        if let Some(since) = since {
            self.push(&format!(" AND {alias}.at >= ?"), &args![since]);
        }
    }

    fn consent(&mut self, c: &'a ConsentCondition) {
        let purpose = Value::Text(&c.purpose);
        let given = |b: &mut Self, negate: bool| {
            b.push(
                &format!(
                    " AND {}EXISTS (SELECT 1 FROM consent_current x WHERE x.customer_id = c.id AND x.purpose = ?
                     AND x.state = 'given' AND (x.expires_at IS NULL OR x.expires_at > ?)",
                    if negate { "NOT " } else { "" }
                ),
                &[purpose, Value::Int(c.now)],
            );
            b.since("x", c.given_since);
            b.sql.push(')');
        };
        match c.state.as_str() {
            "given" => given(self, false),
            "not_given" => given(self, true),
            "expired" => {
                self.push(
                    " AND EXISTS (SELECT 1 FROM consent_current x WHERE x.customer_id = c.id AND x.purpose = ?
                       AND x.state = 'given' AND (x.expires_at <= ?",
                    &[purpose, Value::Int(c.now)],
                );
                if let Some(since) = c.given_since {
                    self.push(" OR x.at < ?", &args![since]);
                }
                self.sql.push_str("))");
            }
            state => self.push(
                " AND EXISTS (SELECT 1 FROM consent_current x WHERE x.customer_id = c.id AND x.purpose = ?
                   AND x.state = ?)",
                &[purpose, Value::Text(state)],
            ),
        }
    }
}

impl<'a> Builder<'a> {
    /// The customer in `id_column` holds attribute `a` at a level that lets a campaign use
    /// it: a row for basic needs a level of basic or full; a row for full needs full and the
    /// profiling consent full rests on, given and unexpired.
    fn attribute(&mut self, id_column: &str, a: &'a AttributeCondition) {
        self.push(
            &format!(
                " AND EXISTS (SELECT 1 FROM profile_attributes pa WHERE pa.customer_id = {id_column}
                   AND pa.key = ? AND (pa.expires_at IS NULL OR pa.expires_at > ?)"
            ),
            &args![&a.key, a.now],
        );
        if let Some(version) = a.rule_version {
            self.push(" AND pa.rule_version = ?", &args![i64::from(version)]);
        }
        self.sql.push_str(
            " AND (pa.min_level = 'basic' AND EXISTS (SELECT 1 FROM personalization_levels pl
                 WHERE pl.customer_id = pa.customer_id AND pl.level IN ('basic', 'full'))
               OR pa.min_level = 'full' AND EXISTS (SELECT 1 FROM personalization_levels pl
                 WHERE pl.customer_id = pa.customer_id AND pl.level = 'full')",
        );
        self.push(
            " AND EXISTS (SELECT 1 FROM consent_current pc WHERE pc.customer_id = pa.customer_id
                 AND pc.purpose = ? AND pc.state = 'given'
                 AND (pc.expires_at IS NULL OR pc.expires_at > ?)",
            &args![PROFILED, a.now],
        );
        self.since("pc", a.given_since);
        self.sql.push_str(")))");
    }
}

impl SegmentQuery {
    /// Whether any condition reads the customers table (beyond the audience's own).
    fn reads_customers(&self) -> bool {
        !self.tags.is_empty()
            || !self.residency.is_empty()
            || self.status.is_some()
            || self.created != Span::default()
            || self.updated != Span::default()
            || self.last_interaction != Span::default()
            || self.consent.is_some()
    }
}

pub(crate) async fn count(x: &impl Exec, q: &SegmentQuery) -> Result<u64> {
    let b = match &q.audience {
        Some(a) if !q.reads_customers() && q.attributes.is_empty() => whole_audience(q, a),
        _ => {
            let mut b = Builder::new("SELECT COUNT(*) ");
            members(&mut b, q, None, false);
            b
        }
    };
    let n = x.query_text(&b.sql, &b.args, |r| r.int(0)).await?;
    Ok(n.first().map_or(0, |&n| u64::try_from(n).unwrap_or(0)))
}

/// An audience with no condition on the customers: those who gave consent, less those of
/// them kept out (restricted or closed, or with an upheld objection). The few kept out are
/// looked up by id in the consent index, rather than every consent checked against them.
fn whole_audience<'a>(q: &'a SegmentQuery, a: &'a crate::AudienceOf) -> Builder<'a> {
    let mut b = Builder::new("SELECT ");
    for (i, op) in ["(", " - ("].into_iter().enumerate() {
        b.sql.push_str(op);
        b.push(
            "SELECT COUNT(*) FROM consent_current cc
             WHERE cc.purpose = ? AND cc.state = 'given' AND (cc.expires_at IS NULL OR cc.expires_at > ?)",
            &args![&a.purpose, a.now],
        );
        b.since("cc", a.given_since);
        if i == 1 {
            b.sql.push_str(
                " AND cc.customer_id IN (SELECT id FROM customers WHERE status <> 'active'",
            );
            if !q.objected_purposes.is_empty() {
                let marks = vec!["?"; q.objected_purposes.len()].join(", ");
                let values: Vec<Value> = q.objected_purposes.iter().map(Value::from).collect();
                b.push(
                    &format!(
                        " UNION SELECT customer_id FROM requests
                           WHERE kind = 'objection' AND state = 'completed' AND customer_id IS NOT NULL
                             AND purpose IN ({marks})"
                    ),
                    &values,
                );
            }
            b.sql.push(')');
        }
        b.sql.push(')');
    }
    b
}

/// Up to `limit` members after `after`, by id.
pub(crate) async fn page(
    x: &impl Exec,
    q: &SegmentQuery,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<CustomerRow>> {
    let mut b = Builder::new(concat!("SELECT ", customer_cols!(), " "));
    let id_column = members(&mut b, q, after, true);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    b.push(&format!(" ORDER BY {id_column} LIMIT ?"), &args![limit]);
    x.query_text(&b.sql, &b.args, customer_from).await
}

/// Appends `FROM ... WHERE ...` for the members of `q` after `after` (by id) and returns the
/// expression that orders members (and pages by it). An audience is driven from the consent
/// index, which is far smaller than the customers table when few have consented; counting
/// one with no other condition reads nothing else (`rows` is false for a count).
fn members<'a>(
    b: &mut Builder<'a>,
    q: &'a SegmentQuery,
    after: Option<Uuid>,
    rows: bool,
) -> &'static str {
    let id_column = match &q.audience {
        Some(a) => {
            let join = rows || q.reads_customers();
            b.push(
                &format!(
                    "FROM consent_current cc {}
                     WHERE cc.purpose = ? AND cc.state = 'given' AND (cc.expires_at IS NULL OR cc.expires_at > ?)
                       AND cc.customer_id NOT IN (SELECT id FROM customers WHERE status <> 'active')",
                    if join { "JOIN customers c ON c.id = cc.customer_id" } else { "" }
                ),
                &args![&a.purpose, a.now],
            );
            b.since("cc", a.given_since);
            "cc.customer_id"
        }
        None => {
            b.sql.push_str("FROM customers c WHERE 1 = 1");
            "c.id"
        }
    };
    for tag in &q.tags {
        b.push(
            " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
            &args![tag],
        );
    }
    if !q.residency.is_empty() {
        let marks = vec!["?"; q.residency.len()].join(", ");
        let values: Vec<Value> = q.residency.iter().map(Value::from).collect();
        b.push(&format!(" AND c.residency IN ({marks})"), &values);
    }
    if let Some(status) = &q.status {
        b.push(" AND c.status = ?", &args![status]);
    }
    b.span("c.created_at", q.created);
    b.span("c.updated_at", q.updated);
    if q.last_interaction != Span::default() {
        b.span(
            "(SELECT MAX(i.occurred_at) FROM interactions i WHERE i.customer_id = c.id)",
            q.last_interaction,
        );
    }
    if let Some(c) = &q.consent {
        b.consent(c);
    }
    for a in &q.attributes {
        b.attribute(id_column, a);
    }
    if !q.objected_purposes.is_empty() {
        let marks = vec!["?"; q.objected_purposes.len()].join(", ");
        let values: Vec<Value> = q.objected_purposes.iter().map(Value::from).collect();
        b.push(
            &format!(
                " AND {id_column} NOT IN (SELECT customer_id FROM requests
                   WHERE kind = 'objection' AND state = 'completed' AND customer_id IS NOT NULL
                     AND purpose IN ({marks}))"
            ),
            &values,
        );
    }
    if let Some(after) = after {
        b.push(&format!(" AND {id_column} > ?"), &args![after]);
    }
    id_column
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order_of_their_values() {
        let q = SegmentQuery {
            tags: vec!["vip".into()],
            residency: vec!["DE".into(), "FR".into()],
            created: Span {
                from: Some(5),
                until: None,
            },
            ..Default::default()
        };
        let mut b = Builder::new("");
        members(&mut b, &q, None, true);
        assert!(b.sql.contains("tag = ?1"), "{}", b.sql);
        assert!(b.sql.contains("IN (?2, ?3)"), "{}", b.sql);
        assert!(b.sql.contains("created_at >= ?4"), "{}", b.sql);
        assert_eq!(
            b.args,
            vec![
                Value::Text("vip"),
                Value::Text("DE"),
                Value::Text("FR"),
                Value::Int(5)
            ]
        );
    }

    #[test]
    fn an_attribute_condition_binds_its_key_version_and_the_profiling_consent() {
        let q = SegmentQuery {
            tags: vec!["vip".into()],
            attributes: vec![AttributeCondition {
                key: "favourite_category".into(),
                equals: Some("garden".into()),
                rule_version: Some(2),
                now: 7,
                given_since: Some(3),
            }],
            ..Default::default()
        };
        let mut b = Builder::new("");
        members(&mut b, &q, None, true);
        assert!(b.sql.contains("pa.customer_id = c.id"), "{}", b.sql);
        assert!(b.sql.contains("pa.key = ?2"), "{}", b.sql);
        assert!(b.sql.contains("pa.rule_version = ?4"), "{}", b.sql);
        assert!(b.sql.contains("pc.at >= ?7"), "{}", b.sql);
        assert!(
            !b.sql.contains("garden"),
            "a value is never compared in SQL"
        );
        assert_eq!(
            b.args,
            vec![
                Value::Text("vip"),
                Value::Text("favourite_category"),
                Value::Int(7),
                Value::Int(2),
                Value::Text(PROFILED),
                Value::Int(7),
                Value::Int(3)
            ]
        );
    }
}
