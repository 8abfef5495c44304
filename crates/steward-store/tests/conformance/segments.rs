//! Segments and audiences.

use super::*;

engines!(
    audiences_reach_only_consenting_active_customers,
    segments_filter_on_every_condition,
);

pub async fn audiences_reach_only_consenting_active_customers(store: Arc<dyn Store>) {
    const EMAIL: &str = "marketing.communications.email";
    // (status, residency, tag, purpose, state, expires_at)
    let cases = [
        ("active", "DE", "vip", EMAIL, "given", None),
        ("active", "FR", "vip", EMAIL, "given", Some(1_000)),
        ("active", "DE", "new", EMAIL, "given", Some(10)),
        ("active", "DE", "vip", EMAIL, "withdrawn", None),
        ("restricted", "DE", "vip", EMAIL, "given", None),
        (
            "active",
            "DE",
            "vip",
            "marketing.communications.sms",
            "given",
            None,
        ),
        ("active", "DE", "vip", EMAIL, "refused", None),
    ];
    let mut rows = Vec::new();
    let mut events = Vec::new();
    for (status, residency, tag, purpose, state, expires_at) in cases {
        let mut c = customer(1, &[tag], status);
        c.residency = residency.into();
        events.push(ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: c.id,
            purpose: purpose.into(),
            state: state.into(),
            notice_version: None,
            method: "api".into(),
            evidence: None,
            at: 5,
            expires_at,
        });
        rows.push(CustomerWrite {
            row: c,
            index: vec![],
        });
    }
    insert(&store, rows).await.expect("customers");
    store
        .apply(ChangeSet {
            consents: events,
            ..Default::default()
        })
        .await
        .expect("consents");
    let query = |tag: Option<&str>, residency: Option<&str>| SegmentQuery {
        tags: tag.map(str::to_string).into_iter().collect(),
        residency: residency.map(str::to_string).into_iter().collect(),
        audience: Some(AudienceOf {
            purpose: EMAIL.into(),
            now: 100,
            given_since: None,
        }),
        ..Default::default()
    };
    let count = |tag: Option<&str>, residency: Option<&str>| {
        let store = store.clone();
        let q = query(tag, residency);
        async move { store.count_segment(&q).await.expect("count") }
    };
    assert_eq!(
        count(None, None).await,
        2,
        "given, unexpired and active only"
    );
    assert_eq!(count(Some("vip"), None).await, 2);
    assert_eq!(count(None, Some("FR")).await, 1);
    assert_eq!(count(Some("new"), None).await, 0, "that one expired");
    let mut renewed = query(None, None);
    if let Some(a) = renewed.audience.as_mut() {
        a.given_since = Some(6);
    }
    assert_eq!(
        store.count_segment(&renewed).await.expect("count"),
        0,
        "given at 5, before a material notice change at 6"
    );

    let all = store
        .segment_page(&query(None, None), None, 10)
        .await
        .expect("members");
    let ids: Vec<Uuid> = all.iter().map(|c| c.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!((ids.len(), &ids), (2, &sorted), "in id order");
    let first = store
        .segment_page(&query(None, None), None, 1)
        .await
        .expect("page");
    let rest = store
        .segment_page(&query(None, None), Some(first[0].id), 10)
        .await
        .expect("next");
    assert_eq!(
        first
            .into_iter()
            .chain(rest)
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        ids,
        "pages by id join up"
    );
}

pub async fn segments_filter_on_every_condition(store: Arc<dyn Store>) {
    const SMS: &str = "marketing.communications.sms";
    let mut old = customer(10, &["vip", "b2b"], "active");
    old.residency = "FR".into();
    let mut new = customer(50, &["vip"], "active");
    new.updated_at = 60;
    let closed = customer(50, &["vip"], "closed");
    insert(
        &store,
        [&old, &new, &closed]
            .into_iter()
            .map(|c| CustomerWrite {
                row: c.clone(),
                index: vec![],
            })
            .collect(),
    )
    .await
    .expect("customers");
    let interaction = |c: &CustomerRow, at: i64| InteractionRow {
        id: Uuid::now_v7(),
        customer_id: c.id,
        kind: "order".into(),
        occurred_at: at,
        sealed: vec![1],
        created_at: at,
        facets: None,
    };
    let consent = |c: &CustomerRow, state: &str, expires_at: Option<i64>| ConsentEvent {
        id: Uuid::now_v7(),
        customer_id: c.id,
        purpose: SMS.into(),
        state: state.into(),
        notice_version: None,
        method: "api".into(),
        evidence: None,
        at: 5,
        expires_at,
    };
    store
        .apply(ChangeSet {
            interactions: vec![
                interaction(&old, 20),
                interaction(&old, 90),
                interaction(&new, 30),
            ],
            consents: vec![
                consent(&old, "given", Some(80)),
                consent(&new, "given", None),
                consent(&closed, "withdrawn", None),
            ],
            ..Default::default()
        })
        .await
        .expect("interactions and consents");
    let members = |q: SegmentQuery| {
        let store = store.clone();
        async move {
            let mut ids: Vec<Uuid> = store
                .segment_page(&q, None, 100)
                .await
                .expect("page")
                .into_iter()
                .map(|c| c.id)
                .collect();
            ids.sort();
            assert_eq!(
                store.count_segment(&q).await.expect("count"),
                ids.len() as u64
            );
            ids
        }
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    let span = |from: Option<i64>, until: Option<i64>| Span { from, until };
    let consent_since = |state: &str, now: i64, given_since: Option<i64>| SegmentQuery {
        consent: Some(ConsentCondition {
            purpose: SMS.into(),
            state: state.into(),
            now,
            given_since,
        }),
        ..Default::default()
    };
    let consent_is = |state: &str, now: i64| consent_since(state, now, None);
    assert_eq!(members(SegmentQuery::default()).await.len(), 3);
    assert_eq!(
        members(SegmentQuery {
            tags: vec!["vip".into(), "b2b".into()],
            ..Default::default()
        })
        .await,
        vec![old.id],
        "every tag"
    );
    assert_eq!(
        members(SegmentQuery {
            residency: vec!["FR".into(), "IT".into()],
            ..Default::default()
        })
        .await,
        vec![old.id],
        "any country"
    );
    assert_eq!(
        members(SegmentQuery {
            status: Some("closed".into()),
            ..Default::default()
        })
        .await,
        vec![closed.id]
    );
    assert_eq!(
        members(SegmentQuery {
            created: span(Some(50), None),
            ..Default::default()
        })
        .await,
        sorted(vec![new.id, closed.id]),
        "from is inclusive"
    );
    assert_eq!(
        members(SegmentQuery {
            updated: span(None, Some(55)),
            ..Default::default()
        })
        .await,
        sorted(vec![old.id, closed.id]),
        "until is exclusive"
    );
    assert_eq!(
        members(SegmentQuery {
            last_interaction: span(Some(40), None),
            ..Default::default()
        })
        .await,
        vec![old.id],
        "the latest interaction counts; none never matches"
    );
    assert_eq!(
        members(SegmentQuery {
            last_interaction: span(None, Some(40)),
            ..Default::default()
        })
        .await,
        vec![new.id]
    );
    assert_eq!(
        members(consent_is("given", 70)).await,
        sorted(vec![old.id, new.id])
    );
    assert_eq!(
        members(consent_is("given", 85)).await,
        vec![new.id],
        "expired at 80"
    );
    assert_eq!(members(consent_is("expired", 85)).await, vec![old.id]);
    assert_eq!(
        members(consent_is("not_given", 85)).await,
        sorted(vec![old.id, closed.id])
    );
    assert_eq!(members(consent_is("withdrawn", 85)).await, vec![closed.id]);
    // Both gave at 5: a material notice change at 6 leaves neither given.
    assert!(
        members(consent_since("given", 70, Some(6)))
            .await
            .is_empty()
    );
    assert_eq!(
        members(consent_since("expired", 70, Some(6))).await,
        sorted(vec![old.id, new.id])
    );
    assert_eq!(
        members(consent_since("given", 70, Some(5))).await.len(),
        2,
        "since is inclusive"
    );
    // Both gave at 5: a material notice change at 6 leaves neither given.
    assert!(
        members(consent_since("given", 70, Some(6)))
            .await
            .is_empty()
    );
    assert_eq!(
        members(consent_since("expired", 70, Some(6))).await,
        sorted(vec![old.id, new.id])
    );
    assert_eq!(
        members(consent_since("given", 70, Some(5))).await.len(),
        2,
        "since is inclusive"
    );
}
