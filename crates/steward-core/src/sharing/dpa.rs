//! The data processing agreement a processor signs (GDPR Art. 28(3)) and its checklist: what
//! the contract must make the processor do. A DPA whose checklist has a gap, or whose term has
//! ended, does not carry processing.

use jiff::civil::Date;

use super::invalid::{InvalidCode, InvalidInput, invalid, past, text};

vocabulary!(
    /// The terms Art. 28(3)(a) to (h) require in the contract.
    ChecklistItem {
        Instructions => "instructions",
        Confidentiality => "confidentiality",
        Security => "security",
        SubProcessorConditions => "sub_processor_conditions",
        HelpWithRequests => "help_with_requests",
        HelpWithArts32To36 => "help_with_arts_32_to_36",
        DeletionOrReturn => "deletion_or_return",
        Audits => "audits",
    }
);

impl ChecklistItem {
    /// The point of Art. 28(3) it comes from.
    pub fn point(self) -> &'static str {
        match self {
            ChecklistItem::Instructions => "28(3)(a)",
            ChecklistItem::Confidentiality => "28(3)(b)",
            ChecklistItem::Security => "28(3)(c)",
            ChecklistItem::SubProcessorConditions => "28(3)(d)",
            ChecklistItem::HelpWithRequests => "28(3)(e)",
            ChecklistItem::HelpWithArts32To36 => "28(3)(f)",
            ChecklistItem::DeletionOrReturn => "28(3)(g)",
            ChecklistItem::Audits => "28(3)(h)",
        }
    }
}

/// Which terms the signed contract holds; a term left out is not held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DpaChecklist {
    /// Processing only on documented instructions, transfers to third countries included.
    pub instructions: bool,
    /// Everyone authorised to process is bound to confidentiality.
    pub confidentiality: bool,
    /// The security measures of Art. 32.
    pub security: bool,
    /// Sub-processors only with authorisation and under the same obligations.
    pub sub_processor_conditions: bool,
    /// Help in answering data subjects' requests.
    pub help_with_requests: bool,
    /// Help with security, breach notification and impact assessments (Arts. 32 to 36).
    pub help_with_arts_32_to_36: bool,
    /// Deletion or return of the data at the end of the service.
    pub deletion_or_return: bool,
    /// Information for, and submission to, audits and inspections.
    pub audits: bool,
}

impl DpaChecklist {
    pub fn holds(&self, item: ChecklistItem) -> bool {
        match item {
            ChecklistItem::Instructions => self.instructions,
            ChecklistItem::Confidentiality => self.confidentiality,
            ChecklistItem::Security => self.security,
            ChecklistItem::SubProcessorConditions => self.sub_processor_conditions,
            ChecklistItem::HelpWithRequests => self.help_with_requests,
            ChecklistItem::HelpWithArts32To36 => self.help_with_arts_32_to_36,
            ChecklistItem::DeletionOrReturn => self.deletion_or_return,
            ChecklistItem::Audits => self.audits,
        }
    }

    /// The terms the contract lacks, in the order of the Article.
    pub fn missing(&self) -> Vec<ChecklistItem> {
        ChecklistItem::ALL
            .iter()
            .copied()
            .filter(|item| !self.holds(*item))
            .collect()
    }

    pub fn is_complete(&self) -> bool {
        self.missing().is_empty()
    }
}

/// A signed data processing agreement, identified by the hash of the signed document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dpa {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub signed_on: Date,
    pub version: String,
    /// SHA-256 of the signed document, 64 hexadecimal digits.
    pub sha256: String,
    /// The last day it binds, if its term is limited.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub expires_on: Option<Date>,
    #[serde(default)]
    pub checklist: DpaChecklist,
}

impl Dpa {
    /// Checks a DPA as given; the hash is kept in lower case.
    pub(crate) fn checked(&self, today: Date) -> Result<Dpa, InvalidInput> {
        let signed_on = past("dpa.signed_on", self.signed_on, today)?;
        let version = text("dpa.version", &self.version, 64, false)?;
        let sha256 = self.sha256.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "dpa.sha256",
                InvalidCode::Malformed,
                "must be the document's SHA-256: 64 hexadecimal digits",
            ));
        }
        if self.expires_on.is_some_and(|end| end < signed_on) {
            return Err(invalid(
                "dpa.expires_on",
                InvalidCode::EndsBeforeStart,
                "must not be before the day it was signed",
            ));
        }
        Ok(Dpa {
            signed_on,
            version,
            sha256,
            expires_on: self.expires_on,
            checklist: self.checklist,
        })
    }
}

/// Whether a vendor's DPA carries processing today, and if not, why. An expired contract is
/// named before a gap in its checklist: a new one is needed either way, and the gap may be
/// closed in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DpaState {
    Missing,
    Expired {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        on: Date,
    },
    Incomplete {
        missing: Vec<ChecklistItem>,
    },
    Current,
}

impl DpaState {
    pub fn of(dpa: Option<&Dpa>, today: Date) -> DpaState {
        match dpa {
            None => DpaState::Missing,
            Some(dpa) => match dpa.expires_on {
                Some(last) if today > last => DpaState::Expired { on: last },
                _ if !dpa.checklist.is_complete() => DpaState::Incomplete {
                    missing: dpa.checklist.missing(),
                },
                _ => DpaState::Current,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = Date::constant(2026, 6, 1);

    fn complete() -> DpaChecklist {
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

    fn dpa() -> Dpa {
        Dpa {
            signed_on: Date::constant(2025, 3, 1),
            version: "2.1".into(),
            sha256: "AB".repeat(32),
            expires_on: Some(Date::constant(2027, 2, 28)),
            checklist: complete(),
        }
    }

    #[test]
    fn each_missing_term_is_named_with_its_point() {
        assert!(complete().is_complete());
        for item in ChecklistItem::ALL {
            let mut list = complete();
            let flag = match item {
                ChecklistItem::Instructions => &mut list.instructions,
                ChecklistItem::Confidentiality => &mut list.confidentiality,
                ChecklistItem::Security => &mut list.security,
                ChecklistItem::SubProcessorConditions => &mut list.sub_processor_conditions,
                ChecklistItem::HelpWithRequests => &mut list.help_with_requests,
                ChecklistItem::HelpWithArts32To36 => &mut list.help_with_arts_32_to_36,
                ChecklistItem::DeletionOrReturn => &mut list.deletion_or_return,
                ChecklistItem::Audits => &mut list.audits,
            };
            *flag = false;
            assert_eq!(list.missing(), vec![*item]);
        }
        assert_eq!(DpaChecklist::default().missing().len(), 8);
        assert_eq!(ChecklistItem::Audits.point(), "28(3)(h)");
    }

    #[test]
    fn the_state_follows_the_term_and_the_checklist() {
        assert_eq!(DpaState::of(None, TODAY), DpaState::Missing);
        assert_eq!(DpaState::of(Some(&dpa()), TODAY), DpaState::Current);
        let last_day = Date::constant(2027, 2, 28);
        assert_eq!(DpaState::of(Some(&dpa()), last_day), DpaState::Current);
        let after = Date::constant(2027, 3, 1);
        assert_eq!(
            DpaState::of(Some(&dpa()), after),
            DpaState::Expired { on: last_day }
        );
        let gap = Dpa {
            checklist: DpaChecklist {
                audits: false,
                ..complete()
            },
            ..dpa()
        };
        assert_eq!(
            DpaState::of(Some(&gap), TODAY),
            DpaState::Incomplete {
                missing: vec![ChecklistItem::Audits]
            }
        );
        assert!(matches!(
            DpaState::of(Some(&gap), after),
            DpaState::Expired { .. }
        ));
    }

    #[test]
    fn a_dpa_is_checked_by_field() {
        let ok = dpa().checked(TODAY).expect("valid");
        assert_eq!(ok.sha256, "ab".repeat(32));
        for (bad, field, code) in [
            (
                Dpa {
                    sha256: "ab".repeat(31),
                    ..dpa()
                },
                "dpa.sha256",
                InvalidCode::Malformed,
            ),
            (
                Dpa {
                    sha256: "zz".repeat(32),
                    ..dpa()
                },
                "dpa.sha256",
                InvalidCode::Malformed,
            ),
            (
                Dpa {
                    signed_on: Date::constant(2026, 6, 2),
                    expires_on: None,
                    ..dpa()
                },
                "dpa.signed_on",
                InvalidCode::InFuture,
            ),
            (
                Dpa {
                    expires_on: Some(Date::constant(2025, 2, 28)),
                    ..dpa()
                },
                "dpa.expires_on",
                InvalidCode::EndsBeforeStart,
            ),
            (
                Dpa {
                    version: " ".into(),
                    ..dpa()
                },
                "dpa.version",
                InvalidCode::Required,
            ),
        ] {
            let e = bad.checked(TODAY).expect_err(field);
            assert_eq!((e.field.as_str(), e.code), (field, code), "{e}");
        }
    }
}
