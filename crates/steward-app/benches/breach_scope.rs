//! Who a breach reached, over a long audit log: the scope of one staff account over a tenth
//! of the log's time, and of everyone over a hundredth, each next to a plain SQL
//! `COUNT(DISTINCT target)` of the same entries in the same run.
//!
//! Run: `cargo bench -p steward-app --bench breach_scope` (default 10,000,000 entries over
//! 1,000,000 customers; `-- 1000000` or `STEWARD_BENCH_ENTRIES=1000000` for a quicker run,
//! always a tenth as many customers as entries). The log is written straight into SQLite: a realistic mix of
//! actions by 220 staff accounts and tokens, each naming customers drawn at random, its hash
//! links left as placeholders (the scope reads no hash). The scope goes through the use case.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use steward_app::core::breach::{ScopeQuery, ScopeResult};
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, SystemClock};
use steward_app::{Actor, OpenOptions, Steward, customer_touch};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const DEFAULT_ENTRIES: usize = 10_000_000;
const SMOKE_ENTRIES: usize = 20_000;
const ENTRIES_PER_CUSTOMER: usize = 10;
const STAFF: usize = 200;
const TOKENS: usize = 20;
const WRITE_BATCH: usize = 100_000;
/// One entry every 50 ms on average: ten million entries span about six days.
const MICROS_BETWEEN: i64 = 50_000;
const RUNS: usize = 3;

fn entries() -> usize {
    if !std::env::args().any(|a| a == "--bench") {
        return SMOKE_ENTRIES;
    }
    let parse = |s: &str| {
        s.replace('_', "")
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= ENTRIES_PER_CUSTOMER)
    };
    std::env::args()
        .skip(1)
        .find_map(|a| parse(&a))
        .or_else(|| {
            std::env::var("STEWARD_BENCH_ENTRIES")
                .ok()
                .and_then(|s| parse(&s))
        })
        .unwrap_or(DEFAULT_ENTRIES)
}

fn options(data_dir: &Path) -> BenchResult<OpenOptions> {
    Ok(OpenOptions {
        data_dir: data_dir.to_path_buf(),
        database_url: None,
        catalog: Catalog::default_catalog()?,
        clock: Arc::new(SystemClock),
        controller: Default::default(),
        readable_at_least: steward_app::READABLE_AT_LEAST,
        staff_shown_as: Default::default(),
        sharing: SharingRules::shipped()?,
        webhooks: Default::default(),
        mail: Default::default(),
    })
}

/// One kind of entry in the mix: its action, how many customers it names, its fields and
/// its share of the log in thousandths.
struct Kind {
    action: &'static str,
    customers: usize,
    fields: &'static str,
    per_mille: u32,
}

const MIX: &[Kind] = &[
    Kind {
        action: "customer.read",
        customers: 1,
        fields: r#"["birth_date","email","family_name","given_name","phone"]"#,
        per_mille: 540,
    },
    Kind {
        action: "customer.list",
        customers: 20,
        fields: r#"["email","given_name"]"#,
        per_mille: 80,
    },
    Kind {
        action: "customer.update",
        customers: 1,
        fields: r#"["phone"]"#,
        per_mille: 100,
    },
    Kind {
        action: "consent.record",
        customers: 1,
        fields: "[]",
        per_mille: 100,
    },
    Kind {
        action: "interaction.list",
        customers: 1,
        fields: r#"["summary","body"]"#,
        per_mille: 60,
    },
    Kind {
        action: "share.read",
        customers: 50,
        fields: r#"["email","given_name"]"#,
        per_mille: 10,
    },
    Kind {
        action: "share.create",
        customers: 0,
        fields: "[]",
        per_mille: 9,
    },
    Kind {
        action: "customer.export",
        customers: 200,
        fields: r#"["email","given_name","family_name"]"#,
        per_mille: 1,
    },
    Kind {
        action: "login.success",
        customers: 0,
        fields: "[]",
        per_mille: 100,
    },
];

struct Log {
    /// When the first entry was written, in microseconds.
    start: i64,
    actors: Vec<String>,
}

/// `n / 10` customers and `n` audit entries, in time order with a little jitter (entries are
/// stamped before they are appended), by staff accounts and tokens at random.
fn populate(db: &Path, n: usize) -> BenchResult<Log> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let mut rng = StdRng::seed_from_u64(19);
    let customers: Vec<String> = (0..n / ENTRIES_PER_CUSTOMER)
        .map(|_| Uuid::from_u128(rng.r#gen::<u128>()).to_string())
        .collect();
    let actors: Vec<String> = (0..STAFF)
        .map(|_| format!("user:{}", Uuid::now_v7()))
        .chain((0..TOKENS).map(|_| format!("token:{}", Uuid::now_v7())))
        .collect();
    let start = jiff::Timestamp::now().as_microsecond() - n as i64 * MICROS_BETWEEN;
    {
        let tx = conn.transaction()?;
        let mut insert = tx.prepare(
            "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
             VALUES (?1, ?2, 'active', x'00', x'', 1, ?3, ?3)",
        )?;
        for (i, id) in customers.iter().enumerate() {
            let residency = ["DE", "FR", "NL", "AT", "IE"][i % 5];
            insert.execute(params![
                Uuid::parse_str(id)?.as_bytes().as_slice(),
                residency,
                start
            ])?;
        }
        drop(insert);
        tx.commit()?;
    }
    let hash = [0u8; 32];
    let mut seq = 0usize;
    while seq < n {
        let end = (seq + WRITE_BATCH).min(n);
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, 'agent', ?4, 'essential.service', ?5, ?6, NULL, ?7, ?7)",
            )?;
            let mut targets = String::new();
            for s in seq + 1..=end {
                let mut pick = rng.gen_range(0..1000u32);
                let kind = MIX
                    .iter()
                    .find(|k| {
                        let hit = pick < k.per_mille;
                        pick = pick.saturating_sub(k.per_mille);
                        hit
                    })
                    .unwrap_or(&MIX[0]);
                targets.clear();
                targets.push('[');
                for i in 0..kind.customers {
                    if i > 0 {
                        targets.push(',');
                    }
                    targets.push('"');
                    targets.push_str(&customers[rng.gen_range(0..customers.len())]);
                    targets.push('"');
                }
                if kind.action == "consent.record" {
                    targets.push_str(&format!(",\"consent:{}\"", Uuid::now_v7()));
                }
                if kind.action == "share.create" {
                    targets.push_str(&format!("\"{}\",\"{}\"", Uuid::now_v7(), Uuid::now_v7()));
                }
                targets.push(']');
                let at = start + s as i64 * MICROS_BETWEEN + rng.gen_range(-2_000..2_000);
                insert.execute(params![
                    s as i64,
                    at,
                    actors[rng.gen_range(0..actors.len())],
                    kind.action,
                    targets,
                    kind.fields,
                    hash.as_slice()
                ])?;
            }
        }
        tx.commit()?;
        seq = end;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(Log { start, actors })
}

/// The plain answer: distinct customer ids the counted actions named in the window, with
/// the same indexes to read by, and none of the use case's work (selectors, fields, the
/// check that each id is a customer, residencies).
fn plain_count(conn: &Connection, q: &ScopeQuery) -> BenchResult<u64> {
    let counted: Vec<String> = MIX
        .iter()
        .filter(|k| matches!(customer_touch(k.action), Some(Some(_))))
        .map(|k| format!("'{}'", k.action))
        .collect();
    let actor = if q.actors.is_empty() {
        String::new()
    } else {
        format!("a.actor = '{}' AND ", q.actors[0])
    };
    let sql = format!(
        "SELECT COUNT(DISTINCT j.value) FROM audit_log a, json_each(a.targets) j
         WHERE {actor}a.at >= ?1 AND a.at < ?2 AND a.action IN ({})
           AND j.value NOT LIKE '%:%'",
        counted.join(", ")
    );
    Ok(conn.query_row(
        &sql,
        params![q.from.as_microsecond(), q.to.as_microsecond()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn compare(
    what: &str,
    app: &Steward,
    operator: &Actor,
    baseline: &Connection,
    q: &ScopeQuery,
) -> BenchResult<()> {
    let mut found = ScopeResult::default();
    let mut scope_times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        found = app.audit().scope(operator, q, false).await?;
        scope_times.push(t.elapsed());
    }
    let mut plain = 0;
    let mut plain_times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        plain = plain_count(baseline, q)?;
        plain_times.push(t.elapsed());
    }
    assert_eq!(found.customers, plain, "both count the same customers");
    let (scope, plain_time) = (median(scope_times), median(plain_times));
    println!(
        "{what}: {} entries counted, {} customers",
        found.records, found.customers
    );
    println!(
        "  scope (use case):          {:>9.1} ms   (median of {RUNS})",
        scope.as_secs_f64() * 1e3
    );
    println!(
        "  plain COUNT(DISTINCT):     {:>9.1} ms",
        plain_time.as_secs_f64() * 1e3
    );
    println!(
        "  ratio scope / plain:       {:>9.2}",
        scope.as_secs_f64() / plain_time.as_secs_f64()
    );
    Ok(())
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("steward");
    let db = data_dir.join("steward.db");
    drop(Steward::open(options(&data_dir)?).await?);
    let t = Instant::now();
    let log = populate(&db, n)?;
    println!(
        "populated {n} audit entries over {} customers in {:.1}s ({:.0} MiB)",
        n / ENTRIES_PER_CUSTOMER,
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0)
    );
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let operator = operator.actor("breach", &[]);
    let baseline = Connection::open(&db)?;

    let at =
        |entry: usize| jiff::Timestamp::from_microsecond(log.start + entry as i64 * MICROS_BETWEEN);
    let one_account = ScopeQuery {
        from: at(n - n / 10)?,
        to: at(n)?,
        actors: vec![log.actors[7].clone()],
        ..Default::default()
    };
    compare(
        "one account, the last tenth of the log",
        &app,
        &operator,
        &baseline,
        &one_account,
    )
    .await?;
    let everyone = ScopeQuery {
        from: at(n - n / 100)?,
        to: at(n)?,
        ..Default::default()
    };
    compare(
        "every account, the last hundredth of the log",
        &app,
        &operator,
        &baseline,
        &everyone,
    )
    .await?;
    Ok(())
}

fn main() -> BenchResult<()> {
    let n = entries();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n))
}
