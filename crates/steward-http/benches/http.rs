//! Load on the real server over loopback: `GET /customers/{id}` (8 fields decrypted, one audit
//! entry) and `POST /customers` at 64 concurrent keep-alive connections, recording consent
//! (ledger append, signed receipt in the answer, audit entry) at 16 and 64, and one customer's
//! recommendations at full (level and consent checked, her profile opened through the gate,
//! offers ranked with a counterfactual, the read audited with the attributes it used), next to a
//! `GET /healthz` baseline measured in the same run. The server and the load generator share
//! the machine, as they would on a developer's laptop.
//!
//! Run: `cargo bench -p steward-http --bench http [-- SECONDS]` (default 5 s per phase).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{BenchResult, Conn, Outcome, bench_token, load, seconds_arg, smoke};

use steward_app::core::personalization::{Facets, Level, PROFILED};
use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, Role, SystemClock};
use steward_app::{
    ConsentInput, CustomerInput, Evidence, InteractionInput, LevelInput, OpenOptions, Steward,
};

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 64;
const SEED_CUSTOMERS: usize = 2_000;
/// A year of orders for the customer whose recommendations are loaded, enough for every
/// order rule of the catalog to derive something.
const FOCUS_ORDERS: usize = 40;
const CATEGORIES: [&str; 3] = ["garden", "books", "kitchen"];

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
            let addrs = [addr.clone()];
            let base = load(&addrs, CONNECTIONS, duration, health, 200).await?;
            let reads = load(&addrs, CONNECTIONS, duration, read, 200).await?;
            let creates = load(&addrs, CONNECTIONS, duration, create, 201).await?;
            let consents16 = load(&addrs, 16, duration, consent.clone(), 201).await?;
            let consents64 = load(&addrs, CONNECTIONS, duration, consent, 201).await?;
            let used = check_personalized(&addr, &recommend(0)).await?;
            println!("recommendations use {used} of the customer's attributes");
            let recommended = load(&addrs, CONNECTIONS, duration, recommend, 200).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
                base,
                reads,
                creates,
                consents16,
                consents64,
                recommended,
            ))
        })?;

    let rate = Outcome::rate;
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
