//! Retention runs: started (or resumed after a sweeper stopped), carried out, shown and
//! reported, and the sweeper that starts one on a schedule.

use std::ops::ControlFlow;

use steward_core::clock::from_micros;
use steward_store::RetentionRun;
use uuid::Uuid;

use super::{
    ReportItem, RunReport, RunView, STALLED_MICROS, SweepProgress, parse_run, require_dpo,
};
use crate::security::access::LEGAL_OBLIGATION;
use crate::services::Jobs;
use crate::services::Retention;
use crate::{Access, Actor, AppError, Steward};

impl Steward {
    /// A run as shown: for a real run, what each rule did is counted from the records of the
    /// acts themselves, so a run cut short between two saves still reports exactly.
    pub(super) async fn run_view(&self, run: &RetentionRun) -> Result<RunView, AppError> {
        let mut view = parse_run(run)?;
        if !run.dry_run {
            let counts = self.store.retention_counts(run.id).await?;
            for outcome in &mut view.report.rules {
                outcome.done = counts
                    .iter()
                    .find(|(rule, _)| *rule == outcome.rule)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
            }
        }
        Ok(view)
    }
}

impl Retention<'_> {
    /// Starts a run: a new one, or the latest run left running by a sweeper that stopped
    /// (silent for two minutes), which then carries on where it stopped. Instances that
    /// find the same run stalled at once race for it on its heartbeat: one carries it on,
    /// the others start runs of their own, which leave the records it claims to it.
    pub async fn start_run(&self, access: &Access, dry_run: bool) -> Result<RunView, AppError> {
        require_dpo(access)?;
        let now = self.app.clock.now().as_microsecond();
        if !dry_run {
            let stalled = self
                .app
                .store
                .retention_runs(20)
                .await?
                .into_iter()
                .find(|r| {
                    !r.dry_run
                        && r.state == "running"
                        && r.heartbeat_at.saturating_add(STALLED_MICROS) <= now
                });
            if let Some(mut run) = stalled
                && self
                    .app
                    .store
                    .take_over_retention_run(run.id, run.heartbeat_at, now)
                    .await?
            {
                tracing::info!(run = %run.id, "stalled retention run taken over");
                run.heartbeat_at = now;
                return self.app.run_view(&run).await;
            }
        }
        let run = RetentionRun {
            id: Uuid::now_v7(),
            dry_run,
            state: "running".into(),
            started_by: access.actor.id.clone(),
            started_at: now,
            heartbeat_at: now,
            finished_at: None,
            report: serde_json::to_string(&RunReport::default()).map_err(AppError::Encode)?,
        };
        self.app.store.save_retention_run(&run).await?;
        self.app.run_view(&run).await
    }

    pub async fn get_run(&self, access: &Access, id: Uuid) -> Result<RunView, AppError> {
        require_dpo(access)?;
        let run = self
            .app
            .store
            .retention_run(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.run_view(&run).await
    }

    pub async fn runs(&self, access: &Access) -> Result<Vec<RunView>, AppError> {
        require_dpo(access)?;
        let mut views = Vec::new();
        for run in self.app.store.retention_runs(50).await? {
            views.push(self.app.run_view(&run).await?);
        }
        Ok(views)
    }

    /// The records a run acted on, as report items.
    pub async fn run_items(&self, access: &Access, id: Uuid) -> Result<Vec<ReportItem>, AppError> {
        require_dpo(access)?;
        Ok(self
            .app
            .store
            .retention_actions(id)
            .await?
            .into_iter()
            .map(|a| ReportItem {
                rule: a.rule_key,
                record_id: a.record_id,
                customer_id: a.customer_id,
                anchor_at: from_micros(a.anchor_at),
                due_at: from_micros(a.due_at),
            })
            .collect())
    }

    /// Carries out a started run to its end (or until `progress` breaks, which leaves it to
    /// be resumed). A dry run reports every item it would act on through `planned`.
    pub async fn run(
        &self,
        run_id: Uuid,
        progress: impl FnMut(SweepProgress) -> ControlFlow<()>,
        planned: impl FnMut(&ReportItem),
    ) -> Result<RunView, AppError> {
        let outcome = self.app.sweep_run(run_id, progress, planned).await;
        if let Err(e) = &outcome {
            // The acts done stay done and counted; the run says it did not finish.
            tracing::error!(run = %run_id, error = %e, "retention run failed");
            if let Ok(Some(mut run)) = self.app.store.retention_run(run_id).await
                && run.state == "running"
            {
                run.state = "failed".into();
                run.finished_at = Some(self.app.clock.now().as_microsecond());
                if let Err(e) = self.app.store.save_retention_run(&run).await {
                    tracing::error!(run = %run_id, error = %e, "retention run not marked failed");
                }
            }
        }
        outcome
    }
}

impl Jobs {
    /// Runs the sweeper every `every` until `stop` completes.
    pub async fn retention_sweeper(
        self,
        every: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let actor = Actor::system("retention", &[LEGAL_OBLIGATION]);
        loop {
            let (app, actor) = (&self.app, &actor);
            let outcome = app.leased("retention-sweep", every, false, |held| async move {
                let access = app.access(actor, Some(LEGAL_OBLIGATION))?;
                let run = app.retention().start_run(&access, false).await?;
                let go_on = |_| match held.still() {
                    true => ControlFlow::Continue(()),
                    false => ControlFlow::Break(()),
                };
                app.retention().run(run.id, go_on, |_| {}).await
            });
            match outcome.await {
                Ok(None) => {}
                Ok(Some(run)) => {
                    let done: u64 = run.report.rules.iter().map(|r| r.done).sum();
                    if done > 0 {
                        tracing::info!(run = %run.id, records = done, "retention sweep");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = &mut stop => break,
            }
        }
    }
}
