//! Objections are obeyed (Art. 21). One the desk upheld, to a purpose resting on legitimate
//! interests, stops that purpose reaching the customer: reads and changes are refused with
//! `Objected`, lists, exports and shares leave them out, while other purposes go on. One still
//! open does not block reads. An objection to direct marketing withdraws the marketing
//! consents and the consent to profiling for it, and no campaign reaches the customer.

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::core::sharing::AgreementInput;
use steward_app::{
    Access, AppError, CustomerQuery, Evidence, ExportFormat, NewCampaign, RequestInput, ShareInput,
    Steward,
};
use uuid::Uuid;

use crate::shares::{agreement, asked, vendor_with};
use crate::support::*;
use crate::vendor_fixtures::*;

const FRAUD: &str = "security.fraud_prevention";
const EMAIL: &str = "marketing.communications.email";
const PROFILED: &str = "personalize.content.profiled";

/// A purpose resting on legitimate interests with a field of its own, which the default
/// catalog's only such purpose (personalization) lacks.
const FRAUD_CATALOG: &str = r#"
[[purpose]]
key = "security.fraud_prevention"
name = "Preventing fraud"
description = "We check orders for signs of fraud, to protect you and us."
lawful_basis = "legitimate_interests"
requires_consent = false

[[field]]
key = "device_risk"
label = "Device risk score"
category = "user.device"
sensitivity = "standard"
kind = "text"
max_length = 20
purposes = ["security.fraud_prevention", "essential.service"]
"#;

/// Staff who check orders for fraud and serve customers.
fn fraud_desk(app: &Steward) -> Access {
    let actor = app.local_staff("user:analyst", Role::Admin, &[FRAUD, "essential.service"]);
    app.access(&actor, Some(FRAUD)).expect("access")
}

async fn objection(app: &Steward, customer: Uuid) -> Uuid {
    app.requests()
        .create(
            &dpo(app),
            RequestInput {
                kind: "objection".into(),
                channel: "email".into(),
                customer_id: Some(customer),
                email: None,
                phone: None,
                residency: None,
                purpose: Some(FRAUD.into()),
            },
        )
        .await
        .expect("an objection to the fraud checks")
        .id
}

async fn uphold(app: &Steward, request: Uuid) {
    let dpo = dpo(app);
    app.requests()
        .verify(&dpo, request)
        .await
        .expect("verified");
    app.requests()
        .complete(&dpo, request)
        .await
        .expect("upheld");
}

async fn exported(app: &Steward, purpose: &str) -> String {
    let admin = app.local_staff("user:exporter", Role::Admin, &[purpose]);
    let mut out = Vec::new();
    app.customers()
        .export(&admin, purpose, ExportFormat::Jsonl, &mut out, |_| {})
        .await
        .expect("export");
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test]
async fn an_upheld_objection_stops_its_purpose_and_only_that_purpose_sqlite() {
    upheld_objection(false).await;
}

#[tokio::test]
async fn an_upheld_objection_stops_its_purpose_and_only_that_purpose_postgres() {
    upheld_objection(true).await;
}

async fn upheld_objection(pg: bool) {
    let (_kept, app) = steward_with_catalog(pg, FRAUD_CATALOG).await;
    let agent = agent(&app);
    let kept = app
        .customers()
        .create(&agent, input("h4.kept@example.com", "Hana"))
        .await
        .expect("customer")
        .id;
    let objecting = app
        .customers()
        .create(&agent, input("w1.objects@example.com", "Wim"))
        .await
        .expect("customer")
        .id;
    for id in [kept, objecting] {
        give_consent(&app, &agent, id, EMAIL).await;
    }
    let fraud = fraud_desk(&app);
    let request = objection(&app, objecting).await;

    // Still open: the desk has not decided, and reads go on.
    app.customers()
        .get(&fraud, objecting)
        .await
        .expect("an open objection does not block a read");

    uphold(&app, request).await;

    match app.customers().get(&fraud, objecting).await {
        Err(AppError::Objected { purpose }) => assert_eq!(purpose, FRAUD),
        other => panic!("read after an upheld objection: {other:?}"),
    }
    let version = app
        .customers()
        .get(&agent, objecting)
        .await
        .expect("another purpose still reads the record")
        .version;
    assert!(matches!(
        app.customers()
            .update(
                &fraud,
                objecting,
                steward_app::CustomerPatch {
                    fields: [("device_risk".to_string(), Some("high".to_string()))]
                        .into_iter()
                        .collect(),
                    ..Default::default()
                },
                version,
            )
            .await,
        Err(AppError::Objected { .. })
    ));
    assert!(matches!(
        app.audit().access_history(&fraud, objecting).await,
        Err(AppError::Objected { .. })
    ));
    app.customers()
        .get(&fraud, kept)
        .await
        .expect("a customer who did not object is read");

    // Lists and exports for the purpose leave the customer out; for another purpose they
    // stay.
    let listed = |access: Access| {
        let app = &app;
        async move {
            app.customers()
                .list(&access, CustomerQuery::default())
                .await
                .expect("list")
                .items
                .into_iter()
                .map(|v| v.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(fraud.clone()).await, vec![kept]);
    let mut everyone = vec![kept, objecting];
    everyone.sort();
    let mut served = listed(agent.clone()).await;
    served.sort();
    assert_eq!(served, everyone);
    let fraud_export = exported(&app, FRAUD).await;
    assert!(fraud_export.contains(&kept.to_string()));
    assert!(!fraud_export.contains(&objecting.to_string()));
    assert!(
        exported(&app, "essential.service")
            .await
            .contains(&objecting.to_string())
    );

    // No share of the purpose reaches them.
    let vendor = vendor_with(&app, processor("DE"), |id| {
        Some(AgreementInput {
            purposes: strings(&[FRAUD]),
            categories: strings(&["user.device"]),
            ..agreement(id, vec![])
        })
    })
    .await;
    let share = app
        .shares()
        .share(
            &dpo(&app),
            ShareInput {
                purpose: FRAUD.into(),
                fields: strings(&["device_risk"]),
                ..asked(vendor, vec![kept, objecting])
            },
        )
        .await
        .expect("shared");
    assert_eq!(share.shared, 1);
    assert_eq!(
        share.excluded,
        [("objected".to_string(), 1)].into_iter().collect()
    );

    // The objection is to that purpose only: the marketing audience still holds them.
    let marketer = access(&app, Role::Marketer, EMAIL);
    let audience = app
        .segments()
        .audience(
            &marketer,
            &steward_app::AudienceQuery {
                purpose: EMAIL.into(),
                segment_id: None,
                filter: None,
            },
        )
        .await
        .expect("audience");
    assert_eq!(audience.count, 2);

    // The desk's decision is in the audit log, naming the purpose.
    let upheld: Vec<_> = app
        .audit()
        .entries(&actor(&app, Role::Auditor), 0, 1_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.record.action == "objection.upheld")
        .collect();
    assert_eq!(upheld.len(), 1);
    assert_eq!(
        upheld[0].record.targets,
        vec![objecting.to_string(), request.to_string()]
    );
    assert_eq!(
        upheld[0].record.detail.as_deref(),
        Some(format!("purpose={FRAUD}").as_str())
    );
}

#[tokio::test]
async fn a_denied_objection_blocks_nothing() {
    let (_kept, app) = steward_with_catalog(false, FRAUD_CATALOG).await;
    let customer = app
        .customers()
        .create(&agent(&app), input("d2.denied@example.com", "Dora"))
        .await
        .expect("customer")
        .id;
    let request = objection(&app, customer).await;
    let dpo = dpo(&app);
    app.requests()
        .verify(&dpo, request)
        .await
        .expect("verified");
    app.requests()
        .deny(
            &dpo,
            request,
            &steward_app::ReasonInput {
                reason: "Checking orders for fraud protects every customer; the grounds override the objection.".into(),
            },
        )
        .await
        .expect("denied");
    app.customers()
        .get(&fraud_desk(&app), customer)
        .await
        .expect("read after a denied objection");
}

#[tokio::test]
async fn personalization_purposes_open_no_records() {
    let (_kept, app, _) = steward(false).await;
    let customer = app
        .customers()
        .create(&agent(&app), input("p7.limited@example.com", "Pia"))
        .await
        .expect("customer")
        .id;
    let actor = app.local_staff(
        "user:marketer",
        Role::Marketer,
        &["personalize.content.limited"],
    );
    let access = app
        .access(&actor, Some("personalize.content.limited"))
        .expect("access");
    assert!(matches!(
        app.customers().get(&access, customer).await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_direct_marketing_objection_ends_profiling_and_every_campaign_sqlite() {
    marketing_objection(false).await;
}

#[tokio::test]
async fn a_direct_marketing_objection_ends_profiling_and_every_campaign_postgres() {
    marketing_objection(true).await;
}

async fn marketing_objection(pg: bool) {
    let (kept, app, _clock) = steward(pg).await;
    let agent = agent(&app);
    let mut ids = Vec::new();
    for (email, name) in [
        ("m3.stays@example.com", "Mira"),
        ("o5.objects@example.com", "Otto"),
    ] {
        let id = app
            .customers()
            .create(&agent, input(email, name))
            .await
            .expect("customer")
            .id;
        give_consent(&app, &agent, id, EMAIL).await;
        give_consent(&app, &agent, id, PROFILED).await;
        ids.push(id);
    }
    let objecting = ids[1];
    let events = app
        .consent()
        .object_to_direct_marketing(&dpo(&app), objecting, &Evidence::default())
        .await
        .expect("objected");
    let profiling = events
        .iter()
        .find(|e| e.purpose == PROFILED)
        .expect("the profiling consent ends too");
    assert_eq!(
        (profiling.state, profiling.method.as_str()),
        (ConsentState::Withdrawn, "objection")
    );
    let now = app
        .consent()
        .current(&dpo(&app), objecting)
        .await
        .expect("current");
    for purpose in [EMAIL, PROFILED] {
        let status = now
            .iter()
            .find(|s| s.purpose == purpose)
            .expect("purpose listed");
        assert!(!status.given, "{purpose} still given");
    }
    let stays = app
        .consent()
        .current(&dpo(&app), ids[0])
        .await
        .expect("current");
    assert!(
        stays.iter().any(|s| s.purpose == PROFILED && s.given),
        "the other customer keeps their consent"
    );

    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = app
        .campaigns()
        .create(
            &marketer,
            NewCampaign {
                name: "Spring sale".into(),
                purpose: EMAIL.into(),
                segment_id: None,
                filter: None,
                subject: "Spring is here".into(),
                body: "Twenty percent off everything green.".into(),
            },
        )
        .await
        .expect("draft");
    let sent = app
        .campaigns()
        .send(&marketer, draft.id)
        .await
        .expect("sent");
    assert_eq!(sent.recipients, 1);
    app.outbox().deliver_due().await.expect("delivered");
    let log = std::fs::read_to_string(kept.0.path().join("mail.log")).unwrap_or_default();
    assert!(log.contains("To: m3.stays@example.com"));
    assert!(!log.contains("o5.objects@example.com"));
}
