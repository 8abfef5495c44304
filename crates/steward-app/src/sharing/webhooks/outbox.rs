//! The sender: claims due deliveries, has each one's kind prepare its message as of now, signs
//! it in the Standard Webhooks form with the vendor's secret, POSTs it, and records the attempt
//! with its audit entry. 2xx delivers; 408, 429, 5xx and no answer are tried again later with
//! exponential backoff and jitter, up to a last attempt; any other answer fails at once (a
//! redirect is not followed).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Instant;

use bytes::Bytes;
use jiff::Timestamp;
use rand::Rng;
use steward_store::{WebhookAttempt, WebhookOutcome, WebhookRow};
use steward_vault::WebhookSecret;
use uuid::Uuid;

use super::client::{Failure, Target};
use super::{Kind, event, recipient_notice, share_page};
use crate::services::{Jobs, RecipientNotices, Shares, Webhooks};
use crate::sharing::require_reader;
use crate::{Actor, AppError, Steward};

/// Deliveries claimed per round; each carries up to a page of customers.
const BATCH: usize = 16;
/// How long a claimed delivery is held by one sender before another may take it: longer than
/// a round of the slowest answers.
const LEASE_MICROS: i64 = 15 * 60 * 1_000_000;
const FIRST_RETRY_MICROS: i64 = 30 * 1_000_000;
const LAST_RETRY_MICROS: i64 = 6 * 60 * 60 * 1_000_000;
/// About two days of trying before a delivery is given up.
const MAX_ATTEMPTS: i64 = 12;
/// How often the sender looks for due retries when nothing wakes it.
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Where a delivery goes: a vendor's endpoint or an integration's subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Destination {
    Vendor(Uuid),
    Subscription(Uuid),
}

impl Destination {
    fn of(row: &WebhookRow) -> Option<Destination> {
        match (row.vendor_id, row.subscription_id) {
            (Some(vendor), _) => Some(Destination::Vendor(vendor)),
            (None, Some(id)) => Some(Destination::Subscription(id)),
            (None, None) => None,
        }
    }
}

/// What one round of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookRound {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// One delivery of a share, of a recipient notice or of an event to a subscription, as those
/// who may read deliveries read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryView {
    /// Sent as `webhook-id`, the same on every attempt.
    pub id: Uuid,
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_attempt_at: Timestamp,
    pub attempts: Vec<WebhookAttemptView>,
    /// For a subscription's message: the event's type (`customer.updated`, ...) and the
    /// customer, or the request, it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<Uuid>,
}

/// One attempt: when, how long, and what came back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookAttemptView {
    pub attempt: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// Why there was no answer: `timeout`, `connect`, `tls`, `protocol`; or why nothing was
    /// sent: `no_endpoint`, `unknown_kind`, `integrity`.
    pub error: Option<String>,
    pub duration_micros: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub retry_at: Option<Timestamp>,
}

/// The wait before attempt `attempt + 1`: doubling from the first, levelled out at the last,
/// and spread over its upper half (`spread` in 0..1) so that deliveries failed together are
/// not all tried again at the same moment.
fn retry_delay(attempt: i64, spread: f64) -> i64 {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let full = FIRST_RETRY_MICROS
        .saturating_mul(1 << doublings)
        .min(LAST_RETRY_MICROS);
    full / 2 + (full as f64 / 2.0 * spread.clamp(0.0, 1.0)) as i64
}

/// What an answer means for the delivery.
fn judged(answer: Result<u16, Failure>, attempt: i64, now: i64) -> WebhookOutcome {
    let retry = || {
        if attempt >= MAX_ATTEMPTS {
            WebhookOutcome::Failed
        } else {
            let spread = rand::thread_rng().r#gen::<f64>();
            WebhookOutcome::Retry {
                at: now.saturating_add(retry_delay(attempt, spread)),
            }
        }
    };
    match answer {
        Ok(status) if (200..300).contains(&status) => WebhookOutcome::Delivered,
        Ok(408 | 429) | Ok(500..=599) | Err(_) => retry(),
        Ok(_) => WebhookOutcome::Failed,
    }
}

impl Webhooks<'_> {
    /// Sends what is due now: claims a batch, sends each delivery, records each attempt.
    pub async fn deliver_due(&self) -> Result<WebhookRound, AppError> {
        let app = self.app;
        let now = app.clock.now().as_microsecond();
        let claimed = app
            .store
            .claim_webhooks(now, now.saturating_add(LEASE_MICROS), BATCH)
            .await?;
        let mut round = WebhookRound::default();
        let mut endpoints: HashMap<
            Option<Destination>,
            Result<(Target, WebhookSecret), &'static str>,
        > = HashMap::new();
        for row in claimed {
            let destination = Destination::of(&row);
            let endpoint = match endpoints.entry(destination) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(new) => {
                    let target = match destination {
                        Some(Destination::Vendor(vendor)) => app.webhook_target(vendor).await,
                        Some(Destination::Subscription(id)) => app.subscription_target(id).await,
                        None => Ok(None),
                    };
                    let endpoint = match target {
                        Ok(Some(endpoint)) => Ok(endpoint),
                        Ok(None) => Err("no_endpoint"),
                        // A secret that fails its check signs nothing, and holds up no other
                        // destination's deliveries.
                        Err(AppError::Integrity(what)) => {
                            tracing::error!(delivery = %row.id, what, "a webhook secret failed its check");
                            Err("integrity")
                        }
                        Err(e) => return Err(e),
                    };
                    new.insert(endpoint)
                }
            }
            .as_ref()
            .map_err(|e| *e);
            let outcome = app.attempt(&row, endpoint).await?;
            match outcome {
                WebhookOutcome::Delivered => round.delivered += 1,
                WebhookOutcome::Retry { .. } => round.retried += 1,
                WebhookOutcome::Failed => round.failed += 1,
            }
        }
        Ok(round)
    }
}

impl Webhooks<'_> {
    /// POSTs `body` to `url` as it is, unsigned and unrecorded, with the client deliveries
    /// use: the baseline a benchmark sets the outbox against.
    #[cfg(feature = "local-staff")]
    pub async fn post_as_is(&self, url: &str, body: Vec<u8>) -> Result<u16, AppError> {
        let target = Target::parse(url).map_err(|m| AppError::invalid("url", m))?;
        self.app
            .hooks
            .client
            .post(&target, &[], Bytes::from(body))
            .await
            .map_err(|f| AppError::Internal(format!("webhook baseline: {}", f.as_str())))
    }
}

impl Steward {
    /// One attempt at a claimed delivery, recorded with its audit entry.
    async fn attempt(
        &self,
        row: &WebhookRow,
        endpoint: Result<&(Target, WebhookSecret), &'static str>,
    ) -> Result<WebhookOutcome, AppError> {
        let attempt = row.attempts + 1;
        let at = self.clock.now();
        let mut record = WebhookAttempt {
            delivery_id: row.id,
            attempt,
            at: at.as_microsecond(),
            outcome: WebhookOutcome::Failed,
            status: None,
            error: None,
            micros: 0,
        };
        // Nothing is sent without a usable endpoint, or for a kind this version does not know.
        let kind = Kind::parse(&row.kind);
        let (Some(kind), Ok((target, secret))) = (kind, endpoint) else {
            let error = endpoint.err().unwrap_or("unknown_kind");
            record.error = Some(error.into());
            tracing::warn!(delivery = %row.id, error, "webhook given up");
            if self.store.finish_webhook(&record, vec![]).await?
                && let Some(kind) = kind
            {
                self.settled(kind, row, &record.outcome, error).await?;
            }
            return Ok(record.outcome);
        };
        let prepared = match kind {
            Kind::SharePage => share_page::prepare(self, row, at).await,
            Kind::RecipientNotice => recipient_notice::prepare(self, row, at).await,
            Kind::Event => event::prepare(self, row, at).await,
        };
        let mut prepared = match prepared {
            Ok(p) => p,
            Err(AppError::Integrity(what)) => {
                tracing::error!(delivery = %row.id, what, "webhook given up: sealed data failed its check");
                record.error = Some("integrity".into());
                if self.store.finish_webhook(&record, vec![]).await? {
                    self.settled(kind, row, &record.outcome, "integrity")
                        .await?;
                }
                return Ok(record.outcome);
            }
            Err(e) => return Err(e),
        };
        let id = row.id.to_string();
        let timestamp = at.as_second();
        let headers = [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                secret.sign(&id, timestamp, &prepared.body),
            ),
        ];
        let started = Instant::now();
        let answer = self
            .hooks
            .client
            .post(target, &headers, Bytes::from(prepared.body))
            .await;
        record.micros = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
        record.outcome = judged(answer, attempt, self.clock.now().as_microsecond());
        match answer {
            Ok(status) => record.status = Some(i64::from(status)),
            Err(failure) => record.error = Some(failure.as_str().into()),
        }
        let answered = match (record.status, &record.error) {
            (Some(status), _) => format!("status {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        match record.outcome {
            WebhookOutcome::Delivered => {}
            WebhookOutcome::Retry { .. } => {
                tracing::info!(delivery = %row.id, attempt, answered, "webhook will be retried")
            }
            WebhookOutcome::Failed => {
                tracing::warn!(delivery = %row.id, attempt, answered, "webhook given up")
            }
        }
        // Sent is disclosed, whatever came back: the entry names the customers whose values
        // went, and the outcome.
        prepared.audit.detail = Some(format!(
            "delivery {}; {} {}; attempt {attempt}; {answered}; {}",
            row.id,
            if row.vendor_id.is_some() {
                "vendor"
            } else {
                "subscription"
            },
            row.vendor_id.or(row.subscription_id).unwrap_or_default(),
            record.outcome.as_str()
        ));
        if self
            .store
            .finish_webhook(&record, vec![prepared.audit])
            .await?
        {
            self.settled(kind, row, &record.outcome, &answered).await?;
        }
        Ok(record.outcome)
    }

    /// What a kind makes of its delivery's outcome, once recorded (and only by the sender that
    /// recorded it).
    async fn settled(
        &self,
        kind: Kind,
        row: &WebhookRow,
        outcome: &WebhookOutcome,
        answered: &str,
    ) -> Result<(), AppError> {
        match kind {
            // A share page has nothing to follow up: its progress is read from the outbox.
            Kind::SharePage | Kind::Event => Ok(()),
            Kind::RecipientNotice => recipient_notice::settled(self, row, outcome, answered).await,
        }
    }
}

impl Shares<'_> {
    /// A share's webhook deliveries with every attempt, for the privacy officer and the
    /// auditor; empty for a share delivered as a file.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        share: Uuid,
    ) -> Result<Vec<WebhookDeliveryView>, AppError> {
        require_reader(actor)?;
        let app = self.app;
        app.store.share(share).await?.ok_or(AppError::NotFound)?;
        app.deliveries_about(share).await
    }
}

impl RecipientNotices<'_> {
    /// The webhook delivery of a notice with every attempt; empty for a notice to a vendor
    /// without an endpoint, which is told by hand.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        notice: Uuid,
    ) -> Result<Vec<WebhookDeliveryView>, AppError> {
        require_reader(actor)?;
        let app = self.app;
        app.store
            .recipient_notice(notice)
            .await?
            .ok_or(AppError::NotFound)?;
        app.deliveries_about(notice).await
    }
}

impl Steward {
    /// The deliveries about `subject` (a share, a notice) with their attempts.
    async fn deliveries_about(&self, subject: Uuid) -> Result<Vec<WebhookDeliveryView>, AppError> {
        let (deliveries, attempts) = self.store.webhook_deliveries(subject).await?;
        Ok(delivery_views(deliveries, attempts))
    }
}

/// Deliveries as staff read them, each with its attempts.
pub(super) fn delivery_views(
    deliveries: Vec<WebhookRow>,
    stored_attempts: Vec<WebhookAttempt>,
) -> Vec<WebhookDeliveryView> {
    let mut attempts: HashMap<Uuid, Vec<WebhookAttemptView>> = HashMap::new();
    for a in stored_attempts {
        attempts
            .entry(a.delivery_id)
            .or_default()
            .push(WebhookAttemptView {
                attempt: a.attempt,
                at: steward_core::clock::from_micros(a.at),
                outcome: a.outcome.as_str().into(),
                status: a.status,
                error: a.error,
                duration_micros: a.micros,
                retry_at: match a.outcome {
                    WebhookOutcome::Retry { at } => Some(steward_core::clock::from_micros(at)),
                    _ => None,
                },
            });
    }
    deliveries
        .into_iter()
        .map(|d| {
            let event = d
                .subscription_id
                .and_then(|_| super::event::event_type(&d.reference));
            WebhookDeliveryView {
                attempts: attempts.remove(&d.id).unwrap_or_default(),
                id: d.id,
                kind: d.kind,
                state: d.state,
                next_attempt_at: steward_core::clock::from_micros(d.next_attempt_at),
                about: event.is_some().then_some(d.subject_id),
                event,
            }
        })
        .collect()
}

impl Jobs {
    /// Drains the webhook outbox until `stop` completes: at once when a share queued
    /// deliveries, and every few seconds for retries.
    pub async fn webhook_sender(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let full = match self.app.webhooks().deliver_due().await {
                Ok(round) => round.delivered + round.retried + round.failed >= BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook round failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = self.app.hooks.queued.notified() => {}
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
    fn retries_back_off_spread_and_level_out() {
        assert_eq!(retry_delay(1, 0.0), FIRST_RETRY_MICROS / 2);
        assert_eq!(retry_delay(1, 1.0), FIRST_RETRY_MICROS);
        assert_eq!(retry_delay(3, 1.0), 4 * FIRST_RETRY_MICROS);
        assert_eq!(retry_delay(i64::MAX, 1.0), LAST_RETRY_MICROS);
        assert_eq!(retry_delay(i64::MAX, 0.0), LAST_RETRY_MICROS / 2);
    }

    #[test]
    fn answers_are_judged_as_standard_webhooks_expects() {
        assert_eq!(judged(Ok(200), 1, 0), WebhookOutcome::Delivered);
        assert_eq!(judged(Ok(204), 1, 0), WebhookOutcome::Delivered);
        for retried in [Ok(408), Ok(429), Ok(500), Ok(503), Err(Failure::Timeout)] {
            assert!(
                matches!(judged(retried, 1, 0), WebhookOutcome::Retry { at } if at >= FIRST_RETRY_MICROS / 2)
            );
            assert_eq!(judged(retried, MAX_ATTEMPTS, 0), WebhookOutcome::Failed);
        }
        for failed in [Ok(301), Ok(400), Ok(401), Ok(404), Ok(410)] {
            assert_eq!(judged(failed, 1, 0), WebhookOutcome::Failed);
        }
    }
}
