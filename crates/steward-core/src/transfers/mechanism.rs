//! The tools a transfer may rest on besides adequacy, as an agreement records them, and the
//! Data Privacy Framework status the United States' adequacy finding depends on.

use jiff::civil::Date;

use super::Regime;

vocabulary!(
    /// The module of the standard contractual clauses (Commission Implementing Decision (EU)
    /// 2021/914), named by the roles of exporter and importer.
    SccModule {
        ControllerToController => "controller_to_controller",
        ControllerToProcessor => "controller_to_processor",
        ProcessorToProcessor => "processor_to_processor",
        ProcessorToController => "processor_to_controller",
    }
);

impl SccModule {
    /// The module's number in the Decision's annex, as contracts cite it.
    pub fn number(self) -> u8 {
        match self {
            SccModule::ControllerToController => 1,
            SccModule::ControllerToProcessor => 2,
            SccModule::ProcessorToProcessor => 3,
            SccModule::ProcessorToController => 4,
        }
    }

    pub fn from_number(n: u8) -> Option<SccModule> {
        SccModule::ALL.iter().copied().find(|m| m.number() == n)
    }
}

vocabulary!(
    /// The derogations of GDPR Art. 49(1)(a) to (g). The second subparagraph (compelling
    /// legitimate interests) needs the supervisory authority told of each transfer, which no
    /// recorded agreement can stand for, so it is not offered.
    Art49Ground {
        ExplicitConsent => "explicit_consent",
        ContractWithSubject => "contract_with_subject",
        ContractForSubject => "contract_for_subject",
        PublicInterest => "public_interest",
        LegalClaims => "legal_claims",
        VitalInterests => "vital_interests",
        PublicRegister => "public_register",
    }
);

impl Art49Ground {
    /// The point of Art. 49(1) it rests on.
    pub fn point(self) -> &'static str {
        match self {
            Art49Ground::ExplicitConsent => "49(1)(a)",
            Art49Ground::ContractWithSubject => "49(1)(b)",
            Art49Ground::ContractForSubject => "49(1)(c)",
            Art49Ground::PublicInterest => "49(1)(d)",
            Art49Ground::LegalClaims => "49(1)(e)",
            Art49Ground::VitalInterests => "49(1)(f)",
            Art49Ground::PublicRegister => "49(1)(g)",
        }
    }
}

vocabulary!(
    /// What a transfer impact assessment concluded. An assessment that found the transfer
    /// cannot be made safe leaves nothing to record: that destination is not agreed.
    TiaOutcome {
        Proceed => "proceed",
        ProceedWithMeasures => "proceed_with_measures",
    }
);

/// A transfer impact assessment (Clause 14 of the SCCs; the UK's transfer risk assessment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tia {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub assessed_on: Date,
    pub outcome: TiaOutcome,
    /// Needed when the outcome is `proceed_with_measures`: what makes the transfer safe.
    #[serde(default)]
    pub supplementary_measures: Vec<String>,
    /// The day by which the assessment is to be made again; good through that day.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub re_evaluate_by: Date,
}

impl Tia {
    pub fn is_current(&self, today: Date) -> bool {
        today <= self.re_evaluate_by
    }
}

/// A checked transfer mechanism, as an agreement's destination records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mechanism {
    /// The destination's adequacy finding; nothing else is signed.
    Adequacy,
    /// The 2021 standard contractual clauses; with the UK's addendum they also carry data of
    /// UK residents.
    Scc {
        module: SccModule,
        uk_addendum: bool,
        tia: Tia,
    },
    /// The UK's International Data Transfer Agreement: for UK residents' data only.
    Idta { tia: Tia },
    /// Binding corporate rules approved for the importer's group.
    Bcr { reference: String },
    Derogation {
        ground: Art49Ground,
        justification: String,
        /// For explicit consent (Art. 49(1)(a)): the purpose whose given consent is it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        consent_purpose: Option<String>,
    },
}

impl Mechanism {
    /// The assessment the mechanism rests on, where it needs one.
    pub fn tia(&self) -> Option<&Tia> {
        match self {
            Mechanism::Scc { tia, .. } | Mechanism::Idta { tia } => Some(tia),
            _ => None,
        }
    }
}

vocabulary!(
    /// An organisation's standing on the Data Privacy Framework List.
    DpfStatus {
        Active => "active",
        Inactive => "inactive",
    }
);

/// What the privacy officer found on the Data Privacy Framework List for a US vendor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DpfRecord {
    pub status: DpfStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub checked_on: Date,
    /// Whether the certification extends to the UK Extension, which UK residents' data needs.
    #[serde(default)]
    pub uk_extension: bool,
}

impl DpfRecord {
    /// Whether the certification carries data of residents under `regime`.
    pub fn is_active_for(&self, regime: Regime) -> bool {
        self.status == DpfStatus::Active && (regime != Regime::UkGdpr || self.uk_extension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_round_trip_their_numbers() {
        for m in SccModule::ALL {
            assert_eq!(SccModule::from_number(m.number()), Some(*m));
        }
        assert_eq!(SccModule::from_number(0), None);
        assert_eq!(SccModule::from_number(5), None);
        assert_eq!(SccModule::ControllerToProcessor.number(), 2);
    }

    #[test]
    fn an_assessment_is_current_through_its_re_evaluation_day() {
        let tia = Tia {
            assessed_on: Date::constant(2025, 1, 10),
            outcome: TiaOutcome::Proceed,
            supplementary_measures: vec![],
            re_evaluate_by: Date::constant(2026, 1, 10),
        };
        assert!(tia.is_current(Date::constant(2026, 1, 10)));
        assert!(!tia.is_current(Date::constant(2026, 1, 11)));
    }

    #[test]
    fn the_uk_needs_the_uk_extension() {
        let mut dpf = DpfRecord {
            status: DpfStatus::Active,
            checked_on: Date::constant(2026, 1, 5),
            uk_extension: false,
        };
        assert!(dpf.is_active_for(Regime::Gdpr));
        assert!(!dpf.is_active_for(Regime::UkGdpr));
        dpf.uk_extension = true;
        assert!(dpf.is_active_for(Regime::UkGdpr));
        dpf.status = DpfStatus::Inactive;
        assert!(!dpf.is_active_for(Regime::Gdpr));
    }
}
