//! Consent that lapses. A given consent counts as expired from the moment its validity ends
//! (or a material notice change needs it given again); this job writes that into the ledger
//! as an `expired` event and erases the fields that lost their last lawful basis with it,
//! as a withdrawal would. It is idempotent: a consent marked expired is not found again.

use std::collections::{BTreeMap, HashSet};

use steward_core::consent::{ConsentMethod, ConsentState};
use steward_core::personalization::drop_after_consent;
use steward_store::{ChangeSet, ConsentEvent};
use uuid::Uuid;

use crate::services::Consents;
use crate::services::Jobs;
use crate::sharing::webhooks::{EventType, note};
use crate::{Actor, AppError, Steward};

const BATCH: usize = 500;
/// How often the server looks for lapsed consents.
const EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl Steward {
    async fn expire_for(
        &self,
        actor: &Actor,
        customer: Uuid,
        lapsed: &[ConsentEvent],
        now: i64,
    ) -> Result<u64, AppError> {
        let row = self
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        let events: Vec<ConsentEvent> = lapsed
            .iter()
            .map(|e| ConsentEvent {
                id: Uuid::now_v7(),
                customer_id: customer,
                purpose: e.purpose.clone(),
                state: ConsentState::Expired.as_str().into(),
                notice_version: e.notice_version.clone(),
                method: ConsentMethod::Expiry.as_str().into(),
                evidence: None,
                at: now,
                expires_at: None,
            })
            .collect();
        let purposes: Vec<&str> = lapsed.iter().map(|e| e.purpose.as_str()).collect();
        let mut changes = ChangeSet {
            audit: vec![
                self.record(
                    actor,
                    "consent.expire",
                    None,
                    std::iter::once(customer.to_string())
                        .chain(events.iter().map(|e| format!("consent:{}", e.id)))
                        .collect(),
                    vec![],
                    Some(format!("purposes={}", purposes.join(","))),
                ),
            ],
            ..Default::default()
        };
        // The lapsed purposes already count as not given, so what is left is what stays.
        let still = self.given_purposes(customer).await?;
        if let Some((update, dropped)) = self.without_basis(&row, &still, now)? {
            changes
                .events
                .push(note(EventType::CustomerUpdated, customer, &dropped, now));
            changes.audit.push(self.record(
                actor,
                "customer.minimise",
                None,
                vec![customer.to_string()],
                dropped,
                Some(format!("after expiry of {}", purposes.join(","))),
            ));
            changes.updates.push(update);
        }
        if let Some(drop) = lapsed
            .iter()
            .find_map(|e| drop_after_consent(&e.purpose, ConsentState::Expired))
        {
            self.drop_level(actor, customer, drop, &mut changes, now);
        }
        let n = events.len() as u64;
        changes.consents = events;
        // Only if each lapsed consent is still the current one: a consent given again
        // meanwhile must not be marked expired.
        changes.consent_guards = lapsed
            .iter()
            .map(|e| (customer, e.purpose.clone(), e.id))
            .collect();
        self.store.apply(changes).await?;
        Ok(n)
    }
}

impl Consents<'_> {
    /// Marks every lapsed consent expired and minimises the customers concerned; returns how
    /// many consents it marked. `progress` hears the running total.
    pub async fn expire_lapsed(&self, progress: impl FnMut(u64)) -> Result<u64, AppError> {
        self.expire_lapsed_while(progress, || true).await
    }

    /// As [`Self::expire_lapsed`], stopping between batches once `go_on` says so.
    async fn expire_lapsed_while(
        &self,
        mut progress: impl FnMut(u64),
        go_on: impl Fn() -> bool,
    ) -> Result<u64, AppError> {
        let actor = Actor::system("consent-expiry", &[]);
        let mut marked = 0;
        // Customers changed by someone else meanwhile wait for the next run.
        let mut busy = HashSet::new();
        while go_on() {
            let moment = self.app.consent_moment().await?;
            let lapsed = self
                .app
                .store
                .lapsed_consents(moment.now, moment.given_since, BATCH)
                .await?;
            let mut by_customer: BTreeMap<Uuid, Vec<ConsentEvent>> = BTreeMap::new();
            for e in lapsed
                .into_iter()
                .filter(|e| !busy.contains(&e.customer_id))
            {
                by_customer.entry(e.customer_id).or_default().push(e);
            }
            if by_customer.is_empty() {
                break;
            }
            for (customer, events) in by_customer {
                match self
                    .app
                    .expire_for(&actor, customer, &events, moment.now)
                    .await
                {
                    Ok(n) => marked += n,
                    Err(AppError::StaleVersion | AppError::NotFound) => {
                        busy.insert(customer);
                    }
                    Err(e) => return Err(e),
                }
            }
            progress(marked);
        }
        Ok(marked)
    }
}

impl Jobs {
    /// Runs the expiry job now and then every few minutes until `stop` completes.
    pub async fn consent_expiry(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let app = &self.app;
            let round = app.leased("consent-expiry", EVERY, false, |held| async move {
                app.consent()
                    .expire_lapsed_while(|_| {}, || held.still())
                    .await
            });
            match round.await {
                Ok(None | Some(0)) => {}
                Ok(Some(n)) => tracing::info!(consents = n, "lapsed consents marked expired"),
                Err(e) => tracing::warn!(error = %e, "consent expiry failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = &mut stop => break,
            }
        }
    }
}
