//! A campaign's results over time: how many of its messages were queued, delivered or given
//! up, and how many recipients unsubscribed through it, per bucket of time. Counts only.

use uuid::Uuid;

use super::{Exec, Sql, args};
use crate::{CampaignTimeline, Result};

// Integer division floors the times of one bucket to its start on both engines (times are
// never negative).
static QUEUED: Sql = Sql::new(
    "SELECT (created_at / ?2) * ?2 AS bucket, COUNT(*) FROM outbox
     WHERE campaign_id = ?1 GROUP BY bucket ORDER BY bucket",
);
static DELIVERED: Sql = Sql::new(
    "SELECT (sent_at / ?2) * ?2 AS bucket, COUNT(*) FROM outbox
     WHERE campaign_id = ?1 AND state = 'sent' GROUP BY bucket ORDER BY bucket",
);
static FAILED: Sql = Sql::new(
    "SELECT (d.at / ?2) * ?2 AS bucket, COUNT(*) FROM mail_deliveries d
     JOIN outbox o ON o.id = d.message_id
     WHERE o.campaign_id = ?1 AND d.outcome = 'failed' GROUP BY bucket ORDER BY bucket",
);
static UNSUBSCRIBED: Sql = Sql::new(
    "SELECT (used_at / ?2) * ?2 AS bucket, COUNT(*) FROM mail_links
     WHERE campaign_id = ?1 AND used_at IS NOT NULL GROUP BY bucket ORDER BY bucket",
);

pub(crate) async fn timeline(
    x: &impl Exec,
    campaign: Uuid,
    width: i64,
) -> Result<CampaignTimeline> {
    let mut out = CampaignTimeline::default();
    for (sql, into) in [
        (&QUEUED, &mut out.queued),
        (&DELIVERED, &mut out.delivered),
        (&FAILED, &mut out.failed),
        (&UNSUBSCRIBED, &mut out.unsubscribed),
    ] {
        *into = x
            .query(sql, &args![campaign, width], |r| {
                Ok((r.int(0)?, r.int(1)?.max(0) as u64))
            })
            .await?;
    }
    Ok(out)
}
