//! Companies and their members, in PostgreSQL.

use super::*;
use crate::sql::companies;
use crate::{CompanyFilter, CompanyRow, Joined};

#[async_trait]
impl Companies for PostgresStore {
    async fn create_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        companies::create(&tx, company, audit).await?;
        tx.commit().await
    }

    async fn update_company(&self, company: &CompanyRow, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = companies::update(&tx, company, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn company(&self, id: Uuid) -> Result<Option<CompanyRow>> {
        companies::get(&self.pool.get().await?, id).await
    }

    async fn companies(&self, filter: &CompanyFilter) -> Result<Vec<CompanyRow>> {
        companies::list(&self.pool.get().await?, filter).await
    }

    async fn count_companies(&self, filter: &CompanyFilter) -> Result<u64> {
        companies::count(&self.pool.get().await?, filter).await
    }

    async fn delete_company(&self, id: Uuid, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let deleted = companies::delete(&tx, id, audit).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn add_member(
        &self,
        company: Uuid,
        customer: Uuid,
        at: i64,
        audit: AuditRecord,
    ) -> Result<Joined> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let joined = companies::add_member(&tx, company, customer, at, audit).await?;
        tx.commit().await?;
        Ok(joined)
    }

    async fn remove_member(
        &self,
        company: Uuid,
        customer: Uuid,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let removed = companies::remove_member(&tx, company, customer, audit).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn company_of(&self, customer: Uuid) -> Result<Option<Uuid>> {
        companies::company_of(&self.pool.get().await?, customer).await
    }
}
