//! The one `share` (I6): refused with the first reason's code, and then nothing delivered and
//! nothing disclosed, only the refusal audited; allowed, it delivers exactly the asked fields
//! of exactly the customers with a lawful basis, the others counted by reason, as a signed
//! document kept sealed, with one disclosure per customer that the customer's record lists.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::civil::Date;
use serde_json::json;
use steward_app::core::sharing::{
    AgreementInput, DestinationInput, MechanismInput, RefusalCode, VendorInput,
};
use steward_app::core::transfers::{Tia, TiaOutcome};
use steward_app::core::{FixedClock, Role};
use steward_app::{AppError, ShareInput, Steward};
use uuid::Uuid;

use crate::support::*;
use crate::vendor_fixtures::*;

pub(crate) const EMAIL: &str = "marketing.communications.email";

fn tia(re_evaluate_by: Date) -> Tia {
    Tia {
        assessed_on: day(2025, 1, 5),
        outcome: TiaOutcome::Proceed,
        supplementary_measures: vec![],
        re_evaluate_by,
    }
}

/// Email marketing with names and contact details; `destinations` beside the vendor's own
/// country.
pub(crate) fn agreement(vendor: Uuid, destinations: Vec<DestinationInput>) -> AgreementInput {
    AgreementInput {
        vendor,
        purposes: strings(&[EMAIL]),
        categories: strings(&["user.contact", "user.name"]),
        destinations,
        valid_from: day(2026, 1, 1),
        valid_until: None,
        onward_transfer: false,
    }
}

fn scc(country: &str, module: u8, re_evaluate_by: Date) -> DestinationInput {
    DestinationInput {
        country: country.into(),
        via: None,
        mechanism: MechanismInput::Scc {
            module,
            uk_addendum: false,
            tia: Some(tia(re_evaluate_by)),
        },
    }
}

pub(crate) fn asked(vendor: Uuid, customers: Vec<Uuid>) -> ShareInput {
    ShareInput {
        vendor_id: vendor,
        purpose: EMAIL.into(),
        fields: strings(&["email", "given_name"]),
        customer_ids: Some(customers),
        segment_id: None,
        audience: None,
        delivery: Default::default(),
    }
}

/// A reviewed vendor made from `vendor`, with `agreement` if one is given.
pub(crate) async fn vendor_with(
    app: &Steward,
    vendor: VendorInput,
    agreement_for: impl FnOnce(Uuid) -> Option<AgreementInput>,
) -> Uuid {
    let dpo = dpo(app);
    let id = app
        .vendors()
        .create(&dpo, vendor)
        .await
        .expect("vendor")
        .vendor
        .id;
    app.vendors()
        .review(&dpo, id, review(day(2026, 1, 10)))
        .await
        .expect("review");
    if let Some(a) = agreement_for(id) {
        app.agreements().create(&dpo, a).await.expect("agreement");
    }
    id
}

/// A customer resident in Germany who gave consent to email marketing.
pub(crate) async fn consenting(app: &Steward, email: &str, given: &str) -> Uuid {
    let agent = agent(app);
    let id = app
        .customers()
        .create(&agent, input(email, given))
        .await
        .expect("customer")
        .id;
    give_consent(app, &agent, id, EMAIL).await;
    id
}

/// Ada in Germany who consents to email marketing, Silvester in Germany who never did, and
/// Francine in France who does.
async fn ada_silent_and_french(app: &Steward) -> [Uuid; 3] {
    let ada = consenting(app, "q.ada.9@example.com", "Adalinde").await;
    let silent = app
        .customers()
        .create(&agent(app), input("z.silent@example.com", "Silvester"))
        .await
        .expect("no consent")
        .id;
    let mut french = input("b.fr@example.com", "Francine");
    french.residency = "fr".into();
    let french = app
        .customers()
        .create(&agent(app), french)
        .await
        .expect("French")
        .id;
    give_consent(app, &agent(app), french, EMAIL).await;
    [ada, silent, french]
}

/// Share audit entries: action, targets and detail, oldest first.
pub(crate) async fn share_entries(app: &Steward) -> Vec<(String, Vec<String>, Option<String>)> {
    app.audit()
        .entries(&actor(app, Role::Auditor), 0, 1_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.record.action.starts_with("share."))
        .map(|e| (e.record.action, e.record.targets, e.record.detail))
        .collect()
}

/// Sets up the vendor of one refusal case.
async fn vendor_for(app: &Steward, clock: &FixedClock, code: RefusalCode) -> Uuid {
    let dpo = dpo(app);
    let plain = |id| Some(agreement(id, vec![]));
    match code {
        RefusalCode::NoAgreement => vendor_with(app, processor("DE"), |_| None).await,
        RefusalCode::AgreementExpired => {
            let id = vendor_with(app, processor("DE"), plain).await;
            let a = app
                .agreements()
                .list(dpo.actor(), Some(id))
                .await
                .expect("list");
            app.agreements()
                .update(
                    &dpo,
                    a[0].agreement.id,
                    &json!({"valid_until": "2026-01-14"}),
                    None,
                )
                .await
                .expect("ended");
            id
        }
        RefusalCode::PurposeNotAgreed => {
            vendor_with(app, processor("DE"), |id| {
                Some(AgreementInput {
                    purposes: strings(&["marketing.communications.sms"]),
                    ..agreement(id, vec![])
                })
            })
            .await
        }
        RefusalCode::CategoryNotAgreed => {
            vendor_with(app, processor("DE"), |id| {
                Some(AgreementInput {
                    categories: strings(&["user.contact"]),
                    ..agreement(id, vec![])
                })
            })
            .await
        }
        RefusalCode::NoTransferMechanism => vendor_with(app, processor("IN"), plain).await,
        RefusalCode::TiaStale => {
            let id = vendor_with(app, processor("IN"), |id| {
                Some(agreement(id, vec![scc("IN", 2, day(2026, 3, 1))]))
            })
            .await;
            clock.advance(jiff::SignedDuration::from_hours(24 * 50));
            id
        }
        RefusalCode::SccModuleMismatch => {
            let id = vendor_with(app, processor("IN"), |id| {
                Some(agreement(id, vec![scc("IN", 2, day(2027, 1, 5))]))
            })
            .await;
            // The vendor turns out to decide for itself: the module 2 clauses no longer fit.
            app.vendors()
                .update(
                    &dpo,
                    id,
                    &json!({"role": "controller", "sub_processor_authorisation": null}),
                    None,
                )
                .await
                .expect("a controller now");
            id
        }
        RefusalCode::DpfInactive => vendor_with(app, processor("US"), plain).await,
        RefusalCode::VendorNotActive => {
            let id = vendor_with(app, processor("DE"), plain).await;
            app.vendors()
                .update(&dpo, id, &json!({"status": "suspended"}), None)
                .await
                .expect("suspended");
            id
        }
        RefusalCode::DpaMissing => {
            vendor_with(
                app,
                VendorInput {
                    dpa: None,
                    ..processor("DE")
                },
                plain,
            )
            .await
        }
        RefusalCode::ReviewOverdue => {
            let id = vendor_with(app, processor("DE"), plain).await;
            clock.advance(jiff::SignedDuration::from_hours(24 * 200));
            id
        }
    }
}

const CASES: [(RefusalCode, Option<&str>, Option<&str>); 11] = [
    (RefusalCode::NoAgreement, None, None),
    (RefusalCode::AgreementExpired, None, None),
    (RefusalCode::PurposeNotAgreed, None, None),
    (RefusalCode::CategoryNotAgreed, Some("given_name"), None),
    (RefusalCode::NoTransferMechanism, None, Some("IN")),
    (RefusalCode::TiaStale, None, Some("IN")),
    (RefusalCode::SccModuleMismatch, None, Some("IN")),
    (RefusalCode::DpfInactive, None, Some("US")),
    (RefusalCode::VendorNotActive, None, None),
    (RefusalCode::DpaMissing, None, None),
    (RefusalCode::ReviewOverdue, None, None),
];

#[tokio::test]
async fn every_refusal_is_answered_with_its_code_and_nothing_is_disclosed() {
    for (code, field, country) in CASES {
        let (_kept, app, clock) = steward(false).await;
        let customer = consenting(&app, "ada@example.com", "Ada").await;
        let vendor = vendor_for(&app, &clock, code).await;
        let dpo = dpo(&app);
        let refusal = match app
            .shares()
            .share(&dpo, asked(vendor, vec![customer]))
            .await
        {
            Err(AppError::Refused(r)) => r,
            other => panic!("{code:?}: not refused: {other:?}"),
        };
        assert_eq!(refusal.code(), code);
        assert_eq!(refusal.field(), field, "{code:?}");
        assert_eq!(
            refusal.country().map(|c| c.to_string()).as_deref(),
            country,
            "{code:?}"
        );
        assert!(
            app.shares()
                .disclosures(&dpo, customer)
                .await
                .expect("disclosures")
                .is_empty(),
            "{code:?}: nothing disclosed"
        );
        let entries = share_entries(&app).await;
        assert_eq!(entries.len(), 1, "{code:?}: {entries:?}");
        assert_eq!(entries[0].0, "share.refused");
        assert!(
            entries[0]
                .2
                .as_deref()
                .is_some_and(|d| d.contains(&code.to_string())),
            "{code:?}: the refusal names its code"
        );
    }
}

#[tokio::test]
async fn only_the_privacy_officer_shares() {
    let (_kept, app, _clock) = steward(false).await;
    let customer = consenting(&app, "ada@example.com", "Ada").await;
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    for access in [agent(&app), access(&app, Role::Marketer, EMAIL)] {
        assert!(matches!(
            app.shares()
                .share(&access, asked(vendor, vec![customer]))
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
    assert!(share_entries(&app).await.is_empty());
}

#[tokio::test]
async fn bad_input_is_answered_naming_the_field() {
    let (_kept, app, _clock) = steward(false).await;
    let customer = consenting(&app, "ada@example.com", "Ada").await;
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let dpo = dpo(&app);
    let field = |r: Result<_, AppError>| match r {
        Err(AppError::Invalid(errors)) => errors[0].field.clone(),
        other => panic!("not invalid: {other:?}"),
    };
    let mut unknown = asked(vendor, vec![customer]);
    unknown.fields = strings(&["shoe_size"]);
    assert_eq!(field(app.shares().share(&dpo, unknown).await), "fields");
    let mut unneeded = asked(vendor, vec![customer]);
    unneeded.fields = strings(&["birth_date"]);
    assert_eq!(field(app.shares().share(&dpo, unneeded).await), "fields");
    let mut purpose = asked(vendor, vec![customer]);
    purpose.purpose = "selling.everything".into();
    assert_eq!(field(app.shares().share(&dpo, purpose).await), "purpose");
    assert_eq!(
        field(
            app.shares()
                .share(&dpo, asked(Uuid::now_v7(), vec![customer]))
                .await
        ),
        "vendor_id"
    );
    let mut both = asked(vendor, vec![customer]);
    both.segment_id = Some(Uuid::now_v7());
    assert_eq!(field(app.shares().share(&dpo, both).await), "segment_id");
}

#[tokio::test]
async fn a_covered_share_delivers_the_asked_fields_of_the_lawful_customers_sqlite() {
    covered(false).await;
}

#[tokio::test]
async fn a_covered_share_delivers_the_asked_fields_of_the_lawful_customers_postgres() {
    covered(true).await;
}

async fn covered(pg: bool) {
    let (kept, app, _clock) = steward(pg).await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let grace = consenting(&app, "grace@example.com", "Gracelyn").await;
    let silent = app
        .customers()
        .create(&agent, input("silent@example.com", "Silvester"))
        .await
        .expect("no consent")
        .id;
    let restricted = consenting(&app, "rest@example.com", "Restanza").await;
    app.customers()
        .update(
            &dpo,
            restricted,
            steward_app::CustomerPatch {
                status: Some("restricted".into()),
                ..Default::default()
            },
            1,
        )
        .await
        .expect("restricted");
    let objecting = consenting(&app, "obj@example.com", "Objecta").await;
    app.consent()
        .object_to_direct_marketing(&agent, objecting, &steward_app::Evidence::default())
        .await
        .expect("objected");
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;

    let share = app
        .shares()
        .share(
            &dpo,
            asked(
                vendor,
                vec![ada, grace, silent, restricted, objecting, Uuid::now_v7()],
            ),
        )
        .await
        .expect("shared");
    assert_eq!(share.shared, 2);
    assert_eq!(
        share.excluded,
        [
            ("no_consent", 1),
            ("not_found", 1),
            ("objected", 1),
            ("restricted", 1)
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    );
    assert_eq!(share.delivery, "file");
    assert_eq!(
        app.shares()
            .get(&actor(&app, Role::Auditor), share.id)
            .await
            .expect("get"),
        share
    );

    // The document: a header, then exactly the asked fields of exactly the lawful customers,
    // signed so the vendor can check it.
    let doc = app
        .shares()
        .download(&dpo, share.id)
        .await
        .expect("download");
    let key: [u8; 32] = STANDARD
        .decode(&doc.public_key)
        .expect("base64")
        .try_into()
        .expect("32 bytes");
    let signature = STANDARD.decode(&doc.signature).expect("base64");
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).expect("key");
    key.verify_strict(
        doc.body.as_bytes(),
        &ed25519_dalek::Signature::from_slice(&signature).expect("signature"),
    )
    .expect("the signature verifies");
    let lines: Vec<serde_json::Value> = doc
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["share_id"], json!(share.id));
    assert_eq!(lines[0]["fields"], json!(["email", "given_name"]));
    let mut members: Vec<serde_json::Value> = lines[1..].to_vec();
    members.sort_by_key(|m| m["fields"]["given_name"].as_str().map(String::from));
    assert_eq!(
        members,
        vec![
            json!({"customer_id": ada, "fields": {"email": "ada@example.com", "given_name": "Adalinde"}}),
            json!({"customer_id": grace, "fields": {"email": "grace@example.com", "given_name": "Gracelyn"}}),
        ]
    );

    // Each customer's record lists the disclosure; the others have none.
    let listed = app.shares().disclosures(&dpo, ada).await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].vendor_id, vendor);
    assert_eq!(listed[0].vendor, "Postwerk Mail Ltd");
    assert_eq!(listed[0].purpose, EMAIL);
    assert_eq!(
        listed[0].categories,
        strings(&["user.contact.email", "user.name.first"])
    );
    assert_eq!(listed[0].destinations[0]["country"], json!("DE"));
    for other in [silent, restricted, objecting] {
        assert!(
            app.shares()
                .disclosures(&dpo, other)
                .await
                .expect("none")
                .is_empty()
        );
    }
    let entries = share_entries(&app).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(actions, ["share.read", "share.create", "share.download"]);

    // Kept sealed: neither the share nor its disclosures hold a value in the clear.
    assert_nothing_in_clear(
        kept.0.path(),
        kept.1.as_ref(),
        &[
            "ada@example.com",
            "Adalinde",
            "grace@example.com",
            "Gracelyn",
        ],
    )
    .await;

    // Erased after the share: the document no longer yields that customer's values.
    app.rights().erase(&dpo, grace).await.expect("erased");
    let after = app
        .shares()
        .download(&dpo, share.id)
        .await
        .expect("download");
    assert!(!after.body.contains("Gracelyn"));
    assert!(after.body.contains("Adalinde"));
    assert!(
        after
            .body
            .lines()
            .next()
            .is_some_and(|h| h.contains("\"withheld\":1"))
    );

    // The customer sees who received their data in the portal, and so in their export.
    let subject = signed_in(&app, Inbox::Log(kept.0.path()), "ada@example.com").await;
    let overview = app.portal().overview(&subject).await.expect("overview");
    assert_eq!(overview.disclosures, listed);
}

#[tokio::test]
async fn a_saved_segment_is_shared_as_it_stands() {
    let (_kept, app, _clock) = steward(false).await;
    let [ada, silent, french] = ada_silent_and_french(&app).await;
    let segment = app
        .segments()
        .create(
            &actor(&app, Role::Marketer),
            steward_app::NewSegment {
                name: "Germany".into(),
                filter: steward_app::SegmentFilter {
                    residency: strings(&["DE"]),
                    ..Default::default()
                },
            },
        )
        .await
        .expect("segment");
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let dpo = dpo(&app);
    let share = app
        .shares()
        .share(
            &dpo,
            ShareInput {
                customer_ids: None,
                segment_id: Some(segment.id),
                ..asked(vendor, vec![])
            },
        )
        .await
        .expect("shared");
    assert_eq!(share.shared, 1);
    assert_eq!(
        share.excluded,
        [("no_consent".to_string(), 1)].into_iter().collect()
    );
    for (customer, disclosed) in [(ada, 1), (silent, 0), (french, 0)] {
        assert_eq!(
            app.shares()
                .disclosures(&dpo, customer)
                .await
                .expect("disclosures")
                .len(),
            disclosed
        );
    }
}

#[tokio::test]
async fn the_audience_of_the_purpose_is_shared_as_it_stands_now() {
    let (_kept, app, _clock) = steward(false).await;
    let [ada, silent, french] = ada_silent_and_french(&app).await;
    let withdrew = consenting(&app, "t.withdrew@example.com", "Wanda").await;
    app.consent()
        .record(
            &agent(&app),
            withdrew,
            steward_app::ConsentInput {
                purpose: EMAIL.into(),
                state: "withdrawn".into(),
                notice_version: None,
                method: Some("portal".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("withdrawn");
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let dpo = dpo(&app);
    let of_audience = |filter: Option<steward_app::SegmentFilter>| ShareInput {
        customer_ids: None,
        audience: Some(steward_app::AudienceSource { filter }),
        ..asked(vendor, vec![])
    };
    let everyone = app
        .shares()
        .share(&dpo, of_audience(None))
        .await
        .expect("the whole audience");
    assert_eq!(everyone.shared, 2);
    assert!(
        everyone.excluded.is_empty(),
        "the audience holds only those whose consent stands: {:?}",
        everyone.excluded
    );
    let germany = app
        .shares()
        .share(
            &dpo,
            of_audience(Some(steward_app::SegmentFilter {
                residency: strings(&["DE"]),
                ..Default::default()
            })),
        )
        .await
        .expect("the audience in Germany");
    assert_eq!(germany.shared, 1);
    for (customer, disclosed) in [(ada, 2), (silent, 0), (french, 1), (withdrew, 0)] {
        assert_eq!(
            app.shares()
                .disclosures(&dpo, customer)
                .await
                .expect("disclosures")
                .len(),
            disclosed
        );
    }

    let invalid = |result: Result<steward_app::ShareView, AppError>| match result {
        Err(AppError::Invalid(errors)) => errors[0].field.clone(),
        other => panic!("not invalid: {other:?}"),
    };
    let both = ShareInput {
        customer_ids: Some(vec![ada]),
        ..of_audience(None)
    };
    assert_eq!(invalid(app.shares().share(&dpo, both).await), "audience");
    let not_consent_based = ShareInput {
        purpose: "essential.service".into(),
        fields: strings(&["email"]),
        ..of_audience(None)
    };
    assert_eq!(
        invalid(app.shares().share(&dpo, not_consent_based).await),
        "audience"
    );
    let bad_filter = of_audience(Some(steward_app::SegmentFilter {
        residency: strings(&["Germany"]),
        ..Default::default()
    }));
    assert_eq!(
        invalid(app.shares().share(&dpo, bad_filter).await),
        "audience.filter.residency[0]"
    );
}

#[tokio::test]
async fn a_share_of_nobody_is_answered_naming_where_the_customers_came_from() {
    let (_kept, app, _clock) = steward(false).await;
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let dpo = dpo(&app);
    match app
        .shares()
        .share(&dpo, asked(vendor, vec![Uuid::now_v7()]))
        .await
    {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "customer_ids"),
        other => panic!("not invalid: {other:?}"),
    }
    assert!(
        share_entries(&app).await.is_empty(),
        "nothing shared, nothing read"
    );
}

#[tokio::test]
async fn an_objection_that_stands_keeps_a_customer_out_of_a_share_until_it_is_denied_sqlite() {
    objection_stands(false).await;
}

#[tokio::test]
async fn an_objection_that_stands_keeps_a_customer_out_of_a_share_until_it_is_denied_postgres() {
    objection_stands(true).await;
}

async fn objection_stands(pg: bool) {
    const FRAUD: &str = "security.fraud_prevention";
    let extra = r#"
[[purpose]]
key = "security.fraud_prevention"
name = "Preventing fraud"
description = "We check orders for signs of fraud, to protect you and us."
lawful_basis = "legitimate_interests"
requires_consent = false

[[field]]
key = "device_risk"
label = "Device risk score"
category = "user.device"
sensitivity = "standard"
kind = "text"
max_length = 20
purposes = ["security.fraud_prevention"]
"#;
    let (_kept, app) = steward_with_catalog(pg, extra).await;
    let mut ids = Vec::new();
    for (email, name) in [
        ("h4.kept@example.com", "Hana"),
        ("w1.objects@example.com", "Wim"),
    ] {
        ids.push(
            app.customers()
                .create(&agent(&app), input(email, name))
                .await
                .expect("customer")
                .id,
        );
    }
    let vendor = vendor_with(&app, processor("DE"), |id| {
        Some(AgreementInput {
            purposes: strings(&[FRAUD]),
            categories: strings(&["user.device"]),
            ..agreement(id, vec![])
        })
    })
    .await;
    let dpo = dpo(&app);
    let objection = app
        .requests()
        .create(
            &dpo,
            steward_app::RequestInput {
                kind: "objection".into(),
                channel: "email".into(),
                customer_id: Some(ids[1]),
                email: None,
                phone: None,
                residency: None,
                purpose: Some(FRAUD.into()),
            },
        )
        .await
        .expect("an objection to the fraud checks");
    let ask = || ShareInput {
        purpose: FRAUD.into(),
        fields: strings(&["device_risk"]),
        ..asked(vendor, ids.clone())
    };
    let share = app.shares().share(&dpo, ask()).await.expect("shared");
    assert_eq!(share.shared, 1);
    assert_eq!(
        share.excluded,
        [("objected".to_string(), 1)].into_iter().collect(),
        "an objection not yet decided stops the processing"
    );
    assert!(
        app.shares()
            .disclosures(&dpo, ids[1])
            .await
            .expect("disclosures")
            .is_empty()
    );
    app.requests()
        .deny(
            &dpo,
            objection.id,
            &steward_app::ReasonInput {
                reason: "Checking orders for fraud protects every customer; the grounds override the objection.".into(),
            },
        )
        .await
        .expect("denied");
    let share = app.shares().share(&dpo, ask()).await.expect("shared");
    assert_eq!(share.shared, 2, "denied, the objection no longer stands");
}

#[tokio::test]
async fn a_transfer_on_explicit_consent_takes_only_the_customers_who_gave_it() {
    const TRANSFER: &str = "transfer.support_india";
    let extra = r#"
[[purpose]]
key = "transfer.support_india"
name = "Support from our team in India"
description = "With your explicit permission, our support partner in India reads your contact details to answer you. India has no EU adequacy decision, so your data there lacks some of the protection it has in the EU."
lawful_basis = "consent"
requires_consent = true
"#;
    let (_kept, app) = steward_with_catalog(false, extra).await;
    let ada = consenting(&app, "x3.ada@example.com", "Adalinde").await;
    let bo = consenting(&app, "k8.bo@example.com", "Bo").await;
    give_consent(&app, &agent(&app), ada, TRANSFER).await;
    let vendor = vendor_with(&app, processor("IN"), |id| {
        Some(agreement(
            id,
            vec![DestinationInput {
                country: "IN".into(),
                via: None,
                mechanism: MechanismInput::Derogation {
                    ground: steward_app::core::transfers::Art49Ground::ExplicitConsent,
                    justification: "customers ask for support in their time zone".into(),
                    consent_purpose: Some(TRANSFER.into()),
                },
            }],
        ))
    })
    .await;
    let dpo = dpo(&app);
    let share = app
        .shares()
        .share(&dpo, asked(vendor, vec![ada, bo]))
        .await
        .expect("shared");
    assert_eq!(share.shared, 1);
    assert_eq!(
        share.excluded,
        [("no_explicit_consent".to_string(), 1)]
            .into_iter()
            .collect()
    );
    assert!(
        app.shares()
            .disclosures(&dpo, bo)
            .await
            .expect("disclosures")
            .is_empty(),
        "without the explicit consent nothing of Bo went to India"
    );
    give_consent(&app, &agent(&app), bo, TRANSFER).await;
    let share = app
        .shares()
        .share(&dpo, asked(vendor, vec![ada, bo]))
        .await
        .expect("shared");
    assert_eq!(share.shared, 2, "given, it counts");
}

#[tokio::test]
async fn the_document_written_with_a_share_is_the_one_its_download_rebuilds() {
    let (_kept, app, _clock) = steward(false).await;
    let mut customers = Vec::new();
    for (email, name) in [
        ("r7.rosa@example.com", "Rosa"),
        ("c1.chen@example.com", "陈"),
        ("a9.amir@example.com", "أمير"),
    ] {
        customers.push(consenting(&app, email, name).await);
    }
    let silent = app
        .customers()
        .create(&agent(&app), input("n4.silent@example.com", "Nils"))
        .await
        .expect("no consent")
        .id;
    customers.push(silent);
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let dpo = dpo(&app);
    let (view, written) = app
        .shares()
        .share_to_file(&dpo, asked(vendor, customers.clone()))
        .await
        .expect("shared to a file");
    assert_eq!(view.shared, 3);
    let rebuilt = app
        .shares()
        .download(&dpo, view.id)
        .await
        .expect("downloaded");
    assert_eq!(written, rebuilt, "one document, however it is made");
    assert_eq!(written.body.lines().count(), 4, "{}", written.body);
    assert!(written.body.contains("陈") && !written.body.contains("n4.silent"));
    let by_webhook = ShareInput {
        delivery: steward_app::ShareDelivery::Webhook,
        ..asked(vendor, customers)
    };
    match app.shares().share_to_file(&dpo, by_webhook).await {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "delivery"),
        other => panic!("not refused: {other:?}"),
    }
}
