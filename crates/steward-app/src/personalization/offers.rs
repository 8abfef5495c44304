//! The offer book: the catalog's offers, copied into the database at open, and those
//! marketers add or retire, read back through a short cache, since every recommendation
//! ranks them all. Offers hold no personal data.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use steward_core::personalization::catalog::check_offer;
use steward_core::personalization::{Eligibility, Offer};
use steward_store::{ChangeSet, OfferRow, ProfileChange};

use super::at;
use crate::campaigns::segments::may_manage_campaigns;
use crate::services::Personalization;
use crate::{Actor, AppError, Steward};

/// An offer with where it came from and whether it is still shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferView {
    /// The offer as `POST /offers` takes it. Described as an open object: `Offer` refuses
    /// unknown fields as input, which would make this view's own fields look unexpected.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub offer: Offer,
    /// `catalog` or `api`.
    pub origin: String,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub retired_at: Option<Timestamp>,
}

fn offer_of(o: &OfferRow) -> Result<Offer, AppError> {
    let eligibility: Eligibility = serde_json::from_str(&o.eligibility)
        .map_err(|_| AppError::corrupt(format!("offer {}", o.key)))?;
    Ok(Offer {
        key: o.key.clone(),
        title: o.title.clone(),
        category: o.category.clone(),
        tags: o.tags.clone(),
        priority: o.priority,
        eligibility,
    })
}

fn view(o: &OfferRow) -> Result<OfferView, AppError> {
    Ok(OfferView {
        offer: offer_of(o)?,
        origin: o.origin.clone(),
        created_by: o.created_by.clone(),
        created_at: at(o.created_at)?,
        retired_at: o.retired_at.map(at).transpose()?,
    })
}

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

    /// This process changed the book: the next read goes to the database.
    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
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
            .map(|o| offer_of(&o))
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(self.offers.keep(book))
    }

    async fn save_offer(
        &self,
        actor: &Actor,
        action: &str,
        row: OfferRow,
    ) -> Result<OfferView, AppError> {
        let audit = self.record(
            actor,
            action,
            None,
            vec![format!("offer:{}", row.key)],
            vec![],
            None,
        );
        let shown = view(&row)?;
        self.store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::SaveOffer(row)],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        self.offers.forget();
        Ok(shown)
    }
}

impl Personalization<'_> {
    /// Every offer, retired ones included, by key.
    pub async fn offers(&self, actor: &Actor) -> Result<Vec<OfferView>, AppError> {
        may_manage_campaigns(actor)?;
        self.app.store.offers().await?.iter().map(view).collect()
    }

    /// Adds an offer, shown from now on to the customers it suits.
    pub async fn create_offer(&self, actor: &Actor, offer: Offer) -> Result<OfferView, AppError> {
        may_manage_campaigns(actor)?;
        if self
            .app
            .store
            .offers()
            .await?
            .iter()
            .any(|o| o.key == offer.key)
        {
            return Err(AppError::Duplicate {
                field: "key".into(),
            });
        }
        check_offer(self.app.catalog.personalization(), &offer)
            .map_err(|f| AppError::invalid(f.field, f.reason))?;
        let row = OfferRow {
            key: offer.key,
            title: offer.title,
            category: offer.category,
            tags: offer.tags,
            eligibility: serde_json::to_string(&offer.eligibility).map_err(AppError::Encode)?,
            priority: offer.priority,
            origin: "api".into(),
            created_by: actor.id.clone(),
            created_at: self.app.clock.now().as_microsecond(),
            retired_at: None,
        };
        self.app.save_offer(actor, "offer.create", row).await
    }

    /// Stops showing an offer; it stays listed, retired.
    pub async fn retire_offer(&self, actor: &Actor, key: &str) -> Result<OfferView, AppError> {
        may_manage_campaigns(actor)?;
        let mut row = self
            .app
            .store
            .offers()
            .await?
            .into_iter()
            .find(|o| o.key == key)
            .ok_or(AppError::NotFound)?;
        if row.retired_at.is_none() {
            row.retired_at = Some(self.app.clock.now().as_microsecond());
        }
        self.app.save_offer(actor, "offer.retire", row).await
    }
}
