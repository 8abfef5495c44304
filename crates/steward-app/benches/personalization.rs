//! Recomputing profiles over a large database, against the same aggregation with nothing
//! sealed, in the same run.
//!
//! Run: `cargo bench -p steward-app --bench personalization [-- CUSTOMERS]` (default
//! 1,000,000; run as a test, 2,000). Customers are imported through the app (40% at full,
//! 30% at basic, 30% off), each with ten interactions (30% orders, 40% messages, 30% web
//! visits) whose facets are sealed with the customer's real key. Printed:
//!
//! - (a) the first recompute: every customer at full, their facets opened, every rule
//!   evaluated, results sealed and committed, one audit entry per batch;
//! - (b) a steady-state recompute over the same data (rows replaced);
//! - (c) `SELECT customer_id, kind, COUNT(*), MAX(occurred_at) ... GROUP BY customer_id, kind`
//!   over the same interactions of the same file: what the database alone costs, with no
//!   facet opened;
//! - (d) the same facts in a plain table with the category in clear, grouped by customer and
//!   category: what a design that stored behaviour unsealed would cost.

mod common;

use common::{BenchResult, options, size};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_app::core::customer::InteractionKind;
use steward_app::core::personalization::{Channel, Engagement, Facets, Level, PROFILED};
use steward_app::import::ImportOptions;
use steward_app::{BenchInteraction, Steward};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 1_000_000;
const SMOKE_CUSTOMERS: usize = 2_000;
const PER_CUSTOMER: usize = 10;
const IMPORT_BATCH: usize = 20_000;
const WRITE_BATCH: usize = 50_000;
const CATEGORIES: [&str; 5] = ["garden", "kitchen", "books", "outdoor", "toys"];

fn write_csv(path: &Path, n: usize) -> BenchResult<()> {
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(["given_name", "email", "residency"])?;
    for i in 0..n {
        w.write_record([
            format!("Given{i}"),
            format!("shopper.{i}@example.com"),
            "DE".to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.to_string())?.flush()?;
    Ok(())
}

/// One customer's ten interactions of the last year.
fn history(rng: &mut StdRng, customer: Uuid, now: Timestamp) -> Vec<BenchInteraction> {
    (0..PER_CUSTOMER)
        .map(|i| {
            let at = now
                .checked_sub(SignedDuration::from_hours(rng.gen_range(1..365 * 24)))
                .unwrap_or(now);
            let category = Facets {
                categories: vec![CATEGORIES[rng.gen_range(0..CATEGORIES.len())].to_string()],
                ..Facets::default()
            };
            let message = Facets {
                channel: Some([Channel::Email, Channel::Sms, Channel::Push][rng.gen_range(0..3)]),
                engagement: Some(
                    [
                        Engagement::Delivered,
                        Engagement::Opened,
                        Engagement::Clicked,
                    ][rng.gen_range(0..3)],
                ),
                ..Facets::default()
            };
            let (kind, facets) = match i {
                0..3 => (InteractionKind::Order, category),
                3..7 => (InteractionKind::Message, message),
                _ => (InteractionKind::WebVisit, category),
            };
            BenchInteraction {
                customer,
                kind,
                occurred_at: at,
                facets,
            }
        })
        .collect()
}

/// The same facts as a plain table, categories in clear, as a design without sealing would
/// keep them.
fn plain_copy(
    db: &Path,
    rows: &[(Uuid, &'static str, i64, Option<&'static str>)],
) -> BenchResult<()> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(
        "CREATE TABLE plain_facts (customer_id BLOB NOT NULL, kind TEXT NOT NULL,
             occurred_at INTEGER NOT NULL, category TEXT);
         CREATE INDEX plain_facts_customer ON plain_facts(customer_id, kind, occurred_at);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO plain_facts (customer_id, kind, occurred_at, category) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (c, kind, at, category) in rows {
            insert.execute(rusqlite::params![
                c.as_bytes().as_slice(),
                kind,
                at,
                category
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn timed_rows(db: &Path, sql: &str) -> BenchResult<(u64, Duration)> {
    let conn = rusqlite::Connection::open(db)?;
    let t = Instant::now();
    let mut stmt = conn.prepare(sql)?;
    let mut groups = 0u64;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {
        groups += 1;
    }
    Ok((groups, t.elapsed()))
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let csv_path = tmp.path().join("customers.csv");
    write_csv(&csv_path, n)?;
    let data_dir = tmp.path().join("steward");
    let db = data_dir.join("steward.db");
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let t = Instant::now();
    let report = app
        .customers()
        .import(
            &operator.actor("bench", &["essential.service"]),
            &csv_path,
            &ImportOptions {
                purpose: "essential.service".into(),
                default_residency: None,
                header_map: Default::default(),
                reject_path: tmp.path().join("rejects.csv"),
                batch_size: IMPORT_BATCH,
            },
            |_| ControlFlow::Continue(()),
        )
        .await?;
    if report.progress.created != n as u64 {
        return Err(format!("imported {} of {n}", report.progress.created).into());
    }
    let import_time = t.elapsed();
    let ids: Vec<Uuid> = {
        let raw = rusqlite::Connection::open(&db)?;
        let mut stmt = raw.prepare("SELECT id FROM customers ORDER BY id")?;
        stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?
            .map(|b| Ok(Uuid::from_slice(&b?)?))
            .collect::<BenchResult<_>>()?
    };

    let mut rng = StdRng::seed_from_u64(20);
    let levels: Vec<(Uuid, Level)> = ids
        .iter()
        .map(|id| {
            let level = match rng.gen_range(0..10) {
                0..4 => Level::Full,
                4..7 => Level::Basic,
                _ => Level::Off,
            };
            (*id, level)
        })
        .collect();
    let at_full = levels.iter().filter(|(_, l)| *l == Level::Full).count();
    for chunk in levels.chunks(WRITE_BATCH) {
        app.bench_levels(chunk).await?;
    }
    let now = Timestamp::now();
    let t = Instant::now();
    let mut plain = Vec::with_capacity(n * PER_CUSTOMER);
    for chunk in ids.chunks(WRITE_BATCH / PER_CUSTOMER) {
        let rows: Vec<BenchInteraction> = chunk
            .iter()
            .flat_map(|c| history(&mut rng, *c, now))
            .collect();
        for r in &rows {
            let category = CATEGORIES
                .iter()
                .copied()
                .find(|c| r.facets.categories.first().is_some_and(|f| f == c));
            plain.push((
                r.customer,
                r.kind.as_str(),
                r.occurred_at.as_microsecond(),
                category,
            ));
        }
        app.bench_interactions(&rows).await?;
    }
    let interactions = n * PER_CUSTOMER;
    println!(
        "{n} customers imported in {:.1}s, {at_full} at full; {interactions} interactions sealed in {:.1}s",
        import_time.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );

    let actor = operator.actor("bench", &[PROFILED]);
    let t = Instant::now();
    let first = app.personalization().recompute(&actor, |_| {}).await?;
    let first_time = t.elapsed();
    if first.customers != at_full as u64 {
        return Err(format!(
            "recomputed {} of {at_full} customers at full",
            first.customers
        )
        .into());
    }
    let t = Instant::now();
    let steady = app.personalization().recompute(&actor, |_| {}).await?;
    let steady_time = t.elapsed();
    if steady.customers != first.customers {
        return Err("the second run saw other customers".into());
    }
    drop(app);

    let (groups, sealed_sql) = timed_rows(
        &db,
        "SELECT customer_id, kind, COUNT(*), MAX(occurred_at) FROM interactions
         GROUP BY customer_id, kind",
    )?;
    plain_copy(&tmp.path().join("plain.db"), &plain)?;
    let (plain_groups, plain_sql) = timed_rows(
        &tmp.path().join("plain.db"),
        "SELECT customer_id, category, COUNT(*), MAX(occurred_at) FROM plain_facts
         GROUP BY customer_id, category",
    )?;

    // Rows are the interactions of the customers each job reads.
    let read = (at_full * PER_CUSTOMER) as f64;
    let all = interactions as f64;
    let rate = |rows: f64, d: Duration| rows / d.as_secs_f64();
    let (a, b, c, d) = (
        rate(read, first_time),
        rate(read, steady_time),
        rate(all, sealed_sql),
        rate(all, plain_sql),
    );
    println!(
        "(a) first recompute:  {:>8.2}s  {:>10.0} interactions/s  ({} customers, {} attributes)",
        first_time.as_secs_f64(),
        a,
        first.customers,
        first.attributes
    );
    println!(
        "(b) steady recompute: {:>8.2}s  {:>10.0} interactions/s  ({} attributes)",
        steady_time.as_secs_f64(),
        b,
        steady.attributes
    );
    println!(
        "(c) GROUP BY kind:    {:>8.2}s  {:>10.0} interactions/s  ({groups} groups, every customer)",
        sealed_sql.as_secs_f64(),
        c
    );
    println!(
        "(d) plain GROUP BY:   {:>8.2}s  {:>10.0} interactions/s  ({plain_groups} groups, categories in clear)",
        plain_sql.as_secs_f64(),
        d
    );
    println!(
        "ratios per interaction: (c)/(a) {:.1}, (c)/(b) {:.1}, (d)/(a) {:.1}, (d)/(c) {:.1}",
        c / a,
        c / b,
        d / a,
        d / c
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
