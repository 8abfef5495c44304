//! Counts for the dashboard: customers, consents and audit activity. No personal data.

use super::{Exec, Sql, args};
use crate::{ActivityCount, ConsentStats, CustomerStats, MICROS_PER_DAY, Result};

static BY_RESIDENCY: Sql =
    Sql::new("SELECT residency, COUNT(*) FROM customers GROUP BY residency ORDER BY 2 DESC, 1");
static CREATED_PER_DAY: Sql = Sql::new(
    "SELECT created_at / ?1 AS day, COUNT(*) FROM customers WHERE created_at >= ?2
     GROUP BY day ORDER BY day",
);
static CONSENTS_NOW: Sql = Sql::new(
    "SELECT purpose, state, COUNT(*) FROM consent_current GROUP BY purpose, state ORDER BY 1, 2",
);
static CONSENTS_PER_DAY: Sql = Sql::new(
    "SELECT at / ?1 AS day, purpose, state, COUNT(*) FROM consent_events WHERE at >= ?2
     GROUP BY day, purpose, state ORDER BY day, purpose, state",
);
static ACTIVITY: Sql = Sql::new(
    "SELECT at / ?1 AS day, role, purpose, action, COUNT(*) FROM audit_log
     WHERE at >= ?2 GROUP BY day, role, purpose, action ORDER BY day",
);

pub(crate) async fn customer_stats(x: &impl Exec, created_since: i64) -> Result<CustomerStats> {
    let by_residency = x
        .query(&BY_RESIDENCY, &[], |r| Ok((r.text(0)?, r.int(1)? as u64)))
        .await?;
    let created_per_day = x
        .query(
            &CREATED_PER_DAY,
            &args![MICROS_PER_DAY, created_since],
            |r| Ok((r.int(0)?, r.int(1)? as u64)),
        )
        .await?;
    Ok(CustomerStats {
        by_residency,
        created_per_day,
    })
}

pub(crate) async fn consent_stats(x: &impl Exec, since: i64) -> Result<ConsentStats> {
    let current = x
        .query(&CONSENTS_NOW, &[], |r| {
            Ok((r.text(0)?, r.text(1)?, r.int(2)? as u64))
        })
        .await?;
    let per_day = x
        .query(&CONSENTS_PER_DAY, &args![MICROS_PER_DAY, since], |r| {
            Ok((r.int(0)?, r.text(1)?, r.text(2)?, r.int(3)? as u64))
        })
        .await?;
    Ok(ConsentStats { current, per_day })
}

pub(crate) async fn audit_activity(x: &impl Exec, since: i64) -> Result<Vec<ActivityCount>> {
    x.query(&ACTIVITY, &args![MICROS_PER_DAY, since], |r| {
        Ok(ActivityCount {
            day: r.int(0)?,
            role: r.text(1)?,
            purpose: r.opt_text(2)?,
            action: r.text(3)?,
            count: r.int(4)? as u64,
        })
    })
    .await
}
