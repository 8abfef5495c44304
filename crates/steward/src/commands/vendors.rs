//! `steward vendors`: the register as the privacy officer reads it at the machine, and
//! vendors entered from the same JSON the API takes; `steward ropa`: the record of processing
//! the register feeds.

use std::path::Path;
use std::process::ExitCode;

use steward_app::core::sharing::{DpaState, ReviewState, VendorInput};
use steward_app::{RopaFormat, VendorView};

use super::{explain, open};
use crate::settings::Settings;

pub(super) async fn list(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let vendors = app
        .vendors()
        .list(&operator.actor("cli-vendors", &[]))
        .await
        .map_err(explain)?;
    for v in vendors {
        println!("{}", line(&v));
    }
    Ok(ExitCode::SUCCESS)
}

/// One vendor on one line: id, name, role, status, review and contract.
fn line(v: &VendorView) -> String {
    let review = match v.attention.review {
        ReviewState::NeverReviewed => "never reviewed".to_string(),
        ReviewState::Due { on } => format!("review due {on}"),
        ReviewState::Overdue { since } => format!("review OVERDUE since {since}"),
    };
    let dpa = match &v.attention.dpa {
        None => "no DPA needed",
        Some(DpaState::Current) => "DPA current",
        Some(DpaState::Missing) => "DPA MISSING",
        Some(DpaState::Incomplete { .. }) => "DPA INCOMPLETE",
        Some(DpaState::Expired { .. }) => "DPA ENDED",
    };
    format!(
        "{}  {:<32} {:<16} {:<11} {review}; {dpa}",
        v.vendor.id,
        v.vendor.legal_name,
        v.vendor.role.as_str(),
        v.vendor.status.as_str(),
    )
}

pub(super) async fn add(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    };
    let input: VendorInput = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a vendor: {e}", file.display()))?;
    let (app, operator) = open(settings).await?;
    let access = app
        .access(
            &operator.actor("cli-vendors", &["essential.legal_obligation"]),
            Some("essential.legal_obligation"),
        )
        .map_err(explain)?;
    let made = app
        .vendors()
        .create(&access, input)
        .await
        .map_err(explain)?;
    app.audit().witness(true).await.map_err(explain)?;
    println!("{}", line(&made));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn ropa(
    settings: &Settings,
    format: RopaFormat,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (app, operator) = open(settings).await?;
    let record = app
        .records()
        .ropa(&operator.actor("cli-ropa", &[]))
        .await
        .map_err(explain)?;
    let text = record.render(format).map_err(explain)?;
    match output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
