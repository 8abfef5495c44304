//! A customer's timeline: interactions, consent changes, rights requests, tasks made and
//! done, and the audit entries that read the customer, in one list, newest first, each
//! saying who. Each source is read newest first and only as far as the page needs, so a
//! long history costs what one page costs; the lists are merged here.

use std::collections::HashMap;

use jiff::Timestamp;
use steward_store::{AuditFilter, ConsentEvent, RequestFilter};
use uuid::Uuid;

use crate::security::staff::who;
use crate::services::Timeline;
use crate::{Access, AppError};

const DEFAULT_ENTRIES: usize = 50;
/// The "more" of a page reaches this far and no further.
pub const MAX_ENTRIES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `interaction`, `consent`, `request`, `task_created`, `task_done` or `access`.
    pub kind: String,
    pub what: String,
    /// A staff member's display name, "the customer", "system" or "an API token".
    pub who: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineView {
    pub customer_id: Uuid,
    pub entries: Vec<TimelineEntry>,
    /// Older entries exist beyond this page.
    pub more: bool,
    pub limit: usize,
}

/// An audit entry that read the customer rather than changed them.
fn is_access(action: &str) -> bool {
    action.ends_with(".read") || action.ends_with(".list") || action.contains("export")
}

/// Who a consent event was the doing of: the customer's own choice however it reached us,
/// or Steward's when a consent lapsed, was imported or carried over from a duplicate.
fn consent_who(e: &ConsentEvent) -> &'static str {
    match e.method.as_str() {
        "expiry" | "import" | "merge" => "system",
        _ => "the customer",
    }
}

fn entry(at: i64, kind: &str, what: String, who: String) -> TimelineEntry {
    TimelineEntry {
        at: steward_core::clock::from_micros(at),
        kind: kind.into(),
        what,
        who,
    }
}

impl Timeline<'_> {
    /// The customer's latest `limit` events (50 unless given, at most [`MAX_ENTRIES`]).
    pub async fn of(
        &self,
        access: &Access,
        customer: Uuid,
        limit: Option<usize>,
    ) -> Result<TimelineView, AppError> {
        let app = self.app;
        let limit = limit.unwrap_or(DEFAULT_ENTRIES).clamp(1, MAX_ENTRIES);
        let n = limit + 1;
        app.task_customer(access, customer).await?;
        let dek = app.data_key(customer).await?;
        let target = Some(customer.to_string());
        let interactions = app.store.list_interactions(customer, None, n).await?;
        let created = app
            .store
            .audit_search(&AuditFilter {
                newest_first: true,
                limit: n,
                action: Some("interaction.create".into()),
                target: target.clone(),
                ..Default::default()
            })
            .await?;
        let reads: Vec<_> = (app.store.audit_search(&AuditFilter {
            newest_first: true,
            limit: 2 * n,
            target,
            ..Default::default()
        }))
        .await?
        .into_iter()
        .filter(|e| is_access(&e.record.action))
        .take(n)
        .collect();
        let mut consents = app.store.consent_history(customer).await?;
        consents.reverse();
        consents.truncate(n);
        let requests = app
            .store
            .requests(&RequestFilter {
                customer: Some(customer),
                limit: n,
                ..Default::default()
            })
            .await?;
        let tasks = app.store.customer_tasks(customer, n).await?;

        let creator: HashMap<&str, &str> = created
            .iter()
            .filter_map(|e| Some((e.record.targets.get(1)?.as_str(), e.record.actor.as_str())))
            .collect();
        let actors = (created.iter().chain(&reads))
            .map(|e| e.record.actor.as_str())
            .chain(tasks.iter().map(|t| t.created_by.as_str()))
            .chain(tasks.iter().filter_map(|t| t.done_by.as_deref()));
        let names = app.staff_names(actors).await?;

        let mut entries = Vec::with_capacity(6 * n);
        for row in &interactions {
            let view = app.open_interaction(&dek, row)?;
            let by = creator
                .get(row.id.to_string().as_str())
                .map_or_else(|| "system".to_string(), |a| who(a, &names));
            entries.push(entry(
                row.occurred_at,
                "interaction",
                format!("{}: {}", view.kind, view.summary),
                by,
            ));
        }
        for e in &consents {
            let what = format!("consent {} for {}", e.state, e.purpose);
            entries.push(entry(e.at, "consent", what, consent_who(e).into()));
        }
        for r in &requests {
            let what = format!("{} request ({})", r.kind, r.state);
            entries.push(entry(r.received_at, "request", what, "the customer".into()));
        }
        for t in &tasks {
            let view = app.open_task(&dek, t, &names)?;
            let made = format!("task made: {}", view.title);
            entries.push(entry(t.created_at, "task_created", made, view.created_by));
            if let (Some(at), Some(by)) = (t.done_at, view.done_by) {
                entries.push(entry(
                    at,
                    "task_done",
                    format!("task done: {}", view.title),
                    by,
                ));
            }
        }
        for e in &reads {
            let what = format!(
                "{} for {}",
                e.record.action,
                e.record.purpose.as_deref().unwrap_or("no purpose")
            );
            entries.push(entry(
                e.record.at,
                "access",
                what,
                who(&e.record.actor, &names),
            ));
        }
        // Each source came newest first; one stable sort of their union merges them.
        entries.sort_by_key(|e| std::cmp::Reverse(e.at));
        let more = entries.len() > limit;
        entries.truncate(limit);
        app.append(vec![app.access_record(
            access,
            "timeline.read",
            vec![customer.to_string()],
            vec!["summary".into(), "title".into()],
        )])
        .await?;
        Ok(TimelineView {
            customer_id: customer,
            entries,
            more,
            limit,
        })
    }
}
