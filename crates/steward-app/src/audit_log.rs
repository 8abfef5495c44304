//! Writing to and verifying the audit chain, and signing its checkpoints.

use std::collections::HashMap;
use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord, ChainFault, ChainWalker, checkpoint_message};
use steward_store::{AuditFilter, Checkpoint};

use crate::{Access, Actor, AppError, Steward};

/// The result of walking the whole chain and checking every checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    /// Hex of the last good entry's hash.
    pub head: String,
    pub checkpoints: u64,
    /// Sequence number of the first entry found wrong (or missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

const VERIFY_PAGE: usize = 5_000;

impl Steward {
    pub(crate) fn record(
        &self,
        actor: &Actor,
        action: &str,
        purpose: Option<&str>,
        targets: Vec<String>,
        fields: Vec<String>,
        detail: Option<String>,
    ) -> AuditRecord {
        AuditRecord {
            at: self.clock.now().as_microsecond(),
            actor: actor.id.clone(),
            role: actor.role.to_string(),
            action: action.to_string(),
            purpose: purpose.map(str::to_string),
            targets,
            fields,
            detail,
        }
    }

    /// An entry for what a customer did themselves (following an emailed link, in the
    /// portal): the actor is `customer:<id>`.
    pub(crate) fn subject_record(
        &self,
        customer: uuid::Uuid,
        action: &str,
        purpose: &str,
        targets: Vec<String>,
        fields: Vec<String>,
        detail: Option<String>,
    ) -> AuditRecord {
        AuditRecord {
            at: self.clock.now().as_microsecond(),
            actor: format!("customer:{customer}"),
            role: "customer".into(),
            action: action.to_string(),
            purpose: Some(purpose.to_string()),
            targets,
            fields,
            detail,
        }
    }

    pub(crate) fn access_record(
        &self,
        access: &Access,
        action: &str,
        targets: Vec<String>,
        fields: Vec<String>,
    ) -> AuditRecord {
        self.record(
            &access.actor,
            action,
            Some(&access.purpose.key),
            targets,
            fields,
            None,
        )
    }

    /// Appends entries for actions that changed nothing (reads, exports).
    pub(crate) async fn append(&self, records: Vec<AuditRecord>) -> Result<(), AppError> {
        let entries = self.audit_writer.submit(records).await?;
        self.checkpoint_crossed(&entries).await
    }

    /// Signs a checkpoint for every entry whose sequence number is a multiple of the interval.
    pub(crate) async fn checkpoint_crossed(&self, entries: &[AuditEntry]) -> Result<(), AppError> {
        for e in entries
            .iter()
            .filter(|e| e.seq % self.checkpoint_every == 0)
        {
            self.sign_checkpoint(e.seq, e.hash).await?;
        }
        Ok(())
    }

    async fn sign_checkpoint(&self, seq: i64, head: [u8; 32]) -> Result<(), AppError> {
        let signature = self
            .vault
            .signer()
            .sign(&checkpoint_message(seq, &head))
            .to_vec();
        let at = self.clock.now().as_microsecond();
        self.store
            .add_checkpoint(&Checkpoint {
                seq,
                head,
                signature,
                at,
            })
            .await?;
        Ok(())
    }

    /// Signs the current head; called at shutdown so that a cut-off tail is detected.
    pub async fn checkpoint_now(&self) -> Result<(), AppError> {
        let (seq, head) = self.store.audit_head().await?;
        if seq > 0 {
            self.sign_checkpoint(seq, head).await?;
        }
        Ok(())
    }

    /// Walks the chain from the first entry and checks every checkpoint against it.
    pub async fn verify_audit(&self) -> Result<VerifyReport, AppError> {
        let checkpoints = self.store.checkpoints().await?;
        let by_seq: HashMap<i64, &Checkpoint> = checkpoints.iter().map(|c| (c.seq, c)).collect();
        let mut walker = ChainWalker::default();
        let fail = |walker: &ChainWalker, seq: i64, problem: String| VerifyReport {
            ok: false,
            entries: walker.entries,
            head: hex::encode(walker.head),
            checkpoints: checkpoints.len() as u64,
            first_bad: Some(seq),
            problem: Some(problem),
        };
        // A checkpoint must carry a valid signature before it may vouch for anything.
        for c in &checkpoints {
            if !self
                .vault
                .signer()
                .verify(&checkpoint_message(c.seq, &c.head), &c.signature)
            {
                return Ok(fail(
                    &walker,
                    c.seq,
                    format!("checkpoint at entry {} has an invalid signature", c.seq),
                ));
            }
        }
        let mut after = 0;
        loop {
            let page = self.store.audit_page(after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                if let Err(fault) = walker.feed(e) {
                    let (seq, problem) = match fault {
                        ChainFault::Altered { seq } => (seq, format!("entry {seq} was changed")),
                        ChainFault::Broken { seq } => {
                            let expected = walker.last_seq + 1;
                            if seq > expected {
                                (expected, format!("entry {expected} is missing"))
                            } else {
                                (
                                    seq,
                                    format!(
                                        "entry {seq} does not follow entry {}",
                                        walker.last_seq
                                    ),
                                )
                            }
                        }
                    };
                    return Ok(fail(&walker, seq, problem));
                }
                if let Some(c) = by_seq.get(&e.seq)
                    && c.head != e.hash
                {
                    return Ok(fail(
                        &walker,
                        e.seq,
                        format!("entry {} differs from its signed checkpoint", e.seq),
                    ));
                }
            }
        }
        if let Some(last) = checkpoints.iter().map(|c| c.seq).max()
            && last > walker.last_seq
        {
            let first_missing = walker.last_seq + 1;
            return Ok(fail(
                &walker,
                first_missing,
                format!(
                    "entries {first_missing} to {last} were removed: a signed checkpoint covers entry {last}"
                ),
            ));
        }
        Ok(VerifyReport {
            ok: true,
            entries: walker.entries,
            head: hex::encode(walker.head),
            checkpoints: checkpoints.len() as u64,
            first_bad: None,
            problem: None,
        })
    }

    /// A page of the audit log, for auditors and the privacy officer. The log holds no
    /// personal values, so reading it is not itself audited.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AppError> {
        self.search_audit(
            actor,
            AuditFilter {
                after_seq: after,
                limit,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn search_audit(
        &self,
        actor: &Actor,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditEntry>, AppError> {
        Self::require_audit_reader(actor)?;
        for (name, value) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("target", &filter.target),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.len() > 200 || v.chars().any(char::is_control))
            {
                return Err(AppError::invalid(
                    name,
                    "must be at most 200 characters, without control characters",
                ));
            }
        }
        // One more than the largest page, so that a caller can tell whether another page follows.
        filter.limit = filter.limit.clamp(1, 501);
        Ok(self.store.audit_search(&filter).await?)
    }

    pub(crate) fn require_audit_reader(actor: &Actor) -> Result<(), AppError> {
        use steward_core::Role;
        if matches!(
            actor.role,
            Role::Auditor | Role::Dpo | Role::Admin | Role::System
        ) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} may not read the audit log",
                actor.role
            )))
        }
    }
}

/// Audit entries the target indexer lists in one pass; how long it rests between passes
/// while catching up (each pass holds writes back for a moment) and once caught up.
const INDEX_PER_PASS: usize = 250;
const INDEX_CATCHING_UP: std::time::Duration = std::time::Duration::from_millis(2);
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Steward {
    /// Lists the record ids that new audit entries name, in bulk and in the background, so
    /// that access histories read a customer's own entries; runs until `stop`. Entries not
    /// listed yet are still found, by scanning the few past the list.
    pub async fn run_audit_indexer(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let rest = match self.store.index_audit_targets(INDEX_PER_PASS).await {
                Ok(n) if n == INDEX_PER_PASS => INDEX_CATCHING_UP,
                Ok(_) => INDEX_EVERY,
                Err(e) => {
                    tracing::warn!(error = %e, "listing audit targets failed");
                    INDEX_EVERY
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(rest) => {}
                _ = &mut stop => break,
            }
        }
    }
}

/// How many of a customer's audit entries their access history shows, newest first.
pub const ACCESS_HISTORY_LEN: usize = 50;

impl Steward {
    /// Who read or changed a customer, when and for what purpose: the newest entries of the
    /// audit log that name them. Whoever may open the record may see its history; the
    /// entries hold actors, actions, purposes and field names, never values.
    pub async fn customer_access_history(
        &self,
        access: &Access,
        id: uuid::Uuid,
    ) -> Result<Vec<AuditEntry>, AppError> {
        access.require_record_access()?;
        let row = self
            .store
            .get_customer(id)
            .await?
            .ok_or(AppError::NotFound)?;
        crate::customers::ensure_processable(access, &row)?;
        let mut newest = std::collections::VecDeque::with_capacity(ACCESS_HISTORY_LEN);
        let mut filter = AuditFilter {
            target: Some(id.to_string()),
            limit: 500,
            ..Default::default()
        };
        loop {
            let page = self.store.audit_search(&filter).await?;
            let full = page.len() == filter.limit;
            for entry in page {
                filter.after_seq = entry.seq;
                if newest.len() == ACCESS_HISTORY_LEN {
                    newest.pop_front();
                }
                newest.push_back(entry);
            }
            if !full {
                break;
            }
        }
        Ok(newest.into_iter().rev().collect())
    }

    /// Number of entries in the audit chain.
    pub async fn audit_length(&self) -> Result<i64, AppError> {
        Ok(self.store.audit_head().await?.0)
    }
}

impl Steward {
    /// Chain verification for a staff member who may read the audit log.
    pub async fn verify_audit_for(&self, actor: &Actor) -> Result<VerifyReport, AppError> {
        Self::require_audit_reader(actor)?;
        self.verify_audit().await
    }
}
