//! Segments and campaigns, in SQLite.

use super::*;

use rusqlite::params;

use crate::sql::{campaigns, segments};
use crate::{CampaignRow, MailCounts, SegmentRow};

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
}
