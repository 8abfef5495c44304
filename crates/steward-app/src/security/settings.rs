//! What the operator prepared for security: the breach response plan.

use steward_core::breach::BreachPlan;

#[derive(Debug, Clone, Default)]
pub struct SecuritySettings {
    /// The plan opening a breach instantiates; without one, no breach can be opened and the
    /// self-audit fails.
    pub breach_plan: Option<BreachPlan>,
}
