//! One run's sweep: the due records found page by page, held ones set aside, and each page
//! acted on in one transaction with its audit entries.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use steward_core::clock::from_micros;
use steward_core::retention::{RecordType, RetentionAction, Rule};
use steward_core::sealed_fields::SealedFields;
use steward_store::{DueQuery, DueRecord, RetentionRun, StoreError, SweepBatch};
use uuid::Uuid;

use super::{BATCH, LISTED, ReportItem, RuleOutcome, RunReport, RunView, SweepProgress, parse_run};
use crate::consent::proofs::ERASE_ATTEMPTS;
use crate::security::access::LEGAL_OBLIGATION;
use crate::sharing::webhooks::{EventType, note};
use crate::{Actor, AppError, Steward};

impl Steward {
    pub(super) async fn sweep_run(
        &self,
        run_id: Uuid,
        mut progress: impl FnMut(SweepProgress) -> ControlFlow<()>,
        mut planned: impl FnMut(&ReportItem),
    ) -> Result<RunView, AppError> {
        let mut run = self
            .store
            .retention_run(run_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut report: RunReport = serde_json::from_str(&run.report)
            .map_err(|_| AppError::Integrity(format!("retention run {run_id}")))?;
        let actor = Actor::system("retention", &[LEGAL_OBLIGATION]);
        let now = self.clock.now().as_microsecond();
        let blank = SealedFields::new().encode();
        let mut counts = SweepProgress::default();
        for rule in self.rules().await?.into_iter().filter(|r| r.enabled) {
            let at = report.rules.iter().position(|o| o.rule == rule.key);
            let at = at.unwrap_or_else(|| {
                report.rules.push(RuleOutcome {
                    rule: rule.key.clone(),
                    record: rule.record.as_str().into(),
                    action: rule.action.as_str().into(),
                    ..Default::default()
                });
                report.rules.len() - 1
            });
            if rule.record == RecordType::Fields {
                report.rules[at].enforced_by = Some(
                    "the consent ledger, at the moment a consent is withdrawn or expires".into(),
                );
                continue;
            }
            report.rules[at].held = 0;
            let mut query = DueQuery {
                rule_key: rule.key.clone(),
                record: rule.record.as_str().into(),
                anchor: rule.anchor.as_str().into(),
                kind: rule.kind.map(|k| k.as_str().to_string()),
                cutoff: rule.cutoff(from_micros(now)).as_microsecond(),
                after: None,
                limit: BATCH,
            };
            loop {
                // Holds are read again for every page, so one placed mid-run counts at once.
                let holds = self.holds_now(self.clock.now().as_microsecond()).await?;
                let held_whole = holds.covers_rule(&rule);
                let found = self.store.due_records(&query).await?;
                let Some(last) = found.last() else { break };
                query.after = Some(last.record_id);
                let mut due = Vec::with_capacity(found.len());
                for f in &found {
                    let item = ReportItem {
                        rule: rule.key.clone(),
                        record_id: f.record_id,
                        customer_id: f.customer_id,
                        anchor_at: from_micros(f.anchor_at),
                        due_at: rule.due(from_micros(f.anchor_at)),
                    };
                    let held =
                        held_whole || f.customer_id.is_some_and(|c| holds.customers.contains(&c));
                    if held {
                        report.rules[at].held += 1;
                        counts.held += 1;
                        if report.held.len() < LISTED {
                            report.held.push(item);
                        }
                        continue;
                    }
                    due.push(DueRecord {
                        record_id: f.record_id,
                        customer_id: f.customer_id,
                        anchor_at: f.anchor_at,
                        due_at: item.due_at.as_microsecond(),
                    });
                    if run.dry_run {
                        planned(&item);
                        report.rules[at].done += 1;
                        counts.done += 1;
                        if report.items.len() < LISTED {
                            report.items.push(item);
                        }
                    }
                }
                if !run.dry_run && !due.is_empty() {
                    let done = self
                        .sweep_batch(&actor, &rule, &mut run, &report, due, &blank, &mut counts)
                        .await?;
                    report.rules[at].done += done.len() as u64;
                    for item in done {
                        if report.items.len() < LISTED {
                            report.items.push(item);
                        }
                    }
                }
                run.heartbeat_at = self.clock.now().as_microsecond();
                if progress(counts).is_break() {
                    run.report = serde_json::to_string(&report).map_err(AppError::Encode)?;
                    self.store.save_retention_run(&run).await?;
                    return self.run_view(&run).await;
                }
            }
        }
        run.state = "finished".into();
        run.finished_at = Some(self.clock.now().as_microsecond());
        run.report = serde_json::to_string(&report).map_err(AppError::Encode)?;
        // Counted from the acts themselves, so earlier cut-short parts of the run count too.
        let counted = self.run_view(&run).await?.report;
        run.report = serde_json::to_string(&counted).map_err(AppError::Encode)?;
        let summary = self.record(
            &actor,
            "retention.run",
            Some(LEGAL_OBLIGATION),
            vec![run.id.to_string()],
            vec![],
            Some(
                counted
                    .rules
                    .iter()
                    .map(|o| format!("{}: {} done, {} held", o.rule, o.done, o.held))
                    .collect::<Vec<_>>()
                    .join("; ")
                    + if run.dry_run { " (dry run)" } else { "" },
            ),
        );
        // The summary and the finished run commit together, so a resumed run cannot write
        // a second summary.
        self.store
            .sweep(SweepBatch {
                run: run.clone(),
                rule_key: String::new(),
                record: String::new(),
                action: String::new(),
                records: Vec::new(),
                at: self.clock.now().as_microsecond(),
                notify_by: self.clock.now().as_microsecond(),
                blank: Vec::new(),
                proofs: HashMap::new(),
                audit: vec![(Vec::new(), summary)],
                events: Vec::new(),
            })
            .await?;
        parse_run(&run)
    }

    /// Acts on a page of due records in one transaction, with an audit entry per customer
    /// affected; returns what was done (records another run reached first are left out).
    #[allow(clippy::too_many_arguments)]
    async fn sweep_batch(
        &self,
        actor: &Actor,
        rule: &Rule,
        run: &mut RetentionRun,
        report: &RunReport,
        due: Vec<DueRecord>,
        blank: &[u8],
        counts: &mut SweepProgress,
    ) -> Result<Vec<ReportItem>, AppError> {
        let now = self.clock.now().as_microsecond();
        let action = match (rule.record, rule.action) {
            (RecordType::Customer, _) => "customer.erase",
            (RecordType::Interaction, RetentionAction::Anonymise) => "interaction.anonymise",
            (RecordType::Interaction, _) => "interaction.delete",
            (RecordType::Request, _) => "request.delete",
            (RecordType::Fields, _) => "customer.minimise",
            (RecordType::ConsentProof, _) => "consent_proof.delete",
        };
        let mut by_customer: BTreeMap<Option<Uuid>, Vec<Uuid>> = BTreeMap::new();
        for r in &due {
            by_customer
                .entry(r.customer_id)
                .or_default()
                .push(r.record_id);
        }
        let mut audit = Vec::with_capacity(by_customer.len());
        for (customer, records) in by_customer {
            let mut targets: Vec<String> = customer.iter().map(|c| c.to_string()).collect();
            if rule.record != RecordType::Customer {
                targets.extend(records.iter().map(|r| r.to_string()));
            }
            let entry = self.record(
                actor,
                action,
                Some(LEGAL_OBLIGATION),
                targets,
                Vec::new(),
                Some(format!("retention rule {}, run {}", rule.key, run.id)),
            );
            audit.push((records, entry));
        }
        let events: Vec<_> = if rule.record == RecordType::Customer {
            (due.iter())
                .map(|r| {
                    let erased = note(EventType::CustomerErased, r.record_id, &[], now);
                    (r.record_id, erased)
                })
                .collect()
        } else {
            Vec::new()
        };
        run.heartbeat_at = now;
        run.report = serde_json::to_string(report).map_err(AppError::Encode)?;
        let notify_by = self.notify_recipients_by(now)?;
        let mut attempts = 0;
        let done = loop {
            attempts += 1;
            let mut proofs = HashMap::new();
            if rule.record == RecordType::Customer {
                let ids: Vec<Uuid> = due.iter().map(|r| r.record_id).collect();
                // Built while the ledgers are there, from them and the receipt key alone.
                proofs = self.consent_proofs(&ids, now).await?;
                // Keys first: a crash after this leaves rows no one can read, which the next
                // run finds due and deletes.
                self.destroy_keys(&ids).await?;
            }
            let batch = SweepBatch {
                run: run.clone(),
                rule_key: rule.key.clone(),
                record: rule.record.as_str().into(),
                action: rule.action.as_str().into(),
                records: due.clone(),
                at: now,
                notify_by,
                blank: blank.to_vec(),
                proofs,
                audit: audit.clone(),
                events: events.clone(),
            };
            match self.store.sweep(batch).await {
                // A consent recorded since the proofs were built: build them again.
                Err(StoreError::Conflict) if attempts < ERASE_ATTEMPTS + due.len() => continue,
                done => break done?,
            }
        };
        counts.done += done.len() as u64;
        Ok(done
            .iter()
            .map(|r| ReportItem {
                rule: rule.key.clone(),
                record_id: r.record_id,
                customer_id: r.customer_id,
                anchor_at: from_micros(r.anchor_at),
                due_at: from_micros(r.due_at),
            })
            .collect())
    }
}
