//! The work the privacy officer and the server keep up: vendors reviewed and their papers
//! in force, and the retention sweeper running.

use jiff::SignedDuration;
use steward_core::sharing::{DpaState, VendorStatus};

use super::{Check, Checked, Cx, Outcome, Severity};
use crate::{AppError, VendorView};

/// A retention sweep last finished longer ago than this is a failing check.
const SWEEP_MAX_AGE: SignedDuration = SignedDuration::from_hours(48);

/// The vendors still engaged; an offboarded vendor needs no review.
async fn engaged(cx: &Cx<'_>) -> Result<Vec<VendorView>, AppError> {
    let mut views = cx.app.vendor_views().await?;
    views.retain(|v| v.vendor.status != VendorStatus::Offboarded);
    Ok(views)
}

pub(super) const VENDORS_OVERDUE_REVIEW: Check = Check {
    id: "VENDORS_OVERDUE_REVIEW",
    severity: Severity::Medium,
    fix: "Review each vendor named (security, sub-processors, incidents) and record the review in the register.",
    run: vendors_overdue_review,
};

fn vendors_overdue_review<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let vendors = engaged(cx).await?;
        if vendors.is_empty() {
            return Ok(Outcome::not_applicable("no vendor is engaged"));
        }
        let overdue = vendors
            .iter()
            .filter(|v| v.attention.review.is_overdue())
            .map(|v| format!("vendor:{}", v.vendor.id))
            .collect();
        Ok(Outcome::none_of(
            overdue,
            &format!(
                "of {} engaged vendors are overdue for review",
                vendors.len()
            ),
            format!("all {} engaged vendors are reviewed on time", vendors.len()),
        ))
    })
}

pub(super) const VENDOR_DOCUMENTS_EXPIRED: Check = Check {
    id: "VENDOR_DOCUMENTS_EXPIRED",
    severity: Severity::High,
    fix: "Obtain a current processing agreement or certification from each vendor named, or stop sharing with it.",
    run: vendor_documents_expired,
};

fn vendor_documents_expired<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let vendors = engaged(cx).await?;
        if vendors.is_empty() {
            return Ok(Outcome::not_applicable("no vendor is engaged"));
        }
        let (mut dpas, mut certificates) = (0, 0);
        let mut named = Vec::new();
        for v in &vendors {
            let a = &v.attention;
            let dpa = matches!(a.dpa, Some(DpaState::Missing | DpaState::Expired { .. }));
            dpas += usize::from(dpa);
            certificates += a.certifications_expired;
            if dpa || a.certifications_expired > 0 {
                named.push(format!("vendor:{}", v.vendor.id));
            }
        }
        Ok(if named.is_empty() {
            Outcome::pass(format!(
                "the {} engaged vendors' processing agreements and certifications are in force",
                vendors.len()
            ))
        } else {
            Outcome::fail(
                format!(
                    "{} of {} engaged vendors: {dpas} processing agreements missing or expired, {certificates} certifications expired",
                    named.len(),
                    vendors.len()
                ),
                named,
            )
        })
    })
}

pub(super) const RETENTION_SWEEP: Check = Check {
    id: "RETENTION_SWEEP",
    severity: Severity::Medium,
    fix: "Keep steward serve running with retention_interval_minutes above 0, or schedule steward retention run daily.",
    run: retention_sweep,
};

fn retention_sweep<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let rules = cx.app.store.retention_rules().await?;
        if rules.is_empty() {
            return Ok(Outcome::not_applicable("there is no retention rule"));
        }
        let last = cx
            .app
            .store
            .retention_runs(50)
            .await?
            .into_iter()
            .filter(|r| !r.dry_run && r.state == "finished")
            .filter_map(|r| r.finished_at)
            .max();
        let Some(last) = last else {
            return Ok(Outcome::fail(
                format!(
                    "{} retention rules, and no finished sweep among the latest runs",
                    rules.len()
                ),
                vec![],
            ));
        };
        let at = steward_core::clock::from_micros(last);
        let ago = at.duration_until(cx.now);
        let evidence = format!(
            "{} retention rules; the last sweep finished {} hours ago",
            rules.len(),
            ago.as_secs().max(0) / 3_600
        );
        Ok(if ago > SWEEP_MAX_AGE {
            Outcome::fail(evidence, vec![])
        } else {
            Outcome::pass(evidence)
        })
    })
}
