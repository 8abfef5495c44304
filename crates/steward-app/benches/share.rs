//! Sharing an audience with a vendor as a file, against the plain audience export of the same
//! customers in the same run.
//!
//! Run: `cargo bench -p steward-app --bench share [-- CUSTOMERS]` (default 1,000,000).
//!
//! Both jobs start from the same database (customers imported through the app, so every value
//! is sealed under its customer's key; about 60% of them consenting to email marketing), read
//! the same audience, open the same fields and write one JSON line per customer to a file.
//! The export (the baseline) pages the audience and audits each page. The share does that
//! too, and on top checks the vendor and its agreement for every residency, re-seals each
//! customer's values under the share, records one disclosure per customer, and signs the
//! vendor's document (`steward share -o FILE`'s job). Beside it, the same document rebuilt
//! from the sealed disclosures, as the API's download does, is timed and compared.

mod common;

use common::{BenchResult, options, size};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::civil::Date;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use steward_app::core::Role;
use steward_app::core::sharing::{
    AgreementInput, Answer, Dpa, DpaChecklist, ReviewInput, ReviewOutcome, ReviewQuestion,
    SubProcessorAuthorisation, VendorInput, VendorRole, VendorStatus,
};
use steward_app::import::ImportOptions;
use steward_app::{AudienceQuery, AudienceSource, ShareInput, Steward};
use steward_store::{ChangeSet, ConsentEvent, SqliteStore, repos::Changes};
use uuid::Uuid;

/// The allocator the `steward` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_CUSTOMERS: usize = 1_000_000;
const SMOKE_CUSTOMERS: usize = 1_000;
const IMPORT_BATCH: usize = 20_000;
const CONSENT_BATCH: usize = 50_000;
const EMAIL: &str = "marketing.communications.email";
const MICROS_PER_DAY: i64 = 86_400_000_000;

const COLUMNS: [&str; 5] = ["given_name", "family_name", "email", "phone", "residency"];

/// Customers in shuffled order with addresses that do not sort by row, across the EEA.
fn write_csv(path: &Path, n: usize) -> BenchResult<()> {
    let mut rng = StdRng::seed_from_u64(3);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let countries = ["DE", "FR", "IT", "ES", "NL", "AT", "IE", "PL"];
    let mut w = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
    w.write_record(COLUMNS)?;
    for i in order {
        let tag: u32 = rng.r#gen();
        w.write_record([
            format!("Given{i}"),
            format!("Family{}", i % 7_919),
            format!("{tag:08x}.{i}@example.com"),
            format!("+4930{i:08}"),
            countries[i % countries.len()].to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.to_string())?.flush()?;
    Ok(())
}

/// Email-marketing consents written straight to the ledger: 60% given, 15% withdrawn, the
/// rest never asked.
async fn consents(db: &Path, ids: &[Uuid], now: i64) -> BenchResult<usize> {
    let store = SqliteStore::open(db, Arc::new(steward_vault::Signer::generate()))?;
    let mut rng = StdRng::seed_from_u64(9);
    let mut given = 0;
    for chunk in ids.chunks(CONSENT_BATCH) {
        let mut changes = ChangeSet::default();
        for id in chunk {
            let state = match rng.gen_range(0..100) {
                0..60 => "given",
                60..75 => "withdrawn",
                _ => continue,
            };
            given += usize::from(state == "given");
            changes.consents.push(ConsentEvent {
                id: Uuid::now_v7(),
                customer_id: *id,
                purpose: EMAIL.into(),
                state: state.into(),
                notice_version: None,
                method: "import".into(),
                evidence: None,
                at: now - 30 * MICROS_PER_DAY,
                expires_at: (state == "given").then_some(now + 365 * MICROS_PER_DAY),
            });
        }
        store.apply(changes).await?;
    }
    Ok(given)
}

fn checklist() -> DpaChecklist {
    DpaChecklist {
        instructions: true,
        confidentiality: true,
        security: true,
        sub_processor_conditions: true,
        help_with_requests: true,
        help_with_arts_32_to_36: true,
        deletion_or_return: true,
        audits: true,
    }
}

/// A reviewed processor in Germany with an agreement covering `categories` for email
/// marketing.
async fn vendor(app: &Steward, categories: Vec<String>, today: Date) -> BenchResult<Uuid> {
    let dpo = app.local_staff("bench-dpo", Role::Dpo, &["essential.legal_obligation"]);
    let dpo = app.access(&dpo, None)?;
    let id = app
        .vendors()
        .create(
            &dpo,
            VendorInput {
                legal_name: "Postwerk Mail GmbH".into(),
                address: "Hauptstrasse 1\n10115 Berlin".into(),
                contact_person: "Dana Whitfield".into(),
                role: VendorRole::Processor,
                parent: None,
                established_in: vec!["DE".into()],
                stores_in: vec!["DE".into()],
                accesses_from: vec![],
                dpa: Some(Dpa {
                    signed_on: today,
                    version: "1.0".into(),
                    sha256: "0f".repeat(32),
                    expires_on: None,
                    checklist: checklist(),
                }),
                sub_processor_authorisation: Some(SubProcessorAuthorisation::Specific),
                certifications: vec![],
                dpf: None,
                adequacy_scope_confirmed: vec![],
                risk_tier: 2,
                status: VendorStatus::Active,
            },
        )
        .await?
        .vendor
        .id;
    app.vendors()
        .review(
            &dpo,
            id,
            ReviewInput {
                reviewed_on: today,
                reviewer: "Bench".into(),
                answers: ReviewQuestion::ALL
                    .iter()
                    .map(|q| (q.as_str().to_string(), Answer::Yes))
                    .collect(),
                outcome: ReviewOutcome::Approved,
                conditions: None,
            },
        )
        .await?;
    app.agreements()
        .create(
            &dpo,
            AgreementInput {
                vendor: id,
                purposes: vec![EMAIL.into()],
                categories,
                destinations: vec![],
                valid_from: today,
                valid_until: None,
                onward_transfer: false,
            },
        )
        .await?;
    Ok(id)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn export(app: &Steward, out: &Path) -> BenchResult<(u64, Duration)> {
    let marketer = app.local_staff("bench-marketer", Role::Marketer, &[EMAIL]);
    let access = app.access(&marketer, Some(EMAIL))?;
    let t = Instant::now();
    let query = AudienceQuery {
        purpose: EMAIL.into(),
        ..Default::default()
    };
    let segment = app.segments().start_export(&access, &query).await?;
    let mut w = BufWriter::new(File::create(out)?);
    let mut after = None;
    let mut written = 0u64;
    while let Some((members, last)) = app
        .segments()
        .audience_page(&access, &segment, after)
        .await?
    {
        for m in &members {
            serde_json::to_writer(&mut w, m)?;
            w.write_all(b"\n")?;
        }
        written += members.len() as u64;
        after = Some(last);
    }
    w.flush()?;
    Ok((written, t.elapsed()))
}

async fn share(
    app: &Steward,
    vendor: Uuid,
    fields: &[String],
    out: &Path,
) -> BenchResult<(u64, Duration, Duration)> {
    let dpo = app.local_staff("bench-dpo", Role::Dpo, &["essential.legal_obligation"]);
    let access = app.access(&dpo, None)?;
    let t = Instant::now();
    let (shared, document) = app
        .shares()
        .share_to_file(
            &access,
            ShareInput {
                vendor_id: vendor,
                purpose: EMAIL.into(),
                fields: fields.to_vec(),
                customer_ids: None,
                segment_id: None,
                audience: Some(AudienceSource::default()),
                delivery: Default::default(),
            },
        )
        .await?;
    let mut w = BufWriter::new(File::create(out)?);
    w.write_all(document.body.as_bytes())?;
    w.flush()?;
    let written = t.elapsed();
    // The same document rebuilt from the sealed disclosures, as the API's download does.
    let t = Instant::now();
    let again = app.shares().download(&access, shared.id).await?;
    if again.body != document.body {
        return Err("the download differs from the document written with the share".into());
    }
    Ok((shared.shared, written, t.elapsed()))
}

async fn run(n: usize) -> BenchResult<()> {
    let tmp = tempfile::tempdir()?;
    let csv_path = tmp.path().join("customers.csv");
    write_csv(&csv_path, n)?;
    let data_dir = tmp.path().join("steward");
    let (app, operator) = Steward::open_as_operator(options(&data_dir)?).await?;
    let importer = operator.actor("bench", &["essential.service"]);
    let t = Instant::now();
    let report = app
        .customers()
        .import(
            &importer,
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
    let now = jiff::Timestamp::now();
    let today = steward_app::core::transfers::utc_day(now);
    let db = data_dir.join("steward.db");
    let ids: Vec<Uuid> = {
        let raw = rusqlite::Connection::open(&db)?;
        let mut stmt = raw.prepare("SELECT id FROM customers")?;
        stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?
            .map(|b| Ok(Uuid::from_slice(&b?)?))
            .collect::<BenchResult<_>>()?
    };
    drop(app);
    let given = consents(&db, &ids, now.as_microsecond()).await?;
    let app = Steward::open(options(&data_dir)?).await?;
    println!(
        "{n} customers imported in {:.1}s; {given} consent to {EMAIL}",
        import_time.as_secs_f64()
    );

    let fields: Vec<String> = app
        .catalog()
        .fields()
        .iter()
        .filter(|f| f.needed_for(EMAIL))
        .map(|f| f.key.clone())
        .collect();
    let mut categories: Vec<String> = app
        .catalog()
        .fields()
        .iter()
        .filter(|f| f.needed_for(EMAIL))
        .map(|f| f.category.clone())
        .collect();
    categories.sort();
    categories.dedup();
    let vendor = vendor(&app, categories, today).await?;

    // Alternate the two so neither always runs on a warmer cache; medians of the runs.
    let runs = if n > SMOKE_CUSTOMERS { 3 } else { 1 };
    let mut exports = Vec::new();
    let mut shares = Vec::new();
    let mut recorded = Vec::new();
    for run in 0..runs {
        let (exported, took) =
            export(&app, &tmp.path().join(format!("export-{run}.jsonl"))).await?;
        let (shared, written, rebuilt) = share(
            &app,
            vendor,
            &fields,
            &tmp.path().join(format!("share-{run}.jsonl")),
        )
        .await?;
        if shared != exported || exported != given as u64 {
            return Err(format!(
                "the export wrote {exported}, the share {shared}, of {given} consenting"
            )
            .into());
        }
        exports.push(took);
        shares.push(written);
        recorded.push(rebuilt);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (export_time, share_time, download_time) =
        (median(exports), median(shares), median(recorded));
    let rate = |d: Duration| given as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "audience export (baseline): {given} customers, fields {} in {:.2}s ({:.0}/s)",
        fields.join(","),
        export_time.as_secs_f64(),
        rate(export_time)
    );
    println!(
        "share as a signed file: {:.2}s ({:.0}/s); the API's download rebuilding the same document from the sealed disclosures: {:.2}s ({:.0}/s)",
        share_time.as_secs_f64(),
        rate(share_time),
        download_time.as_secs_f64(),
        rate(download_time)
    );
    println!(
        "share/export speed ratio {:.2} (target at least 0.5; medians of {runs} alternated runs)",
        export_time.as_secs_f64() / share_time.as_secs_f64().max(1e-9)
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak RSS (VmHWM): {mib:.0} MiB");
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let n = size(SMOKE_CUSTOMERS, DEFAULT_CUSTOMERS, 1, None)?;
    println!(
        "steward share benchmark: {n} customers, {} CPUs",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(n))
}
