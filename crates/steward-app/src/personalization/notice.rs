//! How personalization works, for the privacy notice: each level in plain words, and each
//! rule with what it reads, over how long, and how it explains itself. Built from the catalog
//! alone, so the notice says what the code does.

use serde::Serialize;
use steward_core::personalization::{Level, LevelText, Source};
use steward_core::readability::flesch_reading_ease;

use crate::services::Personalization;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HowItWorks {
    pub levels: Vec<HowLevel>,
    pub rules: Vec<HowRule>,
    /// The Flesch reading ease of all the text above together.
    pub readability: f64,
    /// Below the installation's readability threshold.
    pub hard_to_read: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HowLevel {
    pub level: Level,
    pub text: LevelText,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HowRule {
    pub key: String,
    pub label: String,
    pub source: Source,
    /// The level from which it is used.
    pub min_level: Level,
    /// The kinds of interaction it reads.
    pub reads: Vec<String>,
    /// How far back it looks, as an ISO 8601 duration.
    pub window: String,
    /// How long a result is kept before it is worked out again or dropped.
    pub expires: String,
    /// The explanation a customer sees, with its placeholders.
    pub explanation: String,
}

impl Personalization<'_> {
    /// The notice's `#personalization` section.
    pub fn how_it_works(&self) -> HowItWorks {
        let book = self.app.catalog.personalization();
        let levels: Vec<HowLevel> = Level::ALL
            .iter()
            .map(|l| HowLevel {
                level: *l,
                text: l.describe(),
            })
            .collect();
        let rules: Vec<HowRule> = book
            .rules
            .iter()
            .map(|r| HowRule {
                key: r.key.clone(),
                label: r.label.clone(),
                source: r.source,
                min_level: r.min_level,
                reads: r.kinds.iter().map(|k| k.as_str().to_string()).collect(),
                window: r.window.clone(),
                expires: r.expires.clone(),
                explanation: r.explanation.clone(),
            })
            .collect();
        let text: Vec<&str> = levels
            .iter()
            .flat_map(|l| [l.text.what, l.text.example])
            .chain(rules.iter().map(|r| r.label.as_str()))
            .collect();
        let readability = flesch_reading_ease(&text.join(" "));
        HowItWorks {
            levels,
            rules,
            readability,
            hard_to_read: readability < self.app.readable_at_least,
        }
    }
}
