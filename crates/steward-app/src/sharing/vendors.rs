//! The vendor register: vendors written and changed by the privacy officer, their reviews
//! appended one by one, and what of them needs attention.

use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_core::sharing::{Attention, Review, ReviewInput, Vendor, VendorInput, VendorStatus};
use steward_store::{VendorReviewRow, VendorRow};
use uuid::Uuid;

use super::register::{review_of, reviews_by_vendor, sub_processors_of, vendor_of};
use super::{
    ReviewView, VendorAttention, VendorView, encoded, invalid, require_keeper, require_reader,
};
use crate::infra::merge_patch::merged;
use crate::services::Vendors;
use crate::{Access, Actor, AppError, Steward};

/// A sub-processor's processor is a processor (or sub-processor) of the register, and not one
/// engaged under the vendor itself; a vendor others are engaged under stays a processor.
fn check_relations(vendor: &Vendor, all: &[Vendor]) -> Result<(), AppError> {
    if !vendor.role.needs_dpa() && all.iter().any(|v| v.parent == Some(vendor.id)) {
        return Err(AppError::invalid(
            "role",
            "sub-processors are engaged under this vendor: give them another processor first",
        ));
    }
    let Some(parent) = vendor.parent else {
        return Ok(());
    };
    match all.iter().find(|v| v.id == parent) {
        None => Err(AppError::invalid(
            "parent",
            "is not a vendor of the register",
        )),
        Some(p) if !p.role.needs_dpa() => Err(AppError::invalid(
            "parent",
            "is not a processor: only a processor engages sub-processors",
        )),
        Some(_)
            if sub_processors_of(vendor.id, all)
                .iter()
                .any(|s| s.id == parent) =>
        {
            Err(AppError::invalid(
                "parent",
                "is engaged under this vendor, which cannot be its own processor",
            ))
        }
        Some(_) => Ok(()),
    }
}

/// What the audit log says of a vendor: its standing, never its contact details.
fn summary(vendor: &Vendor) -> String {
    format!(
        "{} {}, risk tier {}",
        vendor.status,
        vendor.role,
        vendor.risk_tier.get()
    )
}

impl Steward {
    fn vendor_view(
        &self,
        row: &VendorRow,
        vendor: Vendor,
        last: Option<&Review>,
        now: Timestamp,
    ) -> VendorView {
        let intervals = &self.sharing.review_intervals;
        VendorView {
            next_review_due: last.map(|r| r.next_due(vendor.risk_tier, intervals)),
            attention: Attention::of(&vendor, last, intervals, now),
            vendor,
            version: row.version,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
        }
    }

    /// Every vendor with its latest review, in the register's order.
    pub(crate) async fn vendor_views(&self) -> Result<Vec<VendorView>, AppError> {
        let now = self.clock.now();
        let reviews = reviews_by_vendor(&self.store.vendor_reviews(None).await?)?;
        Ok(self
            .register()
            .await?
            .into_iter()
            .map(|(row, vendor)| {
                let last = reviews.get(&row.id).and_then(|r| Review::latest(r));
                self.vendor_view(&row, vendor, last, now)
            })
            .collect())
    }

    async fn vendor_view_of(&self, id: Uuid) -> Result<VendorView, AppError> {
        let row = self.store.vendor(id).await?.ok_or(AppError::NotFound)?;
        let reviews = reviews_by_vendor(&self.store.vendor_reviews(Some(id)).await?)?;
        let last = reviews.get(&id).and_then(|r| Review::latest(r));
        Ok(self.vendor_view(&row, vendor_of(&row)?, last, self.clock.now()))
    }
}

impl Vendors<'_> {
    pub async fn create(
        &self,
        access: &Access,
        input: VendorInput,
    ) -> Result<VendorView, AppError> {
        require_keeper(access)?;
        let now = self.app.clock.now();
        let vendor = Vendor::parse(Uuid::now_v7(), &input, now).map_err(invalid)?;
        let all: Vec<Vendor> = self
            .app
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        check_relations(&vendor, &all)?;
        let at = now.as_microsecond();
        let row = VendorRow {
            id: vendor.id,
            parent_id: vendor.parent,
            vendor: encoded(&vendor.input())?,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let mut audit =
            self.app
                .access_record(access, "vendor.create", vec![vendor.id.to_string()], vec![]);
        audit.detail = Some(summary(&vendor));
        self.app.store.create_vendor(&row, audit).await?;
        Ok(self.app.vendor_view(&row, vendor, None, now))
    }

    /// Applies `patch` (a JSON merge patch of the vendor as written) to the vendor at
    /// `if_version`, or at whatever version is kept when none is given. A patch that changes
    /// nothing writes nothing.
    pub async fn update(
        &self,
        access: &Access,
        id: Uuid,
        patch: &serde_json::Value,
        if_version: Option<i64>,
    ) -> Result<VendorView, AppError> {
        require_keeper(access)?;
        let kept = self.app.store.vendor(id).await?.ok_or(AppError::NotFound)?;
        if if_version.is_some_and(|v| v != kept.version) {
            return Err(AppError::StaleVersion);
        }
        let (input, changed) = merged(&vendor_of(&kept)?.input(), patch)?;
        if changed.is_empty() {
            return self.app.vendor_view_of(id).await;
        }
        let now = self.app.clock.now();
        let vendor = Vendor::parse(id, &input, now).map_err(invalid)?;
        let all: Vec<Vendor> = self
            .app
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        check_relations(&vendor, &all)?;
        let row = VendorRow {
            parent_id: vendor.parent,
            vendor: encoded(&vendor.input())?,
            version: kept.version + 1,
            updated_at: now.as_microsecond(),
            ..kept
        };
        let mut audit =
            self.app
                .access_record(access, "vendor.update", vec![id.to_string()], vec![]);
        audit.detail = Some(format!(
            "{}; changed {}",
            summary(&vendor),
            changed.join(", ")
        ));
        if !self.app.store.update_vendor(&row, audit).await? {
            return Err(AppError::StaleVersion);
        }
        self.app.vendor_view_of(id).await
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<VendorView>, AppError> {
        require_reader(actor)?;
        self.app.vendor_views().await
    }

    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<VendorView, AppError> {
        require_reader(actor)?;
        self.app.vendor_view_of(id).await
    }

    /// Records a review of a vendor; earlier reviews stay as they were, and the latest sets
    /// when the next is due.
    pub async fn review(
        &self,
        access: &Access,
        id: Uuid,
        input: ReviewInput,
    ) -> Result<ReviewView, AppError> {
        require_keeper(access)?;
        self.app.store.vendor(id).await?.ok_or(AppError::NotFound)?;
        let now = self.app.clock.now();
        let review = Review::parse(&input, now).map_err(invalid)?;
        let row = VendorReviewRow {
            id: Uuid::now_v7(),
            vendor_id: id,
            review: encoded(&input)?,
            recorded_at: now.as_microsecond(),
        };
        let mut audit = self.app.access_record(
            access,
            "vendor.review",
            vec![id.to_string(), row.id.to_string()],
            vec![],
        );
        audit.detail = Some(format!(
            "reviewed on {}: {}",
            review.reviewed_on, review.outcome
        ));
        self.app.store.add_vendor_review(&row, audit).await?;
        Ok(ReviewView {
            id: row.id,
            vendor_id: id,
            review,
            recorded_at: now,
        })
    }

    /// A vendor's reviews, in the order they were recorded.
    pub async fn reviews(&self, actor: &Actor, id: Uuid) -> Result<Vec<ReviewView>, AppError> {
        require_reader(actor)?;
        self.app.store.vendor(id).await?.ok_or(AppError::NotFound)?;
        self.app
            .store
            .vendor_reviews(Some(id))
            .await?
            .iter()
            .map(|row| {
                Ok(ReviewView {
                    id: row.id,
                    vendor_id: row.vendor_id,
                    review: review_of(row)?,
                    recorded_at: from_micros(row.recorded_at),
                })
            })
            .collect()
    }

    /// The vendors still engaged (not offboarded) that need the privacy officer, for the
    /// dashboard: reviews overdue or never made, processing contracts missing, ended or
    /// incomplete, certifications ending within 30 days or ended.
    pub async fn attention(&self, actor: &Actor) -> Result<Vec<VendorAttention>, AppError> {
        require_reader(actor)?;
        Ok(self
            .app
            .vendor_views()
            .await?
            .into_iter()
            .filter(|v| {
                v.vendor.status != VendorStatus::Offboarded && VendorAttention::needed(&v.attention)
            })
            .map(|v| VendorAttention {
                vendor_id: v.vendor.id,
                legal_name: v.vendor.legal_name,
                status: v.vendor.status,
                attention: v.attention,
            })
            .collect())
    }
}
