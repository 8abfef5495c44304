//! Recomputing profiles, on both engines: only customers at full have anything derived, a key
//! the customer deleted is not derived again, and a withdrawal committed while a recompute
//! runs is not undone by it. Interactions keep their facets sealed.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use steward_app::core::personalization::{Facets, Level, PROFILED};
use steward_app::core::{Clock, FixedClock, Role};
use steward_app::{InteractionInput, OpenOptions, Steward};
use steward_store::testing::{TestDatabase, fresh_postgres};
use uuid::Uuid;

use crate::support::{agent, assert_nothing_in_clear, clock, input, operator, options, sqlite};

struct Env {
    dir: tempfile::TempDir,
    db: Option<TestDatabase>,
    app: Arc<Steward>,
    clock: Arc<FixedClock>,
}

async fn open(pg: bool) -> Env {
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
        ..options(dir.path(), clock.clone())
    })
    .await
    .expect("open steward");
    Env {
        dir,
        db,
        app: Arc::new(app),
        clock,
    }
}

/// The attributes stored for a customer (key, source), read from the database itself.
async fn stored(env: &Env, customer: Uuid) -> Vec<(String, String)> {
    let sql = "SELECT key, source FROM profile_attributes WHERE customer_id = ";
    match &env.db {
        None => {
            let conn = sqlite(env.dir.path());
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

fn keys(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(k, _)| k.as_str()).collect()
}

fn days_ago(env: &Env, days: i64) -> Timestamp {
    env.clock
        .now()
        .checked_sub(SignedDuration::from_hours(24 * days))
        .expect("time")
}

/// A customer with orders: `garden` most often, and one of `books`.
async fn shopper(env: &Env, email: &str) -> Uuid {
    let agent = agent(&env.app);
    let c = env
        .app
        .customers()
        .create(&agent, input(email, "Pat"))
        .await
        .expect("customer");
    for (days, category) in [
        (10, "garden"),
        (40, "garden"),
        (70, "books"),
        (100, "garden"),
    ] {
        env.app
            .interactions()
            .add(
                &agent,
                c.id,
                InteractionInput {
                    kind: "order".into(),
                    occurred_at: Some(days_ago(env, days)),
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
    c.id
}

fn recomputer(app: &Steward) -> steward_app::Actor {
    operator(app, "personalization", &[PROFILED])
}

async fn only_full_customers_get_derived_attributes_and_deleted_keys_stay_out(pg: bool) {
    let env = open(pg).await;
    let full = shopper(&env, "full@example.com").await;
    let basic = shopper(&env, "basic@example.com").await;
    let off = shopper(&env, "off@example.com").await;
    env.app
        .bench_levels(&[(full, Level::Full), (basic, Level::Basic)])
        .await
        .expect("levels");
    let report = env
        .app
        .personalization()
        .recompute(&recomputer(&env.app), |_| {})
        .await
        .expect("recompute");
    assert_eq!((report.customers, report.skipped), (1, 0));
    let rows = stored(&env, full).await;
    assert_eq!(
        rows,
        [
            ("favourite_category".into(), "inferred".into()),
            ("lapsing".into(), "inferred".into()),
            ("orders_last_year".into(), "observed".into()),
        ]
    );
    assert_eq!(report.attributes, rows.len() as u64);
    assert!(stored(&env, basic).await.is_empty(), "basic is below full");
    assert!(stored(&env, off).await.is_empty(), "off is below full");

    // Deleted by the customer: not derived again, while the rest is.
    env.app
        .bench_suppress(full, "favourite_category")
        .await
        .expect("suppressed");
    env.clock.advance(SignedDuration::from_hours(24));
    let again = env
        .app
        .personalization()
        .recompute(&recomputer(&env.app), |_| {})
        .await
        .expect("recompute again");
    assert_eq!(
        keys(&stored(&env, full).await),
        ["lapsing", "orders_last_year"]
    );
    assert_eq!(again.attributes, 2);
    // Facets and values are sealed: no category stands in clear anywhere as JSON would
    // hold it. (The offer book names categories bare, and holds no personal data.)
    assert_nothing_in_clear(
        env.dir.path(),
        env.db.as_ref(),
        &["\"garden\"", "\"books\""],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_full_customers_get_derived_attributes_and_deleted_keys_stay_out_sqlite() {
    only_full_customers_get_derived_attributes_and_deleted_keys_stay_out(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_full_customers_get_derived_attributes_and_deleted_keys_stay_out_postgres() {
    only_full_customers_get_derived_attributes_and_deleted_keys_stay_out(true).await;
}

async fn a_withdrawal_during_a_recompute_is_not_undone(pg: bool) {
    let env = open(pg).await;
    let withdrawing = shopper(&env, "leaving@example.com").await;
    let staying = shopper(&env, "staying@example.com").await;
    env.app
        .bench_levels(&[(withdrawing, Level::Full), (staying, Level::Full)])
        .await
        .expect("levels");
    // The batch is read and derived while the customer is at full; the withdrawal commits
    // before the batch does.
    let app = env.app.clone();
    let handle = tokio::runtime::Handle::current();
    let mut withdrawn = false;
    let report = env
        .app
        .personalization()
        .recompute(&recomputer(&env.app), |_| {
            if !withdrawn {
                withdrawn = true;
                tokio::task::block_in_place(|| {
                    handle.block_on(app.bench_withdraw_profiling(withdrawing))
                })
                .expect("withdrawn");
            }
        })
        .await
        .expect("recompute");
    assert!(withdrawn);
    assert_eq!(report.customers, 2, "both were read at full");
    assert!(
        stored(&env, withdrawing).await.is_empty(),
        "nothing derived survives the withdrawal"
    );
    assert_eq!(stored(&env, staying).await.len(), 3);
    // The next run passes the customer by.
    let next = env
        .app
        .personalization()
        .recompute(&recomputer(&env.app), |_| {})
        .await
        .expect("next run");
    assert_eq!(next.customers, 1);
    assert!(stored(&env, withdrawing).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_during_a_recompute_is_not_undone_sqlite() {
    a_withdrawal_during_a_recompute_is_not_undone(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_during_a_recompute_is_not_undone_postgres() {
    a_withdrawal_during_a_recompute_is_not_undone(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recomputing_needs_the_profiling_purpose() {
    let env = open(false).await;
    let marketer = env.app.local_staff(
        "user:marketer",
        Role::Marketer,
        &["marketing.communications.email"],
    );
    let refused = env.app.personalization().recompute(&marketer, |_| {}).await;
    assert!(
        matches!(refused, Err(steward_app::AppError::Forbidden(_))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_are_checked_shown_and_sealed() {
    let env = open(false).await;
    let agent = agent(&env.app);
    let c = env
        .app
        .customers()
        .create(&agent, input("facets@example.com", "Sam"))
        .await
        .expect("customer");
    let add = |kind: &str, facets: Facets| {
        let app = env.app.clone();
        let agent = agent.clone();
        let input = InteractionInput {
            kind: kind.into(),
            occurred_at: None,
            summary: "with facets".into(),
            body: None,
            facets,
        };
        async move { app.interactions().add(&agent, c.id, input).await }
    };
    let categories = |list: &[&str]| Facets {
        categories: list.iter().map(|c| c.to_string()).collect(),
        ..Facets::default()
    };
    let field_of = |e: steward_app::AppError| match e {
        steward_app::AppError::Invalid(errors) => errors[0].field.clone(),
        other => panic!("not refused as invalid: {other:?}"),
    };
    let refused = add("note", categories(&["kitchen"]))
        .await
        .expect_err("a note");
    assert_eq!(field_of(refused), "facets.categories");
    let refused = add("order", categories(&["kitchen", "cars"]))
        .await
        .expect_err("unknown");
    assert_eq!(field_of(refused), "facets.categories[1]");
    let message = Facets {
        channel: Some("sms".parse().expect("channel")),
        engagement: Some("opened".parse().expect("engagement")),
        ..Facets::default()
    };
    let refused = add("order", message.clone())
        .await
        .expect_err("channel on an order");
    assert_eq!(field_of(refused), "facets.channel");
    let order = add("order", categories(&["kitchen"])).await.expect("order");
    assert_eq!(order.facets, categories(&["kitchen"]));
    add("message", message.clone()).await.expect("message");
    let page = env
        .app
        .interactions()
        .list(&agent, c.id, None, None)
        .await
        .expect("list");
    let shown: Vec<&Facets> = page.items.iter().map(|i| &i.facets).collect();
    assert!(shown.contains(&&message) && shown.contains(&&categories(&["kitchen"])));
    // As sealed facets' JSON would hold it; the offer book names categories bare.
    assert_nothing_in_clear(env.dir.path(), env.db.as_ref(), &["\"kitchen\""]).await;
}
