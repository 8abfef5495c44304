//! Ranking offers with the attributes a read was allowed to return, and saying what each
//! attribute did: the contributions are the explanation, so nothing that was not given can
//! appear in it.

use std::cmp::Ordering;

use serde::Serialize;

use super::{AttrValue, Offer};

/// The inferred favourite category: adds its weight times its confidence.
pub const FAVOURITE_CATEGORY: &str = "favourite_category";
/// The categories the customer said they like: adds its weight, and 1 per shared tag.
pub const LIKED_CATEGORIES: &str = "liked_categories";
/// The categories the customer said to avoid: such offers are not shown.
pub const AVOID_CATEGORIES: &str = "avoid_categories";

/// An attribute as ranking sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub key: String,
    pub value: AttrValue,
    pub confidence: f64,
    pub weight: f64,
}

/// What an attribute added to an offer's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    pub key: String,
    pub amount: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ranked {
    pub offer: Offer,
    pub score: f64,
    /// The attributes that raised this offer, largest first.
    pub used: Vec<Contribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ranking {
    pub items: Vec<Ranked>,
    /// Every attribute that changed the answer (raised a shown offer or kept one out), in
    /// the order given.
    pub used: Vec<String>,
}

/// Had the customer not had `without`, they would have seen `would_see`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = RankingCounterfactual))]
pub struct Counterfactual {
    pub without: String,
    pub would_see: String,
}

enum Verdict {
    Shown(f64, Vec<Contribution>),
    /// Kept out by these attributes (none: a condition no attribute could settle).
    Out(Vec<String>),
}

fn judge(offer: &Offer, attrs: &[Attr]) -> Verdict {
    let mut used = Vec::new();
    let mut add = |key: &str, amount: f64| {
        if amount > 0.0 {
            used.push(Contribution {
                key: key.to_string(),
                amount,
            });
        }
    };
    for a in attrs {
        let in_category = offer.category.as_deref().is_some_and(|c| a.value.names(c));
        match a.key.as_str() {
            AVOID_CATEGORIES if in_category => return Verdict::Out(vec![a.key.clone()]),
            FAVOURITE_CATEGORY if in_category => add(&a.key, a.weight * a.confidence),
            LIKED_CATEGORIES => {
                let tags = offer.tags.iter().filter(|t| a.value.names(t)).count();
                add(
                    &a.key,
                    if in_category { a.weight } else { 0.0 } + tags as f64,
                );
            }
            _ => {}
        }
        if let Some(w) = &offer.eligibility.when
            && w.attribute == a.key
        {
            if a.value.as_text() == w.equals {
                add(&a.key, a.weight);
            } else {
                return Verdict::Out(vec![a.key.clone()]);
            }
        }
    }
    used.sort_by(|x, y| {
        y.amount
            .total_cmp(&x.amount)
            .then_with(|| x.key.cmp(&y.key))
    });
    let score = used.iter().map(|c| c.amount).sum();
    Verdict::Shown(score, used)
}

/// The `limit` best offers for these attributes. Equal scores go by priority, then key, so
/// without attributes the answer is the order shown to everyone.
pub fn rank(offers: &[Offer], attrs: &[Attr], limit: usize) -> Ranking {
    let mut shown = Vec::new();
    let mut kept_out: Vec<String> = Vec::new();
    for o in offers {
        match judge(o, attrs) {
            Verdict::Shown(score, used) => shown.push(Ranked {
                offer: o.clone(),
                score,
                used,
            }),
            Verdict::Out(by) => kept_out.extend(by),
        }
    }
    shown.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.offer.priority.cmp(&a.offer.priority))
            .then_with(|| a.offer.key.cmp(&b.offer.key))
    });
    shown.truncate(limit);
    let used = attrs
        .iter()
        .map(|a| &a.key)
        .filter(|k| {
            kept_out.contains(k) || shown.iter().any(|r| r.used.iter().any(|c| &c.key == *k))
        })
        .fold(Vec::<String>::new(), |mut acc, k| {
            if !acc.contains(k) {
                acc.push(k.clone());
            }
            acc
        });
    Ranking { items: shown, used }
}

/// Drops the attribute that added most to the offers shown and names the first offer that
/// then comes in; `None` when no attribute raised a shown offer, or dropping it changes
/// nothing that is shown.
pub fn counterfactual(offers: &[Offer], attrs: &[Attr], limit: usize) -> Option<Counterfactual> {
    let before = rank(offers, attrs, limit);
    let mut totals: Vec<(String, f64)> = Vec::new();
    for c in before.items.iter().flat_map(|r| &r.used) {
        match totals.iter_mut().find(|(k, _)| *k == c.key) {
            Some((_, t)) => *t += c.amount,
            None => totals.push((c.key.clone(), c.amount)),
        }
    }
    let (without, _) = totals.into_iter().max_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| b.0.cmp(&a.0))
            .then(Ordering::Equal)
    })?;
    let rest: Vec<Attr> = attrs.iter().filter(|a| a.key != without).cloned().collect();
    let after = rank(offers, &rest, limit);
    let entering = after
        .items
        .iter()
        .find(|r| !before.items.iter().any(|b| b.offer.key == r.offer.key))?;
    Some(Counterfactual {
        without,
        would_see: entering.offer.key.clone(),
    })
}
