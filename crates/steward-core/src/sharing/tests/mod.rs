//! A register that passes every check on a fixed day, for the tests to break one rule at a
//! time.
//!
//! The vendor is a processor established in the United States, actively certified under the
//! Data Privacy Framework, keeping data in Germany and the United States and reading it from
//! India; its sub-processor keeps data in Ireland and Japan. The agreement covers email
//! marketing with contact details and names, with module 2 clauses for India.

mod input;
mod share;
mod transfers;

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use super::*;
use crate::catalog::Catalog;
use crate::transfers::{DpfRecord, DpfStatus, Tia, TiaOutcome, TransferRules};

pub(super) const NOW: &str = "2026-06-01T12:00:00Z";

pub(super) fn now() -> Timestamp {
    NOW.parse().expect("a time")
}

pub(super) fn catalog() -> Catalog {
    Catalog::default_catalog().expect("the default catalog")
}

pub(super) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub(super) const VENDOR: u128 = 1;
pub(super) const SUB: u128 = 2;
pub(super) const AGREEMENT: u128 = 10;

pub(super) fn c(code: &str) -> crate::CountryCode {
    crate::CountryCode::parse(code).expect("a country")
}

pub(super) fn day(y: i16, m: i8, d: i8) -> Date {
    Date::constant(y, m, d)
}

pub(super) fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(super) fn complete_checklist() -> DpaChecklist {
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

pub(super) fn vendor_input() -> VendorInput {
    VendorInput {
        legal_name: "Postwerk Mail Inc.".into(),
        address: "1 Market Street\nSan Francisco, CA".into(),
        contact_person: "Dana Whitfield, privacy lead".into(),
        role: VendorRole::Processor,
        parent: None,
        established_in: strings(&["US"]),
        stores_in: strings(&["US", "DE"]),
        accesses_from: strings(&["IN"]),
        dpa: Some(Dpa {
            signed_on: Date::constant(2025, 1, 15),
            version: "3.0".into(),
            sha256: "0f".repeat(32),
            expires_on: Some(Date::constant(2027, 1, 14)),
            checklist: complete_checklist(),
        }),
        sub_processor_authorisation: Some(SubProcessorAuthorisation::General { notice_days: 30 }),
        certifications: vec![Certification {
            scheme: CertificationScheme::IsoIec27001,
            name: None,
            scope: "mail delivery platform".into(),
            expires_on: Date::constant(2027, 3, 1),
        }],
        dpf: Some(DpfRecord {
            status: DpfStatus::Active,
            checked_on: Date::constant(2026, 5, 1),
            uk_extension: false,
        }),
        adequacy_scope_confirmed: vec![],
        risk_tier: 3,
        status: VendorStatus::Active,
    }
}

pub(super) fn sub_input() -> VendorInput {
    VendorInput {
        legal_name: "Nimbus Hosting Ltd".into(),
        address: "2 Dock Road, Dublin".into(),
        contact_person: "Sean Byrne".into(),
        role: VendorRole::SubProcessor,
        parent: Some(id(VENDOR)),
        established_in: strings(&["IE"]),
        stores_in: strings(&["IE", "JP"]),
        accesses_from: vec![],
        dpa: None,
        sub_processor_authorisation: None,
        certifications: vec![],
        dpf: None,
        adequacy_scope_confirmed: strings(&["JP"]),
        risk_tier: 2,
        status: VendorStatus::Active,
    }
}

pub(super) fn tia(re_evaluate_by: Date) -> Tia {
    Tia {
        assessed_on: Date::constant(2026, 1, 5),
        outcome: TiaOutcome::ProceedWithMeasures,
        supplementary_measures: strings(&["end-to-end encryption, keys held in the EEA"]),
        re_evaluate_by,
    }
}

pub(super) fn agreement_input() -> AgreementInput {
    AgreementInput {
        vendor: id(VENDOR),
        purposes: strings(&["marketing.communications.email"]),
        categories: strings(&["user.contact", "user.name"]),
        destinations: vec![DestinationInput {
            country: "IN".into(),
            via: None,
            mechanism: MechanismInput::Scc {
                module: 2,
                uk_addendum: false,
                tia: Some(tia(Date::constant(2026, 12, 31))),
            },
        }],
        valid_from: Date::constant(2026, 1, 1),
        valid_until: Some(Date::constant(2026, 12, 31)),
        onward_transfer: true,
    }
}

pub(super) fn review_input(on: Date, outcome: ReviewOutcome) -> ReviewInput {
    ReviewInput {
        reviewed_on: on,
        reviewer: "A. Privacy Officer".into(),
        answers: ReviewQuestion::ALL
            .iter()
            .map(|q| (q.as_str().to_string(), Answer::Yes))
            .collect(),
        outcome,
        conditions: None,
    }
}

/// The checked register, and the share asked for.
pub(super) struct Register {
    pub vendor: Vendor,
    pub subs: Vec<Vendor>,
    pub review: Option<Review>,
    pub agreements: Vec<Agreement>,
    pub purpose: String,
    pub fields: Vec<&'static str>,
    pub residency: &'static str,
}

impl Register {
    pub fn new() -> Register {
        let vendor = Vendor::parse(id(VENDOR), &vendor_input(), now()).expect("vendor");
        let subs = vec![Vendor::parse(id(SUB), &sub_input(), now()).expect("sub-processor")];
        let agreement = Agreement::parse(
            id(AGREEMENT),
            &agreement_input(),
            &catalog(),
            &vendor,
            &subs,
            now(),
        )
        .expect("agreement");
        let review = Review::parse(
            &review_input(Date::constant(2026, 1, 10), ReviewOutcome::Approved),
            now(),
        )
        .expect("review");
        Register {
            vendor,
            subs,
            review: Some(review),
            agreements: vec![agreement],
            purpose: "marketing.communications.email".into(),
            fields: vec!["email", "given_name"],
            residency: "DE",
        }
    }

    pub fn file(&self) -> VendorFile<'_> {
        VendorFile {
            vendor: &self.vendor,
            sub_processors: &self.subs,
            last_review: self.review.as_ref(),
            agreements: &self.agreements,
        }
    }

    pub fn share(&self) -> Result<Clearance, Refusal> {
        let catalog = catalog();
        let fields: Vec<&crate::FieldDef> = self
            .fields
            .iter()
            .map(|k| catalog.field(k).expect("a catalog field"))
            .collect();
        check_share(
            &self.file(),
            &self.purpose,
            &fields,
            crate::CountryCode::parse(self.residency).expect("a residency"),
            &rules(),
            now(),
        )
    }

    pub fn transfers(&self) -> Result<Transfers, Refusal> {
        check_transfers(
            &self.file(),
            crate::CountryCode::parse(self.residency).expect("a residency"),
            &rules(),
            now(),
        )
    }
}

pub(super) fn rules() -> SharingRules {
    SharingRules {
        transfers: TransferRules::default_rules().expect("the shipped table"),
        review_intervals: ReviewIntervals::default(),
        notify_recipients_within: jiff::ToSpan::days(30),
    }
}
