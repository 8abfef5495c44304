//! The offer book: the catalog's offers, copied into the database at open and read back
//! (with any added since) through a short cache, since every recommendation ranks them all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use steward_core::personalization::{Eligibility, Offer};
use steward_store::OfferRow;

use crate::{AppError, Steward};

/// How long the offer book is kept before it is read again: an offer retired elsewhere
/// stops being shown within this long.
const OFFERS_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct OfferCache(Mutex<Option<(Instant, Arc<Vec<Offer>>)>>);

impl OfferCache {
    fn fresh(&self) -> Option<Arc<Vec<Offer>>> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < OFFERS_TTL)
            .map(|(_, book)| book.clone())
    }

    fn keep(&self, book: Vec<Offer>) -> Arc<Vec<Offer>> {
        let book = Arc::new(book);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), book.clone()));
        book
    }
}

impl Steward {
    /// Copies the catalog's offers into the database; an offer kept already stays as it is.
    pub(crate) async fn seed_offers(&self) -> Result<(), AppError> {
        let at = self.clock.now().as_microsecond();
        let rows = self
            .catalog
            .personalization()
            .offers
            .iter()
            .map(|o| {
                Ok(OfferRow {
                    key: o.key.clone(),
                    title: o.title.clone(),
                    category: o.category.clone(),
                    tags: o.tags.clone(),
                    eligibility: serde_json::to_string(&o.eligibility).map_err(AppError::Encode)?,
                    priority: o.priority,
                    origin: "catalog".into(),
                    created_by: "system:catalog".into(),
                    created_at: at,
                    retired_at: None,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(self.store.seed_offers(&rows).await?)
    }

    /// The offers that may be shown now, none retired.
    pub(crate) async fn offer_book(&self) -> Result<Arc<Vec<Offer>>, AppError> {
        if let Some(book) = self.offers.fresh() {
            return Ok(book);
        }
        let book = self
            .store
            .offers()
            .await?
            .into_iter()
            .filter(|o| o.retired_at.is_none())
            .map(|o| {
                let eligibility: Eligibility = serde_json::from_str(&o.eligibility)
                    .map_err(|_| AppError::corrupt(format!("offer {}", o.key)))?;
                Ok(Offer {
                    key: o.key,
                    title: o.title,
                    category: o.category,
                    tags: o.tags,
                    priority: o.priority,
                    eligibility,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(self.offers.keep(book))
    }
}
