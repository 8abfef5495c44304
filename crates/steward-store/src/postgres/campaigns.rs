//! Segments and campaigns, in PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use super::map_unique;
use crate::{CampaignRow, CampaignStep, MailCounts, Result, SegmentRow, StoreError};

const SEGMENT_COLS: &str = "id, name, filter, created_by, created_at";
const CAMPAIGN_COLS: &str = "id, name, purpose, segment_id, filter, subject, body, state, created_by, created_at, sent_at, recipients";

pub(super) async fn create_segment(tx: &Transaction<'_>, s: &SegmentRow) -> Result<()> {
    tx.execute(
        &format!("INSERT INTO segments ({SEGMENT_COLS}) VALUES ($1, $2, $3, $4, $5)"),
        &[&s.id, &s.name, &s.filter, &s.created_by, &s.created_at],
    )
    .await
    .map_err(|e| map_unique(e, "name"))?;
    Ok(())
}

fn segment_from(r: &tokio_postgres::Row) -> SegmentRow {
    SegmentRow {
        id: r.get(0),
        name: r.get(1),
        filter: r.get(2),
        created_by: r.get(3),
        created_at: r.get(4),
    }
}

pub(super) async fn segments(client: &Object) -> Result<Vec<SegmentRow>> {
    let rows = client
        .query(
            &format!("SELECT {SEGMENT_COLS} FROM segments ORDER BY name"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(segment_from).collect())
}

pub(super) async fn segment(client: &Object, id: Uuid) -> Result<Option<SegmentRow>> {
    let row = client
        .query_opt(
            &format!("SELECT {SEGMENT_COLS} FROM segments WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(segment_from))
}

pub(super) async fn create_campaign(tx: &Transaction<'_>, c: &CampaignRow) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO campaigns ({CAMPAIGN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        &[
            &c.id,
            &c.name,
            &c.purpose,
            &c.segment_id,
            &c.filter,
            &c.subject,
            &c.body,
            &c.state,
            &c.created_by,
            &c.created_at,
            &c.sent_at,
            &c.recipients,
        ],
    )
    .await?;
    Ok(())
}

fn campaign_from(r: &tokio_postgres::Row) -> CampaignRow {
    CampaignRow {
        id: r.get(0),
        name: r.get(1),
        purpose: r.get(2),
        segment_id: r.get(3),
        filter: r.get(4),
        subject: r.get(5),
        body: r.get(6),
        state: r.get(7),
        created_by: r.get(8),
        created_at: r.get(9),
        sent_at: r.get(10),
        recipients: r.get(11),
    }
}

pub(super) async fn campaigns(client: &Object) -> Result<Vec<CampaignRow>> {
    let rows = client
        .query(
            &format!("SELECT {CAMPAIGN_COLS} FROM campaigns ORDER BY created_at DESC, id DESC"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(campaign_from).collect())
}

pub(super) async fn campaign(client: &Object, id: Uuid) -> Result<Option<CampaignRow>> {
    let row = client
        .query_opt(
            &format!("SELECT {CAMPAIGN_COLS} FROM campaigns WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(campaign_from))
}

pub(super) async fn step(tx: &Transaction<'_>, s: &CampaignStep) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE campaigns SET state = $3, recipients = recipients + $4,
               sent_at = CASE WHEN $3 = 'sent' THEN $5 ELSE sent_at END
             WHERE id = $1 AND state = $2",
            &[&s.id, &s.from, &s.to, &s.recipients, &s.at],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

pub(super) async fn mailed(
    client: &Object,
    campaign: Uuid,
    customers: &[Uuid],
) -> Result<Vec<Uuid>> {
    let rows = client
        .query(
            "SELECT DISTINCT customer_id FROM outbox WHERE campaign_id = $1 AND customer_id = ANY($2)",
            &[&campaign, &customers],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(super) async fn counts(client: &Object, campaign: Uuid) -> Result<MailCounts> {
    let mut counts = MailCounts::default();
    for row in client
        .query(
            "SELECT state, COUNT(*) FROM outbox WHERE campaign_id = $1 GROUP BY state",
            &[&campaign],
        )
        .await?
    {
        let n = row.get::<_, i64>(1) as u64;
        match row.get::<_, &str>(0) {
            "pending" => counts.pending = n,
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            other => return Err(StoreError::Corrupt(format!("outbox state {other:?}"))),
        }
    }
    counts.unsubscribed = client
        .query_one(
            "SELECT COUNT(*) FROM mail_links WHERE campaign_id = $1 AND used_at IS NOT NULL",
            &[&campaign],
        )
        .await?
        .get::<_, i64>(0) as u64;
    Ok(counts)
}

#[async_trait]
impl Segments for PostgresStore {
    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        let seg = segment_sql(q, None, false, &|n| format!("${n}"));
        let sql = format!("SELECT COUNT(*) {}", seg.from_where);
        let args = postgres_args(&seg.args);
        let client = self.pool.get().await?;
        let n: i64 = client.query_one(&sql, &arg_refs(&args)).await?.get(0);
        Ok(n as u64)
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let seg = segment_sql(q, after, true, &|n| format!("${n}"));
        let sql = format!(
            "SELECT {CUSTOMER_COLS} {} ORDER BY {} LIMIT {limit}",
            seg.from_where, seg.id_column
        );
        let args = postgres_args(&seg.args);
        let client = self.pool.get().await?;
        let rows = client.query(&sql, &arg_refs(&args)).await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        create_segment(&tx, segment).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        segments(&self.pool.get().await?).await
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        segment(&self.pool.get().await?, id).await
    }
}

#[async_trait]
impl Campaigns for PostgresStore {
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        create_campaign(&tx, campaign).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        campaigns(&self.pool.get().await?).await
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        campaign(&self.pool.get().await?, id).await
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        mailed(&self.pool.get().await?, campaign, customers).await
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        counts(&self.pool.get().await?, campaign).await
    }
}
