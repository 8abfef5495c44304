//! Retention in the console: the rules, what falls due in the weeks ahead as a chart, legal
//! holds (placed and released here), and the history of sweeps, with a dry run or a real
//! sweep a button away.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::{AppError, FieldError, HoldInput, HoldView, RuleView, RunView};

use super::charts::{Chart, stacked};
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff, form_value};
use crate::AppState;
use crate::web::{render_checked, see_other};

const WEEKS: usize = 12;

#[derive(Template)]
#[template(path = "console/retention.html")]
struct RetentionPage {
    chrome: Chrome,
    rules: Vec<RuleView>,
    chart: Chart,
    holds: Vec<HoldView>,
    runs: Vec<RunView>,
    refusal: Refusal,
}

const HOLD_INPUTS: [(&str, &str); 5] = [
    ("customer_id", "customer_id"),
    ("category", "category"),
    ("reason", "reason"),
    ("owner", "owner"),
    ("owner", "ends_at"),
];

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let upcoming = state.app.retention().upcoming(&access, WEEKS).await?;
    let weeks: Vec<(String, String, BTreeMap<String, u64>)> = (0..=WEEKS)
        .map(|w| {
            let (short, full) = match w {
                0 => ("now".to_string(), "Due now".to_string()),
                1 => ("wk 1".to_string(), "In the coming week".to_string()),
                w => (format!("wk {w}"), format!("In week {w} from now")),
            };
            let per_rule = upcoming
                .iter()
                .map(|u| (u.rule.clone(), u.per_week.get(w).copied().unwrap_or(0)))
                .collect();
            (short, full, per_rule)
        })
        .collect();
    let has_errors = refusal.any();
    Ok(render_checked(
        &RetentionPage {
            chrome: Chrome::new(state, staff, "Retention", "retention"),
            rules: state.app.retention().rules(&access).await?,
            chart: stacked(
                "retention-upcoming",
                "Records falling due, per week, by rule",
                &weeks,
            ),
            holds: state.app.holds().list(&access).await?,
            runs: state.app.retention().runs(&access).await?,
            refusal,
        },
        has_errors,
    ))
}

pub async fn show(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&state, &staff, Refusal::none()).await
}

pub async fn hold(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let refused = |errors| Refusal::new("hold", form.clone(), errors, HOLD_INPUTS);
    let customer_id = match form_value(&form, "customer_id") {
        Some(raw) => match uuid::Uuid::parse_str(&raw) {
            Ok(id) => Some(id),
            Err(_) => {
                let errors = vec![FieldError::new("customer_id", "must be a customer id")];
                return page(&state, &staff, refused(errors)).await;
            }
        },
        None => None,
    };
    let input = HoldInput {
        customer_id,
        category: form_value(&form, "category"),
        reason: form_value(&form, "reason").unwrap_or_default(),
        owner: form_value(&form, "owner").unwrap_or_default(),
        ends_at: None,
    };
    match state.app.holds().create(&access, input).await {
        Ok(_) => Ok(see_other("/console/retention")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn release(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    state
        .app
        .holds()
        .release(&access, super::parse_id(&id)?)
        .await?;
    Ok(see_other("/console/retention"))
}

struct Due {
    rule: RuleView,
    count: u64,
}

#[derive(Template)]
#[template(path = "console/confirm_sweep.html")]
struct ConfirmSweepPage {
    chrome: Chrome,
    due: Vec<Due>,
    /// The form came without its confirmation.
    unconfirmed: bool,
}

/// What a sweep would act on now, rule by rule, with a button that sweeps.
async fn confirm_page(
    state: &AppState,
    staff: &Staff,
    unconfirmed: bool,
) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let now: HashMap<String, u64> = state
        .app
        .retention()
        .upcoming(&access, 0)
        .await?
        .into_iter()
        .map(|u| (u.rule, u.per_week.first().copied().unwrap_or(0)))
        .collect();
    let due = state
        .app
        .retention()
        .rules(&access)
        .await?
        .into_iter()
        .filter(|r| r.enabled)
        .map(|rule| Due {
            count: now.get(&rule.key).copied().unwrap_or(0),
            rule,
        })
        .collect();
    Ok(render_checked(
        &ConfirmSweepPage {
            chrome: Chrome::new(state, staff, "Sweep now?", "retention"),
            due,
            unconfirmed,
        },
        unconfirmed,
    ))
}

pub async fn confirm_sweep(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, ConsoleError> {
    confirm_page(&state, &staff, false).await
}

/// A sweep from the console runs to its end before the page returns: the history shows it.
/// A dry run changes nothing and goes at once; a real sweep only from its confirmation page.
pub async fn sweep(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let dry_run = form.get("dry_run").is_some_and(|v| v == "yes");
    if !dry_run && form.get("confirm").map(String::as_str) != Some("yes") {
        return confirm_page(&state, &staff, true).await;
    }
    let run = state.app.retention().start_run(&access, dry_run).await?;
    state
        .app
        .retention()
        .run(run.id, |_| ControlFlow::Continue(()), |_| {})
        .await?;
    Ok(see_other(&format!("/console/retention#run-{}", run.id)))
}
