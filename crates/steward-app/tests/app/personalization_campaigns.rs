//! Campaigns and segments respect the level (I8), on SQLite and PostgreSQL: a segment on an
//! inferred attribute reaches only customers at full, a merge field shows a recipient only
//! what their level allows (else its fallback), and an objection the desk upheld to limited
//! personalization turns it off and keeps the customer out of every audience chosen by
//! their profile.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use steward_app::core::personalization::{Facets, LIMITED, Level, PROFILED};
use steward_app::core::{Clock, FixedClock, Role};
use steward_app::{
    AppError, AttributeFilter, AudienceQuery, AuditFilter, InteractionInput, LevelInput,
    NewCampaign, OpenOptions, RequestInput, SegmentFilter, Steward,
};
use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_testkit::smtp::SmtpServer;
use uuid::Uuid;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

struct Env {
    dir: tempfile::TempDir,
    db: Option<TestDatabase>,
    app: Steward,
    clock: Arc<FixedClock>,
}

async fn open(pg: bool, smtp: &SmtpServer) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let clock = clock();
    let app = Steward::open(OpenOptions {
        database_url: db.as_ref().map(|d| d.url.clone()),
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        mail: steward_app::MailSettings {
            smtp_url: Some(smtp.url()),
            from: "Shop <privacy@shop.test>".into(),
            public_url: "http://steward.test/".into(),
        },
        ..options(dir.path(), clock.clone())
    })
    .await
    .expect("open steward");
    Env {
        dir,
        db,
        app,
        clock,
    }
}

impl Env {
    /// A customer who said yes to marketing email, with orders: `garden` most often.
    async fn shopper(&self, email: &str, given: &str) -> Uuid {
        let agent = agent(&self.app);
        let id = self
            .app
            .customers()
            .create(&agent, input(email, given))
            .await
            .expect("customer")
            .id;
        give_consent(&self.app, &agent, id, EMAIL).await;
        for (days, category) in [(10, "garden"), (40, "garden"), (70, "books")] {
            let at = self
                .clock
                .now()
                .checked_sub(SignedDuration::from_hours(24 * days))
                .expect("time");
            self.order(id, at, category).await;
        }
        id
    }

    async fn order(&self, customer: Uuid, at: Timestamp, category: &str) {
        self.app
            .interactions()
            .add(
                &agent(&self.app),
                customer,
                InteractionInput {
                    kind: "order".into(),
                    occurred_at: Some(at),
                    summary: "an order".into(),
                    body: None,
                    facets: Facets {
                        categories: vec![category.into()],
                        ..Facets::default()
                    },
                },
            )
            .await
            .expect("order");
    }

    async fn recompute(&self) {
        let operator = operator(&self.app, "personalization", &[PROFILED]);
        self.app
            .personalization()
            .recompute(&operator, |_| {})
            .await
            .expect("recompute");
    }

    async fn set_level(&self, customer: Uuid, level: Level) {
        self.app
            .personalization()
            .set_level(&agent(&self.app), customer, LevelInput { level })
            .await
            .expect("level");
    }

    /// The customer's stored attributes (key, source), whatever their level.
    async fn stored(&self, customer: Uuid) -> Vec<(String, String)> {
        let sql = "SELECT key, source FROM profile_attributes WHERE customer_id = ";
        match &self.db {
            None => {
                let conn = sqlite(self.dir.path());
                let mut stmt = conn
                    .prepare(&format!("{sql}?1 ORDER BY key"))
                    .expect("prepare");
                stmt.query_map([customer.as_bytes().as_slice()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
            }
            Some(db) => {
                let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client
                    .query(
                        &format!("{sql}$1::text::uuid ORDER BY key"),
                        &[&customer.to_string()],
                    )
                    .await
                    .expect("query")
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect()
            }
        }
    }

    /// Who an audience for marketing email with `attributes` holds: its count, and its
    /// members as an export pages them.
    async fn audience(&self, attributes: Vec<AttributeFilter>) -> (u64, Vec<Uuid>) {
        let marketer = access(&self.app, Role::Marketer, EMAIL);
        let query = AudienceQuery {
            purpose: EMAIL.into(),
            segment_id: None,
            filter: Some(SegmentFilter {
                attributes,
                ..Default::default()
            }),
        };
        let count = self
            .app
            .segments()
            .audience(&marketer, &query)
            .await
            .expect("count")
            .count;
        let segment = self
            .app
            .segments()
            .start_export(&marketer, &query)
            .await
            .expect("export");
        let mut members = Vec::new();
        let mut after = None;
        while let Some((page, last)) = self
            .app
            .segments()
            .audience_page(&marketer, &segment, after)
            .await
            .expect("page")
        {
            members.extend(page.iter().map(|m| m.id));
            after = Some(last);
        }
        (count, members)
    }
}

fn has(key: &str, equals: Option<&str>) -> AttributeFilter {
    AttributeFilter {
        key: key.into(),
        equals: equals.map(Into::into),
    }
}

async fn an_inferred_attribute_reaches_only_customers_at_full(pg: bool) {
    let smtp = SmtpServer::start();
    let env = open(pg, &smtp).await;
    let full = env.shopper("fay@example.com", "Fay").await;
    let basic = env.shopper("bas@example.com", "Bas").await;
    env.app
        .bench_levels(&[(full, Level::Full), (basic, Level::Full)])
        .await
        .expect("levels");
    env.recompute().await;
    // Lowering the level keeps what was derived: both hold the same inferred row, and
    // only the level tells them apart.
    env.set_level(basic, Level::Basic).await;
    for id in [full, basic] {
        assert!(
            env.stored(id)
                .await
                .contains(&("favourite_category".into(), "inferred".into())),
            "both customers hold the derived row"
        );
    }

    assert_eq!(
        env.audience(vec![has("favourite_category", None)]).await,
        (1, vec![full]),
        "an inferred attribute reaches only the customer at full"
    );
    assert_eq!(
        env.audience(vec![has("favourite_category", Some("garden"))])
            .await,
        (1, vec![full])
    );
    assert_eq!(
        env.audience(vec![has("favourite_category", Some("books"))])
            .await,
        (0, vec![])
    );
    assert_eq!(env.audience(vec![]).await.0, 2, "without it, both");
    // Comparing a sealed value opens it: that read is audited, naming the attribute.
    let reads = env
        .app
        .audit()
        .search(
            &actor(&env.app, Role::Auditor),
            AuditFilter {
                newest_first: true,
                action: Some("personalization.read".into()),
                target: Some(full.to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert!(
        reads
            .iter()
            .any(|e| e.record.fields == ["attr:favourite_category"]
                && e.record.purpose.as_deref() == Some(EMAIL)),
        "{reads:?}"
    );

    let marketer = access(&env.app, Role::Marketer, EMAIL);
    let bad = env
        .app
        .segments()
        .audience(
            &marketer,
            &AudienceQuery {
                purpose: EMAIL.into(),
                segment_id: None,
                filter: Some(SegmentFilter {
                    attributes: vec![has("favourite_category", None), has("shoe_size", None)],
                    ..Default::default()
                }),
            },
        )
        .await;
    match bad {
        Err(AppError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "filter.attributes[1].key");
        }
        other => panic!("an unknown attribute is named: {other:?}"),
    }

    // Merge fields: each recipient sees what their level allows, else the fallback.
    let unknown = env
        .app
        .campaigns()
        .create(
            &marketer,
            NewCampaign {
                body: "Hi {{attribute:shoe_size|there}}".into(),
                ..campaign()
            },
        )
        .await;
    assert!(
        matches!(&unknown, Err(AppError::Invalid(e)) if e[0].field == "body"),
        "{unknown:?}"
    );
    let draft = env
        .app
        .campaigns()
        .create(&marketer, campaign())
        .await
        .expect("draft");
    let sent = env
        .app
        .campaigns()
        .send(&marketer, draft.id)
        .await
        .expect("send");
    assert_eq!(sent.recipients, 2);
    env.app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(2);
    let body_to = |to: &str| {
        mail.iter()
            .find(|m| m.header("X-RcptTo").is_some_and(|r| r.contains(to)))
            .map(|m| m.body.clone())
            .expect("a message")
    };
    let fay = body_to("fay@example.com");
    assert!(fay.contains("Dear Fay, new in garden this week."), "{fay}");
    let bas = body_to("bas@example.com");
    assert!(
        bas.contains("Dear Bas, new in everything this week."),
        "basic gets the fallback: {bas}"
    );
}

fn campaign() -> NewCampaign {
    NewCampaign {
        name: "New in".into(),
        purpose: EMAIL.into(),
        segment_id: None,
        filter: None,
        subject: "New this week".into(),
        body: "Dear {{field:given_name|customer}}, new in {{attribute:favourite_category|everything}} this week.".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inferred_attribute_reaches_only_customers_at_full_sqlite() {
    an_inferred_attribute_reaches_only_customers_at_full(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inferred_attribute_reaches_only_customers_at_full_postgres() {
    an_inferred_attribute_reaches_only_customers_at_full(true).await;
}

async fn an_upheld_limited_objection_turns_personalization_off(pg: bool) {
    let smtp = SmtpServer::start();
    let env = open(pg, &smtp).await;
    let objecting = env.shopper("obi@example.com", "Obi").await;
    let kept = env.shopper("kit@example.com", "Kit").await;
    env.app
        .bench_levels(&[(objecting, Level::Full), (kept, Level::Basic)])
        .await
        .expect("levels");
    env.recompute().await;
    let dpo = dpo(&env.app);
    for id in [objecting, kept] {
        env.app
            .personalization()
            .put_attribute(&dpo, id, "liked_categories", vec!["garden".into()])
            .await
            .expect("declared");
    }
    let declared = vec![has("liked_categories", Some("garden"))];
    assert_eq!(env.audience(declared.clone()).await.0, 2);

    let request = env
        .app
        .requests()
        .create(
            &dpo,
            RequestInput {
                kind: "objection".into(),
                channel: "email".into(),
                customer_id: Some(objecting),
                email: None,
                phone: None,
                residency: None,
                purpose: Some(LIMITED.into()),
            },
        )
        .await
        .expect("an objection")
        .id;
    env.app
        .requests()
        .verify(&dpo, request)
        .await
        .expect("verified");
    env.app
        .requests()
        .complete(&dpo, request)
        .await
        .expect("upheld");

    // In the commit that upholds it: the level is off, what was derived is gone.
    let level = env
        .app
        .personalization()
        .level(&agent(&env.app), objecting)
        .await
        .expect("level");
    assert_eq!((level.chosen, level.effective), (Level::Off, Level::Off));
    let last = level.history.last().expect("a level event");
    assert_eq!(
        (last.previous, last.reason.as_str()),
        (Level::Full, "objection_upheld")
    );
    assert_eq!(
        env.stored(objecting).await,
        [("liked_categories".to_string(), "declared".to_string())]
    );
    assert_eq!(
        env.audience(declared.clone()).await,
        (1, vec![kept]),
        "no audience chosen by their profile holds them"
    );
    // Even with a level written behind the desk's back, the objection keeps them out, with
    // no value to compare (the gate would refuse to open one) as with one.
    env.app
        .bench_levels(&[(objecting, Level::Basic)])
        .await
        .expect("level");
    assert_eq!(env.audience(declared).await, (1, vec![kept]));
    assert_eq!(
        env.audience(vec![has("liked_categories", None)]).await,
        (1, vec![kept])
    );
    assert!(matches!(
        env.app
            .personalization()
            .set_level(
                &agent(&env.app),
                objecting,
                LevelInput {
                    level: Level::Basic
                }
            )
            .await,
        Err(AppError::Objected { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upheld_limited_objection_turns_personalization_off_sqlite() {
    an_upheld_limited_objection_turns_personalization_off(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upheld_limited_objection_turns_personalization_off_postgres() {
    an_upheld_limited_objection_turns_personalization_off(true).await;
}
