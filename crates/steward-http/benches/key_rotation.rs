//! Key rotation on a running server: the rate at which the rewrap moves data keys onto a new
//! key-encryption key version, and the rate of `GET /customers/{id}` over loopback while it
//! does, each next to a baseline measured in the same run.
//!
//! The rewrap's baseline is the same walk over the same key store, in the same batches of
//! 1,000 per transaction with the same compare-and-set update, writing every row back with
//! the bytes and version it already had: everything the rewrap does except the cryptography
//! (one AES-256-GCM unwrap and one wrap per key) and the change of version. The ratio is
//! therefore the cost of the key work itself on top of the unavoidable writes; both run on a
//! quiet server. The read rate during rotation is compared with the read rate of the same
//! load on the same server just before, with no rotation running; only the requests that
//! ended between the rotation's start and the rewrap's last batch are counted.
//!
//! The rewrap also appends one audit entry per batch (a durable commit in the data
//! database), which the baseline does not; on a serving server it shares the two CPUs with
//! the requests, which is what the read ratio shows.
//!
//! Run: `cargo bench -p steward-http --bench key_rotation [-- KEYS]` (default 200,000 data
//! keys, of which 2,000 belong to real customers the reads open; the others are written
//! straight to the key store, wrapped by the real vault).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BenchResult, Conn, bench_token, smoke};
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, Role, SystemClock};
use steward_app::{CustomerInput, OpenOptions, Steward};
use steward_store::{KeyStore, Rewrapped, StoredKey};
use steward_vault::{MasterKey, SecretSource, Vault, VaultError, WrappedKey};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 64;
const SEED_CUSTOMERS: usize = 2_000;
const DEFAULT_KEYS: usize = 200_000;

fn keys_arg() -> usize {
    if smoke() {
        return 3_000;
    }
    let parse = |s: &str| s.replace('_', "").parse::<usize>().ok().filter(|n| *n > 0);
    std::env::args()
        .skip(1)
        .find_map(|a| parse(&a))
        .unwrap_or(DEFAULT_KEYS)
}

fn options(dir: &std::path::Path) -> BenchResult<OpenOptions> {
    Ok(OpenOptions {
        data_dir: dir.to_path_buf(),
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
}

/// The installation's secrets, read before the vault is unlocked with them.
struct Secrets(std::collections::HashMap<String, WrappedKey>);

impl Secrets {
    async fn load(keys: &KeyStore) -> BenchResult<Secrets> {
        let mut found = std::collections::HashMap::new();
        for name in steward_vault::SECRETS {
            if let Some(k) = keys.secret(name).await? {
                found.insert(
                    name.to_string(),
                    WrappedKey {
                        kek_version: k.kek_version,
                        bytes: k.bytes,
                    },
                );
            }
        }
        Ok(Secrets(found))
    }
}

impl SecretSource for Secrets {
    fn load(&mut self, name: &str) -> Result<Option<WrappedKey>, VaultError> {
        Ok(self.0.get(name).cloned())
    }
    fn save(&mut self, _: &str, _: &WrappedKey) -> Result<(), VaultError> {
        Err(VaultError::Format)
    }
}

/// Data keys for `n` customers with no row, wrapped by the installation's real vault and
/// written to its key store as a bulk writer would.
async fn extra_keys(dir: &std::path::Path, n: usize) -> BenchResult<()> {
    let keys = KeyStore::open(&dir.join("keys/keystore.db"))?;
    let vault = Vault::unlock(
        MasterKey::load_or_create(&dir.join("keys/master.key"))?,
        &mut Secrets::load(&keys).await?,
        &[],
    )?;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let id = Uuid::now_v7();
        let (_, w) = vault.new_data_key(&id)?;
        batch.push((
            id,
            StoredKey {
                kek_version: w.kek_version,
                bytes: w.bytes,
            },
        ));
        if batch.len() == 10_000 || i + 1 == n {
            keys.put_data_keys(&batch).await?;
            batch.clear();
        }
    }
    Ok(())
}

/// The rewrap's walk and writes without its key work: every key below `below` read in
/// batches and written back unchanged. Returns keys per second.
async fn baseline(dir: &std::path::Path, below: u32) -> BenchResult<(usize, f64)> {
    let keys = KeyStore::open(&dir.join("keys/keystore.db"))?;
    let started = Instant::now();
    let mut after = None;
    let mut n = 0;
    loop {
        let batch = keys
            .data_keys_below(below, after, steward_app::REWRAP_BATCH)
            .await?;
        let Some(last) = batch.last().map(|(id, _)| *id) else {
            break;
        };
        after = Some(last);
        let same: Vec<Rewrapped<Uuid>> = batch
            .into_iter()
            .map(|(id, key)| Rewrapped {
                id,
                from: key.kek_version,
                key,
            })
            .collect();
        n += keys.replace_data_keys(&same).await?;
    }
    Ok((n, n as f64 / started.elapsed().as_secs_f64()))
}

/// Reads on `CONNECTIONS` connections until `stop`; returns when each answer ended and how
/// many were not 200.
async fn reads(
    addr: String,
    token: String,
    ids: Arc<Vec<Uuid>>,
    stop: Arc<AtomicBool>,
) -> BenchResult<(Vec<Instant>, usize)> {
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (addr, token, ids, stop) = (addr.clone(), token.clone(), ids.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut ends = Vec::new();
            let mut errors = 0;
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let id = ids[i % ids.len()];
                i += CONNECTIONS;
                let request = format!(
                    "GET /api/v1/customers/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
                );
                if conn.send(request.as_bytes()).await? != 200 {
                    errors += 1;
                }
                ends.push(Instant::now());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((ends, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (ends, e) = t.await??;
        all.extend(ends);
        errors += e;
    }
    Ok((all, errors))
}

fn count_within(ends: &[Instant], from: Instant, to: Instant) -> usize {
    ends.iter().filter(|t| **t >= from && **t <= to).count()
}

fn main() -> BenchResult<()> {
    let n_keys = keys_arg();
    let seeded = if smoke() { 50 } else { SEED_CUSTOMERS };
    let quiet_read = Duration::from_secs(if smoke() { 1 } else { 5 });
    let dir = tempfile::tempdir()?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()?;
    let first = options(dir.path())?;
    server_rt.block_on(async { Steward::open(first).await.map(drop) })?;
    server_rt.block_on(extra_keys(dir.path(), n_keys.saturating_sub(seeded)))?;

    let (app, actor, addr, token, ids) = server_rt.block_on(async {
        let (app, operator) = Steward::open_as_operator(options(dir.path())?).await?;
        let app = Arc::new(app);
        let setup = operator.actor("bench", &["essential.service"]);
        let access = app.access(&setup, None)?;
        let mut ids = Vec::with_capacity(seeded);
        for i in 0..seeded {
            let input = CustomerInput {
                fields: [
                    ("email", format!("seed{i}@example.com")),
                    ("given_name", format!("Given{i}")),
                    ("family_name", format!("Family{i}")),
                    ("phone", format!("+4930{i:08}")),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
                residency: "DE".into(),
                tags: vec![],
            };
            ids.push(app.customers().create(&access, input).await?.id);
        }
        let token = bench_token(&app, &setup, Role::Agent, "essential.service").await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        tokio::spawn(app.jobs().audit_indexer(std::future::pending()));
        tokio::spawn(steward_http::serve(
            listener,
            app.clone(),
            steward_http::HttpOptions {
                limits: steward_http::Limits::unlimited(),
                tls: None,
                ..Default::default()
            },
            std::future::pending(),
        ));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
            app,
            operator.actor("bench-keys", &[]),
            addr,
            token,
            ids,
        ))
    })?;
    let ids = Arc::new(ids);
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()?;

    // The rewrap's baseline and a first rotation, on a quiet server.
    let (base_keys, base_rate) = server_rt.block_on(baseline(dir.path(), 2))?;
    let rewrap = |app: Arc<Steward>, actor: steward_app::Actor| {
        server_rt.spawn(async move {
            let started = Instant::now();
            app.keys().rotate(&actor).await?;
            let last = Mutex::new(started);
            let done = app
                .keys()
                .rewrap(&actor, None, |_| {
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                })
                .await?;
            let last = *last.lock().unwrap_or_else(|e| e.into_inner());
            Ok::<_, steward_app::AppError>((done, started, last))
        })
    };
    let (quiet, q_start, q_last) = server_rt.block_on(rewrap(app.clone(), actor.clone()))??;
    let quiet_rate = quiet.data_keys as f64 / (q_last - q_start).as_secs_f64();

    // Reads with no rotation, then reads while a second rotation's rewrap runs.
    let stop = Arc::new(AtomicBool::new(false));
    let before = client_rt.spawn(reads(
        addr.clone(),
        token.clone(),
        ids.clone(),
        stop.clone(),
    ));
    let b_start = Instant::now();
    std::thread::sleep(quiet_read);
    stop.store(true, Ordering::SeqCst);
    let b_end = Instant::now();
    let (ends, errors_before) = client_rt.block_on(before)??;
    let rate_before = count_within(&ends, b_start, b_end) as f64 / (b_end - b_start).as_secs_f64();

    let stop = Arc::new(AtomicBool::new(false));
    let during = client_rt.spawn(reads(
        addr.clone(),
        token.clone(),
        ids.clone(),
        stop.clone(),
    ));
    std::thread::sleep(Duration::from_millis(200));
    let (loaded, l_start, l_last) = server_rt.block_on(rewrap(app.clone(), actor.clone()))??;
    stop.store(true, Ordering::SeqCst);
    let (ends, errors_during) = client_rt.block_on(during)??;
    let window = (l_last - l_start).as_secs_f64();
    let rate_during = count_within(&ends, l_start, l_last) as f64 / window;
    let loaded_rate = loaded.data_keys as f64 / window;

    println!(
        "steward key rotation benchmark: {n_keys} data keys ({seeded} real customers read), batches of {}, {CONNECTIONS} read connections, 2 CPUs shared",
        steward_app::REWRAP_BATCH
    );
    println!("{:<58} {:>12} {:>10}", "phase", "keys/s", "vs base");
    println!(
        "{:<58} {:>12.0} {:>10.3}",
        "baseline: same walk, same rows rewritten unchanged", base_rate, 1.0
    );
    println!(
        "{:<58} {:>12.0} {:>10.3}",
        "rewrap onto a new version, quiet server",
        quiet_rate,
        quiet_rate / base_rate
    );
    println!(
        "{:<58} {:>12.0} {:>10.3}",
        "rewrap onto a new version, under 64-connection reads",
        loaded_rate,
        loaded_rate / base_rate
    );
    println!("{:<58} {:>12} {:>10}", "", "req/s", "vs before");
    println!(
        "{:<58} {:>12.0} {:>10.3}",
        "GET /customers/{id}, no rotation", rate_before, 1.0
    );
    println!(
        "{:<58} {:>12.0} {:>10.3}",
        "GET /customers/{id}, during the rewrap",
        rate_during,
        rate_during / rate_before
    );
    println!(
        "keys moved: baseline {base_keys}, quiet {} (+{} secrets, retired {:?}), under load {} (retired {:?}); rewrap under load took {window:.2} s",
        quiet.data_keys, quiet.secrets, quiet.retired, loaded.data_keys, loaded.retired
    );
    if errors_before + errors_during > 0 {
        return Err(format!(
            "{} reads got an unexpected status",
            errors_before + errors_during
        )
        .into());
    }
    if !(quiet.finished && loaded.finished) {
        return Err("a rewrap did not finish".into());
    }
    server_rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
