//! Offers: what may be put before a customer, with no personal data of its own. An offer may
//! belong to a product category, carry tags, and hold only when an attribute has a value.

use serde::{Deserialize, Serialize};

use super::ranking::{AVOID_CATEGORIES, FAVOURITE_CATEGORY, LIKED_CATEGORIES};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub key: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Higher first among offers of equal score, and in the order shown to everyone.
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub eligibility: Eligibility,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eligibility {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
}

/// The offer is for customers whose `attribute` has this value (as text: `"true"`, `"garden"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct When {
    pub attribute: String,
    pub equals: String,
}

/// The attribute keys ranking `offers` may consult, and no other: a recommendation reads
/// exactly these.
pub fn consults(offers: &[Offer]) -> Vec<String> {
    let mut keys: Vec<String> = [FAVOURITE_CATEGORY, LIKED_CATEGORIES, AVOID_CATEGORIES]
        .iter()
        .map(|k| (*k).to_string())
        .collect();
    for o in offers {
        if let Some(w) = &o.eligibility.when
            && !keys.contains(&w.attribute)
        {
            keys.push(w.attribute.clone());
        }
    }
    keys
}
