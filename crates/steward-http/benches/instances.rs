//! The cost per request of running as several instances: the same server, the same load
//! (`GET /customers/{id}`, 8 fields opened and one audit entry; `POST /customers`, a new data
//! key wrapped and stored), on the embedded SQLite with the master key file (the reference),
//! then on PostgreSQL with the key store in a PostgreSQL database of its own, with the
//! key-encryption key in the master key file and then in a PKCS#11 token (SoftHSM2), each with
//! one instance and with two behind a round-robin spread. Each instance is a server of its own
//! in this process, on one shared runtime: on a 2-core machine the point is the cost per
//! request, as a ratio to the reference measured in the same run, not scaling.
//!
//! Run: `STEWARD_TEST_DATABASE_URL=postgres://... SOFTHSM2_CONF=... cargo bench -p
//! steward-http --bench instances [-- SECONDS]` (default 5 s per phase). Without either
//! variable the setups that need it are skipped, saying so.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{BenchResult, Outcome, bench_token, load, seconds_arg, smoke};
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, Role, SystemClock};
use steward_app::{CustomerInput, OpenOptions, Steward};
use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_vault::testing::{TestToken, fresh_token};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 64;
const SEED_CUSTOMERS: usize = 2_000;

#[derive(Clone, Copy, PartialEq)]
enum Kek {
    File,
    Token,
}

struct Setup {
    name: &'static str,
    postgres: bool,
    kek: Kek,
    instances: usize,
}

const SETUPS: [Setup; 5] = [
    Setup {
        name: "SQLite, master key file, 1 instance",
        postgres: false,
        kek: Kek::File,
        instances: 1,
    },
    Setup {
        name: "PostgreSQL + key store, key file, 1 instance",
        postgres: true,
        kek: Kek::File,
        instances: 1,
    },
    Setup {
        name: "PostgreSQL + key store, key file, 2 instances",
        postgres: true,
        kek: Kek::File,
        instances: 2,
    },
    Setup {
        name: "PostgreSQL + key store, SoftHSM2, 1 instance",
        postgres: true,
        kek: Kek::Token,
        instances: 1,
    },
    Setup {
        name: "PostgreSQL + key store, SoftHSM2, 2 instances",
        postgres: true,
        kek: Kek::Token,
        instances: 2,
    },
];

/// What one setup's instances share, kept until its phases end.
struct Shared {
    dir: tempfile::TempDir,
    databases: Option<(TestDatabase, TestDatabase)>,
    token: Option<TestToken>,
}

impl Shared {
    fn options(&self, n: usize) -> BenchResult<OpenOptions> {
        let (database_url, keystore_url, master_key_file) = match &self.databases {
            Some((data, keys)) => (
                Some(data.url.clone()),
                Some(keys.url.clone()),
                self.token
                    .is_none()
                    .then(|| self.dir.path().join("master.key")),
            ),
            None => (None, None, None),
        };
        Ok(OpenOptions {
            data_dir: self.dir.path().join(format!("instance-{n}")),
            database_url,
            keystore_url,
            master_key_file,
            kek_token: self.token.as_ref().map(|t| t.settings.clone()),
            catalog: Catalog::default_catalog()?,
            clock: Arc::new(SystemClock),
            controller: Default::default(),
            readable_at_least: steward_app::READABLE_AT_LEAST,
            staff_shown_as: Default::default(),
            sharing: SharingRules::shipped()?,
            security: Default::default(),
            webhooks: Default::default(),
            mail: Default::default(),
        })
    }
}

fn customer(i: usize) -> CustomerInput {
    let fields = [
        ("email", format!("seed{i}@example.com")),
        ("given_name", format!("Given{i}")),
        ("family_name", format!("Family{i}")),
        ("phone", format!("+4930{i:08}")),
        ("postal_address", format!("{i} Example Street")),
        ("birth_date", "1980-01-01".to_string()),
        ("preferred_language", "de".to_string()),
        ("company", "Acme".to_string()),
    ];
    CustomerInput {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        residency: "DE".into(),
        tags: vec![],
    }
}

/// Opens the setup's instances, seeds customers through the first and serves each on a
/// loopback port of its own; returns the addresses, an agent's token and the seeded ids.
async fn start(
    shared: &Shared,
    instances: usize,
    seeded: usize,
) -> BenchResult<(Vec<String>, String, Vec<uuid::Uuid>)> {
    let mut addrs = Vec::new();
    let mut token = String::new();
    let mut ids = Vec::with_capacity(seeded);
    for n in 0..instances {
        let (app, operator) = Steward::open_as_operator(shared.options(n)?).await?;
        let app = Arc::new(app);
        if n == 0 {
            let setup = operator.actor("bench", &["essential.service"]);
            let access = app.access(&setup, None)?;
            for i in 0..seeded {
                ids.push(app.customers().create(&access, customer(i)).await?.id);
            }
            token = bench_token(&app, &setup, Role::Admin, "essential.service").await?;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(listener.local_addr()?.to_string());
        tokio::spawn(app.jobs().audit_indexer(std::future::pending()));
        tokio::spawn(steward_http::serve(
            listener,
            app,
            steward_http::HttpOptions {
                limits: steward_http::Limits::unlimited(),
                ..Default::default()
            },
            std::future::pending(),
        ));
    }
    Ok((addrs, token, ids))
}

struct Measured {
    name: &'static str,
    health: Outcome,
    reads: Outcome,
    creates: Outcome,
}

fn main() -> BenchResult<()> {
    let secs = seconds_arg();
    let seeded = if smoke() { 50 } else { SEED_CUSTOMERS };
    let duration = Duration::from_secs(secs);
    let have_pg = std::env::var_os(steward_store::testing::ENV).is_some();
    let have_hsm = std::env::var_os(steward_vault::testing::CONF_ENV).is_some();
    let mut measured = Vec::new();
    for (round, setup) in SETUPS.iter().enumerate() {
        if setup.postgres && !have_pg || setup.kek == Kek::Token && !have_hsm {
            println!(
                "{}: skipped (set {} and {})",
                setup.name,
                steward_store::testing::ENV,
                steward_vault::testing::CONF_ENV
            );
            continue;
        }
        // The servers of each setup get a runtime of their own, dropped with them.
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("server-{round}"))
            .enable_all()
            .build()?;
        let shared = server_rt.block_on(async {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Shared {
                dir: tempfile::tempdir()?,
                databases: if setup.postgres {
                    Some((fresh_postgres().await, fresh_postgres().await))
                } else {
                    None
                },
                token: (setup.kek == Kek::Token).then(fresh_token),
            })
        })?;
        let (addrs, token, ids) = server_rt.block_on(start(&shared, setup.instances, seeded))?;
        let client_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("load")
            .enable_all()
            .build()?;
        let host = addrs[0].clone();
        let health = Arc::new(move |_| {
            format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
        });
        let (host, tok, ids) = (addrs[0].clone(), token.clone(), Arc::new(ids));
        let read = Arc::new(move |i: usize| {
            let id = ids[i % ids.len()];
            format!("GET /api/v1/customers/{id} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tok}\r\n\r\n").into_bytes()
        });
        let (host, tok) = (addrs[0].clone(), token);
        let create = Arc::new(move |i: usize| {
            let body = format!(
                r#"{{"fields":{{"email":"load{i}@example.com","given_name":"Load","family_name":"Test","phone":"+4930555{i:06}"}},"residency":"DE"}}"#
            );
            format!(
                "POST /api/v1/customers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tok}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        let (health, reads, creates) = client_rt.block_on(async {
            let health = load(&addrs, CONNECTIONS, duration, health, 200).await?;
            let reads = load(&addrs, CONNECTIONS, duration, read, 200).await?;
            let creates = load(&addrs, CONNECTIONS, duration, create, 201).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((health, reads, creates))
        })?;
        drop(client_rt);
        server_rt.shutdown_timeout(Duration::from_secs(1));
        drop(shared);
        measured.push(Measured {
            name: setup.name,
            health,
            reads,
            creates,
        });
    }

    println!(
        "steward instances benchmark: {CONNECTIONS} connections, {secs} s per phase, {seeded} customers seeded, 2 CPUs shared by servers and load"
    );
    println!(
        "{:<48} {:<14} {:>9} {:>8} {:>8} {:>7} {:>9} {:>9}",
        "setup", "phase", "req/s", "p50 ms", "p99 ms", "errors", "vs SQLite", "vs healthz"
    );
    let reference = measured.first().map(|m| (m.reads.rate(), m.creates.rate()));
    let mut failed = 0;
    for m in &measured {
        for (phase, o, against) in [
            ("GET customer", &m.reads, reference.map(|r| r.0)),
            ("POST customer", &m.creates, reference.map(|r| r.1)),
        ] {
            println!(
                "{:<48} {:<14} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>9.3} {:>9.3}",
                m.name,
                phase,
                o.rate(),
                o.p50.as_secs_f64() * 1e3,
                o.p99.as_secs_f64() * 1e3,
                o.errors,
                against.map_or(f64::NAN, |r| o.rate() / r),
                o.rate() / m.health.rate()
            );
            failed += o.errors;
        }
        failed += m.health.errors;
    }
    if failed > 0 {
        return Err(format!("{failed} requests got an unexpected status").into());
    }
    Ok(())
}
