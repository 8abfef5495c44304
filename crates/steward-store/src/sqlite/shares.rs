//! Shares with vendors and the disclosures they made, in SQLite.

use super::*;
use crate::sql::shares as shared;
use crate::{DisclosureRow, ShareRow, WebhookRow};

#[async_trait]
impl Shares for SqliteStore {
    async fn disclosed_to(&self, vendor: Uuid, before: i64) -> Result<Vec<Uuid>> {
        self.read(|c| ready(crate::sql::breach_scope::disclosed_to(c, vendor, before)))
    }

    async fn record_share(
        &self,
        share: &ShareRow,
        disclosures: Vec<DisclosureRow>,
        deliveries: Vec<WebhookRow>,
        audit: Vec<AuditRecord>,
    ) -> Result<()> {
        let share = share.clone();
        self.write(move |tx| {
            ready(shared::record_share(
                tx,
                &share,
                &disclosures,
                &deliveries,
                audit,
            ))
        })
        .await
    }

    async fn share(&self, id: Uuid) -> Result<Option<ShareRow>> {
        self.read(|c| ready(shared::share(c, id)))
    }

    async fn shares(&self, limit: usize) -> Result<Vec<ShareRow>> {
        self.read(|c| ready(shared::shares(c, limit)))
    }

    async fn share_disclosures(
        &self,
        share: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<DisclosureRow>> {
        self.read(|c| ready(shared::share_disclosures(c, share, after, limit)))
    }

    async fn share_disclosures_between(
        &self,
        share: Uuid,
        first: Uuid,
        last: Uuid,
    ) -> Result<Vec<DisclosureRow>> {
        self.read(|c| ready(shared::share_disclosures_between(c, share, first, last)))
    }

    async fn disclosures_of(&self, customer: Uuid) -> Result<Vec<DisclosureRow>> {
        self.read(|c| ready(shared::disclosures_of(c, customer)))
    }

    async fn objecting(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        self.read(|c| ready(shared::objecting(c, purpose, customers)))
    }
}
