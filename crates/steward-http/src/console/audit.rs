//! The audit log with its filters and chain verification, and the field catalog.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::{FieldDef, PurposeDef};
use steward_app::{AuditFilter, VerifyReport};

use super::{Chrome, ConsoleError, Staff, day_start, encode, render};
use crate::AppState;

const PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<i64>,
    verify: Option<String>,
}

struct Entry {
    seq: i64,
    at: String,
    actor: String,
    role: String,
    action: String,
    purpose: String,
    targets: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    entries: Vec<Entry>,
    next: Option<String>,
    report: Option<VerifyReport>,
    error: Option<String>,
}

fn day(raw: &str, end: bool) -> Result<Option<i64>, String> {
    day_start(raw, end)
        .map(|t| t.map(|t| t.as_microsecond()))
        .map_err(|m| format!("From and Until: {m}"))
}

pub async fn log(
    State(app): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let bounds = day(&q.from, false).and_then(|f| Ok((f, day(&q.to, true)?)));
    let (entries, next, error) = match bounds {
        Err(e) => (Vec::new(), None, Some(e)),
        Ok((from, to)) => {
            let filter = AuditFilter {
                after_seq: q.after.unwrap_or(0),
                limit: PAGE + 1,
                actor: blank(&q.actor),
                action: blank(&q.action),
                target: blank(&q.target),
                from,
                to,
            };
            let mut found = app.search_audit(&staff.actor, filter).await?;
            let more = found.len() > PAGE;
            found.truncate(PAGE);
            let next = found.last().filter(|_| more).map(|last| {
                format!(
                    "/console/audit?actor={}&action={}&target={}&from={}&to={}&after={}",
                    encode(&q.actor),
                    encode(&q.action),
                    encode(&q.target),
                    encode(&q.from),
                    encode(&q.to),
                    last.seq
                )
            });
            let entries = found
                .into_iter()
                .map(|e| Entry {
                    seq: e.seq,
                    at: steward_app::core::clock::from_micros(e.record.at)
                        .strftime("%Y-%m-%d %H:%M:%S UTC")
                        .to_string(),
                    actor: e.record.actor,
                    role: e.record.role,
                    action: e.record.action,
                    purpose: e.record.purpose.unwrap_or_default(),
                    targets: e.record.targets.join(", "),
                    fields: e.record.fields.join(", "),
                })
                .collect();
            (entries, next, None)
        }
    };
    let report = match q.verify {
        Some(_) => Some(app.verify_audit_for(&staff.actor).await?),
        None => None,
    };
    Ok(render(&AuditPage {
        chrome: Chrome::new(&app, &staff, "Audit log", "audit"),
        q,
        entries,
        next,
        report,
        error,
    }))
}

#[derive(Template)]
#[template(path = "console/catalog.html")]
struct CatalogPage {
    chrome: Chrome,
    fields: Vec<FieldDef>,
    purposes: Vec<PurposeDef>,
    kept: Vec<steward_app::RuleView>,
}

pub async fn catalog(State(app): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    Ok(render(&CatalogPage {
        chrome: Chrome::new(&app, &staff, "Field catalog", "catalog"),
        fields: app.catalog().fields().to_vec(),
        purposes: app.catalog().purposes().to_vec(),
        kept: app.published_retention().await?,
    }))
}
