//! A campaign's results over time: per hour, or per day once its messages span more than
//! three days, how many were queued, delivered to the mail server or given up, and how
//! many recipients unsubscribed through it. Counts only, never who.
//!
//! Opens and clicks are not counted: messages are plain text with no tracking image and
//! no redirected links, since following a reader's opens is itself processing their data
//! that they did not agree to.

use jiff::Timestamp;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::segments::may_manage_campaigns;
use crate::services::Campaigns;
use crate::{Actor, AppError};

const HOUR: i64 = 3_600 * 1_000_000;
const DAY: i64 = 24 * HOUR;
/// The longest span counted per hour.
const HOURLY_SPAN: i64 = 3 * DAY;

/// One bucket of a campaign's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultBucket {
    /// Where the bucket starts (UTC); it lasts one `bucket`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: Timestamp,
    /// Messages queued for recipients.
    pub sent: u64,
    /// Messages the mail server accepted.
    pub delivered: u64,
    /// Messages given up.
    pub failed: u64,
    /// Recipients who unsubscribed through the campaign's link.
    pub unsubscribed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignResults {
    /// `hour` or `day`.
    pub bucket: String,
    /// From the first bucket with anything to the last, empty ones included, oldest first.
    pub buckets: Vec<ResultBucket>,
}

impl Campaigns<'_> {
    pub async fn results(&self, actor: &Actor, id: Uuid) -> Result<CampaignResults, AppError> {
        may_manage_campaigns(actor)?;
        self.app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut width = HOUR;
        let mut timeline = self.app.store.campaign_timeline(id, width).await?;
        let starts = || {
            [
                &timeline.queued,
                &timeline.delivered,
                &timeline.failed,
                &timeline.unsubscribed,
            ]
            .into_iter()
            .flatten()
            .map(|(start, _)| *start)
        };
        let span = starts().max().unwrap_or(0) - starts().min().unwrap_or(0);
        if span > HOURLY_SPAN {
            width = DAY;
            timeline = self.app.store.campaign_timeline(id, width).await?;
        }
        let mut buckets: BTreeMap<i64, ResultBucket> = BTreeMap::new();
        for (counts, set) in [
            (
                &timeline.queued,
                (|b, n| b.sent = n) as fn(&mut ResultBucket, u64),
            ),
            (&timeline.delivered, |b, n| b.delivered = n),
            (&timeline.failed, |b, n| b.failed = n),
            (&timeline.unsubscribed, |b, n| b.unsubscribed = n),
        ] {
            for (start, n) in counts {
                set(buckets.entry(*start).or_default(), *n);
            }
        }
        let (Some(first), Some(last)) = (
            buckets.keys().next().copied(),
            buckets.keys().next_back().copied(),
        ) else {
            return Ok(CampaignResults {
                bucket: name(width).into(),
                buckets: Vec::new(),
            });
        };
        let mut out = Vec::new();
        let mut at = first;
        while at <= last {
            let mut bucket = buckets.get(&at).copied().unwrap_or_default();
            bucket.start = steward_core::clock::from_micros(at);
            out.push(bucket);
            at += width;
        }
        Ok(CampaignResults {
            bucket: name(width).into(),
            buckets: out,
        })
    }
}

fn name(width: i64) -> &'static str {
    if width == DAY { "day" } else { "hour" }
}
