//! Key rotation under load: while clients read and write customers over HTTP, an admin
//! rotates the key-encryption key and the rewrap moves every key onto the new version; no
//! request fails, no key is left on the old version, and every customer still reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use steward_app::core::Role;
use steward_app::{CustomerInput, Steward};
use steward_store::testing::fresh_postgres;
use uuid::Uuid;

use crate::support::*;

const CUSTOMERS: usize = 3_000;

async fn seed(app: &Arc<Steward>, access: &steward_app::Access) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(CUSTOMERS);
    for _ in 0..CUSTOMERS / 100 {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (app, access) = (app.clone(), access.clone());
            set.spawn(async move {
                app.customers()
                    .create(
                        &access,
                        CustomerInput {
                            fields: [
                                (
                                    "email".to_string(),
                                    format!("r{}@example.com", Uuid::now_v7().simple()),
                                ),
                                ("given_name".to_string(), "Rota".into()),
                            ]
                            .into_iter()
                            .collect(),
                            residency: "DE".into(),
                            tags: vec![],
                        },
                    )
                    .await
                    .expect("customer")
                    .id
            });
        }
        while let Some(id) = set.join_next().await {
            ids.push(id.expect("task"));
        }
    }
    ids
}

#[derive(Default)]
struct Load {
    done: AtomicU64,
    failed: AtomicU64,
    /// Requests that began after the rotation was asked for and ended before the rewrap was
    /// seen finished.
    during: AtomicU64,
    rotating: AtomicBool,
    stop: AtomicBool,
}

async fn rotation_under_load(t: TestApp) {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let ids = Arc::new(seed(&t.app, &access).await);
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let admin = t.token(Role::Admin, &[]).await;
    let t = Arc::new(t);
    let load = Arc::new(Load::default());
    let created = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));

    let mut clients = tokio::task::JoinSet::new();
    for client in 0..2u64 {
        let (t, ids, load, agent, created) = (
            t.clone(),
            ids.clone(),
            load.clone(),
            agent.clone(),
            created.clone(),
        );
        clients.spawn(async move {
            let headers = [("X-Purpose", "essential.service")];
            // Bounded: the loop ends when told to or after this many requests.
            for i in 0..20_000u64 {
                if load.stop.load(Ordering::SeqCst) {
                    break;
                }
                let began_rotating = load.rotating.load(Ordering::SeqCst);
                let reply = if i % 5 == 4 {
                    let body = format!(
                        r#"{{"fields":{{"email":"w{client}-{i}@example.com","given_name":"W"}},"residency":"FR"}}"#
                    );
                    let reply = t
                        .req("POST", "/api/v1/customers", Some(&agent), &headers, Some(&body))
                        .await;
                    if reply.status == 201 {
                        let id = reply.json()["id"].as_str().expect("id").to_string();
                        created.lock().expect("created").push(id);
                    }
                    reply
                } else {
                    let id = ids[(i as usize * 7 + client as usize * 13) % ids.len()];
                    t.req(
                        "GET",
                        &format!("/api/v1/customers/{id}"),
                        Some(&agent),
                        &headers,
                        None,
                    )
                    .await
                };
                load.done.fetch_add(1, Ordering::SeqCst);
                if !(200..300).contains(&reply.status) {
                    eprintln!("failed during rotation: {} {}", reply.status, reply.body);
                    load.failed.fetch_add(1, Ordering::SeqCst);
                }
                if began_rotating && load.rotating.load(Ordering::SeqCst) {
                    load.during.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }

    // Let the clients get going, then rotate.
    while load.done.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    load.rotating.store(true, Ordering::SeqCst);
    let reply = t
        .req("POST", "/api/v1/keys/rotate", Some(&admin), &[], None)
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["current"], 2);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = t.req("GET", "/api/v1/keys", Some(&admin), &[], None).await;
        assert_eq!(status.status, 200, "{}", status.body);
        let s = status.json();
        let v1_retired = s["versions"][0]["retired_at"].is_string();
        if s["pending_rewrap"] == 0 && v1_retired {
            break;
        }
        assert!(Instant::now() < deadline, "the rewrap did not finish: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    load.rotating.store(false, Ordering::SeqCst);
    // Some more traffic after the retirement, then stop.
    let after = load.done.load(Ordering::SeqCst);
    while load.done.load(Ordering::SeqCst) < after + 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    load.stop.store(true, Ordering::SeqCst);
    while let Some(r) = clients.join_next().await {
        r.expect("client");
    }

    assert_eq!(load.failed.load(Ordering::SeqCst), 0, "no request failed");
    assert!(
        load.during.load(Ordering::SeqCst) > 0,
        "requests were served while the rewrap ran"
    );
    let keys =
        steward_store::KeyStore::open(&t.data_dir().join("keys/keystore.db")).expect("key store");
    let usage = keys.kek_usage().await.expect("usage");
    assert!(
        usage.keys().all(|v| *v == 2),
        "no key is wrapped by the old version: {usage:?}"
    );
    let master = std::fs::read_to_string(t.data_dir().join("keys/master.key")).expect("file");
    assert!(!master.contains("v1:") && master.contains("v2:"));
    let created = created.lock().expect("created").clone();
    assert!(!created.is_empty());
    let headers = [("X-Purpose", "essential.service")];
    for id in ids.iter().map(Uuid::to_string).chain(created) {
        let reply = t
            .req(
                "GET",
                &format!("/api/v1/customers/{id}"),
                Some(&agent),
                &headers,
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{id} reads after rotation");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_fails_no_request_sqlite() {
    rotation_under_load(spawn_sqlite_app().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_under_load_fails_no_request_postgres() {
    let db = fresh_postgres().await;
    rotation_under_load(spawn_app_on(db.url.clone()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_a_version_compromised_over_http() {
    let t = spawn_app().await;
    let admin = t.token(Role::Admin, &[]).await;
    let mark = |version: &str, body: &str| {
        let (path, body) = (
            format!("/api/v1/keys/{version}/compromised"),
            body.to_string(),
        );
        let (t, admin) = (&t, admin.clone());
        async move { t.req("POST", &path, Some(&admin), &[], Some(&body)).await }
    };
    let p = mark("one", r#"{"reason":"stolen"}"#).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "version");
    let p = mark("1", r#"{"reason":""}"#).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "reason");
    mark("7", r#"{"reason":"stolen"}"#).await.problem(404);
    let reply = mark("v1", r#"{"reason":"stolen laptop"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let s = reply.json();
    assert_eq!(
        s["current"], 2,
        "the compromised current version was rotated away"
    );
    assert_eq!(s["versions"][0]["compromised_reason"], "stolen laptop");
    assert!(s["versions"][0]["compromised_at"].is_string());
}
