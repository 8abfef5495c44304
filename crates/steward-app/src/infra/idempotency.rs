//! Idempotent creates: a client that sends a create again with the same `Idempotency-Key`
//! (a retry after a lost answer) gets the first answer back instead of a second record.
//!
//! The key is kept only as a hash scoped to the caller, so one caller's key neither finds nor
//! blocks another's. The first answer holds personal data, so it is sealed with the
//! customer's data key and written in the same transaction as the record it describes: a
//! crash cannot separate them, and erasing the customer shreds the kept answer too. A replay
//! is a read of personal data and is audited like one. Erasing the customer keeps only the
//! key's hash, so a retry after the erasure is told so instead of creating them again.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use steward_store::IdempotentRow;
use steward_vault::DataKey;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{Access, AppError, Steward};

/// How long a kept answer is replayed.
pub const REPLAY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

const MAX_KEY_LEN: usize = 255;
/// What a malformed key is reported as; the HTTP edge names its header instead.
const KEY_FIELD: &str = "idempotency_key";
const SEAL_FIELD: &str = "idempotent-response";

/// A client's idempotency key: 1 to 255 visible ASCII characters.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, AppError> {
        let field = KEY_FIELD;
        if raw.is_empty() || raw.len() > MAX_KEY_LEN {
            return Err(AppError::invalid(
                field,
                format!("must be 1 to {MAX_KEY_LEN} characters"),
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid(
                field,
                "must be visible ASCII characters without spaces",
            ));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }
}

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(..)")
    }
}

/// What a create answered: made now, or the answer kept from the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    Created(T),
    Replayed(T),
}

impl<T> Outcome<T> {
    pub fn is_replay(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }

    pub fn into_inner(self) -> T {
        match self {
            Outcome::Created(t) | Outcome::Replayed(t) => t,
        }
    }
}

/// An answer that can be kept and replayed; a replay is audited as this read.
pub(crate) trait Replayable: Serialize + DeserializeOwned {
    fn customer(&self) -> Uuid;
    /// The audit action, targets and field names of reading this answer again.
    fn read_record(&self) -> (&'static str, Vec<String>, Vec<String>);
}

/// An idempotency key bound to its caller and to the request it came with.
pub(crate) struct Claim {
    key_hash: [u8; 32],
    fingerprint: [u8; 32],
}

impl Claim {
    /// `action` names the use case and its target, so one key cannot replay across them.
    pub(crate) fn new(
        key: &IdempotencyKey,
        access: &Access,
        action: &str,
        request: &impl Serialize,
    ) -> Result<Claim, AppError> {
        let key_hash = Sha256::new()
            .chain_update(b"steward-idempotency-v1\0")
            .chain_update(access.actor.id.as_bytes())
            .chain_update([0])
            .chain_update(key.0.as_bytes())
            .finalize()
            .into();
        let body = Zeroizing::new(serde_json::to_vec(request).map_err(AppError::Encode)?);
        // Role and purpose are part of what was asked: the kept answer shows what they allowed.
        let fingerprint = Sha256::new()
            .chain_update(action.as_bytes())
            .chain_update([0])
            .chain_update(access.actor.role.to_string().as_bytes())
            .chain_update([0])
            .chain_update(access.purpose.key.as_bytes())
            .chain_update([0])
            .chain_update(body.as_slice())
            .finalize()
            .into();
        Ok(Claim {
            key_hash,
            fingerprint,
        })
    }

    pub(crate) fn keep(
        &self,
        dek: &DataKey,
        answer: &impl Replayable,
        now: i64,
    ) -> Result<IdempotentRow, AppError> {
        let plain = Zeroizing::new(serde_json::to_vec(answer).map_err(AppError::Encode)?);
        Ok(IdempotentRow {
            key_hash: self.key_hash,
            fingerprint: self.fingerprint,
            customer_id: answer.customer(),
            response: dek.seal(SEAL_FIELD, &plain),
            created_at: now,
            expires_at: now.saturating_add(REPLAY_WINDOW.as_micros() as i64),
        })
    }
}

impl Steward {
    /// The answer kept for `claim`, opened and audited as a read; `None` when there is none.
    pub(crate) async fn replay<T: Replayable>(
        &self,
        access: &Access,
        claim: &Claim,
    ) -> Result<Option<T>, AppError> {
        let now = self.clock.now().as_microsecond();
        let Some(kept) = self.store.find_idempotent(&claim.key_hash, now).await? else {
            return Ok(None);
        };
        if kept.response.is_empty() {
            return Err(AppError::Erased);
        }
        if kept.fingerprint != claim.fingerprint {
            return Err(AppError::IdempotencyMismatch);
        }
        let dek = self.data_key(kept.customer_id).await?;
        let plain = dek.open(SEAL_FIELD, &kept.response)?;
        let answer: T = serde_json::from_slice(&plain)
            .map_err(|_| AppError::Integrity(format!("kept answer for {}", kept.customer_id)))?;
        let (action, targets, fields) = answer.read_record();
        self.append(vec![self.access_record(access, action, targets, fields)])
            .await?;
        Ok(Some(answer))
    }

    /// A create with a key failed. When it lost a race with the same request (the key, or
    /// the unique value it carries, was taken meanwhile), the winner's answer is now kept
    /// and is the answer to this one too.
    pub(crate) async fn replay_after_race<T: Replayable>(
        &self,
        access: &Access,
        claim: &Claim,
        error: AppError,
    ) -> Result<Outcome<T>, AppError> {
        if !matches!(
            error,
            AppError::IdempotencyConflict | AppError::Duplicate { .. }
        ) {
            return Err(error);
        }
        match self.replay(access, claim).await? {
            Some(answer) => Ok(Outcome::Replayed(answer)),
            None => Err(error),
        }
    }
}
