//! Data-sharing agreements with vendors.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{AgreementRow, Result};

#[async_trait]
pub trait Agreements: Send + Sync {
    /// Adds an agreement with a vendor that exists; its id must be new.
    async fn create_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<()>;
    /// Replaces an agreement whose kept version is the one before `agreement.version`; false,
    /// with nothing audited, when another change came first or there is no such agreement.
    async fn update_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<bool>;
    async fn agreement(&self, id: Uuid) -> Result<Option<AgreementRow>>;
    /// The agreements with one vendor, or with all, oldest first.
    async fn agreements(&self, vendor: Option<Uuid>) -> Result<Vec<AgreementRow>>;
}
