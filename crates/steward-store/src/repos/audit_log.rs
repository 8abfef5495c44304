//! The tamper-evident audit log: its hash chain, signed head and searches.

use async_trait::async_trait;
use steward_core::audit::{AuditEntry, AuditRecord, ChainLink, Hash, SignedHead};

use crate::{AuditFilter, AuditWindow, Result, WindowEntry};

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends audit entries outside any other change (reads, exports).
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>>;
    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// Entries after `after_seq` as links in the chain, for a verification's walk.
    async fn audit_links(&self, after_seq: i64, limit: usize) -> Result<Vec<ChainLink>>;
    async fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Up to `limit` entries of a window after `after` (the `(at, seq)` of the last one
    /// read), in `(at, seq)` order.
    async fn audit_window(
        &self,
        window: &AuditWindow,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<WindowEntry>>;
    /// Lists the record ids named by up to `max` audit entries that the list of audit
    /// targets does not reach yet; returns how many entries that was.
    async fn index_audit_targets(&self, max: usize) -> Result<usize>;
    /// The last entry in the log: its sequence number and hash.
    async fn audit_head(&self) -> Result<(i64, Hash)>;
    /// The head as the last commit that appended entries signed it; `None` when there is
    /// no head or it is unsigned.
    async fn signed_head(&self) -> Result<Option<SignedHead>>;
    /// Signs the head as it stands. Only for an installation that kept no signed heads yet:
    /// every commit that appends entries signs its own.
    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>>;
}
