//! I8 as a property: whatever a customer does with their level, their profiling consent and
//! what they declare, a recommendation reads only the attributes the level in force and the
//! reading purpose permit, explains exactly those, and audits exactly those; at off it uses
//! nothing; after a withdrawal nothing derived is left. The level in force is worked out
//! here from the steps alone, not read from the application.
//!
//! Cases: `PROPTEST_CASES` (48 unless set) on SQLite, 8 on PostgreSQL.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use steward_app::core::Catalog;
use steward_app::core::personalization::Facets;
use steward_app::core::personalization::{LIMITED, Level, PROFILED, permits};
use steward_app::{AppError, Evidence, InteractionInput};

use crate::personalization::{Setup, explained_keys, marketer, setup_with};
use crate::support::*;

const DEFAULT_CATALOG: &str = include_str!("../../../steward-core/catalog/default.toml");

/// A declared attribute used only at full, and an offer that consults it: without it the
/// default catalog has no row above basic that a recommendation reads.
const EXTENSION: &str = r#"
[[attribute]]
key = "hobby_categories"
label = "Kinds of product for your hobbies"
category = "user.content"
source = "declared"
min_level = "full"
values = "product_categories"
max_values = 3

[[offer]]
key = "hobby-garden"
title = "For garden hobbyists"
category = "garden"
priority = 2
eligibility = { when = { attribute = "hobby_categories", equals = "garden" } }
"#;

const CATEGORIES: &[&str] = &["garden", "kitchen", "books", "outdoor", "toys"];
const DECLARED: &[&str] = &["liked_categories", "avoid_categories", "hobby_categories"];
/// Derived keys no recommendation consults: planted to see them go with a withdrawal.
const DERIVED: &[&str] = &["preferred_channel", "orders_last_year"];

#[derive(Debug, Clone)]
enum Step {
    ChooseLevel(Level, bool),
    GiveProfiling,
    WithdrawProfiling,
    Declare(usize, Vec<usize>),
    PlantDerived(usize),
    /// Orders of one product category, which the recompute derives a favourite from.
    Orders(usize, usize),
    Recompute,
}

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![
        1 => Just(Level::Off),
        1 => Just(Level::Basic),
        2 => Just(Level::Full)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (level(), any::<bool>()).prop_map(|(l, tick)| Step::ChooseLevel(l, tick)),
        1 => Just(Step::GiveProfiling),
        1 => Just(Step::WithdrawProfiling),
        3 => (0..DECLARED.len(), prop::collection::vec(0..CATEGORIES.len(), 0..=3))
            .prop_map(|(k, v)| Step::Declare(k, v)),
        1 => (0..DERIVED.len()).prop_map(Step::PlantDerived),
        2 => (2..=3usize, 0..CATEGORIES.len()).prop_map(|(n, c)| Step::Orders(n, c)),
        2 => Just(Step::Recompute),
    ]
}

fn case() -> impl Strategy<Value = (Vec<Step>, bool)> {
    (prop::collection::vec(step(), 1..=8), any::<bool>())
}

/// What the steps should have left.
#[derive(Default)]
struct Model {
    chosen: Option<Level>,
    consent: bool,
    derived: bool,
}

impl Model {
    fn effective(&self) -> Level {
        match self.chosen.unwrap_or(Level::Off) {
            Level::Full if !self.consent => Level::Basic,
            l => l,
        }
    }
}

async fn run_case(
    s: &Setup,
    n: usize,
    steps: &[Step],
    profiled: bool,
) -> Result<(), TestCaseError> {
    let subject = s.customer(&format!("c{n}@example.com")).await;
    let id = subject.customer();
    let mut model = Model::default();
    let ev = Evidence::default();
    for step in steps {
        match step {
            Step::ChooseLevel(level, tick) => {
                let r = s
                    .app
                    .own_rights()
                    .choose_level(&subject, *level, *tick, &ev)
                    .await;
                if *level == Level::Full && !tick && !model.consent {
                    prop_assert!(matches!(r, Err(AppError::ConsentRequired { .. })), "{r:?}");
                } else {
                    prop_assert!(r.is_ok(), "{r:?}");
                    model.chosen = Some(*level);
                    model.consent |= *level == Level::Full && *tick;
                    // Choosing full derives the profile at once.
                    model.derived |= *level == Level::Full;
                }
            }
            Step::GiveProfiling => {
                give_consent(&s.app, &agent(&s.app), id, PROFILED).await;
                model.consent = true;
            }
            Step::WithdrawProfiling => {
                s.app
                    .own_rights()
                    .withdraw(&subject, PROFILED, &ev)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                model.consent = false;
                if model.chosen == Some(Level::Full) {
                    model.chosen = Some(Level::Basic);
                }
                model.derived = false;
            }
            Step::Declare(k, values) => {
                let key = DECLARED[*k];
                s.app
                    .own_rights()
                    .correct_attribute(
                        &subject,
                        key,
                        values.iter().map(|v| CATEGORIES[*v].to_string()).collect(),
                    )
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Step::PlantDerived(k) => {
                s.plant_inferred(id, DERIVED[*k]).await;
                model.derived = true;
            }
            Step::Orders(n, c) => {
                for _ in 0..*n {
                    s.app
                        .interactions()
                        .add(
                            &agent(&s.app),
                            id,
                            InteractionInput {
                                kind: "order".into(),
                                occurred_at: None,
                                summary: "an order".into(),
                                body: None,
                                facets: Facets {
                                    categories: vec![CATEGORIES[*c].into()],
                                    ..Facets::default()
                                },
                            },
                        )
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            Step::Recompute => {
                let report = s
                    .app
                    .personalization()
                    .for_customers(&operator(&s.app, "personalization", &[PROFILED]), &[id])
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                model.derived |= report.customers > 0;
            }
        }
    }

    // Both purposes read the same customer, the one named first last: the audit entry
    // compared is the newest.
    let order = if profiled {
        [LIMITED, PROFILED]
    } else {
        [PROFILED, LIMITED]
    };
    for purpose in order {
        let ceiling = Level::ceiling_of(purpose).expect("a personalization purpose");
        let level = model.effective();
        let r = s
            .app
            .personalization()
            .recommend(&marketer(&s.app, purpose), id, None)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let explained = explained_keys(&r);
        for a in &r.explanation.attributes {
            prop_assert!(
                permits(level, ceiling, a.min_level),
                "{} (at least {}) read at {level} for {purpose}",
                a.key,
                a.min_level
            );
        }
        // What is stored, read from the database itself, and what I8 lets this read use.
        let book = s.app.catalog().personalization();
        let consulted = book.consults();
        let stored = s.stored_rows(id).await;
        let expected: BTreeSet<&str> = stored
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| consulted.iter().any(|c| c == k))
            .filter(|k| {
                book.min_level(k)
                    .is_some_and(|min| permits(level, ceiling, min))
            })
            .collect();
        let got: BTreeSet<&str> = explained.iter().map(String::as_str).collect();
        prop_assert_eq!(got, expected, "{}", purpose);
        prop_assert_eq!(r.explanation.level, level.min(ceiling));
        prop_assert_eq!(&s.last_read_fields(id).await, &explained);
        if level.min(ceiling) == Level::Off {
            prop_assert!(!r.personalized);
            prop_assert!(explained.is_empty());
        } else {
            prop_assert!(r.personalized);
        }
    }
    let rows = s.stored_rows(id).await;
    if !model.derived {
        prop_assert!(
            rows.iter().all(|(_, source)| source == "declared"),
            "{rows:?}"
        );
    }
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn property(pg: bool, cases: u32) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let catalog = Catalog::from_sources(&[
        ("default catalog", DEFAULT_CATALOG),
        ("i8 extension", EXTENSION),
    ])
    .expect("catalog");
    let s = rt.block_on(setup_with(pg, catalog));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let n = AtomicUsize::new(0);
    let outcome = runner.run(&case(), |(steps, profiled)| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        rt.block_on(run_case(&s, i, &steps, profiled))
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn a_recommendation_reads_explains_and_audits_only_what_i8_permits() {
    property(false, cases(48));
}

#[test]
fn a_recommendation_reads_explains_and_audits_only_what_i8_permits_postgres() {
    property(true, 8);
}
