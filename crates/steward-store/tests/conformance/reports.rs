//! Counts for the dashboard's charts.

use super::*;

engines!(counts_for_charts,);

pub async fn counts_for_charts(store: Arc<dyn Store>) {
    let day = MICROS_PER_DAY;
    let mut rows = Vec::new();
    for (at, residency) in [(day, "DE"), (day + 5, "DE"), (3 * day, "FR"), (10, "DE")] {
        let mut c = customer(at, &[], "active");
        c.residency = residency.into();
        rows.push(CustomerWrite {
            row: c,
            index: vec![],
        });
    }
    insert(&store, rows).await.expect("insert");
    let stats = store.customer_stats(day).await.expect("stats");
    assert_eq!(
        stats.by_residency,
        vec![("DE".to_string(), 3), ("FR".to_string(), 1)]
    );
    assert_eq!(
        stats.created_per_day,
        vec![(1, 2), (3, 1)],
        "since day 1 only"
    );
    let listed = store
        .list_customers(&CustomerFilter {
            residency: Some("FR".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);

    let mut records = Vec::new();
    for (at, role, purpose) in [
        (day, "agent", Some("essential.service")),
        (day + 1, "agent", Some("essential.service")),
        (2 * day, "dpo", None),
        (5, "agent", Some("essential.service")),
    ] {
        let mut r = record("customer.read", vec![]);
        r.at = at;
        r.role = role.into();
        r.purpose = purpose.map(str::to_string);
        records.push(r);
    }
    store.append_audit(records).await.expect("audit");
    let mut activity = store.audit_activity(day).await.expect("activity");
    activity.retain(|a| a.action == "customer.read");
    assert_eq!(
        activity,
        vec![
            ActivityCount {
                day: 1,
                role: "agent".into(),
                purpose: Some("essential.service".into()),
                action: "customer.read".into(),
                count: 2,
            },
            ActivityCount {
                day: 2,
                role: "dpo".into(),
                purpose: None,
                action: "customer.read".into(),
                count: 1,
            },
        ]
    );
}
