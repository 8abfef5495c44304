//! Two instances on one PostgreSQL database: what one learns about sign-ins and sessions the
//! other knows at once. Failures counted on one slow the same source down on the other; a
//! session ended or a token revoked on one is refused by the other in the next request (not
//! after its token cache's time-to-live), also while it cannot hear the other and after it
//! hears again; a portal session started on one works on the other. Each has its own data
//! directory; they share the key store database and the master key file.

use std::time::{Duration, Instant};

use steward_app::core::Role;
use steward_store::testing::fresh_postgres;
use steward_testkit::smtp::SmtpServer;

use crate::portal::{Visitor, code_in, seed};
use crate::support::*;

const RIGHT: &str = r#"{"email":"agent@example.com","password":"correct horse battery staple"}"#;
const WRONG: &str = r#"{"email":"agent@example.com","password":"not the password"}"#;

async fn add_agent(t: &TestApp) -> uuid::Uuid {
    t.app
        .accounts()
        .add_user(
            &t.operator.actor("setup", &[]),
            steward_app::NewUser {
                email: "agent@example.com".into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user")
        .id
}

/// What a source sees of a sign-in: the status and, when it must wait, for how long.
async fn sign_in(
    t: &TestApp,
    from: Option<std::net::Ipv4Addr>,
    body: &str,
) -> (u16, Option<String>) {
    let r = t
        .req_from(from, "POST", "/api/v1/auth/login", None, &[], Some(body))
        .await;
    (r.status, r.header("retry-after").map(str::to_string))
}

async fn session(t: &TestApp) -> String {
    let r = t
        .req("POST", "/api/v1/auth/login", None, &[], Some(RIGHT))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["token"].as_str().expect("token").to_string()
}

async fn me(t: &TestApp, token: &str) -> u16 {
    t.req("GET", "/api/v1/me", Some(token), &[], None)
        .await
        .status
}

/// Waits until `t` caches tokens, or stops caching them; panics after five seconds.
async fn until_caching(t: &TestApp, caching: bool) {
    let start = Instant::now();
    while t.app.sessions().caching_tokens() != caching {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the token cache did not turn {}",
            if caching { "on" } else { "off" }
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long until `token` is refused by `t`, polling for at most a second.
async fn refused_within_a_second(t: &TestApp, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let status = me(t, token).await;
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still accepted a second after it was revoked elsewhere"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two instances on a fresh database, both caching tokens as they do once listening.
async fn two_instances() -> (steward_store::testing::TestDatabase, TestApp, TestApp) {
    let db = fresh_postgres().await;
    let a = spawn_app_sharing_keys(db.url.clone(), None).await;
    let b = spawn_app_beside(&a).await;
    until_caching(&a, true).await;
    until_caching(&b, true).await;
    (db, a, b)
}

async fn throttle_rows(db: &steward_store::testing::TestDatabase) -> Vec<Vec<u8>> {
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .query("SELECT key FROM login_throttle", &[])
        .await
        .expect("rows")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_one_instance_slow_the_same_source_on_the_other() {
    let (db, a, b) = two_instances().await;
    add_agent(&a).await;
    let unauthorised = (401, None);
    for _ in 0..4 {
        assert_eq!(sign_in(&a, None, WRONG).await, unauthorised);
    }
    // The fifth failure is tried on the other instance: the source already waits there.
    assert_eq!(sign_in(&b, None, WRONG).await, (429, Some("1".into())));
    assert_eq!(
        sign_in(&b, None, RIGHT).await.0,
        429,
        "not even the password"
    );
    let owner = Some(std::net::Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(
        sign_in(&b, owner, RIGHT).await.0,
        200,
        "the owner elsewhere"
    );

    // Once the wait is over, a success on one instance clears the count on both: three
    // free tries again on the first.
    a.clock.advance(jiff::SignedDuration::from_secs(1));
    assert_eq!(sign_in(&b, None, RIGHT).await.0, 200);
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(sign_in(&a, None, WRONG).await.0);
    }
    assert_eq!(seen, [401, 401, 401, 401, 429]);

    // What is kept names neither the address nor the source.
    let rows = throttle_rows(&db).await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows.iter()
            .all(|k| k.len() == steward_vault::BLIND_INDEX_LEN
                && !k.windows(5).any(|w| w == b"agent")
                && !k.windows(9).any(|w| w == b"127.0.0.1"))
    );
    // A day after the last failure the sweeper forgets it.
    a.clock.advance(jiff::SignedDuration::from_hours(24));
    b.app.jobs().signup_sweeper(std::future::ready(())).await;
    assert_eq!(throttle_rows(&db).await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_instance_ends_the_session_on_the_other_at_once() {
    let (_db, a, b) = two_instances().await;
    let agent = add_agent(&a).await;

    let token = session(&a).await;
    // Twice, so the second answer comes from the other instance's cache.
    assert_eq!(me(&b, &token).await, 200);
    assert_eq!(me(&b, &token).await, 200);
    let signed_out = a
        .req("POST", "/api/v1/auth/logout", Some(&token), &[], None)
        .await;
    assert_eq!(signed_out.status, 204, "{}", signed_out.body);
    let took = refused_within_a_second(&b, &token).await;
    eprintln!("signed out on one instance, refused by the other after {took:?}");

    // An integration's token revoked by an administrator on one instance.
    let integration = b.token(Role::Agent, &["essential.service"]).await;
    assert_eq!(me(&b, &integration).await, 200);
    let id = a
        .app
        .accounts()
        .list_tokens(&a.operator.actor("admin", &[]))
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.revoked_at.is_none())
        .expect("the integration's token")
        .id;
    a.app
        .accounts()
        .revoke_token(&a.operator.actor("admin", &[]), id)
        .await
        .expect("revoke");
    refused_within_a_second(&b, &integration).await;

    // An account disabled on one instance: its sessions end on the other.
    let token = session(&a).await;
    assert_eq!(me(&b, &token).await, 200);
    assert_eq!(me(&b, &token).await, 200);
    a.app
        .accounts()
        .update_user(&a.operator.actor("admin", &[]), agent, None, Some(true))
        .await
        .expect("disable");
    refused_within_a_second(&b, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_made_while_an_instance_cannot_hear_is_still_refused_there_at_once() {
    let (db, a, b) = two_instances().await;
    add_agent(&a).await;
    let token = session(&a).await;
    assert_eq!(me(&b, &token).await, 200);
    assert_eq!(me(&b, &token).await, 200);

    // Both instances lose their listening connections.
    let (admin, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let ended = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND datname = current_database()",
            &[&steward_store::REVOKED_CHANNEL],
        )
        .await
        .expect("terminate the listeners");
    assert_eq!(ended, 2, "one listener per instance");
    until_caching(&b, false).await;
    // The sign-out's notice is sent while the other cannot hear it: the other refuses the
    // session in its very next request all the same.
    assert_eq!(
        a.req("POST", "/api/v1/auth/logout", Some(&token), &[], None)
            .await
            .status,
        204
    );
    assert_eq!(me(&b, &token).await, 401);

    // Listening again, it caches again and hears the next sign-out.
    until_caching(&b, true).await;
    let metrics = b.req("GET", "/metrics", None, &[], None).await;
    assert!(
        metrics.body.contains("\nsteward_token_cache_on 1\n"),
        "{}",
        metrics.body
    );
    let token = session(&a).await;
    assert_eq!(me(&b, &token).await, 200);
    assert_eq!(me(&b, &token).await, 200);
    assert_eq!(
        a.req("POST", "/api/v1/auth/logout", Some(&token), &[], None)
            .await
            .status,
        204
    );
    refused_within_a_second(&b, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_session_started_on_one_instance_works_on_the_other() {
    let db = fresh_postgres().await;
    let smtp = SmtpServer::start();
    let a = spawn_app_sharing_keys(db.url.clone(), Some(smtp.url())).await;
    let b = spawn_app_beside(&a).await;
    seed(&a, "grace@example.com").await;

    let mut visitor = Visitor::new(&a);
    visitor.ask_code("grace@example.com").await;
    let code = code_in(&smtp.wait_for(1).remove(0).body);
    let (to, _) = visitor.enter(&code).await;
    assert_eq!(to, "/portal/me");

    let mut visitor = visitor.to(&b);
    let page = visitor.get("/portal/me").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Hopper"), "{}", page.body);
    // A form posted to the second instance with the token of its page is taken: signing
    // out there ends the session on the first too.
    let session = visitor.cookies();
    let (to, _) = visitor.post_and_follow("/portal/sign-out", &[]).await;
    assert!(to.starts_with("/portal?"), "{to}");
    let page = a
        .req("GET", "/portal/me", None, &[("Cookie", &session)], None)
        .await;
    assert_eq!(
        (page.status, page.header("location")),
        (303, Some("/portal"))
    );
}
