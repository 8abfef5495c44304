//! Consent decisions committed in groups: under load, decisions that write nothing but their
//! events, their audit entries and the personalization they end share one transaction (and
//! one sync), each still answered only after its commit. A group that fails is committed again
//! one decision at a time, so a decision that cannot commit (its customer erased meanwhile)
//! fails alone.

use std::sync::Arc;

use steward_store::{ChangeSet, Store, StoreError};

/// What a group's commit answers each decision.
pub(crate) type Committed = Result<(), StoreError>;

/// Whether `changes` may share a commit with others: they hold only lists that add up,
/// nothing that is checked against the state it was decided on or answered on its own.
pub(crate) fn groupable(changes: &ChangeSet) -> bool {
    // Every field is named, so a field added to the change set is decided on here.
    let ChangeSet {
        inserts,
        updates,
        interactions,
        tasks,
        task_moves,
        audit: _,
        import_job,
        idempotency,
        consents: _,
        consent_guards,
        mail,
        links,
        portal_code,
        campaign_step,
        spend_link,
        requests,
        request_moves,
        recipient_updates,
        unsuppress,
        signups,
        settle_signup,
        personalization: _,
        events: _,
    } = changes;
    inserts.is_empty()
        && updates.is_empty()
        && interactions.is_empty()
        && tasks.is_empty()
        && task_moves.is_empty()
        && import_job.is_none()
        && idempotency.is_none()
        && consent_guards.is_empty()
        && mail.is_empty()
        && links.is_empty()
        && portal_code.is_none()
        && campaign_step.is_none()
        && spend_link.is_none()
        && requests.is_empty()
        && request_moves.is_empty()
        && recipient_updates.is_empty()
        && unsuppress.is_empty()
        && signups.is_empty()
        && settle_signup.is_none()
}

/// Commits a group of groupable change sets in one transaction, in the order they came.
pub(crate) async fn commit(
    store: Arc<dyn Store>,
    group: Vec<ChangeSet>,
) -> Result<Vec<Committed>, StoreError> {
    if group.len() == 1 {
        let one = group.into_iter().next().unwrap_or_default();
        return Ok(vec![store.apply(one).await.map(drop)]);
    }
    let mut all = ChangeSet::default();
    for c in &group {
        all.consents.extend(c.consents.iter().cloned());
        all.audit.extend(c.audit.iter().cloned());
        all.personalization
            .extend(c.personalization.iter().cloned());
        all.events.extend(c.events.iter().cloned());
    }
    if store.apply(all).await.is_ok() {
        return Ok(group.iter().map(|_| Ok(())).collect());
    }
    let mut answers = Vec::with_capacity(group.len());
    for c in group {
        answers.push(store.apply(c).await.map(drop));
    }
    Ok(answers)
}
