//! The rules table and the one-destination check, case by case, on fixed dates.

use jiff::civil::Date;

use super::*;
use crate::CountryCode;

fn c(code: &str) -> CountryCode {
    CountryCode::parse(code).expect("a country")
}

fn day(s: &str) -> Date {
    s.parse().expect("a date")
}

const EU_LIST: [&str; 16] = [
    "AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY",
];

#[test]
fn the_shipped_table_holds_the_commissions_list() {
    let rules = TransferRules::default_rules().expect("the shipped table");
    let today = day("2026-06-01");
    let eu: Vec<&str> = rules
        .rows()
        .iter()
        .filter(|r| r.regime == Regime::Gdpr && r.in_force(today))
        .map(|r| r.country.as_str())
        .collect();
    assert_eq!(eu, EU_LIST);
    let us = rules
        .decision(Regime::Gdpr, c("US"), today)
        .expect("the DPF");
    assert_eq!(us.condition, Condition::DpfActive);
    assert_eq!(us.adopted, day("2023-07-10"));
    assert!(rules.version().contains("2026-01-28"));
}

#[test]
fn the_uk_finding_ends_with_its_sunset() {
    let rules = TransferRules::default_rules().expect("the shipped table");
    assert!(
        rules
            .decision(Regime::Gdpr, c("GB"), day("2031-12-27"))
            .is_some()
    );
    assert!(
        rules
            .decision(Regime::Gdpr, c("GB"), day("2031-12-28"))
            .is_none()
    );
    assert!(
        rules
            .decision(Regime::Gdpr, c("BR"), day("2026-01-25"))
            .is_none()
    );
}

#[test]
fn the_uk_list_holds_the_eea_and_its_own_regulations() {
    let rules = TransferRules::default_rules().expect("the shipped table");
    let today = day("2026-06-01");
    for country in ["FR", "NO", "GI", "JE", "CH"] {
        assert!(
            rules.decision(Regime::UkGdpr, c(country), today).is_some(),
            "{country}"
        );
    }
    assert!(rules.decision(Regime::UkGdpr, c("BR"), today).is_none());
    let korea = rules
        .decision(Regime::UkGdpr, c("KR"), today)
        .expect("Korea");
    assert_eq!(korea.applies_from, day("2022-12-19"));
    assert!(
        rules
            .decision(Regime::UkGdpr, c("KR"), day("2022-12-18"))
            .is_none()
    );
}

#[test]
fn configuration_ends_replaces_and_adds() {
    let local = "version = \"local-1\"\n\n[[decision]]\nregime = \"gdpr\"\ncountry = \"US\"\nreference = \"Decision 2023/1795\"\nadopted = \"2023-07-10\"\nvalid_until = \"2026-03-31\"\nscope = \"DPF\"\ncondition = \"dpf_active\"\n\n[[decision]]\nregime = \"gdpr\"\ncountry = \"SG\"\nreference = \"A future decision\"\nadopted = \"2026-05-01\"\nscope = \"Singapore\"\ncondition = \"unconditional\"\n\n[residency]\nCH = \"gdpr\"\n";
    let rules =
        TransferRules::from_sources(&[("default", DEFAULT_ADEQUACY), ("steward.toml", local)])
            .expect("valid");
    let today = day("2026-06-01");
    assert!(
        rules.decision(Regime::Gdpr, c("US"), today).is_none(),
        "ended"
    );
    assert!(
        rules.decision(Regime::Gdpr, c("SG"), today).is_some(),
        "added"
    );
    assert_eq!(
        rules
            .rows()
            .iter()
            .filter(|r| r.country.as_str() == "US")
            .count(),
        2,
        "one row per regime: the EU one replaced, the UK one kept"
    );
    assert_eq!(rules.regime_for(c("CH")), Regime::Gdpr);
    assert_eq!(rules.regime_for(c("BR")), Regime::Unrestricted);
    assert!(rules.version().ends_with("steward.toml local-1"));
}

#[test]
fn bad_rows_are_refused_with_their_line() {
    let row = |regime: &str, country: &str, extra: &str| {
        format!(
            "version = \"x\"\n\n[[decision]]\nregime = \"{regime}\"\ncountry = \"{country}\"\nreference = \"r\"\nadopted = \"2020-01-01\"\nscope = \"s\"\ncondition = \"unconditional\"\n{extra}"
        )
    };
    for (text, why) in [
        (row("gdpr", "XX", ""), "ISO 3166-1"),
        (row("gdpr", "DE", ""), "inside"),
        (row("gdpr", "EEA", ""), "only under uk_gdpr"),
        (row("unrestricted", "US", ""), "unrestricted"),
        (row("ccpa", "US", ""), "regime"),
        (
            row("gdpr", "US", "valid_until = \"2019-12-31\"\n"),
            "in that order",
        ),
        (
            row("gdpr", "US", "applies_from = \"1 May\"\n"),
            "YYYY-MM-DD",
        ),
    ] {
        let e = TransferRules::from_sources(&[("local", &text)]).expect_err(why);
        assert!(e.reason.contains(why), "{e}");
        assert_eq!(e.line, 3, "{e}");
    }
    let unknown = "version = \"x\"\nfavourite = true\n";
    assert_eq!(
        TransferRules::from_sources(&[("local", unknown)])
            .expect_err("unknown key")
            .line,
        2
    );
    let no_version = row("gdpr", "US", "").replace("version = \"x\"\n", "");
    assert!(TransferRules::from_sources(&[("local", &no_version)]).is_err());
    for bad in [
        "[residency]\nDE = \"unrestricted\"\n",
        "[residency]\nCH = \"lgpd\"\n",
    ] {
        assert!(
            TransferRules::from_sources(&[("local", bad)]).is_err(),
            "{bad}"
        );
    }
}

const TODAY: Date = Date::constant(2026, 6, 1);
const LATER: Date = Date::constant(2027, 1, 1);
const EARLIER: Date = Date::constant(2026, 5, 31);

/// One destination to judge: the residency's regime, the country, what the importer brings
/// and what the agreement records. The importer's roles call for module 2 throughout.
struct Case {
    regime: Regime,
    to: &'static str,
    dpf: Option<DpfStatus>,
    uk_extension: bool,
    scope: &'static [&'static str],
    recorded: Option<Mechanism>,
}

fn to(regime: Regime, country: &'static str) -> Case {
    Case {
        regime,
        to: country,
        dpf: None,
        uk_extension: false,
        scope: &[],
        recorded: None,
    }
}

impl Case {
    fn dpf(self, status: DpfStatus) -> Case {
        Case {
            dpf: Some(status),
            ..self
        }
    }

    fn in_scope(self, scope: &'static [&'static str]) -> Case {
        Case { scope, ..self }
    }

    fn with(self, mechanism: Mechanism) -> Case {
        Case {
            recorded: Some(mechanism),
            ..self
        }
    }

    fn check(&self, rules: &TransferRules) -> Result<TransferBasis, TransferRefusal> {
        let dpf = self.dpf.map(|status| DpfRecord {
            status,
            checked_on: Date::constant(2026, 5, 1),
            uk_extension: self.uk_extension,
        });
        let scope: Vec<CountryCode> = self.scope.iter().map(|s| c(s)).collect();
        let importer = Importer {
            scc_module: SccModule::ControllerToProcessor,
            dpf: dpf.as_ref(),
            scope_confirmed: &scope,
        };
        check_destination(
            rules,
            self.regime,
            c(self.to),
            &importer,
            self.recorded.as_ref(),
            TODAY,
        )
    }
}

fn tia(re_evaluate_by: Date) -> Tia {
    Tia {
        assessed_on: Date::constant(2025, 6, 1),
        outcome: TiaOutcome::Proceed,
        supplementary_measures: vec![],
        re_evaluate_by,
    }
}

fn scc(module: u8, uk_addendum: bool, re_evaluate_by: Date) -> Mechanism {
    Mechanism::Scc {
        module: SccModule::from_number(module).expect("a module"),
        uk_addendum,
        tia: tia(re_evaluate_by),
    }
}

fn adequacy(reference: &str) -> Result<TransferBasis, TransferRefusal> {
    Ok(TransferBasis::Adequacy {
        reference: reference.into(),
    })
}

fn gap(gap: Gap) -> Result<TransferBasis, TransferRefusal> {
    Err(TransferRefusal::NoMechanism(gap))
}

#[test]
fn every_mechanism_and_every_refusal() {
    use DpfStatus::{Active, Inactive};
    use Regime::{Gdpr, UkGdpr, Unrestricted};
    let rules = TransferRules::default_rules().expect("the shipped table");
    let dpf_decision =
        "Commission Implementing Decision (EU) 2023/1795 (EU-US Data Privacy Framework)";
    let module_2 = |uk_addendum| {
        Ok(TransferBasis::Scc {
            module: SccModule::ControllerToProcessor,
            uk_addendum,
        })
    };
    let stale = Err(TransferRefusal::TiaStale {
        re_evaluate_by: EARLIER,
    });
    let bcr = Mechanism::Bcr {
        reference: "approved by the Dutch authority".into(),
    };
    let consent = Mechanism::Derogation {
        ground: Art49Ground::ExplicitConsent,
        justification: "the customer asked for it".into(),
        consent_purpose: Some("marketing.communications.email".into()),
    };
    let idta = |until| Mechanism::Idta { tia: tia(until) };
    let cases = [
        (to(Unrestricted, "CN"), Ok(TransferBasis::Unrestricted)),
        (to(Gdpr, "IE"), Ok(TransferBasis::Domestic)),
        (to(UkGdpr, "GB"), Ok(TransferBasis::Domestic)),
        (to(Gdpr, "CH"), adequacy("Commission Decision 2000/518/EC")),
        (
            to(UkGdpr, "DE"),
            adequacy("DPA 2018 Sch. 21 para. 5 (EEA states)"),
        ),
        (to(Gdpr, "US").dpf(Active), adequacy(dpf_decision)),
        (
            to(Gdpr, "JP").in_scope(&["JP"]),
            adequacy("Commission Implementing Decision (EU) 2019/419"),
        ),
        (
            to(Gdpr, "JP").in_scope(&["KR"]),
            gap(Gap::OutsideDecisionScope),
        ),
        (
            to(Gdpr, "US").dpf(Inactive),
            Err(TransferRefusal::DpfInactive),
        ),
        (
            to(Gdpr, "US").with(Mechanism::Adequacy),
            Err(TransferRefusal::DpfInactive),
        ),
        (
            to(UkGdpr, "US").dpf(Active),
            Err(TransferRefusal::DpfInactive),
        ),
        (
            to(Gdpr, "US").dpf(Inactive).with(scc(2, false, LATER)),
            module_2(false),
        ),
        (to(Gdpr, "IN").with(scc(2, false, EARLIER)), stale.clone()),
        (
            to(Gdpr, "IN").with(scc(1, false, EARLIER)),
            Err(TransferRefusal::SccModuleMismatch {
                recorded: SccModule::ControllerToController,
                expected: SccModule::ControllerToProcessor,
            }),
        ),
        (
            to(UkGdpr, "IN").with(scc(2, false, LATER)),
            gap(Gap::SccWithoutUkAddendum),
        ),
        (to(UkGdpr, "IN").with(scc(2, true, LATER)), module_2(true)),
        (to(UkGdpr, "IN").with(idta(LATER)), Ok(TransferBasis::Idta)),
        (to(UkGdpr, "IN").with(idta(EARLIER)), stale),
        (to(Gdpr, "IN").with(idta(LATER)), gap(Gap::IdtaOutsideUk)),
        (to(Gdpr, "IN").with(bcr), Ok(TransferBasis::Bcr)),
        (
            to(Gdpr, "IN").with(consent),
            Ok(TransferBasis::Derogation {
                ground: Art49Ground::ExplicitConsent,
            }),
        ),
        (to(Gdpr, "IN"), gap(Gap::NothingRecorded)),
        (
            to(Gdpr, "IN").with(Mechanism::Adequacy),
            gap(Gap::NoAdequacyDecision),
        ),
    ];
    for (case, expected) in cases {
        assert_eq!(
            case.check(&rules),
            expected,
            "{} to {} with {:?}",
            case.regime,
            case.to,
            case.recorded
        );
    }
}

#[test]
fn the_uk_extension_carries_uk_residents_data_to_the_us() {
    let rules = TransferRules::default_rules().expect("the shipped table");
    let case = Case {
        uk_extension: true,
        ..to(Regime::UkGdpr, "US").dpf(DpfStatus::Active)
    };
    assert_eq!(
        case.check(&rules),
        adequacy(
            "The Data Protection (Adequacy) (United States of America) Regulations 2023 (SI 2023/1028)"
        )
    );
}

#[test]
fn the_eea_is_the_union_the_efta_three_and_the_outermost_regions() {
    assert!(EEA.windows(2).all(|w| w[0] < w[1]), "sorted for the search");
    assert!(EEA.iter().all(|code| CountryCode::parse(code).is_ok()));
    let eu: Vec<CountryCode> = CountryCode::by_name()
        .map(|(code, _)| code)
        .filter(|code| code.is_eu())
        .collect();
    assert_eq!(eu.len(), 27);
    assert!(eu.iter().all(|code| is_eea(*code)), "every EU state");
    for inside in ["IS", "LI", "NO", "RE", "AX"] {
        assert!(is_eea(c(inside)), "{inside}");
    }
    for outside in ["GB", "CH", "PF", "GL", "SJ", "US"] {
        assert!(!is_eea(c(outside)), "{outside}");
    }
    assert_eq!(eea().count(), EEA.len());
}

#[test]
fn each_regime_has_its_home() {
    assert!(Regime::Gdpr.is_home(c("NO")));
    assert!(!Regime::Gdpr.is_home(c("GB")));
    assert!(Regime::UkGdpr.is_home(c("GB")));
    assert!(
        !Regime::UkGdpr.is_home(c("FR")),
        "the EEA is adequate, not home"
    );
    assert!(
        !Regime::UkGdpr.is_home(c("JE")),
        "a Crown dependency is not the UK"
    );
    assert_eq!(Regime::statutory(c("DE")), Regime::Gdpr);
    assert_eq!(Regime::statutory(c("GB")), Regime::UkGdpr);
    assert_eq!(Regime::statutory(c("BR")), Regime::Unrestricted);
}

#[test]
fn the_day_is_the_utc_day() {
    let late = "2026-03-01T23:30:00-05:00"
        .parse::<Timestamp>()
        .expect("time");
    assert_eq!(utc_day(late), Date::constant(2026, 3, 2));
}
