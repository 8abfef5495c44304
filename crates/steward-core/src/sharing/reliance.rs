//! Which agreements rest on an adequacy finding that has ended, or ends soon. An agreement
//! that names adequacy as a destination's mechanism signed nothing else for it: when the
//! finding lapses (the United Kingdom's is set to end on 27 December 2031) the transfers it
//! carried are refused, and the privacy officer needs the list of contracts to put clauses in.

use jiff::civil::Date;
use uuid::Uuid;

use super::Agreement;
use crate::CountryCode;
use crate::transfers::{Mechanism, Regime, TransferRules};

/// One destination of an agreement whose adequacy finding has ended or ends by the horizon.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdequacyLapse {
    pub agreement: Uuid,
    pub country: CountryCode,
    /// The sub-processor that reaches the country, when not the vendor itself.
    pub via: Option<Uuid>,
    /// The law of the customers whose data the finding carried there.
    pub regime: Regime,
    pub reference: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: Date,
    /// Whether the finding has already ended (otherwise it ends by the horizon).
    pub ended: bool,
}

impl Agreement {
    /// The destinations recorded as resting on adequacy whose finding, for some regime that
    /// restricts transfers there, ended before `today` or ends on or before `horizon`.
    pub fn adequacy_lapses(
        &self,
        rules: &TransferRules,
        today: Date,
        horizon: Date,
    ) -> Vec<AdequacyLapse> {
        let mut lapses = Vec::new();
        for destination in &self.destinations {
            if destination.mechanism != Mechanism::Adequacy {
                continue;
            }
            for regime in Regime::ALL {
                if let Some((reference, valid_until, ended)) =
                    lapse(rules, *regime, destination.country, today, horizon)
                {
                    lapses.push(AdequacyLapse {
                        agreement: self.id,
                        country: destination.country,
                        via: destination.via,
                        regime: *regime,
                        reference,
                        valid_until,
                        ended,
                    });
                }
            }
        }
        lapses
    }
}

/// The finding for `country` under `regime` that ends by `horizon`: the one in force if it
/// does, or, when none is in force, the last one that ended.
fn lapse(
    rules: &TransferRules,
    regime: Regime,
    country: CountryCode,
    today: Date,
    horizon: Date,
) -> Option<(String, Date, bool)> {
    if regime.is_home(country) {
        return None;
    }
    if let Some(current) = rules.decision(regime, country, today) {
        return current
            .valid_until
            .filter(|last| *last <= horizon)
            .map(|last| (current.reference.clone(), last, false));
    }
    rules
        .rows()
        .iter()
        .filter(|r| r.regime == regime && r.country == country)
        .filter_map(|r| r.valid_until.filter(|last| *last < today).map(|l| (r, l)))
        .max_by_key(|(_, last)| *last)
        .map(|(r, last)| (r.reference.clone(), last, true))
}
