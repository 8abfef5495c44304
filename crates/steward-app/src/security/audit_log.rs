//! Writing to and verifying the audit chain against its signed heads.

use std::collections::HashMap;

use steward_core::audit::{
    AuditEntry, AuditRecord, ChainFault, ChainLink, ChainWalker, Hash, SignedHead,
};
use steward_store::AuditFilter as StoredFilter;

use crate::security::audit_witness::Witnessed;
use crate::services::Audit;
use crate::services::Jobs;
use crate::{Access, Actor, AppError, Steward};

/// What verification found wrong, for machines; `problem` says it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditFault {
    /// An entry's contents no longer match its hash.
    Changed,
    /// An entry is missing from the middle of the chain.
    Missing,
    /// An entry does not link to the one before it.
    OutOfOrder,
    /// The chain no longer leads to a head that was signed: entries were changed and the
    /// chain recomputed.
    Rewritten,
    /// A signed head covers entries that are no longer there.
    Truncated,
    /// Entries lie past the newest signed head in the database.
    UnsignedEntries,
    /// There are entries but the database holds no signed head.
    NoSignedHead,
    /// The database's signed head is older than the one witnessed outside it.
    RolledBack,
    /// No head is witnessed outside the database.
    NotWitnessed,
    /// A signed head's signature does not verify.
    BadSignature,
    /// The witness file cannot be read.
    WitnessUnreadable,
}

/// The result of walking the whole chain and checking it against every signed head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    /// Hex of the last good entry's hash.
    pub head: String,
    /// The entry the database's signed head covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_head: Option<i64>,
    /// The entry the newest head witnessed outside the database covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessed_head: Option<i64>,
    /// Sequence number of the first entry found wrong (or missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<AuditFault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

const VERIFY_PAGE: usize = 5_000;

/// The log's links, read a page ahead of the walk on a task of its own: reading and hashing
/// the entries is nearly all a verification does, so two pages are read at once.
struct LinkPages {
    store: std::sync::Arc<dyn steward_store::Store>,
    after: i64,
    ahead: Option<(i64, Reading)>,
}

type Reading = tokio::task::JoinHandle<Result<Vec<ChainLink>, steward_store::StoreError>>;

impl LinkPages {
    fn read(&self, after: i64) -> Reading {
        let store = self.store.clone();
        tokio::spawn(async move { store.audit_links(after, VERIFY_PAGE).await })
    }

    async fn next(&mut self) -> Result<Vec<ChainLink>, AppError> {
        let current = match self.ahead.take() {
            Some((from, reading)) if from == self.after => reading,
            Some((_, reading)) => {
                reading.abort();
                self.read(self.after)
            }
            None => self.read(self.after),
        };
        // Sequence numbers run without gaps, so the next page starts where a full one ends;
        // when it does not, the page read ahead is dropped and read again.
        let from = self.after + VERIFY_PAGE as i64;
        self.ahead = Some((from, self.read(from)));
        let page = current
            .await
            .map_err(|e| AppError::Internal(format!("reading the audit log stopped: {e}")))??;
        match page.last() {
            Some(last) => self.after = last.seq,
            None => {
                if let Some((_, reading)) = self.ahead.take() {
                    reading.abort();
                }
            }
        }
        Ok(page)
    }
}

impl Drop for LinkPages {
    fn drop(&mut self) {
        if let Some((_, reading)) = self.ahead.take() {
            reading.abort();
        }
    }
}

/// Where a signed head was found, as verification names it.
#[derive(Clone, Copy)]
enum HeadSource {
    Database,
    KeyStore,
    WitnessFile,
}

impl HeadSource {
    fn name(self) -> &'static str {
        match self {
            HeadSource::Database => "the database's signed head",
            HeadSource::KeyStore => "the head witnessed in the key store",
            HeadSource::WitnessFile => "a head in the witness file",
        }
    }
}

/// Which audit entries to return: those after `after_seq` (and before `before_seq`, when
/// given), oldest first unless `newest_first`, narrowed by actor, action, target and time.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub after_seq: i64,
    pub before_seq: Option<i64>,
    pub newest_first: bool,
    pub limit: usize,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// An id that must be among the entry's targets.
    pub target: Option<String>,
    /// Microseconds since the epoch.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl From<AuditFilter> for StoredFilter {
    fn from(f: AuditFilter) -> StoredFilter {
        StoredFilter {
            after_seq: f.after_seq,
            before_seq: f.before_seq,
            newest_first: f.newest_first,
            limit: f.limit,
            actor: f.actor,
            action: f.action,
            target: f.target,
            from: f.from,
            to: f.to,
        }
    }
}

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
        self.audit_writer.submit(records).await?;
        Ok(())
    }

    /// An installation that kept no signed heads yet (one from before they were kept) has
    /// its head signed as it stands, once, if nothing was ever witnessed: a head witnessed
    /// before means the missing one was removed, which verification must report instead.
    pub(crate) async fn sign_first_head(&self) -> Result<(), AppError> {
        if self.store.signed_head().await?.is_none()
            && self.store.audit_head().await?.0 > 0
            && self.keys.witnessed_head().await?.is_none()
            && self.witness_file.read().is_ok_and(|heads| heads.is_empty())
        {
            tracing::warn!("the audit log had no signed head; its head as it stands is signed now");
            self.store.sign_head_as_is().await?;
        }
        Ok(())
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

impl Audit<'_> {
    /// Walks the chain from the first entry and checks it against every signed head: the
    /// database's, the one witnessed in the key store and those in the witness file. The
    /// witness is brought up to date first, if the log extends what it holds.
    ///
    /// Other instances may append and witness while this walks, so each head is read after
    /// those it is compared with: the witnesses before the database's head (a witness newer
    /// than it is then a rollback, never a race), and the database's head again after the
    /// walk (every commit signed the entries it appended, so that head covers every entry
    /// walked unless some really are unsigned).
    pub async fn verify(&self) -> Result<VerifyReport, AppError> {
        self.witness(false).await?;
        let in_file = self.app.witness_file.read();
        let kept = self.app.keys.witnessed_head().await?;
        let in_db = self.app.store.signed_head().await?;
        let mut report = VerifyReport {
            ok: false,
            entries: 0,
            head: hex::encode(steward_core::audit::GENESIS),
            signed_head: in_db.as_ref().map(|h| h.seq),
            witnessed_head: None,
            first_bad: None,
            fault: None,
            problem: None,
        };
        let fail = |mut report: VerifyReport, seq: Option<i64>, fault, problem: String| {
            report.first_bad = seq;
            report.fault = Some(fault);
            report.problem = Some(problem);
            Ok(report)
        };
        let in_file = match in_file {
            Ok(heads) => heads,
            Err(problem) => return fail(report, None, AuditFault::WitnessUnreadable, problem),
        };
        let outside = kept
            .iter()
            .chain(in_file.last())
            .max_by_key(|h| h.seq)
            .cloned();
        report.witnessed_head = outside.as_ref().map(|h| h.seq);
        let heads: Vec<(HeadSource, &SignedHead)> = in_db
            .iter()
            .map(|h| (HeadSource::Database, h))
            .chain(kept.iter().map(|h| (HeadSource::KeyStore, h)))
            .chain(in_file.iter().map(|h| (HeadSource::WitnessFile, h)))
            .collect();
        let mut expected: HashMap<i64, (Hash, HeadSource)> = HashMap::new();
        for (source, h) in &heads {
            if !self.app.vault.signer().verify(&h.message(), &h.signature) {
                return fail(
                    report,
                    Some(h.seq),
                    AuditFault::BadSignature,
                    format!(
                        "{} at entry {} has an invalid signature",
                        source.name(),
                        h.seq
                    ),
                );
            }
            match expected.get(&h.seq) {
                Some((hash, other)) if *hash != h.head => {
                    return fail(
                        report,
                        Some(h.seq),
                        AuditFault::Rewritten,
                        format!(
                            "{} and {} disagree about entry {}: the log was rewritten",
                            other.name(),
                            source.name(),
                            h.seq
                        ),
                    );
                }
                _ => {
                    expected.insert(h.seq, (h.head, *source));
                }
            }
        }

        let mut walker = ChainWalker::default();
        // The last entry a signed head was found to match: a rewrite lies after it.
        let mut vouched = 0;
        let mut pages = LinkPages {
            store: self.app.store.clone(),
            after: 0,
            ahead: None,
        };
        loop {
            let page = pages.next().await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                if let Err(fault) = walker.feed_link(e) {
                    report.entries = walker.entries;
                    report.head = hex::encode(walker.head);
                    let (seq, fault, problem) = match fault {
                        ChainFault::Altered { seq } => {
                            (seq, AuditFault::Changed, format!("entry {seq} was changed"))
                        }
                        ChainFault::Broken { seq } => {
                            let expected = walker.last_seq + 1;
                            if seq > expected {
                                (
                                    expected,
                                    AuditFault::Missing,
                                    format!("entry {expected} is missing"),
                                )
                            } else {
                                (
                                    seq,
                                    AuditFault::OutOfOrder,
                                    format!(
                                        "entry {seq} does not follow entry {}",
                                        walker.last_seq
                                    ),
                                )
                            }
                        }
                    };
                    return fail(report, Some(seq), fault, problem);
                }
                if let Some((hash, source)) = expected.get(&e.seq) {
                    if *hash != e.hash {
                        report.entries = walker.entries;
                        return fail(
                            report,
                            Some(vouched + 1),
                            AuditFault::Rewritten,
                            format!(
                                "the chain no longer leads to {} at entry {}: an entry from {} to {} was changed and the chain recomputed",
                                source.name(),
                                e.seq,
                                vouched + 1,
                                e.seq
                            ),
                        );
                    }
                    vouched = e.seq;
                }
            }
        }
        report.entries = walker.entries;
        report.head = hex::encode(walker.head);
        let last = walker.last_seq;

        if let Some((&seq, (_, source))) = expected
            .iter()
            .filter(|(s, _)| **s > last)
            .max_by_key(|(s, _)| **s)
        {
            return fail(
                report,
                Some(last + 1),
                AuditFault::Truncated,
                format!(
                    "entries {} to {seq} were removed: {} covers entry {seq}",
                    last + 1,
                    source.name()
                ),
            );
        }
        if last == 0 {
            report.ok = true;
            return Ok(report);
        }
        let Some(latest) = self.app.store.signed_head().await? else {
            return fail(
                report,
                None,
                AuditFault::NoSignedHead,
                format!("there are {last} entries but the database holds no signed head"),
            );
        };
        report.signed_head = Some(latest.seq);
        if !self
            .app
            .vault
            .signer()
            .verify(&latest.message(), &latest.signature)
        {
            return fail(
                report,
                Some(latest.seq),
                AuditFault::BadSignature,
                format!(
                    "{} at entry {} has an invalid signature",
                    HeadSource::Database.name(),
                    latest.seq
                ),
            );
        }
        let in_db = in_db.unwrap_or_else(|| latest.clone());
        if let Some(outside) = outside.as_ref().filter(|o| o.seq > in_db.seq) {
            return fail(
                report,
                Some(in_db.seq + 1),
                AuditFault::RolledBack,
                format!(
                    "the database's signed head (entry {}) is older than the head witnessed outside it (entry {})",
                    in_db.seq, outside.seq
                ),
            );
        }
        if latest.seq < last {
            return fail(
                report,
                Some(latest.seq + 1),
                AuditFault::UnsignedEntries,
                format!(
                    "entries {} to {last} are not covered by a signed head",
                    latest.seq + 1
                ),
            );
        }
        if latest.seq == last && latest.head != walker.head {
            return fail(
                report,
                Some(vouched + 1),
                AuditFault::Rewritten,
                format!(
                    "the chain no longer leads to {} at entry {last}: an entry from {} to {last} was changed and the chain recomputed",
                    HeadSource::Database.name(),
                    vouched + 1
                ),
            );
        }
        if outside.is_none() {
            // The database's head was signed after this verification witnessed: witness it now.
            if let Witnessed::Refused(problem) = self.witness_head(latest.clone(), false).await? {
                return fail(report, None, AuditFault::NotWitnessed, problem);
            }
            report.witnessed_head = Some(latest.seq);
        }
        report.ok = true;
        Ok(report)
    }

    /// A page of the audit log, for auditors and the privacy officer. The log holds no
    /// personal values, so reading it is not itself audited.
    pub async fn entries(
        &self,
        actor: &Actor,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, AppError> {
        self.search(
            actor,
            AuditFilter {
                after_seq: after,
                limit,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn search(
        &self,
        actor: &Actor,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditEntry>, AppError> {
        Steward::require_audit_reader(actor)?;
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
        Ok(self.app.store.audit_search(&filter.into()).await?)
    }
}

/// Audit entries the target indexer lists in one pass; how long it rests between passes
/// while catching up (each pass holds writes back for a moment) and once caught up.
const INDEX_PER_PASS: usize = 250;
const INDEX_CATCHING_UP: std::time::Duration = std::time::Duration::from_millis(2);
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Jobs {
    /// Lists the record ids that new audit entries name, in bulk and in the background, so
    /// that access histories read a customer's own entries; runs until `stop`. Entries not
    /// listed yet are still found, by scanning the few past the list.
    pub async fn audit_indexer(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let rest = match self.app.store.index_audit_targets(INDEX_PER_PASS).await {
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

impl Audit<'_> {
    /// Who read or changed a customer, when and for what purpose: the newest entries of the
    /// audit log that name them. Whoever may open the record may see its history; the
    /// entries hold actors, actions, purposes and field names, never values.
    pub async fn access_history(
        &self,
        access: &Access,
        id: uuid::Uuid,
    ) -> Result<Vec<AuditEntry>, AppError> {
        access.require_record_access()?;
        let row = self
            .app
            .store
            .get_customer(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.ensure_processable(access, &row).await?;
        let mut newest = std::collections::VecDeque::with_capacity(ACCESS_HISTORY_LEN);
        let mut filter = StoredFilter {
            target: Some(id.to_string()),
            limit: 500,
            ..Default::default()
        };
        loop {
            let page = self.app.store.audit_search(&filter).await?;
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
    pub async fn length(&self) -> Result<i64, AppError> {
        Ok(self.app.store.audit_head().await?.0)
    }
}

impl Audit<'_> {
    /// Chain verification for a staff member who may read the audit log.
    pub async fn verify_for(&self, actor: &Actor) -> Result<VerifyReport, AppError> {
        Steward::require_audit_reader(actor)?;
        self.verify().await
    }
}
