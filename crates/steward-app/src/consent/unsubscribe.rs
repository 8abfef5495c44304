//! One-click unsubscribe (RFC 8058). Every marketing message carries a link of its own; a
//! POST to it, from the customer's browser or their mail client, withdraws the consent the
//! message was sent under, as method `unsubscribe`. The link keeps working, and a second use
//! changes nothing.

use steward_core::consent::{self, ConsentMethod, ConsentState};
use steward_store::{ChangeSet, ConsentEvent, MailLink, SpentLink};
use uuid::Uuid;

use crate::consent::double_opt_in::LinkView;
use crate::consent::ledger::{ConsentEventView, Evidence};
use crate::infra::mail::LinkToken;
use crate::services::Links;
use crate::sharing::webhooks::{EventType, note};
use crate::{AppError, Steward};

pub(crate) const UNSUBSCRIBE: &str = "unsubscribe";
/// Long enough to outlast the consent a message was sent under.
const WORKS_FOR_DAYS: i64 = 400;

impl Steward {
    /// A new unsubscribe link for one message, and its address.
    pub(crate) fn unsubscribe_link(
        &self,
        customer: Uuid,
        purpose: &str,
        campaign: Option<Uuid>,
        now: i64,
    ) -> (MailLink, String) {
        let token = LinkToken::new();
        let link = MailLink {
            token_hash: token.hash,
            kind: UNSUBSCRIBE.into(),
            customer_id: customer,
            purpose: purpose.into(),
            notice_version: None,
            method: ConsentMethod::Unsubscribe.as_str().into(),
            campaign_id: campaign,
            created_at: now,
            expires_at: now.saturating_add(steward_store::days_in_micros(WORKS_FOR_DAYS)),
            used_at: None,
        };
        (
            link,
            self.mailer.url(&format!("/unsubscribe/{}", token.token)),
        )
    }
}

impl Links<'_> {
    /// What an unsubscribe link withdraws, for its page.
    pub async fn unsubscription(&self, token: &str) -> Result<LinkView, AppError> {
        let link = self.app.mail_link(token, UNSUBSCRIBE).await?;
        let now = self.app.clock.now().as_microsecond();
        self.app.link_view(&link, link.expires_at > now)
    }

    /// Follows an unsubscribe link. Returns the withdrawal, or `None` when the consent was
    /// not in force any more (nothing to withdraw).
    pub async fn unsubscribe(
        &self,
        token: &str,
        evidence: &Evidence,
    ) -> Result<Option<ConsentEventView>, AppError> {
        let link = self.app.mail_link(token, UNSUBSCRIBE).await?;
        let moment = self.app.consent_moment().await?;
        let now = moment.now;
        if link.expires_at <= now {
            return Err(AppError::LinkSpent);
        }
        let row = self
            .app
            .store
            .get_customer(link.customer_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let in_force = self
            .app
            .store
            .consents(row.id)
            .await?
            .into_iter()
            .find(|e| e.purpose == link.purpose)
            .and_then(|e| {
                let state = e.state.parse::<ConsentState>().ok()?;
                Some(consent::effective(state, e.at, e.expires_at, moment))
            })
            .is_some_and(|s| matches!(s, ConsentState::Given | ConsentState::Requested));
        if !in_force {
            return Ok(None);
        }
        let event = ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: row.id,
            purpose: link.purpose.clone(),
            state: ConsentState::Withdrawn.as_str().into(),
            notice_version: None,
            method: ConsentMethod::Unsubscribe.as_str().into(),
            evidence: self.app.hash_evidence(evidence)?,
            at: now,
            expires_at: None,
        };
        let mut changes = ChangeSet {
            // The first use marks the link, so a campaign can count who left through it.
            spend_link: link.used_at.is_none().then_some(SpentLink {
                token_hash: link.token_hash,
                at: now,
            }),
            audit: vec![self.app.subject_record(
                row.id,
                "consent.unsubscribe",
                &link.purpose,
                vec![row.id.to_string(), format!("consent:{}", event.id)],
                vec![],
                link.campaign_id.map(|c| format!("campaign={c}")),
            )],
            ..Default::default()
        };
        if let Some((update, dropped)) = self
            .app
            .withdrawal_minimises(&row, &link.purpose, now)
            .await?
        {
            changes
                .events
                .push(note(EventType::CustomerUpdated, row.id, &dropped, now));
            changes.audit.push(self.app.subject_record(
                row.id,
                "customer.minimise",
                &link.purpose,
                vec![row.id.to_string()],
                dropped,
                Some(format!("after unsubscribe from {}", link.purpose)),
            ));
            changes.updates.push(update);
        }
        let view = crate::consent::ledger::event_view(event.clone(), moment)?;
        changes.consents.push(event);
        match self.app.store.apply(changes).await {
            Ok(_) => Ok(Some(view)),
            // A second click raced this one and marked the link first: it withdrew already.
            Err(steward_store::StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
