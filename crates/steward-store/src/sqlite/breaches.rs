//! The breach register, in SQLite.

use super::*;
use crate::sql::breaches as shared;
use crate::{BreachNoticeRow, BreachPhaseRow, BreachRow, ChangeSet};

#[async_trait]
impl Breaches for SqliteStore {
    async fn create_breach(&self, breach: &BreachRow, audit: AuditRecord) -> Result<()> {
        let breach = breach.clone();
        self.write(move |tx| ready(shared::create(tx, &breach, audit)))
            .await
    }

    async fn update_breach(
        &self,
        breach: &BreachRow,
        affected: Option<&[Uuid]>,
        audit: AuditRecord,
    ) -> Result<bool> {
        let breach = breach.clone();
        let affected = affected.map(<[Uuid]>::to_vec);
        self.write(move |tx| ready(shared::update(tx, &breach, affected.as_deref(), audit)))
            .await
    }

    async fn breach(&self, id: Uuid) -> Result<Option<BreachRow>> {
        self.read(|c| ready(shared::breach(c, id)))
    }

    async fn breaches(&self) -> Result<Vec<BreachRow>> {
        self.read(|c| ready(shared::breaches(c)))
    }

    async fn add_breach_phase(&self, phase: &BreachPhaseRow, audit: AuditRecord) -> Result<()> {
        let phase = phase.clone();
        self.write(move |tx| ready(shared::add_phase(tx, &phase, audit)))
            .await
    }

    async fn breach_phases(&self, breach: Uuid) -> Result<Vec<BreachPhaseRow>> {
        self.read(|c| ready(shared::phases(c, breach)))
    }

    async fn breach_affected(&self, breach: Uuid) -> Result<Vec<Uuid>> {
        self.read(|c| ready(shared::affected(c, breach)))
    }

    async fn breach_counts(&self, breach: Uuid) -> Result<(u64, u64)> {
        self.read(|c| ready(shared::counts(c, breach)))
    }

    async fn breach_alerts_sent(&self, breach: Uuid) -> Result<Vec<String>> {
        self.read(|c| ready(shared::alerts_sent(c, breach)))
    }

    async fn breach_alert(
        &self,
        breach: Uuid,
        milestone: &str,
        at: i64,
        with: ChangeSet,
    ) -> Result<bool> {
        let milestone = milestone.to_owned();
        self.write(move |tx| ready(shared::alert(tx, breach, &milestone, at, with)))
            .await
    }

    async fn queue_breach_notices(
        &self,
        notices: &[BreachNoticeRow],
        with: ChangeSet,
    ) -> Result<usize> {
        let notices = notices.to_vec();
        self.write(move |tx| ready(shared::queue_notices(tx, &notices, with)))
            .await
    }

    async fn breach_notices(
        &self,
        breach: Option<Uuid>,
        customer: Option<Uuid>,
    ) -> Result<Vec<BreachNoticeRow>> {
        self.read(|c| ready(shared::notices(c, breach, customer)))
    }
}
