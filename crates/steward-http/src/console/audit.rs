//! The audit log with its filters and chain verification, and the field catalog.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::audit::AuditEntry;
use steward_app::core::{FieldDef, PurposeDef};
use steward_app::{AppError, AuditFilter, FieldError, VerifyReport};

use super::{Chrome, ConsoleError, Refusal, Staff, day_start, encode, group};
use crate::AppState;
use crate::web::{render, render_checked};
use uuid::Uuid;

const PAGE: usize = 50;
/// An entry lists at most this many targets in the log; more are counted, with a link.
const TARGETS_SHOWN: usize = 3;
/// Targets per page of one entry.
const TARGET_PAGE: usize = 500;

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
    /// Entries older than this one: the pages after the first.
    before: Option<i64>,
    /// Entries newer than this one, for the way back.
    after: Option<i64>,
    verify: Option<String>,
}

struct Entry {
    seq: i64,
    at: String,
    actor: String,
    /// The actor in words: a staff member's display name, "system", "the customer".
    who: String,
    role: String,
    action: String,
    purpose: Option<String>,
    /// Each target when there are few; otherwise none, and `summary` counts them.
    targets: Vec<String>,
    summary: Option<String>,
    fields: String,
    detail: Option<String>,
}

/// What kind of record a target names, for counting: a prefix such as `consent:`, or for a
/// bare id what the action is about.
fn kind_of<'a>(action: &str, target: &'a str) -> &'a str {
    match target.split_once(':') {
        Some((kind, _)) => kind,
        None if ["customer.", "consent.", "interaction.", "audience."]
            .iter()
            .any(|p| action.starts_with(p)) =>
        {
            "customer"
        }
        None => "record",
    }
}

/// "312 customers, 2 consents": how many targets of each kind, most first.
fn count_targets(action: &str, targets: &[String]) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for t in targets {
        *kinds.entry(kind_of(action, t)).or_default() += 1;
    }
    let mut kinds: Vec<(&str, usize)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    kinds
        .iter()
        .map(|(kind, n)| {
            let plural = if *n == 1 { "" } else { "s" };
            format!("{} {kind}{plural}", group(*n as u64))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn when(at: i64) -> String {
    steward_app::core::clock::from_micros(at)
        .strftime("%-d %b %Y, %H:%M:%S UTC")
        .to_string()
}

fn entry(e: AuditEntry, names: &HashMap<Uuid, String>) -> Entry {
    let r = e.record;
    let who = steward_app::who(&r.actor, names);
    let (targets, summary) = if r.targets.len() > TARGETS_SHOWN {
        (Vec::new(), Some(count_targets(&r.action, &r.targets)))
    } else {
        (r.targets, None)
    };
    Entry {
        seq: e.seq,
        at: when(r.at),
        actor: r.actor,
        who,
        role: r.role,
        action: r.action,
        purpose: r.purpose,
        targets,
        summary,
        fields: r.fields.join(", "),
        detail: r.detail,
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    entries: Vec<Entry>,
    /// The newer page, and the newest.
    newer: Option<(String, String)>,
    older: Option<String>,
    report: Option<VerifyReport>,
    refusal: Refusal,
}

const FILTER_INPUTS: [(&str, &str); 5] = [
    ("actor", "actor"),
    ("action", "action"),
    ("target", "target"),
    ("from", "from"),
    ("to", "to"),
];

impl AuditQuery {
    /// This search's first page: the newest entries.
    fn newest(&self) -> String {
        format!(
            "/console/audit?actor={}&action={}&target={}&from={}&to={}",
            encode(&self.actor),
            encode(&self.action),
            encode(&self.target),
            encode(&self.from),
            encode(&self.to),
        )
    }

    /// This search's page of entries `before` or `after` a sequence number.
    fn link(&self, bound: &str, seq: i64) -> String {
        format!("{}&{bound}={seq}", self.newest())
    }
}

/// The log newest first, a page at a time; each page links to the older and newer ones.
pub async fn log(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let mut errors = Vec::new();
    let mut bound = |field: &str, raw: &str, end: bool| {
        day_start(raw, end)
            .map_err(|m| errors.push(FieldError::new(field, m)))
            .ok()
            .flatten()
            .map(|t| t.as_microsecond())
    };
    let (from, to) = (bound("from", &q.from, false), bound("to", &q.to, true));
    // The way back from an older page reads forwards from it, then shows that newest first.
    let forwards = q.after.is_some() && q.before.is_none();
    let filter = AuditFilter {
        after_seq: q.after.unwrap_or(0).max(0),
        before_seq: q.before,
        newest_first: !forwards,
        limit: PAGE + 1,
        actor: blank(&q.actor),
        action: blank(&q.action),
        target: blank(&q.target),
        from,
        to,
    };
    let found = if errors.is_empty() {
        match state.app.audit().search(&staff.actor, filter).await {
            Ok(found) => found,
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        Vec::new()
    };
    let more = found.len() > PAGE;
    let mut found = found;
    found.truncate(PAGE);
    if forwards {
        found.reverse();
    }
    let (newest, oldest) = (found.first().map(|e| e.seq), found.last().map(|e| e.seq));
    let actors: Vec<String> = found.iter().map(|e| e.record.actor.clone()).collect();
    let names = state.app.staff().names(&actors).await?;
    let (has_newer, has_older) = if forwards {
        (more, true)
    } else {
        (q.before.is_some(), more)
    };
    let newer = newest
        .filter(|_| has_newer)
        .map(|seq| (q.link("after", seq), q.newest()));
    let older = oldest
        .filter(|_| has_older)
        .map(|seq| q.link("before", seq));
    let report = match q.verify {
        Some(_) => Some(state.app.audit().verify_for(&staff.actor).await?),
        None => None,
    };
    let refusal = Refusal::new("filter", HashMap::new(), errors, FILTER_INPUTS);
    let has_errors = refusal.any();
    Ok(render_checked(
        &AuditPage {
            chrome: Chrome::new(&state, &staff, "Audit log", "audit"),
            q,
            entries: found.into_iter().map(|e| entry(e, &names)).collect(),
            newer,
            older,
            report,
            refusal,
        },
        has_errors,
    ))
}

#[derive(Deserialize, Default)]
pub struct TargetsQuery {
    #[serde(default)]
    from: usize,
}

#[derive(Template)]
#[template(path = "console/audit_entry.html")]
struct EntryPage {
    chrome: Chrome,
    entry: Entry,
    total: usize,
    from: usize,
    /// Each target with the address of the entries about it.
    targets: Vec<(String, String)>,
    next: Option<String>,
    previous: Option<String>,
}

/// One entry in full, its targets a page at a time.
pub async fn entry_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(seq): Path<String>,
    Query(q): Query<TargetsQuery>,
) -> Result<Response, ConsoleError> {
    let seq = seq
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or(ConsoleError::App(AppError::NotFound))?;
    let filter = AuditFilter {
        after_seq: seq - 1,
        limit: 1,
        ..Default::default()
    };
    let found = state
        .app
        .audit()
        .search(&staff.actor, filter)
        .await?
        .into_iter()
        .next()
        .filter(|e| e.seq == seq)
        .ok_or(ConsoleError::App(AppError::NotFound))?;
    let all = found.record.targets.clone();
    let total = all.len();
    let from = q.from.min(total);
    let until = (from + TARGET_PAGE).min(total);
    let link = |from: usize| format!("/console/audit/{seq}?from={from}#targets");
    let names = state
        .app
        .staff()
        .names(std::slice::from_ref(&found.record.actor))
        .await?;
    let mut shown = entry(found, &names);
    shown.summary = (total > 0).then(|| count_targets(&shown.action, &all));
    Ok(render(&EntryPage {
        chrome: Chrome::new(&state, &staff, format!("Audit entry {seq}"), "audit"),
        entry: shown,
        total,
        from,
        targets: all[from..until]
            .iter()
            .map(|t| (t.clone(), format!("/console/audit?target={}", encode(t))))
            .collect(),
        next: (until < total).then(|| link(until)),
        previous: (from > 0).then(|| link(from.saturating_sub(TARGET_PAGE))),
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

pub async fn catalog(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    Ok(render(&CatalogPage {
        chrome: Chrome::new(&state, &staff, "Field catalog", "catalog"),
        fields: state.app.catalog().fields().to_vec(),
        purposes: state.app.catalog().purposes().to_vec(),
        kept: state.app.retention().published().await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_targets_are_counted_by_kind() {
        let mut targets: Vec<String> = (0..312).map(|i| format!("{i:08}-id")).collect();
        targets.push("consent:1".into());
        targets.push("consent:2".into());
        assert_eq!(
            count_targets("customer.import", &targets),
            "312 customers, 2 consents"
        );
        assert_eq!(count_targets("request.complete", &targets[..1]), "1 record");
    }
}
