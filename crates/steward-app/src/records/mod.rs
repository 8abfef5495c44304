//! The record of processing activities (GDPR Art. 30(1)): built once from what Steward
//! enforces — the catalog (purposes, lawful bases, data categories), the vendor register and
//! its agreements in force (recipients, where the data goes and on what basis), the retention
//! rules in the database and the installation's controller — and rendered as Markdown, CSV or
//! JSON (`render.rs`). The console draws its data map from the same record, so the picture
//! and the document cannot disagree.
//!
//! Nothing here is written by hand: a purpose added to the catalog or an agreement signed
//! appears in the next record. Only the security measures are fixed text, because they are
//! properties of the code, each naming where it is enforced.

mod render;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use steward_core::CountryCode;
use steward_core::catalog::{LawfulBasis, Sensitivity};
use steward_core::sharing::{Agreement, Vendor, VendorRole, VendorStatus};
use steward_core::transfers::{
    Importer, Mechanism, Regime, TransferBasis, TransferRefusal, TransferRules, check_destination,
    is_eea, utc_day,
};
use uuid::Uuid;

pub use render::RopaFormat;

use crate::services::Records;
use crate::sharing::register::agreement_of;
use crate::sharing::require_reader;
use crate::{Actor, AppError, RuleView};

/// The record of processing activities.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ropa {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub generated_at: Timestamp,
    pub controller: RopaController,
    pub data_subjects: Vec<String>,
    pub purposes: Vec<RopaPurpose>,
    pub categories: Vec<RopaCategory>,
    /// Vendors engaged (every status but offboarded).
    pub recipients: Vec<RopaRecipient>,
    /// Every country each recipient keeps or reads the data in; `third_country` marks those
    /// outside the EEA, each with the mechanism the transfer rests on.
    pub destinations: Vec<RopaDestination>,
    /// The retention rules in force.
    pub retention: Vec<RuleView>,
    pub security_measures: Vec<SecurityMeasure>,
    /// The adequacy table the mechanisms were judged by.
    pub transfer_rules_version: String,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RopaController {
    pub name: String,
    pub email: String,
    pub address: String,
    pub jurisdiction: String,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RopaPurpose {
    pub key: String,
    pub name: String,
    pub description: String,
    pub lawful_basis: LawfulBasis,
    pub requires_consent: bool,
    /// The data categories of the catalog's fields this purpose needs.
    pub categories: Vec<String>,
    /// The recipients whose agreements in force cover this purpose, by name.
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RopaCategory {
    /// The fideslang key.
    pub key: String,
    pub name: String,
    /// Some field of it is held as special (Art. 9-like) data.
    pub special: bool,
    /// The catalog's fields in it.
    pub fields: Vec<String>,
    /// The purposes that need a field of it.
    pub purposes: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RopaRecipient {
    pub vendor_id: Uuid,
    pub legal_name: String,
    pub role: VendorRole,
    pub status: VendorStatus,
    /// For a sub-processor: the processor that engaged it.
    pub engaged_by: Option<String>,
    pub established_in: Vec<CountryCode>,
    /// What its agreements in force (or its processor's) let it receive.
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub agreements: Vec<Uuid>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RopaDestination {
    pub vendor_id: Uuid,
    pub vendor: String,
    pub country: CountryCode,
    pub country_name: String,
    pub third_country: bool,
    /// `eea`, `adequacy`, `scc`, `idta`, `bcr`, `derogation`, or `none` when nothing recorded
    /// carries the transfer.
    pub mechanism_kind: String,
    /// The mechanism in words, with what it rests on.
    pub mechanism: String,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecurityMeasure {
    pub name: &'static str,
    pub description: &'static str,
}

/// What Steward itself enforces (Art. 32), each where the code holds it; the operator adds
/// their own organisational measures beside the record.
const MEASURES: [(&str, &str); 9] = [
    (
        "Encryption at rest per customer",
        "Every personal value is sealed with AES-256-GCM under a data key of its own customer, bound to that customer and field; data keys are kept wrapped, in a key store apart from the data (steward-vault).",
    ),
    (
        "Erasure by key destruction",
        "Erasing a customer destroys their data key first, so copies and backups of their values can no longer be opened (rights/erasure.rs).",
    ),
    (
        "Search without plaintext",
        "Searchable fields are found through keyed blind indexes, never by their values in the clear (steward-vault blind_index.rs).",
    ),
    (
        "Minimisation by the field catalog",
        "A field not in the catalog, or not needed by a purpose with a lawful basis for the customer, is refused; reads are masked per purpose (collection/minimisation.rs).",
    ),
    (
        "Least privilege and purpose-bound access",
        "Each role reaches only its routes and purposes; every access to personal data names a purpose the role may hold, and special fields are masked for support (security/access.rs, steward-core role.rs).",
    ),
    (
        "Tamper-evident audit log",
        "Every read, export, change, share and erasure appends an entry (actor, role, purpose, target, field names, never values) to a hash chain whose heads are signed and witnessed outside the database (security/audit_log.rs, audit_witness.rs).",
    ),
    (
        "Staff authentication",
        "Staff passwords are hashed with Argon2, administrators and privacy officers sign in with a second factor (TOTP), failed sign-ins are throttled, and console sessions end after 30 minutes unused (security/sign_in.rs, accounts.rs).",
    ),
    (
        "Sharing only under an agreement",
        "Personal data leaves for a vendor only through one share operation, refused unless a live agreement with a vendor in good standing covers the purpose, categories and destination countries; each disclosure is recorded (sharing/shares.rs).",
    ),
    (
        "Retention enforced",
        "Retention rules are carried out by a sweeper, stopped only by legal holds (retention/).",
    ),
];

impl Records<'_> {
    /// The record of processing, for those who read the register: the privacy officer and the
    /// auditor. It holds no customer's data, so reading it is not an access to be audited.
    pub async fn ropa(&self, actor: &Actor) -> Result<Ropa, AppError> {
        require_reader(actor)?;
        let app = self.app;
        let now = app.clock.now();
        let today = utc_day(now);
        let vendors: Vec<Vendor> = app
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .filter(|v| v.status != VendorStatus::Offboarded)
            .collect();
        let agreements: Vec<Agreement> = app
            .store
            .agreements(None)
            .await?
            .iter()
            .map(agreement_of)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|a| a.is_live(today))
            .collect();
        let recipients = recipients(&vendors, &agreements);
        let catalog = &app.catalog;
        let book = catalog.personalization();
        let purposes = catalog
            .purposes()
            .iter()
            .map(|p| RopaPurpose {
                key: p.key.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                lawful_basis: p.lawful_basis,
                requires_consent: p.requires_consent,
                categories: catalog
                    .fields()
                    .iter()
                    .filter(|f| f.needed_for(&p.key))
                    .map(|f| f.category.clone())
                    .chain(book.categories_for(&p.key).into_iter().map(str::to_string))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                recipients: recipients
                    .iter()
                    .filter(|r| r.purposes.contains(&p.key))
                    .map(|r| r.legal_name.clone())
                    .collect(),
            })
            .collect();
        let mut categories: BTreeMap<&str, RopaCategory> = BTreeMap::new();
        for f in catalog.fields() {
            let c = categories
                .entry(f.category.as_str())
                .or_insert_with(|| RopaCategory {
                    key: f.category.clone(),
                    name: catalog
                        .category_name(&f.category)
                        .unwrap_or(&f.category)
                        .to_string(),
                    special: false,
                    fields: Vec::new(),
                    purposes: Vec::new(),
                });
            c.special |= f.sensitivity == Sensitivity::Special;
            c.fields.push(f.key.clone());
            for p in &f.purposes {
                if !c.purposes.contains(p) {
                    c.purposes.push(p.clone());
                }
            }
        }
        // What personalization processes has no catalog field: its attributes and rules name
        // their own categories.
        for p in catalog.purposes() {
            for key in book.categories_for(&p.key) {
                let c = categories.entry(key).or_insert_with(|| RopaCategory {
                    key: key.to_string(),
                    name: catalog.category_name(key).unwrap_or(key).to_string(),
                    special: false,
                    fields: Vec::new(),
                    purposes: Vec::new(),
                });
                if !c.purposes.contains(&p.key) {
                    c.purposes.push(p.key.clone());
                }
            }
        }
        let mut data_subjects = vec!["Customers".to_string()];
        if !catalog.forms().is_empty() {
            data_subjects
                .push("People signing up through a public form, until they confirm".to_string());
        }
        let rules = &app.sharing.transfers;
        let destinations = vendors
            .iter()
            .flat_map(|v| {
                v.countries_reached()
                    .into_iter()
                    .map(|country| destination(v, country, &vendors, &agreements, rules, today))
            })
            .collect();
        let c = &app.controller;
        Ok(Ropa {
            generated_at: now,
            controller: RopaController {
                name: c.name.clone(),
                email: c.email.clone(),
                address: c.address.clone(),
                jurisdiction: c.jurisdiction.clone(),
            },
            data_subjects,
            purposes,
            categories: categories.into_values().collect(),
            recipients,
            destinations,
            retention: app.retention().published().await?,
            security_measures: MEASURES
                .iter()
                .map(|&(name, description)| SecurityMeasure { name, description })
                .collect(),
            transfer_rules_version: rules.version(),
        })
    }
}

/// The vendor and the processors above it, nearest first: a sub-processor receives under its
/// processor's agreements.
fn chain<'a>(vendor: &'a Vendor, all: &'a [Vendor]) -> Vec<&'a Vendor> {
    let mut out = vec![vendor];
    while let Some(parent) = out.last().and_then(|v| v.parent) {
        match all.iter().find(|v| v.id == parent) {
            Some(p) if !out.iter().any(|o| o.id == p.id) => out.push(p),
            _ => break,
        }
    }
    out
}

fn recipients(vendors: &[Vendor], agreements: &[Agreement]) -> Vec<RopaRecipient> {
    vendors
        .iter()
        .map(|v| {
            let up = chain(v, vendors);
            let mut purposes = BTreeSet::new();
            let mut categories = BTreeSet::new();
            let mut ids = Vec::new();
            for a in agreements
                .iter()
                .filter(|a| up.iter().any(|u| u.id == a.vendor))
            {
                purposes.extend(a.purposes.iter().cloned());
                categories.extend(a.categories.iter().cloned());
                ids.push(a.id);
            }
            RopaRecipient {
                vendor_id: v.id,
                legal_name: v.legal_name.clone(),
                role: v.role,
                status: v.status,
                engaged_by: up.get(1).map(|p| p.legal_name.clone()),
                established_in: v.established_in.clone(),
                purposes: purposes.into_iter().collect(),
                categories: categories.into_iter().collect(),
                agreements: ids,
            }
        })
        .collect()
}

/// Where `vendor` keeps or reads data in `country`, and what carries the transfer, judged as a
/// share would judge it for a customer under the GDPR: inside the EEA nothing is needed;
/// outside, an adequacy finding in force whose condition holds for this vendor, or else the
/// mechanism an agreement in force records for this recipient and country. What would not
/// carry a share is said so (`none`), with the reason, for the privacy officer to see.
fn destination(
    vendor: &Vendor,
    country: CountryCode,
    vendors: &[Vendor],
    agreements: &[Agreement],
    rules: &TransferRules,
    today: Date,
) -> RopaDestination {
    let up = chain(vendor, vendors);
    let recorded = agreements
        .iter()
        .filter(|a| up.iter().any(|u| u.id == a.vendor))
        .flat_map(|a| a.destinations.iter().map(move |d| (a, d)))
        .find(|(a, d)| {
            d.country == country
                && (d.via == Some(vendor.id) || (d.via.is_none() && a.vendor == vendor.id))
        })
        .map(|(_, d)| &d.mechanism);
    let importer = Importer {
        scc_module: vendor.role.scc_module(),
        dpf: vendor.dpf.as_ref(),
        scope_confirmed: &vendor.adequacy_scope_confirmed,
    };
    let (kind, words) =
        match check_destination(rules, Regime::Gdpr, country, &importer, recorded, today) {
            Ok(TransferBasis::Domestic | TransferBasis::Unrestricted) => {
                ("eea".to_string(), "inside the EEA: no transfer".to_string())
            }
            Ok(TransferBasis::Adequacy { reference }) => (
                "adequacy".to_string(),
                format!("adequacy decision: {reference}"),
            ),
            Ok(_) => recorded
                .map(mechanism_words)
                .unwrap_or_else(|| ("none".to_string(), "nothing recorded".to_string())),
            Err(refusal) => (
                "none".to_string(),
                format!(
                    "{}: a share would be refused, as {}",
                    recorded
                        .map_or_else(|| "nothing recorded".to_string(), |m| mechanism_words(m).1),
                    refused_because(&refusal)
                ),
            ),
        };
    RopaDestination {
        vendor_id: vendor.id,
        vendor: vendor.legal_name.clone(),
        country,
        country_name: country.name().to_string(),
        third_country: !is_eea(country),
        mechanism_kind: kind,
        mechanism: words,
    }
}

fn refused_because(refusal: &TransferRefusal) -> String {
    match refusal {
        TransferRefusal::NoMechanism(gap) => gap.explain().to_string(),
        TransferRefusal::TiaStale { re_evaluate_by } => {
            format!("the transfer impact assessment was due again by {re_evaluate_by}")
        }
        TransferRefusal::SccModuleMismatch { recorded, expected } => format!(
            "the clauses recorded are module {}, and the vendor's role needs module {}",
            recorded.number(),
            expected.number()
        ),
        TransferRefusal::DpfInactive => {
            "the vendor is not actively certified under the Data Privacy Framework".to_string()
        }
    }
}

fn mechanism_words(m: &Mechanism) -> (String, String) {
    let kind = match m {
        Mechanism::Adequacy => "adequacy",
        Mechanism::Scc { .. } => "scc",
        Mechanism::Idta { .. } => "idta",
        Mechanism::Bcr { .. } => "bcr",
        Mechanism::Derogation { .. } => "derogation",
    };
    let words = match m {
        Mechanism::Adequacy => "adequacy decision".to_string(),
        Mechanism::Scc {
            module,
            uk_addendum,
            tia,
        } => format!(
            "standard contractual clauses (EU) 2021/914, module {} ({}){}; transfer impact assessment to be made again by {}",
            module.number(),
            module.as_str().replace('_', " "),
            if *uk_addendum {
                ", with the UK addendum"
            } else {
                ""
            },
            tia.re_evaluate_by
        ),
        Mechanism::Idta { tia } => format!(
            "UK International Data Transfer Agreement; transfer risk assessment to be made again by {}",
            tia.re_evaluate_by
        ),
        Mechanism::Bcr { reference } => format!("binding corporate rules ({reference})"),
        Mechanism::Derogation {
            ground,
            justification,
            consent_purpose,
        } => format!(
            "Art. {} derogation ({}){}: {justification}",
            ground.point(),
            ground.as_str().replace('_', " "),
            consent_purpose
                .as_deref()
                .map(|p| format!(", for those who consented to {p}"))
                .unwrap_or_default()
        ),
    };
    (kind.to_string(), words)
}
