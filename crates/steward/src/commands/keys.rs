//! `steward keys`: rotate the key-encryption key and rewrap every key onto it with a
//! progress bar, show the versions, mark one compromised.

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use steward_app::KeyStatus;

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn rotate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let actor = operator.actor("cli-keys", &[]);
    let version = app.keys().rotate(&actor).await.map_err(explain)?;
    eprintln!("key-encryption key version {version} created; it wraps every new key");
    rewrap(&app, &actor).await
}

/// Runs the rewrap to the end: also what finishes a rotation that was interrupted.
async fn rewrap(
    app: &steward_app::Steward,
    actor: &steward_app::Actor,
) -> anyhow::Result<ExitCode> {
    let status = app.keys().status(actor).await.map_err(explain)?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(status.pending_rewrap)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} data keys rewrapped [{elapsed_precise}, eta {eta}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = app
        .keys()
        .rewrap(actor, None, |moved| bar.set_position(moved))
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    app.audit().witness(true).await.map_err(explain)?;
    eprintln!(
        "{} data keys and {} secrets rewrapped onto version {}",
        done.data_keys, done.secrets, done.to
    );
    for v in &done.retired {
        eprintln!("version {v} retired: no key uses it, and it is gone from the master key file");
    }
    if done.finished {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "keys are still wrapped by an older version; run `steward keys rotate` again or let the server finish"
        );
        Ok(ExitCode::FAILURE)
    }
}

pub(super) async fn status(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let status = app
        .keys()
        .status(&operator.actor("cli-keys", &[]))
        .await
        .map_err(explain)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_status(&status);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(status: &KeyStatus) {
    println!(
        "current version {} ({} days old); {} keys left to rewrap",
        status.current, status.current_age_days, status.pending_rewrap
    );
    println!(
        "{:<8} {:<27} {:<27} {:>10} {:>8}  compromised",
        "version", "created", "retired", "data keys", "secrets"
    );
    for v in &status.versions {
        let compromised = match (&v.compromised_at, &v.compromised_reason) {
            (Some(at), reason) => format!("{at}: {}", reason.as_deref().unwrap_or("")),
            (None, _) => "-".into(),
        };
        println!(
            "{:<8} {:<27} {:<27} {:>10} {:>8}  {compromised}",
            format!("v{}{}", v.version, if v.current { "*" } else { "" }),
            v.created_at.to_string(),
            v.retired_at
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            v.data_keys,
            v.secrets,
        );
    }
}

pub(super) async fn compromised(
    settings: &Settings,
    version: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let version: u32 = version
        .strip_prefix('v')
        .unwrap_or(version)
        .parse()
        .map_err(|_| anyhow::anyhow!("{version:?} is not a key version (such as 1 or v1)"))?;
    let (app, operator) = open(settings).await?;
    let actor = operator.actor("cli-keys", &[]);
    let before = app.keys().status(&actor).await.map_err(explain)?.current;
    let status = app
        .keys()
        .mark_compromised(&actor, version, reason)
        .await
        .map_err(|e| match e {
            steward_app::AppError::NotFound => anyhow::anyhow!("there is no key version {version}"),
            other => explain(other),
        })?;
    eprintln!("version {version} marked compromised");
    if status.current != before {
        eprintln!(
            "it was current: version {} now wraps every new key; rewrapping the others onto it",
            status.current
        );
    }
    if status.pending_rewrap > 0 {
        return rewrap(&app, &actor).await;
    }
    app.audit().witness(true).await.map_err(explain)?;
    Ok(ExitCode::SUCCESS)
}
