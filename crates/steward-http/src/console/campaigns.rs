//! Segments and campaigns in the console: who an audience reaches now, saved segments, and
//! campaigns with their log (sent, failed, unsubscribed), drafted and sent from one page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_app::core::Catalog;
use steward_app::{
    AppError, AudienceQuery, CampaignView, ConsentFilter, FieldError, NewCampaign, NewSegment,
    Period, SegmentFilter, SegmentView,
};

use super::charts::{Chart, bars};
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render_checked, see_other};

#[derive(Template)]
#[template(path = "console/campaigns.html")]
struct CampaignsPage {
    chrome: Chrome,
    /// The audience of the staff member's purpose now, when it rests on consent.
    reach: Option<u64>,
    segments: Vec<(SegmentView, String)>,
    campaigns: Vec<CampaignView>,
    chart: Option<Chart>,
    consent_purposes: Vec<(String, String)>,
    refusal: Refusal,
}

const CAMPAIGN_INPUTS: [(&str, &str); 4] = [
    ("name", "name"),
    ("segment", "segment_id"),
    ("subject", "subject"),
    ("body", "body"),
];

const SEGMENT_INPUTS: [(&str, &str); 10] = [
    ("name", "name"),
    ("tags", "filter.tags"),
    ("residency", "filter.residency"),
    ("status", "filter.status"),
    ("created_days", "created_days"),
    ("created_days", "filter.created"),
    ("interaction_days", "interaction_days"),
    ("interaction_days", "filter.last_interaction"),
    ("consent_purpose", "filter.consent.purpose"),
    ("consent_state", "filter.consent.state"),
];

/// A filter in a few words, for the segment table.
fn describe(f: &SegmentFilter, catalog: &Catalog) -> String {
    let mut parts = Vec::new();
    if !f.tags.is_empty() {
        parts.push(format!("tags {}", f.tags.join(" + ")));
    }
    if !f.residency.is_empty() {
        parts.push(format!("in {}", f.residency.join(", ")));
    }
    if let Some(s) = &f.status {
        parts.push(s.clone());
    }
    for (name, p) in [
        ("created", &f.created),
        ("updated", &f.updated),
        ("last interaction", &f.last_interaction),
    ] {
        if let Some(Period {
            last_days: Some(d), ..
        }) = p
        {
            parts.push(format!("{name} in the last {d} days"));
        } else if p.is_some() {
            parts.push(format!("{name} in a period"));
        }
    }
    if let Some(c) = &f.consent {
        let purpose = catalog
            .purpose(&c.purpose)
            .map_or(c.purpose.as_str(), |p| p.name.as_str());
        parts.push(format!(
            "consent to {purpose} {}",
            c.state.replace('_', " ")
        ));
    }
    if parts.is_empty() {
        "everyone".into()
    } else {
        parts.join("; ")
    }
}

async fn page(state: &AppState, staff: &Staff, refusal: Refusal) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let reach = if access.purpose().requires_consent {
        let query = AudienceQuery {
            purpose: access.purpose().key.clone(),
            ..Default::default()
        };
        Some(state.app.segments().audience(&access, &query).await?.count)
    } else {
        None
    };
    let campaigns = state.app.campaigns().list(&staff.actor).await?;
    let chart = campaigns.iter().find(|c| c.state == "sent").map(|c| {
        bars(
            "campaign-log",
            &format!("Latest campaign: {}", c.name),
            &[
                ("Sent".into(), c.log.sent),
                ("Failed".into(), c.log.failed),
                ("Waiting".into(), c.log.pending),
                ("Unsubscribed".into(), c.log.unsubscribed),
            ],
        )
    });
    let has_errors = refusal.any();
    Ok(render_checked(
        &CampaignsPage {
            chrome: Chrome::new(state, staff, "Segments and campaigns", "campaigns"),
            reach,
            segments: state
                .app
                .segments()
                .list(&staff.actor)
                .await?
                .into_iter()
                .map(|s| {
                    let d = describe(&s.filter, state.app.catalog());
                    (s, d)
                })
                .collect(),
            campaigns,
            chart,
            consent_purposes: state
                .app
                .catalog()
                .purposes()
                .iter()
                .filter(|p| p.requires_consent)
                .map(|p| (p.key.clone(), p.name.clone()))
                .collect(),
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    page(&state, &staff, Refusal::none()).await
}

fn text(form: &HashMap<String, String>, key: &str) -> String {
    super::form_value(form, key).unwrap_or_default()
}

fn list_of(form: &HashMap<String, String>, key: &str) -> Vec<String> {
    text(form, key)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn last_days(form: &HashMap<String, String>, key: &str) -> Result<Option<Period>, FieldError> {
    let raw = text(form, key);
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u32>()
        .map(|d| {
            Some(Period {
                last_days: Some(d),
                ..Default::default()
            })
        })
        .map_err(|_| FieldError::new(key, "must be a whole number of days"))
}

pub async fn create_segment(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let mut errors = Vec::new();
    let mut period = |key: &str| {
        last_days(&form, key)
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
    };
    let created = period("created_days");
    let last_interaction = period("interaction_days");
    let consent_purpose = text(&form, "consent_purpose");
    let filter = SegmentFilter {
        tags: list_of(&form, "tags"),
        residency: list_of(&form, "residency"),
        status: Some(text(&form, "status")).filter(|s| !s.is_empty()),
        created,
        last_interaction,
        consent: (!consent_purpose.is_empty()).then(|| ConsentFilter {
            purpose: consent_purpose,
            state: text(&form, "consent_state"),
        }),
        ..Default::default()
    };
    let refused = |errors| Refusal::new("segment", form.clone(), errors, SEGMENT_INPUTS);
    if !errors.is_empty() {
        return page(&state, &staff, refused(errors)).await;
    }
    let input = NewSegment {
        name: text(&form, "name"),
        filter,
    };
    match state.app.segments().create(&staff.actor, input).await {
        Ok(_) => Ok(see_other("/console/campaigns")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(AppError::Duplicate { field }) => {
            page(
                &state,
                &staff,
                refused(vec![FieldError::new(field, "is taken")]),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create_campaign(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let refused = |errors| Refusal::new("campaign", form.clone(), errors, CAMPAIGN_INPUTS);
    let segment_id = match text(&form, "segment").as_str() {
        "" => None,
        raw => match uuid::Uuid::parse_str(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                let errors = vec![FieldError::new("segment_id", "no such segment")];
                return page(&state, &staff, refused(errors)).await;
            }
        },
    };
    let input = NewCampaign {
        name: text(&form, "name"),
        purpose: access.purpose().key.clone(),
        segment_id,
        filter: None,
        subject: text(&form, "subject"),
        body: form.get("body").cloned().unwrap_or_default(),
    };
    match state.app.campaigns().create(&access, input).await {
        Ok(_) => Ok(see_other("/console/campaigns")),
        Err(AppError::Invalid(errors)) => page(&state, &staff, refused(errors)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/confirm_send.html")]
struct ConfirmSendPage {
    chrome: Chrome,
    campaign: CampaignView,
    purpose_name: String,
    who: String,
    reach: u64,
    /// The form came without its confirmation.
    unconfirmed: bool,
}

/// What sending will do, with a button that does it.
async fn confirm_page(
    state: &AppState,
    staff: &Staff,
    id: uuid::Uuid,
    unconfirmed: bool,
) -> Result<Response, ConsoleError> {
    let access = staff.access(state)?;
    let campaign = state.app.campaigns().get(&staff.actor, id).await?;
    if campaign.state == "sent" {
        return Err(AppError::Conflict("this campaign was sent already".into()).into());
    }
    let query = AudienceQuery {
        purpose: campaign.purpose.clone(),
        filter: Some(campaign.filter.clone()),
        ..Default::default()
    };
    let reach = state.app.segments().audience(&access, &query).await?.count;
    let purpose_name = state
        .app
        .catalog()
        .purpose(&campaign.purpose)
        .map_or_else(|| campaign.purpose.clone(), |p| p.name.clone());
    let title = format!("Send {}?", campaign.name);
    Ok(render_checked(
        &ConfirmSendPage {
            chrome: Chrome::new(state, staff, title, "campaigns"),
            who: describe(&campaign.filter, state.app.catalog()),
            campaign,
            purpose_name,
            reach,
            unconfirmed,
        },
        unconfirmed,
    ))
}

pub async fn confirm_send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    confirm_page(&state, &staff, super::parse_id(&id)?, false).await
}

/// Sends once the confirmation page's button says so; anything else gets that page.
pub async fn send(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return confirm_page(&state, &staff, id, true).await;
    }
    match state.app.campaigns().send(&access, id).await {
        Ok(_) => Ok(see_other("/console/campaigns")),
        Err(AppError::Conflict(m)) => {
            let refusal = Refusal::new(
                "send",
                HashMap::new(),
                vec![FieldError::new("campaign", m)],
                [],
            );
            page(&state, &staff, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}
