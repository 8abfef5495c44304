//! Queuing messages with the change that causes them, and the sender that drains the queue.

use std::collections::HashMap;

use steward_store::{Delivery, DeliveryOutcome, OutboxRow, StoredKey};
use steward_vault::DataKey;
use uuid::Uuid;

use super::{BREACH_ALERT, CAMPAIGN_TEST, FAREWELL, Letter, SIGN_IN_ALERT};
use crate::services::Jobs;
use crate::services::Outbox;
use crate::{AppError, Steward};

/// Messages claimed per round.
const BATCH: usize = 50;
/// How long a claimed message is held by one sender before another may take it.
const LEASE_MICROS: i64 = 5 * 60 * 1_000_000;
const FIRST_RETRY_MICROS: i64 = 60 * 1_000_000;
const LAST_RETRY_MICROS: i64 = 6 * 60 * 60 * 1_000_000;
const MAX_ATTEMPTS: i64 = 8;
/// How often the sender looks for due retries when nothing wakes it.
const POLL: std::time::Duration = std::time::Duration::from_secs(5);
const SEALED_AS: &str = "mail.message";

/// What one round of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailRound {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

fn retry_delay(attempt: i64) -> i64 {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    FIRST_RETRY_MICROS
        .saturating_mul(1 << doublings)
        .min(LAST_RETRY_MICROS)
}

impl Steward {
    /// An outbox row for a letter to a customer, sealed with their data key; it is sent once
    /// the change that carries it commits.
    pub(crate) fn outbox_row(
        &self,
        dek: &DataKey,
        kind: &str,
        campaign: Option<Uuid>,
        letter: &Letter,
        now: i64,
    ) -> Result<OutboxRow, AppError> {
        let plain = serde_json::to_vec(letter).map_err(AppError::Encode)?;
        Ok(OutboxRow {
            id: Uuid::now_v7(),
            customer_id: dek.customer(),
            kind: kind.into(),
            campaign_id: campaign,
            sealed: dek.seal(SEALED_AS, &plain),
            state: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            sent_at: None,
            last_error: None,
        })
    }

    /// An outbox row for a letter sealed under a key of its own, `key`, made now: to someone
    /// who is no customer (a staff member, the breach response team) or to a customer whose
    /// key is going (a farewell). The key is destroyed once the letter is sent or given up, so
    /// nothing may open it again.
    pub(crate) async fn own_key_letter(
        &self,
        key: Uuid,
        kind: &str,
        letter: &Letter,
        now: i64,
    ) -> Result<OutboxRow, AppError> {
        let (dek, wrapped) = self.vault.new_data_key(&key)?;
        self.key_writer
            .submit(vec![(
                key,
                StoredKey {
                    kek_version: wrapped.kek_version,
                    bytes: wrapped.bytes,
                },
            )])
            .await?;
        self.outbox_row(&dek, kind, None, letter, now)
    }

    /// Wakes the sender after a commit that queued mail.
    pub(crate) fn mail_queued(&self) {
        self.mailer.queued.notify_one();
    }

    /// Records what one attempt came to.
    async fn record_attempt(
        &self,
        row: &OutboxRow,
        attempt: i64,
        result: Result<String, super::transport::SendFailure>,
        round: &mut MailRound,
    ) -> Result<(), AppError> {
        let at = self.clock.now().as_microsecond();
        let (outcome, detail) = match result {
            Ok(code) => {
                round.sent += 1;
                (DeliveryOutcome::Sent, code)
            }
            Err(f) if f.permanent || attempt >= MAX_ATTEMPTS => {
                round.failed += 1;
                tracing::warn!(message = %row.id, attempt, detail = %f.detail, "mail given up");
                (DeliveryOutcome::Failed, f.detail)
            }
            Err(f) => {
                round.retried += 1;
                tracing::info!(message = %row.id, attempt, detail = %f.detail, "mail will be retried");
                let retry = at.saturating_add(retry_delay(attempt));
                (DeliveryOutcome::Retry { at: retry }, f.detail)
            }
        };
        let settled = !matches!(outcome, DeliveryOutcome::Retry { .. });
        self.store
            .finish_mail(&Delivery {
                message_id: row.id,
                attempt,
                at,
                outcome,
                detail: Some(detail),
            })
            .await?;
        // A last message to an erased person, or an alert or a test to a staff member, was
        // sealed under a key of its own: once it is sent or given up, nothing may open it again.
        let own_key = [FAREWELL, SIGN_IN_ALERT, BREACH_ALERT, CAMPAIGN_TEST];
        if settled && own_key.contains(&row.kind.as_str()) {
            self.destroy_key(row.customer_id).await?;
        }
        Ok(())
    }

    async fn open_letter(&self, row: &OutboxRow) -> Result<Letter, AppError> {
        let dek = self.data_key(row.customer_id).await?;
        let plain = dek
            .open(SEALED_AS, &row.sealed)
            .map_err(|_| AppError::Integrity(format!("message {}", row.id)))?;
        serde_json::from_slice(&plain)
            .map_err(|_| AppError::Integrity(format!("message {}", row.id)))
    }
}

impl Outbox<'_> {
    /// Sends what is due now: claims a batch, hands each message over, records the outcome.
    pub async fn deliver_due(&self) -> Result<MailRound, AppError> {
        let now = self.app.clock.now().as_microsecond();
        let claimed = self
            .app
            .store
            .claim_mail(now, now.saturating_add(LEASE_MICROS), BATCH)
            .await?;
        let mut round = MailRound::default();
        let mut purposes: HashMap<Uuid, Option<String>> = HashMap::new();
        for row in claimed {
            let attempt = row.attempts + 1;
            let permanent = |detail: &str| {
                Err(super::transport::SendFailure {
                    permanent: true,
                    detail: detail.into(),
                })
            };
            // Marketing goes out only while the consent it was queued under still holds.
            if let Some(campaign) = row.campaign_id {
                let purpose = match purposes.get(&campaign) {
                    Some(p) => p.clone(),
                    None => {
                        let p = self.app.store.campaign(campaign).await?.map(|c| c.purpose);
                        purposes.insert(campaign, p.clone());
                        p
                    }
                };
                let still = match &purpose {
                    Some(p) => self.app.given_purposes(row.customer_id).await?.contains(p),
                    None => false,
                };
                if !still {
                    self.app
                        .record_attempt(
                            &row,
                            attempt,
                            permanent("consent no longer given"),
                            &mut round,
                        )
                        .await?;
                    continue;
                }
            }
            let result = match self.app.open_letter(&row).await {
                Ok(letter) => {
                    self.app
                        .mailer
                        .transport
                        .send(&letter, &self.app.mailer.from, row.id)
                        .await
                }
                // The customer was erased after the claim: their mail went with them.
                Err(AppError::NotFound) => continue,
                Err(AppError::Integrity(_)) => permanent("the sealed message failed its check"),
                Err(e) => return Err(e),
            };
            self.app
                .record_attempt(&row, attempt, result, &mut round)
                .await?;
        }
        Ok(round)
    }
}

impl Jobs {
    /// Drains the outbox until `stop` completes: at once when mail is queued, and every few
    /// seconds for retries.
    pub async fn mail_sender(self, stop: impl std::future::Future<Output = ()>) {
        if let Some(path) = self.app.mailer.transport.log_path() {
            // Said where mail is sent from, not by every command that opens Steward.
            tracing::warn!(
                path = %path.display(),
                "no smtp_url: outgoing mail, with its addresses and sign-in codes, is appended \
                 in plain text to this file; set smtp_url before real customers use Steward"
            );
        }
        tokio::pin!(stop);
        loop {
            let full = match self.app.outbox().deliver_due().await {
                Ok(round) => round.sent + round.retried + round.failed >= BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "mail round failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = self.app.mailer.queued.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = &mut stop => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_level_out() {
        assert_eq!(retry_delay(1), FIRST_RETRY_MICROS);
        assert_eq!(retry_delay(2), 2 * FIRST_RETRY_MICROS);
        assert_eq!(retry_delay(4), 8 * FIRST_RETRY_MICROS);
        assert_eq!(
            retry_delay(MAX_ATTEMPTS),
            LAST_RETRY_MICROS.min(128 * FIRST_RETRY_MICROS)
        );
        assert_eq!(retry_delay(i64::MAX), LAST_RETRY_MICROS);
    }
}
