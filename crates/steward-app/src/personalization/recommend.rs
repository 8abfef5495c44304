//! Recommendations and why: one gate read of the keys ranking consults, ranking over exactly
//! what the gate returned, and an explanation built from that same list, so it names every
//! attribute the audit entry names and no other.

use serde::Serialize;
use steward_core::personalization::{
    Attr, AttrValue, Derived, Level, Offer, Source, counterfactual, explain, rank,
};
use uuid::Uuid;

use super::gate::{AttributesRead, ReadAttribute};
use super::{Basis, ReadFor, Wanted};
use crate::services::{Personalization, Portal};
use crate::{AppError, Steward, Subject};

/// Offers shown when the caller does not say how many.
pub const DEFAULT_RECOMMENDATIONS: usize = 5;
const MAX_RECOMMENDATIONS: usize = 50;

/// GDPR Art. 22: ranking offers decides nothing about the customer.
const SIGNIFICANT_EFFECT: &str =
    "No decision with legal or similarly significant effects was made (GDPR Art. 22).";

/// The offers put before a customer, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendations {
    /// False when nothing about the customer was used: everyone sees these.
    pub personalized: bool,
    pub items: Vec<OfferItem>,
    pub explanation: WhyExplanation,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferItem {
    pub offer: OfferRef,
    /// The attributes that raised this offer, largest share first.
    pub because: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferRef {
    pub key: String,
    pub title: String,
}

/// Why these offers: the level used and its basis, each attribute read, and what would
/// change without the one that counted most.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhyExplanation {
    /// The level used: the customer's, within what the reading purpose allows.
    pub level: Level,
    pub basis: Option<Basis>,
    /// Every attribute read for this answer, in the order read; those that changed nothing
    /// contribute 0.
    pub attributes: Vec<AttributeUsed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterfactual: Option<Counterfactual>,
    pub significant_effect: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeUsed {
    pub key: String,
    pub label: String,
    pub source: Source,
    /// The lowest level at which it may be used.
    pub min_level: Level,
    /// The version of the rule that derived it; none for what the customer declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_version: Option<u32>,
    pub confidence: f64,
    /// What it added to the offers shown.
    pub contribution: f64,
    pub why: String,
}

/// Without `without`, the customer would have seen `would_see` (an offer's title).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counterfactual {
    pub without: String,
    pub would_see: String,
}

impl Steward {
    fn recommendations(
        &self,
        offers: &[Offer],
        read: &AttributesRead,
        limit: usize,
    ) -> Recommendations {
        let book = self.catalog.personalization();
        let attrs: Vec<Attr> = read
            .attributes()
            .iter()
            .map(|a| Attr {
                key: a.key.clone(),
                value: a.value.clone(),
                confidence: a.confidence,
                weight: book.weight(&a.key),
            })
            .collect();
        let ranking = rank(offers, &attrs, limit);
        let attributes = read
            .attributes()
            .iter()
            .map(|a| AttributeUsed {
                key: a.key.clone(),
                label: book.label(&a.key).unwrap_or(&a.key).to_string(),
                source: a.source,
                min_level: a.min_level,
                rule_version: a.rule_version,
                confidence: a.confidence,
                contribution: ranking
                    .items
                    .iter()
                    .flat_map(|r| &r.used)
                    .filter(|c| c.key == a.key)
                    .map(|c| c.amount)
                    .sum(),
                why: self.why(a),
            })
            .collect();
        let counterfactual = counterfactual(offers, &attrs, limit).map(|c| Counterfactual {
            would_see: offers
                .iter()
                .find(|o| o.key == c.would_see)
                .map_or(c.would_see.clone(), |o| o.title.clone()),
            without: c.without,
        });
        Recommendations {
            personalized: read.personalized(),
            items: ranking
                .items
                .into_iter()
                .map(|r| OfferItem {
                    because: r.used.into_iter().map(|c| c.key).collect(),
                    offer: OfferRef {
                        key: r.offer.key,
                        title: r.offer.title,
                    },
                })
                .collect(),
            explanation: WhyExplanation {
                level: read.level.min(read.ceiling),
                basis: read.basis.clone(),
                attributes,
                counterfactual,
                significant_effect: SIGNIFICANT_EFFECT,
            },
        }
    }

    /// An attribute's reason in the customer's words: a rule's own explanation filled in,
    /// or what they told us.
    pub(super) fn why(&self, a: &ReadAttribute) -> String {
        let book = self.catalog.personalization();
        match a.rule_key.as_deref().and_then(|k| book.rule(k)) {
            Some(rule) => explain(
                &rule.explanation,
                &Derived {
                    value: match &a.value {
                        AttrValue::Text(_) | AttrValue::List(_) => {
                            AttrValue::Text(book.words(&a.value))
                        }
                        other => other.clone(),
                    },
                    confidence: a.confidence,
                    count: a.count,
                    total: a.total,
                    days: a.days,
                },
            ),
            None => format!(
                "{}: you told us {}.",
                book.label(&a.key).unwrap_or(&a.key),
                book.words(&a.value)
            ),
        }
    }

    async fn recommend_for(
        &self,
        customer: Uuid,
        limit: usize,
        why: ReadFor<'_>,
    ) -> Result<Recommendations, AppError> {
        let offers = self.offer_book().await?;
        let consults = steward_core::personalization::offers::consults(&offers);
        let offers: &[Offer] = &offers;
        let read = self
            .read_attributes_many(&[customer], Wanted::Keys(&consults), why)
            .await?
            .pop()
            .ok_or(AppError::NotFound)?;
        Ok(self.recommendations(offers, &read, limit))
    }
}

fn checked_limit(limit: Option<usize>) -> Result<usize, AppError> {
    match limit.unwrap_or(DEFAULT_RECOMMENDATIONS) {
        n @ 1..=MAX_RECOMMENDATIONS => Ok(n),
        _ => Err(AppError::invalid(
            "limit",
            format!("must be between 1 and {MAX_RECOMMENDATIONS}"),
        )),
    }
}

impl Personalization<'_> {
    /// Offers for a customer, read for a personalization purpose: `limited` sees only what
    /// the customer declared, `profiled` also what was derived, and neither more than the
    /// customer's level. At off everyone's order comes back, `personalized: false`; the read
    /// is audited all the same.
    pub async fn recommend(
        &self,
        access: &crate::Access,
        customer: Uuid,
        limit: Option<usize>,
    ) -> Result<Recommendations, AppError> {
        let limit = checked_limit(limit)?;
        self.app
            .recommend_for(customer, limit, ReadFor::Output(access))
            .await
    }
}

impl Portal<'_> {
    /// "Why you see this": the customer's own recommendations with their explanation.
    pub async fn recommendations(&self, subject: &Subject) -> Result<Recommendations, AppError> {
        self.app
            .recommend_for(
                subject.customer(),
                DEFAULT_RECOMMENDATIONS,
                ReadFor::OutputFor(subject),
            )
            .await
    }
}
