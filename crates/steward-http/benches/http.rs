//! Load on the real server over loopback: `GET /customers/{id}` (8 fields decrypted, one audit
//! entry) and `POST /customers` at 64 concurrent keep-alive connections, recording consent
//! (ledger append, signed receipt in the answer, audit entry) at 16 and 64, and one customer's
//! recommendations at full (level and consent checked, her profile opened through the gate,
//! offers ranked with a counterfactual, the read audited with the attributes it used), next to a
//! `GET /healthz` baseline measured in the same run. The server and the load generator share
//! the machine, as they would on a developer's laptop.
//!
//! Run: `cargo bench -p steward-http --bench http [-- SECONDS]` (default 5 s per phase).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use steward_app::core::personalization::{Facets, Level, PROFILED};
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, Role, SystemClock};
use steward_app::{
    ConsentInput, CustomerInput, Evidence, InteractionInput, LevelInput, NewToken, OpenOptions,
    Steward,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CONNECTIONS: usize = 64;
const SEED_CUSTOMERS: usize = 2_000;
/// A year of orders for the customer whose recommendations are loaded, enough for every
/// order rule of the catalog to derive something.
const FOCUS_ORDERS: usize = 40;
const CATEGORIES: [&str; 3] = ["garden", "books", "kitchen"];

/// One keep-alive HTTP/1.1 connection; enough of the protocol for the server's own answers.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> BenchResult<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    async fn send(&mut self, request: &[u8]) -> BenchResult<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?;
                let status: u16 = head.split(' ').nth(1).ok_or("no status")?.parse()?;
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + length {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err("connection closed mid-body".into());
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                self.buf.drain(..end + 4);
                self.buf.truncate(length);
                return Ok(status);
            }
        }
    }

    /// The body of the last answer.
    fn body(&self) -> &[u8] {
        &self.buf
    }
}

/// Fails unless the answer really was personalized from the customer's profile, so the phase
/// measures the gate, the ranking and the audited read rather than the generic list.
async fn check_personalized(addr: &str, request: &[u8]) -> BenchResult<usize> {
    let mut conn = Conn::open(addr).await?;
    let status = conn.send(request).await?;
    let body: serde_json::Value = serde_json::from_slice(conn.body())?;
    let used = body["explanation"]["attributes"]
        .as_array()
        .map_or(0, Vec::len);
    if status != 200 || body["personalized"] != true || used == 0 {
        return Err(format!("recommendations were not personalized ({status}): {body}").into());
    }
    Ok(used)
}

struct Outcome {
    requests: usize,
    errors: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `connections` workers for `duration`, each sending the request `make(i)` builds.
async fn load(
    addr: &str,
    connections: usize,
    duration: Duration,
    make: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
    expect: u16,
) -> BenchResult<Outcome> {
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, make, counter) = (addr.to_string(), make.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration {
                let request = make(counter.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let status = conn.send(&request).await?;
                latencies.push(t.elapsed());
                if status != expect {
                    errors += 1;
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        all.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Outcome {
        requests: all.len(),
        errors,
        seconds,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

async fn bench_token(
    app: &Steward,
    setup: &steward_app::Actor,
    role: Role,
    purpose: &str,
) -> BenchResult<String> {
    Ok(app
        .accounts()
        .create_token(
            setup,
            NewToken {
                name: format!("bench-{}", role.as_str()),
                role,
                purposes: vec![purpose.into()],
                expires_at: None,
            },
        )
        .await?
        .1)
}

/// Gives the customer's profiling consent, sets her level to full as she would ask, and
/// writes a year of orders over a few categories, through the same use cases the API calls.
async fn at_full_with_history(
    app: &Steward,
    setup: &steward_app::Actor,
    customer: uuid::Uuid,
) -> BenchResult<uuid::Uuid> {
    let access = app.access(setup, None)?;
    app.consent()
        .record(
            &access,
            customer,
            ConsentInput {
                purpose: PROFILED.into(),
                state: "given".into(),
                notice_version: None,
                method: None,
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await?;
    app.personalization()
        .set_level(&access, customer, LevelInput { level: Level::Full })
        .await?;
    let now = jiff::Timestamp::now();
    for i in 0..FOCUS_ORDERS {
        let days = i64::try_from(i * 8)?;
        app.interactions()
            .add(
                &access,
                customer,
                InteractionInput {
                    kind: "order".into(),
                    occurred_at: Some(now - jiff::SignedDuration::from_hours(24 * days)),
                    summary: "order".into(),
                    body: None,
                    facets: Facets {
                        categories: vec![CATEGORIES[i % CATEGORIES.len()].into()],
                        ..Default::default()
                    },
                },
            )
            .await?;
    }
    Ok(customer)
}

/// Under `cargo test --all-targets` (no `--bench`), a short smoke run that shows the
/// benchmark still works.
fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn seconds_arg() -> u64 {
    if smoke() {
        return 1;
    }
    std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5)
}

fn main() -> BenchResult<()> {
    let secs = seconds_arg();
    let seeded = if smoke() { 50 } else { SEED_CUSTOMERS };
    let dir = tempfile::tempdir()?;
    // The server gets its own runtime; the load generator another, as two processes would.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()?;
    let (addr, token, marketer, focus, ids) = server_rt.block_on(async {
        let (app, operator) = Steward::open_as_operator(OpenOptions {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
            keystore_url: None,
            master_key_file: None,
            kek_token: None,
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
        .await?;
        let app = Arc::new(app);
        let setup = operator.actor("bench", &["essential.service"]);
        let access = app.access(&setup, None)?;
        let mut ids = Vec::with_capacity(seeded);
        for i in 0..seeded {
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
            let input = CustomerInput {
                fields: fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                residency: "DE".into(),
                tags: vec![],
            };
            ids.push(app.customers().create(&access, input).await?.id);
        }
        let focus = at_full_with_history(&app, &setup, ids[0]).await?;
        let profiler = operator.actor("bench", &[PROFILED]);
        app.personalization()
            .for_customers(&profiler, &[focus])
            .await?;
        let token = bench_token(&app, &setup, Role::Admin, "essential.service").await?;
        let marketer = bench_token(&app, &setup, Role::Marketer, PROFILED).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let options = steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        };
        // The background work `steward serve` runs beside every request.
        tokio::spawn(app.jobs().audit_indexer(std::future::pending()));
        tokio::spawn(steward_http::serve(
            listener,
            app,
            options,
            std::future::pending(),
        ));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((addr, token, marketer, focus, ids))
    })?;

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()?;
    let duration = Duration::from_secs(secs);
    let host = addr.clone();
    let health =
        Arc::new(move |_| format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes());
    let consent_ids = Arc::new(ids.clone());
    let (host, tok, ids) = (addr.clone(), token.clone(), Arc::new(ids));
    let read = Arc::new(move |i: usize| {
        let id = ids[i % ids.len()];
        format!("GET /api/v1/customers/{id} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tok}\r\n\r\n").into_bytes()
    });
    let (host, tok) = (addr.clone(), token.clone());
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
    let (host, tok, ids) = (addr.clone(), token.clone(), consent_ids);
    let consent = Arc::new(move |i: usize| {
        let id = ids[i % ids.len()];
        let state = if (i / ids.len()).is_multiple_of(2) {
            "given"
        } else {
            "withdrawn"
        };
        let body = format!(
            r#"{{"purpose":"marketing.communications.sms","state":"{state}","method":"api"}}"#
        );
        format!(
            "POST /api/v1/customers/{id}/consents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tok}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let host = addr.clone();
    let recommend = Arc::new(move |_| {
        format!("GET /api/v1/customers/{focus}/recommendations HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {marketer}\r\nX-Purpose: {PROFILED}\r\n\r\n").into_bytes()
    });
    let (base, reads, creates, consents16, consents64, recommended) =
        client_rt.block_on(async {
            let base = load(&addr, CONNECTIONS, duration, health, 200).await?;
            let reads = load(&addr, CONNECTIONS, duration, read, 200).await?;
            let creates = load(&addr, CONNECTIONS, duration, create, 201).await?;
            let consents16 = load(&addr, 16, duration, consent.clone(), 201).await?;
            let consents64 = load(&addr, CONNECTIONS, duration, consent, 201).await?;
            let used = check_personalized(&addr, &recommend(0)).await?;
            println!("recommendations use {used} of the customer's attributes");
            let recommended = load(&addr, CONNECTIONS, duration, recommend, 200).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
                base,
                reads,
                creates,
                consents16,
                consents64,
                recommended,
            ))
        })?;

    let rate = |o: &Outcome| o.requests as f64 / o.seconds;
    println!(
        "steward HTTP benchmark: {CONNECTIONS} connections, {secs} s per phase, {seeded} customers seeded, 2 CPUs shared"
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>8} {:>12}",
        "phase", "req/s", "p50 ms", "p99 ms", "errors", "vs healthz"
    );
    for (name, o) in [
        ("GET /healthz (baseline)", &base),
        ("GET /customers/{id} (8 fields, 1 audit entry)", &reads),
        ("POST /customers (4 fields, 1 audit entry)", &creates),
        ("POST consent, 16 conns (ledger+receipt+audit)", &consents16),
        ("POST consent, 64 conns (ledger+receipt+audit)", &consents64),
        ("GET recommendations, one customer at full", &recommended),
    ] {
        println!(
            "{:<44} {:>10.0} {:>10.2} {:>10.2} {:>8} {:>12.3}",
            name,
            rate(o),
            o.p50.as_secs_f64() * 1e3,
            o.p99.as_secs_f64() * 1e3,
            o.errors,
            rate(o) / rate(&base)
        );
    }
    let failed = reads.errors
        + creates.errors
        + base.errors
        + consents16.errors
        + consents64.errors
        + recommended.errors;
    if failed > 0 {
        return Err(format!("{failed} requests got an unexpected status").into());
    }
    server_rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
