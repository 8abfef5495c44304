//! One customer's record page: their fields as the chosen purpose lets them be seen, their
//! interactions and consents, the form to note an interaction, and their complete export.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::core::catalog::FieldKind;
use steward_app::core::customer::InteractionKind;
use steward_app::{Access, AppError, InteractionInput};
use uuid::Uuid;

use super::blank;
use crate::AppState;
use crate::console::{
    Chrome, ConsoleError, ConsoleForm, Refusal, Staff, parse_id, readable as when,
};
use crate::web::{render_checked, see_other};

struct Shown {
    label: String,
    category: String,
    value: Option<String>,
    masked: bool,
    multiline: bool,
}

struct Interaction {
    kind: String,
    occurred: String,
    summary: String,
    body: Option<String>,
}

struct ConsentRow {
    purpose: String,
    name: String,
    state: String,
    given: bool,
    expires: String,
}

struct ConsentEvent {
    id: String,
    at: String,
    purpose: String,
    state: String,
    method: String,
    notice: String,
}

struct History {
    at: String,
    actor: String,
    role: String,
    action: String,
    purpose: String,
    fields: String,
}

#[derive(Template)]
#[template(path = "console/customer.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    heading: String,
    fields: Vec<Shown>,
    residency: String,
    status: String,
    tags: String,
    /// The owner's display name, or "no one".
    owner: String,
    has_owner: bool,
    /// (id, display name, chosen) of each staff member the customer can be given to.
    owners: Vec<(String, String, bool)>,
    version: i64,
    created: String,
    updated: String,
    /// `None` when the purpose does not reach the interaction history.
    interactions: Option<Vec<Interaction>>,
    kinds: Vec<&'static str>,
    history: Vec<History>,
    may_erase: bool,
    /// The interaction or consent form, when it was sent back.
    refusal: Refusal,
    consents: Vec<ConsentRow>,
    consent_events: Vec<ConsentEvent>,
    personalization: super::personalization::Shown,
    /// Each level with what it means, in the customer's words.
    levels: Vec<(String, &'static str)>,
    /// What the page says first: that a merge was done, or that the customer opened was
    /// merged into this one.
    notice: Option<&'static str>,
    /// `None` when the role does not work with companies or the purpose does not reach
    /// the customer.
    company: Option<crate::console::companies::CompanyCard>,
    /// `None` when the purpose does not reach the customer's tasks.
    tasks: Option<super::tasks::TasksCard>,
    /// `None` when the purpose does not reach the timeline.
    timeline: Option<super::tasks::TimelineShown>,
}

const INTERACTION_INPUTS: [(&str, &str); 3] =
    [("kind", "kind"), ("summary", "summary"), ("body", "body")];
pub(super) async fn detail_page(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    id: Uuid,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    noticed_page(state, staff, access, id, refusal, None, None).await
}

async fn noticed_page(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    id: Uuid,
    refusal: Refusal,
    notice: Option<&'static str>,
    timeline_limit: Option<usize>,
) -> Result<Response, ConsoleError> {
    let view = match state.app.customers().get(access, id).await {
        // Staff who open a merged-away customer's page land on the survivor's, told why.
        Err(AppError::Merged { survivor }) => {
            return Ok(see_other(&format!(
                "/console/customers/{survivor}?merged=into"
            )));
        }
        read => read?,
    };
    let fields = state
        .app
        .catalog()
        .fields()
        .iter()
        .filter_map(|f| {
            let value = view.fields.get(&f.key).cloned();
            let masked = view.masked.contains(&f.key);
            (value.is_some() || masked).then(|| Shown {
                label: f.label.clone(),
                category: f.category.clone(),
                value,
                masked,
                multiline: f.kind == FieldKind::Multiline,
            })
        })
        .collect();
    let interactions = match state
        .app
        .interactions()
        .list(access, id, None, Some(50))
        .await
    {
        Ok(page) => Some(
            page.items
                .into_iter()
                .map(|i| Interaction {
                    kind: i.kind.replace('_', " "),
                    occurred: when(i.occurred_at),
                    summary: i.summary,
                    body: i.body,
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let entries = state.app.audit().access_history(access, id).await?;
    let actors: Vec<String> = entries.iter().map(|e| e.record.actor.clone()).collect();
    let names = state.app.staff().names(&actors).await?;
    let history = entries
        .into_iter()
        .map(|e| History {
            at: when(steward_app::core::clock::from_micros(e.record.at)),
            actor: steward_app::who(&e.record.actor, &names),
            role: e.record.role,
            action: e.record.action,
            purpose: e.record.purpose.unwrap_or_default(),
            fields: e.record.fields.join(", "),
        })
        .collect();
    let consents = state
        .app
        .consent()
        .current(access, id)
        .await?
        .into_iter()
        .map(|c| ConsentRow {
            name: state
                .app
                .catalog()
                .purpose(&c.purpose)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            state: c
                .state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "never asked (not given)".into()),
            given: c.given,
            expires: c.expires_at.map(when).unwrap_or_default(),
            purpose: c.purpose,
        })
        .collect();
    let consent_events = state
        .app
        .consent()
        .history(access, id)
        .await?
        .into_iter()
        .rev()
        .map(|e| ConsentEvent {
            id: e.id.to_string(),
            at: when(e.at),
            purpose: e.purpose,
            state: e.state.to_string(),
            method: e.method,
            notice: e.notice_version.unwrap_or_default(),
        })
        .collect();
    let owners = (state.app.staff().members(&staff.actor).await?)
        .into_iter()
        .map(|m| {
            let chosen = view.owner.as_ref().is_some_and(|o| o.id == m.id);
            (m.id.to_string(), m.display_name, chosen)
        })
        .collect();
    let personalization = super::personalization::shown(state, access, id).await?;
    let company = crate::console::companies::card(state, staff, access, id).await?;
    let tasks = super::tasks::card(state, staff, access, id).await?;
    let timeline = super::tasks::timeline(state, access, id, timeline_limit).await?;
    let get = |k: &str| view.fields.get(k).map(String::as_str).unwrap_or("");
    let heading = format!("{} {}", get("given_name"), get("family_name"))
        .trim()
        .to_string();
    let has_errors = refusal.any();
    Ok(render_checked(
        &DetailPage {
            chrome: Chrome::new(state, staff, "Customer", "customers"),
            id: view.id.to_string(),
            heading: if heading.is_empty() {
                view.id.to_string()
            } else {
                heading
            },
            fields,
            residency: view.residency.clone(),
            status: view.status.clone(),
            tags: view.tags.join(", "),
            owner: view
                .owner
                .as_ref()
                .map_or_else(|| "no one".into(), |o| o.display_name.clone()),
            has_owner: view.owner.is_some(),
            owners,
            version: view.version,
            created: when(view.created_at),
            updated: when(view.updated_at),
            interactions,
            kinds: InteractionKind::ALL.iter().map(|k| k.as_str()).collect(),
            history,
            may_erase: staff.actor.role().may_erase(),
            refusal,
            consents,
            consent_events,
            personalization,
            levels: super::personalization::levels(),
            notice,
            company,
            tasks,
            timeline,
        },
        has_errors,
    ))
}

#[derive(Deserialize)]
pub struct DetailQuery {
    merged: Option<String>,
    /// How much of the timeline to show: its "more" link asks for the most it shows.
    timeline: Option<usize>,
}

pub async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let notice = match q.merged.as_deref() {
        Some("done") => Some(
            "The duplicate was merged into this customer: its record is erased and its id now leads here.",
        ),
        Some("into") => {
            Some("The customer you opened was merged into this one, which holds their data now.")
        }
        _ => None,
    };
    let id = parse_id(&id)?;
    noticed_page(
        &state,
        &staff,
        &access,
        id,
        Refusal::none(),
        notice,
        q.timeline,
    )
    .await
}

#[derive(Deserialize)]
pub struct InteractionForm {
    csrf: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
}

pub async fn add_interaction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<InteractionForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let input = InteractionInput {
        kind: f.kind.clone(),
        occurred_at: None,
        summary: f.summary.clone(),
        body: blank(&f.body),
        facets: Default::default(),
    };
    match state.app.interactions().add(&access, id, input).await {
        Ok(_) => Ok(see_other(&format!("/console/customers/{id}#timeline"))),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([
                ("kind".to_string(), f.kind),
                ("summary".to_string(), f.summary),
                ("body".to_string(), f.body),
            ]);
            let refusal = Refusal::new("interaction", typed, errors, INTERACTION_INPUTS);
            detail_page(&state, &staff, &access, id, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ExportQuery {
    scope: Option<String>,
}

/// A person's export, for answering an access request (legal-obligation purpose), or with
/// `?scope=portability` a portability request, which leaves out what was inferred.
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, format)): Path<(String, String)>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let format = format
        .parse::<steward_app::SubjectFormat>()
        .map_err(|m| ConsoleError::App(steward_app::AppError::invalid("format", m)))?;
    let scope = q
        .scope
        .map_or(Ok(steward_app::ExportScope::Access), |s| s.parse())
        .map_err(|m| ConsoleError::App(steward_app::AppError::invalid("scope", m)))?;
    let export = state
        .app
        .rights()
        .start_scoped_export(&access, parse_id(&id)?, format, scope)
        .await?;
    Ok(crate::streaming::subject_export(state, export, format))
}
