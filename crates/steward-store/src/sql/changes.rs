//! Change sets: what one use case writes, applied in one transaction, and a customer's
//! erasure with what commits with it.

use steward_core::audit::AuditEntry;

use super::{
    Lock, WriteTx, blind_index, campaigns, consent_ledger, consent_proofs, customers, idempotency,
    outbox, personalization, portal, request_desk, signups, subscriptions, tasks,
};
use crate::{ChangeSet, Erasure, Result};

/// Applies a change set inside a transaction the caller commits.
pub(crate) async fn apply(x: &impl WriteTx, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
    if let Some(spent) = &changes.spend_link {
        outbox::spend_link(x, spent).await?;
    }
    if let Some(step) = &changes.campaign_step {
        campaigns::step(x, step).await?;
    }
    // The kept answer goes in before anything else, so a second use of a key is reported as
    // such, not as whatever else of the same request collides with the first.
    if let Some(kept) = &changes.idempotency {
        idempotency::save(x, kept).await?;
    }
    customers::insert(x, &changes.inserts).await?;
    for u in &changes.updates {
        customers::update(x, u).await?;
    }
    // New entries go in after every update has removed the entries it replaces.
    let written = changes
        .inserts
        .iter()
        .chain(changes.updates.iter().map(|u| &u.write));
    let additions = blind_index::in_key_order(written);
    blind_index::add(x, &additions).await?;
    customers::add_interactions(x, &changes.interactions).await?;
    tasks::save(x, &changes.tasks, &changes.task_moves).await?;
    if let Some(job) = &changes.import_job {
        customers::save_job(x, job).await?;
    }
    // In id order, the order an erasure's sweep takes them in.
    let ledgers: std::collections::BTreeSet<_> = (changes.consent_guards.iter().map(|g| g.0))
        .chain(changes.consents.iter().map(|e| e.customer_id))
        .collect();
    for customer in ledgers {
        x.lock(Lock::Consents(customer)).await?;
    }
    for (customer, purpose, expected) in &changes.consent_guards {
        consent_ledger::expect_current(x, *customer, purpose, *expected).await?;
    }
    for event in &changes.consents {
        consent_ledger::save(x, event).await?;
    }
    personalization::apply(x, &changes.personalization).await?;
    outbox::save(x, &changes).await?;
    if let Some(code) = &changes.portal_code {
        portal::save_code(x, code).await?;
    }
    request_desk::save(x, &changes).await?;
    signups::save(x, &changes).await?;
    subscriptions::queue(x, &changes).await?;
    x.append_audit(changes.audit).await
}

/// Erases a customer and applies what commits with it; false, with nothing applied, when
/// there is no such customer.
pub(crate) async fn erase(x: &impl WriteTx, erasure: Erasure) -> Result<bool> {
    let proofs = &erasure.proofs;
    consent_proofs::keep(x, erasure.id, |event| proofs.get(&event)).await?;
    if !customers::erase(x, erasure.id, erasure.at).await? {
        return Ok(false);
    }
    apply(x, erasure.with).await?;
    request_desk::erase(x, erasure.id, erasure.suppress.as_ref(), erasure.at).await?;
    Ok(true)
}
