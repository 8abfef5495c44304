//! `steward import`: a CSV file brought in with a progress bar on a terminal, or a line of
//! progress every few seconds elsewhere, stoppable and resumable.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use steward_app::AppError;
use steward_app::import::ImportOptions;

use super::{explain, open};
use crate::settings::Settings;

/// How often an import writes a line of progress when its output is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub(super) async fn import(
    settings: &Settings,
    file: std::path::PathBuf,
    map: Option<std::path::PathBuf>,
    purpose: String,
    residency: Option<String>,
    rejects: Option<std::path::PathBuf>,
    batch: usize,
) -> anyhow::Result<ExitCode> {
    let header_map: HashMap<String, String> = match &map {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| {
                format!(
                    "{}: expected lines like \"E-Mail\" = \"email\"",
                    path.display()
                )
            })?
        }
        None => HashMap::new(),
    };
    let reject_path = rejects.unwrap_or_else(|| {
        let mut p = file.clone().into_os_string();
        p.push(".rejects.csv");
        p.into()
    });
    let (app, operator) = open(settings).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let total = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let on_terminal = std::io::stderr().is_terminal();
    let bar = if on_terminal {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    // A log or a job runner gets a line now and then instead of the bar: the first batch's,
    // so a reader sees the import has started, then one every few seconds.
    let mut last_line: Option<Instant> = None;
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = ImportOptions {
        purpose: purpose.clone(),
        default_residency: residency,
        header_map,
        reject_path: reject_path.clone(),
        batch_size: batch,
    };
    let actor = operator.actor("cli-import", &[purpose.as_str()]);
    let report = app
        .customers()
        .import(&actor, &file, &opts, |p| {
            let counts = format!(
                "{} created, {} updated, {} rejected",
                p.created, p.updated, p.rejected
            );
            if !on_terminal && last_line.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                eprintln!(
                    "import: {}% of {} bytes read, {counts}",
                    (p.bytes_read * 100)
                        .checked_div(p.bytes_total)
                        .unwrap_or(100),
                    p.bytes_total
                );
                last_line = Some(Instant::now());
            }
            bar.set_position(p.bytes_read);
            bar.set_message(counts);
            if stop.load(Ordering::SeqCst) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .map_err(|e| match e {
            AppError::Invalid(errors)
                if errors.iter().any(|e| e.message.contains("header map")) =>
            {
                anyhow::anyhow!(
                    "{}\nname the field such a header holds with --map FILE, a TOML file of \
                     lines like \"Shoe size\" = \"notes\"",
                    explain(AppError::Invalid(errors))
                )
            }
            other => explain(other),
        })?;
    bar.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    let p = report.progress;
    if report.already_done {
        println!(
            "{} was imported completely before; nothing to do",
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(line) = report.resumed_at_line {
        println!("resumed after line {line}");
    }
    println!(
        "{} created, {} updated, {} rejected",
        p.created, p.updated, p.rejected
    );
    if p.rejected > 0 {
        println!("refused rows and reasons: {}", reject_path.display());
    }
    if !report.finished {
        println!("interrupted; run the same command again to resume");
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}
