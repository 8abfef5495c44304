//! Personalization: levels resting on consent, attributes read only as asked, recompute
//! results kept only for customers still at full, upheld objections, erasure.

use steward_core::personalization::{Level, PROFILED, Source};

use super::*;

engines!(
    full_rests_on_a_given_profiling_consent,
    attributes_leave_the_database_only_as_asked,
    a_recompute_keeps_only_customers_still_at_full,
    upheld_objections_are_found,
    erasure_empties_personalization,
    facts_offers_and_runs,
    levels_are_counted_with_those_who_never_chose_at_off,
);

async fn one_customer(store: &Arc<dyn Store>) -> CustomerRow {
    let c = customer(1, &[], "active");
    insert(
        store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("customer");
    c
}

fn profiling(customer: Uuid, state: &str, at: i64, expires_at: Option<i64>) -> ConsentEvent {
    ConsentEvent {
        id: Uuid::now_v7(),
        customer_id: customer,
        purpose: PROFILED.into(),
        state: state.into(),
        notice_version: None,
        method: "portal".into(),
        evidence: None,
        at,
        expires_at,
    }
}

fn set(customer: Uuid, level: Level, at: i64) -> ProfileChange {
    ProfileChange::SetLevel {
        customer,
        level,
        reason: "chosen".into(),
        actor: "subject:test".into(),
        at,
        event: Uuid::now_v7(),
    }
}

fn drop_to(customer: Uuid, at_most: Level, at: i64) -> ProfileChange {
    ProfileChange::DropLevel {
        customer,
        at_most,
        delete_profiled: true,
        reason: "consent_withdrawn".into(),
        actor: "subject:test".into(),
        at,
        event: Uuid::now_v7(),
    }
}

fn attribute(customer: Uuid, key: &str, source: Source, rule: Option<(&str, u32)>) -> AttributeRow {
    AttributeRow {
        customer_id: customer,
        key: key.into(),
        source,
        min_level: source.floor(),
        value: vec![7; 24],
        derived_from: "{}".into(),
        rule_key: rule.map(|(k, _)| k.to_string()),
        rule_version: rule.map(|(_, v)| v),
        computed_at: 10,
        expires_at: None,
    }
}

fn changes(personalization: Vec<ProfileChange>) -> ChangeSet {
    ChangeSet {
        personalization,
        audit: vec![record("personalization.level", vec![])],
        ..Default::default()
    }
}

pub async fn full_rests_on_a_given_profiling_consent(store: Arc<dyn Store>) {
    let c = one_customer(&store).await;
    assert_eq!(store.level(c.id).await.expect("level"), None);
    // No consent: refused, and nothing of the change set is applied.
    let refused = store.apply(changes(vec![set(c.id, Level::Full, 20)])).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(store.level(c.id).await.expect("level"), None);
    // An expired consent does not count either.
    let stale = profiling(c.id, "given", 5, Some(15));
    store
        .apply(ChangeSet {
            consents: vec![stale],
            audit: vec![record("consent.record", vec![])],
            ..Default::default()
        })
        .await
        .expect("old consent");
    assert!(matches!(
        store.apply(changes(vec![set(c.id, Level::Full, 20)])).await,
        Err(StoreError::Conflict)
    ));
    // Given in the same commit: the level rests on it.
    let given = profiling(c.id, "given", 30, Some(1_000));
    store
        .apply(ChangeSet {
            consents: vec![given.clone()],
            ..changes(vec![set(c.id, Level::Full, 30)])
        })
        .await
        .expect("full with consent");
    let level = store.level(c.id).await.expect("level").expect("a row");
    assert_eq!(level.level, Level::Full);
    assert_eq!(level.consent_event_id, Some(given.id));
    // Choosing the same level again writes no event.
    store
        .apply(changes(vec![set(c.id, Level::Full, 31)]))
        .await
        .expect("again");
    store
        .apply(changes(vec![ProfileChange::PutAttribute(attribute(
            c.id,
            "favourite_category",
            Source::Inferred,
            Some(("favourite_category", 1)),
        ))]))
        .await
        .expect("attribute");
    store
        .apply(changes(vec![ProfileChange::PutAttribute(attribute(
            c.id,
            "liked_categories",
            Source::Declared,
            None,
        ))]))
        .await
        .expect("declared");
    // A withdrawal drops the level and deletes what was derived, keeping what was declared.
    store
        .apply(ChangeSet {
            consents: vec![profiling(c.id, "withdrawn", 40, None)],
            ..changes(vec![drop_to(c.id, Level::Basic, 40)])
        })
        .await
        .expect("withdrawn");
    let level = store.level(c.id).await.expect("level").expect("a row");
    assert_eq!((level.level, level.consent_event_id), (Level::Basic, None));
    let left = store
        .attributes(&AttributeQuery {
            customers: vec![c.id],
            min_levels: vec![Level::Basic, Level::Full],
            rule_versions: vec![("favourite_category".into(), 1)],
            ..Default::default()
        })
        .await
        .expect("attributes");
    let keys: Vec<&str> = left.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["liked_categories"]);
    // Dropping to a level it is already at or below writes no event.
    store
        .apply(changes(vec![drop_to(c.id, Level::Basic, 50)]))
        .await
        .expect("no-op drop");
    let history = store.level_history(c.id).await.expect("history");
    let steps: Vec<(Level, Level, &str)> = history
        .iter()
        .map(|e| (e.previous, e.level, e.reason.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (Level::Off, Level::Full, "chosen"),
            (Level::Full, Level::Basic, "consent_withdrawn")
        ]
    );
    assert_eq!(history[0].consent_event_id, Some(given.id));
    let many = store.levels(&[c.id, Uuid::now_v7()]).await.expect("levels");
    assert_eq!(many.len(), 1);
}

pub async fn attributes_leave_the_database_only_as_asked(store: Arc<dyn Store>) {
    let c = one_customer(&store).await;
    let other = one_customer(&store).await;
    let mut expired = attribute(c.id, "lapsing", Source::Inferred, Some(("lapsing", 1)));
    expired.expires_at = Some(100);
    let rows = vec![
        attribute(c.id, "liked_categories", Source::Declared, None),
        attribute(
            c.id,
            "favourite_category",
            Source::Inferred,
            Some(("favourite_category", 2)),
        ),
        attribute(
            c.id,
            "orders_last_year",
            Source::Observed,
            Some(("orders_last_year", 1)),
        ),
        expired,
        attribute(other.id, "liked_categories", Source::Declared, None),
    ];
    store
        .apply(changes(
            rows.into_iter().map(ProfileChange::PutAttribute).collect(),
        ))
        .await
        .expect("attributes");
    let read = |min_levels: Vec<Level>, keys: Vec<&str>, now: i64| {
        let store = store.clone();
        let query = AttributeQuery {
            customers: vec![c.id],
            keys: keys.into_iter().map(str::to_string).collect(),
            min_levels,
            now,
            rule_versions: vec![
                ("favourite_category".into(), 2),
                ("orders_last_year".into(), 2),
                ("lapsing".into(), 1),
            ],
        };
        async move {
            store
                .attributes(&query)
                .await
                .expect("attributes")
                .into_iter()
                .map(|a| a.key)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(vec![Level::Basic], vec![], 50).await,
        ["liked_categories"]
    );
    // At full: the rule at the wrong version stays out, the unexpired lapsing row is in.
    assert_eq!(
        read(vec![Level::Basic, Level::Full], vec![], 50).await,
        ["favourite_category", "lapsing", "liked_categories"]
    );
    assert_eq!(
        read(vec![Level::Basic, Level::Full], vec![], 100).await,
        ["favourite_category", "liked_categories"]
    );
    assert_eq!(
        read(
            vec![Level::Full],
            vec!["favourite_category", "liked_categories"],
            50
        )
        .await,
        ["favourite_category"]
    );
    assert!(read(vec![], vec![], 50).await.is_empty());
}

pub async fn a_recompute_keeps_only_customers_still_at_full(store: Arc<dyn Store>) {
    let full = one_customer(&store).await;
    let basic = one_customer(&store).await;
    store
        .apply(ChangeSet {
            consents: vec![profiling(full.id, "given", 10, None)],
            ..changes(vec![
                set(full.id, Level::Full, 10),
                set(basic.id, Level::Basic, 10),
            ])
        })
        .await
        .expect("levels");
    assert_eq!(
        store.profiled_after(None, 10).await.expect("profiled"),
        [full.id]
    );
    assert!(
        store
            .profiled_after(Some(full.id), 10)
            .await
            .expect("after")
            .is_empty()
    );
    store
        .apply(changes(vec![
            ProfileChange::PutAttribute(attribute(
                full.id,
                "orders_last_year",
                Source::Observed,
                Some(("orders_last_year", 1)),
            )),
            ProfileChange::PutAttribute(attribute(
                full.id,
                "liked_categories",
                Source::Declared,
                None,
            )),
            ProfileChange::DeleteAttribute {
                customer: full.id,
                key: "lapsing".into(),
                suppress: true,
                at: 11,
            },
        ]))
        .await
        .expect("before");
    let rows = |c: Uuid| {
        vec![
            attribute(
                c,
                "favourite_category",
                Source::Inferred,
                Some(("favourite_category", 1)),
            ),
            attribute(c, "lapsing", Source::Inferred, Some(("lapsing", 1))),
        ]
    };
    let mut all = rows(full.id);
    all.extend(rows(basic.id));
    store
        .apply(changes(vec![ProfileChange::Recomputed {
            customers: vec![full.id, basic.id],
            rows: all,
            at: 20,
        }]))
        .await
        .expect("recomputed");
    let keys = |c: Uuid| {
        let store = store.clone();
        async move {
            store
                .attributes(&AttributeQuery {
                    customers: vec![c],
                    min_levels: vec![Level::Basic, Level::Full],
                    rule_versions: vec![
                        ("favourite_category".into(), 1),
                        ("lapsing".into(), 1),
                        ("orders_last_year".into(), 1),
                    ],
                    ..Default::default()
                })
                .await
                .expect("attributes")
                .into_iter()
                .map(|a| a.key)
                .collect::<Vec<_>>()
        }
    };
    // Replaced: the stale observed row went, the suppressed key stayed out, the declared one
    // stayed; the customer at basic got nothing.
    assert_eq!(
        keys(full.id).await,
        ["favourite_category", "liked_categories"]
    );
    assert!(keys(basic.id).await.is_empty());
    let suppressed = store
        .suppressed_keys(&[full.id, basic.id])
        .await
        .expect("suppressed");
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        (suppressed[0].customer_id, suppressed[0].key.as_str()),
        (full.id, "lapsing")
    );
    store
        .apply(changes(vec![ProfileChange::Allow {
            customer: full.id,
            key: "lapsing".into(),
        }]))
        .await
        .expect("allowed");
    assert!(
        store
            .suppressed_keys(&[full.id])
            .await
            .expect("suppressed")
            .is_empty()
    );
    // Expired rows are purged.
    let mut expiring = attribute(full.id, "lapsing", Source::Inferred, Some(("lapsing", 1)));
    expiring.expires_at = Some(30);
    store
        .apply(changes(vec![
            ProfileChange::PutAttribute(expiring),
            ProfileChange::PurgeExpired { now: 30 },
        ]))
        .await
        .expect("purged");
    assert_eq!(
        keys(full.id).await,
        ["favourite_category", "liked_categories"]
    );
}

pub async fn upheld_objections_are_found(store: Arc<dyn Store>) {
    let upheld = one_customer(&store).await;
    let open = one_customer(&store).await;
    let request = |c: Uuid, state: &str, purpose: &str| RequestRow {
        id: Uuid::now_v7(),
        kind: "objection".into(),
        channel: "portal".into(),
        state: state.into(),
        jurisdiction: "gdpr".into(),
        customer_id: Some(c),
        subject: vec![1; 16],
        purpose: Some(purpose.into()),
        received_at: 10,
        acknowledge_by: None,
        acknowledged_at: None,
        due_at: 100,
        verified_at: None,
        closed_at: None,
        extension_reason: None,
        denial_reason: None,
        updated_at: 10,
        proposal: None,
    };
    let limited = steward_core::personalization::LIMITED;
    store
        .apply(ChangeSet {
            requests: vec![
                request(upheld.id, "completed", limited),
                request(open.id, "received", limited),
                request(open.id, "completed", "essential.service"),
            ],
            audit: vec![record("request.create", vec![])],
            ..Default::default()
        })
        .await
        .expect("requests");
    assert!(store.objected(upheld.id, limited).await.expect("objected"));
    assert!(!store.objected(open.id, limited).await.expect("objected"));
    assert!(
        !store
            .objected(upheld.id, "essential.service")
            .await
            .expect("objected")
    );
    assert_eq!(
        store
            .objected_among(limited, &[upheld.id, open.id])
            .await
            .expect("among"),
        [upheld.id]
    );
    assert!(
        store
            .objected_among(limited, &[])
            .await
            .expect("none")
            .is_empty()
    );
}

pub async fn erasure_empties_personalization(store: Arc<dyn Store>) {
    let c = one_customer(&store).await;
    let kept = one_customer(&store).await;
    let mut given = Vec::new();
    for who in [c.id, kept.id] {
        given.push(profiling(who, "given", 10, None));
        store
            .apply(ChangeSet {
                consents: vec![given[given.len() - 1].clone()],
                ..changes(vec![
                    set(who, Level::Full, 10),
                    ProfileChange::PutAttribute(attribute(
                        who,
                        "liked_categories",
                        Source::Declared,
                        None,
                    )),
                    ProfileChange::DeleteAttribute {
                        customer: who,
                        key: "lapsing".into(),
                        suppress: true,
                        at: 10,
                    },
                ])
            })
            .await
            .expect("profile");
    }
    let mut erase = erasure(c.id, 20, record("customer.erase", vec![c.id.to_string()]));
    erase.proofs.insert(given[0].id, proof(&given[0], 20));
    assert!(store.erase_customer(erase).await.expect("erased"));
    let all = AttributeQuery {
        customers: vec![c.id, kept.id],
        min_levels: vec![Level::Basic, Level::Full],
        ..Default::default()
    };
    let left: Vec<Uuid> = store
        .attributes(&all)
        .await
        .expect("attributes")
        .into_iter()
        .map(|a| a.customer_id)
        .collect();
    assert_eq!(left, [kept.id]);
    assert_eq!(store.level(c.id).await.expect("level"), None);
    assert!(store.level_history(c.id).await.expect("history").is_empty());
    assert!(
        store
            .suppressed_keys(&[c.id])
            .await
            .expect("suppressed")
            .is_empty()
    );
    assert!(store.level(kept.id).await.expect("level").is_some());
    assert_eq!(
        store.level_history(kept.id).await.expect("history").len(),
        1
    );
}

pub async fn facts_offers_and_runs(store: Arc<dyn Store>) {
    let c = one_customer(&store).await;
    let interaction = |kind: &str, at: i64, facets: Option<Vec<u8>>| InteractionRow {
        id: Uuid::now_v7(),
        customer_id: c.id,
        kind: kind.into(),
        occurred_at: at,
        sealed: vec![1],
        created_at: at,
        facets,
    };
    let order = interaction("order", 50, Some(vec![5, 5]));
    store
        .apply(ChangeSet {
            interactions: vec![
                order.clone(),
                interaction("order", 5, Some(vec![6])),
                interaction("note", 60, None),
            ],
            audit: vec![record("interaction.create", vec![])],
            ..Default::default()
        })
        .await
        .expect("interactions");
    let facts = store
        .profile_facts(&[c.id], 10, &["order".into(), "message".into()])
        .await
        .expect("facts");
    assert_eq!(
        facts,
        [FactRow {
            id: order.id,
            customer_id: c.id,
            kind: "order".into(),
            occurred_at: 50,
            facets: Some(vec![5, 5]),
        }]
    );
    let offer = OfferRow {
        key: "garden-tools".into(),
        title: "Spring garden tools".into(),
        category: Some("garden".into()),
        tags: vec!["outdoor".into()],
        eligibility: "{}".into(),
        priority: 10,
        origin: "catalog".into(),
        created_by: "system:catalog".into(),
        created_at: 1,
        retired_at: None,
    };
    store
        .seed_offers(std::slice::from_ref(&offer))
        .await
        .expect("seeded");
    // Seeding again changes nothing stored, even when the catalog's offer changed.
    store
        .seed_offers(&[OfferRow {
            title: "Changed".into(),
            ..offer.clone()
        }])
        .await
        .expect("seeded again");
    assert_eq!(
        store.offers().await.expect("offers"),
        std::slice::from_ref(&offer)
    );
    let retired = OfferRow {
        retired_at: Some(9),
        ..offer.clone()
    };
    store
        .apply(changes(vec![ProfileChange::SaveOffer(retired.clone())]))
        .await
        .expect("retired");
    assert_eq!(store.offers().await.expect("offers"), [retired]);
    let mut run = PersonalizationRun {
        id: Uuid::now_v7(),
        started_at: 1,
        heartbeat_at: 1,
        finished_at: None,
        cursor: None,
        customers: 0,
        attributes: 0,
        state: "running".into(),
    };
    store
        .apply(changes(vec![ProfileChange::SaveRun(run.clone())]))
        .await
        .expect("run");
    run.cursor = Some(c.id);
    run.customers = 1;
    run.attributes = 3;
    run.finished_at = Some(2);
    run.state = "finished".into();
    store
        .apply(changes(vec![ProfileChange::SaveRun(run.clone())]))
        .await
        .expect("run done");
    assert_eq!(store.personalization_runs(5).await.expect("runs"), [run]);
}

pub async fn levels_are_counted_with_those_who_never_chose_at_off(store: Arc<dyn Store>) {
    let people: Vec<CustomerRow> = (1..=4).map(|i| customer(i, &[], "active")).collect();
    insert(
        &store,
        people
            .iter()
            .map(|c| CustomerWrite {
                row: c.clone(),
                index: vec![],
            })
            .collect(),
    )
    .await
    .expect("customers");
    let counted = |store: Arc<dyn Store>| async move {
        let mut counts = store.level_counts().await.expect("counts");
        counts.sort();
        counts
    };
    assert_eq!(counted(store.clone()).await, vec![(Level::Off, 4)]);
    let full = &people[0];
    store
        .apply(ChangeSet {
            consents: vec![profiling(full.id, "given", 10, None)],
            ..changes(vec![
                set(full.id, Level::Full, 10),
                set(people[1].id, Level::Basic, 10),
                set(people[2].id, Level::Off, 10),
            ])
        })
        .await
        .expect("levels");
    assert_eq!(
        counted(store.clone()).await,
        vec![(Level::Off, 2), (Level::Basic, 1), (Level::Full, 1)],
        "one chose off, one never chose"
    );
    store
        .apply(changes(vec![drop_to(full.id, Level::Basic, 20)]))
        .await
        .expect("dropped");
    assert_eq!(
        counted(store).await,
        vec![(Level::Off, 2), (Level::Basic, 2)],
        "a level nobody is at is left out"
    );
}
