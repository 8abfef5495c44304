//! The share and transfers checks: one case per refusal code, the order between them, and the
//! bases a clearance carries.

use super::*;
use crate::transfers::{Mechanism, Regime, SccModule, TransferBasis};

fn reviewed(on: Date, outcome: ReviewOutcome) -> Option<Review> {
    Some(Review::parse(&review_input(on, outcome), now()).expect("review"))
}

fn scc_tia(r: &mut Register) -> &mut crate::transfers::Tia {
    match &mut r.agreements[0].destinations[0].mechanism {
        Mechanism::Scc { tia, .. } => tia,
        other => panic!("the fixture records clauses for India, not {other:?}"),
    }
}

#[test]
fn the_fixture_is_cleared_with_a_basis_for_every_country() {
    let clearance = Register::new().share().expect("cleared");
    assert_eq!(clearance.agreement, id(AGREEMENT));
    assert_eq!(clearance.transfers.regime, Regime::Gdpr);
    let dpf = TransferBasis::Adequacy {
        reference: "Commission Implementing Decision (EU) 2023/1795 (EU-US Data Privacy Framework)"
            .into(),
    };
    let japan = TransferBasis::Adequacy {
        reference: "Commission Implementing Decision (EU) 2019/419".into(),
    };
    let module_2 = TransferBasis::Scc {
        module: SccModule::ControllerToProcessor,
        uk_addendum: false,
    };
    let expected = [
        ("DE", None, TransferBasis::Domestic),
        ("IN", None, module_2),
        ("US", None, dpf),
        ("IE", Some(id(SUB)), TransferBasis::Domestic),
        ("JP", Some(id(SUB)), japan),
    ];
    let got: Vec<(&str, Option<uuid::Uuid>, TransferBasis)> = clearance
        .transfers
        .destinations
        .iter()
        .map(|d| (d.country.as_str(), d.via, d.basis.clone()))
        .collect();
    assert_eq!(got, expected);
    assert!(clearance.transfers.per_customer.is_empty());
}

/// A rule of the fixture broken, the code the share is refused with, and the field or
/// country the refusal names.
struct Case {
    name: &'static str,
    break_it: fn(&mut Register),
    code: RefusalCode,
    names: Option<&'static str>,
}

fn case(name: &'static str, break_it: fn(&mut Register), code: RefusalCode) -> Case {
    Case {
        name,
        break_it,
        code,
        names: None,
    }
}

impl Case {
    fn naming(self, at: &'static str) -> Case {
        Case {
            names: Some(at),
            ..self
        }
    }
}

fn set_dpa(r: &mut Register, change: fn(&mut Dpa)) {
    if let Some(dpa) = &mut r.vendor.dpa {
        change(dpa);
    }
}

/// One case per refusal code, and the variants of some.
#[test]
fn each_rule_refuses_with_its_code() {
    use RefusalCode::*;
    let cases = [
        case(
            "suspended",
            |r| r.vendor.status = VendorStatus::Suspended,
            VendorNotActive,
        ),
        case(
            "onboarding",
            |r| r.vendor.status = VendorStatus::Onboarding,
            VendorNotActive,
        ),
        case(
            "review said suspend",
            |r| r.review = reviewed(day(2026, 5, 1), ReviewOutcome::Suspend),
            VendorNotActive,
        ),
        case(
            "sub-processor suspended",
            |r| r.subs[0].status = VendorStatus::Suspended,
            VendorNotActive,
        ),
        case("no DPA", |r| r.vendor.dpa = None, DpaMissing),
        case(
            "DPA ended",
            |r| set_dpa(r, |d| d.expires_on = Some(day(2026, 5, 31))),
            DpaMissing,
        ),
        case(
            "DPA lacks audits",
            |r| set_dpa(r, |d| d.checklist.audits = false),
            DpaMissing,
        ),
        case(
            "reviewed a year and a day ago",
            |r| r.review = reviewed(day(2025, 5, 31), ReviewOutcome::Approved),
            ReviewOverdue,
        ),
        case("never reviewed", |r| r.review = None, ReviewOverdue),
        case("no agreement", |r| r.agreements.clear(), NoAgreement),
        case(
            "another vendor's agreement",
            |r| r.agreements[0].vendor = id(99),
            NoAgreement,
        ),
        case(
            "agreement not started",
            |r| r.agreements[0].valid_from = day(2026, 6, 2),
            NoAgreement,
        ),
        case(
            "agreement ended",
            |r| r.agreements[0].valid_until = Some(day(2026, 5, 31)),
            AgreementExpired,
        ),
        case(
            "another purpose",
            |r| r.purpose = "marketing.communications.sms".into(),
            PurposeNotAgreed,
        ),
        case(
            "date of birth",
            |r| r.fields.push("birth_date"),
            CategoryNotAgreed,
        )
        .naming("birth_date"),
        case(
            "India unsafeguarded",
            |r| r.agreements[0].destinations.clear(),
            NoTransferMechanism,
        )
        .naming("IN"),
        case(
            "vendor now a controller",
            |r| r.vendor.role = VendorRole::Controller,
            SccModuleMismatch,
        )
        .naming("IN"),
        case(
            "assessment due yesterday",
            |r| scc_tia(r).re_evaluate_by = day(2026, 5, 31),
            TiaStale,
        )
        .naming("IN"),
        case(
            "certification lapsed",
            |r| {
                if let Some(dpf) = &mut r.vendor.dpf {
                    dpf.status = crate::transfers::DpfStatus::Inactive;
                }
            },
            DpfInactive,
        )
        .naming("US"),
    ];
    let mut seen: Vec<RefusalCode> = cases.iter().map(|c| c.code).collect();
    seen.dedup();
    assert_eq!(
        seen,
        RefusalCode::ALL,
        "every code, in the order of the checks"
    );
    for case in cases {
        let mut register = Register::new();
        (case.break_it)(&mut register);
        let refusal = register.share().expect_err(case.name);
        assert_eq!(refusal.code(), case.code, "{}: {refusal}", case.name);
        let names = refusal
            .field()
            .map(str::to_string)
            .or(refusal.country().map(|c| c.to_string()));
        assert_eq!(names.as_deref(), case.names, "{}", case.name);
    }
}

#[test]
fn refusals_name_what_is_at_fault() {
    let mut register = Register::new();
    register.review = reviewed(day(2025, 5, 31), ReviewOutcome::Approved);
    assert_eq!(
        register.share().expect_err("overdue"),
        Refusal::ReviewOverdue {
            due: Some(day(2026, 5, 31))
        },
        "tier 3 is reviewed every twelve months"
    );
    let mut register = Register::new();
    register.subs[0].status = VendorStatus::Suspended;
    assert_eq!(
        register.share().expect_err("suspended"),
        Refusal::VendorNotActive {
            vendor: id(SUB),
            standing: Standing::SubProcessorSuspended
        }
    );
    let mut register = Register::new();
    register.agreements[0].valid_from = day(2026, 6, 2);
    assert_eq!(
        register.share().expect_err("not yet"),
        Refusal::NoAgreement {
            starts_on: Some(day(2026, 6, 2))
        }
    );
}

#[test]
fn the_vendors_standing_is_judged_before_its_agreements() {
    let mut register = Register::new();
    register.vendor.status = VendorStatus::Offboarded;
    register.vendor.dpa = None;
    register.agreements.clear();
    assert_eq!(
        register.share().expect_err("refused").code(),
        RefusalCode::VendorNotActive
    );
    let mut register = Register::new();
    register.vendor.dpa = None;
    register.review = None;
    assert_eq!(
        register.share().expect_err("refused").code(),
        RefusalCode::DpaMissing
    );
}

#[test]
fn of_several_agreements_the_first_that_passes_carries_the_share() {
    let mut register = Register::new();
    let mut ended = register.agreements[0].clone();
    ended.id = id(11);
    ended.valid_until = Some(day(2026, 5, 31));
    let mut other_purpose = register.agreements[0].clone();
    other_purpose.id = id(12);
    other_purpose.purposes = vec!["essential.service".into()];
    register.agreements = vec![ended.clone(), other_purpose.clone()];
    assert_eq!(
        register.share().expect_err("neither covers it").code(),
        RefusalCode::PurposeNotAgreed,
        "the agreement that got furthest speaks, whatever the order"
    );
    register.agreements = vec![other_purpose, ended];
    assert_eq!(
        register.share().expect_err("neither covers it").code(),
        RefusalCode::PurposeNotAgreed
    );
    register
        .agreements
        .push(Register::new().agreements.remove(0));
    assert_eq!(
        register.share().expect("the third covers it").agreement,
        id(AGREEMENT)
    );
}
