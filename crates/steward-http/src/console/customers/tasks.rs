//! Tasks in the console: the Tasks card and the timeline on a customer's page, the form that
//! adds a task, the buttons that close and reopen one, and the "My tasks" page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_app::{Access, AppError, MyTask, TaskInput, TaskView};
use uuid::Uuid;

use super::record::detail_page;
use crate::AppState;
use crate::console::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, parse_id, readable};
use crate::web::{render, see_other};

const TASK_INPUTS: [(&str, &str); 3] = [
    ("task-title", "title"),
    ("task-due", "due_on"),
    ("task-owner", "owner"),
];

pub(super) struct TaskLine {
    pub id: String,
    pub title: String,
    pub due: String,
    pub owner: String,
    /// "done by … on …", when it is.
    pub done: Option<String>,
    pub overdue: bool,
    pub customer: String,
    pub customer_name: String,
}

pub(super) struct TimelineLine {
    pub at: String,
    pub kind: &'static str,
    pub what: String,
    pub who: String,
}

/// The Tasks card: the customer's tasks and whom a new one can be for.
pub(super) struct TasksCard {
    pub tasks: Vec<TaskLine>,
    /// (id, display name) of each staff member, the signed-in one first.
    pub owners: Vec<(String, String)>,
}

/// The timeline as the page shows it, and whether an older part is left out.
pub(super) struct TimelineShown {
    pub lines: Vec<TimelineLine>,
    pub more: bool,
}

fn line(t: TaskView, today: &str, customer_name: String) -> TaskLine {
    TaskLine {
        id: t.id.to_string(),
        overdue: t.done_at.is_none() && t.due_on.as_deref().is_some_and(|d| d < today),
        due: t.due_on.unwrap_or_default(),
        owner: t.owner_name,
        done: match (t.done_at, t.done_by) {
            (Some(at), Some(by)) => Some(format!("done by {by}, {}", readable(at))),
            _ => None,
        },
        title: t.title,
        customer: t.customer_id.to_string(),
        customer_name,
    }
}

fn today(state: &AppState) -> String {
    state
        .app
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// The card, or `None` when the purpose does not reach the customer's tasks.
pub(super) async fn card(
    state: &AppState,
    staff: &Staff,
    access: &Access,
    id: Uuid,
) -> Result<Option<TasksCard>, ConsoleError> {
    let tasks = match state.app.tasks().list(access, id, None).await {
        Ok(tasks) => tasks,
        Err(AppError::Forbidden(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let today = today(state);
    let me = staff.actor.id().strip_prefix("user:").unwrap_or_default();
    let mut owners: Vec<(String, String)> = (state.app.staff().members(&staff.actor).await?)
        .into_iter()
        .map(|m| (m.id.to_string(), m.display_name))
        .collect();
    owners.sort_by_key(|(id, _)| id != me);
    Ok(Some(TasksCard {
        tasks: tasks
            .into_iter()
            .map(|t| line(t, &today, String::new()))
            .collect(),
        owners,
    }))
}

/// The timeline, or `None` when the purpose does not reach it.
pub(super) async fn timeline(
    state: &AppState,
    access: &Access,
    id: Uuid,
    limit: Option<usize>,
) -> Result<Option<TimelineShown>, ConsoleError> {
    let view = match state.app.timeline().of(access, id, limit).await {
        Ok(view) => view,
        Err(AppError::Forbidden(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(TimelineShown {
        more: view.more,
        lines: view
            .entries
            .into_iter()
            .map(|e| TimelineLine {
                at: readable(e.at),
                kind: match e.kind.as_str() {
                    "interaction" => "Interaction",
                    "consent" => "Consent",
                    "request" => "Request",
                    "task_created" => "Task made",
                    "task_done" => "Task done",
                    _ => "Read",
                },
                what: e.what,
                who: e.who,
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
pub struct TaskForm {
    csrf: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    owner: String,
}

pub async fn add_task(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<TaskForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(&state)?;
    let id = parse_id(&id)?;
    let owner =
        match f.owner.trim() {
            "" => None,
            raw => Some(Uuid::parse_str(raw).map_err(|_| {
                ConsoleError::App(AppError::invalid("owner", "choose a staff member"))
            })?),
        };
    let input = TaskInput {
        title: f.title.clone(),
        due_on: Some(f.due_on.clone()),
        owner,
    };
    match state.app.tasks().add(&access, id, input).await {
        Ok(_) => Ok(see_other(&format!("/console/customers/{id}#tasks"))),
        Err(AppError::Invalid(errors)) => {
            let typed = HashMap::from([
                ("task-title".to_string(), f.title),
                ("task-due".to_string(), f.due_on),
                ("task-owner".to_string(), f.owner),
            ]);
            let refusal = Refusal::new("task", typed, errors, TASK_INPUTS);
            detail_page(&state, &staff, &access, id, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    csrf: Option<String>,
    /// `mine` to come back to "My tasks"; otherwise the customer's page.
    #[serde(default)]
    back: String,
}

async fn move_task(
    state: &AppState,
    staff: &Staff,
    id: &str,
    f: &MoveForm,
    done: bool,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(f.csrf.as_deref())?;
    let access = staff.access(state)?;
    let tasks = state.app.tasks();
    let id = parse_id(id)?;
    let moved = if done {
        tasks.complete(&access, id).await?
    } else {
        tasks.reopen(&access, id).await?
    };
    Ok(see_other(&if f.back == "mine" {
        "/console/tasks".to_string()
    } else {
        format!("/console/customers/{}#tasks", moved.customer_id)
    }))
}

pub async fn task_done(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<MoveForm>,
) -> Result<Response, ConsoleError> {
    move_task(&state, &staff, &id, &f, true).await
}

pub async fn task_reopen(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<MoveForm>,
) -> Result<Response, ConsoleError> {
    move_task(&state, &staff, &id, &f, false).await
}

#[derive(Template)]
#[template(path = "console/tasks.html")]
struct MyTasksPage {
    chrome: Chrome,
    tasks: Vec<TaskLine>,
}

#[derive(Deserialize)]
pub struct MyTasksQuery {
    limit: Option<usize>,
}

/// The signed-in staff member's open tasks, overdue first.
pub async fn my_tasks(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<MyTasksQuery>,
) -> Result<Response, ConsoleError> {
    let access = staff.access(&state)?;
    let today = today(&state);
    let mine: Vec<MyTask> = state.app.tasks().mine(&access, q.limit).await?;
    Ok(render(&MyTasksPage {
        chrome: Chrome::new(&state, &staff, "My tasks", "tasks"),
        tasks: mine
            .into_iter()
            .map(|t| line(t.task, &today, t.customer_name))
            .collect(),
    }))
}
