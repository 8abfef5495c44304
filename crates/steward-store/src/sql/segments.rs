//! A segment as SQL, written once for both engines: they differ only in how a placeholder is
//! spelled and how an id is bound, which the caller supplies.

use crate::{ConsentCondition, SegmentQuery, Span};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Id(uuid::Uuid),
}

pub(crate) struct SegmentSql {
    /// `FROM ... WHERE ...`, ready for a select list in front and an order after.
    pub from_where: String,
    pub args: Vec<Arg>,
    /// The expression that orders members (and pages by it).
    pub id_column: &'static str,
}

pub(crate) struct Builder<'a> {
    pub sql: String,
    pub args: Vec<Arg>,
    pub placeholder: &'a dyn Fn(usize) -> String,
}

impl Builder<'_> {
    /// Appends `clause`, each `?` in it bound to the next of `values`.
    pub(crate) fn push(&mut self, clause: &str, values: Vec<Arg>) {
        let mut values = values.into_iter();
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                if let Some(v) = values.next() {
                    self.args.push(v);
                }
                self.sql.push_str(&(self.placeholder)(self.args.len()));
            }
            self.sql.push_str(part);
        }
    }

    fn span(&mut self, column: &str, span: Span) {
        if let Some(from) = span.from {
            self.push(&format!(" AND {column} >= ?"), vec![Arg::Int(from)]);
        }
        if let Some(until) = span.until {
            self.push(&format!(" AND {column} < ?"), vec![Arg::Int(until)]);
        }
    }

    /// `x.at >= since`, when consent must have been given since a moment.
    fn since(&mut self, alias: &str, since: Option<i64>) {
        if let Some(since) = since {
            self.push(&format!(" AND {alias}.at >= ?"), vec![Arg::Int(since)]);
        }
    }

    fn consent(&mut self, c: &ConsentCondition) {
        let purpose = Arg::Text(c.purpose.clone());
        let given = |b: &mut Self, negate: bool| {
            b.push(
                &format!(
                    " AND {}EXISTS (SELECT 1 FROM consent_current x WHERE x.customer_id = c.id AND x.purpose = ?
                     AND x.state = 'given' AND (x.expires_at IS NULL OR x.expires_at > ?)",
                    if negate { "NOT " } else { "" }
                ),
                vec![purpose.clone(), Arg::Int(c.now)],
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
                    vec![purpose, Arg::Int(c.now)],
                );
                if let Some(since) = c.given_since {
                    self.push(" OR x.at < ?", vec![Arg::Int(since)]);
                }
                self.sql.push_str("))");
            }
            state => self.push(
                " AND EXISTS (SELECT 1 FROM consent_current x WHERE x.customer_id = c.id AND x.purpose = ?
                   AND x.state = ?)",
                vec![purpose, Arg::Text(state.to_string())],
            ),
        }
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

/// The members of `q` after `after` (by id). An audience is driven from the consent index,
/// which is far smaller than the customers table when few have consented; counting one with
/// no other condition reads nothing else (`rows` is false for a count).
pub(crate) fn segment_sql(
    q: &SegmentQuery,
    after: Option<uuid::Uuid>,
    rows: bool,
    placeholder: &dyn Fn(usize) -> String,
) -> SegmentSql {
    let mut b = Builder {
        sql: String::new(),
        args: Vec::new(),
        placeholder,
    };
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
                vec![Arg::Text(a.purpose.clone()), Arg::Int(a.now)],
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
            vec![Arg::Text(tag.clone())],
        );
    }
    if !q.residency.is_empty() {
        let marks = vec!["?"; q.residency.len()].join(", ");
        b.push(
            &format!(" AND c.residency IN ({marks})"),
            q.residency.iter().cloned().map(Arg::Text).collect(),
        );
    }
    if let Some(status) = &q.status {
        b.push(" AND c.status = ?", vec![Arg::Text(status.clone())]);
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
    if let Some(after) = after {
        b.push(&format!(" AND {id_column} > ?"), vec![Arg::Id(after)]);
    }
    SegmentSql {
        from_where: b.sql,
        args: b.args,
        id_column,
    }
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
        let s = segment_sql(&q, None, true, &|n| format!("${n}"));
        assert!(s.from_where.contains("tag = $1"), "{}", s.from_where);
        assert!(s.from_where.contains("IN ($2, $3)"), "{}", s.from_where);
        assert!(
            s.from_where.contains("created_at >= $4"),
            "{}",
            s.from_where
        );
        assert_eq!(
            s.args,
            vec![
                Arg::Text("vip".into()),
                Arg::Text("DE".into()),
                Arg::Text("FR".into()),
                Arg::Int(5)
            ]
        );
    }
}
