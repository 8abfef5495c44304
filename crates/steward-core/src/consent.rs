//! Consent states and how they were expressed, after the W3C Data Privacy Vocabulary (DPV)
//! consent status concepts. Opt-in everywhere: no event at all means consent is not given.

use std::fmt;
use std::str::FromStr;

/// A consent status as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsentState {
    /// Asked for and not yet answered (double opt-in pending).
    Requested,
    Given,
    Refused,
    Withdrawn,
    /// Given once, but past its validity; recorded when noticed, derived at every read.
    Expired,
}

impl ConsentState {
    pub const ALL: [ConsentState; 5] = [
        ConsentState::Requested,
        ConsentState::Given,
        ConsentState::Refused,
        ConsentState::Withdrawn,
        ConsentState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Requested => "requested",
            ConsentState::Given => "given",
            ConsentState::Refused => "refused",
            ConsentState::Withdrawn => "withdrawn",
            ConsentState::Expired => "expired",
        }
    }

    /// The DPV concept this state stands for.
    pub fn dpv(self) -> &'static str {
        match self {
            ConsentState::Requested => "dpv:ConsentRequested",
            ConsentState::Given => "dpv:ConsentGiven",
            ConsentState::Refused => "dpv:ConsentRefused",
            ConsentState::Withdrawn => "dpv:ConsentWithdrawn",
            ConsentState::Expired => "dpv:ConsentExpired",
        }
    }

    /// States a person (or staff on their word) may record directly; `requested` and
    /// `expired` come from Steward itself.
    pub fn is_expressed(self) -> bool {
        matches!(
            self,
            ConsentState::Given | ConsentState::Refused | ConsentState::Withdrawn
        )
    }
}

impl fmt::Display for ConsentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConsentState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ConsentState::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| "must be one of requested, given, refused, withdrawn, expired".into())
    }
}

/// How the person expressed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsentMethod {
    Portal,
    Form,
    Api,
    Import,
    /// A Global Privacy Control signal (`Sec-GPC: 1`).
    Gpc,
    Unsubscribe,
    /// An objection to direct marketing (GDPR Art. 21(2)): absolute, it ends every marketing
    /// consent at once.
    Objection,
    /// Not the customer's doing: Steward recorded that a consent lapsed (its validity ended,
    /// or a material change to the notice needs it given again).
    Expiry,
    /// Not a new decision: the choice a duplicate customer made, carried over to the customer
    /// it was merged into.
    Merge,
}

impl ConsentMethod {
    pub const ALL: [ConsentMethod; 9] = [
        ConsentMethod::Portal,
        ConsentMethod::Form,
        ConsentMethod::Api,
        ConsentMethod::Import,
        ConsentMethod::Gpc,
        ConsentMethod::Unsubscribe,
        ConsentMethod::Objection,
        ConsentMethod::Expiry,
        ConsentMethod::Merge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMethod::Portal => "portal",
            ConsentMethod::Form => "form",
            ConsentMethod::Api => "api",
            ConsentMethod::Import => "import",
            ConsentMethod::Gpc => "gpc",
            ConsentMethod::Unsubscribe => "unsubscribe",
            ConsentMethod::Objection => "objection",
            ConsentMethod::Expiry => "expiry",
            ConsentMethod::Merge => "merge",
        }
    }
}

impl fmt::Display for ConsentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConsentMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ConsentMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| "must be one of portal, form, api, import, gpc, unsubscribe, objection, expiry, merge".into())
    }
}

/// Whether a Global Privacy Control signal opts the person out of this purpose: selling or
/// sharing their data and advertising by third parties (fideslang `third_party_sharing` and
/// `marketing.advertising.third_party`, with everything beneath them).
pub fn covered_by_gpc(purpose: &str) -> bool {
    let under = |root: &str| {
        purpose == root
            || purpose
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    under("third_party_sharing") || under("marketing.advertising.third_party")
}

/// Whether a purpose is direct marketing, which an objection under Art. 21(2) ends.
pub fn is_direct_marketing(purpose: &str) -> bool {
    purpose == "marketing" || purpose.starts_with("marketing.")
}

/// Whether an objection to direct marketing (Art. 21(2)) ends processing for this purpose:
/// direct marketing itself, and profiling from behaviour (fideslang
/// `personalize.content.profiled`), which serves it; Art. 21(2) covers "profiling to the
/// extent that it is related to such direct marketing".
pub fn ended_by_marketing_objection(purpose: &str) -> bool {
    is_direct_marketing(purpose)
        || purpose == PROFILED
        || purpose
            .strip_prefix(PROFILED)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Personalization from observed and inferred data, on consent.
const PROFILED: &str = "personalize.content.profiled";

/// When consent is checked, and since when it must have been given: a material change to
/// the privacy notice that has taken effect needs fresh consent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moment {
    pub now: i64,
    /// Consent given before this counts no more.
    pub given_since: Option<i64>,
}

impl Moment {
    pub fn at(now: i64) -> Moment {
        Moment {
            now,
            given_since: None,
        }
    }
}

/// The state in force at a moment: a given consent past its expiry, or given before a
/// material change to the notice took effect, counts as expired.
/// Which of two duplicate customers' choices on one purpose the merged customer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergedChoice {
    Survivor,
    Merged,
    /// Neither made one: the survivor stays as it is.
    Neither,
}

/// The most restrictive choice wins when two customers are merged: a refusal or a withdrawal
/// on either side beats a grant, and a grant stands against no answer, since a purpose never
/// answered (never asked, asked and not yet answered, or lapsed) is not a choice. Where both
/// said the same, the survivor's own event stands. States are as in force now (see
/// [`effective`]).
pub fn merged_choice(survivor: Option<ConsentState>, merged: Option<ConsentState>) -> MergedChoice {
    let no = |s: Option<ConsentState>| {
        matches!(s, Some(ConsentState::Refused | ConsentState::Withdrawn))
    };
    let yes = |s: Option<ConsentState>| s == Some(ConsentState::Given);
    if no(survivor) {
        MergedChoice::Survivor
    } else if no(merged) {
        MergedChoice::Merged
    } else if yes(survivor) {
        MergedChoice::Survivor
    } else if yes(merged) {
        MergedChoice::Merged
    } else {
        MergedChoice::Neither
    }
}

pub fn effective(
    state: ConsentState,
    given_at: i64,
    expires_at: Option<i64>,
    moment: Moment,
) -> ConsentState {
    let lapsed = expires_at.is_some_and(|e| e <= moment.now)
        || moment.given_since.is_some_and(|since| given_at < since);
    match state {
        ConsentState::Given if lapsed => ConsentState::Expired,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_keeps_the_most_restrictive_choice() {
        use ConsentState::*;
        use MergedChoice as M;
        let cases = [
            (Some(Given), Some(Withdrawn), M::Merged),
            (Some(Given), Some(Refused), M::Merged),
            (Some(Withdrawn), Some(Given), M::Survivor),
            (Some(Refused), Some(Given), M::Survivor),
            (None, Some(Given), M::Merged),
            (Some(Given), None, M::Survivor),
            (Some(Expired), Some(Given), M::Merged),
            (Some(Requested), Some(Refused), M::Merged),
            (Some(Given), Some(Requested), M::Survivor),
            (Some(Given), Some(Given), M::Survivor),
            (Some(Refused), Some(Withdrawn), M::Survivor),
            (None, Some(Expired), M::Neither),
            (None, None, M::Neither),
        ];
        for (survivor, merged, kept) in cases {
            assert_eq!(
                merged_choice(survivor, merged),
                kept,
                "{survivor:?} + {merged:?}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ConsentState::ALL {
            assert_eq!(s.as_str().parse::<ConsentState>(), Ok(s));
        }
        for m in ConsentMethod::ALL {
            assert_eq!(m.as_str().parse::<ConsentMethod>(), Ok(m));
        }
        assert!("yes".parse::<ConsentState>().is_err());
    }

    #[test]
    fn gpc_covers_sale_sharing_and_third_party_advertising_only() {
        assert!(covered_by_gpc("third_party_sharing"));
        assert!(covered_by_gpc("marketing.advertising.third_party.targeted"));
        assert!(!covered_by_gpc("marketing.advertising.first_party"));
        assert!(!covered_by_gpc("marketing.communications.email"));
        assert!(!covered_by_gpc("third_party_sharingx"));
    }

    #[test]
    fn a_marketing_objection_ends_marketing_and_the_profiling_for_it() {
        assert!(ended_by_marketing_objection(
            "marketing.communications.email"
        ));
        assert!(ended_by_marketing_objection("personalize.content.profiled"));
        assert!(!ended_by_marketing_objection("personalize.content.limited"));
        assert!(!ended_by_marketing_objection(
            "personalize.content.profiledx"
        ));
        assert!(!ended_by_marketing_objection("essential.service"));
    }

    #[test]
    fn a_given_consent_expires() {
        let at = Moment::at;
        assert_eq!(
            effective(ConsentState::Given, 1, Some(10), at(9)),
            ConsentState::Given
        );
        assert_eq!(
            effective(ConsentState::Given, 1, Some(10), at(10)),
            ConsentState::Expired
        );
        assert_eq!(
            effective(ConsentState::Given, 1, None, at(i64::MAX)),
            ConsentState::Given
        );
        assert_eq!(
            effective(ConsentState::Withdrawn, 1, Some(10), at(20)),
            ConsentState::Withdrawn
        );
    }

    #[test]
    fn a_material_notice_change_needs_fresh_consent() {
        let after_change = Moment {
            now: 50,
            given_since: Some(20),
        };
        assert_eq!(
            effective(ConsentState::Given, 19, None, after_change),
            ConsentState::Expired
        );
        assert_eq!(
            effective(ConsentState::Given, 20, None, after_change),
            ConsentState::Given
        );
        assert_eq!(
            effective(ConsentState::Refused, 1, None, after_change),
            ConsentState::Refused
        );
    }
}
