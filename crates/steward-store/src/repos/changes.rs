//! A set of changes applied in one transaction with its audit entries, and the erasure of a customer.

use async_trait::async_trait;
use steward_core::audit::AuditEntry;

use crate::{ChangeSet, Erasure, Result};

#[async_trait]
pub trait Changes: Send + Sync {
    /// Applies a set of changes and their audit entries in one transaction: all or nothing.
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>>;
    /// Erases a customer's rows and index entries, leaves a tombstone, suppresses their
    /// address, keeps only a pseudonym in their requests and applies what goes with the
    /// erasure, in one transaction. Returns false when there was no such customer.
    async fn erase_customer(&self, erasure: Erasure) -> Result<bool>;
}
