//! The retention sweeper over a large database: every default rule checked, a tenth of the
//! records due, against a plain `DELETE ... WHERE` of the same rows on a copy of the same
//! database in the same run.
//!
//! Run: `cargo bench -p steward-app --bench retention [-- CUSTOMERS]` (default 1,000,000
//! customers with ten interactions each; one interaction in ten is a web visit past its 90
//! days). The population is written straight into SQLite (the sweeper deletes without
//! opening anything, so the rows carry placeholder sealed bytes); the sweep goes through the
//! use case, with its per-customer audit entries and a record of every act.

mod common;

use common::{BenchResult, options, size};

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use steward_app::Steward;
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 1_000_000;
const SMOKE_CUSTOMERS: usize = 2_000;
const PER_CUSTOMER: usize = 10;
const WRITE_BATCH: usize = 50_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Customers active this month, each with ten interactions; one in ten is a web visit of a
/// hundred days ago. Returns how many are due.
fn populate(db: &Path, n: usize, now: i64) -> BenchResult<u64> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let mut rng = StdRng::seed_from_u64(17);
    let mut due = 0;
    let mut start = 0;
    while start < n {
        let end = (start + WRITE_BATCH).min(n);
        let tx = conn.transaction()?;
        {
            let mut customer = tx.prepare_cached(
                "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
                 VALUES (?1, 'DE', 'active', x'00', x'', 1, ?2, ?2)",
            )?;
            let mut interaction = tx.prepare_cached(
                "INSERT INTO interactions (id, customer_id, kind, occurred_at, sealed, created_at)
                 VALUES (?1, ?2, ?3, ?4, x'00', ?4)",
            )?;
            for _ in start..end {
                let id = Uuid::now_v7();
                let joined = now - rng.gen_range(100..1000) * MICROS_PER_DAY;
                customer.execute(params![id.as_bytes().as_slice(), joined])?;
                for i in 0..PER_CUSTOMER {
                    let (kind, at) = if i == 0 {
                        due += 1;
                        ("web_visit", now - 100 * MICROS_PER_DAY)
                    } else {
                        let kind = ["order", "note", "email", "web_visit"][rng.gen_range(0..4)];
                        (kind, now - rng.gen_range(0..30) * MICROS_PER_DAY)
                    };
                    interaction.execute(params![
                        Uuid::now_v7().as_bytes().as_slice(),
                        id.as_bytes().as_slice(),
                        kind,
                        at
                    ])?;
                }
            }
        }
        tx.commit()?;
        start = end;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(due)
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("steward");
    let db = data_dir.join("steward.db");
    drop(Steward::open(options(&data_dir)?).await?);
    let now = jiff::Timestamp::now().as_microsecond();
    let t = Instant::now();
    let due = populate(&db, n, now)?;
    let records = n * PER_CUSTOMER;
    println!(
        "populated {n} customers and {records} interactions, {due} of them due, in {:.1}s ({:.0} MiB)",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0)
    );
    // The baseline works on a copy, so both start from the same rows.
    let copy = tmp.path().join("baseline.db");
    Connection::open(&db)?.execute("VACUUM INTO ?1", [copy.to_string_lossy()])?;

    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let actor = operator.actor("bench", &["essential.legal_obligation"]);
    let access = app.access(&actor, Some("essential.legal_obligation"))?;

    let t = Instant::now();
    let dry = app.retention().start_run(&access, true).await?;
    let mut predicted = 0u64;
    app.retention()
        .run(dry.id, |_| ControlFlow::Continue(()), |_| predicted += 1)
        .await?;
    let dry_time = t.elapsed();

    let t = Instant::now();
    let run = app.retention().start_run(&access, false).await?;
    let report = app
        .retention()
        .run(run.id, |_| ControlFlow::Continue(()), |_| {})
        .await?;
    let sweep_time = t.elapsed();
    let swept: u64 = report.report.rules.iter().map(|r| r.done).sum();
    assert_eq!(swept, due, "the sweep acted on every due record");
    assert_eq!(predicted, due, "the dry run predicted it");

    let baseline = Connection::open(&copy)?;
    baseline.execute_batch("PRAGMA journal_mode = WAL;")?;
    let cutoff = now - 90 * MICROS_PER_DAY;
    let t = Instant::now();
    let deleted = baseline.execute(
        "DELETE FROM interactions WHERE kind = 'web_visit' AND occurred_at <= ?1",
        [cutoff],
    )? as u64;
    let delete_time = t.elapsed();
    assert_eq!(deleted, due, "the baseline deleted the same rows");

    let rate = |k: u64, d: std::time::Duration| k as f64 / d.as_secs_f64();
    let (sweep_rate, delete_rate) = (rate(due, sweep_time), rate(due, delete_time));
    println!(
        "dry run:     {:>8.2}s  {:>10.0} records/s checked",
        dry_time.as_secs_f64(),
        rate(due, dry_time)
    );
    println!(
        "sweep:       {:>8.2}s  {:>10.0} records/s (every rule over {n} customers, one audit entry per customer, a record of each act)",
        sweep_time.as_secs_f64(),
        sweep_rate
    );
    println!(
        "plain DELETE:{:>8.2}s  {:>10.0} records/s",
        delete_time.as_secs_f64(),
        delete_rate
    );
    println!(
        "ratio sweep / plain DELETE: {:.2}",
        sweep_rate / delete_rate
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
