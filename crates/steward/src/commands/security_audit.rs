//! `steward security-audit`: the self-audit run at the machine, as a table or JSON, exiting
//! non-zero when a check fails; and the facts of the installation it is told, shared with
//! the server's daily run.

use std::io::Write;
use std::process::ExitCode;

use steward_app::{FindingStatus, InstallationFacts, SecurityReport};

use super::{explain, open};
use crate::settings::Settings;

/// What the settings say of how the server listens and with which certificate, and the key
/// policy: the app never sees the HTTP layer, so it is told.
pub(super) fn installation_facts(settings: &Settings) -> anyhow::Result<InstallationFacts> {
    let kek_max_age: jiff::Span = settings.kek_max_age.parse().map_err(|e| {
        anyhow::anyhow!(
            "invalid setting kek_max_age {:?}: {e}; use an ISO 8601 period such as P1Y",
            settings.kek_max_age
        )
    })?;
    let certificate_not_after = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(_)) => Some(steward_http::certificate_not_after(cert)?),
        _ => None,
    };
    Ok(InstallationFacts {
        listen: settings.listen,
        tls: certificate_not_after.is_some(),
        certificate_not_after,
        kek_max_age,
    })
}

pub(super) async fn run(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let facts = installation_facts(settings)?;
    let (app, operator) = open(settings).await?;
    let report = app
        .self_audit()
        .run(&operator.actor("cli", &[]), &facts)
        .await
        .map_err(explain)?;
    app.audit().witness(true).await.map_err(explain)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_table(&mut out, &report)?;
    }
    Ok(if report.counts.fail > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_table(out: &mut impl Write, report: &SecurityReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<26} {:<14} {:<9} EVIDENCE",
        "CHECK", "STATUS", "SEVERITY"
    )?;
    for f in &report.findings {
        writeln!(
            out,
            "{:<26} {:<14} {:<9} {}",
            f.id,
            f.status.as_str(),
            f.severity.as_str(),
            f.evidence
        )?;
    }
    let c = &report.counts;
    writeln!(
        out,
        "\n{} passed, {} failed, {} not applicable ({})",
        c.pass,
        c.fail,
        c.not_applicable,
        report.ran_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    )?;
    for f in report
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Fail)
    {
        writeln!(out, "\n{} ({}): {}", f.id, f.severity.as_str(), f.fix)?;
        for s in &f.subjects {
            writeln!(out, "  - {s}")?;
        }
    }
    Ok(())
}
