//! A test send: the campaign's message, as the preview fills it with placeholders, to the
//! signed-in staff member's own address and to no other, so Steward cannot be made to relay
//! mail to whoever a form names. It goes through the outbox like any message, sealed under a
//! key of its own that is destroyed once it is sent, with "[Test]" before its subject; it is
//! no message of the campaign, so neither its recipients nor its results count it. Each staff
//! member has a few per window.

use steward_store::{ChangeSet, TestSend};
use uuid::Uuid;

use super::refusal::CampaignRefusal;
use crate::infra::mail::{CAMPAIGN_TEST, Letter};
use crate::services::Campaigns;
use crate::{Access, AppError};

/// Test sends a staff member may make per window.
pub const TEST_SENDS_PER_WINDOW: i64 = 5;
const WINDOW_MICROS: i64 = 10 * 60 * 1_000_000;

impl Campaigns<'_> {
    /// Sends the campaign's message to the staff member's own address, marked as a test.
    pub async fn test_send(&self, access: &Access, id: Uuid) -> Result<(), AppError> {
        super::segments::may_manage_campaigns(&access.actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let own = access
            .actor
            .id
            .strip_prefix("user:")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or(AppError::CampaignRefused(CampaignRefusal::NoOwnAddress))?;
        let address = self
            .app
            .store
            .list_users()
            .await?
            .into_iter()
            .find(|u| u.id == own && !u.disabled)
            .map(|u| u.email)
            .ok_or(AppError::CampaignRefused(CampaignRefusal::NoOwnAddress))?;
        let template = self.app.stored_template(&row)?;
        let letter = Letter {
            to: address,
            subject: format!("[Test] {}", row.subject),
            text: self.app.placeholder_text(&row, &template),
            unsubscribe: None,
        };
        let now = self.app.clock.now().as_microsecond();
        let key = Uuid::now_v7();
        let mail = self
            .app
            .own_key_letter(key, CAMPAIGN_TEST, &letter, now)
            .await?;
        let changes = ChangeSet {
            mail: vec![mail],
            audit: vec![self.app.access_record(
                access,
                "campaign.test_send",
                vec![format!("campaign:{id}")],
                vec![],
            )],
            ..Default::default()
        };
        let send = TestSend {
            actor: access.actor.id.clone(),
            campaign: id,
            at: now,
            since: now.saturating_sub(WINDOW_MICROS),
            limit: TEST_SENDS_PER_WINDOW,
        };
        if let Some(oldest) = self.app.store.campaign_test_send(&send, changes).await? {
            // The letter's key was stored before the count refused it; no letter needs it.
            self.app.destroy_key(key).await?;
            let free_at = oldest.saturating_add(WINDOW_MICROS);
            let wait = u64::try_from(free_at.saturating_sub(now)).unwrap_or(0);
            return Err(AppError::CampaignRefused(CampaignRefusal::TestSendLimit {
                retry_after: wait.div_ceil(1_000_000).max(1),
            }));
        }
        self.app.mail_queued();
        Ok(())
    }
}
