//! Input refused by field and code, as the API answers it with 422; and what the register
//! shows on a dashboard.

use jiff::civil::Date;

use super::*;
use crate::transfers::Art49Ground;

fn code_of<T: std::fmt::Debug>(result: Result<T, InvalidInput>) -> (String, InvalidCode) {
    let e = result.expect_err("refused");
    (e.field, e.code)
}

#[test]
fn vendors_are_refused_by_field_and_code() {
    type Break = fn(&mut VendorInput);
    let cases: [(Break, &str, InvalidCode); 12] = [
        (
            |v| v.legal_name = " ".into(),
            "legal_name",
            InvalidCode::Required,
        ),
        (
            |v| v.stores_in.push("XX".into()),
            "stores_in[2]",
            InvalidCode::UnknownCountry,
        ),
        (
            |v| v.established_in.clear(),
            "established_in",
            InvalidCode::Required,
        ),
        (|v| v.risk_tier = 0, "risk_tier", InvalidCode::OutOfRange),
        (|v| v.risk_tier = 5, "risk_tier", InvalidCode::OutOfRange),
        (
            |v| v.role = VendorRole::SubProcessor,
            "parent",
            InvalidCode::ParentRequired,
        ),
        (
            |v| v.parent = Some(id(7)),
            "parent",
            InvalidCode::ParentNotAllowed,
        ),
        (
            |v| {
                v.sub_processor_authorisation =
                    Some(SubProcessorAuthorisation::General { notice_days: 0 })
            },
            "sub_processor_authorisation.notice_days",
            InvalidCode::Required,
        ),
        (
            |v| v.role = VendorRole::Controller,
            "sub_processor_authorisation",
            InvalidCode::NotApplicable,
        ),
        (
            |v| v.established_in = strings(&["CA"]),
            "dpf",
            InvalidCode::NotApplicable,
        ),
        (
            |v| v.certifications[0].scheme = CertificationScheme::Other,
            "certifications[0].name",
            InvalidCode::Required,
        ),
        (
            |v| {
                if let Some(d) = &mut v.dpa {
                    d.signed_on = Date::constant(2026, 6, 2)
                }
            },
            "dpa.signed_on",
            InvalidCode::InFuture,
        ),
    ];
    assert!(Vendor::parse(id(VENDOR), &vendor_input(), now()).is_ok());
    for (break_it, field, code) in cases {
        let mut input = vendor_input();
        break_it(&mut input);
        assert_eq!(
            code_of(Vendor::parse(id(VENDOR), &input, now())),
            (field.to_string(), code)
        );
    }
    let mut own_parent = sub_input();
    own_parent.parent = Some(id(SUB));
    assert_eq!(
        code_of(Vendor::parse(id(SUB), &own_parent, now())).0,
        "parent"
    );
}

#[test]
fn agreements_are_refused_by_field_and_code() {
    type Break = fn(&mut AgreementInput);
    fn scc(a: &mut AgreementInput) -> (&mut u8, &mut Option<crate::transfers::Tia>) {
        match &mut a.destinations[0].mechanism {
            MechanismInput::Scc { module, tia, .. } => (module, tia),
            other => panic!("the fixture records clauses, not {other:?}"),
        }
    }
    let cases: [(Break, &str, InvalidCode); 15] = [
        (
            |a| a.purposes.push("selling.lists".into()),
            "purposes[1]",
            InvalidCode::UnknownPurpose,
        ),
        (|a| a.purposes.clear(), "purposes", InvalidCode::Required),
        (
            |a| a.categories = strings(&["user.financial"]),
            "categories[0]",
            InvalidCode::UnknownCategory,
        ),
        (
            |a| a.categories = strings(&["user.con"]),
            "categories[0]",
            InvalidCode::UnknownCategory,
        ),
        (
            |a| a.destinations[0].country = "ZZ".into(),
            "destinations[0].country",
            InvalidCode::UnknownCountry,
        ),
        (
            |a| *scc(a).0 = 1,
            "destinations[0].mechanism.module",
            InvalidCode::SccModuleMismatch,
        ),
        (
            |a| *scc(a).0 = 4,
            "destinations[0].mechanism.module",
            InvalidCode::SccModuleMismatch,
        ),
        (
            |a| *scc(a).0 = 9,
            "destinations[0].mechanism.module",
            InvalidCode::OutOfRange,
        ),
        (
            |a| *scc(a).1 = None,
            "destinations[0].mechanism.tia",
            InvalidCode::Required,
        ),
        (
            |a| {
                if let Some(t) = scc(a).1 {
                    t.re_evaluate_by = Date::constant(2025, 12, 31)
                }
            },
            "destinations[0].mechanism.tia.re_evaluate_by",
            InvalidCode::EndsBeforeStart,
        ),
        (
            |a| {
                if let Some(t) = scc(a).1 {
                    t.supplementary_measures.clear()
                }
            },
            "destinations[0].mechanism.tia.supplementary_measures",
            InvalidCode::Required,
        ),
        (
            |a| a.valid_until = Some(Date::constant(2025, 12, 31)),
            "valid_until",
            InvalidCode::EndsBeforeStart,
        ),
        (
            |a| a.destinations.push(a.destinations[0].clone()),
            "destinations[1]",
            InvalidCode::Duplicate,
        ),
        (
            |a| a.destinations[0].via = Some(id(99)),
            "destinations[0].via",
            InvalidCode::UnknownSubProcessor,
        ),
        (
            |a| {
                a.onward_transfer = false;
                a.destinations[0].via = Some(id(SUB));
            },
            "destinations[0].via",
            InvalidCode::OnwardTransferNotAllowed,
        ),
    ];
    let vendor = Vendor::parse(id(VENDOR), &vendor_input(), now()).expect("vendor");
    let subs = [Vendor::parse(id(SUB), &sub_input(), now()).expect("sub")];
    let parse = |input: &AgreementInput| {
        Agreement::parse(id(AGREEMENT), input, &catalog(), &vendor, &subs, now())
    };
    assert!(parse(&agreement_input()).is_ok());
    for (break_it, field, code) in cases {
        let mut input = agreement_input();
        break_it(&mut input);
        assert_eq!(code_of(parse(&input)), (field.to_string(), code));
    }
    let mut via_sub = agreement_input();
    if let MechanismInput::Scc { module, .. } = &mut via_sub.destinations[0].mechanism {
        *module = 3;
    }
    via_sub.destinations[0].via = Some(id(SUB));
    assert!(parse(&via_sub).is_ok(), "module 3 fits a sub-processor");
}

#[test]
fn an_agreement_covers_the_fields_of_its_categories() {
    let vendor = Vendor::parse(id(VENDOR), &vendor_input(), now()).expect("vendor");
    let catalog = catalog();
    let agreement = Agreement::parse(
        id(AGREEMENT),
        &agreement_input(),
        &catalog,
        &vendor,
        &[],
        now(),
    )
    .expect("agreement");
    let fields: Vec<&str> = agreement.fields(&catalog).map(|f| f.key.as_str()).collect();
    assert_eq!(
        fields,
        [
            "given_name",
            "family_name",
            "email",
            "phone",
            "postal_address"
        ]
    );
    assert!(agreement.covers_category("user.contact.email"));
    assert!(!agreement.covers_category("user.contactless"));
}

#[test]
fn written_json_reads_with_snake_case_words() {
    let json = r#"{
        "vendor": "00000000-0000-0000-0000-000000000001",
        "purposes": ["marketing.communications.email"],
        "categories": ["user.contact"],
        "destinations": [
            {"country": "in", "mechanism": {"kind": "derogation", "ground": "explicit_consent", "justification": "asked for"}}
        ],
        "valid_from": "2026-01-01"
    }"#;
    let input: AgreementInput = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(
        input.destinations[0].mechanism,
        MechanismInput::Derogation {
            ground: Art49Ground::ExplicitConsent,
            justification: "asked for".into(),
            consent_purpose: None,
        }
    );
    let unknown = json.replace("\"valid_from\"", "\"colour\": 1, \"valid_from\"");
    assert!(serde_json::from_str::<AgreementInput>(&unknown).is_err());
    let role: VendorRole = serde_json::from_str("\"joint_controller\"").expect("a role");
    assert_eq!(role, VendorRole::JointController);
    assert_eq!(
        serde_json::to_value(RefusalCode::ALL.map(|c| c.as_str())).expect("json"),
        serde_json::to_value(RefusalCode::ALL).expect("json"),
        "the codes read the same in JSON and in words"
    );
}

#[test]
fn reviews_are_refused_by_field_and_code() {
    let on = Date::constant(2026, 5, 20);
    assert!(Review::parse(&review_input(on, ReviewOutcome::Approved), now()).is_ok());
    let mut missing = review_input(on, ReviewOutcome::Approved);
    missing.answers.remove("incidents_handled");
    let mut unknown = review_input(on, ReviewOutcome::Approved);
    unknown.answers.insert("mood".into(), Answer::Yes);
    let unconditioned = review_input(on, ReviewOutcome::ApprovedWithConditions);
    let mut conditioned = review_input(on, ReviewOutcome::Suspend);
    conditioned.conditions = Some("fix it".into());
    let future = review_input(Date::constant(2026, 6, 2), ReviewOutcome::Approved);
    for (input, field, code) in [
        (missing, "answers.incidents_handled", InvalidCode::Required),
        (unknown, "answers.mood", InvalidCode::UnknownQuestion),
        (unconditioned, "conditions", InvalidCode::Required),
        (conditioned, "conditions", InvalidCode::NotApplicable),
        (future, "reviewed_on", InvalidCode::InFuture),
    ] {
        assert_eq!(
            code_of(Review::parse(&input, now())),
            (field.to_string(), code)
        );
    }
}

#[test]
fn the_tier_sets_when_the_next_review_is_due() {
    let intervals = ReviewIntervals::default();
    assert_eq!(intervals.written(), ["P36M", "P24M", "P12M", "P6M"]);
    let review = Review::parse(
        &review_input(Date::constant(2025, 8, 31), ReviewOutcome::Approved),
        now(),
    )
    .expect("review");
    let due = |tier| review.next_due(RiskTier::new(tier).expect("a tier"), &intervals);
    assert_eq!(due(1), Date::constant(2028, 8, 31));
    assert_eq!(due(2), Date::constant(2027, 8, 31));
    assert_eq!(due(3), Date::constant(2026, 8, 31));
    assert_eq!(
        due(4),
        Date::constant(2026, 2, 28),
        "the end of a shorter month"
    );
    let tighter = ReviewIntervals::parse(["P24M", "P12M", "P6M", "P3M"]).expect("valid");
    assert_eq!(
        review.next_due(RiskTier::new(4).expect("a tier"), &tighter),
        Date::constant(2025, 11, 30)
    );
    for (bad, field) in [
        (["P36M", "P24M", "P12M", "P0D"], "review_intervals.tier_4"),
        (
            ["three years", "P24M", "P12M", "P6M"],
            "review_intervals.tier_1",
        ),
    ] {
        assert_eq!(code_of(ReviewIntervals::parse(bad)).0, field);
    }
    let older = Review {
        reviewed_on: Date::constant(2024, 1, 1),
        ..review.clone()
    };
    let same_day = Review {
        reviewer: "second look".into(),
        ..review.clone()
    };
    let tier_3 = RiskTier::new(3).expect("a tier");
    let state_on = |d: Date| ReviewState::of(Some(&review), tier_3, &intervals, d);
    assert_eq!(
        state_on(Date::constant(2026, 8, 31)),
        ReviewState::Due {
            on: Date::constant(2026, 8, 31)
        },
        "a review is on time through its due day"
    );
    assert!(state_on(Date::constant(2026, 9, 1)).is_overdue());
    let reviews = [review, older, same_day];
    assert_eq!(
        Review::latest(&reviews).map(|r| r.reviewer.as_str()),
        Some("second look")
    );
}

#[test]
fn the_dashboard_sees_what_needs_attention() {
    let mut vendor = Vendor::parse(id(VENDOR), &vendor_input(), now()).expect("vendor");
    let intervals = ReviewIntervals::default();
    let review = Review::parse(
        &review_input(Date::constant(2025, 5, 1), ReviewOutcome::Approved),
        now(),
    )
    .expect("review");
    let calm = Attention::of(&vendor, None, &intervals, now());
    assert_eq!(calm.review, ReviewState::NeverReviewed);
    assert_eq!(calm.dpa, Some(DpaState::Current));
    assert_eq!(
        (calm.certifications_expiring, calm.certifications_expired),
        (0, 0)
    );
    let renewal = |d: Date| Certification {
        expires_on: d,
        ..vendor.certifications[0].clone()
    };
    vendor.certifications = vec![
        renewal(Date::constant(2026, 7, 1)),
        renewal(Date::constant(2026, 7, 2)),
        renewal(Date::constant(2026, 6, 1)),
        renewal(Date::constant(2026, 5, 31)),
    ];
    if let Some(dpa) = &mut vendor.dpa {
        dpa.expires_on = Some(Date::constant(2026, 5, 31));
    }
    let busy = Attention::of(&vendor, Some(&review), &intervals, now());
    assert_eq!(
        busy.review,
        ReviewState::Overdue {
            since: Date::constant(2026, 5, 1)
        }
    );
    assert!(busy.review.is_overdue() && busy.dpa_expired());
    assert_eq!(
        (busy.certifications_expiring, busy.certifications_expired),
        (2, 1),
        "30 days on is 1 July; the 2nd is later, 31 May is past"
    );
    vendor.role = VendorRole::Controller;
    assert_eq!(Attention::of(&vendor, None, &intervals, now()).dpa, None);
}

#[test]
fn what_the_register_keeps_reads_back_as_it_was_checked() {
    let register = Register::new();
    let vendor = &register.vendor;
    assert_eq!(
        Vendor::parse(vendor.id, &vendor.input(), now()).as_ref(),
        Ok(vendor),
        "a vendor's written form checks into the same vendor"
    );
    let agreement = &register.agreements[0];
    assert_eq!(
        Agreement::parse(
            agreement.id,
            &agreement.input(),
            &catalog(),
            vendor,
            &register.subs,
            now()
        )
        .as_ref(),
        Ok(agreement),
        "and an agreement's into the same agreement"
    );
    let kept = serde_json::to_string(agreement).expect("kept");
    assert_eq!(
        &serde_json::from_str::<Agreement>(&kept).expect("read back"),
        agreement
    );
}
