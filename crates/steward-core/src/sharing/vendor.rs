//! The vendor register: who receives customers' data, in which role, where it is established,
//! keeps and reads the data, under which contract and certifications, and how closely it is
//! watched.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use uuid::Uuid;

use super::dpa::{Dpa, DpaState};
use super::invalid::{InvalidCode, InvalidInput, countries, invalid, optional_text, past, text};
use crate::CountryCode;
use crate::transfers::{DpfRecord, Importer, SccModule, utc_day};

vocabulary!(
    /// The vendor's role towards Steward's operator, who is the controller.
    VendorRole {
        Processor => "processor",
        SubProcessor => "sub_processor",
        Controller => "controller",
        JointController => "joint_controller",
    }
);

impl VendorRole {
    /// The SCC module a transfer to this vendor calls for. The operator exports as controller,
    /// so module 4 never fits; a sub-processor receives from the processor that engaged it.
    pub fn scc_module(self) -> SccModule {
        match self {
            VendorRole::Processor => SccModule::ControllerToProcessor,
            VendorRole::SubProcessor => SccModule::ProcessorToProcessor,
            VendorRole::Controller | VendorRole::JointController => {
                SccModule::ControllerToController
            }
        }
    }

    /// Processors act only under an Art. 28 contract; controllers are bound by the
    /// data-sharing agreement itself.
    pub fn needs_dpa(self) -> bool {
        matches!(self, VendorRole::Processor | VendorRole::SubProcessor)
    }
}

vocabulary!(
    VendorStatus {
        Onboarding => "onboarding",
        Active => "active",
        Suspended => "suspended",
        Offboarded => "offboarded",
    }
);

vocabulary!(
    CertificationScheme {
        IsoIec27001 => "iso_iec_27001",
        IsoIec27701 => "iso_iec_27701",
        Soc2Type2 => "soc2_type2",
        Other => "other",
    }
);

/// How the processor may engage sub-processors (Art. 28(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubProcessorAuthorisation {
    /// Each sub-processor approved one by one.
    Specific,
    /// Any sub-processor, after notice of the change that leaves time to object.
    General {
        #[serde(default)]
        notice_days: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certification {
    pub scheme: CertificationScheme,
    /// The scheme's name, for `other`.
    #[serde(default)]
    pub name: Option<String>,
    /// What the certificate covers: services, sites.
    pub scope: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub expires_on: Date,
}

/// How soon before its end a certification is flagged for renewal.
pub const CERTIFICATION_NOTICE_DAYS: i32 = 30;

impl Certification {
    pub fn is_expired(&self, today: Date) -> bool {
        today > self.expires_on
    }

    /// Still valid, but ending within [`CERTIFICATION_NOTICE_DAYS`].
    pub fn expires_soon(&self, today: Date) -> bool {
        let horizon = today
            .checked_add(CERTIFICATION_NOTICE_DAYS.days())
            .unwrap_or(Date::MAX);
        !self.is_expired(today) && self.expires_on <= horizon
    }
}

/// A risk tier from 1 (lowest) to 4 (highest); the tier sets how often the vendor is reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RiskTier(u8);

impl RiskTier {
    pub fn new(tier: u8) -> Option<RiskTier> {
        (1..=4).contains(&tier).then_some(RiskTier(tier))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A vendor as written, in the API or a form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorInput {
    pub legal_name: String,
    pub address: String,
    pub contact_person: String,
    pub role: VendorRole,
    /// The processor that engaged it; for a sub-processor only.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// ISO 3166-1 alpha-2 codes, as for every list of countries here.
    pub established_in: Vec<String>,
    pub stores_in: Vec<String>,
    #[serde(default)]
    pub accesses_from: Vec<String>,
    #[serde(default)]
    pub dpa: Option<Dpa>,
    #[serde(default)]
    pub sub_processor_authorisation: Option<SubProcessorAuthorisation>,
    #[serde(default)]
    pub certifications: Vec<Certification>,
    /// For a vendor established in the United States.
    #[serde(default)]
    pub dpf: Option<DpfRecord>,
    /// Countries whose adequacy finding covers only some recipients (Canada, Japan, Korea)
    /// and which the privacy officer confirmed covers this vendor.
    #[serde(default)]
    pub adequacy_scope_confirmed: Vec<String>,
    pub risk_tier: u8,
    pub status: VendorStatus,
}

/// A checked vendor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vendor {
    pub id: Uuid,
    pub legal_name: String,
    pub address: String,
    pub contact_person: String,
    pub role: VendorRole,
    pub parent: Option<Uuid>,
    pub established_in: Vec<CountryCode>,
    pub stores_in: Vec<CountryCode>,
    pub accesses_from: Vec<CountryCode>,
    pub dpa: Option<Dpa>,
    pub sub_processor_authorisation: Option<SubProcessorAuthorisation>,
    pub certifications: Vec<Certification>,
    pub dpf: Option<DpfRecord>,
    pub adequacy_scope_confirmed: Vec<CountryCode>,
    pub risk_tier: RiskTier,
    pub status: VendorStatus,
}

impl Vendor {
    /// Checks a vendor as written; `now` dates what must already have happened.
    pub fn parse(id: Uuid, input: &VendorInput, now: Timestamp) -> Result<Vendor, InvalidInput> {
        let today = utc_day(now);
        let legal_name = text("legal_name", &input.legal_name, 200, false)?;
        let address = text("address", &input.address, 500, true)?;
        let contact_person = text("contact_person", &input.contact_person, 200, false)?;
        match (input.role, input.parent) {
            (VendorRole::SubProcessor, None) => {
                return Err(invalid(
                    "parent",
                    InvalidCode::ParentRequired,
                    "a sub-processor names the processor that engaged it",
                ));
            }
            (VendorRole::SubProcessor, Some(parent)) if parent == id => {
                return Err(invalid(
                    "parent",
                    InvalidCode::UnknownVendor,
                    "a vendor cannot be its own processor",
                ));
            }
            (VendorRole::SubProcessor, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(invalid(
                    "parent",
                    InvalidCode::ParentNotAllowed,
                    "only a sub-processor has a parent vendor",
                ));
            }
        }
        let established_in = non_empty("established_in", &input.established_in)?;
        let stores_in = non_empty("stores_in", &input.stores_in)?;
        let accesses_from = countries("accesses_from", &input.accesses_from)?;
        let dpa = input.dpa.as_ref().map(|d| d.checked(today)).transpose()?;
        if let Some(auth) = input.sub_processor_authorisation {
            if !input.role.needs_dpa() {
                return Err(invalid(
                    "sub_processor_authorisation",
                    InvalidCode::NotApplicable,
                    "only a processor is authorised to engage sub-processors",
                ));
            }
            if auth == (SubProcessorAuthorisation::General { notice_days: 0 }) {
                return Err(invalid(
                    "sub_processor_authorisation.notice_days",
                    InvalidCode::Required,
                    "a general authorisation needs notice of changes: give the days of notice",
                ));
            }
        }
        let certifications = input
            .certifications
            .iter()
            .enumerate()
            .map(|(i, c)| certification(&format!("certifications[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(dpf) = &input.dpf {
            if !established_in.iter().any(|c| c.as_str() == "US") {
                return Err(invalid(
                    "dpf",
                    InvalidCode::NotApplicable,
                    "the Data Privacy Framework is for vendors established in the United States",
                ));
            }
            past("dpf.checked_on", dpf.checked_on, today)?;
        }
        let adequacy_scope_confirmed =
            countries("adequacy_scope_confirmed", &input.adequacy_scope_confirmed)?;
        let risk_tier = RiskTier::new(input.risk_tier)
            .ok_or_else(|| invalid("risk_tier", InvalidCode::OutOfRange, "must be 1, 2, 3 or 4"))?;
        Ok(Vendor {
            id,
            legal_name,
            address,
            contact_person,
            role: input.role,
            parent: input.parent,
            established_in,
            stores_in,
            accesses_from,
            dpa,
            sub_processor_authorisation: input.sub_processor_authorisation,
            certifications,
            dpf: input.dpf.clone(),
            adequacy_scope_confirmed,
            risk_tier,
            status: input.status,
        })
    }

    /// The vendor as written, to be kept, changed and checked again.
    pub fn input(&self) -> VendorInput {
        let codes = |list: &[CountryCode]| list.iter().map(|c| c.to_string()).collect();
        VendorInput {
            legal_name: self.legal_name.clone(),
            address: self.address.clone(),
            contact_person: self.contact_person.clone(),
            role: self.role,
            parent: self.parent,
            established_in: codes(&self.established_in),
            stores_in: codes(&self.stores_in),
            accesses_from: codes(&self.accesses_from),
            dpa: self.dpa.clone(),
            sub_processor_authorisation: self.sub_processor_authorisation,
            certifications: self.certifications.clone(),
            dpf: self.dpf.clone(),
            adequacy_scope_confirmed: codes(&self.adequacy_scope_confirmed),
            risk_tier: self.risk_tier.get(),
            status: self.status,
        }
    }

    /// Every country where the vendor keeps or reads the data, each once: the destinations a
    /// transfer check covers.
    pub fn countries_reached(&self) -> Vec<CountryCode> {
        let mut all: Vec<CountryCode> = self
            .stores_in
            .iter()
            .chain(&self.accesses_from)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    pub fn dpa_state(&self, today: Date) -> DpaState {
        DpaState::of(self.dpa.as_ref(), today)
    }

    pub fn certifications_expiring(&self, today: Date) -> impl Iterator<Item = &Certification> {
        self.certifications
            .iter()
            .filter(move |c| c.expires_soon(today))
    }

    pub fn certifications_expired(&self, today: Date) -> impl Iterator<Item = &Certification> {
        self.certifications
            .iter()
            .filter(move |c| c.is_expired(today))
    }

    /// The vendor as the receiving party of a transfer whose roles call for `scc_module`.
    pub(crate) fn importer(&self, scc_module: SccModule) -> Importer<'_> {
        Importer {
            scc_module,
            dpf: self.dpf.as_ref(),
            scope_confirmed: &self.adequacy_scope_confirmed,
        }
    }
}

fn non_empty(field: &str, raws: &[String]) -> Result<Vec<CountryCode>, InvalidInput> {
    let list = countries(field, raws)?;
    if list.is_empty() {
        return Err(invalid(
            field,
            InvalidCode::Required,
            "name at least one country",
        ));
    }
    Ok(list)
}

fn certification(field: &str, c: &Certification) -> Result<Certification, InvalidInput> {
    let name = optional_text(&format!("{field}.name"), c.name.as_deref(), 100, false)?;
    if c.scheme == CertificationScheme::Other && name.is_none() {
        return Err(invalid(
            format!("{field}.name"),
            InvalidCode::Required,
            "name the scheme of an `other` certification",
        ));
    }
    Ok(Certification {
        scheme: c.scheme,
        name,
        scope: text(&format!("{field}.scope"), &c.scope, 500, true)?,
        expires_on: c.expires_on,
    })
}
