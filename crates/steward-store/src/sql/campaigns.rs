//! Saved segments and campaigns, and how a campaign's messages fared.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Lock, Row, Sql, WriteTx, args};
use crate::{
    CampaignRow, CampaignStep, ChangeSet, MailCounts, Result, SegmentRow, StoreError, TestSend,
};

macro_rules! segment_cols {
    () => {
        "id, name, filter, created_by, created_at"
    };
}
macro_rules! campaign_cols {
    () => {
        "id, name, purpose, segment_id, filter, subject, body, state, created_by, created_at, sent_at, recipients, scheduled_at, scheduled_by"
    };
}

static INSERT_SEGMENT: Sql = Sql::new(concat!(
    "INSERT INTO segments (",
    segment_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5)"
));
static SEGMENTS: Sql = Sql::new(concat!(
    "SELECT ",
    segment_cols!(),
    " FROM segments ORDER BY name"
));
static SEGMENT: Sql = Sql::new(concat!(
    "SELECT ",
    segment_cols!(),
    " FROM segments WHERE id = ?1"
));
static INSERT_CAMPAIGN: Sql = Sql::new(concat!(
    "INSERT INTO campaigns (",
    campaign_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
));
static CAMPAIGNS: Sql = Sql::new(concat!(
    "SELECT ",
    campaign_cols!(),
    " FROM campaigns ORDER BY created_at DESC, id DESC"
));
static CAMPAIGN: Sql = Sql::new(concat!(
    "SELECT ",
    campaign_cols!(),
    " FROM campaigns WHERE id = ?1"
));
static STEP: Sql = Sql::new(
    "UPDATE campaigns SET state = ?3, recipients = recipients + ?4,
       sent_at = CASE WHEN ?3 = 'sent' THEN ?5 ELSE sent_at END, lease_until = ?6
     WHERE id = ?1 AND state = ?2",
);
static SCHEDULE: Sql = Sql::new(
    "UPDATE campaigns SET state = 'scheduled', scheduled_at = ?2, scheduled_by = ?3
     WHERE id = ?1 AND state = 'draft'",
);
static UNSCHEDULE: Sql = Sql::new(
    "UPDATE campaigns SET state = 'draft', scheduled_at = NULL, scheduled_by = NULL
     WHERE id = ?1 AND state = 'scheduled'",
);
static DUE: Sql = Sql::new(
    "SELECT id, scheduled_at AS due_at FROM campaigns WHERE state = 'scheduled' AND scheduled_at <= ?1
     UNION ALL
     SELECT id, lease_until AS due_at FROM campaigns WHERE state = 'sending' AND lease_until <= ?1
     ORDER BY due_at, id LIMIT ?2",
);
/// The claim: of several instances that find one campaign due, or one whose sender's lease
/// ran out, the first to commit this takes it with a lease and every other updates nothing.
static CLAIM: Sql = Sql::new(
    "UPDATE campaigns SET state = 'sending', lease_until = ?3
     WHERE id = ?1
       AND ((state = 'scheduled' AND scheduled_at <= ?2) OR (state = 'sending' AND lease_until <= ?2))",
);
static TEST_SENDS_SINCE: Sql =
    Sql::new("SELECT COUNT(*), MIN(at) FROM campaign_test_sends WHERE actor = ?1 AND at > ?2");
static INSERT_TEST_SEND: Sql =
    Sql::new("INSERT INTO campaign_test_sends (actor, campaign_id, at) VALUES (?1, ?2, ?3)");
static FORGET_TEST_SENDS: Sql = Sql::new("DELETE FROM campaign_test_sends WHERE at <= ?1");
static BY_STATE: Sql =
    Sql::new("SELECT state, COUNT(*) FROM outbox WHERE campaign_id = ?1 GROUP BY state");
static UNSUBSCRIBED: Sql =
    Sql::new("SELECT COUNT(*) FROM mail_links WHERE campaign_id = ?1 AND used_at IS NOT NULL");

fn segment_from(r: &dyn Row) -> Result<SegmentRow> {
    Ok(SegmentRow {
        id: r.id(0)?,
        name: r.text(1)?,
        filter: r.text(2)?,
        created_by: r.text(3)?,
        created_at: r.int(4)?,
    })
}

fn campaign_from(r: &dyn Row) -> Result<CampaignRow> {
    Ok(CampaignRow {
        id: r.id(0)?,
        name: r.text(1)?,
        purpose: r.text(2)?,
        segment_id: r.opt_id(3)?,
        filter: r.text(4)?,
        subject: r.text(5)?,
        body: r.text(6)?,
        state: r.text(7)?,
        created_by: r.text(8)?,
        created_at: r.int(9)?,
        sent_at: r.opt_int(10)?,
        recipients: r.int(11)?,
        scheduled_at: r.opt_int(12)?,
        scheduled_by: r.opt_text(13)?,
    })
}

/// Saves a segment; its name must be new.
pub(crate) async fn create_segment(
    x: &impl WriteTx,
    s: &SegmentRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![s.id, &s.name, &s.filter, &s.created_by, s.created_at];
    x.execute(&INSERT_SEGMENT, &args)
        .await
        .map_err(|e| e.duplicate_of("name"))?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn segments(x: &impl Exec) -> Result<Vec<SegmentRow>> {
    x.query(&SEGMENTS, &[], segment_from).await
}

pub(crate) async fn segment(x: &impl Exec, id: Uuid) -> Result<Option<SegmentRow>> {
    x.query_opt(&SEGMENT, &args![id], segment_from).await
}

pub(crate) async fn create_campaign(
    x: &impl WriteTx,
    c: &CampaignRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![
        c.id,
        &c.name,
        &c.purpose,
        c.segment_id,
        &c.filter,
        &c.subject,
        &c.body,
        &c.state,
        &c.created_by,
        c.created_at,
        c.sent_at,
        c.recipients,
        c.scheduled_at,
        c.scheduled_by.as_ref()
    ];
    x.execute(&INSERT_CAMPAIGN, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn campaigns(x: &impl Exec) -> Result<Vec<CampaignRow>> {
    x.query(&CAMPAIGNS, &[], campaign_from).await
}

pub(crate) async fn campaign(x: &impl Exec, id: Uuid) -> Result<Option<CampaignRow>> {
    x.query_opt(&CAMPAIGN, &args![id], campaign_from).await
}

/// Moves a campaign on, only from the state the caller saw; `Conflict` otherwise.
pub(crate) async fn step(x: &impl Exec, s: &CampaignStep) -> Result<()> {
    let args = args![s.id, &s.from, &s.to, s.recipients, s.at, s.lease_until];
    if x.execute(&STEP, &args).await? == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub(crate) async fn counts(x: &impl Exec, campaign: Uuid) -> Result<MailCounts> {
    let mut counts = MailCounts::default();
    let by_state = x
        .query(&BY_STATE, &args![campaign], |r| {
            Ok((r.text(0)?, r.int(1)? as u64))
        })
        .await?;
    for (state, n) in by_state {
        match state.as_str() {
            "pending" => counts.pending = n,
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            other => return Err(StoreError::Corrupt(format!("outbox state {other:?}"))),
        }
    }
    counts.unsubscribed = x
        .query_opt(&UNSUBSCRIBED, &args![campaign], |r| r.int(0))
        .await?
        .unwrap_or(0) as u64;
    Ok(counts)
}

/// Schedules a draft for `at`; `Conflict` when it is no draft (any more).
pub(crate) async fn schedule(
    x: &impl WriteTx,
    id: Uuid,
    at: i64,
    by: &str,
    audit: AuditRecord,
) -> Result<()> {
    if x.execute(&SCHEDULE, &args![id, at, by]).await? == 0 {
        return Err(StoreError::Conflict);
    }
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Takes a scheduled campaign back to a draft; `Conflict` when it is not scheduled (any
/// more: it may have started sending).
pub(crate) async fn unschedule(x: &impl WriteTx, id: Uuid, audit: AuditRecord) -> Result<()> {
    if x.execute(&UNSCHEDULE, &args![id]).await? == 0 {
        return Err(StoreError::Conflict);
    }
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Scheduled campaigns whose time has come by `now`, and sending ones whose sender's lease
/// ran out, the longest waiting first.
pub(crate) async fn due(x: &impl Exec, now: i64, limit: usize) -> Result<Vec<Uuid>> {
    x.query(&DUE, &args![now, limit as i64], |r| r.id(0)).await
}

/// Moves a due campaign from `scheduled` to `sending`, or takes over one whose lease ran out,
/// holding it until `lease_until`, with its audit entry; `false`, and nothing written, when
/// another claim, a cancellation or its live sender came first.
pub(crate) async fn claim(
    x: &impl WriteTx,
    id: Uuid,
    now: i64,
    lease_until: i64,
    audit: AuditRecord,
) -> Result<bool> {
    if x.execute(&CLAIM, &args![id, now, lease_until]).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

/// Counts a test send and applies `changes` (its message and audit entry) when the staff
/// member has sends left in the window; otherwise writes nothing and answers when the
/// oldest send in the window was made.
pub(crate) async fn test_send(
    x: &impl WriteTx,
    send: &TestSend,
    changes: ChangeSet,
) -> Result<Option<i64>> {
    // One staff member's sends are counted one at a time, so two at once cannot both take
    // the last one left.
    x.lock(Lock::TestSends(&send.actor)).await?;
    x.execute(&FORGET_TEST_SENDS, &args![send.since]).await?;
    let (made, oldest) = x
        .query_opt(&TEST_SENDS_SINCE, &args![&send.actor, send.since], |r| {
            Ok((r.int(0)?, r.opt_int(1)?))
        })
        .await?
        .unwrap_or((0, None));
    if made >= send.limit {
        return Ok(Some(oldest.unwrap_or(send.at)));
    }
    x.execute(
        &INSERT_TEST_SEND,
        &args![&send.actor, send.campaign, send.at],
    )
    .await?;
    super::changes::apply(x, changes).await?;
    Ok(None)
}
