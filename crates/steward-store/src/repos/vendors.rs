//! The vendor register: vendors and their reviews.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{Result, VendorReviewRow, VendorRow};

#[async_trait]
pub trait Vendors: Send + Sync {
    /// Adds a vendor; its id must be new.
    async fn create_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<()>;
    /// Replaces a vendor whose kept version is the one before `vendor.version`; false, with
    /// nothing audited, when another change came first or there is no such vendor.
    async fn update_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<bool>;
    async fn vendor(&self, id: Uuid) -> Result<Option<VendorRow>>;
    /// Every vendor, oldest first.
    async fn vendors(&self) -> Result<Vec<VendorRow>>;
    /// Appends a review of a vendor that exists.
    async fn add_vendor_review(&self, review: &VendorReviewRow, audit: AuditRecord) -> Result<()>;
    /// The reviews of one vendor, or of all, in the order they were recorded.
    async fn vendor_reviews(&self, vendor: Option<Uuid>) -> Result<Vec<VendorReviewRow>>;
}
