//! `/readyz` for a load balancer: ready while the database answers; 503 with its code, the
//! part named and a retry hint while the database refuses connections, with `/healthz` still
//! up; ready again once the database takes connections back.

use std::time::{Duration, Instant};

use steward_store::testing::fresh_postgres;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_postgres() {
    let db = fresh_postgres().await;
    let t = spawn_app_on(db.url.clone()).await;
    let ready = t.req("GET", "/readyz", None, &[], None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ready");

    let mut server = db
        .url
        .parse::<tokio_postgres::Config>()
        .expect("a PostgreSQL URL");
    let name = server.get_dbname().expect("a database name").to_string();
    // A database cannot refuse the session that closes it, so the test speaks from another.
    let (admin, conn) = server
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await
        .expect("end the server's sessions");

    let down = t.req("GET", "/readyz", None, &[], None).await;
    let problem = down.problem(503);
    assert_eq!(problem["code"], "NOT_READY", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("database")),
        "{problem}"
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    let alive = t.req("GET", "/healthz", None, &[], None).await;
    assert_eq!(alive.status, 200, "liveness is not readiness");

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("take connections again");
    let started = Instant::now();
    loop {
        let again = t.req("GET", "/readyz", None, &[], None).await;
        if again.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still not ready: {}",
            again.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_installation_is_ready_sqlite() {
    let t = spawn_sqlite_app().await;
    let ready = t.req("GET", "/readyz", None, &[], None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(
        ready.header("content-type"),
        Some("application/json"),
        "{ready:?}"
    );
}
