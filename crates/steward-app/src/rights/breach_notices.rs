//! Telling customers of a breach that concerns them (Art. 34): one message per customer the
//! breach's scope attached, counted in a dry run first, queued in batches each committed with
//! its notices and audit entry, never twice for one customer; and what the portal shows them.

use jiff::Timestamp;
use steward_core::breach::BreachRefusal;
use steward_core::clock::from_micros;
use steward_core::readability::flesch_reading_ease;
use steward_core::sealed_fields::SealedFields;
use steward_store::{BreachNoticeRow, ChangeSet};
use uuid::Uuid;

use crate::collection::customers::MATCH_FIELD;
use crate::infra::mail::Letter;
use crate::security::breaches::require_keeper;
use crate::services::{Breaches, Portal};
use crate::{Access, AppError, Subject};

const BATCH: usize = 500;
const BREACH_NOTICE: &str = "breach-notice";

/// What telling the customers of a breach came to, or would come to in a dry run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerNoticeRun {
    pub dry_run: bool,
    /// Customers the breach's scope attached.
    pub affected: u64,
    /// Of those, already told by an earlier run.
    pub already_told: u64,
    /// Of the others, those who are erased or hold no address to write to.
    pub unreachable: u64,
    /// Messages queued by this run (in a dry run, those it would queue).
    pub queued: u64,
    pub subject: String,
    /// The notice's text, the same for every customer.
    pub text: String,
    /// Its Flesch reading ease, and whether it reaches the installation's threshold.
    pub readability: f64,
    pub readable: bool,
}

/// A breach notice as the customer sees it in the portal.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BreachNoticeForYou {
    pub subject: String,
    pub text: String,
    pub told_at: Timestamp,
}

impl Breaches<'_> {
    /// Tells each affected customer not told yet, or in a dry run counts whom it would tell
    /// and shows the text, sending nothing.
    pub async fn notify_customers(
        &self,
        access: &Access,
        id: Uuid,
        dry_run: bool,
    ) -> Result<CustomerNoticeRun, AppError> {
        require_keeper(access)?;
        let app = self.app;
        let row = app.store.breach(id).await?.ok_or(AppError::NotFound)?;
        let breach = app.breach_of(&row)?;
        if !breach.customer_decision.as_ref().is_some_and(|d| d.notify) {
            return Err(AppError::BreachRefused(BreachRefusal::CustomersNotToBeTold));
        }
        let affected = app.store.breach_affected(id).await?;
        if affected.is_empty() && !dry_run {
            return Err(AppError::BreachRefused(BreachRefusal::NoAffectedCustomers));
        }
        let told: std::collections::HashSet<Uuid> = app
            .store
            .breach_notices(Some(id), None)
            .await?
            .into_iter()
            .map(|n| n.customer_id)
            .collect();
        let (subject, text) = app.customer_breach_letter(&breach);
        let readability = flesch_reading_ease(&text);
        let mut run = CustomerNoticeRun {
            dry_run,
            affected: affected.len() as u64,
            already_told: told.len() as u64,
            unreachable: 0,
            queued: 0,
            readable: readability >= app.readable_at_least,
            readability,
            subject,
            text,
        };
        let pending: Vec<Uuid> = affected.into_iter().filter(|c| !told.contains(c)).collect();
        for batch in pending.chunks(BATCH) {
            let rows = app.store.get_customers(batch).await?;
            run.unreachable += (batch.len() - rows.len()) as u64;
            if dry_run {
                for r in &rows {
                    let holds_address = SealedFields::decode(&r.fields)
                        .map_err(|_| AppError::Integrity(format!("customer {}", r.id)))?
                        .get(MATCH_FIELD)
                        .is_some();
                    if holds_address {
                        run.queued += 1;
                    } else {
                        run.unreachable += 1;
                    }
                }
                continue;
            }
            let now = app.clock.now().as_microsecond();
            let mut with = ChangeSet::default();
            let mut notices = Vec::with_capacity(rows.len());
            for r in &rows {
                let Some((dek, to)) = app.customer_address(r).await? else {
                    run.unreachable += 1;
                    continue;
                };
                let letter = Letter {
                    to,
                    subject: run.subject.clone(),
                    text: run.text.clone(),
                    unsubscribe: None,
                };
                let message = app.outbox_row(&dek, BREACH_NOTICE, None, &letter, now)?;
                notices.push(BreachNoticeRow {
                    breach_id: id,
                    customer_id: r.id,
                    message_id: message.id,
                    queued_at: now,
                });
                with.mail.push(message);
            }
            if notices.is_empty() {
                continue;
            }
            let mut audit = app.access_record(
                access,
                "breach.notify_customers",
                notices
                    .iter()
                    .map(|n| n.customer_id.to_string())
                    .chain([format!("breach:{id}")])
                    .collect(),
                vec![MATCH_FIELD.into()],
            );
            audit.detail = Some(format!("{} customers told", notices.len()));
            with.audit.push(audit);
            run.queued += app.store.queue_breach_notices(&notices, with).await? as u64;
            app.mail_queued();
        }
        Ok(run)
    }
}

impl Portal<'_> {
    /// The breaches the customer was told of, newest last.
    pub async fn breach_notices(
        &self,
        subject: &Subject,
    ) -> Result<Vec<BreachNoticeForYou>, AppError> {
        let mut out = Vec::new();
        for n in self
            .app
            .store
            .breach_notices(None, Some(subject.customer()))
            .await?
        {
            let Some(row) = self.app.store.breach(n.breach_id).await? else {
                continue;
            };
            let (subject, text) = self.app.customer_breach_letter(&self.app.breach_of(&row)?);
            out.push(BreachNoticeForYou {
                subject,
                text,
                told_at: from_micros(n.queued_at),
            });
        }
        Ok(out)
    }
}
