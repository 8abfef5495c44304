//! What the breach register refuses to do, each with a code for machines.

vocabulary!(
    /// Why a breach use case was refused.
    BreachRefusal {
        EncryptionExemptionUnavailable => "ENCRYPTION_EXEMPTION_UNAVAILABLE",
        CustomersNotToBeTold => "CUSTOMERS_NOT_TO_BE_TOLD",
        NoAffectedCustomers => "NO_AFFECTED_CUSTOMERS",
        BreachClosed => "BREACH_CLOSED",
        NoBreachPlan => "NO_BREACH_PLAN",
    }
);

impl BreachRefusal {
    /// The refusal in words, for people.
    pub fn message(self) -> &'static str {
        match self {
            BreachRefusal::EncryptionExemptionUnavailable => {
                "the encryption exemption (Art. 34(3)(a)) is not available: a key protecting the data is marked compromised, or the data was read in the clear"
            }
            BreachRefusal::CustomersNotToBeTold => {
                "record the decision to tell customers (customer_decision.notify) before sending notices"
            }
            BreachRefusal::NoAffectedCustomers => {
                "no customer is attached to this breach: run its scope first"
            }
            BreachRefusal::BreachClosed => "the breach is closed and kept as it was closed",
            BreachRefusal::NoBreachPlan => {
                "there is no breach response plan: add a [breach_plan] section to the configuration"
            }
        }
    }
}
