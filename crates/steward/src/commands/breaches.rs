//! `steward breach`: the breach register as the privacy officer reads it at the machine, each
//! breach with where its 72-hour clock stands, and the authority's notification as Markdown.

use std::process::ExitCode;

use steward_app::BreachView;
use steward_app::core::breach::ClockState;

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn list(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let breaches = app
        .breaches()
        .list(&operator.actor("cli-breaches", &[]))
        .await
        .map_err(explain)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&breaches)?);
    } else if breaches.is_empty() {
        println!("No breach is in the register.");
    }
    if !json {
        for b in &breaches {
            println!("{}", line(b));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One breach on one line: id, clock, deadline, risk and title.
fn line(b: &BreachView) -> String {
    let clock = match (b.clock, b.hours_left) {
        (ClockState::Overdue, Some(h)) => format!("OVERDUE by {:.0} h", -h),
        (ClockState::DueSoon, Some(h)) => format!("DUE SOON, {h:.0} h left"),
        (ClockState::Running, Some(h)) => format!("{h:.0} h left"),
        (state, _) => state.to_string(),
    };
    format!(
        "{}  {:<18} deadline {}  risk {:<10} {}",
        b.breach.id,
        clock,
        b.deadline.strftime("%Y-%m-%d %H:%M UTC"),
        b.breach.risk.map_or("not judged", |r| r.as_str()),
        b.breach.title,
    )
}

pub(super) async fn notice(settings: &Settings, id: &str) -> anyhow::Result<ExitCode> {
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| anyhow::anyhow!("{id} is not a breach id"))?;
    let (app, operator) = open(settings).await?;
    let md = app
        .breaches()
        .authority_notice(&operator.actor("cli-breaches", &[]), id)
        .await
        .map_err(explain)?;
    print!("{md}");
    Ok(ExitCode::SUCCESS)
}
