//! Data-sharing agreements: which purposes and data categories a vendor may receive, the
//! destinations that need a safeguard and the mechanism each rests on, and the agreement's
//! term. The fields a vendor may receive follow from the categories through the catalog.

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use super::invalid::{InvalidCode, InvalidInput, country, invalid, past, text};
use super::vendor::Vendor;
use crate::CountryCode;
use crate::catalog::{Catalog, FieldDef};
use crate::transfers::{Art49Ground, Mechanism, SccModule, Tia, TiaOutcome, utc_day};

/// A mechanism as written; checked into a [`Mechanism`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MechanismInput {
    Adequacy,
    Scc {
        /// 1 to 4, as the annex to Decision (EU) 2021/914 numbers them.
        module: u8,
        #[serde(default)]
        uk_addendum: bool,
        #[serde(default)]
        tia: Option<Tia>,
    },
    Idta {
        #[serde(default)]
        tia: Option<Tia>,
    },
    Bcr {
        reference: String,
    },
    Derogation {
        ground: Art49Ground,
        justification: String,
        /// For `explicit_consent` (Art. 49(1)(a)), required: the consent-based catalog purpose
        /// whose consent is the customer's explicit consent to this transfer, asked with its
        /// risks explained; only customers who gave it are shared.
        #[serde(default)]
        consent_purpose: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DestinationInput {
    pub country: String,
    /// The sub-processor through which the data reaches this country; absent: the vendor.
    #[serde(default)]
    pub via: Option<Uuid>,
    pub mechanism: MechanismInput,
}

/// An agreement as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgreementInput {
    pub vendor: Uuid,
    /// Catalog purpose keys.
    pub purposes: Vec<String>,
    /// fideslang data categories; a category covers those under it.
    pub categories: Vec<String>,
    #[serde(default)]
    pub destinations: Vec<DestinationInput>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    /// The last day it binds; absent: until ended.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<Date>,
    /// Whether the vendor may pass the data on outside the customer's legal area (to its
    /// sub-processors there).
    #[serde(default)]
    pub onward_transfer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Destination {
    pub country: CountryCode,
    pub via: Option<Uuid>,
    pub mechanism: Mechanism,
}

/// A checked agreement. It is read back as it was checked, not checked again: the register
/// keeps what was agreed, and a vendor that changed since is judged against it when data goes
/// (a module that no longer fits the vendor's role is refused then, as `SCC_MODULE_MISMATCH`).
/// Only what [`Agreement::parse`] made is ever written, so only that is read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    pub id: Uuid,
    pub vendor: Uuid,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub destinations: Vec<Destination>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<Date>,
    pub onward_transfer: bool,
}

fn is_under(category: &str, agreed: &str) -> bool {
    category == agreed
        || category
            .strip_prefix(agreed)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl Agreement {
    /// Checks an agreement with `vendor`, whose sub-processors (those naming it as parent) are
    /// `sub_processors`, against the catalog.
    pub fn parse(
        id: Uuid,
        input: &AgreementInput,
        catalog: &Catalog,
        vendor: &Vendor,
        sub_processors: &[Vendor],
        now: Timestamp,
    ) -> Result<Agreement, InvalidInput> {
        let today = utc_day(now);
        if input.vendor != vendor.id {
            return Err(invalid(
                "vendor",
                InvalidCode::UnknownVendor,
                "is not the vendor given",
            ));
        }
        let purposes = keys(
            "purposes",
            &input.purposes,
            |p| catalog.purpose(p).is_some(),
            (
                InvalidCode::UnknownPurpose,
                "is not a purpose of the catalog",
            ),
        )?;
        let categories = keys(
            "categories",
            &input.categories,
            |c| catalog.fields().iter().any(|f| is_under(&f.category, c)),
            (
                InvalidCode::UnknownCategory,
                "no field of the catalog is in this data category",
            ),
        )?;
        let mut destinations: Vec<Destination> = Vec::new();
        for (i, d) in input.destinations.iter().enumerate() {
            let at = format!("destinations[{i}]");
            let destination = Destination {
                country: country(&format!("{at}.country"), &d.country)?,
                via: d.via,
                mechanism: mechanism(
                    &format!("{at}.mechanism"),
                    &d.mechanism,
                    today,
                    catalog,
                    || expected_module(&at, d.via, input.onward_transfer, vendor, sub_processors),
                )?,
            };
            if destinations
                .iter()
                .any(|o| (o.country, o.via) == (destination.country, destination.via))
            {
                return Err(invalid(
                    at,
                    InvalidCode::Duplicate,
                    "this country is already agreed for this recipient",
                ));
            }
            destinations.push(destination);
        }
        if input.valid_until.is_some_and(|end| end < input.valid_from) {
            return Err(invalid(
                "valid_until",
                InvalidCode::EndsBeforeStart,
                "must not be before valid_from",
            ));
        }
        Ok(Agreement {
            id,
            vendor: vendor.id,
            purposes,
            categories,
            destinations,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            onward_transfer: input.onward_transfer,
        })
    }

    /// The agreement as written, to be changed and checked again.
    pub fn input(&self) -> AgreementInput {
        AgreementInput {
            vendor: self.vendor,
            purposes: self.purposes.clone(),
            categories: self.categories.clone(),
            destinations: self
                .destinations
                .iter()
                .map(|d| DestinationInput {
                    country: d.country.to_string(),
                    via: d.via,
                    mechanism: written(&d.mechanism),
                })
                .collect(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            onward_transfer: self.onward_transfer,
        }
    }

    /// In force on `today`: started, and not ended.
    pub fn is_live(&self, today: Date) -> bool {
        self.valid_from <= today && self.valid_until.is_none_or(|last| today <= last)
    }

    pub fn covers_category(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|agreed| is_under(category, agreed))
    }

    /// The catalog fields whose data category the agreement covers.
    pub fn fields<'c>(&self, catalog: &'c Catalog) -> impl Iterator<Item = &'c FieldDef> {
        catalog
            .fields()
            .iter()
            .filter(|f| self.covers_category(&f.category))
    }

    /// The mechanism recorded for data reaching `country` through `via`.
    pub fn mechanism_for(&self, country: CountryCode, via: Option<Uuid>) -> Option<&Mechanism> {
        self.destinations
            .iter()
            .find(|d| d.country == country && d.via == via)
            .map(|d| &d.mechanism)
    }
}

fn written(mechanism: &Mechanism) -> MechanismInput {
    match mechanism {
        Mechanism::Adequacy => MechanismInput::Adequacy,
        Mechanism::Scc {
            module,
            uk_addendum,
            tia,
        } => MechanismInput::Scc {
            module: module.number(),
            uk_addendum: *uk_addendum,
            tia: Some(tia.clone()),
        },
        Mechanism::Idta { tia } => MechanismInput::Idta {
            tia: Some(tia.clone()),
        },
        Mechanism::Bcr { reference } => MechanismInput::Bcr {
            reference: reference.clone(),
        },
        Mechanism::Derogation {
            ground,
            justification,
            consent_purpose,
        } => MechanismInput::Derogation {
            ground: *ground,
            justification: justification.clone(),
            consent_purpose: consent_purpose.clone(),
        },
    }
}

/// Keys that `known` accepts, each once, in the order given; at least one.
fn keys(
    field: &str,
    raws: &[String],
    known: impl Fn(&str) -> bool,
    (unknown, why): (InvalidCode, &str),
) -> Result<Vec<String>, InvalidInput> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let key = raw.trim();
        if !known(key) {
            return Err(invalid(format!("{field}[{i}]"), unknown, why));
        }
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    }
    if out.is_empty() {
        return Err(invalid(field, InvalidCode::Required, "name at least one"));
    }
    Ok(out)
}

/// The SCC module the roles call for at a destination: the vendor's own, or module 3 for a
/// sub-processor the vendor engaged, which is an onward transfer the agreement must allow.
fn expected_module(
    at: &str,
    via: Option<Uuid>,
    onward_transfer: bool,
    vendor: &Vendor,
    sub_processors: &[Vendor],
) -> Result<SccModule, InvalidInput> {
    let Some(via) = via else {
        return Ok(vendor.role.scc_module());
    };
    let field = format!("{at}.via");
    if !sub_processors
        .iter()
        .any(|s| s.id == via && s.parent == Some(vendor.id))
    {
        return Err(invalid(
            field,
            InvalidCode::UnknownSubProcessor,
            "is not a sub-processor of this vendor",
        ));
    }
    if !onward_transfer {
        return Err(invalid(
            field,
            InvalidCode::OnwardTransferNotAllowed,
            "data reaches a sub-processor only where the agreement allows onward transfer",
        ));
    }
    Ok(SccModule::ProcessorToProcessor)
}

fn mechanism(
    at: &str,
    input: &MechanismInput,
    today: Date,
    catalog: &Catalog,
    expected: impl FnOnce() -> Result<SccModule, InvalidInput>,
) -> Result<Mechanism, InvalidInput> {
    let expected = expected()?;
    Ok(match input {
        MechanismInput::Adequacy => Mechanism::Adequacy,
        MechanismInput::Scc {
            module,
            uk_addendum,
            tia: assessment,
        } => {
            let field = format!("{at}.module");
            let module = SccModule::from_number(*module)
                .ok_or_else(|| invalid(&field, InvalidCode::OutOfRange, "must be 1, 2, 3 or 4"))?;
            if module != expected {
                return Err(invalid(
                    field,
                    InvalidCode::SccModuleMismatch,
                    format!("the parties' roles call for module {}", expected.number()),
                ));
            }
            Mechanism::Scc {
                module,
                uk_addendum: *uk_addendum,
                tia: tia(at, assessment.as_ref(), today)?,
            }
        }
        MechanismInput::Idta { tia: assessment } => Mechanism::Idta {
            tia: tia(at, assessment.as_ref(), today)?,
        },
        MechanismInput::Bcr { reference } => Mechanism::Bcr {
            reference: text(&format!("{at}.reference"), reference, 500, false)?,
        },
        MechanismInput::Derogation {
            ground,
            justification,
            consent_purpose,
        } => Mechanism::Derogation {
            ground: *ground,
            justification: text(&format!("{at}.justification"), justification, 2000, true)?,
            consent_purpose: explicit_consent_purpose(
                &format!("{at}.consent_purpose"),
                *ground,
                consent_purpose.as_deref(),
                catalog,
            )?,
        },
    })
}

/// The purpose whose consent is the explicit consent an Art. 49(1)(a) derogation rests on:
/// required for that ground, a consent-based purpose of the catalog, and named by no other.
fn explicit_consent_purpose(
    at: &str,
    ground: Art49Ground,
    given: Option<&str>,
    catalog: &Catalog,
) -> Result<Option<String>, InvalidInput> {
    match (ground, given) {
        (Art49Ground::ExplicitConsent, None) => Err(invalid(
            at,
            InvalidCode::Required,
            "name the consent-based purpose whose consent is the customers' explicit consent to this transfer",
        )),
        (Art49Ground::ExplicitConsent, Some(key)) => match catalog.purpose(key) {
            Some(p) if p.requires_consent => Ok(Some(p.key.clone())),
            Some(_) => Err(invalid(
                at,
                InvalidCode::NotApplicable,
                "this purpose does not rest on consent",
            )),
            None => Err(invalid(
                at,
                InvalidCode::UnknownPurpose,
                "is not a purpose of the catalog",
            )),
        },
        (_, Some(_)) => Err(invalid(
            at,
            InvalidCode::NotApplicable,
            "only an explicit_consent derogation rests on a consent",
        )),
        (_, None) => Ok(None),
    }
}

fn tia(at: &str, given: Option<&Tia>, today: Date) -> Result<Tia, InvalidInput> {
    let at = format!("{at}.tia");
    let tia = given.ok_or_else(|| {
        invalid(
            &at,
            InvalidCode::Required,
            "this mechanism needs a transfer impact assessment",
        )
    })?;
    let assessed_on = past(&format!("{at}.assessed_on"), tia.assessed_on, today)?;
    if tia.re_evaluate_by < assessed_on {
        return Err(invalid(
            format!("{at}.re_evaluate_by"),
            InvalidCode::EndsBeforeStart,
            "must not be before the assessment",
        ));
    }
    let supplementary_measures = tia
        .supplementary_measures
        .iter()
        .enumerate()
        .map(|(i, m)| text(&format!("{at}.supplementary_measures[{i}]"), m, 500, true))
        .collect::<Result<Vec<_>, _>>()?;
    if tia.outcome == TiaOutcome::ProceedWithMeasures && supplementary_measures.is_empty() {
        return Err(invalid(
            format!("{at}.supplementary_measures"),
            InvalidCode::Required,
            "name the measures the outcome relies on",
        ));
    }
    Ok(Tia {
        assessed_on,
        outcome: tia.outcome,
        supplementary_measures,
        re_evaluate_by: tia.re_evaluate_by,
    })
}
