//! The customer list: filters on what is not personal (tag, status, residency, dates), and
//! the search by words of a name, email or phone, which is posted so the value stays out of
//! the address.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::customer::CustomerStatus;
use steward_app::{
    AppError, CustomerQuery, CustomerView, ExportFormat, FieldError, Reassign, Retag, StaffMember,
    ViewFilter,
};
use uuid::Uuid;

use super::blank;
use crate::AppState;
use crate::console::posted_form::PostedForm;
use crate::console::sorting::{SortLink, sort_links};
use crate::console::{
    Chrome, ConsoleError, ConsoleForm, Refusal, Staff, day_start, encode, readable as when,
};
use crate::web::{attachment, render, render_checked, see_other};

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
    owner: String,
    last_interaction: String,
    updated: String,
    created: String,
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
            owner: v
                .owner
                .as_ref()
                .map_or_else(|| "—".into(), |o| o.display_name.clone()),
            last_interaction: v.last_interaction_at.map_or_else(|| "never".into(), when),
            updated: when(v.updated_at),
            created: when(v.created_at),
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
    /// A staff account's id, `me` or `none`.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    sort: String,
    page: Option<String>,
    erased: Option<String>,
    retagged: Option<usize>,
    /// Customers of a selection given another owner.
    reassigned: Option<usize>,
    /// Customers of a selection erased, and those gone before their turn.
    erased_many: Option<usize>,
    gone: Option<usize>,
    /// Customers of a selection a legal hold kept.
    held: Option<usize>,
}

impl Filters {
    pub(super) fn of_view(v: &ViewFilter) -> Filters {
        let text = |o: &Option<String>| o.clone().unwrap_or_default();
        Filters {
            tag: text(&v.tag),
            status: text(&v.status),
            residency: text(&v.residency),
            created_after: text(&v.created_after),
            created_before: text(&v.created_before),
            sort: text(&v.sort),
            owner: text(&v.owner),
            ..Filters::default()
        }
    }

    /// The filters as a view saves them.
    pub(super) fn as_view(&self) -> ViewFilter {
        let some = |v: &str| Some(v.to_string()).filter(|v| !v.trim().is_empty());
        ViewFilter {
            tag: some(&self.tag),
            status: some(&self.status),
            residency: some(&self.residency),
            created_after: some(&self.created_after),
            created_before: some(&self.created_before),
            sort: some(&self.sort),
            owner: some(&self.owner),
        }
    }

    /// This list's address with another sort or page; filters are not personal values.
    pub(super) fn href(&self, sort: &str, page: usize) -> String {
        format!(
            "/console/customers?tag={}&status={}&residency={}&created_after={}&created_before={}&owner={}&sort={}&page={page}",
            encode(&self.tag),
            encode(&self.status),
            encode(&self.residency),
            encode(&self.created_after),
            encode(&self.created_before),
            encode(&self.owner),
            encode(sort),
        )
    }
}

const SORTABLE: [(&str, &str); 6] = [
    ("owner", "Owner"),
    ("residency", "Residency"),
    ("status", "Status"),
    ("last_interaction", "Last interaction"),
    ("updated", "Updated"),
    ("created", "Created"),
];

fn sort_links_of(filters: &Filters) -> Vec<SortLink> {
    sort_links(&SORTABLE, &filters.sort, |sort| filters.href(sort, 1))
}

/// Page numbers around the current one, with the first and the last; `None` marks a gap.
struct Pager {
    total: u64,
    page: usize,
    pages: usize,
    numbers: Vec<Option<(usize, String)>>,
    previous: Option<String>,
    next: Option<String>,
}

fn pager(filters: &Filters, total: u64, page: usize, per_page: usize) -> Pager {
    let pages = (total as usize).div_ceil(per_page).max(1);
    let mut numbers = Vec::new();
    let mut last_shown = 0;
    for n in 1..=pages {
        let near = n.abs_diff(page) <= 2;
        if n == 1 || n == pages || near {
            if n > last_shown + 1 {
                numbers.push(None);
            }
            numbers.push(Some((n, filters.href(&filters.sort, n))));
            last_shown = n;
        }
    }
    Pager {
        total,
        page,
        pages,
        numbers,
        previous: (page > 1).then(|| filters.href(&filters.sort, page - 1)),
        next: (page < pages).then(|| filters.href(&filters.sort, page + 1)),
    }
}

struct Powers {
    import: bool,
    export: bool,
    erase: bool,
}

impl Powers {
    fn of(staff: &Staff) -> Powers {
        let role = staff.actor.role();
        Powers {
            import: role.may_import(),
            export: role.may_export(),
            erase: role.may_erase(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/customers.html")]
struct ListPage {
    chrome: Chrome,
    /// What the role may do beyond reading: import from a file, export or erase a selection.
    may: Powers,
    rows: Vec<Row>,
    filters: Filters,
    statuses: Vec<&'static str>,
    /// Staff accounts in use: whom the list can be filtered by and a selection given to.
    owners: Vec<OwnerChoice>,
    sorts: Vec<SortLink>,
    pager: Option<Pager>,
    searched: bool,
    search_name: String,
    search_email: String,
    search_phone: String,
    refusal: Refusal,
    notice: Option<String>,
    /// The staff member's saved views, and the form that saves the one shown.
    views: Vec<ViewLink>,
    view_refusal: Refusal,
}

struct OwnerChoice {
    id: String,
    name: String,
    /// The signed-in staff member, chosen first when a selection is given an owner.
    mine: bool,
}

async fn owner_choices(state: &AppState, staff: &Staff) -> Result<Vec<OwnerChoice>, AppError> {
    let me = staff.actor.id();
    Ok((state.app.staff().members(&staff.actor).await?)
        .into_iter()
        .map(|m: StaffMember| OwnerChoice {
            mine: me.strip_prefix("user:") == Some(m.id.to_string().as_str()),
            id: m.id.to_string(),
            name: m.display_name,
        })
        .collect())
}

struct ViewLink {
    id: String,
    name: String,
    href: String,
}

const FILTER_INPUTS: [(&str, &str); 6] = [
    ("tag", "tag"),
    ("owner", "owner"),
    ("status", "status"),
    ("residency", "residency"),
    ("created_after", "created_after"),
    ("created_before", "created_before"),
];
const SEARCH_INPUTS: [(&str, &str); 3] = [("name", "name"), ("email", "email"), ("phone", "phone")];
const PER_PAGE: usize = 25;

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(filters): Query<Filters>,
) -> Result<Response, ConsoleError> {
    page(&state, &staff, filters, Refusal::none()).await
}

/// The list as `filters` select it, with the views form sent back as `view_refusal` says.
pub(super) async fn page(
    state: &AppState,
    staff: &Staff,
    filters: Filters,
    view_refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let mut errors = Vec::new();
    let page = match filters.page.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            errors.push(FieldError::new("page", "pages are numbered from 1"));
            1
        }
    };
    let query = CustomerQuery {
        tag: blank(&filters.tag),
        status: blank(&filters.status),
        residency: blank(&filters.residency).map(|r| r.to_uppercase()),
        created_after: day_bound("created_after", &filters.created_after, false, &mut errors),
        created_before: day_bound("created_before", &filters.created_before, true, &mut errors),
        owner: blank(&filters.owner),
        sort: blank(&filters.sort),
        page: Some(page),
        limit: Some(PER_PAGE),
        ..Default::default()
    };
    let (rows, pager) = if errors.is_empty() {
        match state.app.customers().list(&access, query).await {
            Ok(found) => (
                found.items.iter().map(Row::of).collect(),
                Some(pager(&filters, found.total.unwrap_or(0), page, PER_PAGE)),
            ),
            Err(AppError::Invalid(mut e)) => {
                errors.append(&mut e);
                (Vec::new(), None)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (Vec::new(), None)
    };
    let notice = match (&filters.erased, filters.retagged) {
        _ if filters.erased_many.is_some() => Some(format!(
            "{} customers were erased: their data keys are destroyed and only tombstones remain.{}{}",
            filters.erased_many.unwrap_or_default(),
            match filters.gone {
                Some(n) if n > 0 => format!(" {n} were gone already."),
                _ => String::new(),
            },
            match filters.held {
                Some(n) if n > 0 => {
                    format!(" {n} were kept: a legal hold covers them until it is released.")
                }
                _ => String::new(),
            }
        )),
        (Some(_), _) => Some(
            "The customer was erased: their data key is destroyed and only a tombstone remains."
                .to_string(),
        ),
        _ if filters.reassigned.is_some() => Some(match filters.reassigned {
            Some(1) => "1 customer has another owner.".to_string(),
            n => format!("{} customers have another owner.", n.unwrap_or_default()),
        }),
        (None, Some(1)) => Some("The tags of 1 customer were changed.".to_string()),
        (None, Some(n)) => Some(format!("The tags of {n} customers were changed.")),
        (None, None) => None,
    };
    let refusal = Refusal::new("filter", HashMap::new(), errors, FILTER_INPUTS);
    let has_errors = refusal.any();
    let has_view_errors = view_refusal.any();
    Ok(render_checked(
        &ListPage {
            chrome: Chrome::new(state, staff, "Customers", "customers"),
            may: Powers::of(staff),
            rows,
            sorts: sort_links_of(&filters),
            filters,
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            owners: owner_choices(state, staff).await?,
            pager,
            searched: false,
            search_name: String::new(),
            search_email: String::new(),
            search_phone: String::new(),
            refusal,
            notice,
            views: state
                .app
                .customers()
                .views(&staff.actor)
                .await?
                .into_iter()
                .map(|v| ViewLink {
                    id: v.id.to_string(),
                    href: Filters::of_view(&v.filter)
                        .href(v.filter.sort.as_deref().unwrap_or(""), 1),
                    name: v.name,
                })
                .collect(),
            view_refusal,
        },
        has_errors || has_view_errors,
    ))
}

/// The selection's checkboxes and the change to make: tags to add or remove.
pub async fn bulk(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(pairs): ConsoleForm<PostedForm>,
) -> Result<Response, ConsoleError> {
    let value = |name: &str| pairs.one(name);
    staff.check_csrf(value("csrf"))?;
    let access = staff.access(&state)?;
    let ids: Result<Vec<Uuid>, _> = pairs.all("ids").iter().map(|v| v.parse::<Uuid>()).collect();
    let tags: Vec<String> = value("tag")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    match (value("action"), &ids) {
        (Some("export"), Ok(ids)) => return export_selection(&state, &staff, ids).await,
        (Some("erase"), Ok(ids)) if !ids.is_empty() => {
            return Ok(render(&EraseSelectionPage {
                chrome: Chrome::new(&state, &staff, "Erase the selected customers", "customers"),
                ids: ids.iter().map(Uuid::to_string).collect(),
            }));
        }
        _ => {}
    }
    let ids = ids.map_err(|_| {
        AppError::Invalid(vec![FieldError::new(
            "ids",
            "the selection names no customer",
        )])
    });
    let customers = state.app.customers();
    let outcome = match (value("action"), ids) {
        (_, Err(e)) => Err(e),
        (Some("owner"), Ok(ids)) => match value("owner").unwrap_or("none") {
            "none" => Ok(None),
            id => id.parse::<Uuid>().map(Some).map_err(|_| {
                AppError::Invalid(vec![FieldError::new("owner", "choose a staff member")])
            }),
        }
        .map(|owner| Reassign { ids, owner }),
        (action, Ok(ids)) => {
            let (add, remove) = match action {
                Some("untag") => (Vec::new(), tags),
                _ => (tags, Vec::new()),
            };
            match customers.retag(&access, Retag { ids, add, remove }).await {
                Ok(n) => return Ok(see_other(&format!("/console/customers?retagged={n}"))),
                Err(e) => Err(e),
            }
        }
    };
    let outcome = match outcome {
        Ok(change) => customers.reassign(&access, change).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(n) => Ok(see_other(&format!("/console/customers?reassigned={n}"))),
        Err(AppError::Invalid(errors)) => {
            let errors = errors
                .into_iter()
                .map(|e| match e.field.split('[').next() {
                    Some("add" | "remove") => FieldError::new("tag", e.message),
                    _ => e,
                })
                .collect();
            let refusal = Refusal::new("bulk", HashMap::new(), errors, BULK_INPUTS);
            let filters = Filters::default();
            Ok(render_checked(
                &ListPage {
                    chrome: Chrome::new(&state, &staff, "Customers", "customers"),
                    may: Powers::of(&staff),
                    rows: Vec::new(),
                    sorts: sort_links_of(&filters),
                    filters,
                    statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
                    owners: owner_choices(&state, &staff).await?,
                    pager: None,
                    searched: false,
                    search_name: String::new(),
                    search_email: String::new(),
                    search_phone: String::new(),
                    refusal,
                    notice: None,
                    views: Vec::new(),
                    view_refusal: Refusal::none(),
                },
                true,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

const BULK_INPUTS: [(&str, &str); 3] = [("tag", "tag"), ("tag", "ids"), ("owner", "owner")];

#[derive(Template)]
#[template(path = "console/erase_selection.html")]
struct EraseSelectionPage {
    chrome: Chrome,
    ids: Vec<String>,
}

/// The selected customers as a CSV download, under the purpose the staff member works under.
async fn export_selection(
    state: &AppState,
    staff: &Staff,
    ids: &[Uuid],
) -> Result<Response, ConsoleError> {
    let purpose = staff.purpose.as_deref().ok_or(ConsoleError::PurposeFirst)?;
    let mut out = Vec::new();
    state
        .app
        .customers()
        .export_selected(&staff.actor, purpose, ids, ExportFormat::Csv, &mut out)
        .await?;
    Ok(attachment("text/csv; charset=utf-8", "customers.csv", out))
}

/// The selection erased once confirmed, each customer as if erased on their own page.
pub async fn erase_selection(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(pairs): ConsoleForm<PostedForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(pairs.one("csrf"))?;
    let access = staff.access(&state)?;
    let ids = pairs
        .all("ids")
        .iter()
        .map(|v| v.parse::<Uuid>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ConsoleError::BadRequest("the selection names no customer".into()))?;
    let done = state.app.rights().erase_selected(&access, &ids).await?;
    Ok(see_other(&format!(
        "/console/customers?erased_many={}&gone={}&held={}",
        done.erased, done.already_gone, done.held
    )))
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
            may: Powers::of(&staff),
            rows,
            sorts: Vec::new(),
            filters: Filters::default(),
            statuses: CustomerStatus::ALL.iter().map(|s| s.as_str()).collect(),
            owners: owner_choices(&state, &staff).await?,
            pager: None,
            searched: true,
            search_name: f.name,
            search_email: f.email,
            search_phone: f.phone,
            refusal,
            notice: None,
            views: Vec::new(),
            view_refusal: Refusal::none(),
        },
        has_errors,
    ))
}
