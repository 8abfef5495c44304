//! `steward vendors` and `steward agreements`: the register as the privacy officer reads it at
//! the machine, and vendors, reviews and agreements entered from the same JSON the API takes;
//! `steward ropa`: the record of processing the register feeds.

use std::path::Path;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use steward_app::core::sharing::{AgreementInput, DpaState, ReviewInput, ReviewState, VendorInput};
use steward_app::{Access, RopaFormat, Steward, VendorView};

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

/// The JSON form in `file` (`-` for standard input), read as `what`.
fn form<T: DeserializeOwned>(file: &Path, what: &str) -> anyhow::Result<T> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    };
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not {what}: {e}", file.display()))
}

/// The register's keeper at the machine: the operator, under the purpose the register is
/// kept for.
pub(super) fn keeper(
    app: &Steward,
    operator: &steward_app::Operator,
    job: &str,
) -> anyhow::Result<Access> {
    app.access(
        &operator.actor(job, &["essential.legal_obligation"]),
        Some("essential.legal_obligation"),
    )
    .map_err(explain)
}

pub(super) async fn add(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let input: VendorInput = form(file, "a vendor")?;
    let (app, operator) = open(settings).await?;
    let access = keeper(&app, &operator, "cli-vendors")?;
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

pub(super) async fn review(
    settings: &Settings,
    vendor: &str,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let vendor = uuid::Uuid::parse_str(vendor.trim())
        .map_err(|_| anyhow::anyhow!("{vendor:?} is not a vendor id"))?;
    let input: ReviewInput = form(file, "a review")?;
    let (app, operator) = open(settings).await?;
    let access = keeper(&app, &operator, "cli-vendors")?;
    let review = app
        .vendors()
        .review(&access, vendor, input)
        .await
        .map_err(explain)?;
    app.audit().witness(true).await.map_err(explain)?;
    let view = app
        .vendors()
        .get(access.actor(), vendor)
        .await
        .map_err(explain)?;
    println!("review {} recorded; {}", review.id, line(&view));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn add_agreement(settings: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let input: AgreementInput = form(file, "an agreement")?;
    let (app, operator) = open(settings).await?;
    let access = keeper(&app, &operator, "cli-agreements")?;
    let made = app
        .agreements()
        .create(&access, input)
        .await
        .map_err(explain)?;
    app.audit().witness(true).await.map_err(explain)?;
    let a = &made.agreement;
    println!(
        "{}  vendor {}  purposes {}  categories {}  from {}{}",
        a.id,
        a.vendor,
        a.purposes.join(","),
        a.categories.join(","),
        a.valid_from,
        a.valid_until
            .map(|d| format!(" until {d}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
