//! The share check (invariant I6): a disclosure to a vendor goes ahead only under an agreement
//! in force with a vendor in good standing that covers the purpose, every field's data
//! category and every country the data reaches. The transfers check answers the last part
//! alone, for a vendor and a residency, whatever the purpose.

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use super::agreement::Agreement;
use super::dpa::DpaState;
use super::refusal::{Refusal, RefusalCode, Standing};
use super::review::{Review, ReviewIntervals, ReviewOutcome, ReviewState};
use super::vendor::{Vendor, VendorStatus};
use crate::CountryCode;
use crate::catalog::FieldDef;
use crate::transfers::{
    Art49Ground, Gap, Mechanism, Regime, SccModule, TableError, TransferBasis, TransferRefusal,
    TransferRules, check_destination, utc_day,
};

/// The rules a check applies, from configuration.
#[derive(Debug, Clone)]
pub struct SharingRules {
    pub transfers: TransferRules,
    pub review_intervals: ReviewIntervals,
}

impl SharingRules {
    /// The shipped adequacy findings and the default review intervals.
    pub fn shipped() -> Result<SharingRules, TableError> {
        Ok(SharingRules {
            transfers: TransferRules::default_rules()?,
            review_intervals: ReviewIntervals::default(),
        })
    }
}

/// What the register holds about one vendor: the vendor, its sub-processors (those naming it
/// as parent, at any depth), its latest review and its agreements.
#[derive(Debug, Clone, Copy)]
pub struct VendorFile<'a> {
    pub vendor: &'a Vendor,
    pub sub_processors: &'a [Vendor],
    pub last_review: Option<&'a Review>,
    pub agreements: &'a [Agreement],
}

/// One country the data reaches, through whom, and on what basis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DestinationBasis {
    pub country: CountryCode,
    /// The sub-processor that keeps or reads the data there; absent: the vendor itself.
    pub via: Option<Uuid>,
    pub basis: TransferBasis,
}

/// A condition the caller checks for each customer before their data goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CustomerCondition {
    /// Art. 49(1)(a): only customers who explicitly consented to this transfer, informed of
    /// its risks, may be included.
    ExplicitTransferConsent {
        country: CountryCode,
        /// The consent-based purpose whose given consent is that explicit consent.
        purpose: String,
    },
}

/// The transfers a share makes, each with its basis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfers {
    pub regime: Regime,
    pub destinations: Vec<DestinationBasis>,
    pub per_customer: Vec<CustomerCondition>,
}

/// A share that may go ahead, under which agreement and on which bases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clearance {
    pub agreement: Uuid,
    pub transfers: Transfers,
}

/// Checks a share of `fields` for `purpose` of a customer resident in `residency`.
///
/// The first failing reason wins, in the order of [`RefusalCode`]: the vendor's standing,
/// then the agreements. With several agreements, the share goes ahead under the first that
/// passes every check; if none does, the refusal of the agreement that passed the most checks
/// is given, since it is the nearest to being usable and its reason is the one worth fixing.
/// Destinations are checked vendor first, then each sub-processor in the order given, each in
/// country-code order. A suspended sub-processor stops the share; an offboarded one receives
/// nothing and is passed over.
pub fn check_share(
    file: &VendorFile<'_>,
    purpose: &str,
    fields: &[&FieldDef],
    residency: CountryCode,
    rules: &SharingRules,
    now: Timestamp,
) -> Result<Clearance, Refusal> {
    let today = utc_day(now);
    standing(file, &rules.review_intervals, today)?;
    let regime = rules.transfers.regime_for(residency);
    let mut nearest: Option<Refusal> = None;
    for agreement in own_agreements(file) {
        let checked = covers(agreement, purpose, fields, today).and_then(|()| {
            transfers(file, regime, &rules.transfers, today, |country, via| {
                Candidates {
                    recorded: agreement.mechanism_for(country, via).into_iter().collect(),
                    onward_transfer: agreement.onward_transfer,
                }
            })
        });
        match checked {
            Ok(transfers) => {
                return Ok(Clearance {
                    agreement: agreement.id,
                    transfers,
                });
            }
            Err(refusal) if nearest.as_ref().is_none_or(|n| rank(&refusal) > rank(n)) => {
                nearest = Some(refusal);
            }
            Err(_) => {}
        }
    }
    Err(nearest.unwrap_or(Refusal::NoAgreement { starts_on: None }))
}

/// Checks every country the vendor and its sub-processors reach, for a customer resident in
/// `residency`, against the safeguards of every agreement in force: a safeguard is a contract
/// with the importer, whatever purpose the agreement recording it names. The vendor's standing
/// is not judged here; [`check_share`] does that.
pub fn check_transfers(
    file: &VendorFile<'_>,
    residency: CountryCode,
    rules: &SharingRules,
    now: Timestamp,
) -> Result<Transfers, Refusal> {
    let today = utc_day(now);
    let live: Vec<&Agreement> = own_agreements(file).filter(|a| a.is_live(today)).collect();
    let regime = rules.transfers.regime_for(residency);
    transfers(file, regime, &rules.transfers, today, |country, via| {
        Candidates {
            recorded: live
                .iter()
                .filter_map(|a| a.mechanism_for(country, via))
                .collect(),
            onward_transfer: live.iter().any(|a| a.onward_transfer),
        }
    })
}

fn own_agreements<'a>(file: &VendorFile<'a>) -> impl Iterator<Item = &'a Agreement> {
    let vendor = file.vendor.id;
    file.agreements.iter().filter(move |a| a.vendor == vendor)
}

/// The vendor's good standing: its status and its latest review's outcome, its sub-processors'
/// status, its DPA where its role needs one, and a review that is not overdue.
fn standing(
    file: &VendorFile<'_>,
    intervals: &ReviewIntervals,
    today: Date,
) -> Result<(), Refusal> {
    let vendor = file.vendor;
    let not_active = |vendor: Uuid, standing| Refusal::VendorNotActive { vendor, standing };
    if let Some(standing) = Standing::of(vendor.status) {
        return Err(not_active(vendor.id, standing));
    }
    if file
        .last_review
        .is_some_and(|r| r.outcome == ReviewOutcome::Suspend)
    {
        return Err(not_active(vendor.id, Standing::SuspendedByReview));
    }
    if let Some(sub) = file
        .sub_processors
        .iter()
        .find(|s| s.status == VendorStatus::Suspended)
    {
        return Err(not_active(sub.id, Standing::SubProcessorSuspended));
    }
    if vendor.role.needs_dpa() {
        let dpa = vendor.dpa_state(today);
        if dpa != DpaState::Current {
            return Err(Refusal::DpaMissing { dpa });
        }
    }
    match ReviewState::of(file.last_review, vendor.risk_tier, intervals, today) {
        ReviewState::Due { .. } => Ok(()),
        ReviewState::NeverReviewed => Err(Refusal::ReviewOverdue { due: None }),
        ReviewState::Overdue { since } => Err(Refusal::ReviewOverdue { due: Some(since) }),
    }
}

/// Whether an agreement is in force and covers the purpose and every field asked for.
fn covers(
    agreement: &Agreement,
    purpose: &str,
    fields: &[&FieldDef],
    today: Date,
) -> Result<(), Refusal> {
    if today < agreement.valid_from {
        return Err(Refusal::NoAgreement {
            starts_on: Some(agreement.valid_from),
        });
    }
    if let Some(ended_on) = agreement.valid_until.filter(|last| today > *last) {
        return Err(Refusal::AgreementExpired {
            agreement: agreement.id,
            ended_on,
        });
    }
    if !agreement.purposes.iter().any(|p| p == purpose) {
        return Err(Refusal::PurposeNotAgreed {
            purpose: purpose.to_string(),
        });
    }
    match fields
        .iter()
        .find(|f| !agreement.covers_category(&f.category))
    {
        Some(f) => Err(Refusal::CategoryNotAgreed {
            field: f.key.clone(),
            category: f.category.clone(),
        }),
        None => Ok(()),
    }
}

/// How far a refused agreement got: the later its refusal in the order of the checks, the
/// nearer it is to carrying the share. Every transfer refusal means the agreement got as far
/// as the destinations, so they rank alike.
fn rank(refusal: &Refusal) -> usize {
    let position = |code| RefusalCode::ALL.iter().position(|c| *c == code);
    let code = refusal.code();
    position(code)
        .unwrap_or(0)
        .min(position(RefusalCode::NoTransferMechanism).unwrap_or(0))
}

/// What the agreements record for one destination.
struct Candidates<'a> {
    recorded: Vec<&'a Mechanism>,
    onward_transfer: bool,
}

fn transfers<'a>(
    file: &VendorFile<'a>,
    regime: Regime,
    rules: &TransferRules,
    today: Date,
    recorded: impl Fn(CountryCode, Option<Uuid>) -> Candidates<'a>,
) -> Result<Transfers, Refusal> {
    let vendor = file.vendor;
    let parties = std::iter::once((vendor, None, vendor.role.scc_module())).chain(
        file.sub_processors
            .iter()
            .filter(|s| s.status != VendorStatus::Offboarded)
            .map(|s| (s, Some(s.id), SccModule::ProcessorToProcessor)),
    );
    let mut destinations = Vec::new();
    let mut per_customer = Vec::new();
    for (party, via, module) in parties {
        let importer = party.importer(module);
        for country in party.countries_reached() {
            let candidates = recorded(country, via);
            let onward = via.is_some() && !regime.is_home(country);
            if onward && !candidates.onward_transfer {
                return Err(Refusal::NoTransferMechanism {
                    country,
                    via,
                    gap: Gap::OnwardTransferNotAllowed,
                });
            }
            let judged = |m: Option<&Mechanism>| {
                check_destination(rules, regime, country, &importer, m, today)
            };
            let mut outcomes = candidates
                .recorded
                .iter()
                .map(|m| (Some(*m), judged(Some(m))));
            let (used, basis) = match outcomes.next() {
                None => (None, judged(None)),
                Some((m, Ok(basis))) => (m, Ok(basis)),
                Some((_, Err(first))) => outcomes
                    .find(|(_, r)| r.is_ok())
                    .unwrap_or((None, Err(first))),
            };
            let basis = basis.map_err(|why| Refusal::transfer(country, via, why))?;
            if basis
                == (TransferBasis::Derogation {
                    ground: Art49Ground::ExplicitConsent,
                })
            {
                let Some(Mechanism::Derogation {
                    consent_purpose: Some(purpose),
                    ..
                }) = used
                else {
                    // Kept before a consent purpose was required: nobody's consent counts.
                    return Err(Refusal::transfer(
                        country,
                        via,
                        TransferRefusal::NoMechanism(Gap::NothingRecorded),
                    ));
                };
                per_customer.push(CustomerCondition::ExplicitTransferConsent {
                    country,
                    purpose: purpose.clone(),
                });
            }
            destinations.push(DestinationBasis {
                country,
                via,
                basis,
            });
        }
    }
    Ok(Transfers {
        regime,
        destinations,
        per_customer,
    })
}
