//! Who a breach reached, over a long audit log: the scope of one staff account over a tenth
//! of the log's time, and of everyone over a hundredth, each next to a plain SQL
//! `COUNT(DISTINCT target)` of the same entries in the same run.
//!
//! Run: `cargo bench -p steward-app --bench breach_scope` (default 10,000,000 entries over
//! 1,000,000 customers; `-- 1000000` or `STEWARD_BENCH_ENTRIES=1000000` for a quicker run,
//! always a tenth as many customers as entries). The log is written straight into SQLite: a realistic mix of
//! actions by 220 staff accounts and tokens, each naming customers drawn at random, its hash
//! links left as placeholders (the scope reads no hash). The scope goes through the use case.
//! With `postgres` among the arguments it runs on a database of its own on the server named
//! by `STEWARD_TEST_DATABASE_URL`, the log generated there by SQL.

mod common;

use common::{BenchResult, options, size};

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use steward_app::core::breach::{ScopeQuery, ScopeResult};
use steward_app::{Actor, OpenOptions, Steward, customer_touch};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_ENTRIES: usize = 10_000_000;
const SMOKE_ENTRIES: usize = 20_000;
const ENTRIES_PER_CUSTOMER: usize = 10;
const STAFF: usize = 200;
const TOKENS: usize = 20;
const WRITE_BATCH: usize = 100_000;
/// One entry every 50 ms on average: ten million entries span about six days.
const MICROS_BETWEEN: i64 = 50_000;
const RUNS: usize = 3;

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

/// Where the plain answer is asked.
enum Plain {
    Sqlite(Connection),
    Postgres(tokio_postgres::Client),
}

/// The plain answer: distinct customer ids the counted actions named in the window, with
/// the same indexes to read by, and none of the use case's work (selectors, fields, the
/// check that each id is a customer, residencies).
async fn plain_count(plain: &Plain, q: &ScopeQuery) -> BenchResult<u64> {
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
    let (from, to) = (q.from.as_microsecond(), q.to.as_microsecond());
    Ok(match plain {
        Plain::Sqlite(conn) => {
            let sql = format!(
                "SELECT COUNT(DISTINCT j.value) FROM audit_log a, json_each(a.targets) j
                 WHERE {actor}a.at >= ?1 AND a.at < ?2 AND a.action IN ({})
                   AND j.value NOT LIKE '%:%'",
                counted.join(", ")
            );
            conn.query_row(&sql, params![from, to], |r| r.get::<_, i64>(0))? as u64
        }
        Plain::Postgres(client) => {
            let sql = format!(
                "SELECT COUNT(DISTINCT j) FROM audit_log a
                 CROSS JOIN LATERAL jsonb_array_elements_text(a.targets::jsonb) j
                 WHERE {actor}a.at >= $1 AND a.at < $2 AND a.action IN ({})
                   AND j NOT LIKE '%:%'",
                counted.join(", ")
            );
            client
                .query_one(&sql, &[&from, &to])
                .await?
                .get::<_, i64>(0) as u64
        }
    })
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn compare(
    what: &str,
    app: &Steward,
    operator: &Actor,
    baseline: &Plain,
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
        plain = plain_count(baseline, q).await?;
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
        "SQLite: populated {n} audit entries over {} customers in {:.1}s ({:.0} MiB)",
        n / ENTRIES_PER_CUSTOMER,
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0)
    );
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    measure(
        n,
        &log,
        &app,
        &operator.actor("breach", &[]),
        &Plain::Sqlite(Connection::open(&db)?),
    )
    .await
}

/// The same log on PostgreSQL, generated by the server itself: customers named by the MD5 of
/// their number, the mix drawn per entry by `random()`.
async fn run_postgres(n: usize) -> BenchResult<()> {
    let database = steward_store::testing::fresh_postgres().await;
    let tmp = tempfile::tempdir()?;
    let opts = || -> BenchResult<OpenOptions> {
        Ok(OpenOptions {
            database_url: Some(database.url.clone()),
            keystore_url: None,
            master_key_file: None,
            kek_token: None,
            ..options(tmp.path())?
        })
    };
    drop(Steward::open(opts()?).await?);
    let (client, conn) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let customers = (n / ENTRIES_PER_CUSTOMER) as i64;
    let actors: Vec<String> = (0..STAFF)
        .map(|_| format!("user:{}", Uuid::now_v7()))
        .chain((0..TOKENS).map(|_| format!("token:{}", Uuid::now_v7())))
        .collect();
    let start = jiff::Timestamp::now().as_microsecond() - n as i64 * MICROS_BETWEEN;
    let t = Instant::now();
    client
        .execute(
            "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
             SELECT md5(i::text)::uuid, (ARRAY['DE','FR','NL','AT','IE'])[1 + i % 5], 'active',
                    '\\x00', '\\x', 1, $1, $1
             FROM generate_series(0, $2::bigint - 1) i",
            &[&start, &customers],
        )
        .await?;
    let mut kinds = Vec::new();
    let mut low = 0;
    for k in MIX {
        kinds.push(format!(
            "('{}', {}, '{}', {low}, {})",
            k.action,
            k.customers,
            k.fields,
            low + k.per_mille
        ));
        low += k.per_mille;
    }
    let insert = format!(
        "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
         SELECT e.s, $3 + e.s * {MICROS_BETWEEN} + floor(random() * 4000 - 2000)::bigint,
                ($4::text[])[1 + floor(random() * {})::int], 'agent', k.action, 'essential.service',
                '[' || concat_ws(',',
                    (SELECT string_agg('\"' || md5(floor(random() * $5::bigint)::bigint::text)::uuid || '\"', ',')
                     FROM generate_series(1, k.customers)),
                    CASE k.action
                        WHEN 'consent.record' THEN '\"consent:' || gen_random_uuid() || '\"'
                        WHEN 'share.create' THEN '\"' || gen_random_uuid() || '\",\"' || gen_random_uuid() || '\"'
                    END) || ']',
                k.fields, NULL, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
         FROM (SELECT s, floor(random() * 1000)::int AS r FROM generate_series($1::bigint, $2::bigint) s) e
         JOIN (VALUES {}) AS k(action, customers, fields, low, high) ON e.r >= k.low AND e.r < k.high",
        actors.len(),
        kinds.join(", ")
    );
    let mut seq = 0usize;
    while seq < n {
        let end = (seq + WRITE_BATCH * 10).min(n);
        let (lo, hi) = (seq as i64 + 1, end as i64);
        client
            .execute(&insert, &[&lo, &hi, &start, &actors, &customers])
            .await?;
        seq = end;
    }
    client.batch_execute("ANALYZE").await?;
    println!(
        "PostgreSQL: populated {n} audit entries over {customers} customers in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let (app, operator) = Steward::open_as_operator(opts()?).await?;
    let log = Log { start, actors };
    measure(
        n,
        &log,
        &app,
        &operator.actor("breach", &[]),
        &Plain::Postgres(client),
    )
    .await
}

async fn measure(
    n: usize,
    log: &Log,
    app: &Steward,
    operator: &Actor,
    baseline: &Plain,
) -> BenchResult<()> {
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
        app,
        operator,
        baseline,
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
        app,
        operator,
        baseline,
        &everyone,
    )
    .await
}

fn main() -> BenchResult<()> {
    let n = size(
        SMOKE_ENTRIES,
        DEFAULT_ENTRIES,
        ENTRIES_PER_CUSTOMER,
        Some("STEWARD_BENCH_ENTRIES"),
    )?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            if std::env::args().any(|a| a == "postgres") {
                run_postgres(n).await
            } else {
                run(n).await
            }
        })
}
