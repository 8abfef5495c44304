//! Personal data breaches (Art. 33 and 34): the register's record of each breach with the
//! rules its fields obey, the 72-hour clock that starts when the company became aware,
//! the response plan prepared before anything happens, and the query of the audit log that
//! finds whom a breach reached (`scope.rs`).
//!
//! Every breach is documented, notifiable or not (Art. 33(5)); the record is written by the
//! privacy officer in parts as the facts come in, so most fields may still be open, but what
//! is written must be coherent: a notification after 72 hours gives its reason, a breach
//! likely to result in a risk is notified, a high risk is told to customers unless an
//! Art. 34(3) exemption with its evidence says why not.

mod clock;
mod plan;
mod record;
mod refusal;
mod scope;

#[cfg(test)]
mod tests;

pub use clock::{ClockState, DEADLINE_HOURS, DUE_SOON_HOURS, Milestone};
pub use plan::{Authority, BreachPlan, BreachPlanInput, PlanStep, StepKind, TeamMember};
pub use record::{
    AuthorityDecision, Breach, BreachInput, Counts, CustomerDecision, Exemption, Nature, Risk,
    Window,
};
pub use refusal::BreachRefusal;
pub use scope::{ScopeProblem, ScopeQuery, ScopeResult};
