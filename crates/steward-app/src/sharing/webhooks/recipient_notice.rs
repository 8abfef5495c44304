//! The `recipient.notice` kind: an Art. 19 notice told to a vendor that takes webhooks. The
//! store queues it with the notice, the delivery naming only the notice; each attempt reads
//! the notice as it stands, and the outcome moves the notice on through the same move staff
//! make by hand: delivered makes it `sent`, given up makes it `failed`. The message names the
//! customer by id and the changed fields by name, never a value.

use jiff::Timestamp;
use steward_store::{RecipientNoticeRow, WebhookOutcome, WebhookRow};
use uuid::Uuid;

use super::{Kind, Prepared};
use crate::sharing::recipient_notices::NoticeStatus;
use crate::{Actor, AppError, Steward};

#[derive(serde::Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: Timestamp,
    data: Data<'a>,
}

#[derive(serde::Serialize)]
struct Data<'a> {
    notice_id: Uuid,
    customer_id: Uuid,
    /// `erasure`, `rectification` or `restriction`.
    change: &'a str,
    /// For a rectification, the names of the changed fields this vendor received.
    fields: &'a [String],
    /// When the vendor must have been told.
    due: Timestamp,
}

fn system() -> Actor {
    Actor::system("webhooks", &[])
}

async fn notice_of(app: &Steward, row: &WebhookRow) -> Result<RecipientNoticeRow, AppError> {
    app.store
        .recipient_notice(row.subject_id)
        .await?
        .ok_or_else(|| AppError::corrupt(format!("webhook delivery {}", row.id)))
}

/// The notice's message as of `at`.
pub(crate) async fn prepare(
    app: &Steward,
    row: &WebhookRow,
    at: Timestamp,
) -> Result<Prepared, AppError> {
    let notice = notice_of(app, row).await?;
    let body = serde_json::to_vec(&Payload {
        kind: Kind::RecipientNotice.as_str(),
        timestamp: at,
        data: Data {
            notice_id: notice.id,
            customer_id: notice.customer_id,
            change: &notice.kind,
            fields: &notice.fields,
            due: steward_core::clock::from_micros(notice.due_at),
        },
    })
    .map_err(AppError::Encode)?;
    let audit = app.record(
        &system(),
        "recipient_notice.deliver",
        None,
        vec![notice.customer_id.to_string(), notice.id.to_string()],
        notice.fields.clone(),
        None,
    );
    Ok(Prepared { body, audit })
}

/// Moves the notice on after its delivery settled: `sent` when delivered, `failed` (with what
/// came back) when given up. A notice staff moved on meanwhile keeps where they put it.
pub(crate) async fn settled(
    app: &Steward,
    row: &WebhookRow,
    outcome: &WebhookOutcome,
    answered: &str,
) -> Result<(), AppError> {
    let to = match outcome {
        WebhookOutcome::Delivered => NoticeStatus::Sent,
        WebhookOutcome::Failed => NoticeStatus::Failed,
        WebhookOutcome::Retry { .. } => return Ok(()),
    };
    let notice = notice_of(app, row).await?;
    let from = NoticeStatus::parse(&notice.status)
        .ok_or_else(|| AppError::corrupt(format!("recipient notice {}", notice.id)))?;
    // Only a notice still to be sent is the sender's to move.
    if !from.is_open() || !from.may_become(to) {
        return Ok(());
    }
    let now = app.clock.now().as_microsecond();
    let moved = RecipientNoticeRow {
        status: to.as_str().into(),
        reason: (to == NoticeStatus::Failed).then(|| format!("webhook given up: {answered}")),
        sent_at: if to == NoticeStatus::Sent {
            Some(now)
        } else {
            notice.sent_at
        },
        updated_at: now,
        ..notice
    };
    let audit = app.record(
        &system(),
        &format!("recipient_notice.{}", to.as_str()),
        None,
        vec![moved.customer_id.to_string(), moved.id.to_string()],
        moved.fields.clone(),
        Some(format!("delivery {}", row.id)),
    );
    match app
        .store
        .move_recipient_notice(&moved, from.as_str(), vec![audit])
        .await
        .map_err(AppError::from)
    {
        Ok(()) => Ok(()),
        // Moved by hand between the read and the move: theirs stands.
        Err(AppError::StaleVersion) => {
            tracing::info!(notice = %moved.id, delivery = %row.id, "recipient notice moved on meanwhile");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
