//! Webhook deliveries per second to a real HTTPS receiver on loopback: a share of N consenting
//! customers by webhook, drained by the sender (each message built from the sealed
//! disclosures, signed, POSTed, its attempt recorded and audited), next to the same job
//! without the privacy work in the same run: each page of the same customers read in clear
//! from a plain SQLite table, the same JSON built, POSTed to the same receiver by the same
//! client, and the delivery marked sent with its attempt in a durable commit. The POST of
//! the finished bodies alone is shown as the network's floor.
//!
//! Run: `cargo bench -p steward-app --bench webhooks [-- CUSTOMERS]` (default 50,000, so 100
//! messages of 500 customers). The receiver and Steward share the machine's cores.

mod common;

use common::{BenchResult, options, size};

use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, params};
use serde_json::json;
use steward_app::core::{FixedClock, Role};
use steward_app::{
    ConsentInput, CustomerInput, Evidence, OpenOptions, ShareDelivery, ShareInput, Steward,
    WebhookInput, WebhookSettings,
};
use steward_testkit::webhooks::WebhookReceiver;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 50_000;
const SMOKE_CUSTOMERS: usize = 600;
const EMAIL: &str = "marketing.communications.email";
const MAKERS: usize = 16;
const ROUNDS: usize = 3;

/// A reviewed processor in Germany with an agreement for email marketing and an endpoint at
/// the receiver.
async fn vendor(app: &Steward, receiver: &WebhookReceiver) -> BenchResult<uuid::Uuid> {
    let keeper = app.access(
        &app.local_staff("user:dpo", Role::Dpo, &[]),
        Some("essential.legal_obligation"),
    )?;
    let vendor = app
        .vendors()
        .create(
            &keeper,
            serde_json::from_value(json!({
                "legal_name": "Postwerk Mail Ltd",
                "address": "1 Market Street",
                "contact_person": "Dana Whitfield",
                "role": "processor",
                "established_in": ["DE"],
                "stores_in": ["DE"],
                "accesses_from": [],
                "dpa": {
                    "signed_on": "2025-06-01",
                    "version": "3.0",
                    "sha256": "0f".repeat(32),
                    "checklist": {
                        "instructions": true, "confidentiality": true, "security": true,
                        "sub_processor_conditions": true, "help_with_requests": true,
                        "help_with_arts_32_to_36": true, "deletion_or_return": true, "audits": true
                    }
                },
                "certifications": [],
                "risk_tier": 4,
                "status": "active"
            }))?,
        )
        .await?
        .vendor
        .id;
    let answers: serde_json::Map<String, serde_json::Value> =
        steward_app::core::sharing::ReviewQuestion::ALL
            .iter()
            .map(|q| (q.as_str().to_string(), json!("yes")))
            .collect();
    app.vendors()
        .review(
            &keeper,
            vendor,
            serde_json::from_value(json!({
                "reviewed_on": "2026-02-20",
                "reviewer": "A. Privacy Officer",
                "answers": answers,
                "outcome": "approved"
            }))?,
        )
        .await?;
    app.agreements()
        .create(
            &keeper,
            serde_json::from_value(json!({
                "vendor": vendor,
                "purposes": [EMAIL],
                "categories": ["user.contact", "user.name"],
                "destinations": [],
                "valid_from": "2026-01-01",
                "onward_transfer": false
            }))?,
        )
        .await?;
    app.vendors()
        .set_webhook(
            &keeper,
            vendor,
            WebhookInput {
                url: receiver.url("/in"),
            },
        )
        .await?;
    Ok(vendor)
}

async fn run(n: usize) -> BenchResult<()> {
    let receiver = WebhookReceiver::start(&[]).await;
    let dir = tempfile::tempdir()?;
    let app = Steward::open(OpenOptions {
        clock: Arc::new(FixedClock::new("2026-03-01T09:00:00Z".parse()?)),
        webhooks: WebhookSettings {
            extra_roots: Some(receiver.certificate().to_path_buf()),
        },
        ..options(dir.path())?
    })
    .await?;
    let app = Arc::new(app);
    let started = Instant::now();
    // Made by several tasks at once, so their commits are grouped.
    let mut makers = Vec::new();
    for part in 0..MAKERS {
        let app = app.clone();
        makers.push(tokio::spawn(async move {
            let agent = app.access(
                &app.local_staff("user:agent", Role::Agent, &[]),
                Some("essential.service"),
            )?;
            let mut ids = Vec::new();
            for i in (part..n).step_by(MAKERS) {
                let id = app
                    .customers()
                    .create(
                        &agent,
                        CustomerInput {
                            fields: [
                                ("email".to_string(), format!("customer{i}@example.com")),
                                ("given_name".to_string(), format!("Given{i}")),
                                ("family_name".to_string(), format!("Family{i}")),
                            ]
                            .into_iter()
                            .collect(),
                            residency: "DE".into(),
                            tags: vec![],
                        },
                    )
                    .await?
                    .id;
                app.consent()
                    .record(
                        &agent,
                        id,
                        ConsentInput {
                            purpose: EMAIL.into(),
                            state: "given".into(),
                            notice_version: None,
                            method: Some("import".into()),
                            fields: Default::default(),
                        },
                        &Evidence::default(),
                    )
                    .await?;
                ids.push(id);
            }
            Ok::<_, steward_app::AppError>(ids)
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for maker in makers {
        ids.extend(maker.await??);
    }
    println!(
        "{n} consenting customers made in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let plain = plain_table(&dir.path().join("plain.db"), &ids)?;
    let vendor = vendor(&app, &receiver).await?;
    let dpo = app.access(
        &app.local_staff("user:dpo", Role::Dpo, &[]),
        Some("essential.legal_obligation"),
    )?;

    // Rounds alternate the two, each a fresh share, and the best of each is kept: the
    // machine is shared, and a burst of someone else's work should not decide the ratio.
    let url = receiver.url("/in");
    let mut share_secs = f64::MAX;
    let mut outbox_secs = f64::MAX;
    let mut plain_secs = f64::MAX;
    let mut floor_secs = f64::MAX;
    let mut messages = 0;
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let share = app
            .shares()
            .share(
                &dpo,
                ShareInput {
                    vendor_id: vendor,
                    purpose: EMAIL.into(),
                    fields: vec!["email".into(), "given_name".into()],
                    customer_ids: Some(ids.clone()),
                    segment_id: None,
                    audience: None,
                    delivery: ShareDelivery::Webhook,
                },
            )
            .await?;
        share_secs = share_secs.min(started.elapsed().as_secs_f64());
        messages = share.deliveries.map_or(0, |d| d.pending) as usize;
        let before = receiver.count();

        let started = Instant::now();
        let mut delivered = 0;
        loop {
            let round = app.webhooks().deliver_due().await?;
            if round.retried + round.failed > 0 {
                return Err(format!("{round:?}: the receiver refused a message").into());
            }
            if round.delivered == 0 {
                break;
            }
            delivered += round.delivered;
        }
        outbox_secs = outbox_secs.min(started.elapsed().as_secs_f64());
        if delivered != messages || receiver.count() != before + messages {
            return Err(format!(
                "{delivered} delivered, {} received, of {messages}",
                receiver.count() - before
            )
            .into());
        }

        // The baseline: the same pages read in clear, built, POSTed and marked sent.
        let mut sorted = ids.clone();
        sorted.sort();
        let started = Instant::now();
        let sent = plain_deliveries(&app, &plain, &url, &sorted).await?;
        plain_secs = plain_secs.min(started.elapsed().as_secs_f64());
        if sent != messages {
            return Err(format!("the baseline sent {sent} of {messages}").into());
        }

        // The floor: the very bodies the sender sent, POSTed as they are.
        let bodies: Vec<Vec<u8>> = receiver.received()[before..before + messages]
            .iter()
            .map(|m| m.body.clone())
            .collect();
        bytes = bodies.iter().map(Vec::len).sum();
        let started = Instant::now();
        for body in bodies {
            let status = app.webhooks().post_as_is(&url, body).await?;
            if status != 200 {
                return Err(format!("the floor's POST answered {status}").into());
            }
        }
        floor_secs = floor_secs.min(started.elapsed().as_secs_f64());
    }

    let outbox_rate = messages as f64 / outbox_secs;
    let plain_rate = messages as f64 / plain_secs;
    println!(
        "share of {n} customers by webhook: {messages} messages of up to 500 customers (mean body {:.0} KB), recorded in {share_secs:.2} s",
        bytes as f64 / messages.max(1) as f64 / 1024.0
    );
    println!();
    println!(
        "| what (best of {ROUNDS}) | messages | seconds | messages/s | customers/s | vs baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| outbox: built from sealed disclosures, signed, POSTed over HTTPS, attempt recorded and audited | {messages} | {outbox_secs:.2} | {outbox_rate:.1} | {:.0} | {:.2}x |",
        n as f64 / outbox_secs,
        outbox_rate / plain_rate
    );
    println!(
        "| baseline: the same pages read in clear from SQLite, built, POSTed, marked sent in a durable commit | {messages} | {plain_secs:.2} | {plain_rate:.1} | {:.0} | 1.00x |",
        n as f64 / plain_secs
    );
    let floor_rate = messages as f64 / floor_secs;
    println!(
        "| floor: the finished bodies POSTed by the same client, nothing read or recorded | {messages} | {floor_secs:.2} | {floor_rate:.1} | {:.0} | {:.2}x |",
        n as f64 / floor_secs,
        floor_rate / plain_rate
    );
    Ok(())
}

/// The same customers' shared values in clear, and a delivery table, as an outbox without
/// sealing would keep them; pragmas as the store's.
fn plain_table(path: &std::path::Path, ids: &[uuid::Uuid]) -> BenchResult<Connection> {
    let mut db = Connection::open(path)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE customers (id BLOB PRIMARY KEY, email TEXT NOT NULL, given_name TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE deliveries (page INTEGER PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT NULL);
         CREATE TABLE attempts (page INTEGER NOT NULL, n INTEGER NOT NULL, status INTEGER NOT NULL, at INTEGER NOT NULL);",
    )?;
    // The ids were made in `MAKERS` interleaved parts; customer i is the k-th of part i % MAKERS.
    let tx = db.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3)")?;
        let parts = MAKERS.min(ids.len().max(1));
        let mut offset = 0;
        for part in 0..parts {
            let count = (part..ids.len()).step_by(MAKERS).count();
            for (k, id) in ids[offset..offset + count].iter().enumerate() {
                let i = part + k * MAKERS;
                insert.execute(params![
                    id.as_bytes().as_slice(),
                    format!("customer{i}@example.com"),
                    format!("Given{i}")
                ])?;
            }
            offset += count;
        }
    }
    tx.commit()?;
    Ok(db)
}

/// Sends the pages of `sorted` customers as the baseline does; answers how many were sent.
async fn plain_deliveries(
    app: &Steward,
    db: &Connection,
    url: &str,
    sorted: &[uuid::Uuid],
) -> BenchResult<usize> {
    db.execute("DELETE FROM deliveries", [])?;
    db.execute("DELETE FROM attempts", [])?;
    let share = uuid::Uuid::now_v7();
    let pages = sorted.len().div_ceil(500);
    for page in 0..pages {
        db.execute(
            "INSERT INTO deliveries VALUES (?1, 'pending', 0)",
            params![page as i64],
        )?;
    }
    let mut read = db.prepare_cached(
        "SELECT id, email, given_name FROM customers WHERE id >= ?1 AND id <= ?2 ORDER BY id",
    )?;
    for (page, chunk) in sorted.chunks(500).enumerate() {
        let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
        let customers: Vec<serde_json::Value> = read
            .query_map(
                params![first.as_bytes().as_slice(), last.as_bytes().as_slice()],
                |r| {
                    let id: Vec<u8> = r.get(0)?;
                    let email: String = r.get(1)?;
                    let given: String = r.get(2)?;
                    Ok((id, email, given))
                },
            )?
            .map(|row| {
                let (id, email, given) = row?;
                Ok(json!({
                    "customer_id": uuid::Uuid::from_slice(&id)?,
                    "fields": {"email": email, "given_name": given},
                }))
            })
            .collect::<BenchResult<_>>()?;
        let body = serde_json::to_vec(&json!({
            "type": "share.page",
            "timestamp": jiff::Timestamp::now(),
            "data": {
                "share_id": share,
                "purpose": EMAIL,
                "fields": ["email", "given_name"],
                "page": page + 1,
                "pages": pages,
                "customers": customers,
            },
        }))?;
        let status = app.webhooks().post_as_is(url, body).await?;
        if status != 200 {
            return Err(format!("the baseline's POST answered {status}").into());
        }
        let at = jiff::Timestamp::now().as_microsecond();
        db.execute_batch("BEGIN IMMEDIATE")?;
        db.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1 WHERE page = ?1",
            params![page as i64],
        )?;
        db.execute(
            "INSERT INTO attempts VALUES (?1, 1, ?2, ?3)",
            params![page as i64, i64::from(status), at],
        )?;
        db.execute_batch("COMMIT")?;
    }
    Ok(pages)
}

fn main() -> BenchResult<()> {
    let n = size(SMOKE_CUSTOMERS, DEFAULT_CUSTOMERS, 1, None)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n))
}
