//! The offer book in the console: every offer with where it came from, a form to add one and
//! a button to retire one, for those who manage campaigns; and how many customers chose each
//! personalization level, which is who sees offers ranked for them. Offers hold no personal
//! data, so no purpose is needed here.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::core::personalization::{Book, Eligibility, Level, Offer, When};
use steward_app::{AppError, FieldError, LevelCounts, OfferView};

use super::charts::{Chart, shares};
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, form_value, readable};
use crate::AppState;
use crate::web::{render_checked, see_other};

struct OfferRow {
    key: String,
    title: String,
    category: String,
    tags: String,
    priority: i64,
    condition: String,
    origin: String,
    created: String,
    retired: Option<String>,
}

#[derive(Template)]
#[template(path = "console/offers.html")]
struct OffersPage {
    chrome: Chrome,
    offers: Vec<OfferRow>,
    chart: Chart,
    /// (key, name) of the catalog's product categories.
    categories: Vec<(String, String)>,
    /// (key, label) of the attributes a condition may name.
    attributes: Vec<(String, String)>,
    refusal: Refusal,
}

const OFFER_INPUTS: [(&str, &str); 7] = [
    ("key", "key"),
    ("title", "title"),
    ("category", "category"),
    ("tags", "tags"),
    ("priority", "priority"),
    ("attribute", "eligibility.when.attribute"),
    ("equals", "eligibility.when.equals"),
];

/// An offer as its row shows it, a condition named by the catalog's label of its attribute.
fn row(v: OfferView, book: &Book) -> OfferRow {
    let o = v.offer;
    OfferRow {
        condition: o
            .eligibility
            .when
            .map(|w| {
                let name = book.label(&w.attribute).unwrap_or(&w.attribute);
                format!("{name}: {}", w.equals)
            })
            .unwrap_or_default(),
        key: o.key,
        title: o.title,
        category: o.category.unwrap_or_default(),
        tags: o.tags.join(", "),
        priority: o.priority,
        origin: v.origin,
        created: readable(v.created_at),
        retired: v.retired_at.map(readable),
    }
}

/// Customers by the level they chose, as shares of all of them.
pub(super) fn level_chart(counts: &LevelCounts) -> Chart {
    let items: Vec<(String, u64)> = Level::ALL
        .iter()
        .map(|l| (l.describe().name.to_string(), counts.at(*l)))
        .collect();
    shares(
        "personalization-levels",
        "Customers by the personalization level they chose",
        &items,
        counts.total(),
    )
}

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let personalization = state.app.personalization();
    let offers = personalization.offers(&staff.actor).await?;
    let counts = personalization.level_counts().await?;
    let book = state.app.catalog().personalization();
    let has_errors = refusal.any();
    Ok(render_checked(
        &OffersPage {
            chrome: Chrome::new(state, staff, "Offers", "offers"),
            offers: offers.into_iter().map(|o| row(o, book)).collect(),
            chart: level_chart(&counts),
            categories: book
                .product_categories
                .iter()
                .map(|c| (c.key.clone(), c.name.clone()))
                .collect(),
            attributes: book
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.label.clone()))
                .chain(book.rules.iter().map(|r| (r.key.clone(), r.label.clone())))
                .collect(),
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&state, &staff, Refusal::none()).await
}

/// The offer the form describes, or what is wrong with the inputs that are not just text.
fn offer_of(form: &HashMap<String, String>) -> Result<Offer, Vec<FieldError>> {
    let text = |key: &str| form_value(form, key).unwrap_or_default();
    let mut errors = Vec::new();
    let priority = match form_value(form, "priority") {
        None => 0,
        Some(raw) => raw.parse::<i64>().unwrap_or_else(|_| {
            errors.push(FieldError::new("priority", "must be a whole number"));
            0
        }),
    };
    let when = match (form_value(form, "attribute"), form_value(form, "equals")) {
        (None, None) => None,
        (Some(attribute), Some(equals)) => Some(When { attribute, equals }),
        (Some(_), None) => {
            errors.push(FieldError::new(
                "eligibility.when.equals",
                "say which value the offer is for",
            ));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::new(
                "eligibility.when.attribute",
                "choose the attribute the value is about",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Offer {
        key: text("key"),
        title: text("title"),
        category: form_value(form, "category"),
        tags: text("tags")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        priority,
        eligibility: Eligibility { when },
    })
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let refused = |errors| Refusal::new("offer", form.clone(), errors, OFFER_INPUTS);
    let offer = match offer_of(&form) {
        Ok(offer) => offer,
        Err(errors) => return page(&state, &staff, refused(errors)).await,
    };
    match state
        .app
        .personalization()
        .create_offer(&staff.actor, offer)
        .await
    {
        Ok(_) => Ok(see_other("/console/offers")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(AppError::Duplicate { field }) => {
            let errors = vec![FieldError::new(field, "is taken by another offer")];
            page(&state, &staff, refused(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn retire(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    state
        .app
        .personalization()
        .retire_offer(&staff.actor, &key)
        .await?;
    Ok(see_other("/console/offers"))
}
