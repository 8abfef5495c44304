//! Companies, their tags and the customers that belong to them.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{CompanyFilter, CompanyRow, Joined, Result};

#[async_trait]
pub trait Companies: Send + Sync {
    /// Adds a company; its domain must be new among companies (`Duplicate` on `domain`).
    async fn create_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<()>;
    /// Replaces a company and its tags if its kept version is the one before
    /// `company.version`; false, with nothing audited, when another change came first or
    /// there is no such company.
    async fn update_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<bool>;
    async fn company(&self, id: Uuid) -> Result<Option<CompanyRow>>;
    /// One page of the companies the filter selects, in its order.
    async fn companies(&self, filter: &CompanyFilter) -> Result<Vec<CompanyRow>>;
    /// How many companies the filter selects, whatever the page.
    async fn count_companies(&self, filter: &CompanyFilter) -> Result<u64>;
    /// Deletes a company, its tags and its memberships, never its customers; false when
    /// there is no such company.
    async fn delete_company(&self, id: Uuid, audit: AuditRecord) -> Result<bool>;
    /// Makes a customer a member of a company (`NotFound` when either is not there); audited
    /// only when added.
    async fn add_member(
        &self,
        company: Uuid,
        customer: Uuid,
        at: i64,
        audit: AuditRecord,
    ) -> Result<Joined>;
    /// Ends a customer's membership of a company; false, with nothing audited, when they
    /// were not a member.
    async fn remove_member(
        &self,
        company: Uuid,
        customer: Uuid,
        audit: AuditRecord,
    ) -> Result<bool>;
    /// The company a customer belongs to, if any.
    async fn company_of(&self, customer: Uuid) -> Result<Option<Uuid>>;
}
