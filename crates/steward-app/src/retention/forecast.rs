//! What retention will do: how much is due now, and per week ahead.

use steward_core::retention::RecordType;
use steward_store::DueQuery;

use super::{Upcoming, require_dpo};
use crate::services::Retention;
use crate::{Access, AppError};

impl Retention<'_> {
    /// How many records the enabled rules find due now, held ones included: the length of a
    /// run, for a progress bar.
    pub async fn due(&self, access: &Access) -> Result<u64, AppError> {
        Ok(self
            .app
            .retention()
            .upcoming(access, 0)
            .await?
            .iter()
            .map(|u| u.per_week.first().copied().unwrap_or(0))
            .sum())
    }

    /// Records due per week for the next `weeks` weeks, by enabled rule (the first bucket
    /// holds what is due already).
    pub async fn upcoming(&self, access: &Access, weeks: usize) -> Result<Vec<Upcoming>, AppError> {
        require_dpo(access)?;
        let now = self.app.clock.now();
        let week = jiff::SignedDuration::from_hours(24 * 7);
        let mut out = Vec::new();
        for rule in self.app.rules().await?.into_iter().filter(|r| r.enabled) {
            if rule.record == RecordType::Fields {
                continue;
            }
            let mut cumulative = Vec::with_capacity(weeks + 1);
            for w in 0..=weeks {
                let at = now
                    .checked_add(week * i32::try_from(w).unwrap_or(0))
                    .unwrap_or(now);
                let query = DueQuery {
                    rule_key: rule.key.clone(),
                    record: rule.record.as_str().into(),
                    anchor: rule.anchor.as_str().into(),
                    kind: rule.kind.map(|k| k.as_str().to_string()),
                    cutoff: rule.cutoff(at).as_microsecond(),
                    after: None,
                    limit: 0,
                };
                cumulative.push(self.app.store.count_due(&query).await?);
            }
            let per_week = cumulative
                .iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(if i == 0 { 0 } else { cumulative[i - 1] }))
                .collect();
            out.push(Upcoming {
                rule: rule.key.clone(),
                per_week,
            });
        }
        Ok(out)
    }
}
