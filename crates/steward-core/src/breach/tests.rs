use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::*;
use crate::sharing::InvalidCode;

fn at(hours: i64) -> Timestamp {
    let t0: Timestamp = "2026-03-02T09:30:00Z".parse().expect("timestamp");
    t0.checked_add(SignedDuration::from_hours(hours))
        .expect("in range")
}

fn input() -> BreachInput {
    BreachInput {
        title: "Support laptop stolen".into(),
        detected_at: at(-2),
        aware_at: at(0),
        found_by: "The agent reported it.\r\nPolice report filed.".into(),
        reported_by_vendor: None,
        processor_notice_at: None,
        nature: vec![Nature::Confidentiality],
        systems: vec!["console".into()],
        window: None,
        categories: vec!["contact".into()],
        special_categories: false,
        customers: Counts::default(),
        records: Counts::default(),
        consequences: None,
        measures_taken: None,
        measures_proposed: None,
        risk: None,
        risk_reasoning: None,
        authority: None,
        customer_decision: None,
        closed_at: None,
    }
}

fn parse(i: &BreachInput, now: Timestamp) -> Result<Breach, crate::sharing::InvalidInput> {
    Breach::parse(Uuid::nil(), i, now, &|c| c == "contact" || c == "health")
}

fn notified(hours_after: i64, delay: Option<&str>) -> BreachInput {
    BreachInput {
        risk: Some(Risk::Risk),
        risk_reasoning: Some("Addresses may be used for phishing.".into()),
        authority: Some(AuthorityDecision {
            notify: true,
            notified_at: Some(at(hours_after)),
            authorities: vec!["BfDI".into()],
            reference: None,
            delay_reason: delay.map(str::to_owned),
            reason: None,
        }),
        ..input()
    }
}

#[test]
fn the_clock_runs_from_awareness_and_stops_at_the_decision() {
    let b = parse(&input(), at(1)).expect("valid");
    assert_eq!(b.deadline(), at(DEADLINE_HOURS));
    assert_eq!(b.clock(at(1)), ClockState::Running);
    assert_eq!(b.clock(at(71)), ClockState::DueSoon);
    assert_eq!(b.clock(at(73)), ClockState::Overdue);
    assert!((b.hours_left(at(70)) - 2.0).abs() < 1e-9);
    let decided = parse(
        &notified(80, Some("The scope took a week to establish.")),
        at(90),
    )
    .expect("valid");
    assert_eq!(decided.clock(at(90)), ClockState::Decided);
}

#[test]
fn milestones_come_at_opening_and_at_24_and_6_hours_left() {
    let b = parse(&input(), at(1)).expect("valid");
    assert_eq!(b.milestones_reached(at(1)), [Milestone::Opened]);
    assert_eq!(
        b.milestones_reached(at(48)),
        [Milestone::Opened, Milestone::Left24h]
    );
    assert_eq!(b.milestones_reached(at(66)), Milestone::ALL);
    let decided = parse(&notified(10, None), at(20)).expect("valid");
    assert!(decided.milestones_reached(at(70)).is_empty());
}

#[test]
fn a_late_notification_gives_its_reason() {
    assert!(parse(&notified(72, None), at(80)).is_ok());
    let late = parse(&notified(73, None), at(80)).expect_err("late without reason");
    assert_eq!(
        (late.field.as_str(), late.code),
        ("authority.delay_reason", InvalidCode::Required)
    );
    assert!(
        parse(
            &notified(73, Some("Waited for the forensic report.")),
            at(80)
        )
        .is_ok()
    );
}

#[test]
fn a_risky_breach_is_notified_and_a_high_risk_one_told_or_exempted() {
    let mut i = notified(10, None);
    i.authority = Some(AuthorityDecision {
        notify: false,
        notified_at: None,
        authorities: vec![],
        reference: None,
        delay_reason: None,
        reason: Some("Encrypted laptop.".into()),
    });
    let e = parse(&i, at(20)).expect_err("risk not notified");
    assert_eq!(e.field, "authority.notify");
    i.risk = Some(Risk::None);
    assert!(parse(&i, at(20)).is_ok());

    let mut high = notified(10, None);
    high.risk = Some(Risk::High);
    high.customer_decision = Some(CustomerDecision {
        notify: false,
        exemption: None,
        evidence: None,
    });
    let e = parse(&high, at(20)).expect_err("no exemption");
    assert_eq!(e.field, "customer_decision.exemption");
    high.customer_decision = Some(CustomerDecision {
        notify: false,
        exemption: Some(Exemption::A),
        evidence: None,
    });
    let e = parse(&high, at(20)).expect_err("no evidence");
    assert_eq!(e.field, "customer_decision.evidence");
}

#[test]
fn what_is_written_must_hold_together() {
    let cases: Vec<(BreachInput, &str, InvalidCode)> = vec![
        (
            BreachInput {
                aware_at: at(-3),
                ..input()
            },
            "aware_at",
            InvalidCode::EndsBeforeStart,
        ),
        (
            BreachInput {
                aware_at: at(5),
                ..input()
            },
            "aware_at",
            InvalidCode::InFuture,
        ),
        (
            BreachInput {
                nature: vec![],
                ..input()
            },
            "nature",
            InvalidCode::Required,
        ),
        (
            BreachInput {
                categories: vec!["contact".into(), "astrology".into()],
                ..input()
            },
            "categories[1]",
            InvalidCode::UnknownCategory,
        ),
        (
            BreachInput {
                window: Some(Window {
                    from: at(-1),
                    to: at(-1),
                }),
                ..input()
            },
            "window.to",
            InvalidCode::EndsBeforeStart,
        ),
        (
            BreachInput {
                customers: Counts {
                    confirmed: Some(10),
                    possible: Some(3),
                },
                ..input()
            },
            "customers.possible",
            InvalidCode::OutOfRange,
        ),
        (
            BreachInput {
                closed_at: Some(at(1)),
                ..input()
            },
            "authority",
            InvalidCode::Required,
        ),
        (
            BreachInput {
                title: "a\u{0007}b".into(),
                ..input()
            },
            "title",
            InvalidCode::ControlCharacters,
        ),
    ];
    for (i, field, code) in cases {
        let e = parse(&i, at(2)).expect_err(field);
        assert_eq!((e.field.as_str(), e.code), (field, code));
    }
    let b = parse(&input(), at(2)).expect("valid");
    assert_eq!(b.found_by, "The agent reported it.\nPolice report filed.");
    assert_eq!(parse(&b.input(), at(2)).expect("round trip"), b);
}

fn plan_input() -> BreachPlanInput {
    let step = |step, owner: &str| PlanStep {
        step,
        owner: owner.into(),
        description: "Do it.".into(),
    };
    BreachPlanInput {
        team: vec![
            TeamMember {
                role: "lead".into(),
                name: "Grace Hopper".into(),
                email: "Grace@Example.org".into(),
            },
            TeamMember {
                role: "dpo".into(),
                name: "Ada Lovelace".into(),
                email: "dpo@example.org".into(),
            },
        ],
        lead_authority: Authority {
            name: "BfDI".into(),
            contact: "https://www.bfdi.bund.de".into(),
        },
        authorities: [(
            "fr".to_owned(),
            Authority {
                name: "CNIL".into(),
                contact: "https://notifications.cnil.fr".into(),
            },
        )]
        .into(),
        steps: vec![
            step(StepKind::Review, "lead"),
            step(StepKind::Contain, "lead"),
            step(StepKind::Assess, "dpo"),
            step(StepKind::NotifyAuthority, "dpo"),
            step(StepKind::NotifyCustomers, "dpo"),
        ],
    }
}

#[test]
fn the_plan_has_every_step_once_each_owned_by_the_team() {
    let plan = BreachPlan::parse(&plan_input()).expect("valid");
    assert_eq!(
        plan.steps.iter().map(|s| s.step).collect::<Vec<_>>(),
        StepKind::ALL
    );
    assert_eq!(plan.team[0].email, "grace@example.org");
    let fr = crate::CountryCode::parse("FR").expect("FR");
    let de = crate::CountryCode::parse("DE").expect("DE");
    assert_eq!(plan.authority_for(fr).name, "CNIL");
    assert_eq!(plan.authority_for(de).name, "BfDI");

    let mut missing = plan_input();
    missing.steps.retain(|s| s.step != StepKind::Assess);
    assert_eq!(
        BreachPlan::parse(&missing).expect_err("missing").field,
        "steps"
    );
    let mut stranger = plan_input();
    stranger.steps[2].owner = "intern".into();
    let e = BreachPlan::parse(&stranger).expect_err("owner");
    assert_eq!(
        (e.field.as_str(), e.code),
        ("steps[2].owner", InvalidCode::UnknownRole)
    );
    let mut bad = plan_input();
    bad.authorities
        .insert("XX".into(), bad.lead_authority.clone());
    assert_eq!(
        BreachPlan::parse(&bad).expect_err("country").field,
        "authorities.XX"
    );
}
