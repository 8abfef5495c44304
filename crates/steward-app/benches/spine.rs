//! End-to-end throughput of Steward's spine — bulk import, audited reads and audit-chain
//! verification — each against a plain baseline measured in the same run. The import is
//! compared twice: with a plain insert under one email index, and with the same CRM with
//! privacy off (the rows in clear under unique indexes on email and phone, as Steward keeps
//! them unique through its blind index), both over the same shuffled, realistic customers
//! and in the same batches.
//!
//! Run: `cargo bench -p steward-app --bench spine [-- ROWS]`, or set `STEWARD_BENCH_ROWS`.
//! The default is 100_000 rows.
//!
//! With `STEWARD_BENCH_DATABASE_URL` set to a PostgreSQL server (any database on it the
//! user may connect to, and a user that may create databases), the import is measured on
//! PostgreSQL too: Steward's, with its data in a database made for the run (the key store
//! stays SQLite), against a binary `COPY` of the same rows into a table of the same shape
//! under the same two unique indexes. The databases it makes are dropped at the end.

mod common;

use common::{BenchResult, options, size};

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use steward_app::import::ImportOptions;
use steward_app::{CustomerQuery, Steward};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_ROWS: usize = 100_000;
const GET_ITERATIONS: usize = 20_000;
const BATCH: usize = 20_000;
const PURPOSE: &str = "essential.service";
const AUDIT_BUFFER: usize = 200;
const RAW_RUNS: usize = 3;

/// The CSV columns: eight catalog fields, then residency.
const COLUMNS: [&str; 9] = [
    "given_name",
    "family_name",
    "email",
    "phone",
    "postal_address",
    "birth_date",
    "preferred_language",
    "company",
    "residency",
];

/// Same pragmas as `SqliteStore`'s connections.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
     PRAGMA synchronous = FULL;
     PRAGMA foreign_keys = ON;
     PRAGMA busy_timeout = 10000;
     PRAGMA cache_size = -8192;
     PRAGMA temp_store = MEMORY;
     PRAGMA wal_autocheckpoint = 8192;
     PRAGMA journal_size_limit = 67108864;";

/// Rows used when `cargo test --all-targets` runs this file (without `--bench`): enough to
/// show the benchmark still works, too few to cost the test suite time.
const SMOKE_ROWS: usize = 300;

const GIVEN: [&str; 8] = [
    "Anna",
    "Jörg",
    "Zoë",
    "Mehmet",
    "Łucja",
    "Sofía",
    "Olúwadáre",
    "Chloé",
];
const FAMILY: [&str; 8] = [
    "Müller", "Nowak", "García", "Yılmaz", "O'Brien", "Schmidt", "Dubois", "Rossi",
];
/// The names as people write them in an email address.
const GIVEN_ASCII: [&str; 8] = [
    "anna",
    "joerg",
    "zoe",
    "mehmet",
    "lucja",
    "sofia",
    "oluwadare",
    "chloe",
];
const FAMILY_ASCII: [&str; 8] = [
    "mueller", "nowak", "garcia", "yilmaz", "obrien", "schmidt", "dubois", "rossi",
];
const DOMAINS: [&str; 6] = [
    "example.com",
    "example.org",
    "mail.example.net",
    "example.de",
    "post.example.fr",
    "example.it",
];
const STREETS: [&str; 6] = [
    "Lindenstraße",
    "Rue de la Paix",
    "Via Roma",
    "ul. Długa",
    "Calle Mayor",
    "Kerkstraat",
];
const CITIES: [(&str, &str); 6] = [
    ("10115", "Berlin"),
    ("75002", "Paris"),
    ("00184", "Roma"),
    ("80-831", "Gdańsk"),
    ("28013", "Madrid"),
    ("1012", "Amsterdam"),
];

/// Row `i` of the customers file: realistic names, addresses, emails and phone numbers in an
/// order that does not follow `i`, as a real export's would not (an index fed sequential keys
/// only ever appends). Multiplying by an odd constant modulo 2^32 is a bijection, so every
/// email and phone number stays unique.
fn record(i: usize) -> [String; 9] {
    let k = (i as u64).wrapping_mul(2_654_435_761) & 0xffff_ffff;
    let pick = |n: u64, len: usize| (n % len as u64) as usize;
    let (g, f) = (pick(k >> 3, GIVEN.len()), pick(k >> 7, FAMILY.len()));
    let (zip, city) = CITIES[pick(k >> 11, CITIES.len())];
    [
        GIVEN[g].to_string(),
        FAMILY[f].to_string(),
        format!(
            "{}.{}{k:x}@{}",
            GIVEN_ASCII[g],
            FAMILY_ASCII[f],
            DOMAINS[pick(k >> 13, DOMAINS.len())]
        ),
        format!("+49{k:010}"),
        format!(
            "{} {}, {zip} {city}",
            STREETS[pick(k >> 17, STREETS.len())],
            k % 211 + 1
        ),
        format!("19{:02}-{:02}-{:02}", 40 + k % 60, 1 + k % 12, 1 + k % 28),
        ["de", "fr", "it", "pl", "es", "nl"][pick(k >> 5, 6)].to_string(),
        format!("Company {}", k % 1_000),
        ["DE", "FR", "IT", "PL", "ES", "NL"][pick(k >> 11, 6)].to_string(),
    ]
}

fn write_csv(path: &Path, rows: usize) -> BenchResult<()> {
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(COLUMNS)?;
    for i in 0..rows {
        w.write_record(record(i))?;
    }
    w.into_inner().map_err(|e| e.to_string())?.flush()?;
    Ok(())
}

fn open_raw(path: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(PRAGMAS)?;
    Ok(conn)
}

/// The plain insert's one index: emails looked up, not kept unique.
const PLAIN_INDEXES: &str = "CREATE INDEX customers_email ON customers (email);";

/// The same CRM with privacy off: what Steward keeps unique (through its blind index) kept
/// unique in clear, as any customer database would.
const PRIVACY_OFF_INDEXES: &str = "CREATE UNIQUE INDEX customers_email ON customers (email);
     CREATE UNIQUE INDEX customers_phone ON customers (phone);";

/// Baseline for the import: the same CSV read and inserted as plaintext, one transaction
/// per batch, with a prepared cached statement, under `indexes`. Returns the ids in file
/// order.
fn raw_import(conn: &mut Connection, csv_path: &Path, indexes: &str) -> BenchResult<Vec<Uuid>> {
    conn.execute_batch(&format!(
        "CREATE TABLE customers (
            id BLOB PRIMARY KEY,
            given_name TEXT, family_name TEXT, email TEXT, phone TEXT, postal_address TEXT,
            birth_date TEXT, preferred_language TEXT, company TEXT, residency TEXT
         );
         {indexes}"
    ))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(csv_path)?;
    let mut record = csv::StringRecord::new();
    let mut ids = Vec::new();
    let mut more = true;
    while more {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO customers (id, given_name, family_name, email, phone, postal_address, birth_date,
                   preferred_language, company, residency)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for _ in 0..BATCH {
                if !reader.read_record(&mut record)? {
                    more = false;
                    break;
                }
                let id = Uuid::now_v7();
                let f = |i: usize| record.get(i).unwrap_or_default();
                stmt.execute(params![
                    id.as_bytes().as_slice(),
                    f(0),
                    f(1),
                    f(2),
                    f(3),
                    f(4),
                    f(5),
                    f(6),
                    f(7),
                    f(8)
                ])?;
                ids.push(id);
            }
        }
        tx.commit()?;
    }
    Ok(ids)
}

/// The best of [`RAW_RUNS`] plaintext imports of `csv_path` under `indexes`, each into a
/// fresh file: its time, connection, ids and path.
fn best_raw_import(
    dir: &Path,
    name: &str,
    csv_path: &Path,
    indexes: &str,
    rows: usize,
) -> BenchResult<(Duration, Connection, Vec<Uuid>, std::path::PathBuf)> {
    let mut best: Option<(Duration, Connection, Vec<Uuid>, std::path::PathBuf)> = None;
    for run in 0..RAW_RUNS {
        let path = dir.join(format!("{name}-{run}.db"));
        let mut raw = open_raw(&path)?;
        let t = Instant::now();
        let ids = raw_import(&mut raw, csv_path, indexes)?;
        let took = t.elapsed();
        if ids.len() != rows {
            return Err(format!("{name} import stored {} rows, expected {rows}", ids.len()).into());
        }
        if best.as_ref().is_none_or(|(b, ..)| took < *b) {
            best = Some((took, raw, ids, path));
        }
    }
    best.ok_or_else(|| "no baseline run".into())
}

/// The storage floor of the app import: the rows it stored (sealed fields, blind-index
/// entries, wrapped data keys) copied again, in the order and batches it wrote them, into an
/// empty Steward schema, with nothing computed on the way: no parsing, sealing, hashing,
/// lookups or audit. An import that stores these rows cannot be faster than this here, so
/// its ratio to the raw baseline bounds the app import's. Each batch is staged in memory
/// first, outside the clock.
fn storage_floor(imported: &Path, empty: &Path) -> BenchResult<Duration> {
    let conn = open_raw(&empty.join("steward.db"))?;
    let attach = |name: &str, path: std::path::PathBuf| -> BenchResult<()> {
        conn.execute(
            &format!("ATTACH ?1 AS {name}"),
            [path.to_str().ok_or("path is not UTF-8")?],
        )?;
        Ok(())
    };
    attach("src", imported.join("steward.db"))?;
    attach("keys", empty.join("keys").join("keystore.db"))?;
    attach("src_keys", imported.join("keys").join("keystore.db"))?;
    // The key store's own setting: each commit reaches the disk.
    conn.execute_batch("PRAGMA keys.synchronous = FULL;")?;
    let rowids: Vec<i64> = conn
        .prepare("SELECT rowid FROM src.customers ORDER BY rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut took = Duration::ZERO;
    for batch in rowids.chunks(BATCH) {
        let (first, last) = (batch[0], batch[batch.len() - 1]);
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS temp.c; DROP TABLE IF EXISTS temp.u;
             DROP TABLE IF EXISTS temp.b; DROP TABLE IF EXISTS temp.k;
             CREATE TEMP TABLE c AS
               SELECT * FROM src.customers WHERE rowid BETWEEN {first} AND {last} ORDER BY rowid;
             CREATE TEMP TABLE u AS SELECT * FROM src.unique_index
               WHERE customer_id IN (SELECT id FROM temp.c) ORDER BY field, digest;
             CREATE TEMP TABLE b AS SELECT * FROM src.blind_index
               WHERE customer_id IN (SELECT id FROM temp.c) ORDER BY field, digest;
             CREATE TEMP TABLE k AS SELECT * FROM src_keys.data_keys
               WHERE customer_id IN (SELECT id FROM temp.c) ORDER BY customer_id;"
        ))?;
        // The import writes its keys before the batch that needs them, each in its own
        // transaction; so does this.
        let t = Instant::now();
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             INSERT INTO keys.data_keys SELECT * FROM temp.k ORDER BY rowid;
             COMMIT;
             BEGIN IMMEDIATE;
             INSERT INTO main.customers SELECT * FROM temp.c ORDER BY rowid;
             INSERT INTO main.unique_index SELECT * FROM temp.u ORDER BY rowid;
             INSERT INTO main.blind_index SELECT * FROM temp.b ORDER BY rowid;
             COMMIT;",
        )?;
        took += t.elapsed();
    }
    let copied: i64 = conn.query_row("SELECT COUNT(*) FROM main.customers", [], |r| r.get(0))?;
    if copied as usize != rowids.len() {
        return Err(format!("the floor copied {copied} of {} customers", rowids.len()).into());
    }
    Ok(took)
}

/// Baseline for reads: primary-key lookups of the plaintext rows.
fn raw_gets(conn: &Connection, ids: &[Uuid], picks: &[usize]) -> BenchResult<usize> {
    let mut stmt = conn.prepare_cached(
        "SELECT given_name, family_name, email, phone, postal_address, birth_date, preferred_language, company,
           residency
         FROM customers WHERE id = ?1",
    )?;
    let mut bytes = 0;
    for &p in picks {
        let row: [String; 9] = stmt.query_row([ids[p].as_bytes().as_slice()], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ])
        })?;
        bytes += row.iter().map(String::len).sum::<usize>();
        black_box(&row);
    }
    Ok(bytes)
}

/// Baseline for access histories: the newest 50 entries naming a customer found by scanning
/// the log from its end, as access histories were read before the log's targets were listed.
fn scan_history(log: &Connection, id: Uuid) -> BenchResult<Vec<i64>> {
    let mut stmt = log.prepare_cached(
        "SELECT seq FROM audit_log WHERE instr(targets, ?1) > 0 ORDER BY seq DESC LIMIT 50",
    )?;
    let seqs = stmt
        .query_map([format!("\"{id}\"")], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    if seqs.is_empty() {
        return Err(format!("the scan found no entry naming {id}").into());
    }
    Ok(seqs)
}

/// Baseline for verification: one SHA-256 per entry over a 200-byte buffer.
fn sha_baseline(entries: u64) -> [u8; 32] {
    let mut buf = [0x5au8; AUDIT_BUFFER];
    let mut acc = [0u8; 32];
    for i in 0..entries {
        buf[..8].copy_from_slice(&i.to_be_bytes());
        buf[8..40].copy_from_slice(&acc);
        acc = Sha256::digest(black_box(&buf[..])).into();
    }
    acc
}

fn per_sec(count: u64, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}

/// Starts the peak RSS over from the current RSS (Linux's `clear_refs` 5), so the next
/// reading is the peak of what follows, and returns that RSS; nothing where that is not
/// possible.
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Formats a rate with thousands separators.
fn rate(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

struct Line {
    what: &'static str,
    unit: &'static str,
    app: f64,
    app_time: Duration,
    base_what: &'static str,
    base: f64,
    base_time: Duration,
}

fn print_table(lines: &[Line]) {
    println!();
    println!(
        "{:<22} {:>12} {:>9} | {:<28} {:>12} {:>9} | {:>10} {:>9}",
        "phase", "app /s", "app s", "baseline", "base /s", "base s", "app/base", "slowdown"
    );
    println!("{}", "-".repeat(126));
    for l in lines {
        let ratio = l.app / l.base;
        println!(
            "{:<22} {:>12} {:>9.3} | {:<28} {:>12} {:>9.3} | {:>10.4} {:>8.1}x",
            format!("{} ({})", l.what, l.unit),
            rate(l.app),
            l.app_time.as_secs_f64(),
            l.base_what,
            rate(l.base),
            l.base_time.as_secs_f64(),
            ratio,
            1.0 / ratio,
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn import_options(dir: &Path) -> ImportOptions {
    ImportOptions {
        purpose: PURPOSE.to_string(),
        default_residency: None,
        header_map: Default::default(),
        reject_path: dir.join("rejects.csv"),
        batch_size: BATCH,
    }
}

/// Steward's import of `csv_path`, checked to have created every row: its time.
async fn app_import(
    app: &Steward,
    actor: &steward_app::Actor,
    csv_path: &Path,
    opts: &ImportOptions,
    rows: usize,
) -> BenchResult<Duration> {
    let t = Instant::now();
    let report = app
        .customers()
        .import(actor, csv_path, opts, |_| ControlFlow::Continue(()))
        .await?;
    let took = t.elapsed();
    let p = report.progress;
    if p.created != rows as u64 || p.rejected != 0 || !report.finished {
        return Err(format!(
            "app import: created {} rejected {} finished {} (expected {rows} created)",
            p.created, p.rejected, report.finished
        )
        .into());
    }
    Ok(took)
}

/// The peak RSS of the import just made, with what the process already held when it began
/// (the baselines' leftovers, the application opened), or of the whole process when it could
/// not be started over before it.
fn print_import_peak(start: Option<u64>) {
    let Some(kib) = peak_rss_kib() else {
        return;
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    match start {
        Some(start) => println!(
            "peak RSS during the app import (VmHWM): {:.1} MiB, {:.1} MiB of it held when the \
             import began (goal: under 200 MB at 1_000_000 rows)",
            mib(kib),
            mib(start)
        ),
        None => println!(
            "peak RSS of the process up to the end of the app import (VmHWM): {:.1} MiB \
             (goal: under 200 MB at 1_000_000 rows)",
            mib(kib)
        ),
    }
}

/// The plaintext columns in the order of the CSV, after the id.
const COPY_TYPES: [tokio_postgres::types::Type; 10] = {
    use tokio_postgres::types::Type;
    [
        Type::UUID,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ]
};

/// Baseline for the import on PostgreSQL: the same CSV read and sent as plaintext by binary
/// `COPY`, one per batch, into a fresh table of the same shape as the privacy-off SQLite
/// baseline's, unique on email and phone. Returns the rows stored.
async fn copy_import(client: &tokio_postgres::Client, csv_path: &Path) -> BenchResult<usize> {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS customers;
             CREATE TABLE customers (
               id UUID PRIMARY KEY,
               given_name TEXT, family_name TEXT, email TEXT, phone TEXT, postal_address TEXT,
               birth_date TEXT, preferred_language TEXT, company TEXT, residency TEXT
             );
             CREATE UNIQUE INDEX customers_email ON customers (email);
             CREATE UNIQUE INDEX customers_phone ON customers (phone);",
        )
        .await?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(csv_path)?;
    let mut record = csv::StringRecord::new();
    let mut stored = 0;
    let mut more = true;
    while more {
        let sink = client
            .copy_in(
                "COPY customers (id, given_name, family_name, email, phone, postal_address,
                   birth_date, preferred_language, company, residency) FROM STDIN (FORMAT binary)",
            )
            .await?;
        let mut writer = std::pin::pin!(tokio_postgres::binary_copy::BinaryCopyInWriter::new(
            sink,
            &COPY_TYPES
        ));
        for _ in 0..BATCH {
            if !reader.read_record(&mut record)? {
                more = false;
                break;
            }
            let id = Uuid::now_v7();
            let f = |i: usize| record.get(i).unwrap_or_default();
            writer
                .as_mut()
                .write(&[
                    &id,
                    &f(0),
                    &f(1),
                    &f(2),
                    &f(3),
                    &f(4),
                    &f(5),
                    &f(6),
                    &f(7),
                    &f(8),
                ])
                .await?;
        }
        stored += writer.as_mut().finish().await? as usize;
    }
    Ok(stored)
}

/// A database made on the benchmark's PostgreSQL server for one part of the run.
struct BenchDatabase {
    name: String,
    url: String,
}

/// Connects to `url` without TLS: the benchmark's server is a local one.
async fn pg_connect(url: &str) -> BenchResult<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// `url` with its database replaced by `db`.
fn url_with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = base[after_scheme..]
        .find('/')
        .map_or(base, |i| &base[..after_scheme + i]);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

async fn create_database(
    admin: &tokio_postgres::Client,
    server: &str,
    part: &str,
) -> BenchResult<BenchDatabase> {
    let name = format!("steward_bench_{part}_{}", Uuid::now_v7().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(BenchDatabase {
        url: url_with_db(server, &name),
        name,
    })
}

/// The import on PostgreSQL, Steward's against the binary `COPY` baseline; the databases
/// it made are dropped whatever happened.
async fn postgres_phase(server: &str, dir: &Path, csv_path: &Path, rows: usize) -> BenchResult<()> {
    let admin = pg_connect(server).await?;
    let mut made = Vec::new();
    let outcome = postgres_imports(&admin, server, dir, csv_path, rows, &mut made).await;
    for db in made {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name))
            .await?;
    }
    outcome
}

async fn postgres_imports(
    admin: &tokio_postgres::Client,
    server: &str,
    dir: &Path,
    csv_path: &Path,
    rows: usize,
    made: &mut Vec<BenchDatabase>,
) -> BenchResult<()> {
    let version: String = admin.query_one("SHOW server_version", &[]).await?.get(0);
    println!();
    println!(
        "PostgreSQL {version}: the import with the data in PostgreSQL (the key store in SQLite)"
    );
    made.push(create_database(admin, server, "copy").await?);
    let baseline = pg_connect(&made[made.len() - 1].url).await?;
    let mut copy_time: Option<Duration> = None;
    for _ in 0..RAW_RUNS {
        let t = Instant::now();
        let stored = copy_import(&baseline, csv_path).await?;
        let took = t.elapsed();
        if stored != rows {
            return Err(format!("COPY stored {stored} rows, expected {rows}").into());
        }
        copy_time = Some(copy_time.map_or(took, |best| best.min(took)));
    }
    let copy_time = copy_time.ok_or("no COPY run")?;
    drop(baseline);

    made.push(create_database(admin, server, "app").await?);
    let data_dir = dir.join("steward-pg");
    let mut options = options(&data_dir)?;
    options.database_url = Some(made[made.len() - 1].url.clone());
    let (app, operator) = Steward::open_as_operator(options).await?;
    let app = Arc::new(app);
    tokio::spawn(app.jobs().audit_indexer(std::future::pending()));
    let actor = operator.actor("bench", &[PURPOSE]);
    let peak_of_import = reset_peak_rss();
    let app_time = app_import(&app, &actor, csv_path, &import_options(dir), rows).await?;
    println!(
        "import: app {:.2}s, COPY {:.2}s (best of {RAW_RUNS}, a fresh table each)",
        app_time.as_secs_f64(),
        copy_time.as_secs_f64()
    );
    print_import_peak(peak_of_import);
    print_table(&[Line {
        what: "import (PG)",
        unit: "rows",
        app: per_sec(rows as u64, app_time),
        app_time,
        base_what: "COPY binary, unique email+ph",
        base: per_sec(rows as u64, copy_time),
        base_time: copy_time,
    }]);
    Ok(())
}

async fn run(rows: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let csv_path = tmp.path().join("customers.csv");
    let started = Instant::now();
    write_csv(&csv_path, rows)?;
    println!(
        "generated {rows} rows ({:.1} MiB CSV) in {:.2}s under {}",
        std::fs::metadata(&csv_path)?.len() as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64(),
        tmp.path().display()
    );

    // 1. Import. The baselines are short and this machine is shared: the best of three runs
    // of each, each into a fresh file, is the one compared (the strictest comparison for the
    // app).
    let (raw_import_time, raw, raw_ids, raw_path) =
        best_raw_import(tmp.path(), "raw", &csv_path, PLAIN_INDEXES, rows)?;
    let raw_wal = raw_path.with_extension("db-wal");
    let (privacy_off_time, ..) = best_raw_import(
        tmp.path(),
        "privacy-off",
        &csv_path,
        PRIVACY_OFF_INDEXES,
        rows,
    )?;

    let data_dir = tmp.path().join("steward");
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let app = Arc::new(app);
    // The background work `steward serve` runs beside everything else.
    tokio::spawn(app.jobs().audit_indexer(std::future::pending()));
    let actor = operator.actor("bench", &[PURPOSE]);
    let opts = import_options(tmp.path());
    let peak_of_import = reset_peak_rss();
    let app_import_time = app_import(&app, &actor, &csv_path, &opts, rows).await?;
    let mib = |path: &Path| {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / (1024.0 * 1024.0)
    };
    println!(
        "import: app {:.2}s, raw {:.2}s; on disk: app {:.1} MiB (steward.db {:.1} + wal {:.1}, keystore.db {:.1}), \
         raw {:.1} MiB (db {:.1} + wal {:.1})",
        app_import_time.as_secs_f64(),
        raw_import_time.as_secs_f64(),
        dir_size(&data_dir) as f64 / (1024.0 * 1024.0),
        mib(&data_dir.join("steward.db")),
        mib(&data_dir.join("steward.db-wal")),
        mib(&data_dir.join("keys").join("keystore.db")),
        mib(&raw_path) + mib(&raw_wal),
        mib(&raw_path),
        mib(&raw_wal),
    );
    print_import_peak(peak_of_import);

    let floor_dir = tmp.path().join("floor");
    drop(Steward::open(options(&floor_dir)?).await?);
    let floor_time = storage_floor(&data_dir, &floor_dir)?;

    // 2. Reads. Ids come from list pages (each page is itself an audited, decrypting read).
    let access = app.access(&actor, Some(PURPOSE))?;
    let t = Instant::now();
    let mut ids = Vec::with_capacity(rows);
    let mut cursor = None;
    loop {
        let page = app
            .customers()
            .list(
                &access,
                CustomerQuery {
                    cursor,
                    limit: Some(500),
                    ..Default::default()
                },
            )
            .await?;
        ids.extend(page.items.iter().map(|c| c.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let list_time = t.elapsed();
    if ids.len() != rows {
        return Err(format!("listed {} customers, expected {rows}", ids.len()).into());
    }
    println!(
        "list: {} customers in {:.2}s ({} rows/s, pages of 500)",
        ids.len(),
        list_time.as_secs_f64(),
        rate(per_sec(ids.len() as u64, list_time))
    );

    let mut rng = StdRng::seed_from_u64(0x5eed);
    let picks: Vec<usize> = (0..GET_ITERATIONS.min(rows * 4))
        .map(|_| rng.gen_range(0..rows))
        .collect();
    let mut latencies = Vec::with_capacity(picks.len());
    let t = Instant::now();
    for &i in &picks {
        let one = Instant::now();
        let view = app.customers().get(&access, ids[i]).await?;
        latencies.push(one.elapsed());
        if view.fields.len() != 8 {
            return Err(format!(
                "customer {} shows {} fields, expected 8",
                view.id,
                view.fields.len()
            )
            .into());
        }
        black_box(&view);
    }
    let app_get_time = t.elapsed();
    latencies.sort();
    println!(
        "get: app latency p50 {:.1}us p99 {:.1}us max {:.1}us",
        percentile(&latencies, 0.5).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
    );

    let t = Instant::now();
    black_box(raw_gets(&raw, &raw_ids, &picks)?);
    let raw_get_time = t.elapsed();

    // Access histories, read from a log that now holds an entry for every get above and
    // the import's entries naming every customer, once the indexer (a pass a second) has
    // listed them, as it has for any visit a moment later.
    let histories = &picks[..picks.len().min(500)];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    for &i in histories {
        let history = app.audit().access_history(&access, ids[i]).await?;
        if history.is_empty() {
            return Err(format!("customer {} has no access history", ids[i]).into());
        }
        black_box(&history);
    }
    let history_time = t.elapsed();
    let log = Connection::open(data_dir.join("steward.db"))?;
    let t = Instant::now();
    for &i in histories {
        black_box(scan_history(&log, ids[i])?);
    }
    let scan_time = t.elapsed();
    println!(
        "access history: {} reads over an audit log of {} entries",
        histories.len(),
        app.audit().length().await?
    );

    // 3. Audit verification.
    let t = Instant::now();
    let verify = app.audit().verify().await?;
    let verify_time = t.elapsed();
    if !verify.ok {
        return Err(format!("audit chain did not verify: {:?}", verify.problem).into());
    }
    println!(
        "verify: {} entries, in {:.3}s",
        verify.entries,
        verify_time.as_secs_f64()
    );
    let t = Instant::now();
    black_box(sha_baseline(verify.entries));
    let sha_time = t.elapsed();

    print_table(&[
        Line {
            what: "import",
            unit: "rows",
            app: per_sec(rows as u64, app_import_time),
            app_time: app_import_time,
            base_what: "rusqlite plaintext insert",
            base: per_sec(rows as u64, raw_import_time),
            base_time: raw_import_time,
        },
        Line {
            what: "import",
            unit: "rows",
            app: per_sec(rows as u64, app_import_time),
            app_time: app_import_time,
            base_what: "privacy off, unique email+ph",
            base: per_sec(rows as u64, privacy_off_time),
            base_time: privacy_off_time,
        },
        Line {
            what: "import floor",
            unit: "rows",
            app: per_sec(rows as u64, floor_time),
            app_time: floor_time,
            base_what: "rusqlite plaintext insert",
            base: per_sec(rows as u64, raw_import_time),
            base_time: raw_import_time,
        },
        Line {
            what: "get-customer",
            unit: "gets",
            app: per_sec(picks.len() as u64, app_get_time),
            app_time: app_get_time,
            base_what: "rusqlite primary-key select",
            base: per_sec(picks.len() as u64, raw_get_time),
            base_time: raw_get_time,
        },
        Line {
            what: "access history",
            unit: "reads",
            app: per_sec(histories.len() as u64, history_time),
            app_time: history_time,
            base_what: "scan of the audit log",
            base: per_sec(histories.len() as u64, scan_time),
            base_time: scan_time,
        },
        Line {
            what: "verify-audit",
            unit: "entries",
            app: per_sec(verify.entries, verify_time),
            app_time: verify_time,
            base_what: "SHA-256 of 200-byte buffers",
            base: per_sec(verify.entries, sha_time),
            base_time: sha_time,
        },
    ]);
    println!();
    println!(
        "notes: the app import also writes one wrapped data key per customer to the key store"
    );
    println!("       (WAL, synchronous FULL) and one audit entry per batch of {BATCH};");
    println!("       every app get decrypts 8 fields and appends (and commits) one audit entry.");
    println!(
        "       import floor: the app's stored rows and keys copied in its order and batches into an"
    );
    println!(
        "       empty schema, nothing computed: the ceiling of any import storing them ({:.0}% reached).",
        100.0 * floor_time.as_secs_f64() / app_import_time.as_secs_f64()
    );
    if let Ok(server) = std::env::var("STEWARD_BENCH_DATABASE_URL") {
        postgres_phase(&server, tmp.path(), &csv_path, rows).await?;
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let rows = size(SMOKE_ROWS, DEFAULT_ROWS, 1, Some("STEWARD_BENCH_ROWS"))?;
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "steward spine benchmark: {rows} rows, {} gets, {cpus} CPUs",
        GET_ITERATIONS.min(rows * 4)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(rows))?;
    match peak_rss_kib() {
        Some(kib) => println!(
            "peak RSS from the start of the last app import to the end (VmHWM): {kib} kB ({:.1} MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("peak RSS (VmHWM): unavailable"),
    }
    Ok(())
}
