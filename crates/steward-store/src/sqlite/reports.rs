//! Counts for the dashboard: customers, consents and audit activity.

use super::*;

#[async_trait]
impl Reports for SqliteStore {
    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        self.read(|c| {
            let by_residency = c
                .prepare_cached(
                    "SELECT residency, COUNT(*) FROM customers GROUP BY residency ORDER BY 2 DESC, 1",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            let created_per_day = c
                .prepare_cached(
                    "SELECT created_at / ?1 AS day, COUNT(*) FROM customers WHERE created_at >= ?2
                     GROUP BY day ORDER BY day",
                )?
                .query_map(params![MICROS_PER_DAY, created_since], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(CustomerStats {
                by_residency,
                created_per_day,
            })
        })
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        self.read(|c| {
            let current = c
                .prepare_cached(
                    "SELECT purpose, state, COUNT(*) FROM consent_current GROUP BY purpose, state ORDER BY 1, 2",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            let per_day = c
                .prepare_cached(
                    "SELECT at / ?1 AS day, purpose, state, COUNT(*) FROM consent_events WHERE at >= ?2
                     GROUP BY day, purpose, state ORDER BY day, purpose, state",
                )?
                .query_map(params![MICROS_PER_DAY, since], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ConsentStats { current, per_day })
        })
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT at / ?1 AS day, role, purpose, action, COUNT(*) FROM audit_log
                 WHERE at >= ?2 GROUP BY day, role, purpose, action ORDER BY day",
            )?
            .query_map(params![MICROS_PER_DAY, since], |r| {
                Ok(ActivityCount {
                    day: r.get(0)?,
                    role: r.get(1)?,
                    purpose: r.get(2)?,
                    action: r.get(3)?,
                    count: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()
            .map_err(Into::into)
        })
    }
}
