//! Being ready for a breach: a response plan prepared in advance, and no breach left past its
//! 72 hours without a decision on notifying the authority.

use steward_core::breach::ClockState;

use super::{Check, Checked, Cx, Outcome, Severity};

pub(super) const BREACH_PLAN: Check = Check {
    id: "BREACH_PLAN",
    severity: Severity::High,
    fix: "Add a [breach_plan] section to steward.toml: the response team, the supervisory authorities and the steps with their owners.",
    run: breach_plan,
};

fn breach_plan<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        Ok(match &cx.app.security.breach_plan {
            Some(plan) => Outcome::pass(format!(
                "a response plan with {} team members and {} steps is configured",
                plan.team.len(),
                plan.steps.len()
            )),
            None => Outcome::fail(
                "no breach response plan is configured: a breach could not be opened",
                vec!["setting:breach_plan".into()],
            ),
        })
    })
}

pub(super) const BREACHES_OVERDUE: Check = Check {
    id: "BREACHES_OVERDUE",
    severity: Severity::Critical,
    fix: "Record the decision on notifying the supervisory authority for each breach named, with the reasons for the delay.",
    run: breaches_overdue,
};

fn breaches_overdue<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let now = cx.app.clock.now();
        let rows = cx.app.store.breaches().await?;
        if rows.is_empty() {
            return Ok(Outcome::not_applicable("no breach is in the register"));
        }
        let mut overdue = Vec::new();
        for row in &rows {
            if cx.app.breach_of(row)?.clock(now) == ClockState::Overdue {
                overdue.push(format!("breach:{}", row.id));
            }
        }
        Ok(Outcome::none_of(
            overdue,
            "breaches are past 72 hours from awareness without a decision on notifying the authority",
            format!(
                "every breach of {} is decided, closed or within its 72 hours",
                rows.len()
            ),
        ))
    })
}
