//! The vendor register, agreements and the transfer check (I6, first part): the privacy
//! officer keeps them and the auditor reads them, bad input is answered naming the field,
//! reviews fall due on the clock, and where a vendor's data may go follows the adequacy table
//! and the agreements. Keeping and reading the register, and a transfer that ends with its
//! adequacy finding, run on SQLite and on PostgreSQL; the scenarios about the rules alone run on
//! SQLite.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::json;
use steward_app::core::sharing::{
    AgreementInput, DestinationInput, MechanismInput, Refusal, RefusalCode, ReviewIntervals,
    ReviewOutcome, ReviewState, SharingRules, VendorRole, VendorStatus,
};
use steward_app::core::transfers::{
    DEFAULT_ADEQUACY, Regime, Tia, TiaOutcome, TransferBasis, TransferRules,
};
use steward_app::core::{FixedClock, Role};
use steward_app::{AppError, ShareInput, Steward, VendorView};

use crate::support::*;
use crate::vendor_fixtures::*;

const LEGAL: &str = "essential.legal_obligation";

/// Moves the clock to noon (UTC) of `date`.
fn advance_to(clock: &FixedClock, date: Date) {
    let noon = date
        .at(12, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .expect("a time")
        .timestamp();
    let now = steward_app::core::Clock::now(clock);
    clock.advance(noon.duration_since(now));
}

fn tia() -> Tia {
    Tia {
        assessed_on: day(2026, 1, 5),
        outcome: TiaOutcome::Proceed,
        supplementary_measures: vec![],
        re_evaluate_by: day(2027, 1, 5),
    }
}

/// Email marketing with contact details, the clauses of `module` for `country`.
fn agreement(vendor: uuid::Uuid, country: &str, module: u8) -> AgreementInput {
    AgreementInput {
        vendor,
        purposes: strings(&["marketing.communications.email"]),
        categories: strings(&["user.contact"]),
        destinations: vec![DestinationInput {
            country: country.into(),
            via: None,
            mechanism: MechanismInput::Scc {
                module,
                uk_addendum: false,
                tia: Some(tia()),
            },
        }],
        valid_from: day(2026, 1, 1),
        valid_until: None,
        onward_transfer: false,
    }
}

fn refusal(result: Result<steward_app::TransferCheck, AppError>) -> Refusal {
    match result {
        Err(AppError::Refused(r)) => r,
        other => panic!("not refused: {other:?}"),
    }
}

/// The field errors of an invalid input, each field once.
fn fields(result: Result<impl std::fmt::Debug, AppError>) -> Vec<String> {
    match result {
        Err(AppError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("not answered as invalid: {other:?}"),
    }
}

/// The register's audit entries: action and targets, oldest first.
async fn register_entries(app: &Steward) -> Vec<(String, Vec<String>)> {
    app.audit()
        .entries(&actor(app, Role::Auditor), 0, 500)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| {
            e.record.action.starts_with("vendor.") || e.record.action.starts_with("agreement.")
        })
        .map(|e| (e.record.action, e.record.targets))
        .collect()
}

#[tokio::test]
async fn the_privacy_officer_keeps_the_register_and_the_auditor_reads_it_sqlite() {
    keeps_and_reads(false).await;
}

#[tokio::test]
async fn the_privacy_officer_keeps_the_register_and_the_auditor_reads_it_postgres() {
    keeps_and_reads(true).await;
}

async fn keeps_and_reads(pg: bool) {
    let (_kept, app, _clock) = steward(pg).await;
    let dpo = dpo(&app);
    let vendor = app
        .vendors()
        .create(&dpo, processor("DE"))
        .await
        .expect("the privacy officer adds a vendor");
    assert_eq!(vendor.version, 1);
    assert_eq!(vendor.attention.review, ReviewState::NeverReviewed);

    // Support and marketing neither change nor read the register; the auditor reads it but
    // cannot act under the purpose it is kept for.
    for access in [
        agent(&app),
        access(&app, Role::Marketer, "marketing.communications.email"),
    ] {
        assert!(matches!(
            app.vendors().create(&access, processor("DE")).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.agreements()
                .create(&access, agreement(vendor.vendor.id, "IN", 2))
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
    for role in [Role::Agent, Role::Marketer, Role::Admin] {
        let who = actor(&app, role);
        assert!(matches!(
            app.vendors().list(&who).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            app.transfers().check(&who, vendor.vendor.id, "DE").await,
            Err(AppError::Forbidden(_))
        ));
    }
    assert!(matches!(
        app.access(&actor(&app, Role::Auditor), Some(LEGAL)),
        Err(AppError::PurposeNotAllowed { .. })
    ));
    let auditor = actor(&app, Role::Auditor);
    assert_eq!(
        app.vendors().list(&auditor).await.expect("read"),
        vec![vendor.clone()]
    );
    assert_eq!(
        app.vendors()
            .get(&auditor, vendor.vendor.id)
            .await
            .expect("one"),
        vendor
    );

    // A change is made from the version read, once.
    let id = vendor.vendor.id;
    let changed = app
        .vendors()
        .update(&dpo, id, &json!({"status": "suspended"}), Some(1))
        .await
        .expect("suspended");
    assert_eq!(
        (changed.version, changed.vendor.status),
        (2, VendorStatus::Suspended)
    );
    assert!(matches!(
        app.vendors()
            .update(&dpo, id, &json!({"status": "active"}), Some(1))
            .await,
        Err(AppError::StaleVersion)
    ));

    // Reviews are added beside the earlier ones, never over them.
    let first = app
        .vendors()
        .review(&dpo, id, review(day(2026, 1, 10)))
        .await
        .expect("review");
    let mut later = review(day(2026, 1, 14));
    later.outcome = ReviewOutcome::ApprovedWithConditions;
    later.conditions = Some("encrypt the archive".into());
    let second = app
        .vendors()
        .review(&dpo, id, later)
        .await
        .expect("second review");
    let reviews = [first.id.to_string(), second.id.to_string()];
    assert_eq!(
        app.vendors().reviews(&auditor, id).await.expect("reviews"),
        vec![first, second]
    );
    let reviewed = app.vendors().get(&auditor, id).await.expect("reviewed");
    assert_eq!(reviewed.next_review_due, Some(day(2026, 7, 14)));

    // Agreements belong to their vendor.
    let other = app
        .vendors()
        .create(&dpo, processor("FR"))
        .await
        .expect("another vendor");
    let with_first = app
        .agreements()
        .create(&dpo, agreement(id, "IN", 2))
        .await
        .expect("agreement");
    assert!(with_first.live);
    let with_other = app
        .agreements()
        .create(&dpo, agreement(other.vendor.id, "IN", 2))
        .await
        .expect("agreement with the other");
    let ended = app
        .agreements()
        .update(
            &dpo,
            with_first.agreement.id,
            &json!({"valid_until": "2026-01-14"}),
            Some(1),
        )
        .await
        .expect("ended");
    assert!(!ended.live);
    assert_eq!(ended.version, 2);
    assert_eq!(
        fields(
            app.agreements()
                .update(
                    &dpo,
                    with_first.agreement.id,
                    &json!({"vendor": other.vendor.id}),
                    None
                )
                .await
        ),
        ["vendor"]
    );
    assert_eq!(
        app.agreements()
            .list(&auditor, Some(id))
            .await
            .expect("of the first"),
        vec![ended.clone()]
    );
    assert_eq!(
        app.agreements().list(&auditor, None).await.expect("all"),
        vec![ended, with_other.clone()]
    );

    // One audit entry for every change, naming what it changed; none for what was refused.
    let (v, o) = (id.to_string(), other.vendor.id.to_string());
    let (a, b) = (
        with_first.agreement.id.to_string(),
        with_other.agreement.id.to_string(),
    );
    let entry = |action: &str, targets: &[&String]| {
        (
            action.to_string(),
            targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        register_entries(&app).await,
        vec![
            entry("vendor.create", &[&v]),
            entry("vendor.update", &[&v]),
            entry("vendor.review", &[&v, &reviews[0]]),
            entry("vendor.review", &[&v, &reviews[1]]),
            entry("vendor.create", &[&o]),
            entry("agreement.create", &[&a, &v]),
            entry("agreement.create", &[&b, &o]),
            entry("agreement.update", &[&a, &v]),
        ]
    );
}

#[tokio::test]
async fn bad_input_is_answered_naming_the_field_and_nothing_is_kept() {
    let (_kept, app, _clock) = steward(false).await;
    let dpo = dpo(&app);
    let mut unknown_country = processor("DE");
    unknown_country.stores_in.push("XX".into());
    assert_eq!(
        fields(app.vendors().create(&dpo, unknown_country).await),
        ["stores_in[1]"]
    );
    let mut orphan = processor("DE");
    orphan.role = VendorRole::SubProcessor;
    orphan.sub_processor_authorisation = None;
    orphan.parent = Some(uuid::Uuid::now_v7());
    assert_eq!(fields(app.vendors().create(&dpo, orphan).await), ["parent"]);
    let vendor = app
        .vendors()
        .create(&dpo, processor("DE"))
        .await
        .expect("vendor")
        .vendor
        .id;
    for (patch, field) in [
        (json!({"colour": "red"}), "colour"),
        (json!({"risk_tier": "high"}), "risk_tier"),
        (json!({"established_in": ["ZZ"]}), "established_in[0]"),
        (json!({"legal_name": null}), "legal_name"),
    ] {
        assert_eq!(
            fields(app.vendors().update(&dpo, vendor, &patch, None).await),
            [field],
            "{patch}"
        );
    }

    let mut purpose = agreement(vendor, "IN", 2);
    purpose.purposes = strings(&["astrology"]);
    let mut category = agreement(vendor, "IN", 2);
    category.categories = strings(&["user.contact", "user.horoscope"]);
    let module = agreement(vendor, "IN", 1);
    let mut ends = agreement(vendor, "IN", 2);
    ends.valid_until = Some(day(2025, 12, 31));
    let mut country = agreement(vendor, "IN", 2);
    country.destinations[0].country = "Narnia".into();
    let stranger = agreement(uuid::Uuid::now_v7(), "IN", 2);
    for (input, field) in [
        (purpose, "purposes[0]"),
        (category, "categories[1]"),
        (module, "destinations[0].mechanism.module"),
        (ends, "valid_until"),
        (country, "destinations[0].country"),
        (stranger, "vendor"),
    ] {
        assert_eq!(fields(app.agreements().create(&dpo, input).await), [field]);
    }
    assert_eq!(
        fields(
            app.transfers()
                .check(&actor(&app, Role::Auditor), vendor, "Atlantis")
                .await
        ),
        ["residency"]
    );
    assert_eq!(
        fields(
            app.transfers()
                .check(&actor(&app, Role::Auditor), uuid::Uuid::now_v7(), "DE")
                .await
        ),
        ["vendor_id"]
    );
    let mut late = review(day(2026, 2, 1));
    late.answers.remove("contract_kept");
    assert_eq!(
        fields(app.vendors().review(&dpo, vendor, late).await),
        ["reviewed_on"]
    );
    assert_eq!(
        register_entries(&app).await.len(),
        1,
        "only the one vendor written was kept"
    );
    assert!(
        app.agreements()
            .list(&actor(&app, Role::Auditor), None)
            .await
            .expect("none")
            .is_empty()
    );
}

#[tokio::test]
async fn a_vendor_a_day_past_its_review_is_overdue() {
    let (_kept, app, clock) = steward(false).await;
    let dpo = dpo(&app);
    let auditor = actor(&app, Role::Auditor);
    let id = app
        .vendors()
        .create(&dpo, processor("DE"))
        .await
        .expect("vendor")
        .vendor
        .id;
    let never = app.vendors().attention(&auditor).await.expect("attention");
    assert_eq!(never.len(), 1, "a vendor never reviewed needs a review");
    app.vendors()
        .review(&dpo, id, review(day(2026, 1, 10)))
        .await
        .expect("review");
    let due = app
        .vendors()
        .get(&auditor, id)
        .await
        .expect("read")
        .next_review_due
        .expect("due");
    assert_eq!(due, day(2026, 7, 10), "six months for risk tier 4");
    assert!(
        app.vendors()
            .attention(&auditor)
            .await
            .expect("attention")
            .is_empty()
    );
    advance_to(&clock, due);
    assert!(
        app.vendors()
            .attention(&auditor)
            .await
            .expect("on the day")
            .is_empty(),
        "a review is on time through its due day"
    );
    advance_to(&clock, day(2026, 7, 11));
    let overdue = app.vendors().attention(&auditor).await.expect("overdue");
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].vendor_id, id);
    assert_eq!(
        overdue[0].attention.review,
        ReviewState::Overdue { since: due }
    );
    let view: VendorView = app.vendors().get(&auditor, id).await.expect("read");
    assert!(view.attention.review.is_overdue());
}

#[tokio::test]
async fn uk_transfers_end_with_the_uk_decision_sqlite() {
    uk_transfers_end_with_the_uk_decision(false).await;
}

#[tokio::test]
async fn uk_transfers_end_with_the_uk_decision_postgres() {
    uk_transfers_end_with_the_uk_decision(true).await;
}

async fn uk_transfers_end_with_the_uk_decision(pg: bool) {
    let (_kept, app, clock) = steward(pg).await;
    let auditor = actor(&app, Role::Auditor);
    let id = app
        .vendors()
        .create(&dpo(&app), processor("GB"))
        .await
        .expect("a British processor")
        .vendor
        .id;
    let on_adequacy = app
        .agreements()
        .create(
            &dpo(&app),
            AgreementInput {
                vendor: id,
                purposes: strings(&["marketing.communications.email"]),
                categories: strings(&["user.contact"]),
                destinations: vec![DestinationInput {
                    country: "GB".into(),
                    via: None,
                    mechanism: MechanismInput::Adequacy,
                }],
                valid_from: day(2026, 1, 1),
                valid_until: None,
                onward_transfer: false,
            },
        )
        .await
        .expect("an agreement resting on the UK's finding")
        .agreement
        .id;
    let affected = || async {
        app.transfers()
            .affected_agreements(&auditor)
            .await
            .expect("the affected agreements")
    };
    assert!(
        affected().await.is_empty(),
        "years before its end the finding is no concern"
    );
    let table = app.transfers().adequacy(&auditor).expect("the table");
    let uk = table
        .decisions
        .iter()
        .find(|d| d.decision.regime == Regime::Gdpr && d.decision.country.as_str() == "GB")
        .expect("the UK's finding");
    assert_eq!(uk.decision.valid_until, Some(day(2031, 12, 27)));
    assert!(uk.in_force);
    assert!(table.version.contains("default adequacy table"));

    advance_to(&clock, day(2031, 12, 27));
    let ending = affected().await;
    assert_eq!(ending.len(), 1, "{ending:?}");
    assert_eq!(ending[0].lapse.agreement, on_adequacy);
    assert_eq!(ending[0].vendor_id, id);
    assert_eq!(ending[0].lapse.regime, Regime::Gdpr);
    assert_eq!(Some(ending[0].lapse.valid_until), uk.decision.valid_until);
    assert!(!ending[0].lapse.ended, "in force through its last day");
    let allowed = app
        .transfers()
        .check(&auditor, id, "DE")
        .await
        .expect("allowed through the last day");
    assert_eq!(allowed.transfers.regime, Regime::Gdpr);
    assert!(matches!(
        &allowed.transfers.destinations[0].basis,
        TransferBasis::Adequacy { reference } if reference.contains("2021/1772")
    ));
    advance_to(&clock, day(2031, 12, 28));
    let refused = refusal(app.transfers().check(&auditor, id, "DE").await);
    assert_eq!(refused.code(), RefusalCode::NoTransferMechanism);
    assert_eq!(refused.country().map(|c| c.to_string()), Some("GB".into()));
    let ended = affected().await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].lapse.agreement, on_adequacy);
    assert!(ended[0].lapse.ended, "listed as ended the day after");
    app.vendors()
        .review(&dpo(&app), id, review(day(2031, 12, 28)))
        .await
        .expect("reviewed again, so only the transfer stands in the way");
    let customer = app
        .customers()
        .create(&agent(&app), input("k.8f2q@example.de", "Jörg"))
        .await
        .expect("a German customer")
        .id;
    let share = app
        .shares()
        .share(
            &dpo(&app),
            ShareInput {
                vendor_id: id,
                purpose: "marketing.communications.email".into(),
                fields: strings(&["email"]),
                customer_ids: Some(vec![customer]),
                segment_id: None,
                audience: None,
                delivery: Default::default(),
            },
        )
        .await;
    match share {
        Err(AppError::Refused(r)) => {
            assert_eq!(r.code(), RefusalCode::NoTransferMechanism);
            assert_eq!(r.country().map(|c| c.to_string()), Some("GB".into()));
        }
        other => panic!("a share to the UK was not refused: {other:?}"),
    }
    let at_home = app
        .transfers()
        .check(&auditor, id, "GB")
        .await
        .expect("UK residents' data stays in the UK");
    assert_eq!(
        at_home.transfers.destinations[0].basis,
        TransferBasis::Domestic
    );
    assert!(
        !app.transfers()
            .adequacy(&auditor)
            .expect("the table")
            .decisions
            .iter()
            .any(|d| d.decision.country.as_str() == "GB"
                && d.decision.regime == Regime::Gdpr
                && d.in_force)
    );
}

#[tokio::test]
async fn where_a_us_processor_reaches_is_judged_by_its_certification_and_its_clauses() {
    let (_kept, app, _clock) = steward(false).await;
    let dpo = dpo(&app);
    let auditor = actor(&app, Role::Auditor);
    let id = app
        .vendors()
        .create(&dpo, processor("US"))
        .await
        .expect("a US processor")
        .vendor
        .id;
    let uncertified = refusal(app.transfers().check(&auditor, id, "DE").await);
    assert_eq!(
        uncertified.code(),
        RefusalCode::DpfInactive,
        "the US finding covers only organisations certified under the Framework"
    );
    app.vendors()
        .update(
            &dpo,
            id,
            &json!({"dpf": {"status": "active", "checked_on": "2026-01-12"}}),
            None,
        )
        .await
        .expect("certified");
    app.transfers()
        .check(&auditor, id, "DE")
        .await
        .expect("certified, the US finding carries the data");
    app.vendors()
        .update(&dpo, id, &json!({"accesses_from": ["IN"]}), None)
        .await
        .expect("support from India");
    let india = refusal(app.transfers().check(&auditor, id, "DE").await);
    assert_eq!(india.code(), RefusalCode::NoTransferMechanism);
    assert_eq!(india.country().map(|c| c.to_string()), Some("IN".into()));

    app.agreements()
        .create(&dpo, agreement(id, "IN", 2))
        .await
        .expect("clauses for India");
    let allowed = app
        .transfers()
        .check(&auditor, id, "DE")
        .await
        .expect("allowed");
    let bases: Vec<(String, &TransferBasis)> = allowed
        .transfers
        .destinations
        .iter()
        .map(|d| (d.country.to_string(), &d.basis))
        .collect();
    assert_eq!(bases.len(), 2);
    assert_eq!(bases[0].0, "IN");
    assert!(matches!(bases[0].1, TransferBasis::Scc { .. }));
    assert!(matches!(bases[1].1, TransferBasis::Adequacy { .. }));

    // The vendor turns out to decide for itself: the module 2 clauses it signed no longer fit,
    // and the agreement is judged as it was agreed, not made to look as if it never existed.
    app.vendors()
        .update(
            &dpo,
            id,
            &json!({"role": "controller", "sub_processor_authorisation": null}),
            None,
        )
        .await
        .expect("a controller now");
    let mismatch = refusal(app.transfers().check(&auditor, id, "DE").await);
    assert_eq!(mismatch.code(), RefusalCode::SccModuleMismatch);
    assert_eq!(
        app.agreements()
            .list(&auditor, Some(id))
            .await
            .expect("still listed")
            .len(),
        1
    );
}

#[tokio::test]
async fn the_operator_can_end_a_finding_in_configuration() {
    let ended = "version = \"operator 1\"\n\n[[decision]]\nregime = \"gdpr\"\ncountry = \"GB\"\nreference = \"Commission Implementing Decision (EU) 2021/1772\"\nadopted = \"2021-06-28\"\nvalid_until = \"2026-01-01\"\nscope = \"United Kingdom\"\ncondition = \"unconditional\"\n";
    let dir = Home::new().await;
    let app = Steward::open(steward_app::OpenOptions {
        sharing: SharingRules {
            transfers: TransferRules::from_sources(&[
                ("default adequacy table", DEFAULT_ADEQUACY),
                ("operator", ended),
            ])
            .expect("rules"),
            review_intervals: ReviewIntervals::default(),
            notify_recipients_within: jiff::ToSpan::days(30),
        },
        ..dir.options(clock())
    })
    .await
    .expect("open");
    let auditor = actor(&app, Role::Auditor);
    let id = app
        .vendors()
        .create(&dpo(&app), processor("GB"))
        .await
        .expect("vendor")
        .vendor
        .id;
    let refused = refusal(app.transfers().check(&auditor, id, "DE").await);
    assert_eq!(refused.code(), RefusalCode::NoTransferMechanism);
    assert!(
        app.transfers()
            .adequacy(&auditor)
            .expect("table")
            .version
            .contains("operator 1")
    );
}
