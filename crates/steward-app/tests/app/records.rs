//! The record of processing (Art. 30): every purpose and data category of the catalog, every
//! engaged recipient, every third country with the mechanism that carries it, and every
//! retention rule, in the record and in each of its three renderings; on SQLite and on
//! PostgreSQL. What is expected is read from the catalog, the fixtures and the rules, never
//! listed by hand.

use std::collections::BTreeSet;

use steward_app::core::Role;
use steward_app::core::sharing::{
    AgreementInput, DestinationInput, MechanismInput, VendorRole, VendorStatus,
};
use steward_app::core::transfers::{Tia, TiaOutcome, is_eea};
use steward_app::{AppError, Controller, RopaFormat, Steward};

use crate::support::*;
use crate::vendor_fixtures::*;

const LEGAL: &str = "essential.legal_obligation";
const EMAIL: &str = "marketing.communications.email";

/// A US processor under module 2 of the clauses, its sub-processor keeping data in Switzerland
/// (adequate) and Germany (no transfer), and an offboarded vendor the record leaves out. The
/// processor's name would run as a formula in a spreadsheet.
async fn register(app: &Steward) -> Vec<(String, Vec<String>)> {
    let dpo = access(app, Role::Dpo, LEGAL);
    let mut us = processor("US");
    us.legal_name = "=HYPERLINK(\"http://evil.test\")".into();
    let us = app.vendors().create(&dpo, us).await.expect("processor");
    let mut sub = processor("CH");
    sub.legal_name = "Alpenpost AG".into();
    sub.role = VendorRole::SubProcessor;
    sub.parent = Some(us.vendor.id);
    sub.sub_processor_authorisation = None;
    sub.stores_in = strings(&["CH", "DE"]);
    let sub = app
        .vendors()
        .create(&dpo, sub)
        .await
        .expect("sub-processor");
    let mut uncertified = processor("US");
    uncertified.legal_name = "Onboarding Analytics Inc".into();
    uncertified.status = VendorStatus::Onboarding;
    let uncertified = app
        .vendors()
        .create(&dpo, uncertified)
        .await
        .expect("uncertified");
    let mut gone = processor("DE");
    gone.legal_name = "Former Partner GmbH".into();
    gone.status = VendorStatus::Offboarded;
    app.vendors().create(&dpo, gone).await.expect("offboarded");
    app.agreements()
        .create(
            &dpo,
            AgreementInput {
                vendor: us.vendor.id,
                purposes: strings(&[EMAIL]),
                categories: strings(&["user.contact", "user.name"]),
                destinations: vec![DestinationInput {
                    country: "US".into(),
                    via: None,
                    mechanism: MechanismInput::Scc {
                        module: 2,
                        uk_addendum: false,
                        tia: Some(Tia {
                            assessed_on: day(2026, 1, 5),
                            outcome: TiaOutcome::Proceed,
                            supplementary_measures: vec![],
                            re_evaluate_by: day(2027, 1, 5),
                        }),
                    },
                }],
                valid_from: day(2026, 1, 1),
                valid_until: None,
                onward_transfer: true,
            },
        )
        .await
        .expect("agreement");
    vec![
        (
            us.vendor.legal_name.clone(),
            us.vendor
                .countries_reached()
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        (
            sub.vendor.legal_name.clone(),
            sub.vendor
                .countries_reached()
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        (
            uncertified.vendor.legal_name.clone(),
            uncertified
                .vendor
                .countries_reached()
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
    ]
}

#[tokio::test]
async fn the_record_names_every_purpose_category_recipient_transfer_and_period_sqlite() {
    names_everything(false).await;
}

#[tokio::test]
async fn the_record_names_every_purpose_category_recipient_transfer_and_period_postgres() {
    names_everything(true).await;
}

async fn names_everything(pg: bool) {
    let (_kept, app, _clock) = steward(pg).await;
    let engaged = register(&app).await;
    let ropa = app
        .records()
        .ropa(&actor(&app, Role::Dpo))
        .await
        .expect("record");
    let md = ropa.render(RopaFormat::Markdown).expect("md");
    let csv_text = ropa.render(RopaFormat::Csv).expect("csv");
    let json: serde_json::Value =
        serde_json::from_str(&ropa.render(RopaFormat::Json).expect("json")).expect("json");
    let csv_rows: Vec<Vec<String>> = csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    let in_csv = |section: &str, key: &str| {
        csv_rows
            .iter()
            .any(|r| r[0] == section && (r[1] == key || r[2] == key))
    };

    assert_eq!(ropa.controller.name, Controller::default().name);
    assert!(md.contains(&ropa.controller.name));

    let catalog = app.catalog();
    for p in catalog.purposes() {
        let listed = ropa
            .purposes
            .iter()
            .find(|r| r.key == p.key)
            .unwrap_or_else(|| panic!("purpose {} in the record", p.key));
        assert_eq!(listed.lawful_basis, p.lawful_basis);
        // The fields' categories, and what personalization processes without a field.
        let needed: BTreeSet<&str> = catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(&p.key))
            .map(|f| f.category.as_str())
            .chain(catalog.personalization().categories_for(&p.key))
            .collect();
        assert!(!needed.is_empty(), "{} processes some category", p.key);
        assert_eq!(
            listed
                .categories
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>(),
            needed,
            "{}",
            p.key
        );
        assert!(
            md.contains(&format!("| {} | {} | {} |", p.name, p.key, p.lawful_basis)),
            "{} in the Markdown",
            p.key
        );
        assert!(in_csv("purpose", &p.key), "{} in the CSV", p.key);
        assert!(
            json["purposes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["key"] == p.key.as_str())),
            "{} in the JSON",
            p.key
        );
    }
    for f in catalog.fields() {
        let category = ropa
            .categories
            .iter()
            .find(|c| c.key == f.category)
            .unwrap_or_else(|| panic!("category {} in the record", f.category));
        assert!(category.fields.contains(&f.key));
        assert!(
            md.contains(&format!("| {} |", f.category)),
            "{}",
            f.category
        );
        assert!(in_csv("category", &f.category), "{}", f.category);
    }

    // Recipients: the engaged vendors, the offboarded one left out; the sub-processor
    // receives what its processor's agreement covers.
    let names: Vec<&str> = ropa
        .recipients
        .iter()
        .map(|r| r.legal_name.as_str())
        .collect();
    assert_eq!(
        names,
        engaged.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );
    assert!(!md.contains("Former Partner GmbH") && !csv_text.contains("Former Partner GmbH"));
    let email = ropa
        .purposes
        .iter()
        .find(|p| p.key == EMAIL)
        .expect("email marketing");
    assert_eq!(
        email.recipients,
        names[..2].to_vec(),
        "the processor under the agreement and its sub-processor"
    );
    for r in &ropa.recipients {
        assert!(in_csv("recipient", &r.vendor_id.to_string()));
    }
    assert!(md.contains("Alpenpost AG"));

    // Third countries: each country a recipient reaches outside the EEA, with its mechanism.
    let expected: BTreeSet<(String, String)> = engaged
        .iter()
        .flat_map(|(name, countries)| {
            countries
                .iter()
                .filter(|c| !is_eea(steward_app::core::CountryCode::parse(c).expect("a country")))
                .map(move |c| (name.clone(), c.clone()))
        })
        .collect();
    let third: BTreeSet<(String, String)> = ropa
        .destinations
        .iter()
        .filter(|d| d.third_country)
        .map(|d| (d.vendor.clone(), d.country.to_string()))
        .collect();
    assert_eq!(third, expected);
    assert!(
        ropa.destinations
            .iter()
            .any(|d| !d.third_country && d.country.as_str() == "DE"),
        "Germany is reached, and is no transfer"
    );
    for d in ropa.destinations.iter().filter(|d| d.third_country) {
        assert!(md.contains(&d.mechanism), "{} in the Markdown", d.mechanism);
        assert!(
            csv_rows.iter().any(|r| r[0] == "third_country"
                && r[1] == d.country.as_str()
                && r[4] == d.mechanism),
            "{d:?} in the CSV"
        );
    }
    let us = ropa
        .destinations
        .iter()
        .find(|d| d.country.as_str() == "US" && d.vendor.starts_with('='))
        .expect("US");
    assert_eq!(us.mechanism_kind, "scc");
    assert!(us.mechanism.contains("module 2"), "{}", us.mechanism);
    let ch = ropa
        .destinations
        .iter()
        .find(|d| d.country.as_str() == "CH")
        .expect("CH");
    assert_eq!(ch.mechanism_kind, "adequacy");
    // A US vendor neither certified under the Data Privacy Framework nor under clauses: the
    // adequacy finding does not carry it, and the record says a share would be refused.
    let bare = ropa
        .destinations
        .iter()
        .find(|d| d.vendor == "Onboarding Analytics Inc")
        .expect("the uncertified vendor");
    assert_eq!(bare.mechanism_kind, "none");
    assert!(
        bare.mechanism.contains("would be refused"),
        "{}",
        bare.mechanism
    );

    // Retention: every rule in force, with its period.
    let rules = app.retention().published().await.expect("rules");
    assert!(!rules.is_empty());
    for r in &rules {
        assert!(md.contains(&r.period), "{} in the Markdown", r.period);
        assert!(
            csv_rows
                .iter()
                .any(|row| row[0] == "retention" && row[1] == r.key && row[4] == r.period),
            "{} in the CSV",
            r.key
        );
    }
    assert!(!ropa.security_measures.is_empty());

    // The processor's name is data, not a formula: the CSV cell starts with an apostrophe
    // and no cell starts with '='.
    assert!(
        csv_rows
            .iter()
            .flatten()
            .any(|c| c.starts_with("'=HYPERLINK"))
    );
    assert!(csv_rows.iter().flatten().all(|c| !c.starts_with('=')));
    // Nor does it break the Markdown tables.
    assert!(md.contains("=HYPERLINK(\"http://evil.test\")"));
}

#[tokio::test]
async fn the_record_is_read_by_the_privacy_officer_and_the_auditor_only() {
    let (_dir, app) = app().await;
    for role in [Role::Dpo, Role::Auditor] {
        app.records()
            .ropa(&actor(&app, role))
            .await
            .unwrap_or_else(|e| panic!("{role}: {e}"));
    }
    for role in [Role::Agent, Role::Marketer, Role::Admin] {
        let refused = app.records().ropa(&actor(&app, role)).await;
        assert!(
            matches!(refused, Err(AppError::Forbidden(_))),
            "{role}: {refused:?}"
        );
    }
}
