//! `steward personalization recompute`: derives the observed and inferred attributes of every
//! customer at full now, instead of waiting for the server's next six-hourly run, with its
//! progress and a summary of counts (never a value).

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use steward_app::core::personalization::PROFILED;

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn recompute(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let actor = operator.actor("cli-personalization", &[PROFILED]);
    // Counted before the run: the bar's length, and the customers the run passes over
    // because they did not choose full.
    let counts = app
        .personalization()
        .level_counts()
        .await
        .map_err(explain)?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(counts.full)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} customers at full {msg} [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = app
        .personalization()
        .recompute(&actor, |r| {
            bar.set_position(r.customers + r.skipped);
            bar.set_message(format!("{} attributes", r.attributes));
        })
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    if let Some(run) = report.run {
        println!("run {run}:");
    }
    println!("  customers processed: {}", report.customers);
    println!(
        "  skipped below full: {}",
        counts.total().saturating_sub(counts.full)
    );
    println!("  skipped, key destroyed: {}", report.skipped);
    println!("  attributes written: {}", report.attributes);
    Ok(ExitCode::SUCCESS)
}
