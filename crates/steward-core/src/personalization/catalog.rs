//! Personalization's part of the catalog: product categories, the attributes a customer may
//! declare, the rules that derive the others, and the offers. Checked once when the catalog
//! is read; each refusal names its line.

use serde::{Deserialize, Serialize};

use super::rules::placeholders;
use super::{AttrValue, Compute, Filter, Level, Of, Offer, Rule, Source};
use crate::catalog::CatalogError;
use crate::customer::InteractionKind;
use crate::retention::parse_duration;

/// A kind of product, named by a slug that facets and offers use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductCategory {
    pub key: String,
    pub name: String,
}

/// An attribute the customer declares (what they like, what to avoid).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeDef {
    pub key: String,
    pub label: String,
    /// The data category (fideslang `user.*`) the record of processing lists it under.
    pub category: String,
    pub source: Source,
    pub min_level: Level,
    /// Where its values come from: `product_categories`.
    pub values: String,
    pub max_values: usize,
    pub weight: f64,
}

/// Everything personalization reads from the catalog.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Book {
    pub product_categories: Vec<ProductCategory>,
    pub attributes: Vec<AttributeDef>,
    pub rules: Vec<Rule>,
    pub offers: Vec<Offer>,
}

impl Book {
    pub fn rule(&self, key: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.key == key)
    }

    pub fn attribute(&self, key: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.key == key)
    }

    /// Whether `key` names a declared attribute or a rule's result.
    pub fn knows(&self, key: &str) -> bool {
        self.attribute(key).is_some() || self.rule(key).is_some()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.attribute(key)
            .map(|a| a.label.as_str())
            .or_else(|| self.rule(key).map(|r| r.label.as_str()))
    }

    /// A value in a reader's words: product categories by their names, flags as yes or no.
    pub fn words(&self, value: &AttrValue) -> String {
        let named = |k: &str| {
            self.product_categories
                .iter()
                .find(|c| c.key == k)
                .map_or_else(|| k.to_string(), |c| c.name.clone())
        };
        match value {
            AttrValue::List(items) if items.is_empty() => "None".to_string(),
            AttrValue::List(items) => items
                .iter()
                .map(|i| named(i))
                .collect::<Vec<_>>()
                .join(", "),
            AttrValue::Text(t) => named(t),
            AttrValue::Flag(true) => "Yes".to_string(),
            AttrValue::Flag(false) => "No".to_string(),
            AttrValue::Count(n) => n.to_string(),
        }
    }

    pub fn source(&self, key: &str) -> Option<Source> {
        self.attribute(key)
            .map(|a| a.source)
            .or_else(|| self.rule(key).map(|r| r.source))
    }

    pub fn min_level(&self, key: &str) -> Option<Level> {
        self.attribute(key)
            .map(|a| a.min_level)
            .or_else(|| self.rule(key).map(|r| r.min_level))
    }

    pub fn weight(&self, key: &str) -> f64 {
        self.attribute(key)
            .map(|a| a.weight)
            .or_else(|| self.rule(key).map(|r| r.weight))
            .unwrap_or(0.0)
    }

    pub fn is_product_category(&self, key: &str) -> bool {
        self.product_categories.iter().any(|c| c.key == key)
    }

    /// The attribute keys a recommendation consults.
    pub fn consults(&self) -> Vec<String> {
        super::offers::consults(&self.offers)
    }

    /// The data categories personalization processes under `purpose`: at basic (LIMITED)
    /// those of what the customer declares, at full (PROFILED) also those of what the rules
    /// derive.
    pub fn categories_for(&self, purpose: &str) -> Vec<&str> {
        let Some(ceiling) = Level::ceiling_of(purpose) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = Vec::new();
        let usable = self
            .attributes
            .iter()
            .filter(|a| a.min_level <= ceiling)
            .map(|a| a.category.as_str())
            .chain(
                self.rules
                    .iter()
                    .filter(|r| r.min_level <= ceiling)
                    .map(|r| r.category.as_str()),
            );
        for c in usable {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAttribute {
    key: String,
    label: String,
    category: String,
    #[serde(default = "declared")]
    source: Source,
    #[serde(default)]
    min_level: Option<Level>,
    values: String,
    max_values: usize,
    #[serde(default = "one")]
    weight: f64,
}

fn declared() -> Source {
    Source::Declared
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    key: String,
    version: u32,
    label: String,
    category: String,
    source: Source,
    #[serde(default)]
    min_level: Option<Level>,
    kinds: Vec<String>,
    window: String,
    #[serde(default, rename = "where")]
    filter: Filter,
    compute: Compute,
    #[serde(default)]
    of: Option<Of>,
    #[serde(default)]
    min_count: u32,
    expires: String,
    #[serde(default = "one")]
    weight: f64,
    explanation: String,
}

/// Entries read from every source, checked together once all are read, so an extension may
/// name a category or an attribute another source declares.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) categories: Vec<(CatalogError, ProductCategory)>,
    pub(crate) attributes: Vec<(CatalogError, RawAttribute)>,
    pub(crate) rules: Vec<(CatalogError, RawRule)>,
    pub(crate) offers: Vec<(CatalogError, Offer)>,
}

fn is_slug(s: &str, dash: char) -> bool {
    let mut chars = s.chars();
    (1..=64).contains(&s.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == dash)
}

fn at(located: &CatalogError, reason: String) -> CatalogError {
    CatalogError {
        reason,
        ..located.clone()
    }
}

impl Pending {
    pub(crate) fn build(self) -> Result<Book, CatalogError> {
        let mut book = Book::default();
        for (loc, c) in self.categories {
            if !is_slug(&c.key, '_') {
                return Err(at(
                    &loc,
                    format!("product category {:?} must be a lower-case word", c.key),
                ));
            }
            if book.is_product_category(&c.key) {
                return Err(at(
                    &loc,
                    format!("product category {:?} is defined twice", c.key),
                ));
            }
            if c.name.trim().is_empty() {
                return Err(at(
                    &loc,
                    format!("product category {:?} needs a name", c.key),
                ));
            }
            book.product_categories.push(c);
        }
        for (loc, a) in self.attributes {
            let attribute = check_attribute(&book, a).map_err(|r| at(&loc, r))?;
            book.attributes.push(attribute);
        }
        for (loc, r) in self.rules {
            let rule = check_rule(&book, r).map_err(|r| at(&loc, r))?;
            book.rules.push(rule);
        }
        for (loc, o) in self.offers {
            check_offer(&book, &o).map_err(|f| at(&loc, f.reason))?;
            book.offers.push(o);
        }
        Ok(book)
    }
}

fn check_level(key: &str, source: Source, min_level: Option<Level>) -> Result<Level, String> {
    let level = min_level.unwrap_or(source.floor());
    if level < source.floor() {
        return Err(format!(
            "{key:?}: a {source} attribute is used at {} or above, not {level}",
            source.floor()
        ));
    }
    Ok(level)
}

fn check_category(key: &str, category: &str) -> Result<(), String> {
    let parts_ok = category.split('.').all(|p| is_slug(p, '_'));
    if !(category == "user" || category.starts_with("user.")) || !parts_ok {
        return Err(format!(
            "{key:?}: data category {category:?} must be a fideslang user.* category"
        ));
    }
    Ok(())
}

fn check_weight(key: &str, weight: f64) -> Result<(), String> {
    if !(weight.is_finite() && (0.0..=100.0).contains(&weight)) {
        return Err(format!("{key:?}: weight must be between 0 and 100"));
    }
    Ok(())
}

fn check_attribute(book: &Book, a: RawAttribute) -> Result<AttributeDef, String> {
    if !is_slug(&a.key, '_') {
        return Err(format!("attribute {:?} must be a lower-case word", a.key));
    }
    if book.knows(&a.key) {
        return Err(format!("attribute {:?} is defined twice", a.key));
    }
    if a.label.trim().is_empty() {
        return Err(format!("attribute {:?} needs a label", a.key));
    }
    if a.source != Source::Declared {
        return Err(format!(
            "attribute {:?}: only declared attributes are listed; observed and inferred ones come from a personalization_rule",
            a.key
        ));
    }
    if a.values != "product_categories" {
        return Err(format!(
            "attribute {:?}: values must be \"product_categories\"",
            a.key
        ));
    }
    if a.max_values == 0 || a.max_values > super::facets::MAX_CATEGORIES {
        return Err(format!(
            "attribute {:?}: max_values must be between 1 and {}",
            a.key,
            super::facets::MAX_CATEGORIES
        ));
    }
    check_weight(&a.key, a.weight)?;
    check_category(&a.key, &a.category)?;
    Ok(AttributeDef {
        min_level: check_level(&a.key, a.source, a.min_level)?,
        key: a.key,
        label: a.label,
        category: a.category,
        source: a.source,
        values: a.values,
        max_values: a.max_values,
        weight: a.weight,
    })
}

fn check_rule(book: &Book, r: RawRule) -> Result<Rule, String> {
    let key = r.key.as_str();
    if !is_slug(key, '_') {
        return Err(format!("rule {key:?} must be a lower-case word"));
    }
    if book.knows(key) {
        return Err(format!("rule {key:?} is defined twice"));
    }
    if r.label.trim().is_empty() || r.explanation.trim().is_empty() {
        return Err(format!("rule {key:?} needs a label and an explanation"));
    }
    if r.source == Source::Declared {
        return Err(format!(
            "rule {key:?}: a rule derives observed or inferred attributes; declared ones are the customer's to give"
        ));
    }
    if r.version == 0 {
        return Err(format!("rule {key:?}: version starts at 1"));
    }
    let mut kinds = Vec::new();
    for k in &r.kinds {
        let kind: InteractionKind = k
            .parse()
            .map_err(|e| format!("rule {key:?}: kind {k:?} {e}"))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(format!("rule {key:?} names no kind of interaction"));
    }
    let takes_categories = kinds
        .iter()
        .all(|k| matches!(k, InteractionKind::Order | InteractionKind::WebVisit));
    let takes_channel = kinds
        .iter()
        .all(|k| matches!(k, InteractionKind::Email | InteractionKind::Message));
    let facet_for = |facet: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "rule {key:?}: the {facet} facet is not one every kind it names has"
            ))
        }
    };
    if !r.filter.categories.is_empty() {
        facet_for("category", takes_categories)?;
    }
    if !r.filter.channel.is_empty() {
        facet_for("channel", takes_channel)?;
    }
    if !r.filter.engagement.is_empty() {
        facet_for("engagement", takes_channel)?;
    }
    for c in &r.filter.categories {
        if !book.is_product_category(c) {
            return Err(format!("rule {key:?}: unknown product category {c:?}"));
        }
    }
    match (r.compute, r.of) {
        (Compute::MostFrequent, None) => {
            return Err(format!(
                "rule {key:?}: most_frequent needs `of` (category or channel)"
            ));
        }
        (Compute::MostFrequent, Some(Of::Category)) => facet_for("category", takes_categories)?,
        (Compute::MostFrequent, Some(Of::Channel)) => facet_for("channel", takes_channel)?,
        (_, Some(_)) => {
            return Err(format!("rule {key:?}: `of` is for most_frequent rules"));
        }
        (_, None) => {}
    }
    let window_span = parse_duration(&r.window).map_err(|e| format!("rule {key:?}: window {e}"))?;
    let expires_span =
        parse_duration(&r.expires).map_err(|e| format!("rule {key:?}: expires {e}"))?;
    if window_span.is_zero() || expires_span.is_zero() {
        return Err(format!(
            "rule {key:?}: window and expires must not be empty"
        ));
    }
    placeholders(&r.explanation).map_err(|e| format!("rule {key:?}: explanation: {e}"))?;
    check_weight(key, r.weight)?;
    check_category(key, &r.category)?;
    Ok(Rule {
        min_level: check_level(key, r.source, r.min_level)?,
        key: r.key,
        version: r.version,
        label: r.label,
        category: r.category,
        source: r.source,
        kinds,
        window: r.window,
        window_span,
        filter: r.filter,
        compute: r.compute,
        of: r.of,
        min_count: r.min_count,
        expires: r.expires,
        expires_span,
        weight: r.weight,
        explanation: r.explanation,
    })
}

/// An offer refused: the field at fault (as the API names it) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFault {
    pub field: &'static str,
    pub reason: String,
}

/// An offer's fields checked as the catalog and the API both need them.
pub fn check_offer(book: &Book, o: &Offer) -> Result<(), OfferFault> {
    let fault = |field, reason| Err(OfferFault { field, reason });
    if !is_slug(&o.key, '-') {
        return fault(
            "key",
            format!(
                "offer {:?}: key must be lower-case letters, digits and dashes",
                o.key
            ),
        );
    }
    if book.offers.iter().any(|other| other.key == o.key) {
        return fault("key", format!("offer {:?} is defined twice", o.key));
    }
    if o.title.trim().is_empty() || o.title.chars().count() > 200 {
        return fault(
            "title",
            format!("offer {:?} needs a title of at most 200 characters", o.key),
        );
    }
    if let Some(c) = &o.category
        && !book.is_product_category(c)
    {
        return fault(
            "category",
            format!("offer {:?}: unknown product category {c:?}", o.key),
        );
    }
    if o.tags.len() > 16 || o.tags.iter().any(|t| !is_slug(t, '-') && !is_slug(t, '_')) {
        return fault(
            "tags",
            format!("offer {:?}: at most 16 tags, each a lower-case word", o.key),
        );
    }
    if let Some(w) = &o.eligibility.when
        && !book.knows(&w.attribute)
    {
        return fault(
            "eligibility.when.attribute",
            format!(
                "offer {:?}: its condition names unknown attribute {:?}",
                o.key, w.attribute
            ),
        );
    }
    Ok(())
}
