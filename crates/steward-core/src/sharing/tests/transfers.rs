//! Where the data goes: sub-processors as importers of their own, onward transfers, the
//! residency's law, explicit consent left to the caller, and the purpose-free transfers check.

use super::*;
use crate::transfers::{Art49Ground, Gap, Mechanism, SccModule, TransferBasis};

#[test]
fn a_sub_processor_abroad_needs_onward_transfer_allowed() {
    let mut register = Register::new();
    register.agreements[0].onward_transfer = false;
    assert_eq!(
        register.share().expect_err("refused"),
        Refusal::NoTransferMechanism {
            country: c("JP"),
            via: Some(id(SUB)),
            gap: Gap::OnwardTransferNotAllowed
        },
        "Ireland is inside the EEA; Japan is the first country abroad"
    );
    register.subs[0].stores_in = vec![c("IE")];
    assert!(register.share().is_ok(), "within the EEA it is no transfer");
}

#[test]
fn a_sub_processor_is_judged_as_its_own_importer() {
    let mut register = Register::new();
    register.subs[0].adequacy_scope_confirmed.clear();
    let refusal = register.share().expect_err("Japan's finding not confirmed");
    assert_eq!(
        refusal,
        Refusal::NoTransferMechanism {
            country: c("JP"),
            via: Some(id(SUB)),
            gap: Gap::OutsideDecisionScope
        }
    );
    register.agreements[0].destinations.push(Destination {
        country: c("JP"),
        via: Some(id(SUB)),
        mechanism: Mechanism::Scc {
            module: SccModule::ProcessorToProcessor,
            uk_addendum: false,
            tia: tia(day(2026, 12, 31)),
        },
    });
    let clearance = register.share().expect("module 3 between the processors");
    assert!(clearance.transfers.destinations.iter().any(|d| d.basis
        == TransferBasis::Scc {
            module: SccModule::ProcessorToProcessor,
            uk_addendum: false
        }));
    register.subs[0].status = VendorStatus::Offboarded;
    register.subs[0].stores_in = vec![c("CN")];
    assert!(
        register.share().is_ok(),
        "an offboarded sub-processor receives nothing"
    );
}

#[test]
fn explicit_consent_is_left_to_the_caller_per_customer() {
    let mut register = Register::new();
    register.agreements[0].destinations[0].mechanism = Mechanism::Derogation {
        ground: Art49Ground::ExplicitConsent,
        justification: "customers ask for support from the Indian team".into(),
        consent_purpose: Some("marketing.communications.sms".into()),
    };
    let clearance = register.share().expect("cleared");
    assert_eq!(
        clearance.transfers.per_customer,
        vec![CustomerCondition::ExplicitTransferConsent {
            country: c("IN"),
            purpose: "marketing.communications.sms".into()
        }]
    );
    register.agreements[0].destinations[0].mechanism = Mechanism::Derogation {
        ground: Art49Ground::ExplicitConsent,
        justification: "kept without the consent it rests on".into(),
        consent_purpose: None,
    };
    assert_eq!(
        register.share().expect_err("no consent to look for").code(),
        RefusalCode::NoTransferMechanism
    );
}

#[test]
fn an_explicit_consent_derogation_names_a_consent_based_purpose() {
    let derogation = |ground, purpose: Option<&str>| {
        let mut input = agreement_input();
        input.destinations[0].mechanism = MechanismInput::Derogation {
            ground,
            justification: "customers ask for support from the Indian team".into(),
            consent_purpose: purpose.map(str::to_string),
        };
        let register = Register::new();
        Agreement::parse(
            id(AGREEMENT),
            &input,
            &catalog(),
            &register.vendor,
            &register.subs,
            now(),
        )
        .map(|_| ())
        .map_err(|e| (e.field, e.code))
    };
    let at = "destinations[0].mechanism.consent_purpose".to_string();
    assert_eq!(
        derogation(Art49Ground::ExplicitConsent, None),
        Err((at.clone(), InvalidCode::Required))
    );
    assert_eq!(
        derogation(Art49Ground::ExplicitConsent, Some("essential.service")),
        Err((at.clone(), InvalidCode::NotApplicable))
    );
    assert_eq!(
        derogation(Art49Ground::ExplicitConsent, Some("no.such.purpose")),
        Err((at.clone(), InvalidCode::UnknownPurpose))
    );
    assert_eq!(
        derogation(
            Art49Ground::LegalClaims,
            Some("marketing.communications.sms")
        ),
        Err((at, InvalidCode::NotApplicable))
    );
    assert!(
        derogation(
            Art49Ground::ExplicitConsent,
            Some("marketing.communications.sms")
        )
        .is_ok()
    );
    assert!(derogation(Art49Ground::LegalClaims, None).is_ok());
}

#[test]
fn the_residency_picks_the_law() {
    let mut register = Register::new();
    register.residency = "GB";
    assert_eq!(
        register.share().expect_err("UK"),
        Refusal::NoTransferMechanism {
            country: c("IN"),
            via: None,
            gap: Gap::SccWithoutUkAddendum
        },
        "Germany is adequate for the UK; India needs the UK addendum"
    );
    register.residency = "BR";
    let clearance = register
        .share()
        .expect("no transfer restriction for Brazilians");
    assert!(
        clearance
            .transfers
            .destinations
            .iter()
            .all(|d| d.basis == TransferBasis::Unrestricted)
    );
    register.purpose = "essential.service".into();
    assert_eq!(
        register
            .share()
            .expect_err("still an agreement's purpose")
            .code(),
        RefusalCode::PurposeNotAgreed
    );
}

#[test]
fn the_transfers_check_needs_no_purpose_but_a_live_safeguard() {
    let mut register = Register::new();
    register.vendor.status = VendorStatus::Suspended;
    register.purpose = "nothing at all".into();
    let transfers = register.transfers().expect("standing is not its question");
    assert_eq!(transfers.destinations.len(), 5);
    register.agreements[0].valid_until = Some(day(2026, 5, 31));
    assert_eq!(
        register.transfers().expect_err("the clauses ended with it"),
        Refusal::NoTransferMechanism {
            country: c("IN"),
            via: None,
            gap: Gap::NothingRecorded
        }
    );
    let mut second = Register::new().agreements.remove(0);
    second.id = id(13);
    second.purposes = vec!["essential.service".into()];
    register.agreements.push(second);
    assert!(
        register.transfers().is_ok(),
        "any live agreement's safeguard"
    );
}
