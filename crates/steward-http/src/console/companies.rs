//! Companies in the console: the list, sorted and paged by number with its total; a
//! company's page with its owner by display name, its tags and its customers; the form that
//! makes or changes one with an owner chosen among the staff; and the Company card on a
//! customer's page that links the customer to one. A company is kept in clear; its customers
//! are read through the customer list, under the purpose chosen.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::CountryCode;
use steward_app::{
    Access, AppError, CompanyInput, CompanyQuery, CompanyView, FieldError, MemberQuery,
};
use uuid::Uuid;

use super::{
    Chrome, ConsoleError, ConsoleForm, Refusal, Staff, encode, form_value, parse_id, readable,
};
use crate::AppState;
use crate::console::sorting::{SortLink, sort_links};
use crate::web::{render_checked, see_other};

const PER_PAGE: usize = 50;

/// The form's inputs, each named as the use case names its errors.
const COMPANY_INPUTS: [(&str, &str); 5] = [
    ("name", "name"),
    ("domain", "domain"),
    ("country", "country"),
    ("tags", "tags"),
    ("owner", "owner"),
];

/// What the company form shows in its inputs: what was typed when it was sent back, the
/// company's own values otherwise.
struct Fields {
    name: String,
    domain: String,
    country: String,
    tags: String,
    owner: String,
}

impl Fields {
    fn of(c: &CompanyView) -> Fields {
        Fields {
            name: c.name.clone(),
            domain: c.domain.clone().unwrap_or_default(),
            country: c.country.clone().unwrap_or_default(),
            tags: c.tags.join(", "),
            owner: c.owner.map(|o| o.to_string()).unwrap_or_default(),
        }
    }

    fn typed(form: &HashMap<String, String>) -> Fields {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        Fields {
            name: get("name"),
            domain: get("domain"),
            country: get("country"),
            tags: get("tags"),
            owner: get("owner"),
        }
    }

    fn empty() -> Fields {
        Fields::typed(&HashMap::new())
    }
}

/// What every page with the company form needs besides the company.
struct Choices {
    /// (id, display name) of each staff member in use.
    owners: Vec<(String, String)>,
    /// (code, name) of each country.
    countries: Vec<(String, String)>,
}

async fn choices(state: &AppState, staff: &Staff) -> Result<Choices, ConsoleError> {
    Ok(Choices {
        owners: (state.app.staff().members(&staff.actor).await?)
            .into_iter()
            .map(|m| (m.id.to_string(), m.display_name))
            .collect(),
        countries: CountryCode::by_name()
            .map(|(c, name)| (c.as_str().to_string(), name.to_string()))
            .collect(),
    })
}

/// The input the form describes; an owner that is not an id is refused by its field.
fn input_of(form: &HashMap<String, String>) -> Result<CompanyInput, Vec<FieldError>> {
    let owner = match form_value(form, "owner") {
        None => None,
        Some(raw) => match Uuid::parse_str(&raw) {
            Ok(id) => Some(id),
            Err(_) => return Err(vec![FieldError::new("owner", "choose a staff member")]),
        },
    };
    Ok(CompanyInput {
        name: form.get("name").cloned().unwrap_or_default(),
        domain: form_value(form, "domain"),
        country: form_value(form, "country"),
        tags: form_value(form, "tags")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        owner,
    })
}

/// A duplicate domain said as an error of the form's domain input.
fn refused_errors(e: AppError) -> Result<Vec<FieldError>, ConsoleError> {
    match e {
        AppError::Invalid(errors) => Ok(errors),
        AppError::Duplicate { field } => {
            Ok(vec![FieldError::new(field, "is another company's already")])
        }
        e => Err(e.into()),
    }
}

struct CompanyRow {
    id: String,
    name: String,
    domain: String,
    country: String,
    owner: String,
    tags: String,
    members: i64,
    updated: String,
    created: String,
}

const SORTABLE: [(&str, &str); 4] = [
    ("name", "Name"),
    ("owner", "Owner"),
    ("updated", "Updated"),
    ("created", "Created"),
];

struct Filters {
    tag: String,
    name: String,
    sort: String,
}

impl Filters {
    fn href(&self, sort: &str, page: usize) -> String {
        let mut href = format!("/console/companies?sort={}&page={page}", encode(sort));
        if !self.tag.is_empty() {
            href.push_str(&format!("&tag={}", encode(&self.tag)));
        }
        if !self.name.is_empty() {
            href.push_str(&format!("&name={}", encode(&self.name)));
        }
        href
    }
}

#[derive(Template)]
#[template(path = "console/companies.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<CompanyRow>,
    sorts: Vec<SortLink>,
    filters: Filters,
    total: u64,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
    may_keep: bool,
    refusal: Refusal,
}

#[derive(Deserialize)]
pub struct ListQuery {
    tag: Option<String>,
    name: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let filters = Filters {
        tag: q.tag.unwrap_or_default().trim().to_string(),
        name: q.name.unwrap_or_default().trim().to_string(),
        sort: q
            .sort
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "name".into()),
    };
    let page = q.page.unwrap_or(1).max(1);
    let query = CompanyQuery {
        tag: Some(filters.tag.clone()),
        name: Some(filters.name.clone()),
        sort: Some(filters.sort.clone()),
        page: Some(page),
        limit: Some(PER_PAGE),
    };
    let (found, refusal) = match state.app.companies().list(&staff.actor, query).await {
        Ok(found) => (Some(found), Refusal::none()),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([
                ("tag".to_string(), filters.tag.clone()),
                ("name".to_string(), filters.name.clone()),
            ]);
            let inputs = [
                ("tag", "tag"),
                ("name", "name"),
                ("tag", "sort"),
                ("tag", "page"),
            ];
            (None, Refusal::new("filter", typed, errors, inputs))
        }
        Err(e) => return Err(e.into()),
    };
    let total = found.as_ref().and_then(|f| f.total).unwrap_or(0);
    let pages = (total as usize).div_ceil(PER_PAGE).max(1);
    let rows = found
        .map(|f| f.items)
        .unwrap_or_default()
        .into_iter()
        .map(|c| CompanyRow {
            id: c.id.to_string(),
            domain: c.domain.unwrap_or_default(),
            country: c.country.unwrap_or_default(),
            owner: c.owner_name.unwrap_or_default(),
            tags: c.tags.join(", "),
            members: c.members,
            updated: readable(c.updated_at),
            created: readable(c.created_at),
            name: c.name,
        })
        .collect();
    let sorts = sort_links(&SORTABLE, &filters.sort, |sort| filters.href(sort, 1));
    let has_errors = refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(&state, &staff, "Companies", "companies"),
            rows,
            sorts,
            previous: (page > 1).then(|| filters.href(&filters.sort, page - 1)),
            next: (page < pages).then(|| filters.href(&filters.sort, page + 1)),
            filters,
            total,
            page,
            pages,
            may_keep: staff.actor.role().may_keep_companies(),
            refusal,
        },
        has_errors,
    ))
}

#[derive(Template)]
#[template(path = "console/company_form.html")]
struct FormPage {
    chrome: Chrome,
    fields: Fields,
    owners: Vec<(String, String)>,
    countries: Vec<(String, String)>,
    refusal: Refusal,
}

async fn form_page(
    state: &AppState,
    staff: &Staff,
    fields: Fields,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let Choices { owners, countries } = choices(state, staff).await?;
    let has_errors = refusal.any();
    Ok(render_checked(
        &FormPage {
            chrome: Chrome::new(state, staff, "New company", "companies"),
            fields,
            owners,
            countries,
            refusal,
        },
        has_errors,
    ))
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    form_page(&state, &staff, Fields::empty(), Refusal::none()).await
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let refused = |errors| Refusal::new("company", form.clone(), errors, COMPANY_INPUTS);
    let input = match input_of(&form) {
        Ok(input) => input,
        Err(errors) => {
            return form_page(&state, &staff, Fields::typed(&form), refused(errors)).await;
        }
    };
    match state.app.companies().create(&staff.actor, input).await {
        Ok(made) => Ok(see_other(&format!("/console/companies/{}", made.id))),
        Err(e) => {
            let errors = refused_errors(e)?;
            form_page(&state, &staff, Fields::typed(&form), refused(errors)).await
        }
    }
}

struct MemberRow {
    id: String,
    name: String,
    email: String,
    residency: String,
    status: String,
}

#[derive(Template)]
#[template(path = "console/company.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    domain: String,
    country: String,
    owner: String,
    tags: String,
    version: i64,
    created: String,
    updated: String,
    member_count: i64,
    /// `None` when the purpose chosen does not reach customers' records.
    members: Option<Vec<MemberRow>>,
    may_keep: bool,
    fields: Fields,
    owners: Vec<(String, String)>,
    countries: Vec<(String, String)>,
    refusal: Refusal,
}

/// The company's customers as the customer list shows them, or `None` when the session's
/// purpose does not open records.
async fn members(
    state: &AppState,
    access: Option<&Access>,
    id: Uuid,
) -> Result<Option<Vec<MemberRow>>, ConsoleError> {
    let Some(access) = access else {
        return Ok(None);
    };
    let page = match state
        .app
        .companies()
        .members(
            access,
            id,
            MemberQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
    {
        Ok(page) => page,
        Err(AppError::Forbidden(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(
        page.items
            .into_iter()
            .map(|c| {
                let get = |k: &str| c.fields.get(k).cloned().unwrap_or_default();
                let name = format!("{} {}", get("given_name"), get("family_name"))
                    .trim()
                    .to_string();
                MemberRow {
                    id: c.id.to_string(),
                    name: if name.is_empty() {
                        c.id.to_string()
                    } else {
                        name
                    },
                    email: get("email"),
                    residency: c.residency,
                    status: c.status,
                }
            })
            .collect(),
    ))
}

async fn detail_page(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    sent_back: Option<(Fields, Refusal)>,
) -> Result<Response, ConsoleError> {
    let company = state.app.companies().get(&staff.actor, id).await?;
    let access = staff.access(state).ok();
    let members = members(state, access.as_ref(), id).await?;
    let Choices { owners, countries } = choices(state, staff).await?;
    let (fields, refusal) = sent_back.unwrap_or_else(|| (Fields::of(&company), Refusal::none()));
    let has_errors = refusal.any();
    Ok(render_checked(
        &DetailPage {
            chrome: Chrome::new(state, staff, company.name.clone(), "companies"),
            id: company.id.to_string(),
            domain: company.domain.unwrap_or_default(),
            country: company
                .country
                .as_deref()
                .and_then(|c| CountryCode::parse(c).ok())
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            owner: company.owner_name.unwrap_or_default(),
            tags: company.tags.join(", "),
            version: company.version,
            created: readable(company.created_at),
            updated: readable(company.updated_at),
            member_count: company.members,
            members,
            may_keep: staff.actor.role().may_keep_companies(),
            fields,
            owners,
            countries,
            refusal,
        },
        has_errors,
    ))
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    detail_page(&state, &staff, parse_id(&id)?, None).await
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let id = parse_id(&id)?;
    let refused = |errors| {
        Some((
            Fields::typed(&form),
            Refusal::new("company", form.clone(), errors, COMPANY_INPUTS),
        ))
    };
    let input = match input_of(&form) {
        Ok(input) => input,
        Err(errors) => return detail_page(&state, &staff, id, refused(errors)).await,
    };
    let version = form
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok());
    // The whole form is the company as it should be: what is left empty is removed.
    let patch = serde_json::json!({
        "name": input.name,
        "domain": input.domain,
        "country": input.country,
        "tags": input.tags,
        "owner": input.owner,
    });
    match state
        .app
        .companies()
        .update(&staff.actor, id, &patch, version)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/console/companies/{id}"))),
        Err(AppError::StaleVersion) => Err(AppError::StaleVersion.into()),
        Err(e) => {
            let errors = refused_errors(e)?;
            detail_page(&state, &staff, id, refused(errors)).await
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<CsrfForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    state
        .app
        .companies()
        .delete(&staff.actor, parse_id(&id)?)
        .await?;
    Ok(see_other("/console/companies"))
}

/// The Company card on a customer's page: the company they belong to and the companies they
/// could be linked to, by name.
pub struct CompanyCard {
    pub current: Option<(String, String)>,
    pub choices: Vec<(String, String)>,
    pub may_keep: bool,
}

/// The card, or `None` when the role does not work with companies or the purpose does not
/// reach the customer.
pub async fn card(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    customer: Uuid,
) -> Result<Option<CompanyCard>, ConsoleError> {
    if !staff.actor.role().may_read_companies() {
        return Ok(None);
    }
    let current = match state.app.companies().of_customer(access, customer).await {
        Ok(current) => current,
        Err(AppError::Forbidden(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let all = state
        .app
        .companies()
        .list(
            &staff.actor,
            CompanyQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await?;
    Ok(Some(CompanyCard {
        current: current.map(|c| (c.id.to_string(), c.name)),
        choices: all
            .items
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect(),
        may_keep: staff.actor.role().may_keep_companies(),
    }))
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf: Option<String>,
    /// A company's id, or empty for none.
    #[serde(default)]
    company: String,
}

/// Links the customer to the company chosen, leaving the one they belonged to; an empty
/// choice leaves it only.
pub async fn link(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<LinkForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let customer = parse_id(&id)?;
    let chosen = match f.company.trim() {
        "" => None,
        raw => Some(parse_id(raw)?),
    };
    let companies = state.app.companies();
    let current = companies
        .of_customer(&access, customer)
        .await?
        .map(|c| c.id);
    if current != chosen {
        if let Some(old) = current {
            companies.remove_member(&access, old, customer).await?;
        }
        if let Some(new) = chosen {
            companies.add_member(&access, new, customer).await?;
        }
    }
    Ok(see_other(&format!("/console/customers/{customer}#company")))
}
