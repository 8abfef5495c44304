//! `steward retention run`: a sweep, or a dry run that lists what it would do, with its
//! progress.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn retention_run(settings: &Settings, dry_run: bool) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let actor = operator.actor("cli-retention", &["essential.legal_obligation"]);
    let access = app
        .access(&actor, Some("essential.legal_obligation"))
        .map_err(explain)?;
    let total = app.retention().due(&access).await.map_err(explain)?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} records {msg} [{elapsed_precise}, eta {eta}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(if dry_run { "checked" } else { "done or held" });
    let run = app
        .retention()
        .start_run(&access, dry_run)
        .await
        .map_err(explain)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if dry_run {
        writeln!(out, "rule,record_id,customer_id,anchor_at,due_at")?;
    }
    let mut failed = None;
    let report = app
        .retention()
        .run(
            run.id,
            |p| {
                bar.set_position(p.done + p.held);
                std::ops::ControlFlow::Continue(())
            },
            |item| {
                let line = writeln!(
                    out,
                    "{},{},{},{},{}",
                    item.rule,
                    item.record_id,
                    item.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                    item.anchor_at,
                    item.due_at
                );
                if let Err(e) = line {
                    failed.get_or_insert(e);
                }
            },
        )
        .await
        .map_err(explain)?;
    out.flush()?;
    drop(out);
    if let Some(e) = failed {
        return Err(e.into());
    }
    bar.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    eprintln!(
        "run {}{}:",
        report.id,
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    for r in &report.report.rules {
        match &r.enforced_by {
            Some(by) => eprintln!("  {}: carried out by {by}", r.rule),
            None => eprintln!(
                "  {}: {} {} {}, {} held",
                r.rule,
                r.done,
                r.record,
                if dry_run {
                    format!("would {}", r.action)
                } else {
                    r.action.clone()
                },
                r.held
            ),
        }
    }
    for h in &report.report.held {
        eprintln!("  held: {} {} (due {})", h.rule, h.record_id, h.due_at);
    }
    Ok(ExitCode::SUCCESS)
}
