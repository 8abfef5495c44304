//! Data-subject requests, suppression entries and the records kept for recipients, in SQLite.

use super::*;

use crate::records::IndexDigest;
use crate::sql::request_desk;
use crate::{RecipientUpdate, RequestFilter, RequestRow};

fn suppressed(c: &Connection, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
    // One read transaction for the whole list, not one per lookup.
    let tx = c.unchecked_transaction()?;
    let mut stmt = tx.prepare_cached("SELECT 1 FROM suppressions WHERE digest = ?1")?;
    let mut out = Vec::new();
    for d in digests {
        if stmt.exists([d.as_slice()])? {
            out.push(*d);
        }
    }
    Ok(out)
}

#[async_trait]
impl RequestDesk for SqliteStore {
    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        self.read(|c| ready(request_desk::request(c, id)))
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        self.read(|c| ready(request_desk::requests(c, filter)))
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        self.read(|c| suppressed(c, digests))
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        self.read(|c| ready(request_desk::recipient_updates(c, customer)))
    }

    async fn objected(&self, customer: Uuid, purpose: &str) -> Result<bool> {
        self.read(|c| ready(request_desk::objected(c, customer, purpose)))
    }

    async fn objected_among(&self, purpose: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        self.read(|c| ready(request_desk::objected_among(c, purpose, ids)))
    }
}
