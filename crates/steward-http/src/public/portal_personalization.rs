//! The portal's personalization pages: the level the customer chooses, each level explained
//! with an example; what we keep to personalize, each attribute with where it came from, to
//! correct, delete or allow again; and "why you see this", their own recommendations with
//! the explanation. Same session and form token as the rest of the portal, and no script.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use steward_app::core::personalization::{Level, Source};
use steward_app::{AppError, Basis, FieldError, Recommendations, Subject};

use super::dates::{day, readable};
use super::personalization_words::{
    AttributeRow, LevelRow, attribute_rows, level_rows, source_words,
};
use super::portal::{session, signed_form};
use super::portal_outcomes::Flash;
use crate::evidence::evidence;
use crate::tls::ClientAddr;
use crate::web::{csrf_for, render, see_other, with_public_policy};
use crate::{AppState, Problem};

const PAGE: &str = "/portal/me/personalization";

/// What full without the tick answers: nothing changed, and what would change it.
const FULL_NEEDS_CONSENT: &str = "Your level has not changed. Full looks at what you buy and \
    which of our messages you open, so it needs your consent: tick the box under Full and \
    choose it again.";

/// What choosing basic or full answers once the customer's objection to personalization was
/// upheld: the objection stands until they withdraw it.
const UPHELD: &str = "Your level stays Off: you objected to offers tailored to you, and we \
    agreed. If you have changed your mind, tell us and we will lift your objection.";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page))
        .route("/portal/me/personalization/level", post(choose))
        .route(
            "/portal/me/personalization/attributes/correct",
            post(correct),
        )
        .route("/portal/me/personalization/attributes/delete", post(delete))
        .route("/portal/me/personalization/attributes/allow", post(allow))
        .route("/portal/me/recommendations", get(why))
}

/// What an action here came to, carried to the page after it as one word from this list.
const OUTCOMES: [(&str, &str); 4] = [
    ("level", "Saved. Your choice applies from now on."),
    ("corrected", "Saved. Thank you."),
    (
        "deleted",
        "Deleted. We will not work it out again unless you allow it.",
    ),
    (
        "allowed",
        "Allowed again. While your level is Full, we may work it out again from what you do.",
    ),
];

fn outcome(query: &HashMap<String, String>) -> Option<Flash> {
    let done = query.get("done")?;
    OUTCOMES
        .iter()
        .find(|(word, _)| word == done)
        .and_then(|(_, text)| Flash::done(*text))
}

/// A declared attribute the customer sets by ticking product categories.
pub struct DeclaredForm {
    pub key: String,
    pub label: String,
    pub choices: Vec<Choice>,
}

/// A product category to tick.
pub struct Choice {
    pub value: String,
    pub name: String,
    pub ticked: bool,
}

pub struct HistoryRow {
    pub at: String,
    pub from: &'static str,
    pub to: &'static str,
    pub why: &'static str,
    pub by: &'static str,
    /// The profiling consent a change to full rested on, whose receipt can be downloaded.
    pub receipt: Option<String>,
}

pub struct SuppressedRow {
    pub key: String,
    pub label: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "public/portal_personalization.html")]
struct ChooserPage {
    csrf: String,
    message: Option<Flash>,
    chosen: &'static str,
    effective: &'static str,
    /// The chosen level is not the one in force (consent expired, processing restricted).
    differs: bool,
    levels: Vec<LevelRow>,
    history: Vec<HistoryRow>,
    attributes: Vec<AttributeRow>,
    suppressed: Vec<SuppressedRow>,
    declared: Vec<DeclaredForm>,
}

fn reason_words(reason: &str) -> &'static str {
    match reason {
        "chosen" => "Chosen",
        "consent_withdrawn" => "Your consent was withdrawn",
        "consent_expired" => "Your consent expired",
        "objection_marketing" => "You objected to marketing",
        "objection_upheld" => "We upheld your objection",
        _ => "Changed",
    }
}

fn name(level: Level) -> &'static str {
    level.describe().name
}

async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((customer, token)) = session(&state, &headers).await else {
        return see_other("/portal");
    };
    chooser(&state, &customer, &token, StatusCode::OK, outcome(&query)).await
}

async fn chooser(
    state: &AppState,
    customer: &Subject,
    token: &str,
    status: StatusCode,
    message: Option<Flash>,
) -> Response {
    let shown = match state.app.portal().personalization(customer).await {
        Ok(shown) => shown,
        Err(e) => return Problem::from(e).into_response(),
    };
    let book = state.app.catalog().personalization();
    let level = &shown.level;
    let declared = book
        .attributes
        .iter()
        .filter(|d| d.source == Source::Declared)
        .map(|d| {
            let held = shown.attributes.iter().find(|a| a.key == d.key);
            DeclaredForm {
                key: d.key.clone(),
                label: d.label.clone(),
                choices: book
                    .product_categories
                    .iter()
                    .map(|c| Choice {
                        value: c.key.clone(),
                        name: c.name.clone(),
                        ticked: held.is_some_and(|a| a.value.names(&c.key)),
                    })
                    .collect(),
            }
        })
        .collect();
    let page = ChooserPage {
        csrf: csrf_for(token),
        message,
        chosen: name(level.chosen),
        effective: name(level.effective),
        differs: level.chosen != level.effective,
        levels: level_rows(&shown.levels, Some(level.chosen)),
        history: level
            .history
            .iter()
            .rev()
            .map(|e| HistoryRow {
                at: readable(e.at),
                from: name(e.previous),
                to: name(e.level),
                why: reason_words(&e.reason),
                by: if e.actor.starts_with("customer:") {
                    "You"
                } else if e.reason == "chosen" {
                    "Our staff, as you asked"
                } else {
                    "Our systems"
                },
                receipt: e.consent_event_id.map(|id| id.to_string()),
            })
            .collect(),
        attributes: attribute_rows(book, level.effective, &shown.attributes),
        suppressed: shown
            .suppressed
            .iter()
            .map(|s| SuppressedRow {
                key: s.key.clone(),
                label: s.label.clone(),
                since: day(s.at),
            })
            .collect(),
        declared,
    };
    with_public_policy(render(&page), status)
}

/// After an action: on success, back to the page by a redirect that names the outcome; a
/// refusal changed nothing and is shown at once, with its status.
async fn after(
    state: &AppState,
    customer: &Subject,
    token: &str,
    done: Result<&'static str, AppError>,
) -> Response {
    let (status, text) = match done {
        Ok(word) => return see_other(&format!("{PAGE}?done={word}")),
        Err(AppError::ConsentRequired { .. }) => {
            (StatusCode::CONFLICT, FULL_NEEDS_CONSENT.to_string())
        }
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, invalid(&errors)),
        Err(AppError::Objected { .. }) => (StatusCode::FORBIDDEN, UPHELD.to_string()),
        Err(e) => {
            let c = crate::classify::classify(e);
            if !c.status.is_client_error() {
                tracing::error!(code = c.slug, detail = %c.detail, "portal personalization action failed");
                return Problem::new(c.status, c.slug, c.title, c.detail).into_response();
            }
            (c.status, c.explanation)
        }
    };
    chooser(state, customer, token, status, Flash::refused(text)).await
}

/// A refused input in the customer's words; no value they sent is repeated.
fn invalid(errors: &[FieldError]) -> String {
    let mut said: Vec<String> = Vec::new();
    for e in errors {
        let text = match e.field.as_str() {
            "level" => "Choose Off, Basic or Full.".to_string(),
            "key" => "That is not something you can change here.".to_string(),
            "values" => format!("You ticked too many: your list {}.", e.message),
            f if f.starts_with("values[") => {
                "One of the kinds of product you sent is not one we sell.".to_string()
            }
            _ => format!("{}: {}.", e.field, e.message),
        };
        if !said.contains(&text) {
            said.push(text);
        }
    }
    said.join(" ")
}

async fn choose(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let Some(level) = form.get("level").and_then(|l| l.parse::<Level>().ok()) else {
        let refused = Err(AppError::invalid("level", "is not off, basic or full"));
        return after(&state, &customer, &token, refused).await;
    };
    let ticked = form.get("consent").is_some_and(|v| v == "yes");
    let done = state
        .app
        .own_rights()
        .choose_level(&customer, level, ticked, &evidence(client, &headers))
        .await
        .map(|_| "level");
    after(&state, &customer, &token, done).await
}

/// Sets a declared attribute to the categories ticked; none ticked says "none".
async fn correct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form: HashMap<String, String> = pairs
        .iter()
        .filter(|(k, _)| k != "values")
        .cloned()
        .collect();
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let key = form.get("key").map(String::as_str).unwrap_or("");
    let values = pairs
        .into_iter()
        .filter(|(k, _)| k == "values")
        .map(|(_, v)| v)
        .collect();
    let done = state
        .app
        .own_rights()
        .correct_attribute(&customer, key, values)
        .await
        .map(|()| "corrected");
    after(&state, &customer, &token, done).await
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let key = form.get("key").map(String::as_str).unwrap_or("");
    let done = state
        .app
        .own_rights()
        .delete_attribute(&customer, key)
        .await
        .map(|()| "deleted");
    after(&state, &customer, &token, done).await
}

async fn allow(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let key = form.get("key").map(String::as_str).unwrap_or("");
    let done = state
        .app
        .own_rights()
        .allow_attribute(&customer, key)
        .await
        .map(|()| "allowed");
    after(&state, &customer, &token, done).await
}

pub struct OfferRow {
    pub title: String,
    /// The attributes that raised it, by their names.
    pub because: String,
}

pub struct UsedRow {
    pub key: String,
    pub label: String,
    pub source: &'static str,
    pub rule_version: Option<u32>,
    pub why: String,
    /// Whether it changed the order of the offers shown.
    pub counted: bool,
}

#[derive(Template)]
#[template(path = "public/portal_why.html")]
struct WhyPage {
    personalized: bool,
    level: &'static str,
    /// How the level in force rests on the law: (words, the consent's receipt id).
    basis: Option<(String, Option<String>)>,
    offers: Vec<OfferRow>,
    used: Vec<UsedRow>,
    /// Something used changed the order of the offers.
    counted: bool,
    /// "Without X you would see Y", as (X's name, Y).
    counterfactual: Option<(String, String)>,
    significant_effect: &'static str,
}

/// "Why you see this".
async fn why(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((customer, _)) = session(&state, &headers).await else {
        return see_other("/portal");
    };
    match state.app.portal().recommendations(&customer).await {
        Ok(shown) => with_public_policy(render(&why_page(&state, shown)), StatusCode::OK),
        Err(e) => Problem::from(e).into_response(),
    }
}

fn why_page(state: &AppState, shown: Recommendations) -> WhyPage {
    let book = state.app.catalog().personalization();
    let label = |key: &str| book.label(key).unwrap_or(key).to_string();
    let why = shown.explanation;
    let used: Vec<UsedRow> = why
        .attributes
        .into_iter()
        .map(|a| UsedRow {
            source: source_words(a.source),
            rule_version: a.rule_version,
            counted: a.contribution != 0.0,
            key: a.key,
            label: a.label,
            why: a.why,
        })
        .collect();
    WhyPage {
        personalized: shown.personalized,
        level: name(why.level),
        basis: why.basis.map(|b| match b {
            Basis::Consent { event_id, .. } => (
                "your consent to suggestions from what you do".to_string(),
                Some(event_id.to_string()),
            ),
            Basis::LegitimateInterests { .. } => (
                "our legitimate interest in showing you offers that match what you told us"
                    .to_string(),
                None,
            ),
        }),
        offers: shown
            .items
            .into_iter()
            .map(|i| OfferRow {
                title: i.offer.title,
                because: i
                    .because
                    .iter()
                    .map(|k| label(k))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        counted: used.iter().any(|u| u.counted),
        used,
        counterfactual: why.counterfactual.map(|c| (label(&c.without), c.would_see)),
        significant_effect: why.significant_effect,
    }
}
