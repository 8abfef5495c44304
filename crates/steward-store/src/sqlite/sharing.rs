//! The vendor register and data-sharing agreements, in SQLite.

use super::*;
use crate::sql::sharing as shared;
use crate::{AgreementRow, VendorReviewRow, VendorRow};

#[async_trait]
impl Vendors for SqliteStore {
    async fn create_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<()> {
        let vendor = vendor.clone();
        self.write(move |tx| ready(shared::create_vendor(tx, &vendor, audit)))
            .await
    }

    async fn update_vendor(&self, vendor: &VendorRow, audit: AuditRecord) -> Result<bool> {
        let vendor = vendor.clone();
        self.write(move |tx| ready(shared::update_vendor(tx, &vendor, audit)))
            .await
    }

    async fn vendor(&self, id: Uuid) -> Result<Option<VendorRow>> {
        self.read(|c| ready(shared::vendor(c, id)))
    }

    async fn vendors(&self) -> Result<Vec<VendorRow>> {
        self.read(|c| ready(shared::vendors(c)))
    }

    async fn add_vendor_review(&self, review: &VendorReviewRow, audit: AuditRecord) -> Result<()> {
        let review = review.clone();
        self.write(move |tx| ready(shared::add_review(tx, &review, audit)))
            .await
    }

    async fn vendor_reviews(&self, vendor: Option<Uuid>) -> Result<Vec<VendorReviewRow>> {
        self.read(|c| ready(shared::reviews(c, vendor)))
    }
}

#[async_trait]
impl Agreements for SqliteStore {
    async fn create_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<()> {
        let agreement = agreement.clone();
        self.write(move |tx| ready(shared::create_agreement(tx, &agreement, audit)))
            .await
    }

    async fn update_agreement(&self, agreement: &AgreementRow, audit: AuditRecord) -> Result<bool> {
        let agreement = agreement.clone();
        self.write(move |tx| ready(shared::update_agreement(tx, &agreement, audit)))
            .await
    }

    async fn agreement(&self, id: Uuid) -> Result<Option<AgreementRow>> {
        self.read(|c| ready(shared::agreement(c, id)))
    }

    async fn agreements(&self, vendor: Option<Uuid>) -> Result<Vec<AgreementRow>> {
        self.read(|c| ready(shared::agreements(c, vendor)))
    }
}
