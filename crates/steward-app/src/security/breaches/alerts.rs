//! The response team is mailed when a breach opens, and again when 24 and then 6 hours are
//! left without a decision on notifying the authority. Each milestone is recorded once with
//! its mail in one commit, so a retried or concurrent run never mails twice; a run that comes
//! late mails the latest milestone reached and records the ones it passed.

use std::time::Duration;

use steward_core::breach::{Breach, Milestone};
use steward_store::{BreachRow, ChangeSet};

use super::LEGAL_OBLIGATION;
use crate::infra::mail::{BREACH_ALERT, Letter};
use crate::services::Jobs;
use crate::{Actor, AppError, Steward};

/// How often the server looks at the clocks of open breaches.
const CLOCK_EVERY: Duration = Duration::from_secs(60);

fn subject(breach: &Breach, milestone: Milestone) -> String {
    match milestone {
        Milestone::Opened => format!("Breach opened: {}", breach.title),
        Milestone::Left24h => format!(
            "Breach \"{}\": 24 hours left to decide on notifying the authority",
            breach.title
        ),
        Milestone::Left6h => format!(
            "Breach \"{}\": 6 hours left to decide on notifying the authority",
            breach.title
        ),
    }
}

impl Steward {
    fn alert_text(&self, breach: &Breach, role: &str) -> String {
        let deadline = breach.deadline().strftime("%Y-%m-%d %H:%M UTC");
        let steps: Vec<String> = self
            .security
            .breach_plan
            .iter()
            .flat_map(|p| p.steps.iter())
            .filter(|s| s.owner == role)
            .map(|s| format!("- {}: {}", s.step, s.description))
            .collect();
        let yours = if steps.is_empty() {
            String::new()
        } else {
            format!("\nYour steps in the plan:\n{}\n", steps.join("\n"))
        };
        format!(
            "A personal data breach is in the register: {title}.\n\n\
             The company became aware of it at {aware}. The supervisory authority must be \
             notified, or the decision not to notify recorded with its reasons, by {deadline} \
             (72 hours, Art. 33(1) GDPR).\n{yours}\n\
             Open it in the console: {url}/console/breaches/{id}\n",
            title = breach.title,
            aware = breach.aware_at.strftime("%Y-%m-%d %H:%M UTC"),
            url = self.mailer.public_url.trim_end_matches('/'),
            id = breach.id,
        )
    }

    /// Mails the response team the latest milestone the breach reached, unless it was mailed
    /// already; the answer is how many members were mailed.
    pub(crate) async fn alert_response_team(&self, row: &BreachRow) -> Result<usize, AppError> {
        let Some(plan) = &self.security.breach_plan else {
            return Ok(0);
        };
        let breach = self.breach_of(row)?;
        let now = self.clock.now();
        let reached = breach.milestones_reached(now);
        let Some((latest, passed)) = reached.split_last() else {
            return Ok(0);
        };
        // Looked up first, so that a milestone mailed already costs no letters and no keys
        // each time the clock is read; the insert below still decides between racing runs.
        let sent = self.store.breach_alerts_sent(breach.id).await?;
        if sent.iter().any(|m| m == latest.as_str()) {
            return Ok(0);
        }
        let actor = Actor::system("breaches", &[LEGAL_OBLIGATION]);
        let at = now.as_microsecond();
        let target = vec![format!("breach:{}", breach.id)];
        for m in passed {
            self.store
                .breach_alert(breach.id, m.as_str(), at, ChangeSet::default())
                .await?;
        }
        let mut with = ChangeSet::default();
        for member in &plan.team {
            let letter = Letter {
                to: member.email.clone(),
                subject: subject(&breach, *latest),
                text: self.alert_text(&breach, &member.role),
                unsubscribe: None,
            };
            with.mail.push(
                self.own_key_letter(uuid::Uuid::now_v7(), BREACH_ALERT, &letter, at)
                    .await?,
            );
        }
        let mailed = with.mail.len();
        with.audit.push(self.record(
            &actor,
            "breach.alert",
            Some(LEGAL_OBLIGATION),
            target,
            vec![],
            Some(format!(
                "{latest}: {mailed} members of the response team mailed"
            )),
        ));
        let keys: Vec<uuid::Uuid> = with.mail.iter().map(|m| m.customer_id).collect();
        if self
            .store
            .breach_alert(breach.id, latest.as_str(), at, with)
            .await?
        {
            self.mail_queued();
            Ok(mailed)
        } else {
            // Another run mailed this milestone first: the keys made for these letters
            // seal nothing that was kept.
            for k in keys {
                self.destroy_key(k).await?;
            }
            Ok(0)
        }
    }

    /// Mails every open breach's latest milestone not mailed yet.
    pub(crate) async fn alert_due_breaches(&self) -> Result<usize, AppError> {
        let mut mailed = 0;
        for row in self.store.breaches().await? {
            mailed += self.alert_response_team(&row).await?;
        }
        Ok(mailed)
    }
}

impl Jobs {
    /// One look at the clocks: mails what is due now; the answer is how many were mailed.
    pub async fn breach_alerts_due(&self) -> Result<usize, AppError> {
        self.app.alert_due_breaches().await
    }

    /// Watches the 72-hour clocks of open breaches until `stop` completes.
    pub async fn breach_clock(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let app = &self.app;
            let round = app.leased("breach-clock", CLOCK_EVERY, false, |_| async move {
                app.alert_due_breaches().await
            });
            if let Err(e) = round.await {
                tracing::warn!(error = %e, "breach clock round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(CLOCK_EVERY) => {}
                _ = &mut stop => break,
            }
        }
    }
}
