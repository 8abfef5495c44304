//! The vendor register and data-sharing agreements.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args};
use crate::{AgreementRow, Result, VendorReviewRow, VendorRow};

static INSERT_VENDOR: Sql = Sql::new(
    "INSERT INTO vendors (id, parent_id, vendor, version, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
);
static UPDATE_VENDOR: Sql = Sql::new(
    "UPDATE vendors SET parent_id = ?2, vendor = ?3, version = ?4, updated_at = ?5
     WHERE id = ?1 AND version = ?6",
);
static VENDOR: Sql = Sql::new(
    "SELECT id, parent_id, vendor, version, created_at, updated_at FROM vendors WHERE id = ?1",
);
static VENDORS: Sql = Sql::new(
    "SELECT id, parent_id, vendor, version, created_at, updated_at FROM vendors
     ORDER BY created_at, id",
);
static INSERT_REVIEW: Sql = Sql::new(
    "INSERT INTO vendor_reviews (id, vendor_id, review, recorded_at) VALUES (?1, ?2, ?3, ?4)",
);
static REVIEWS_OF: Sql = Sql::new(
    "SELECT id, vendor_id, review, recorded_at FROM vendor_reviews WHERE vendor_id = ?1
     ORDER BY recorded_at, id",
);
static REVIEWS: Sql = Sql::new(
    "SELECT id, vendor_id, review, recorded_at FROM vendor_reviews ORDER BY recorded_at, id",
);
static INSERT_AGREEMENT: Sql = Sql::new(
    "INSERT INTO agreements (id, vendor_id, agreement, version, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
);
static UPDATE_AGREEMENT: Sql = Sql::new(
    "UPDATE agreements SET agreement = ?2, version = ?3, updated_at = ?4
     WHERE id = ?1 AND version = ?5",
);
static AGREEMENT: Sql = Sql::new(
    "SELECT id, vendor_id, agreement, version, created_at, updated_at FROM agreements
     WHERE id = ?1",
);
static AGREEMENTS_WITH: Sql = Sql::new(
    "SELECT id, vendor_id, agreement, version, created_at, updated_at FROM agreements
     WHERE vendor_id = ?1 ORDER BY created_at, id",
);
static AGREEMENTS: Sql = Sql::new(
    "SELECT id, vendor_id, agreement, version, created_at, updated_at FROM agreements
     ORDER BY created_at, id",
);

fn vendor_from(r: &dyn Row) -> Result<VendorRow> {
    Ok(VendorRow {
        id: r.id(0)?,
        parent_id: r.opt_id(1)?,
        vendor: r.text(2)?,
        version: r.int(3)?,
        created_at: r.int(4)?,
        updated_at: r.int(5)?,
    })
}

fn review_from(r: &dyn Row) -> Result<VendorReviewRow> {
    Ok(VendorReviewRow {
        id: r.id(0)?,
        vendor_id: r.id(1)?,
        review: r.text(2)?,
        recorded_at: r.int(3)?,
    })
}

fn agreement_from(r: &dyn Row) -> Result<AgreementRow> {
    Ok(AgreementRow {
        id: r.id(0)?,
        vendor_id: r.id(1)?,
        agreement: r.text(2)?,
        version: r.int(3)?,
        created_at: r.int(4)?,
        updated_at: r.int(5)?,
    })
}

pub(crate) async fn create_vendor(
    x: &impl WriteTx,
    v: &VendorRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![
        v.id,
        v.parent_id,
        &v.vendor,
        v.version,
        v.created_at,
        v.updated_at
    ];
    x.execute(&INSERT_VENDOR, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces a vendor at the version before the row's; false, with nothing audited, when the
/// kept version is another.
pub(crate) async fn update_vendor(
    x: &impl WriteTx,
    v: &VendorRow,
    audit: AuditRecord,
) -> Result<bool> {
    let args = args![
        v.id,
        v.parent_id,
        &v.vendor,
        v.version,
        v.updated_at,
        v.version.saturating_sub(1)
    ];
    if x.execute(&UPDATE_VENDOR, &args).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn vendor(x: &impl Exec, id: Uuid) -> Result<Option<VendorRow>> {
    x.query_opt(&VENDOR, &args![id], vendor_from).await
}

pub(crate) async fn vendors(x: &impl Exec) -> Result<Vec<VendorRow>> {
    x.query(&VENDORS, &[], vendor_from).await
}

pub(crate) async fn add_review(
    x: &impl WriteTx,
    r: &VendorReviewRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![r.id, r.vendor_id, &r.review, r.recorded_at];
    x.execute(&INSERT_REVIEW, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn reviews(x: &impl Exec, vendor: Option<Uuid>) -> Result<Vec<VendorReviewRow>> {
    match vendor {
        Some(id) => x.query(&REVIEWS_OF, &args![id], review_from).await,
        None => x.query(&REVIEWS, &[], review_from).await,
    }
}

pub(crate) async fn create_agreement(
    x: &impl WriteTx,
    a: &AgreementRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![
        a.id,
        a.vendor_id,
        &a.agreement,
        a.version,
        a.created_at,
        a.updated_at
    ];
    x.execute(&INSERT_AGREEMENT, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces an agreement at the version before the row's; false, with nothing audited, when
/// the kept version is another. An agreement stays with the vendor it was made with.
pub(crate) async fn update_agreement(
    x: &impl WriteTx,
    a: &AgreementRow,
    audit: AuditRecord,
) -> Result<bool> {
    let args = args![
        a.id,
        &a.agreement,
        a.version,
        a.updated_at,
        a.version.saturating_sub(1)
    ];
    if x.execute(&UPDATE_AGREEMENT, &args).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn agreement(x: &impl Exec, id: Uuid) -> Result<Option<AgreementRow>> {
    x.query_opt(&AGREEMENT, &args![id], agreement_from).await
}

pub(crate) async fn agreements(x: &impl Exec, vendor: Option<Uuid>) -> Result<Vec<AgreementRow>> {
    match vendor {
        Some(id) => x.query(&AGREEMENTS_WITH, &args![id], agreement_from).await,
        None => x.query(&AGREEMENTS, &[], agreement_from).await,
    }
}
