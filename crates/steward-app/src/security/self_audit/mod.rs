//! The security self-audit: a list of checks over the installation as it stands (staff
//! accounts and tokens, keys and their files, listeners and certificates, the audit chain,
//! vendors, the retention sweeper, the breach plan and open breaches, mail and the
//! controller's details), each answering pass, fail or not applicable with its evidence and
//! the fix. Evidence names accounts, tokens and vendors by id and counts, never by a personal
//! value.
//!
//! Like the dashboard, it reads across mechanisms; it changes nothing but the audit entry of
//! its own run. Adding a check is one function in the file of its group and one line in
//! [`CHECKS`].

mod accounts;
mod audit_chain;
mod breaches;
mod configuration;
mod keys;
mod operations;
mod transport;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use jiff::{Span, Timestamp};
use steward_core::Role;

use crate::services::{Jobs, SelfAudit};
use crate::{Actor, AppError, Steward};

/// How bad a failing check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Pass,
    Fail,
    NotApplicable,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Pass => "pass",
            FindingStatus::Fail => "fail",
            FindingStatus::NotApplicable => "not_applicable",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// A stable machine code, e.g. `MFA_COVERAGE`.
    pub id: String,
    pub severity: Severity,
    pub status: FindingStatus,
    /// What was found, in counts and ids.
    pub evidence: String,
    /// The accounts, tokens, vendors or files concerned, by id (`user:…`, `token:…`,
    /// `vendor:…`).
    pub subjects: Vec<String>,
    /// What to do about a failure, in one sentence.
    pub fix: String,
}

/// How many findings have each status, and how many failures each severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingCounts {
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    pub failed_info: usize,
    pub failed_low: usize,
    pub failed_medium: usize,
    pub failed_high: usize,
    pub failed_critical: usize,
}

/// A run of every check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ran_at: Timestamp,
    pub counts: FindingCounts,
    pub findings: Vec<Finding>,
}

impl SecurityReport {
    pub fn failed(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.status == FindingStatus::Fail)
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }
}

/// What the front end that runs the audit knows of the installation and the app does not:
/// how the server listens and with which certificate, and the policy it was configured with.
/// The binary hands these over as plain data, since the app never sees the HTTP layer.
#[derive(Debug, Clone)]
pub struct InstallationFacts {
    /// Where the HTTP server listens (or would, for the CLI, from the settings).
    pub listen: SocketAddr,
    /// Whether it speaks HTTPS only.
    pub tls: bool,
    /// When the configured certificate stops being valid; `None` without one.
    pub certificate_not_after: Option<Timestamp>,
    /// How old the current key-encryption key may grow before it is rotated.
    pub kek_max_age: Span,
}

impl Default for InstallationFacts {
    fn default() -> Self {
        InstallationFacts {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: false,
            certificate_not_after: None,
            kek_max_age: Span::new().years(1),
        }
    }
}

/// What a check sees.
pub(crate) struct Cx<'a> {
    pub app: &'a Steward,
    pub facts: &'a InstallationFacts,
    pub now: Timestamp,
}

/// What a check found, before its id, severity and fix are added.
pub(crate) struct Outcome {
    status: FindingStatus,
    evidence: String,
    subjects: Vec<String>,
}

impl Outcome {
    pub fn pass(evidence: impl Into<String>) -> Outcome {
        Outcome {
            status: FindingStatus::Pass,
            evidence: evidence.into(),
            subjects: Vec::new(),
        }
    }

    pub fn fail(evidence: impl Into<String>, subjects: Vec<String>) -> Outcome {
        Outcome {
            status: FindingStatus::Fail,
            evidence: evidence.into(),
            subjects,
        }
    }

    pub fn not_applicable(evidence: impl Into<String>) -> Outcome {
        Outcome {
            status: FindingStatus::NotApplicable,
            evidence: evidence.into(),
            subjects: Vec::new(),
        }
    }

    /// Fails naming `subjects` when there are any, else passes.
    pub fn none_of(subjects: Vec<String>, found: &str, clean: impl Into<String>) -> Outcome {
        if subjects.is_empty() {
            Outcome::pass(clean)
        } else {
            Outcome::fail(format!("{} {found}", subjects.len()), subjects)
        }
    }
}

pub(crate) type Checked<'a> = Pin<Box<dyn Future<Output = Result<Outcome, AppError>> + Send + 'a>>;

/// A check: its stable id, how bad its failure is, the fix, and the function that looks.
pub(crate) struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub fix: &'static str,
    pub run: for<'a> fn(&'a Cx<'a>) -> Checked<'a>,
}

/// Every check, in the order reports list them.
const CHECKS: &[Check] = &[
    accounts::MFA_COVERAGE,
    accounts::STALE_ACCOUNTS,
    accounts::TOKENS_WITHOUT_EXPIRY,
    accounts::STALE_TOKENS,
    keys::KEK_AGE,
    keys::MASTER_KEY_PERMISSIONS,
    transport::TLS_LISTENER,
    transport::CERT_EXPIRY,
    transport::POSTGRES_TLS,
    audit_chain::AUDIT_CHAIN,
    audit_chain::AUDIT_CHECKPOINT_AGE,
    operations::VENDORS_OVERDUE_REVIEW,
    operations::VENDOR_DOCUMENTS_EXPIRED,
    operations::RETENTION_SWEEP,
    breaches::BREACH_PLAN,
    breaches::BREACHES_OVERDUE,
    configuration::MAIL_LOG_MODE,
    configuration::CONTROLLER_PLACEHOLDERS,
];

/// The ids of every check, for front ends that show each one (metrics).
pub fn check_ids() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|c| c.id)
}

/// Days without use after which an account or a token counts as stale.
pub(crate) const STALE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(90 * 24);

fn count(findings: &[Finding]) -> FindingCounts {
    let mut c = FindingCounts::default();
    for f in findings {
        match f.status {
            FindingStatus::Pass => c.pass += 1,
            FindingStatus::NotApplicable => c.not_applicable += 1,
            FindingStatus::Fail => {
                c.fail += 1;
                *match f.severity {
                    Severity::Info => &mut c.failed_info,
                    Severity::Low => &mut c.failed_low,
                    Severity::Medium => &mut c.failed_medium,
                    Severity::High => &mut c.failed_high,
                    Severity::Critical => &mut c.failed_critical,
                } += 1;
            }
        }
    }
    c
}

fn require_reader(actor: &Actor) -> Result<(), AppError> {
    if matches!(
        actor.role,
        Role::Admin | Role::Dpo | Role::Auditor | Role::System
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not run the security self-audit",
            actor.role
        )))
    }
}

/// The report of the latest run in this process, for metrics between runs.
#[derive(Default)]
pub(crate) struct LastReport(std::sync::Mutex<Option<SecurityReport>>);

impl LastReport {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SecurityReport>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How often the server runs the self-audit.
pub const SELF_AUDIT_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3_600);

impl SelfAudit<'_> {
    /// The report of the latest run in this process, if any ran.
    pub fn last(&self) -> Option<SecurityReport> {
        self.app.last_security_report.lock().clone()
    }

    /// Runs every check and records the run once in the audit log.
    pub async fn run(
        &self,
        actor: &Actor,
        facts: &InstallationFacts,
    ) -> Result<SecurityReport, AppError> {
        let report = self.assess(actor, facts).await?;
        self.record(actor, &report).await?;
        Ok(report)
    }

    /// Runs every check and keeps the report as this instance's latest, without recording it.
    async fn assess(
        &self,
        actor: &Actor,
        facts: &InstallationFacts,
    ) -> Result<SecurityReport, AppError> {
        require_reader(actor)?;
        let cx = Cx {
            app: self.app,
            facts,
            now: self.app.clock.now(),
        };
        let mut findings = Vec::with_capacity(CHECKS.len());
        for check in CHECKS {
            let outcome = (check.run)(&cx).await?;
            findings.push(Finding {
                id: check.id.to_string(),
                severity: check.severity,
                status: outcome.status,
                evidence: outcome.evidence,
                subjects: outcome.subjects,
                fix: check.fix.to_string(),
            });
        }
        let report = SecurityReport {
            ran_at: cx.now,
            counts: count(&findings),
            findings,
        };
        *self.app.last_security_report.lock() = Some(report.clone());
        Ok(report)
    }

    async fn record(&self, actor: &Actor, report: &SecurityReport) -> Result<(), AppError> {
        let failed: Vec<&str> = report.failed().map(|f| f.id.as_str()).collect();
        let audit = self.app.record(
            actor,
            "security.audit.run",
            None,
            vec![],
            vec![],
            Some(format!(
                "passed={} failed={} not_applicable={}{}{}",
                report.counts.pass,
                report.counts.fail,
                report.counts.not_applicable,
                if failed.is_empty() { "" } else { " checks=" },
                failed.join(",")
            )),
        );
        self.app.append(vec![audit]).await
    }
}

impl Jobs {
    /// Runs the self-audit at once and then every `every` until `stop`, as Steward itself;
    /// each run logs the checks that failed with their evidence.
    pub async fn security_audit(
        self,
        facts: InstallationFacts,
        every: std::time::Duration,
        stop: impl Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let actor = Actor::system("security-audit", &[]);
        loop {
            // Every instance checks itself, for its own facts and its console; one records a
            // run per period.
            let checked = async {
                let report = self.app.self_audit().assess(&actor, &facts).await?;
                let app = &self.app;
                app.leased("security-audit", every, false, |_| async {
                    app.self_audit().record(&actor, &report).await
                })
                .await?;
                Ok::<_, AppError>(report)
            };
            match checked.await {
                Ok(report) => {
                    if report.counts.fail == 0 {
                        tracing::info!("security self-audit: every check passed");
                    }
                    // Evidence holds ids and counts only, so it may be logged.
                    for f in report.failed() {
                        tracing::warn!(check = %f.id, evidence = %f.evidence, "security self-audit: check failed");
                    }
                }
                Err(e) => tracing::error!(error = %e, "security self-audit could not run"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
