//! `steward customers reindex`: the name-search entries of every customer written again,
//! with a progress bar and counts (never a name).

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn reindex(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let actor = operator.actor("cli-reindex", &[]);
    let total = app.customers().count().await.map_err(explain)?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} customers [{elapsed_precise}, eta {eta}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = app
        .customers()
        .reindex_names(&actor, |passed| bar.set_position(passed))
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    println!(
        "name entries written again for {} customers",
        done.reindexed
    );
    if done.changed_meanwhile > 0 {
        println!(
            "{} customers changed while the run read them; their own change wrote their entries",
            done.changed_meanwhile
        );
    }
    if done.key_destroyed > 0 {
        println!(
            "{} customers passed over: their data key is destroyed (an erasure in progress)",
            done.key_destroyed
        );
    }
    Ok(ExitCode::SUCCESS)
}
