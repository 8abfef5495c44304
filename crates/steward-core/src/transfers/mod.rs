//! Cross-border transfers: whether a customer's data may reach a country, judged by the law of
//! the customer's residency.
//!
//! Residents of the EEA are under the GDPR, residents of the United Kingdom under the UK GDPR.
//! Under either, a destination inside the regime's own area is no transfer at all; any other
//! needs an adequacy finding whose condition holds, or a recorded safeguard (standard
//! contractual clauses with a current transfer impact assessment, the UK's IDTA, binding
//! corporate rules), or an Art. 49 derogation. Residents elsewhere are `unrestricted`: no
//! transfer rule of the GDPR's kind applies to them unless the operator names their country
//! in the configuration (`[residency] CH = "gdpr"`), because Steward knows only these two laws
//! well enough to enforce them and would otherwise refuse lawful shares by guesswork.
//!
//! The adequacy findings are data (`transfers/adequacy.toml`), versioned and overridable.

mod check;
mod mechanism;
mod rules;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::CountryCode;

pub use check::{Gap, Importer, TransferBasis, TransferRefusal, check_destination};
pub use mechanism::{Art49Ground, DpfRecord, DpfStatus, Mechanism, SccModule, Tia, TiaOutcome};
pub use rules::{AdequacyRow, Condition, DEFAULT_ADEQUACY, TableError, TransferRules};

vocabulary!(
    /// The law that restricts where a customer's data may go.
    Regime {
        Gdpr => "gdpr",
        UkGdpr => "uk_gdpr",
        Unrestricted => "unrestricted",
    }
);

/// The EEA's states, and the parts of them that ISO 3166-1 codes apart: Åland (Finland) and
/// France's outermost regions are inside the EU, so the GDPR moves data freely to them. The
/// overseas countries and territories (French Polynesia, Greenland, Aruba...) and Svalbard are
/// outside it, and so not here.
const EEA: [&str; 37] = [
    "AT", "AX", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GF", "GP", "GR", "HR",
    "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MF", "MQ", "MT", "NL", "NO", "PL", "PT", "RE",
    "RO", "SE", "SI", "SK", "YT",
];

pub fn is_eea(country: CountryCode) -> bool {
    EEA.binary_search(&country.as_str()).is_ok()
}

/// Every EEA country code, for a list to show or a rule to expand.
pub fn eea() -> impl Iterator<Item = CountryCode> {
    EEA.iter().filter_map(|c| CountryCode::parse(c).ok())
}

impl Regime {
    /// The statutory regime of a residency, before the operator's additions.
    fn statutory(residency: CountryCode) -> Regime {
        if is_eea(residency) {
            Regime::Gdpr
        } else if residency.as_str() == "GB" {
            Regime::UkGdpr
        } else {
            Regime::Unrestricted
        }
    }

    /// Whether data reaching `country` stays inside the regime's own area, where it moves
    /// freely.
    pub fn is_home(self, country: CountryCode) -> bool {
        match self {
            Regime::Gdpr => is_eea(country),
            Regime::UkGdpr => country.as_str() == "GB",
            Regime::Unrestricted => true,
        }
    }
}

/// The calendar day of `now` in UTC: agreements, decisions and reviews are dated in days, and
/// a date is good through its whole day.
pub fn utc_day(now: Timestamp) -> Date {
    now.to_zoned(TimeZone::UTC).date()
}
