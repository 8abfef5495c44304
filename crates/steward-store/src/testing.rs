//! Test support: each test gets a database of its own on the PostgreSQL server named by
//! `STEWARD_TEST_DATABASE_URL` (the test command starts one). Without it, PostgreSQL tests
//! fail loudly rather than pass without having run.

use uuid::Uuid;

pub const ENV: &str = "STEWARD_TEST_DATABASE_URL";

/// Says which engine the app and HTTP suites keep their data on: `sqlite` (the default) or
/// `postgres`, on the server `STEWARD_TEST_DATABASE_URL` names.
pub const ENGINE_ENV: &str = "STEWARD_TEST_ENGINE";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The engine `STEWARD_TEST_ENGINE` asks for. Anything else than `sqlite` or `postgres`,
/// or `postgres` without a server to reach, fails the test rather than let it pass on an
/// engine nobody asked for.
pub fn engine() -> Engine {
    match std::env::var(ENGINE_ENV).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("sqlite") => Engine::Sqlite,
        Ok("postgres") => {
            if std::env::var_os(ENV).is_none() {
                panic!(
                    "{ENGINE_ENV}=postgres but {ENV} is not set: name the PostgreSQL server the suites run on"
                );
            }
            Engine::Postgres
        }
        Ok(other) => panic!("{ENGINE_ENV} is {other:?}: it must be sqlite or postgres"),
        Err(e) => panic!("{ENGINE_ENV}: {e}"),
    }
}

/// A fresh data database on the engine the suites run on, or `None` for the SQLite file in
/// the data directory.
pub async fn data_database() -> Option<TestDatabase> {
    match engine() {
        Engine::Sqlite => None,
        Engine::Postgres => Some(fresh_postgres().await),
    }
}

/// A database created for one test and dropped when this guard drops.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

/// Creates an empty database and returns its URL.
pub async fn fresh_postgres() -> TestDatabase {
    let admin_url = std::env::var(ENV).unwrap_or_else(|_| {
        panic!("{ENV} is not set: run the test suite with scripts/test, which starts PostgreSQL")
    });
    let name = format!("steward_test_{}", Uuid::now_v7().simple());
    let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database: {e}"));
    let url = url_with_db(&admin_url, &name);
    TestDatabase {
        url,
        admin_url,
        name,
    }
}

/// Every value stored in the database at `url`, text as UTF-8 and binary as it is, for the
/// same scan for plaintext a SQLite file gets byte by byte.
pub async fn stored_bytes(url: &str) -> Vec<u8> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test database: {e}"));
    tokio::spawn(conn);
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .expect("list the columns");
    let mut out = Vec::new();
    for column in columns {
        let (table, name, kind): (String, String, String) =
            (column.get(0), column.get(1), column.get(2));
        let binary = kind == "bytea";
        let select = if binary {
            format!("SELECT \"{name}\" FROM \"{table}\"")
        } else {
            format!("SELECT \"{name}\"::text FROM \"{table}\"")
        };
        for row in client.query(&select, &[]).await.expect("read a column") {
            if binary {
                out.extend(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default());
            } else {
                out.extend(
                    row.get::<_, Option<String>>(0)
                        .unwrap_or_default()
                        .into_bytes(),
                );
            }
            out.push(0);
        }
    }
    out
}

fn url_with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Dropped from a thread of its own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// The PEM file of the CA that signed the test server's certificate (made for `localhost`
/// by scripts/test, which starts PostgreSQL with TLS on).
pub const TLS_CA_ENV: &str = "STEWARD_TEST_PG_CA";

/// `db`'s URL reached as `host` (always at 127.0.0.1, so only the name the certificate is
/// checked against differs) with `sslmode=mode` and the test CA as `sslrootcert`.
pub fn tls_url(db: &TestDatabase, host: &str, mode: &str) -> String {
    let ca = std::env::var(TLS_CA_ENV).unwrap_or_else(|_| {
        panic!(
            "{TLS_CA_ENV} is not set: run the test suite with scripts/test, which starts PostgreSQL with TLS"
        )
    });
    tls_url_with_root(db, host, mode, &ca)
}

/// As [`tls_url`], trusting the CA in `ca` instead of the test server's.
pub fn tls_url_with_root(db: &TestDatabase, host: &str, mode: &str, ca: &str) -> String {
    let config: tokio_postgres::Config = db.url.parse().expect("the test database URL parses");
    let user = config
        .get_user()
        .expect("the test database URL names a user");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{user}@{host}:{port}/{}?hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}",
        db.name
    )
}
