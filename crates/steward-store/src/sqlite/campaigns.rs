//! Segments and campaigns, in SQLite.

use super::*;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{map_unique, uuid_from};
use crate::{CampaignRow, CampaignStep, MailCounts, Result, SegmentRow, StoreError};

const SEGMENT_COLS: &str = "id, name, filter, created_by, created_at";
const CAMPAIGN_COLS: &str = "id, name, purpose, segment_id, filter, subject, body, state, created_by, created_at, sent_at, recipients";

pub(super) fn create_segment(tx: &Transaction, s: &SegmentRow) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO segments ({SEGMENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))?
    .execute(params![
        s.id.as_bytes().as_slice(),
        s.name,
        s.filter,
        s.created_by,
        s.created_at
    ])
    .map_err(|e| map_unique(e, "name"))?;
    Ok(())
}

fn segment_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, SegmentRow)> {
    Ok((
        r.get(0)?,
        SegmentRow {
            id: Uuid::nil(),
            name: r.get(1)?,
            filter: r.get(2)?,
            created_by: r.get(3)?,
            created_at: r.get(4)?,
        },
    ))
}

fn finish_segment((id, mut s): (Vec<u8>, SegmentRow)) -> Result<SegmentRow> {
    s.id = uuid_from(id)?;
    Ok(s)
}

pub(super) fn segments(c: &Connection) -> Result<Vec<SegmentRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {SEGMENT_COLS} FROM segments ORDER BY name"
    ))?;
    let rows = stmt.query_map([], segment_from)?;
    rows.map(|r| finish_segment(r?)).collect()
}

pub(super) fn segment(c: &Connection, id: Uuid) -> Result<Option<SegmentRow>> {
    c.prepare_cached(&format!(
        "SELECT {SEGMENT_COLS} FROM segments WHERE id = ?1"
    ))?
    .query_row([id.as_bytes().as_slice()], segment_from)
    .optional()?
    .map(finish_segment)
    .transpose()
}

pub(super) fn create_campaign(tx: &Transaction, c: &CampaignRow) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO campaigns ({CAMPAIGN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        c.id.as_bytes().as_slice(),
        c.name,
        c.purpose,
        c.segment_id.as_ref().map(|s| s.as_bytes().to_vec()),
        c.filter,
        c.subject,
        c.body,
        c.state,
        c.created_by,
        c.created_at,
        c.sent_at,
        c.recipients
    ])?;
    Ok(())
}

type RawCampaign = (Vec<u8>, Option<Vec<u8>>, CampaignRow);

fn campaign_from(r: &rusqlite::Row) -> rusqlite::Result<RawCampaign> {
    Ok((
        r.get(0)?,
        r.get(3)?,
        CampaignRow {
            id: Uuid::nil(),
            name: r.get(1)?,
            purpose: r.get(2)?,
            segment_id: None,
            filter: r.get(4)?,
            subject: r.get(5)?,
            body: r.get(6)?,
            state: r.get(7)?,
            created_by: r.get(8)?,
            created_at: r.get(9)?,
            sent_at: r.get(10)?,
            recipients: r.get(11)?,
        },
    ))
}

fn finish_campaign((id, segment, mut c): RawCampaign) -> Result<CampaignRow> {
    c.id = uuid_from(id)?;
    c.segment_id = segment.map(uuid_from).transpose()?;
    Ok(c)
}

pub(super) fn campaigns(c: &Connection) -> Result<Vec<CampaignRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {CAMPAIGN_COLS} FROM campaigns ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], campaign_from)?;
    rows.map(|r| finish_campaign(r?)).collect()
}

pub(super) fn campaign(c: &Connection, id: Uuid) -> Result<Option<CampaignRow>> {
    c.prepare_cached(&format!(
        "SELECT {CAMPAIGN_COLS} FROM campaigns WHERE id = ?1"
    ))?
    .query_row([id.as_bytes().as_slice()], campaign_from)
    .optional()?
    .map(finish_campaign)
    .transpose()
}

pub(super) fn step(tx: &Transaction, s: &CampaignStep) -> Result<()> {
    let n = tx
        .prepare_cached(
            "UPDATE campaigns SET state = ?3, recipients = recipients + ?4,
               sent_at = CASE WHEN ?3 = 'sent' THEN ?5 ELSE sent_at END
             WHERE id = ?1 AND state = ?2",
        )?
        .execute(params![
            s.id.as_bytes().as_slice(),
            s.from,
            s.to,
            s.recipients,
            s.at
        ])?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub(super) fn mailed(c: &Connection, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT 1 FROM outbox WHERE campaign_id = ?1 AND customer_id = ?2 LIMIT 1",
    )?;
    for id in customers {
        if stmt
            .query_row(
                params![campaign.as_bytes().as_slice(), id.as_bytes().as_slice()],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
        {
            out.push(*id);
        }
    }
    Ok(out)
}

pub(super) fn counts(c: &Connection, campaign: Uuid) -> Result<MailCounts> {
    let key = campaign.as_bytes().as_slice();
    let mut counts = MailCounts::default();
    let mut stmt = c.prepare_cached(
        "SELECT state, COUNT(*) FROM outbox WHERE campaign_id = ?1 GROUP BY state",
    )?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        let n = n as u64;
        match state.as_str() {
            "pending" => counts.pending = n,
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            other => return Err(StoreError::Corrupt(format!("outbox state {other:?}"))),
        }
    }
    counts.unsubscribed = c
        .prepare_cached(
            "SELECT COUNT(*) FROM mail_links WHERE campaign_id = ?1 AND used_at IS NOT NULL",
        )?
        .query_row([key], |r| r.get::<_, i64>(0))? as u64;
    Ok(counts)
}

#[async_trait]
impl Segments for SqliteStore {
    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        let seg = segment_sql(q, None, false, &|n| format!("?{n}"));
        let sql = format!("SELECT COUNT(*) {}", seg.from_where);
        let args = sqlite_args(seg.args);
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let seg = segment_sql(q, after, true, &|n| format!("?{n}"));
        let sql = format!(
            "SELECT {CUSTOMER_COLS} {} ORDER BY {} LIMIT {limit}",
            seg.from_where, seg.id_column
        );
        let args = sqlite_args(seg.args);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), customer_from)?;
            rows.map(|r| finish_customer(r?)).collect()
        })
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let segment = segment.clone();
        self.write(move |tx| {
            create_segment(tx, &segment)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        self.read(segments)
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        self.read(|c| segment(c, id))
    }
}

#[async_trait]
impl Campaigns for SqliteStore {
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let campaign = campaign.clone();
        self.write(move |tx| {
            create_campaign(tx, &campaign)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        self.read(campaigns)
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        self.read(|c| campaign(c, id))
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        self.read(|c| mailed(c, campaign, customers))
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        self.read(|c| counts(c, campaign))
    }
}
