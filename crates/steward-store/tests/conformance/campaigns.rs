//! Campaigns.

use super::*;

engines!(
    campaigns_step_once_and_count_their_mail,
    a_scheduled_campaign_is_claimed_once_and_test_sends_are_counted,
);

pub async fn campaigns_step_once_and_count_their_mail(store: Arc<dyn Store>) {
    let segment = SegmentRow {
        id: Uuid::now_v7(),
        name: "VIPs".into(),
        filter: "{}".into(),
        created_by: "user:x".into(),
        created_at: 1,
    };
    store
        .create_segment(&segment, record("segment.create", vec![]))
        .await
        .expect("segment");
    assert!(matches!(
        store
            .create_segment(&SegmentRow { id: Uuid::now_v7(), ..segment.clone() }, record("segment.create", vec![]))
            .await,
        Err(StoreError::Duplicate { field }) if field == "name"
    ));
    assert_eq!(
        store.segments().await.expect("segments"),
        vec![segment.clone()]
    );
    assert_eq!(
        store.segment(segment.id).await.expect("one"),
        Some(segment.clone())
    );

    let campaign = CampaignRow {
        id: Uuid::now_v7(),
        name: "Spring".into(),
        purpose: "marketing.communications.email".into(),
        segment_id: Some(segment.id),
        filter: "{}".into(),
        subject: "Hello".into(),
        body: "Spring is here".into(),
        state: "draft".into(),
        created_by: "user:x".into(),
        created_at: 2,
        sent_at: None,
        recipients: 0,
        scheduled_at: None,
        scheduled_by: None,
    };
    store
        .create_campaign(&campaign, record("campaign.create", vec![]))
        .await
        .expect("campaign");
    let c = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("customer");
    let step =
        |from: &str, to: &str, recipients: i64, mail: Vec<OutboxRow>, links: Vec<MailLink>| {
            ChangeSet {
                campaign_step: Some(CampaignStep {
                    id: campaign.id,
                    from: from.into(),
                    to: to.into(),
                    at: 9,
                    recipients,
                    lease_until: (to == "sending").then_some(600),
                }),
                mail,
                links,
                audit: vec![record("campaign.send", vec![campaign.id.to_string()])],
                ..Default::default()
            }
        };
    let mut m = message(c.id, 3);
    m.campaign_id = Some(campaign.id);
    let mut l = link(c.id, 4, 100);
    l.kind = "unsubscribe".into();
    l.campaign_id = Some(campaign.id);
    store
        .apply(step("draft", "sending", 0, vec![], vec![]))
        .await
        .expect("start");
    assert!(
        matches!(
            store
                .apply(step("draft", "sending", 0, vec![m.clone()], vec![]))
                .await,
            Err(StoreError::Conflict)
        ),
        "a campaign starts once"
    );
    assert!(
        store.customer_mail(c.id).await.expect("mail").is_empty(),
        "nothing of the refused change"
    );
    store
        .apply(step("sending", "sending", 1, vec![m.clone()], vec![l]))
        .await
        .expect("page");
    store
        .apply(step("sending", "sent", 0, vec![], vec![]))
        .await
        .expect("finish");
    let done = store
        .campaign(campaign.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        (done.state.as_str(), done.recipients, done.sent_at),
        ("sent", 1, Some(9))
    );
    assert_eq!(store.campaigns().await.expect("all").len(), 1);
    let other = Uuid::now_v7();
    assert_eq!(
        store
            .campaign_mailed(campaign.id, &[c.id, other])
            .await
            .expect("mailed"),
        vec![c.id]
    );

    store.claim_mail(10, 20, 10).await.expect("claim");
    store
        .finish_mail(&Delivery {
            message_id: m.id,
            attempt: 1,
            at: 11,
            outcome: DeliveryOutcome::Sent,
            detail: None,
        })
        .await
        .expect("sent");
    store
        .apply(ChangeSet {
            spend_link: Some(SpentLink {
                token_hash: [4; 32],
                at: 12,
            }),
            audit: vec![record("consent.unsubscribe", vec![c.id.to_string()])],
            ..Default::default()
        })
        .await
        .expect("unsubscribe");
    assert_eq!(
        store.campaign_counts(campaign.id).await.expect("counts"),
        MailCounts {
            pending: 0,
            sent: 1,
            failed: 0,
            unsubscribed: 1
        }
    );
}

pub async fn a_scheduled_campaign_is_claimed_once_and_test_sends_are_counted(
    store: Arc<dyn Store>,
) {
    let campaign = CampaignRow {
        id: Uuid::now_v7(),
        name: "Later".into(),
        purpose: "marketing.communications.email".into(),
        segment_id: None,
        filter: "{}".into(),
        subject: "Hello".into(),
        body: "Soon".into(),
        state: "draft".into(),
        created_by: "user:x".into(),
        created_at: 1,
        sent_at: None,
        recipients: 0,
        scheduled_at: None,
        scheduled_by: None,
    };
    store
        .create_campaign(&campaign, record("campaign.create", vec![]))
        .await
        .expect("campaign");
    let id = campaign.id;
    assert!(matches!(
        store
            .unschedule_campaign(id, record("campaign.unschedule", vec![]))
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .schedule_campaign(id, 100, "user:x", record("campaign.schedule", vec![]))
        .await
        .expect("scheduled");
    assert!(matches!(
        store
            .schedule_campaign(id, 200, "user:x", record("campaign.schedule", vec![]))
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(store.due_campaigns(99, 10).await.expect("due").is_empty());
    assert_eq!(store.due_campaigns(100, 10).await.expect("due"), vec![id]);
    assert!(
        !store
            .claim_campaign(id, 99, 500, record("campaign.start", vec![]))
            .await
            .expect("early"),
        "not before its time"
    );
    assert!(
        store
            .claim_campaign(id, 100, 500, record("campaign.start", vec![]))
            .await
            .expect("claim")
    );
    assert!(
        !store
            .claim_campaign(id, 101, 500, record("campaign.start", vec![]))
            .await
            .expect("again"),
        "claimed once"
    );
    let row = store.campaign(id).await.expect("read").expect("there");
    assert_eq!(
        (
            row.state.as_str(),
            row.scheduled_at,
            row.scheduled_by.as_deref()
        ),
        ("sending", Some(100), Some("user:x"))
    );
    // Its sender holds it until the lease runs out; then it is due again, to be claimed once.
    assert!(store.due_campaigns(499, 10).await.expect("due").is_empty());
    assert_eq!(store.due_campaigns(500, 10).await.expect("due"), vec![id]);
    let resume = |at: i64| {
        let store = store.clone();
        async move {
            store
                .claim_campaign(id, at, at + 400, record("campaign.resume", vec![]))
                .await
                .expect("resume")
        }
    };
    assert!(!resume(499).await, "not while the lease holds");
    let (first, second) = tokio::join!(resume(500), resume(500));
    assert!(first ^ second, "taken over once");
    assert!(store.due_campaigns(899, 10).await.expect("due").is_empty());
    store
        .apply(ChangeSet {
            campaign_step: Some(CampaignStep {
                id,
                from: "sending".into(),
                to: "sent".into(),
                at: 600,
                recipients: 0,
                lease_until: None,
            }),
            ..Default::default()
        })
        .await
        .expect("sent");
    assert!(
        store
            .due_campaigns(i64::MAX, 10)
            .await
            .expect("due")
            .is_empty(),
        "a sent campaign is never due"
    );
    assert!(matches!(
        store
            .unschedule_campaign(id, record("campaign.unschedule", vec![]))
            .await,
        Err(StoreError::Conflict)
    ));

    let send = |at: i64| TestSend {
        actor: "user:x".into(),
        campaign: id,
        at,
        since: at - 50,
        limit: 2,
    };
    let audit = || ChangeSet {
        audit: vec![record("campaign.test_send", vec![])],
        ..Default::default()
    };
    assert_eq!(
        store
            .campaign_test_send(&send(10), audit())
            .await
            .expect("1"),
        None
    );
    assert_eq!(
        store
            .campaign_test_send(&send(20), audit())
            .await
            .expect("2"),
        None
    );
    assert_eq!(
        store
            .campaign_test_send(&send(30), audit())
            .await
            .expect("3"),
        Some(10),
        "refused, with when the oldest in the window was made"
    );
    let other = TestSend {
        actor: "user:y".into(),
        ..send(30)
    };
    assert_eq!(
        store.campaign_test_send(&other, audit()).await.expect("y"),
        None
    );
    assert_eq!(
        store
            .campaign_test_send(&send(61), audit())
            .await
            .expect("later"),
        None,
        "the first left the window"
    );
}
