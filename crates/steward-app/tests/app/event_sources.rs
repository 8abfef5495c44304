//! Every door that makes, changes or erases a customer tells the webhook subscriptions, not
//! only the staff's create and edit: a public sign-up confirmed, a correction in the portal or
//! on the request desk, a new sign-in address proved, a restriction from either side, values
//! that come with a consent and go when it ends or lapses, a merge, and the retention sweep.
//! Each event names the fields and nothing of their values.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use jiff::SignedDuration;
use serde_json::{Value, json};
use steward_app::core::Role;
use steward_app::{
    ConsentInput, Correction, CustomerQuery, Evidence, FormSubmission, NewCampaign, RequestInput,
    Steward,
};
use steward_testkit::webhooks::WebhookReceiver;
use uuid::Uuid;

use crate::subscriptions::{ALL, body, drain, subscription};
use crate::support::*;
use crate::vendor_fixtures::*;
use crate::webhooks::trusting;

const EMAIL: &str = "marketing.communications.email";
const PROFILED: &str = "personalize.content.profiled";

/// A field kept only while the customer wants the newsletter.
const TOPICS: &str = r#"
[[field]]
key = "newsletter_topics"
label = "Newsletter topics"
category = "user.behavior"
sensitivity = "standard"
kind = "text"
max_length = 200
purposes = ["marketing.communications.email"]
"#;

/// What the subscription was told since the last call, as `(type, data)`, in a stable order.
struct Listener<'a> {
    app: &'a Steward,
    clock: &'a steward_app::core::FixedClock,
    receiver: &'a WebhookReceiver,
    heard: usize,
}

impl Listener<'_> {
    async fn told(&mut self) -> Vec<(String, Value)> {
        drain(self.app, self.clock).await;
        let got = self.receiver.received();
        let mut new: Vec<(String, Value)> = got[self.heard..]
            .iter()
            .map(|m| {
                assert_eq!(m.answered, 200);
                let b = body(m);
                (
                    b["type"].as_str().expect("type").to_string(),
                    b["data"].clone(),
                )
            })
            .collect();
        self.heard = got.len();
        new.sort_by_key(|(kind, data)| (kind.clone(), data.to_string()));
        new
    }
}

fn told(kind: &str, data: Value) -> (String, Value) {
    (kind.to_string(), data)
}

/// The token of the newest link in the mail log that follows `marker`.
fn newest_link(dir: &std::path::Path, marker: &str) -> String {
    let log = std::fs::read_to_string(dir.join("mail.log")).expect("mail log");
    let link = log
        .split_whitespace()
        .rfind(|w| w.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in the mail log"));
    link.rsplit('/').next().expect("token").to_string()
}

async fn found(app: &Steward, email: &str) -> Uuid {
    let list = app
        .customers()
        .list(
            &agent(app),
            CustomerQuery {
                email: Some(email.into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(list.items.len(), 1, "one customer with {email}");
    list.items[0].id
}

/// A customer made by an agent, and the id they were given.
async fn made(app: &Steward, customer: steward_app::CustomerInput) -> Uuid {
    app.customers()
        .create(&agent(app), customer)
        .await
        .expect("create")
        .id
}

fn consent(purpose: &str, state: &str, fields: &[(&str, &str)]) -> ConsentInput {
    ConsentInput {
        purpose: purpose.into(),
        state: state.into(),
        notice_version: None,
        method: Some("import".into()),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[tokio::test]
async fn every_door_that_changes_a_customer_tells_the_subscription_sqlite() {
    doors(false).await;
}

#[tokio::test]
async fn every_door_that_changes_a_customer_tells_the_subscription_postgres() {
    doors(true).await;
}

async fn doors(pg: bool) {
    let receiver = WebhookReceiver::start(&[]).await;
    let (kept, app, clock) = opened(pg, |o| steward_app::OpenOptions {
        webhooks: trusting(&receiver),
        catalog: catalog_with(TOPICS),
        ..o
    })
    .await;
    let dir = kept.0.path();
    let agent_ = agent(&app);
    let dpo = dpo(&app);
    app.webhooks()
        .subscribe(
            &actor(&app, Role::Admin),
            subscription(receiver.url("/events"), &ALL),
        )
        .await
        .expect("subscribed");
    let mut heard = Listener {
        app: &app,
        clock: &clock,
        receiver: &receiver,
        heard: 0,
    };

    // A sign-up from a public form makes its customer only once the link is followed.
    app.forms()
        .submit(
            "newsletter",
            FormSubmission {
                values: [("email", "wil@example.com"), ("given_name", "Wilhelmina")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                purposes: vec![EMAIL.into()],
                residency: "NL".into(),
                sign_up_again: false,
            },
            &Evidence::default(),
        )
        .await
        .expect("taken");
    app.outbox().deliver_due().await.expect("deliver");
    assert_eq!(heard.told().await, []);
    app.links()
        .confirm(
            &newest_link(dir, "/consent/confirm/"),
            &Evidence::default(),
            false,
        )
        .await
        .expect("confirmed");
    let wil = found(&app, "wil@example.com").await;
    assert_eq!(
        heard.told().await,
        [
            told(
                "consent.changed",
                json!({"customer_id": wil, "purpose": EMAIL, "state": "given"})
            ),
            told(
                "customer.created",
                json!({"customer_id": wil, "fields": ["email", "given_name"]})
            ),
        ]
    );

    // A correction the customer makes in the portal (Art. 16).
    let wil_signed_in = signed_in(&app, Inbox::Log(dir), "wil@example.com").await;
    assert_eq!(
        app.own_rights()
            .correct(&wil_signed_in, "given_name", "Mina")
            .await
            .expect("corrected"),
        Correction::Applied
    );
    assert_eq!(
        heard.told().await,
        [told(
            "customer.updated",
            json!({"customer_id": wil, "fields": ["given_name"]})
        )]
    );

    // A new sign-in address, once the link sent to it is followed.
    app.own_rights()
        .change_address(&wil_signed_in, "mina@example.com")
        .await
        .expect("asked");
    app.outbox().deliver_due().await.expect("deliver");
    assert_eq!(heard.told().await, []);
    app.own_rights()
        .confirm_address(&newest_link(dir, "/portal/address/"))
        .await
        .expect("proved");
    let address_request = app
        .portal()
        .overview(&wil_signed_in)
        .await
        .expect("overview")
        .requests[0]
        .id;
    assert_eq!(
        heard.told().await,
        [
            told(
                "customer.updated",
                json!({"customer_id": wil, "fields": ["email"]})
            ),
            told(
                "request.completed",
                json!({"request_id": address_request, "customer_id": wil, "kind": "rectification"})
            ),
        ]
    );

    // A correction that needs proof applies when the desk completes it; the customer's own
    // restriction applies at once, its request written completed.
    let mut with_birth = input("bea@example.com", "Beatrix");
    with_birth.fields.remove("phone");
    let bea = made(&app, with_birth).await;
    let bea_signed_in = signed_in(&app, Inbox::Log(dir), "bea@example.com").await;
    assert!(matches!(
        app.own_rights()
            .correct(&bea_signed_in, "birth_date", "1981-04-01")
            .await
            .expect("proposed"),
        Correction::AwaitingReview { .. }
    ));
    assert_eq!(
        heard.told().await,
        [told(
            "customer.created",
            json!({"customer_id": bea, "fields": ["birth_date", "email", "family_name", "given_name"]})
        )]
    );
    let proposal = app
        .portal()
        .overview(&bea_signed_in)
        .await
        .expect("overview")
        .requests[0]
        .id;
    app.requests()
        .complete(&dpo, proposal)
        .await
        .expect("accepted");
    assert_eq!(
        heard.told().await,
        [
            told(
                "customer.updated",
                json!({"customer_id": bea, "fields": ["birth_date"]})
            ),
            told(
                "request.completed",
                json!({"request_id": proposal, "customer_id": bea, "kind": "rectification"})
            ),
        ]
    );
    app.own_rights()
        .restrict(&bea_signed_in)
        .await
        .expect("restricted");
    let restriction = app
        .portal()
        .overview(&bea_signed_in)
        .await
        .expect("overview")
        .requests
        .into_iter()
        .find(|r| r.kind == "restriction")
        .expect("the restriction's request")
        .id;
    assert_eq!(
        heard.told().await,
        [
            told(
                "customer.updated",
                json!({"customer_id": bea, "fields": ["status"]})
            ),
            told(
                "request.completed",
                json!({"request_id": restriction, "customer_id": bea, "kind": "restriction"})
            ),
        ]
    );

    // A restriction asked for by email, completed on the desk.
    let rita = made(&app, input("rita@example.com", "Rita")).await;
    let asked = app
        .requests()
        .create(
            &dpo,
            RequestInput {
                kind: "restriction".into(),
                channel: "email".into(),
                customer_id: Some(rita),
                ..Default::default()
            },
        )
        .await
        .expect("request");
    app.requests().verify(&dpo, asked.id).await.expect("verify");
    app.requests()
        .complete(&dpo, asked.id)
        .await
        .expect("complete");
    let all_fields = json!(["birth_date", "email", "family_name", "given_name", "phone"]);
    assert_eq!(
        heard.told().await,
        [
            told(
                "customer.created",
                json!({"customer_id": rita, "fields": all_fields})
            ),
            told(
                "customer.updated",
                json!({"customer_id": rita, "fields": ["status"]})
            ),
            told(
                "request.completed",
                json!({"request_id": asked.id, "customer_id": rita, "kind": "restriction"})
            ),
        ]
    );

    // A value that comes with a consent, and goes when the consent is withdrawn.
    let ines = made(&app, input("ines@example.com", "Ines")).await;
    app.consent()
        .record(
            &agent_,
            ines,
            consent(PROFILED, "given", &[("interests", "gardening")]),
            &Evidence::default(),
        )
        .await
        .expect("given with a value");
    let given = |state: &str| {
        told(
            "consent.changed",
            json!({"customer_id": ines, "purpose": PROFILED, "state": state}),
        )
    };
    let interests = told(
        "customer.updated",
        json!({"customer_id": ines, "fields": ["interests"]}),
    );
    assert_eq!(
        heard.told().await,
        [
            given("given"),
            told(
                "customer.created",
                json!({"customer_id": ines, "fields": all_fields})
            ),
            interests.clone(),
        ]
    );
    app.consent()
        .record(
            &agent_,
            ines,
            consent(PROFILED, "withdrawn", &[]),
            &Evidence::default(),
        )
        .await
        .expect("withdrawn");
    assert_eq!(heard.told().await, [given("withdrawn"), interests.clone()]);

    // Two records of one person merged: the survivor gains the field it lacked, the
    // duplicate is erased.
    let mut without_phone = input("pat@example.com", "Pat");
    without_phone.fields.remove("phone");
    let pat = made(&app, without_phone).await;
    let twin = made(&app, input("pat.twin@example.com", "Pat")).await;
    heard.told().await;
    app.customers()
        .merge(&agent_, pat, twin, false)
        .await
        .expect("merged");
    assert_eq!(
        heard.told().await,
        [
            told("customer.erased", json!({"customer_id": twin})),
            told(
                "customer.updated",
                json!({"customer_id": pat, "fields": ["phone"]})
            ),
        ]
    );

    // A value that comes with the newsletter goes when the customer unsubscribes from it.
    let una = made(&app, input("una@example.com", "Una")).await;
    app.consent()
        .record(
            &agent_,
            una,
            consent(EMAIL, "given", &[("newsletter_topics", "tulips")]),
            &Evidence::default(),
        )
        .await
        .expect("given with a value");
    heard.told().await;
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = app
        .campaigns()
        .create(
            &marketer,
            NewCampaign {
                name: "Spring".into(),
                purpose: EMAIL.into(),
                segment_id: None,
                filter: None,
                subject: "Spring is here".into(),
                body: "Twenty percent off everything green.".into(),
            },
        )
        .await
        .expect("draft");
    app.campaigns()
        .send(&marketer, draft.id)
        .await
        .expect("sent");
    app.outbox().deliver_due().await.expect("deliver");
    let log = std::fs::read_to_string(dir.join("mail.log")).expect("mail log");
    let to_una = &log[log.rfind("To: una@example.com").expect("mailed to Una")..];
    let link = (to_una.split_whitespace())
        .find(|w| w.contains("/unsubscribe/"))
        .expect("an unsubscribe link");
    app.links()
        .unsubscribe(
            link.trim_end_matches('>')
                .rsplit('/')
                .next()
                .expect("token"),
            &Evidence::default(),
        )
        .await
        .expect("unsubscribed");
    assert_eq!(
        heard.told().await,
        [
            told(
                "consent.changed",
                json!({"customer_id": una, "purpose": EMAIL, "state": "withdrawn"})
            ),
            told(
                "customer.updated",
                json!({"customer_id": una, "fields": ["newsletter_topics"]})
            ),
        ]
    );

    // A consent that lapses takes its value with it.
    app.consent()
        .record(
            &agent_,
            ines,
            consent(PROFILED, "given", &[("interests", "roses")]),
            &Evidence::default(),
        )
        .await
        .expect("given again");
    heard.told().await;
    clock.advance(SignedDuration::from_hours(24 * 400));
    app.consent().expire_lapsed(|_| {}).await.expect("expiry");
    let lapsed = heard.told().await;
    assert!(lapsed.contains(&given("expired")), "{lapsed:?}");
    assert!(
        lapsed.contains(&told(
            "consent.changed",
            json!({"customer_id": wil, "purpose": EMAIL, "state": "expired"})
        )),
        "{lapsed:?}"
    );
    let changed: Vec<_> = lapsed
        .iter()
        .filter(|(kind, _)| kind != "consent.changed")
        .collect();
    assert_eq!(changed, [&interests]);

    // The retention sweep erases the customers no one has heard of for years: each is told.
    clock.advance(SignedDuration::from_hours(24 * 800));
    let run = app.retention().start_run(&dpo, false).await.expect("start");
    let done = app
        .retention()
        .run(run.id, |_| ControlFlow::Continue(()), |_| {})
        .await
        .expect("sweep");
    assert_eq!(done.state, "finished");
    let swept: BTreeSet<Uuid> = (app.retention().run_items(&dpo, run.id).await)
        .expect("items")
        .into_iter()
        .filter(|i| i.rule == "dormant-customers")
        .map(|i| i.record_id)
        .collect();
    assert!(swept.contains(&rita) && swept.contains(&pat), "{swept:?}");
    let told_erased: BTreeSet<Uuid> = heard
        .told()
        .await
        .into_iter()
        .map(|(kind, data)| {
            assert_eq!(kind, "customer.erased");
            data["customer_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("an id")
        })
        .collect();
    assert_eq!(told_erased, swept);

    // Not one message carried a value.
    for m in receiver.received() {
        let text = String::from_utf8_lossy(&m.body);
        for value in [
            "wil@example.com",
            "mina@example.com",
            "Wilhelmina",
            "Mina",
            "1981-04-01",
            "gardening",
            "roses",
            "tulips",
            "+49 30 1234567",
        ] {
            assert!(!text.contains(value), "{value} in a message: {text}");
        }
    }
}
