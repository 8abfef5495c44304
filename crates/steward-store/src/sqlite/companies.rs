//! Companies and their members, in SQLite.

use super::*;
use crate::sql::companies;
use crate::{CompanyFilter, CompanyRow, Joined};

#[async_trait]
impl Companies for SqliteStore {
    async fn create_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<()> {
        let company = company.clone();
        self.write(move |tx| ready(companies::create(tx, &company, audit)))
            .await
    }

    async fn update_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<bool> {
        let company = company.clone();
        self.write(move |tx| ready(companies::update(tx, &company, audit)))
            .await
    }

    async fn company(&self, id: Uuid) -> Result<Option<CompanyRow>> {
        self.read(|c| ready(companies::get(c, id)))
    }

    async fn companies(&self, filter: &CompanyFilter) -> Result<Vec<CompanyRow>> {
        self.read(|c| ready(companies::list(c, filter)))
    }

    async fn count_companies(&self, filter: &CompanyFilter) -> Result<u64> {
        self.read(|c| ready(companies::count(c, filter)))
    }

    async fn delete_company(&self, id: Uuid, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(companies::delete(tx, id, audit)))
            .await
    }

    async fn add_member(
        &self,
        company: Uuid,
        customer: Uuid,
        at: i64,
        audit: AuditRecord,
    ) -> Result<Joined> {
        self.write(move |tx| ready(companies::add_member(tx, company, customer, at, audit)))
            .await
    }

    async fn remove_member(
        &self,
        company: Uuid,
        customer: Uuid,
        audit: AuditRecord,
    ) -> Result<bool> {
        self.write(move |tx| ready(companies::remove_member(tx, company, customer, audit)))
            .await
    }

    async fn company_of(&self, customer: Uuid) -> Result<Option<Uuid>> {
        self.read(|c| ready(companies::company_of(c, customer)))
    }
}
