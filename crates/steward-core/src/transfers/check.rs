//! The check of one destination: the basis a transfer rests on, or why there is none.

use jiff::civil::Date;

use super::{Art49Ground, Condition, DpfRecord, Mechanism, Regime, SccModule, TransferRules};
use crate::CountryCode;

/// What the check needs to know of the party receiving the data there.
#[derive(Debug, Clone, Copy)]
pub struct Importer<'a> {
    /// The module of the standard contractual clauses the parties' roles call for.
    pub scc_module: SccModule,
    pub dpf: Option<&'a DpfRecord>,
    /// Countries whose adequacy finding the privacy officer confirmed covers this importer.
    pub scope_confirmed: &'a [CountryCode],
}

/// The basis a transfer to one destination rests on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferBasis {
    /// No transfer restriction applies to the customer's residency.
    Unrestricted,
    /// The destination is inside the regime's own area.
    Domestic,
    Adequacy {
        reference: String,
    },
    Scc {
        module: SccModule,
        uk_addendum: bool,
    },
    Idta,
    Bcr,
    /// Under Art. 49(1)(a) only for the customers who gave their explicit consent to it.
    Derogation {
        ground: Art49Ground,
    },
}

vocabulary!(
    /// Why no mechanism carries a transfer to a destination.
    Gap {
        NothingRecorded => "nothing_recorded",
        NoAdequacyDecision => "no_adequacy_decision",
        OutsideDecisionScope => "outside_decision_scope",
        SccWithoutUkAddendum => "scc_without_uk_addendum",
        IdtaOutsideUk => "idta_outside_uk",
        OnwardTransferNotAllowed => "onward_transfer_not_allowed",
    }
);

impl Gap {
    pub fn explain(self) -> &'static str {
        match self {
            Gap::NothingRecorded => "no adequacy finding covers it and no safeguard is recorded",
            Gap::NoAdequacyDecision => {
                "the agreement relies on an adequacy finding that is not in force"
            }
            Gap::OutsideDecisionScope => {
                "its adequacy finding covers only some recipients and this one is not confirmed among them"
            }
            Gap::SccWithoutUkAddendum => {
                "the standard contractual clauses carry UK residents' data only with the UK addendum"
            }
            Gap::IdtaOutsideUk => "the IDTA carries only UK residents' data",
            Gap::OnwardTransferNotAllowed => "the agreement allows no onward transfer",
        }
    }
}

/// Why a transfer to one destination is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferRefusal {
    NoMechanism(Gap),
    TiaStale {
        re_evaluate_by: Date,
    },
    SccModuleMismatch {
        recorded: SccModule,
        expected: SccModule,
    },
    /// The United States' finding would carry it, but the importer is not actively certified.
    DpfInactive,
}

/// Judges one destination. An adequacy finding in force whose condition holds carries the
/// transfer whatever else is recorded; otherwise the recorded mechanism must, and its own
/// defect is the reason given. Of an SCC's defects the contract's (the wrong module) is named
/// before the assessment's, which is renewed more often and is fixed without new signatures.
pub fn check_destination(
    rules: &TransferRules,
    regime: Regime,
    country: CountryCode,
    importer: &Importer<'_>,
    recorded: Option<&Mechanism>,
    today: Date,
) -> Result<TransferBasis, TransferRefusal> {
    if regime == Regime::Unrestricted {
        return Ok(TransferBasis::Unrestricted);
    }
    if regime.is_home(country) {
        return Ok(TransferBasis::Domestic);
    }
    let decision = rules.decision(regime, country, today);
    let mut dpf_lapsed = false;
    let mut gap = Gap::NothingRecorded;
    if let Some(row) = decision {
        let holds = match row.condition {
            Condition::Unconditional => true,
            Condition::DpfActive => {
                dpf_lapsed = !importer.dpf.is_some_and(|d| d.is_active_for(regime));
                !dpf_lapsed
            }
            Condition::RecipientInScope => {
                gap = Gap::OutsideDecisionScope;
                importer.scope_confirmed.contains(&country)
            }
        };
        if holds {
            return Ok(TransferBasis::Adequacy {
                reference: row.reference.clone(),
            });
        }
    }
    match recorded {
        None | Some(Mechanism::Adequacy) if dpf_lapsed => Err(TransferRefusal::DpfInactive),
        Some(Mechanism::Adequacy) if decision.is_none() => {
            Err(TransferRefusal::NoMechanism(Gap::NoAdequacyDecision))
        }
        None | Some(Mechanism::Adequacy) => Err(TransferRefusal::NoMechanism(gap)),
        Some(Mechanism::Scc {
            module,
            uk_addendum,
            tia,
        }) => {
            if regime == Regime::UkGdpr && !uk_addendum {
                Err(TransferRefusal::NoMechanism(Gap::SccWithoutUkAddendum))
            } else if *module != importer.scc_module {
                Err(TransferRefusal::SccModuleMismatch {
                    recorded: *module,
                    expected: importer.scc_module,
                })
            } else if !tia.is_current(today) {
                Err(TransferRefusal::TiaStale {
                    re_evaluate_by: tia.re_evaluate_by,
                })
            } else {
                Ok(TransferBasis::Scc {
                    module: *module,
                    uk_addendum: *uk_addendum,
                })
            }
        }
        Some(Mechanism::Idta { tia }) => {
            if regime != Regime::UkGdpr {
                Err(TransferRefusal::NoMechanism(Gap::IdtaOutsideUk))
            } else if !tia.is_current(today) {
                Err(TransferRefusal::TiaStale {
                    re_evaluate_by: tia.re_evaluate_by,
                })
            } else {
                Ok(TransferBasis::Idta)
            }
        }
        Some(Mechanism::Bcr { .. }) => Ok(TransferBasis::Bcr),
        Some(Mechanism::Derogation { ground, .. }) => {
            Ok(TransferBasis::Derogation { ground: *ground })
        }
    }
}
