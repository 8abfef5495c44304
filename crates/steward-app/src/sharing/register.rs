//! The register as read: kept rows checked back into vendors, reviews and agreements, and one
//! vendor's file (its sub-processors at any depth, its latest review, its agreements) as the
//! checks of where data may go need it.

use std::collections::HashMap;

use steward_core::clock::from_micros;
use steward_core::sharing::{Agreement, Review, ReviewInput, Vendor, VendorFile, VendorInput};
use steward_store::{AgreementRow, VendorReviewRow, VendorRow};
use uuid::Uuid;

use crate::{AppError, Steward};

/// A kept vendor, checked as of when it was written.
pub(crate) fn vendor_of(row: &VendorRow) -> Result<Vendor, AppError> {
    let unreadable = || AppError::Integrity(format!("vendor {}", row.id));
    let input: VendorInput = serde_json::from_str(&row.vendor).map_err(|_| unreadable())?;
    Vendor::parse(row.id, &input, from_micros(row.updated_at))
        .map_err(|e| AppError::Integrity(format!("vendor {}: {e}", row.id)))
}

pub(crate) fn review_of(row: &VendorReviewRow) -> Result<Review, AppError> {
    let unreadable = || AppError::Integrity(format!("review {}", row.id));
    let input: ReviewInput = serde_json::from_str(&row.review).map_err(|_| unreadable())?;
    Review::parse(&input, from_micros(row.recorded_at))
        .map_err(|e| AppError::Integrity(format!("review {}: {e}", row.id)))
}

/// A kept agreement, as it was checked; one that names another id or vendor than its row was
/// moved, and is not trusted.
pub(crate) fn agreement_of(row: &AgreementRow) -> Result<Agreement, AppError> {
    serde_json::from_str::<Agreement>(&row.agreement)
        .ok()
        .filter(|a| a.id == row.id && a.vendor == row.vendor_id)
        .ok_or_else(|| AppError::Integrity(format!("agreement {}", row.id)))
}

/// The vendors engaged under `processor`, by it or by its sub-processors, each once, in the
/// register's order.
pub(crate) fn sub_processors_of(processor: Uuid, all: &[Vendor]) -> Vec<Vendor> {
    let mut reached = vec![processor];
    let mut found: Vec<&Vendor> = Vec::new();
    while let Some(parent) = reached.pop() {
        for v in all.iter().filter(|v| v.parent == Some(parent)) {
            if v.id != processor && !found.iter().any(|f| f.id == v.id) {
                found.push(v);
                reached.push(v.id);
            }
        }
    }
    all.iter()
        .filter(|v| found.iter().any(|f| f.id == v.id))
        .cloned()
        .collect()
}

/// Each vendor's reviews, in the order they were recorded.
pub(crate) fn reviews_by_vendor(
    rows: &[VendorReviewRow],
) -> Result<HashMap<Uuid, Vec<Review>>, AppError> {
    let mut by_vendor: HashMap<Uuid, Vec<Review>> = HashMap::new();
    for row in rows {
        by_vendor
            .entry(row.vendor_id)
            .or_default()
            .push(review_of(row)?);
    }
    Ok(by_vendor)
}

/// What the register holds about one vendor, owned, for a check to borrow.
pub(crate) struct Dossier {
    vendor: Vendor,
    sub_processors: Vec<Vendor>,
    last_review: Option<Review>,
    agreements: Vec<Agreement>,
}

impl Dossier {
    pub(crate) fn file(&self) -> VendorFile<'_> {
        VendorFile {
            vendor: &self.vendor,
            sub_processors: &self.sub_processors,
            last_review: self.last_review.as_ref(),
            agreements: &self.agreements,
        }
    }
}

impl Steward {
    /// Every vendor of the register, kept and checked.
    pub(crate) async fn register(&self) -> Result<Vec<(VendorRow, Vendor)>, AppError> {
        self.store
            .vendors()
            .await?
            .into_iter()
            .map(|row| vendor_of(&row).map(|v| (row, v)))
            .collect()
    }

    /// The file of one vendor; `None` when the register has no such vendor.
    pub(crate) async fn dossier(&self, id: Uuid) -> Result<Option<Dossier>, AppError> {
        let all: Vec<Vendor> = self.register().await?.into_iter().map(|(_, v)| v).collect();
        let Some(vendor) = all.iter().find(|v| v.id == id).cloned() else {
            return Ok(None);
        };
        let reviews = reviews_by_vendor(&self.store.vendor_reviews(Some(id)).await?)?;
        let last_review = reviews.get(&id).and_then(|r| Review::latest(r)).cloned();
        let agreements = self
            .store
            .agreements(Some(id))
            .await?
            .iter()
            .map(agreement_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Dossier {
            sub_processors: sub_processors_of(id, &all),
            vendor,
            last_review,
            agreements,
        }))
    }
}
