//! One campaign's page: what it is, whom it reaches now (a count, never a list), its message
//! as it would be sent, a test to the staff member's own address, its schedule, and its
//! results over time as a chart with the numbers beside it.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use steward_app::{
    AppError, AudienceQuery, CampaignPreview, CampaignRefusal, CampaignResults, CampaignView,
    FieldError, ScheduleInput,
};

use super::charts::{Chart, stacked};
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render_checked, see_other};

#[derive(Template)]
#[template(path = "console/campaign.html")]
struct CampaignPage {
    chrome: Chrome,
    campaign: CampaignView,
    purpose_name: String,
    /// Whom the campaign reaches now, when the staff member works for its purpose.
    reach: Option<u64>,
    preview: CampaignPreview,
    chart: Option<Chart>,
    /// A test was just queued.
    tested: bool,
    refusal: Refusal,
}

const SCHEDULE_INPUTS: [(&str, &str); 1] = [("scheduled_at", "scheduled_at")];

fn chart_of(results: &CampaignResults) -> Option<Chart> {
    if results.buckets.is_empty() {
        return None;
    }
    let daily = results.bucket == "day";
    let periods: Vec<(String, String, BTreeMap<String, u64>)> = results
        .buckets
        .iter()
        .map(|b| {
            let (tick, full) = if daily {
                (
                    b.start.strftime("%m-%d").to_string(),
                    b.start.strftime("%Y-%m-%d").to_string(),
                )
            } else {
                (
                    b.start.strftime("%H:00").to_string(),
                    b.start.strftime("%Y-%m-%d %H:00 UTC").to_string(),
                )
            };
            let counts = [
                ("Queued", b.sent),
                ("Delivered", b.delivered),
                ("Failed", b.failed),
                ("Unsubscribed", b.unsubscribed),
            ]
            .into_iter()
            .map(|(name, n)| (name.to_string(), n))
            .collect();
            (tick, full, counts)
        })
        .collect();
    let title = if daily {
        "What happened each day"
    } else {
        "What happened each hour"
    };
    Some(stacked("campaign-results", title, &periods))
}

async fn page(
    state: &AppState,
    staff: &Staff,
    id: uuid::Uuid,
    tested: bool,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let campaigns = state.app.campaigns();
    let campaign = campaigns.get(&staff.actor, id).await?;
    let reach = if access.purpose().key == campaign.purpose {
        let query = AudienceQuery {
            purpose: campaign.purpose.clone(),
            filter: Some(campaign.filter.clone()),
            ..Default::default()
        };
        Some(state.app.segments().audience(&access, &query).await?.count)
    } else {
        None
    };
    let preview = campaigns.preview(&access, id).await?;
    let chart = chart_of(&campaigns.results(&staff.actor, id).await?);
    let has_errors = refusal.any();
    Ok(render_checked(
        &CampaignPage {
            chrome: Chrome::new(state, staff, campaign.name.clone(), "campaigns"),
            purpose_name: state
                .app
                .catalog()
                .purpose(&campaign.purpose)
                .map_or_else(|| campaign.purpose.clone(), |p| p.name.clone()),
            campaign,
            reach,
            preview,
            chart,
            tested,
            refusal,
        },
        has_errors,
    ))
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let tested = query.get("test").map(String::as_str) == Some("sent");
    page(
        &state,
        &staff,
        super::parse_id(&id)?,
        tested,
        Refusal::none(),
    )
    .await
}

pub async fn test_send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    match state.app.campaigns().test_send(&access, id).await {
        Ok(()) => Ok(see_other(&format!("/console/campaigns/{id}?test=sent"))),
        Err(AppError::CampaignRefused(refusal)) => {
            let limited = matches!(refusal, CampaignRefusal::TestSendLimit { .. });
            let errors = vec![FieldError::new("test", refusal.message())];
            let mut response = page(
                &state,
                &staff,
                id,
                false,
                Refusal::new("test", HashMap::new(), errors, []),
            )
            .await?;
            if limited {
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// A `datetime-local` input gives no offset; the page asks for UTC.
fn as_utc(raw: &str) -> String {
    let raw = raw.trim();
    match raw.len() {
        16 => format!("{raw}:00Z"),
        19 => format!("{raw}Z"),
        _ => raw.to_string(),
    }
}

pub async fn schedule(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let input = ScheduleInput {
        scheduled_at: as_utc(&super::form_value(&form, "scheduled_at").unwrap_or_default()),
    };
    let refused = |errors| Refusal::new("schedule", form.clone(), errors, SCHEDULE_INPUTS);
    match state.app.campaigns().schedule(&access, id, input).await {
        Ok(_) => Ok(see_other(&format!("/console/campaigns/{id}"))),
        Err(AppError::Invalid(errors)) => page(&state, &staff, id, false, refused(errors)).await,
        Err(AppError::CampaignRefused(refusal)) => {
            let field = match refusal {
                CampaignRefusal::ScheduleInPast => "scheduled_at",
                _ => "campaign",
            };
            let errors = vec![FieldError::new(field, refusal.message())];
            page(&state, &staff, id, false, refused(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn unschedule(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let id = super::parse_id(&id)?;
    match state.app.campaigns().unschedule(&staff.actor, id).await {
        Ok(_) => Ok(see_other(&format!("/console/campaigns/{id}"))),
        Err(AppError::CampaignRefused(refusal)) => {
            let errors = vec![FieldError::new("campaign", refusal.message())];
            let refusal = Refusal::new("schedule", HashMap::new(), errors, []);
            page(&state, &staff, id, false, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}
