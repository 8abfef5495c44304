//! Finding customers: by whole words of a name (blind-index entries of each word) next to
//! the email lookup (one blind-index entry), both through the list use case with its purpose
//! check, decryption of the page and audit entry; and the name search against the same job
//! without the privacy work: the same words in clear in a table of the same shape, the same
//! query over the same rows, the page read but nothing opened or audited.
//!
//! Run: `cargo bench -p steward-app --bench search [-- CUSTOMERS]` (default 1,000,000).
//! The customers are imported through the import use case from a CSV of realistic names:
//! family names drawn so that the commonest holds about 1.4% of customers, as the commonest
//! surnames of a country do, given names from a smaller pool, shuffled emails. Then the
//! customer list sorted by last interaction, first page and a page deep in the list.

mod common;

use common::{BenchResult, options, size};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use steward_app::import::ImportOptions;
use steward_app::{Access, CustomerQuery, Steward};

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 1_000_000;
const SMOKE_CUSTOMERS: usize = 300;
const QUERIES: usize = 2_000;
const PAGE: usize = 25;
const PURPOSE: &str = "essential.service";
const FAMILY_NAMES: usize = 5_000;

const GIVEN: [&str; 24] = [
    "Anna",
    "Jörg",
    "Zoë",
    "Mehmet",
    "Łucja",
    "Sofía",
    "Olúwadáre",
    "Chloé",
    "Ahmed",
    "Maria",
    "Jan",
    "Sven",
    "Elif",
    "Noah",
    "Mia",
    "Luca",
    "Inès",
    "Björn",
    "Ana-Lucía",
    "Seán",
    "Fatima",
    "Yuki",
    "Omar",
    "Ewa",
];
const ONSETS: [&str; 16] = [
    "M", "N", "G", "Y", "Sch", "D", "R", "K", "B", "W", "H", "L", "P", "T", "V", "Ż",
];
const NUCLEI: [&str; 8] = ["ü", "o", "a", "ı", "e", "i", "ö", "ar"];
const CODAS: [&str; 16] = [
    "ller", "wak", "rcía", "lmaz", "midt", "bois", "ssi", "nen", "berg", "ski", "ez", "son",
    "mann", "ová", "elli", "sen",
];

/// The `n`th family name of the pool: onset, vowel and ending, with an apostrophe or a second
/// part now and then, as real family names have.
fn family(n: usize) -> String {
    let base = format!(
        "{}{}{}",
        ONSETS[n % 16],
        NUCLEI[(n / 16) % 8],
        CODAS[(n / 128) % 16]
    );
    match n / 2048 {
        0 => base,
        1 => format!("O'{base}"),
        _ => format!("{base}-{}", ONSETS[(n / 7) % 16]),
    }
}

/// A family name drawn so that low numbers are common: the square of a uniform draw puts
/// about 1.4% of customers under the commonest of 5,000 names.
fn draw_family(rng: &mut StdRng) -> usize {
    let u: f64 = rng.r#gen();
    ((u * u) * FAMILY_NAMES as f64) as usize % FAMILY_NAMES
}

struct Person {
    given: usize,
    family: usize,
    email: String,
}

fn people(n: usize) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(11);
    (0..n)
        .map(|i| {
            // An odd multiplier modulo 2^32 is a bijection: unique emails in no order.
            let k = (i as u64).wrapping_mul(2_654_435_761) & 0xffff_ffff;
            Person {
                given: rng.gen_range(0..GIVEN.len()),
                family: draw_family(&mut rng),
                email: format!("c{k:x}@example.org"),
            }
        })
        .collect()
}

fn write_csv(path: &Path, people: &[Person]) -> BenchResult<()> {
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(["given_name", "family_name", "email", "residency"])?;
    for p in people {
        w.write_record([GIVEN[p.given], &family(p.family), &p.email, "DE"])?;
    }
    w.into_inner().map_err(|e| e.to_string())?.flush()?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len().max(1) - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

struct Timing {
    rate: f64,
    p50: Duration,
    p99: Duration,
    found: usize,
}

/// Runs each query once in turn; `found` is the number of customers the pages held.
async fn timed<F, Fut>(queries: &[String], mut run: F) -> BenchResult<Timing>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = BenchResult<usize>>,
{
    let mut took = Vec::with_capacity(queries.len());
    let mut found = 0;
    let start = Instant::now();
    for q in queries {
        let t = Instant::now();
        found += run(q.clone()).await?;
        took.push(t.elapsed());
    }
    let all = start.elapsed();
    took.sort_unstable();
    Ok(Timing {
        rate: queries.len() as f64 / all.as_secs_f64(),
        p50: percentile(&took, 0.5),
        p99: percentile(&took, 0.99),
        found,
    })
}

fn show(name: &str, t: &Timing) {
    println!(
        "{name:<44} {:>9.0}/s  p50 {:>8.3} ms  p99 {:>8.3} ms  ({} customers on the pages)",
        t.rate,
        t.p50.as_secs_f64() * 1e3,
        t.p99.as_secs_f64() * 1e3,
        t.found
    );
}

async fn list(app: &Steward, access: &Access, q: CustomerQuery) -> BenchResult<usize> {
    Ok(app.customers().list(access, q).await?.items.len())
}

/// A page of the customers with the address `email`.
fn by_email(email: String) -> CustomerQuery {
    CustomerQuery {
        email: Some(email),
        limit: Some(PAGE),
        ..Default::default()
    }
}

/// A page of the customers with every word of `words` in their name.
fn by_name(words: String) -> CustomerQuery {
    CustomerQuery {
        name: Some(words),
        limit: Some(PAGE),
        ..Default::default()
    }
}

/// Steward's list for each input, made into a query by `query`.
async fn timed_list(
    app: &Steward,
    access: &Access,
    inputs: &[String],
    query: fn(String) -> CustomerQuery,
) -> BenchResult<Timing> {
    timed(inputs, |i| list(app, access, query(i))).await
}

/// The same search in clear for each input.
async fn timed_plain(plain: &Connection, inputs: &[String]) -> BenchResult<Timing> {
    timed(inputs, |w| {
        let found = plain_search(plain, &w);
        async move { found }
    })
    .await
}

/// The same rows and words in clear, in tables of Steward's shape: one row per customer,
/// one per word with the same primary key, the words folded by the same function so that
/// both answer the same queries.
fn plain_copy(path: &Path, people: &[Person]) -> BenchResult<Connection> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -8192;
         CREATE TABLE customers (id INTEGER PRIMARY KEY, given TEXT NOT NULL, family TEXT NOT NULL,
             email TEXT NOT NULL, residency TEXT NOT NULL, status TEXT NOT NULL);
         CREATE TABLE words (field TEXT NOT NULL, word TEXT NOT NULL, customer_id INTEGER NOT NULL,
             PRIMARY KEY (field, word, customer_id)) WITHOUT ROWID;",
    )?;
    let tx = conn.transaction()?;
    {
        let mut row =
            tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, 'DE', 'active')")?;
        let mut word = tx.prepare("INSERT OR IGNORE INTO words VALUES (?1, ?2, ?3)")?;
        for (id, p) in people.iter().enumerate() {
            let family = family(p.family);
            row.execute(rusqlite::params![
                id as i64,
                GIVEN[p.given],
                family,
                p.email
            ])?;
            for (field, value) in [("given_name", GIVEN[p.given]), ("family_name", &family)] {
                for w in steward_app::core::name_tokens::name_tokens(value) {
                    word.execute(rusqlite::params![field, w, id as i64])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(conn)
}

/// The same query as Steward's, the rarest word first, over the words in clear.
fn plain_search(conn: &Connection, words: &str) -> BenchResult<usize> {
    const FIELDS: &str = "field IN ('given_name', 'family_name', 'company')";
    let mut tokens: Vec<(i64, String)> = Vec::new();
    for t in steward_app::core::name_tokens::name_tokens(words) {
        let n = conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM words WHERE {FIELDS} AND word = ?1 LIMIT 2000)"
            ))?
            .query_row([&t], |r| r.get(0))?;
        tokens.push((n, t));
    }
    tokens.sort();
    let mut sql = String::from(
        "SELECT id, given, family, email, residency, status FROM customers c WHERE 1 = 1",
    );
    for i in 0..tokens.len() {
        if i == 0 {
            sql.push_str(&format!(
                " AND c.id IN (SELECT customer_id FROM words WHERE {FIELDS} AND word = ?)"
            ));
        } else {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM words w WHERE w.{FIELDS} AND w.word = ? AND w.customer_id = c.id)"
            ));
        }
    }
    sql.push_str(&format!(" ORDER BY c.id LIMIT {}", PAGE + 1));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        rusqlite::params_from_iter(tokens.iter().map(|(_, t)| t)),
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(3)?,
            ))
        },
    )?;
    Ok(rows.count().min(PAGE))
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let people = people(n);
    let csv_path = tmp.path().join("customers.csv");
    write_csv(&csv_path, &people)?;
    let data_dir = tmp.path().join("steward");
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let actor = operator.actor("bench", &[PURPOSE]);
    let t = Instant::now();
    let report = app
        .customers()
        .import(
            &actor,
            &csv_path,
            &ImportOptions {
                purpose: PURPOSE.to_string(),
                default_residency: None,
                header_map: Default::default(),
                reject_path: tmp.path().join("rejects.csv"),
                batch_size: 20_000,
            },
            |_| ControlFlow::Continue(()),
        )
        .await?;
    if report.progress.created != n as u64 {
        return Err(format!("imported {} of {n}", report.progress.created).into());
    }
    println!(
        "imported {n} customers in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let plain = plain_copy(&tmp.path().join("plain.db"), &people)?;
    let access = app.access(&actor, Some(PURPOSE))?;

    // Queries drawn from the customers themselves, so common names are asked for as often as
    // a support desk would meet them.
    let mut rng = StdRng::seed_from_u64(5);
    let pick = |rng: &mut StdRng| &people[rng.gen_range(0..people.len())];
    let by_family: Vec<String> = (0..QUERIES)
        .map(|_| family(pick(&mut rng).family))
        .collect();
    let by_both: Vec<String> = (0..QUERIES)
        .map(|_| {
            let p = pick(&mut rng);
            format!("{} {}", GIVEN[p.given], family(p.family))
        })
        .collect();
    let emails: Vec<String> = (0..QUERIES).map(|_| pick(&mut rng).email.clone()).collect();

    // The import leaves a large write-ahead log behind; its checkpoint and the cold cache
    // would fall on whichever phase came first.
    timed_list(&app, &access, &emails, by_email).await?;
    let email = timed_list(&app, &access, &emails, by_email).await?;
    let family_words = timed_list(&app, &access, &by_family, by_name).await?;
    let both_words = timed_list(&app, &access, &by_both, by_name).await?;
    let plain_family = timed_plain(&plain, &by_family).await?;
    let plain_both = timed_plain(&plain, &by_both).await?;
    if plain_family.found != family_words.found || plain_both.found != both_words.found {
        return Err(format!(
            "the plain search found {} and {}, Steward's {} and {}: not the same job",
            plain_family.found, plain_both.found, family_words.found, both_words.found
        )
        .into());
    }
    println!("{QUERIES} queries each, a page of at most {PAGE}:");
    show("email lookup (one blind-index entry)", &email);
    show("name search, family name (one word)", &family_words);
    show("name search, given and family (two words)", &both_words);
    show("plain search in clear, one word", &plain_family);
    show("plain search in clear, two words", &plain_both);
    println!(
        "name search, one word, rate vs the email lookup: {:.2}x; vs the same search in clear: {:.2}x",
        family_words.rate / email.rate,
        family_words.rate / plain_family.rate
    );
    println!(
        "name search, two words, rate vs the email lookup: {:.2}x; vs the same search in clear: {:.2}x",
        both_words.rate / email.rate,
        both_words.rate / plain_both.rate
    );
    list_pages(&app, &access, &data_dir, &plain, n).await?;
    owner_pages(&app, &access, &data_dir, &plain, n).await
}

/// When each customer last interacted, from its row number: spread over a year, in no
/// order, the same on both sides. Written straight into the rows: adding a million audited
/// interactions would measure the adding, and the list reads only the column.
const LAST_INTERACTION: &str = "1700000000000000 + ((rowid * 2654435761) % 31536000) * 1000000";

/// The customer list sorted by last interaction, latest first: its first page and a page
/// half way down, each with the total the console shows, against the same page and count
/// read in clear from a table of the same shape under the same index.
async fn list_pages(
    app: &Steward,
    access: &Access,
    data_dir: &Path,
    plain: &Connection,
    n: usize,
) -> BenchResult<()> {
    let steward_db = Connection::open(data_dir.join("steward.db"))?;
    steward_db.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; UPDATE customers SET last_interaction_at = {LAST_INTERACTION};"
    ))?;
    plain.execute_batch(&format!(
        "ALTER TABLE customers ADD COLUMN last_interaction_at INTEGER;
         UPDATE customers SET last_interaction_at = {LAST_INTERACTION};
         CREATE INDEX customers_by_last_interaction ON customers(last_interaction_at, id);"
    ))?;
    compare_pages(
        app,
        access,
        n,
        200,
        ("last interaction", "-last_interaction"),
        |p| plain_page(plain, p),
    )
    .await
}

/// Staff who look after customers, named in mixed case as people type their names.
const OWNERS: [&str; 12] = [
    "Ada Lovelace",
    "bruno Ganz",
    "Chiara Ferri",
    "Dmitri Volkov",
    "eva Lindqvist",
    "Farah Haddad",
    "Gustav Mahler",
    "Hana Novak",
    "Ines Duarte",
    "jonas Berg",
    "Keiko Sato",
    "Lars Olsen",
];

/// Which owner, by its place in [`OWNERS`], looks after the customer of a row number; one
/// customer in thirteen has none. The same on both sides.
const OWNER_OF_ROW: &str = "(rowid * 40503) % 13";

/// The customer list sorted by owner's name: its first page and a page half way down, each
/// with the total, against the same join, order and page read in clear from tables of the
/// same shape under the same index.
async fn owner_pages(
    app: &Steward,
    access: &Access,
    data_dir: &Path,
    plain: &Connection,
    n: usize,
) -> BenchResult<()> {
    let admin = app.local_staff("user:bench-admin", steward_app::core::Role::Admin, &[]);
    let mut ids = Vec::with_capacity(OWNERS.len());
    for (i, name) in OWNERS.iter().enumerate() {
        let made = app
            .accounts()
            .add_user(
                &admin,
                steward_app::NewUser {
                    email: format!("owner{i}@shop.example"),
                    role: steward_app::core::Role::Agent,
                    password: steward_app::generate_password(),
                    purposes: vec![],
                },
            )
            .await?;
        app.accounts().rename(&admin, made.id, name).await?;
        ids.push(made.id);
    }
    let cases: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!(" WHEN {i} THEN X'{}'", id.simple()))
        .collect();
    let steward_db = Connection::open(data_dir.join("steward.db"))?;
    steward_db.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000;
         UPDATE customers SET owner_id = CASE {OWNER_OF_ROW}{cases} ELSE NULL END;"
    ))?;
    let mut owners = String::new();
    for (i, name) in OWNERS.iter().enumerate() {
        owners.push_str(&format!("INSERT INTO owners VALUES ({i}, '{name}');"));
    }
    plain.execute_batch(&format!(
        "CREATE TABLE owners (id INTEGER PRIMARY KEY, display_name TEXT NOT NULL);
         {owners}
         ALTER TABLE customers ADD COLUMN owner_id INTEGER REFERENCES owners(id);
         UPDATE customers SET owner_id = CASE WHEN {OWNER_OF_ROW} < {} THEN {OWNER_OF_ROW} END;
         CREATE INDEX customers_owner ON customers(owner_id);",
        OWNERS.len()
    ))?;
    compare_pages(app, access, n, 20, ("owner", "owner"), |p| {
        plain_owner_page(plain, p)
    })
    .await
}

/// The list sorted by `sort`, its first page and a page half way down, each read `times`
/// times with the total, against `in_clear` reading the same page.
async fn compare_pages(
    app: &Steward,
    access: &Access,
    n: usize,
    times: usize,
    (name, sort): (&str, &str),
    in_clear: impl Fn(usize) -> BenchResult<usize>,
) -> BenchResult<()> {
    let deep = (n / PAGE / 2).max(1);
    for (label, page) in [("first page", 1), ("a page half way down", deep)] {
        let pages: Vec<String> = (0..times).map(|_| page.to_string()).collect();
        let steward = timed(&pages, |p| {
            list(
                app,
                access,
                CustomerQuery {
                    sort: Some(sort.into()),
                    page: p.parse().ok(),
                    limit: Some(PAGE),
                    ..Default::default()
                },
            )
        })
        .await?;
        let plain = timed(&pages, |p| {
            let found = in_clear(p.parse().unwrap_or(1));
            async move { found }
        })
        .await?;
        show(&format!("list by {name}, {label} ({page})"), &steward);
        show(&format!("the same in clear, {label}"), &plain);
        println!(
            "list by {name}, {label}: rate vs in clear {:.2}x",
            steward.rate / plain.rate
        );
    }
    Ok(())
}

fn plain_owner_page(conn: &Connection, page: usize) -> BenchResult<usize> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM customers")?
        .query_row([], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.given, c.family, c.email, c.residency, c.status, c.owner_id
         FROM customers c LEFT JOIN owners o ON o.id = c.owner_id
         ORDER BY o.display_name IS NULL, lower(o.display_name), c.id LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![PAGE as i64 + 1, ((page - 1) * PAGE) as i64],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(3)?)),
    )?;
    Ok(rows.count().min(PAGE).min(total as usize))
}

fn plain_page(conn: &Connection, page: usize) -> BenchResult<usize> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM customers")?
        .query_row([], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, given, family, email, residency, status, last_interaction_at FROM customers
         ORDER BY last_interaction_at DESC NULLS LAST, id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![PAGE as i64 + 1, ((page - 1) * PAGE) as i64],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(3)?)),
    )?;
    Ok(rows.count().min(PAGE).min(total as usize))
}

fn main() -> BenchResult<()> {
    let n = size(
        SMOKE_CUSTOMERS,
        DEFAULT_CUSTOMERS,
        1,
        Some("STEWARD_BENCH_CUSTOMERS"),
    )?;
    println!("steward search benchmark: {n} customers");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(n))
}
