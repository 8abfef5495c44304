//! Data-sharing agreements: made and changed by the privacy officer, each checked against the
//! catalog and against its vendor and that vendor's sub-processors as they stand.

use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_core::sharing::{Agreement, AgreementInput, Vendor};
use steward_core::transfers::utc_day;
use steward_store::AgreementRow;
use uuid::Uuid;

use super::register::{agreement_of, sub_processors_of};
use super::{AgreementView, encoded, invalid, require_keeper, require_reader};
use crate::infra::merge_patch::merged;
use crate::services::Agreements;
use crate::{Access, Actor, AppError, Steward};

/// What the audit log says of an agreement: what it covers and where data goes under it.
fn summary(agreement: &Agreement) -> String {
    let destinations: Vec<String> = agreement
        .destinations
        .iter()
        .map(|d| match d.via {
            Some(via) => format!("{} via {via}", d.country),
            None => d.country.to_string(),
        })
        .collect();
    format!(
        "purposes {}; categories {}; destinations {}",
        agreement.purposes.join(", "),
        agreement.categories.join(", "),
        if destinations.is_empty() {
            "none".into()
        } else {
            destinations.join(", ")
        }
    )
}

fn view(row: &AgreementRow, agreement: Agreement, now: Timestamp) -> AgreementView {
    AgreementView {
        live: agreement.is_live(utc_day(now)),
        agreement,
        version: row.version,
        created_at: from_micros(row.created_at),
        updated_at: from_micros(row.updated_at),
    }
}

impl Steward {
    /// Checks an agreement against its vendor and the vendor's sub-processors as they stand.
    async fn checked_agreement(
        &self,
        id: Uuid,
        input: &AgreementInput,
        now: Timestamp,
    ) -> Result<Agreement, AppError> {
        let all: Vec<Vendor> = self.register().await?.into_iter().map(|(_, v)| v).collect();
        let vendor = all
            .iter()
            .find(|v| v.id == input.vendor)
            .ok_or_else(|| AppError::invalid("vendor", "is not a vendor of the register"))?;
        let sub_processors = sub_processors_of(vendor.id, &all);
        Agreement::parse(id, input, &self.catalog, vendor, &sub_processors, now).map_err(invalid)
    }
}

impl Agreements<'_> {
    pub async fn create(
        &self,
        access: &Access,
        input: AgreementInput,
    ) -> Result<AgreementView, AppError> {
        require_keeper(access)?;
        let now = self.app.clock.now();
        let agreement = self
            .app
            .checked_agreement(Uuid::now_v7(), &input, now)
            .await?;
        let at = now.as_microsecond();
        let row = AgreementRow {
            id: agreement.id,
            vendor_id: agreement.vendor,
            agreement: encoded(&agreement)?,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let mut audit = self.app.access_record(
            access,
            "agreement.create",
            vec![agreement.id.to_string(), agreement.vendor.to_string()],
            vec![],
        );
        audit.detail = Some(summary(&agreement));
        self.app.store.create_agreement(&row, audit).await?;
        Ok(view(&row, agreement, now))
    }

    /// Applies `patch` (a JSON merge patch of the agreement as written) to the agreement at
    /// `if_version`, or at whatever version is kept when none is given. The result is checked
    /// as a new agreement would be; it stays with the vendor it was made with. A patch that
    /// changes nothing writes nothing.
    pub async fn update(
        &self,
        access: &Access,
        id: Uuid,
        patch: &serde_json::Value,
        if_version: Option<i64>,
    ) -> Result<AgreementView, AppError> {
        require_keeper(access)?;
        let kept = self
            .app
            .store
            .agreement(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if if_version.is_some_and(|v| v != kept.version) {
            return Err(AppError::StaleVersion);
        }
        let current = agreement_of(&kept)?;
        let now = self.app.clock.now();
        let (input, changed) = merged(&current.input(), patch)?;
        if changed.is_empty() {
            return Ok(view(&kept, current, now));
        }
        if input.vendor != kept.vendor_id {
            return Err(AppError::invalid(
                "vendor",
                "an agreement stays with the vendor it was made with: make a new one",
            ));
        }
        let agreement = self.app.checked_agreement(id, &input, now).await?;
        let row = AgreementRow {
            agreement: encoded(&agreement)?,
            version: kept.version + 1,
            updated_at: now.as_microsecond(),
            ..kept
        };
        let mut audit = self.app.access_record(
            access,
            "agreement.update",
            vec![id.to_string(), agreement.vendor.to_string()],
            vec![],
        );
        audit.detail = Some(format!(
            "{}; changed {}",
            summary(&agreement),
            changed.join(", ")
        ));
        if !self.app.store.update_agreement(&row, audit).await? {
            return Err(AppError::StaleVersion);
        }
        Ok(view(&row, agreement, now))
    }

    /// The agreements with one vendor, or with all, oldest first.
    pub async fn list(
        &self,
        actor: &Actor,
        vendor: Option<Uuid>,
    ) -> Result<Vec<AgreementView>, AppError> {
        require_reader(actor)?;
        let now = self.app.clock.now();
        self.app
            .store
            .agreements(vendor)
            .await?
            .iter()
            .map(|row| Ok(view(row, agreement_of(row)?, now)))
            .collect()
    }

    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<AgreementView, AppError> {
        require_reader(actor)?;
        let row = self
            .app
            .store
            .agreement(id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(view(&row, agreement_of(&row)?, self.app.clock.now()))
    }
}
