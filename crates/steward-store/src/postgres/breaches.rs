//! The breach register, in PostgreSQL.

use super::*;
use crate::sql::breaches as shared;
use crate::{BreachNoticeRow, BreachPhaseRow, BreachRow, ChangeSet};

#[async_trait]
impl Breaches for PostgresStore {
    async fn create_breach(&self, breach: &BreachRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::create(&tx, breach, audit).await?;
        tx.commit().await
    }

    async fn update_breach(
        &self,
        breach: &BreachRow,
        affected: Option<&[Uuid]>,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = shared::update(&tx, breach, affected, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn breach(&self, id: Uuid) -> Result<Option<BreachRow>> {
        shared::breach(&self.pool.get().await?, id).await
    }

    async fn breaches(&self) -> Result<Vec<BreachRow>> {
        shared::breaches(&self.pool.get().await?).await
    }

    async fn add_breach_phase(&self, phase: &BreachPhaseRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::add_phase(&tx, phase, audit).await?;
        tx.commit().await
    }

    async fn breach_phases(&self, breach: Uuid) -> Result<Vec<BreachPhaseRow>> {
        shared::phases(&self.pool.get().await?, breach).await
    }

    async fn breach_affected(&self, breach: Uuid) -> Result<Vec<Uuid>> {
        shared::affected(&self.pool.get().await?, breach).await
    }

    async fn breach_counts(&self, breach: Uuid) -> Result<(u64, u64)> {
        shared::counts(&self.pool.get().await?, breach).await
    }

    async fn breach_alerts_sent(&self, breach: Uuid) -> Result<Vec<String>> {
        shared::alerts_sent(&self.pool.get().await?, breach).await
    }

    async fn breach_alert(
        &self,
        breach: Uuid,
        milestone: &str,
        at: i64,
        with: ChangeSet,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let sent = shared::alert(&tx, breach, milestone, at, with).await?;
        tx.commit().await?;
        Ok(sent)
    }

    async fn queue_breach_notices(
        &self,
        notices: &[BreachNoticeRow],
        with: ChangeSet,
    ) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let queued = shared::queue_notices(&tx, notices, with).await?;
        tx.commit().await?;
        Ok(queued)
    }

    async fn breach_notices(
        &self,
        breach: Option<Uuid>,
        customer: Option<Uuid>,
    ) -> Result<Vec<BreachNoticeRow>> {
        shared::notices(&self.pool.get().await?, breach, customer).await
    }
}
