//! Saved segments and campaigns, and how a campaign's messages fared.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args};
use crate::{CampaignRow, CampaignStep, MailCounts, Result, SegmentRow, StoreError};

macro_rules! segment_cols {
    () => {
        "id, name, filter, created_by, created_at"
    };
}
macro_rules! campaign_cols {
    () => {
        "id, name, purpose, segment_id, filter, subject, body, state, created_by, created_at, sent_at, recipients"
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
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
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
       sent_at = CASE WHEN ?3 = 'sent' THEN ?5 ELSE sent_at END
     WHERE id = ?1 AND state = ?2",
);
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
        c.recipients
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
    let args = args![s.id, &s.from, &s.to, s.recipients, s.at];
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
