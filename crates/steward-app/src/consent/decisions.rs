//! Decisions committed to the ledger: one, or several that belong together (the withdrawals a
//! Global Privacy Control signal asks for and the decision sent with it, or an objection's
//! withdrawals), in one transaction with what follows from them: values stored with a given
//! consent, a confirmation mailed for double opt-in, and fields erased that no purpose still
//! gives a basis for.

use steward_core::PurposeDef;
use steward_core::consent::{ConsentMethod, ConsentState, Moment};
use steward_core::personalization::{LevelDrop, drop_after_consent};
use steward_store::{ChangeSet, ConsentEvent, CustomerUpdate, ProfileChange};
use uuid::Uuid;

use super::ledger::event_view;
use crate::services::Consents;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, Actor, AppError, ConsentEventView, ConsentInput, Evidence, Steward};

/// One decision, checked and ready to be written.
struct Decision {
    input: ConsentInput,
    /// What the customer said.
    said: ConsentState,
    /// What the ledger records: a given consent that waits for confirmation is requested.
    recorded: ConsentState,
    method: ConsentMethod,
    purpose: PurposeDef,
    /// A given consent waiting for its email to be confirmed.
    confirm: bool,
    event: ConsentEvent,
    with_receipt: bool,
}

impl Steward {
    /// Records decisions in order, in one transaction with what `with` holds, and returns
    /// their events; those asked for carry their signed receipt.
    pub(crate) async fn record_decisions(
        &self,
        access: &Access,
        customer: Uuid,
        inputs: Vec<(ConsentInput, bool)>,
        evidence: &Evidence,
        with: ChangeSet,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        access.require_record_access()?;
        let now = self.clock.now().as_microsecond();
        let evidence = self.hash_evidence(evidence)?;
        let mut decisions = Vec::with_capacity(inputs.len());
        for (input, with_receipt) in inputs {
            decisions.push(
                self.decision(input, with_receipt, evidence.clone(), customer, now)
                    .await?,
            );
        }
        // The events' own writes find an unknown customer; their row is read only when a
        // field is written, a confirmation is mailed or a withdrawal may erase a field. A
        // customer made in this same commit was made only from values that pass these
        // decisions, so there is nothing of theirs to erase.
        let made_now = with.inserts.iter().any(|w| w.row.id == customer);
        let minimises = !made_now
            && decisions
                .iter()
                .any(|d| d.said != ConsentState::Given && self.may_minimise(&d.input.purpose));
        let needs_row = decisions
            .iter()
            .any(|d| !d.input.fields.is_empty() || d.confirm);
        let (row, stored_given) = if minimises {
            let (row, consents) = self
                .store
                .customer_with_consents(customer)
                .await?
                .ok_or(AppError::NotFound)?;
            let mut given = self.given_among(consents).await?;
            // Decisions committed with these (a confirmation followed with its GPC signal)
            // are made by the time these are.
            for e in with.consents.iter().filter(|e| e.customer_id == customer) {
                given.retain(|p| p != &e.purpose);
                if e.state == ConsentState::Given.as_str() {
                    given.push(e.purpose.clone());
                }
            }
            (Some(row), given)
        } else if needs_row {
            let row = self
                .store
                .get_customer(customer)
                .await?
                .ok_or(AppError::NotFound)?;
            (Some(row), Vec::new())
        } else {
            (None, Vec::new())
        };
        let mut changes = with;
        for d in &decisions {
            changes.audit.push(self.record(
                &access.actor,
                "consent.record",
                Some(&access.purpose.key),
                vec![customer.to_string(), format!("consent:{}", d.event.id)],
                vec![],
                Some(format!(
                    "purpose={} state={} method={}",
                    d.input.purpose, d.recorded, d.method
                )),
            ));
        }
        // Profiling consent that ends takes full personalization and what was drawn from the
        // customer's behaviour with it, in this same commit: no moment exists in which the
        // consent is gone and the profile is still there.
        for d in &decisions {
            if let Some(drop) = drop_after_consent(&d.input.purpose, d.said) {
                self.drop_level(&access.actor, customer, drop, &mut changes, now);
            }
        }
        let Some(row) = row.as_ref() else {
            return self.commit_decisions(changes, decisions, now).await;
        };
        // Fields that lose their basis go first, as if the withdrawals had been committed
        // before the decisions that bring values: those values passed their own check.
        let mut update: Option<CustomerUpdate> = None;
        let mut touched: Vec<String> = Vec::new();
        if minimises {
            let mut given = stored_given;
            let mut leaving = Vec::new();
            for d in &decisions {
                if d.recorded == ConsentState::Given {
                    if !given.contains(&d.input.purpose) {
                        given.push(d.input.purpose.clone());
                    }
                } else if d.said != ConsentState::Given {
                    given.retain(|p| p != &d.input.purpose);
                    leaving.push(format!("{} of {}", d.said, d.input.purpose));
                }
            }
            if let Some((minimised, dropped)) = self.without_basis(row, &given, now)? {
                touched.extend(dropped.iter().cloned());
                changes.audit.push(self.record(
                    &access.actor,
                    "customer.minimise",
                    Some(&access.purpose.key),
                    vec![customer.to_string()],
                    dropped,
                    Some(format!("after {}", leaving.join(", "))),
                ));
                update = Some(minimised);
            }
        }
        for d in decisions.iter().filter(|d| !d.input.fields.is_empty()) {
            let current = update.as_ref().map_or(row, |u| &u.write.row);
            let written = self
                .with_consented_fields(access, current, &d.input, d.said, now)
                .await?;
            touched.extend(d.input.fields.keys().cloned());
            changes.audit.push(self.access_record(
                access,
                "customer.update",
                vec![customer.to_string()],
                d.input.fields.keys().cloned().collect(),
            ));
            update = Some(match update {
                Some(earlier) => then(earlier, written),
                None => written,
            });
        }
        for d in decisions.iter().filter(|d| d.confirm) {
            let (dek, address) = self.confirmation_address(row, &d.input).await?;
            self.ask_for_confirmation(
                &dek,
                address,
                &[&d.purpose],
                d.event.notice_version.as_deref(),
                d.method,
                now,
                &mut changes,
            )?;
        }
        if update.is_some() {
            touched.sort();
            touched.dedup();
            changes
                .events
                .push(note(EventType::CustomerUpdated, customer, &touched, now));
        }
        changes.updates.extend(update);
        self.commit_decisions(changes, decisions, now).await
    }

    /// Adds to `changes` the fall of the customer's level that a consent decision brings,
    /// with its audit entry. The store lowers the level only if it is above `at_most`, so a
    /// customer below it keeps theirs; the profile is deleted either way.
    pub(crate) fn drop_level(
        &self,
        actor: &Actor,
        customer: Uuid,
        drop: LevelDrop,
        changes: &mut ChangeSet,
        now: i64,
    ) {
        let event = Uuid::now_v7();
        changes.personalization.push(ProfileChange::DropLevel {
            customer,
            at_most: drop.at_most,
            delete_profiled: drop.delete_profiled,
            reason: drop.reason.into(),
            actor: actor.id.clone(),
            at: now,
            event,
        });
        changes.audit.push(self.record(
            actor,
            "personalization.level",
            drop.at_most.purpose(),
            vec![customer.to_string(), format!("level-event:{event}")],
            vec![],
            Some(format!(
                "at_most={} delete_profiled={} reason={}",
                drop.at_most, drop.delete_profiled, drop.reason
            )),
        ));
    }

    /// Writes the decisions' events with what follows from them, and signs the receipts
    /// asked for.
    async fn commit_decisions(
        &self,
        mut changes: ChangeSet,
        decisions: Vec<Decision>,
        now: i64,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        let mut views = Vec::with_capacity(decisions.len());
        let mut signed = Vec::new();
        for d in decisions {
            views.push(event_view(d.event.clone(), Moment::at(now))?);
            if d.with_receipt {
                signed.push((views.len() - 1, d.event.clone()));
            }
            changes.consents.push(d.event);
        }
        let queued = !changes.mail.is_empty();
        if super::group::groupable(&changes) {
            let committed = self.consent_writer.submit(vec![changes]).await?;
            for answer in committed {
                answer?;
            }
        } else {
            self.store.apply(changes).await?;
        }
        if queued {
            self.mail_queued();
        }
        for (at, event) in signed {
            views[at].receipt = Some(self.sign_receipt(&event)?);
        }
        Ok(views)
    }

    /// Checks one decision and makes its event.
    async fn decision(
        &self,
        input: ConsentInput,
        with_receipt: bool,
        evidence: Option<String>,
        customer: Uuid,
        now: i64,
    ) -> Result<Decision, AppError> {
        let (said, method, validity) = self.check_consent_input(&input)?;
        let notice_version = self
            .shown_notice(input.notice_version.as_deref(), now)
            .await?;
        let purpose = self
            .catalog
            .purpose(&input.purpose)
            .cloned()
            .ok_or_else(|| AppError::invalid("purpose", "is not a purpose of the catalog"))?;
        // Double opt-in: what the customer said is recorded as asked for, and a link to
        // confirm it goes to their address; only following it gives the consent.
        let confirm = said == ConsentState::Given
            && purpose.confirm_by_email
            && method != ConsentMethod::Import;
        let recorded = if confirm {
            ConsentState::Requested
        } else {
            said
        };
        let expires_at = match (recorded, validity) {
            (ConsentState::Given, Some(days)) => {
                Some(now.saturating_add(steward_store::days_in_micros(i64::from(days))))
            }
            _ => None,
        };
        let event = ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: customer,
            purpose: input.purpose.clone(),
            state: recorded.as_str().to_string(),
            notice_version,
            method: method.as_str().to_string(),
            evidence,
            at: now,
            expires_at,
        };
        Ok(Decision {
            input,
            said,
            recorded,
            method,
            purpose,
            confirm,
            event,
            with_receipt,
        })
    }

    /// The notice version a decision was made under. Once Steward holds published notices,
    /// a version named must be one of them, and none named means the one in force now.
    async fn shown_notice(
        &self,
        named: Option<&str>,
        now: i64,
    ) -> Result<Option<String>, AppError> {
        let published = self.published_versions().await?;
        if published.is_empty() {
            return Ok(named.map(str::to_string));
        }
        let material_since = published
            .iter()
            .filter(|p| p.material && p.in_force_from <= now)
            .map(|p| p.in_force_from)
            .max();
        match named.map(|v| published.iter().find(|p| p.version == v)) {
            Some(Some(p)) if material_since.is_some_and(|since| p.in_force_from < since) => {
                Err(AppError::invalid(
                    "notice_version",
                    "names a notice that a material change has replaced; ask again under the notice in force",
                ))
            }
            Some(Some(p)) => Ok(Some(p.version.clone())),
            Some(None) => Err(AppError::invalid(
                "notice_version",
                "is not a published version of the privacy notice",
            )),
            None => Ok(published
                .iter()
                .filter(|p| p.in_force_from <= now)
                .max_by_key(|p| p.in_force_from)
                .map(|p| p.version.clone())),
        }
    }
}

impl Consents<'_> {
    /// Records a customer's decision about a consent-based purpose. Staff record it working
    /// for a purpose that opens records (a marketer cannot grant themselves an audience);
    /// withdrawing works even while the customer's processing is restricted.
    pub async fn record(
        &self,
        access: &Access,
        customer: Uuid,
        input: ConsentInput,
        evidence: &Evidence,
    ) -> Result<ConsentEventView, AppError> {
        let mut views = self
            .app
            .record_decisions(
                access,
                customer,
                vec![(input, false)],
                evidence,
                ChangeSet::default(),
            )
            .await?;
        views.pop().ok_or(AppError::NotFound)
    }

    /// Records a decision and answers with the event's signed receipt, as the consent API
    /// does: the caller holds proof of what was recorded without asking again. With a Global
    /// Privacy Control signal, the sale, sharing and third-party advertising it opts out of
    /// are withdrawn first, in the same transaction; the decision sent then stands on its own.
    pub async fn record_with_receipt(
        &self,
        access: &Access,
        customer: Uuid,
        input: ConsentInput,
        evidence: &Evidence,
        gpc: bool,
    ) -> Result<ConsentEventView, AppError> {
        let mut decisions = if gpc {
            self.app
                .gpc_withdrawals(access, customer)
                .await?
                .into_iter()
                .map(|w| (w, false))
                .collect()
        } else {
            Vec::new()
        };
        decisions.push((input, true));
        let mut views = self
            .app
            .record_decisions(access, customer, decisions, evidence, ChangeSet::default())
            .await?;
        views.pop().ok_or(AppError::NotFound)
    }
}

/// One update of a customer's row made of two: `second` was computed on the row `first`
/// leaves, and both commit as one change from the version `first` expects.
fn then(first: CustomerUpdate, second: CustomerUpdate) -> CustomerUpdate {
    let mut index = first.write.index;
    index.retain(|e| !second.replaced_index_fields.contains(&e.field));
    index.extend(second.write.index);
    let mut replaced = first.replaced_index_fields;
    for field in second.replaced_index_fields {
        if !replaced.contains(&field) {
            replaced.push(field);
        }
    }
    let mut row = second.write.row;
    row.version = first.write.row.version;
    CustomerUpdate {
        write: steward_store::CustomerWrite { row, index },
        expected_version: first.expected_version,
        replaced_index_fields: replaced,
    }
}
