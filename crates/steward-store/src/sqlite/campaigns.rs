//! Segments and campaigns, in SQLite.

use super::*;

use rusqlite::params;

use crate::sql::{campaign_results, campaigns, segments};
use crate::{CampaignRow, CampaignTimeline, MailCounts, SegmentRow, TestSend};

/// Which of `customers` the campaign has mailed, one indexed lookup each.
fn mailed(c: &Connection, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
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

#[async_trait]
impl Segments for SqliteStore {
    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        self.read(|c| ready(segments::count(c, q)))
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        self.read(|c| ready(segments::page(c, q, after, limit)))
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let segment = segment.clone();
        self.write(move |tx| ready(campaigns::create_segment(tx, &segment, audit)))
            .await
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        self.read(|c| ready(campaigns::segments(c)))
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        self.read(|c| ready(campaigns::segment(c, id)))
    }
}

#[async_trait]
impl Campaigns for SqliteStore {
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let campaign = campaign.clone();
        self.write(move |tx| ready(campaigns::create_campaign(tx, &campaign, audit)))
            .await
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        self.read(|c| ready(campaigns::campaigns(c)))
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        self.read(|c| ready(campaigns::campaign(c, id)))
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        self.read(|c| mailed(c, campaign, customers))
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        self.read(|c| ready(campaigns::counts(c, campaign)))
    }

    async fn schedule_campaign(
        &self,
        id: Uuid,
        at: i64,
        by: &str,
        audit: AuditRecord,
    ) -> Result<()> {
        let by = by.to_string();
        self.write(move |tx| ready(campaigns::schedule(tx, id, at, &by, audit)))
            .await
    }

    async fn unschedule_campaign(&self, id: Uuid, audit: AuditRecord) -> Result<()> {
        self.write(move |tx| ready(campaigns::unschedule(tx, id, audit)))
            .await
    }

    async fn due_campaigns(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        self.read(|c| ready(campaigns::due(c, now, limit)))
    }

    async fn claim_campaign(
        &self,
        id: Uuid,
        now: i64,
        lease_until: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        self.write(move |tx| ready(campaigns::claim(tx, id, now, lease_until, audit)))
            .await
    }

    async fn campaign_test_send(&self, send: &TestSend, changes: ChangeSet) -> Result<Option<i64>> {
        let send = send.clone();
        self.write(move |tx| ready(campaigns::test_send(tx, &send, changes)))
            .await
    }

    async fn campaign_timeline(&self, campaign: Uuid, width: i64) -> Result<CampaignTimeline> {
        self.read(|c| ready(campaign_results::timeline(c, campaign, width)))
    }
}
