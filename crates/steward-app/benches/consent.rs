//! Consent at the point of use: checking one customer's consents, and evaluating an
//! audience over a large population with a mix of consent states, each against a plain SQL
//! baseline on the same database in the same run.
//!
//! Run: `cargo bench -p steward-app --bench consent [-- CUSTOMERS]` (default 1,000,000).
//! The population is written through the store in large transactions (consent reads do not
//! decrypt anything, so the customers carry placeholder sealed fields); the checks go
//! through the use cases, with their purpose checks and audit entries.

mod common;

use common::{BenchResult, options, size};

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use steward_app::core::Role;
use steward_app::{AudienceQuery, SegmentFilter, Steward};
use steward_store::{
    ChangeSet, ConsentEvent, CustomerRow, CustomerWrite, SqliteStore, repos::Changes,
};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 1_000_000;
const SMOKE_CUSTOMERS: usize = 2_000;
const WRITE_BATCH: usize = 20_000;
const CHECKS: usize = 20_000;
const AUDIENCE_RUNS: usize = 5;
const EMAIL: &str = "marketing.communications.email";
const SMS: &str = "marketing.communications.sms";
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A consent state for one customer and purpose: 30% given, 10% given but expired, 15%
/// withdrawn, 10% refused, 5% waiting for confirmation, 30% never asked.
fn pick_state(rng: &mut StdRng, now: i64) -> Option<(&'static str, Option<i64>)> {
    let year = 365 * MICROS_PER_DAY;
    match rng.gen_range(0..100) {
        0..30 => Some(("given", Some(now + year))),
        30..40 => Some(("given", Some(now - MICROS_PER_DAY))),
        40..55 => Some(("withdrawn", None)),
        55..65 => Some(("refused", None)),
        65..70 => Some(("requested", None)),
        _ => None,
    }
}

async fn populate(path: &std::path::Path, n: usize, now: i64) -> BenchResult<Vec<Uuid>> {
    // Rows only, no audit entries: the head this signer would sign never moves.
    let store = SqliteStore::open(path, std::sync::Arc::new(steward_vault::Signer::generate()))?;
    let mut rng = StdRng::seed_from_u64(7);
    let countries = ["DE", "FR", "IT", "ES", "NL", "US", "GB", "BR"];
    let mut ids = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + WRITE_BATCH).min(n);
        let mut changes = ChangeSet::default();
        for i in start..end {
            let id = Uuid::now_v7();
            ids.push(id);
            let status = if rng.gen_range(0..100) < 5 {
                "restricted"
            } else {
                "active"
            };
            changes.inserts.push(CustomerWrite {
                row: CustomerRow {
                    id,
                    residency: countries[i % countries.len()].into(),
                    status: status.into(),
                    tags: if i % 3 == 0 {
                        vec!["vip".into()]
                    } else {
                        vec![]
                    },
                    fields: vec![0; 64],
                    version: 1,
                    created_at: now - (i as i64 % 1000) * MICROS_PER_DAY,
                    updated_at: now,
                    last_interaction_at: None,
                    owner_id: None,
                },
                index: vec![],
            });
            for purpose in [EMAIL, SMS] {
                if let Some((state, expires_at)) = pick_state(&mut rng, now) {
                    changes.consents.push(ConsentEvent {
                        id: Uuid::now_v7(),
                        customer_id: id,
                        purpose: purpose.into(),
                        state: state.into(),
                        notice_version: Some("2026-01".into()),
                        method: "import".into(),
                        evidence: None,
                        at: now - 30 * MICROS_PER_DAY,
                        expires_at: if state == "given" { expires_at } else { None },
                    });
                }
            }
        }
        store.apply(changes).await?;
        start = end;
    }
    Ok(ids)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("steward");
    std::fs::create_dir_all(&data_dir)?;
    let db = data_dir.join("steward.db");
    let now = jiff::Timestamp::now().as_microsecond();
    let t = Instant::now();
    let ids = populate(&db, n, now).await?;
    println!(
        "populated {n} customers with {} and {} consents in {:.1}s ({:.1} MiB)",
        EMAIL,
        SMS,
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0)
    );
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let raw = Connection::open(&db)?;
    raw.execute_batch("PRAGMA journal_mode = WAL; PRAGMA cache_size = -32768;")?;

    // 1. One customer's consents, as a use case checks them before acting.
    let agent = app.access(&operator.actor("bench", &["essential.service"]), None)?;
    let mut rng = StdRng::seed_from_u64(11);
    let picks: Vec<Uuid> = (0..CHECKS.min(n * 4))
        .map(|_| ids[rng.gen_range(0..n)])
        .collect();
    let mut latencies = Vec::with_capacity(picks.len());
    let t = Instant::now();
    for id in &picks {
        let one = Instant::now();
        black_box(app.consent().current(&agent, *id).await?);
        latencies.push(one.elapsed());
    }
    let app_checks = t.elapsed();
    latencies.sort();
    let mut stmt = raw.prepare_cached(
        "SELECT purpose, state, expires_at FROM consent_current WHERE customer_id = ?1",
    )?;
    let t = Instant::now();
    for id in &picks {
        let rows: Vec<(String, String, Option<i64>)> = stmt
            .query_map([id.as_bytes().as_slice()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        black_box(rows);
    }
    let raw_checks = t.elapsed();
    let per_sec = |k: usize, d: Duration| k as f64 / d.as_secs_f64().max(1e-9);
    let app_rate = per_sec(picks.len(), app_checks);
    let raw_rate = per_sec(picks.len(), raw_checks);
    println!();
    println!(
        "consent check, one customer: {:.0}/s (p50 {:?}, p99 {:?}); plain SELECT: {:.0}/s; ratio {:.3}",
        app_rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        raw_rate,
        app_rate / raw_rate
    );

    // 2. Audiences over the whole population.
    let marketer = app.access(
        &app.local_staff("user:bench-marketer", Role::Marketer, &[EMAIL]),
        Some(EMAIL),
    )?;
    let whole = AudienceQuery {
        purpose: EMAIL.into(),
        ..Default::default()
    };
    let narrowed = AudienceQuery {
        purpose: EMAIL.into(),
        segment_id: None,
        filter: Some(SegmentFilter {
            tags: vec!["vip".into()],
            residency: vec!["DE".into(), "FR".into()],
            ..Default::default()
        }),
    };
    let time = |f: &dyn Fn() -> BenchResult<u64>| -> BenchResult<(Duration, u64)> {
        let mut runs = Vec::new();
        let mut count = 0;
        for _ in 0..AUDIENCE_RUNS {
            let t = Instant::now();
            count = f()?;
            runs.push(t.elapsed());
        }
        Ok((median(runs), count))
    };
    let plain = time(&|| {
        Ok(raw.query_row(
            "SELECT COUNT(*) FROM consent_current WHERE purpose = ?1",
            [EMAIL],
            |r| r.get::<_, i64>(0),
        )? as u64)
    })?;
    let mut app_runs = Vec::new();
    let mut reached = 0;
    for _ in 0..AUDIENCE_RUNS {
        let t = Instant::now();
        reached = app.segments().audience(&marketer, &whole).await?.count;
        app_runs.push(t.elapsed());
    }
    let app_whole = median(app_runs);
    let mut app_runs = Vec::new();
    let mut reached_narrow = 0;
    for _ in 0..AUDIENCE_RUNS {
        let t = Instant::now();
        reached_narrow = app.segments().audience(&marketer, &narrowed).await?.count;
        app_runs.push(t.elapsed());
    }
    let app_narrow = median(app_runs);
    println!(
        "audience over {n} customers: {reached} reached in {:.3}s; narrowed (vip, DE or FR): {reached_narrow} in {:.3}s",
        app_whole.as_secs_f64(),
        app_narrow.as_secs_f64()
    );
    println!(
        "plain SELECT COUNT(*) of the purpose's consent rows: {} in {:.3}s; audience/plain time ratio {:.2} (narrowed {:.2})",
        plain.1,
        plain.0.as_secs_f64(),
        app_whole.as_secs_f64() / plain.0.as_secs_f64().max(1e-9),
        app_narrow.as_secs_f64() / plain.0.as_secs_f64().max(1e-9),
    );
    println!(
        "(medians of {AUDIENCE_RUNS} runs; the audience checks state, expiry, restriction and material notice changes, and is audited)"
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    let n = size(SMOKE_CUSTOMERS, DEFAULT_CUSTOMERS, 1, None)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n))
}
