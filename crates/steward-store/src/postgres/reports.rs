//! Counts for the dashboard: customers, consents and audit activity.

use super::*;

#[async_trait]
impl Reports for PostgresStore {
    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        let client = self.pool.get().await?;
        let by_residency = client
            .query(
                "SELECT residency, COUNT(*) FROM customers GROUP BY residency ORDER BY 2 DESC, 1",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        let created_per_day = client
            .query(
                "SELECT created_at / $1 AS day, COUNT(*) FROM customers WHERE created_at >= $2
                 GROUP BY day ORDER BY day",
                &[&MICROS_PER_DAY, &created_since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        Ok(CustomerStats {
            by_residency,
            created_per_day,
        })
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        let client = self.pool.get().await?;
        let current = client
            .query(
                "SELECT purpose, state, COUNT(*) FROM consent_current GROUP BY purpose, state ORDER BY 1, 2",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
            .collect();
        let per_day = client
            .query(
                "SELECT at / $1 AS day, purpose, state, COUNT(*) FROM consent_events WHERE at >= $2
                 GROUP BY day, purpose, state ORDER BY day, purpose, state",
                &[&MICROS_PER_DAY, &since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<_, i64>(3) as u64))
            .collect();
        Ok(ConsentStats { current, per_day })
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT at / $1 AS day, role, purpose, action, COUNT(*) FROM audit_log
                 WHERE at >= $2 GROUP BY day, role, purpose, action ORDER BY day",
                &[&MICROS_PER_DAY, &since],
            )
            .await?
            .iter()
            .map(|r| ActivityCount {
                day: r.get(0),
                role: r.get(1),
                purpose: r.get(2),
                action: r.get(3),
                count: r.get::<_, i64>(4) as u64,
            })
            .collect())
    }
}
