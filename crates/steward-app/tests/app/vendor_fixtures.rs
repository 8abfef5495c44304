//! What the vendor-register and share tests share: a Steward on either engine, dates, and a
//! processor in good order with its review.

use std::sync::Arc;

use jiff::civil::Date;
use steward_app::Steward;
use steward_app::core::FixedClock;
use steward_app::core::sharing::{
    Answer, Certification, CertificationScheme, Dpa, DpaChecklist, ReviewInput, ReviewOutcome,
    ReviewQuestion, SubProcessorAuthorisation, VendorInput, VendorRole, VendorStatus,
};
use steward_store::testing::{TestDatabase, fresh_postgres};

use crate::support::*;

/// What keeps a test's Steward: its data directory and, on PostgreSQL, its database.
pub(crate) struct Kept(
    pub(crate) tempfile::TempDir,
    pub(crate) Option<TestDatabase>,
);

/// A Steward on SQLite or, with `pg`, on a PostgreSQL database of its own, with its clock.
pub(crate) async fn steward(pg: bool) -> (Kept, Steward, Arc<FixedClock>) {
    steward_with(pg, Default::default()).await
}

/// The same, sending webhooks as `webhooks` says.
pub(crate) async fn steward_with(
    pg: bool,
    webhooks: steward_app::WebhookSettings,
) -> (Kept, Steward, Arc<FixedClock>) {
    opened(pg, |o| steward_app::OpenOptions { webhooks, ..o }).await
}

/// The same, its catalog the default one with `extra` added.
pub(crate) async fn steward_with_catalog(pg: bool, extra: &str) -> (Kept, Steward) {
    let catalog = catalog_with(extra);
    let (kept, app, _) = opened(pg, |o| steward_app::OpenOptions { catalog, ..o }).await;
    (kept, app)
}

/// The default catalog with `extra` added.
pub(crate) fn catalog_with(extra: &str) -> steward_app::core::Catalog {
    steward_app::core::Catalog::from_sources(&[
        ("default", steward_app::core::catalog::DEFAULT_CATALOG),
        ("extra", extra),
    ])
    .expect("catalog")
}

/// A Steward on a fresh SQLite file or PostgreSQL database, its options adjusted.
pub(crate) async fn opened(
    pg: bool,
    adjust: impl FnOnce(steward_app::OpenOptions) -> steward_app::OpenOptions,
) -> (Kept, Steward, Arc<FixedClock>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let clock = clock();
    let app = Steward::open(adjust(steward_app::OpenOptions {
        database_url: db.as_ref().map(|d| d.url.clone()),
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        ..options(dir.path(), clock.clone())
    }))
    .await
    .expect("open steward");
    (Kept(dir, db), app, clock)
}

pub(crate) fn day(y: i16, m: i8, d: i8) -> Date {
    Date::constant(y, m, d)
}

pub(crate) fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn complete() -> DpaChecklist {
    DpaChecklist {
        instructions: true,
        confidentiality: true,
        security: true,
        sub_processor_conditions: true,
        help_with_requests: true,
        help_with_arts_32_to_36: true,
        deletion_or_return: true,
        audits: true,
    }
}

/// A processor in good order on the test's first day (15 January 2026), established and
/// keeping data in `country`.
pub(crate) fn processor(country: &str) -> VendorInput {
    VendorInput {
        legal_name: "Postwerk Mail Ltd".into(),
        address: "1 Market Street".into(),
        contact_person: "Dana Whitfield".into(),
        role: VendorRole::Processor,
        parent: None,
        established_in: strings(&[country]),
        stores_in: strings(&[country]),
        accesses_from: vec![],
        dpa: Some(Dpa {
            signed_on: day(2025, 6, 1),
            version: "3.0".into(),
            sha256: "0f".repeat(32),
            expires_on: None,
            checklist: complete(),
        }),
        sub_processor_authorisation: Some(SubProcessorAuthorisation::General { notice_days: 30 }),
        certifications: vec![Certification {
            scheme: CertificationScheme::IsoIec27001,
            name: None,
            scope: "mail delivery".into(),
            expires_on: day(2033, 1, 1),
        }],
        dpf: None,
        adequacy_scope_confirmed: vec![],
        risk_tier: 4,
        status: VendorStatus::Active,
    }
}

pub(crate) fn review(on: Date) -> ReviewInput {
    ReviewInput {
        reviewed_on: on,
        reviewer: "A. Privacy Officer".into(),
        answers: ReviewQuestion::ALL
            .iter()
            .map(|q| (q.as_str().to_string(), Answer::Yes))
            .collect(),
        outcome: ReviewOutcome::Approved,
        conditions: None,
    }
}
