//! TLS to PostgreSQL: what each `sslmode` does against the test server, whose certificate
//! is for `localhost` only and signed by the CA scripts/test made.

use steward_store::PostgresStore;
use steward_store::testing::{TestDatabase, fresh_postgres, tls_url, tls_url_with_root};

use super::signer;

/// Whether the store's own connections to `db` are encrypted, as the server sees them;
/// asked over a plain connection of the test's own, which is left out.
async fn store_connections_encrypted(db: &TestDatabase) -> bool {
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
            &[],
        )
        .await
        .expect("read pg_stat_ssl");
    let count: i64 = row.get(0);
    assert!(count > 0, "the store holds no connection to look at");
    row.get::<_, Option<bool>>(1).expect("ssl is known")
}

async fn refusal(url: &str) -> String {
    match PostgresStore::connect(url, 2, signer()).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_to_the_named_host_speaks_tls() {
    let db = fresh_postgres().await;
    let store = PostgresStore::connect(&tls_url(&db, "localhost", "verify-full"), 2, signer())
        .await
        .expect("verify-full to localhost connects");
    assert!(store_connections_encrypted(&db).await);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_to_a_name_the_certificate_lacks_is_refused_naming_the_setting() {
    let db = fresh_postgres().await;
    // With a password in the URL, which no message may show.
    let url = tls_url(&db, "127.0.0.1", "verify-full").replacen("steward@", "steward:hunter2@", 1);
    let e = refusal(&url).await;
    assert!(!e.contains("hunter2"), "{e}");
    assert!(e.contains("database_url"), "{e}");
    assert!(e.contains("sslmode=verify-full"), "{e}");
    assert!(e.contains("not valid for host 127.0.0.1"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_sign_it_is_refused() {
    let db = fresh_postgres().await;
    let other = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&other).expect("self-signed CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other-ca.pem");
    std::fs::write(&path, ca.pem()).expect("write CA");
    let path = path.to_str().expect("utf-8 path");
    for mode in ["verify-full", "verify-ca"] {
        let e = refusal(&tls_url_with_root(&db, "localhost", mode, path)).await;
        assert!(e.contains(&format!("sslmode={mode}")), "{e}");
        assert!(e.contains("not signed by a CA in sslrootcert="), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_accepts_any_name_the_ca_signed() {
    let db = fresh_postgres().await;
    let store = PostgresStore::connect(&tls_url(&db, "127.0.0.1", "verify-ca"), 2, signer())
        .await
        .expect("verify-ca to 127.0.0.1 connects");
    assert!(store_connections_encrypted(&db).await);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_encrypts_without_checking() {
    let db = fresh_postgres().await;
    let url = tls_url(&db, "127.0.0.1", "require");
    // Without sslrootcert, as libpq: encrypted, the certificate not checked.
    let url = url.split("&sslrootcert=").next().expect("url").to_string();
    let store = PostgresStore::connect(&url, 2, signer())
        .await
        .expect("require connects");
    assert!(store_connections_encrypted(&db).await);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_stays_plain() {
    let db = fresh_postgres().await;
    let store = PostgresStore::connect(&tls_url(&db, "localhost", "disable"), 2, signer())
        .await
        .expect("disable connects");
    assert!(!store_connections_encrypted(&db).await);
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_to_a_server_without_tls_is_refused_saying_so() {
    // A server that declines TLS as PostgreSQL does: 'N' to the client's SSLRequest.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok() {
                let _ = socket.write_all(b"N").await;
            }
        }
    });
    let e = refusal(&format!(
        "postgres://steward:hunter2@127.0.0.1:{port}/x?sslmode=require"
    ))
    .await;
    assert!(e.contains("database_url"), "{e}");
    assert!(e.contains("sslmode=require"), "{e}");
    assert!(e.contains("the server does not offer TLS"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}
