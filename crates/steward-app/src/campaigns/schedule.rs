//! Campaigns sent later: a draft scheduled for a time in the future, cancelled back to a
//! draft, and the job that sends each one whose time has come. Several instances may run
//! the job on one database: each claims a due campaign by moving it from `scheduled` to
//! `sending` only where it is still scheduled and due, so one claim succeeds and the others
//! change nothing; the send then works as any other, and the outbox's one message per
//! recipient and campaign holds even so. A send holds a lease it moves on with each page; a
//! send whose lease runs out (its instance died, or its request was cut off) is claimed again
//! the same way and resumed where it stopped.

use std::time::Duration;

use jiff::Timestamp;
use uuid::Uuid;

use super::campaign::{DRAFT, SCHEDULED, SENDING, sending_lease};
use super::refusal::CampaignRefusal;
use super::segments::may_manage_campaigns;
use crate::services::{Campaigns, Jobs};
use steward_store::StoreError;

use crate::{Access, Actor, AppError, CampaignView, FieldError};

/// Due campaigns taken per round.
const DUE_BATCH: usize = 20;
/// How often the job looks for due campaigns.
const POLL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleInput {
    /// When to send, RFC 3339 (`2026-05-01T09:00:00Z`); in the future.
    pub scheduled_at: String,
}

impl Campaigns<'_> {
    /// Schedules a draft to be sent at a later time; the access must be one that may send it.
    pub async fn schedule(
        &self,
        access: &Access,
        id: Uuid,
        input: ScheduleInput,
    ) -> Result<CampaignView, AppError> {
        may_manage_campaigns(&access.actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.campaign_purpose(access, &row.purpose)?;
        let at: Timestamp = input.scheduled_at.trim().parse().map_err(|_| {
            AppError::Invalid(vec![FieldError::new(
                "scheduled_at",
                "must be a time with its offset, like 2026-05-01T09:00:00Z",
            )])
        })?;
        if at <= self.app.clock.now() {
            return Err(AppError::CampaignRefused(CampaignRefusal::ScheduleInPast));
        }
        let mut record = self.app.access_record(
            access,
            "campaign.schedule",
            vec![format!("campaign:{id}")],
            vec![],
        );
        record.detail = Some(format!("scheduled_at={at}"));
        match self
            .app
            .store
            .schedule_campaign(id, at.as_microsecond(), &access.actor.id, record)
            .await
        {
            Ok(()) => self.get(&access.actor, id).await,
            Err(StoreError::Conflict) => Err(AppError::CampaignRefused(CampaignRefusal::NotDraft)),
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels a campaign's schedule: it is a draft again. A draft has none to cancel and
    /// stays as it is, so cancelling twice answers the same.
    pub async fn unschedule(&self, actor: &Actor, id: Uuid) -> Result<CampaignView, AppError> {
        may_manage_campaigns(actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if row.state == DRAFT {
            return self.get(actor, id).await;
        }
        let record = self.app.record(
            actor,
            "campaign.unschedule",
            None,
            vec![format!("campaign:{id}")],
            vec![],
            None,
        );
        match self.app.store.unschedule_campaign(id, record).await {
            Ok(()) => self.get(actor, id).await,
            Err(StoreError::Conflict) => {
                Err(AppError::CampaignRefused(CampaignRefusal::NotScheduled))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends every scheduled campaign whose time has come that this call claims, and resumes
    /// every one whose sender stopped half-way (its lease ran out), and says which those
    /// were. A campaign another instance claimed first is left to it.
    pub async fn send_due(&self) -> Result<Vec<Uuid>, AppError> {
        let now = self.app.clock.now().as_microsecond();
        let mut sent = Vec::new();
        for id in self.app.store.due_campaigns(now, DUE_BATCH).await? {
            let Some(row) = self.app.store.campaign(id).await? else {
                continue;
            };
            // A campaign left sending is one whose sender stopped: it is resumed.
            let action = match row.state.as_str() {
                SCHEDULED => "campaign.start",
                SENDING => "campaign.resume",
                _ => continue,
            };
            // The job acts for the campaign's purpose alone; the audit log names who
            // scheduled it.
            let actor = Actor::system("campaign-schedule", &[row.purpose.as_str()]);
            let access = self.app.access(&actor, Some(&row.purpose))?;
            let mut record =
                self.app
                    .access_record(&access, action, vec![format!("campaign:{id}")], vec![]);
            record.detail = row
                .scheduled_by
                .as_ref()
                .map(|by| format!("scheduled_by={by}"));
            let lease = sending_lease(now);
            if !self
                .app
                .store
                .claim_campaign(id, now, lease, record)
                .await?
            {
                continue;
            }
            // A send that fails half-way stays `sending`, and resumes once its lease runs out.
            match self.send(&access, id).await {
                Ok(_) => sent.push(id),
                Err(e) => tracing::warn!(campaign = %id, error = %e, "scheduled campaign not sent"),
            }
        }
        Ok(sent)
    }
}

impl Jobs {
    /// Sends scheduled campaigns as they fall due, until `stop` completes.
    pub async fn campaign_scheduler(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.app.campaigns().send_due().await {
                tracing::warn!(error = %e, "scheduled campaigns round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = &mut stop => break,
            }
        }
    }
}
