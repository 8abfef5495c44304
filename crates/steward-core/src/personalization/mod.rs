//! Personalization the customer controls (I8): the level they choose, where each profile
//! attribute comes from, the rules that derive attributes from interactions, the offers and
//! their ranking. Pure rules; the store keeps the rows and the app opens them.
//!
//! The one predicate every read of a profile attribute obeys is [`permits`]: an attribute is
//! used only at or above its own minimum level, never above the level the customer chose, and
//! never above what the reading purpose allows.

pub mod catalog;
pub mod facets;
pub mod offers;
pub mod ranking;
pub mod rules;

use std::cmp::Ordering;

use crate::consent::ConsentState;

pub use catalog::{AttributeDef, Book, ProductCategory};
pub use facets::{Channel, Engagement, Facets};
pub use offers::{Eligibility, Offer, When};
pub use ranking::{Attr, Contribution, Counterfactual, Ranked, Ranking, counterfactual, rank};
pub use rules::{AttrValue, Compute, Derived, Fact, Filter, Of, Rule, evaluate, explain};

/// Suggestions from what the customer told us (declared attributes), on legitimate interests.
pub const LIMITED: &str = "personalize.content.limited";
/// Suggestions from what the customer did (observed and inferred attributes), on consent.
pub const PROFILED: &str = "personalize.content.profiled";

vocabulary!(
    /// How far the customer lets us personalise, in increasing order. No choice is off.
    Level {
        Off => "off",
        Basic => "basic",
        Full => "full",
    }
);

impl Level {
    fn rank(self) -> u8 {
        match self {
            Level::Off => 0,
            Level::Basic => 1,
            Level::Full => 2,
        }
    }

    /// The purpose whose basis this level rests on; off needs none.
    pub fn purpose(self) -> Option<&'static str> {
        match self {
            Level::Off => None,
            Level::Basic => Some(LIMITED),
            Level::Full => Some(PROFILED),
        }
    }

    /// The highest level a read for `purpose` may use; `None` for a purpose that is not
    /// personalization's.
    pub fn ceiling_of(purpose: &str) -> Option<Level> {
        match purpose {
            LIMITED => Some(Level::Basic),
            PROFILED => Some(Level::Full),
            _ => None,
        }
    }

    /// What the level means, in words a customer reads before choosing it.
    pub fn describe(self) -> LevelText {
        match self {
            Level::Off => LevelText {
                name: "Off",
                what: "We show you the same offers as everyone else. We keep no profile of you.",
                example: "You see our offers in the order we put them for everyone.",
            },
            Level::Basic => LevelText {
                name: "Basic",
                what: "We use only what you tell us you like. We do not look at what you buy.",
                example: "You tell us you like books, so we show you book offers first.",
            },
            Level::Full => LevelText {
                name: "Full",
                what: "We also look at what you buy and which of our messages you open. \
                       You can see, fix or delete what we work out.",
                example: "You bought garden tools most often this year, so we show you garden offers first.",
            },
        }
    }
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// A level explained in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelText {
    pub name: &'static str,
    pub what: &'static str,
    pub example: &'static str,
}

vocabulary!(
    /// Where an attribute comes from: the customer said it, we counted it, or we guessed it.
    Source {
        Declared => "declared",
        Observed => "observed",
        Inferred => "inferred",
    }
);

impl Source {
    /// The lowest level at which an attribute of this source may be used: what the customer
    /// told us at basic, anything drawn from their behaviour only at full.
    pub fn floor(self) -> Level {
        match self {
            Source::Declared => Level::Basic,
            Source::Observed | Source::Inferred => Level::Full,
        }
    }
}

/// I8: an attribute whose minimum level is `min` may be used for a customer at `level` by a
/// read whose purpose allows at most `ceiling`.
pub fn permits(level: Level, ceiling: Level, min: Level) -> bool {
    min != Level::Off && min <= level.min(ceiling)
}

/// What a consent decision does to the chosen level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelDrop {
    /// The level is lowered to this one if it is above it.
    pub at_most: Level,
    /// Observed and inferred attributes are deleted with it.
    pub delete_profiled: bool,
    pub reason: &'static str,
}

/// When profiling consent ends (withdrawn, refused or expired), full ends with it and what
/// was drawn from the customer's behaviour goes in the same commit; other purposes and
/// states change nothing.
pub fn drop_after_consent(purpose: &str, state: ConsentState) -> Option<LevelDrop> {
    if purpose != PROFILED {
        return None;
    }
    let reason = match state {
        ConsentState::Withdrawn | ConsentState::Refused => "consent_withdrawn",
        ConsentState::Expired => "consent_expired",
        ConsentState::Given | ConsentState::Requested => return None,
    };
    Some(LevelDrop {
        at_most: Level::Basic,
        delete_profiled: true,
        reason,
    })
}

/// When the desk upholds an objection (Art. 21(1)) to the limited purpose every level above
/// off rests on, personalization stops: the level falls to off and what was drawn from the
/// customer's behaviour goes with it. Objections to other purposes leave the level alone.
pub fn drop_after_objection(purpose: &str) -> Option<LevelDrop> {
    (purpose == LIMITED).then_some(LevelDrop {
        at_most: Level::Off,
        delete_profiled: true,
        reason: "objection_upheld",
    })
}

#[cfg(test)]
mod tests;
