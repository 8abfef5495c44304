//! The audit log: its chain verifies against every signed head, and a recent head is
//! witnessed outside the database.

use jiff::SignedDuration;

use super::{Check, Checked, Cx, Outcome, Severity};

/// Entries left unwitnessed outside the database for longer than this are a failing check.
const CHECKPOINT_MAX_AGE: SignedDuration = SignedDuration::from_hours(48);

pub(super) const AUDIT_CHAIN: Check = Check {
    id: "AUDIT_CHAIN",
    severity: Severity::Critical,
    fix: "Run steward audit verify, find who changed the log at the entry it names, and restore the log from a backup that verifies.",
    run: audit_chain,
};

fn audit_chain<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let report = cx.app.audit().verify().await?;
        Ok(if report.ok {
            Outcome::pass(format!(
                "{} entries verify against their signed heads",
                report.entries
            ))
        } else {
            Outcome::fail(
                format!(
                    "{} (first entry found wrong: {})",
                    report
                        .problem
                        .as_deref()
                        .unwrap_or("the chain does not verify"),
                    report
                        .first_bad
                        .map_or_else(|| "none named".to_string(), |s| s.to_string())
                ),
                report
                    .first_bad
                    .map(|s| format!("audit:{s}"))
                    .into_iter()
                    .collect(),
            )
        })
    })
}

pub(super) const AUDIT_CHECKPOINT_AGE: Check = Check {
    id: "AUDIT_CHECKPOINT_AGE",
    severity: Severity::High,
    fix: "Keep steward serve running (it witnesses the head every second) or run steward audit verify, and find out why the witness stopped.",
    run: audit_checkpoint_age,
};

fn audit_checkpoint_age<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let entries = cx.app.store.audit_head().await?.0;
        let witnessed = cx.app.keys.witnessed_head().await?;
        let Some(head) = witnessed else {
            return Ok(if entries == 0 {
                Outcome::not_applicable("the audit log is empty")
            } else {
                Outcome::fail(
                    format!("none of the {entries} entries is witnessed outside the database"),
                    vec![],
                )
            });
        };
        let behind = entries.saturating_sub(head.seq);
        let covered = format!(
            "the newest head witnessed outside the database covers entry {} of {entries}",
            head.seq
        );
        // What matters is how long the oldest entry past it has waited, not the head's age.
        let Some(first) = cx
            .app
            .store
            .audit_page(head.seq, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Outcome::pass(covered));
        };
        let waited = steward_core::clock::from_micros(first.record.at).duration_until(cx.now);
        let evidence = format!(
            "{covered}; the {behind} entries after it are not witnessed, the oldest (entry {}) recorded {} hours ago",
            first.seq,
            waited.as_secs().max(0) / 3_600
        );
        Ok(if waited > CHECKPOINT_MAX_AGE {
            Outcome::fail(evidence, vec![format!("audit:{}", first.seq)])
        } else {
            Outcome::pass(evidence)
        })
    })
}
