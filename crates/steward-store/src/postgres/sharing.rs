//! The vendor register and data-sharing agreements, in PostgreSQL.

use super::*;
use crate::sql::sharing as shared;
use crate::{AgreementRow, VendorReviewRow, VendorRow};

#[async_trait]
impl Vendors for PostgresStore {
    async fn create_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::create_vendor(&tx, vendor, audit).await?;
        tx.commit().await
    }

    async fn update_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = shared::update_vendor(&tx, vendor, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn vendor(&self, id: Uuid) -> Result<Option<VendorRow>> {
        shared::vendor(&self.pool.get().await?, id).await
    }

    async fn vendors(&self) -> Result<Vec<VendorRow>> {
        shared::vendors(&self.pool.get().await?).await
    }

    async fn add_vendor_review(&self, review: &VendorReviewRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::add_review(&tx, review, audit).await?;
        tx.commit().await
    }

    async fn vendor_reviews(&self, vendor: Option<Uuid>) -> Result<Vec<VendorReviewRow>> {
        shared::reviews(&self.pool.get().await?, vendor).await
    }
}

#[async_trait]
impl Agreements for PostgresStore {
    async fn create_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::create_agreement(&tx, agreement, audit).await?;
        tx.commit().await
    }

    async fn update_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = shared::update_agreement(&tx, agreement, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn agreement(&self, id: Uuid) -> Result<Option<AgreementRow>> {
        shared::agreement(&self.pool.get().await?, id).await
    }

    async fn agreements(&self, vendor: Option<Uuid>) -> Result<Vec<AgreementRow>> {
        shared::agreements(&self.pool.get().await?, vendor).await
    }
}
