//! `steward share`: the privacy officer's share at the machine. It goes through the same use
//! case as the API's (the vendor and its agreement checked for every residency, the customers
//! without a lawful basis left out and counted), and writes the signed document for the
//! vendor to a file, its signature beside it. A refusal prints its code and writes nothing.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use steward_app::{AudienceSource, ShareDelivery, ShareInput};
use uuid::Uuid;

use super::vendors::keeper;
use super::{explain, open};
use crate::cli::ShareArgs;
use crate::settings::Settings;

fn id(text: &str, what: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(text.trim()).map_err(|_| anyhow::anyhow!("{text:?} is not {what}"))
}

/// Customer ids, one per line; blank lines and CRLF endings are allowed.
fn customer_ids(file: &Path) -> anyhow::Result<Vec<Uuid>> {
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
        ))
    };
    let mut ids = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        ids.push(
            id(&line, "a customer id")
                .map_err(|e| anyhow::anyhow!("{} line {}: {e}", file.display(), n + 1))?,
        );
    }
    Ok(ids)
}

/// Writes `bytes` to `path` whole or not at all: a crash mid-write leaves no half document.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = Path::new(&partial);
    let fail = |e: std::io::Error| anyhow::anyhow!("{}: {e}", path.display());
    let mut file = std::fs::File::create(partial).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(partial, path).map_err(fail)?;
    Ok(())
}

pub(super) async fn run(settings: &Settings, args: ShareArgs) -> anyhow::Result<ExitCode> {
    let input = ShareInput {
        vendor_id: id(&args.vendor, "a vendor id")?,
        purpose: args.purpose,
        fields: args.fields,
        customer_ids: args.customers.as_deref().map(customer_ids).transpose()?,
        segment_id: args
            .segment
            .as_deref()
            .map(|s| id(s, "a segment id"))
            .transpose()?,
        audience: args.audience.then(AudienceSource::default),
        delivery: ShareDelivery::File,
    };
    let (app, operator) = open(settings).await?;
    let access = keeper(&app, &operator, "cli-share")?;
    let spinner = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar =
            ProgressBar::new_spinner().with_message("checking, sealing, recording and signing");
        bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}")?);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let outcome = app.shares().share_to_file(&access, input).await;
    spinner.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    let (shared, document) = outcome.map_err(explain)?;
    write_whole(&args.output, document.body.as_bytes())?;
    let mut signature_path = args.output.clone().into_os_string();
    signature_path.push(".sig");
    let signature = serde_json::json!({
        "share_id": document.share_id,
        "algorithm": document.algorithm,
        "signature": document.signature,
        "public_key": document.public_key,
    });
    write_whole(
        Path::new(&signature_path),
        format!("{signature:#}\n").as_bytes(),
    )?;
    let excluded: Vec<String> = shared
        .excluded
        .iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    println!(
        "share {}: {} customers shared with {}; excluded: {}; written to {}",
        shared.id,
        shared.shared,
        shared.vendor_id,
        if excluded.is_empty() {
            "none".to_string()
        } else {
            excluded.join(", ")
        },
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
