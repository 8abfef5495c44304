//! The customer list: filters on what is not personal (tag, status, residency, dates), and
//! the search by words of a name, email or phone, which is posted so the value stays out of
//! the address.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::customer::CustomerStatus;
use steward_app::{AppError, CustomerQuery, CustomerView, FieldError};

use super::blank;
use crate::AppState;
use crate::console::{
    Chrome, ConsoleError, ConsoleForm, Refusal, Staff, day_start, encode, readable as when,
};
use crate::web::render_checked;

fn day_bound(
    field: &str,
    raw: &str,
    end: bool,
    errors: &mut Vec<FieldError>,
) -> Option<jiff::Timestamp> {
    day_start(raw, end)
        .map_err(|m| errors.push(FieldError::new(field, m)))
        .ok()
        .flatten()
}

struct Row {
    id: String,
    name: String,
    email: String,
    residency: String,
    status: String,
    tags: String,
    updated: String,
}

impl Row {
    fn of(v: &CustomerView) -> Row {
        let get = |k: &str| v.fields.get(k).map(String::as_str).unwrap_or("");
        let name = format!("{} {}", get("given_name"), get("family_name"))
            .trim()
            .to_string();
        Row {
            id: v.id.to_string(),
            name: if name.is_empty() { "—".into() } else { name },
            email: get("email").to_string(),
            residency: v.residency.clone(),
            status: v.status.clone(),
            tags: v.tags.join(", "),
            updated: when(v.updated_at),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    tag: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    residency: String,
    #[serde(default)]
    created_after: String,
    #[serde(default)]
    created_before: String,
    cursor: Option<String>,
    erased: Option<String>,
}

#[derive(Template)]
#[template(path = "console/customers.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    filters: Filters,
    statuses: Vec<&'static str>,
    next: Option<String>,
    searched: bool,
    search_name: String,
    search_email: String,
    search_phone: String,
    refusal: Refusal,
    notice: Option<&'static str>,
}

const FILTER_INPUTS: [(&str, &str); 5] = [
    ("tag", "tag"),
    ("status", "status"),
    ("residency", "residency"),
    ("created_after", "created_after"),
    ("created_before", "created_before"),
];
const SEARCH_INPUTS: [(&str, &str); 3] = [("name", "name"), ("email", "email"), ("phone", "phone")];

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(filters): Query<Filters>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let mut errors = Vec::new();
    let query = CustomerQuery {
        tag: blank(&filters.tag),
        status: blank(&filters.status),
        residency: blank(&filters.residency).map(|r| r.to_uppercase()),
        created_after: day_bound("created_after", &filters.created_after, false, &mut errors),
        created_before: day_bound("created_before", &filters.created_before, true, &mut errors),
        cursor: filters.cursor.clone(),
        limit: Some(25),
        ..Default::default()
    };
    let (rows, next) = if errors.is_empty() {
        match state.app.customers().list(&access, query).await {
            Ok(page) => {
                let next = page.next_cursor.map(|c| {
                    format!(
                        "/console/customers?tag={}&status={}&residency={}&created_after={}&created_before={}&cursor={}",
                        encode(&filters.tag),
                        encode(&filters.status),
                        encode(&filters.residency),
                        encode(&filters.created_after),
                        encode(&filters.created_before),
                        encode(&c)
                    )
                });
                (page.items.iter().map(Row::of).collect(), next)
            }
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                (Vec::new(), None)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (Vec::new(), None)
    };
    let notice = filters.erased.as_ref().map(
        |_| "The customer was erased: their data key is destroyed and only a tombstone remains.",
    );
    let refusal = Refusal::new("filter", HashMap::new(), errors, FILTER_INPUTS);
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(&state, &staff, "Customers", "customers"),
            rows,
            filters,
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            next,
            searched: false,
            search_name: String::new(),
            search_email: String::new(),
            search_phone: String::new(),
            refusal,
            notice,
        },
        has_errors,
    ))
}

#[derive(Deserialize)]
pub struct SearchForm {
    csrf: Option<String>,
    /// The one box in every page's header: an email address, a phone number or words of a
    /// name, told apart by their look.
    #[serde(default)]
    q: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

impl SearchForm {
    /// Moves the header box's value to the input it reads as, so the page shows it there.
    fn sorted(mut self) -> SearchForm {
        let q = std::mem::take(&mut self.q);
        let q = q.trim();
        let input = if q.contains('@') {
            &mut self.email
        } else if looks_like_phone(q) {
            &mut self.phone
        } else {
            &mut self.name
        };
        if !q.is_empty() {
            *input = q.to_string();
        }
        self
    }
}

/// Digits with the separators people type between them, and enough digits to dial.
fn looks_like_phone(q: &str) -> bool {
    let digits = q.chars().filter(char::is_ascii_digit).count();
    digits >= 5
        && q.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '/' | '.'))
}

pub async fn search(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(f): ConsoleForm<SearchForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let f = f.sorted();
    let access = staff.access(&state)?;
    let mut errors = Vec::new();
    let (name, email, phone) = (blank(&f.name), blank(&f.email), blank(&f.phone));
    if name.is_none() && email.is_none() && phone.is_none() {
        errors.push(FieldError::new(
            "name",
            "give words of a name, an email address or a phone number",
        ));
    }
    let rows = if errors.is_empty() {
        let query = CustomerQuery {
            name,
            email,
            phone,
            limit: Some(25),
            ..Default::default()
        };
        match state.app.customers().list(&access, query).await {
            Ok(page) => page.items.iter().map(Row::of).collect(),
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        Vec::new()
    };
    let refusal = Refusal::new("search", HashMap::new(), errors, SEARCH_INPUTS);
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(&state, &staff, "Customers", "customers"),
            rows,
            filters: Filters::default(),
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            next: None,
            searched: true,
            search_name: f.name,
            search_email: f.email,
            search_phone: f.phone,
            refusal,
            notice: None,
        },
        has_errors,
    ))
}
