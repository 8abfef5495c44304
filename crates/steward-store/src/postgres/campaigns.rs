//! Segments and campaigns, in PostgreSQL.

use super::*;

use tokio_postgres::types::ToSql;

use super::exec::query_arrays;
use crate::sql::{Row, Sql, campaign_results, campaigns, segments};
use crate::{CampaignRow, CampaignTimeline, MailCounts, SegmentRow, TestSend};

/// Which of the customers a campaign has mailed: `= ANY` takes them as one array.
static MAILED: Sql = Sql::new(
    "SELECT DISTINCT customer_id FROM outbox WHERE campaign_id = ?1 AND customer_id = ANY(?2)",
);

#[async_trait]
impl Segments for PostgresStore {
    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        segments::count(&self.pool.get().await?, q).await
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        segments::page(&self.pool.get().await?, q, after, limit).await
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        campaigns::create_segment(&tx, segment, audit).await?;
        tx.commit().await
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        campaigns::segments(&self.pool.get().await?).await
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        campaigns::segment(&self.pool.get().await?, id).await
    }
}

#[async_trait]
impl Campaigns for PostgresStore {
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        campaigns::create_campaign(&tx, campaign, audit).await?;
        tx.commit().await
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        campaigns::campaigns(&self.pool.get().await?).await
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        campaigns::campaign(&self.pool.get().await?, id).await
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        let args: [&(dyn ToSql + Sync); 2] = [&campaign, &customers];
        let rows = query_arrays(&self.pool.get().await?, &MAILED, &args).await?;
        rows.iter().map(|r| r.id(0)).collect()
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        campaigns::counts(&self.pool.get().await?, campaign).await
    }

    async fn schedule_campaign(
        &self,
        id: Uuid,
        at: i64,
        by: &str,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        campaigns::schedule(&tx, id, at, by, audit).await?;
        tx.commit().await
    }

    async fn unschedule_campaign(&self, id: Uuid, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        campaigns::unschedule(&tx, id, audit).await?;
        tx.commit().await
    }

    async fn due_campaigns(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        campaigns::due(&self.pool.get().await?, now, limit).await
    }

    async fn claim_campaign(
        &self,
        id: Uuid,
        now: i64,
        lease_until: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let claimed = campaigns::claim(&tx, id, now, lease_until, audit).await?;
        if claimed {
            tx.commit().await?;
        }
        Ok(claimed)
    }

    async fn campaign_test_send(&self, send: &TestSend, changes: ChangeSet) -> Result<Option<i64>> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let refused = campaigns::test_send(&tx, send, changes).await?;
        if refused.is_none() {
            tx.commit().await?;
        }
        Ok(refused)
    }

    async fn campaign_timeline(&self, campaign: Uuid, width: i64) -> Result<CampaignTimeline> {
        campaign_results::timeline(&self.pool.get().await?, campaign, width).await
    }
}
