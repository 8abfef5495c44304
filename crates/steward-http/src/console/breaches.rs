//! The breach register in the console: the response plan prepared in advance, every breach
//! with its 72-hour countdown, and one breach's record, checklist, phases and notices. The
//! privacy officer writes; the auditor reads.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};
use steward_app::core::breach::{
    AuthorityDecision, BreachPlan, ClockState, Exemption, Nature, Risk, ScopeQuery, StepKind,
};
use steward_app::{AppError, BreachView, CustomerNoticeRun, FieldError, PhaseInput, StepUpdate};

use super::posted_form::PostedForm;
use super::{Chrome, ConsoleError, ConsoleForm, Refusal, Staff};
use crate::AppState;
use crate::web::{render, render_checked, see_other};

#[derive(Template)]
#[template(path = "console/breaches.html")]
struct BreachesPage {
    chrome: Chrome,
    plan: Option<BreachPlan>,
    breaches: Vec<BreachView>,
    writes: bool,
    natures: &'static [Nature],
    refusal: Refusal,
}

#[derive(Template)]
#[template(path = "console/breach.html")]
struct BreachPage {
    chrome: Chrome,
    b: BreachView,
    writes: bool,
    risks: &'static [Risk],
    /// What a dry run of the customer notices said, when one was asked for.
    notice_run: Option<CustomerNoticeRun>,
    refusal: Refusal,
}

#[derive(Template)]
#[template(path = "console/breach_notice.html")]
struct AuthorityNoticePage {
    chrome: Chrome,
    id: uuid::Uuid,
    body_html: String,
}

impl BreachesPage {
    fn countdown(&self, b: &BreachView) -> String {
        countdown(b)
    }
}

impl BreachPage {
    fn countdown(&self) -> String {
        countdown(&self.b)
    }

    fn elapsed(&self) -> u32 {
        elapsed_percent(&self.b)
    }

    fn notified(&self) -> Option<bool> {
        self.b.breach.authority.as_ref().map(|a| a.notify)
    }

    fn notified_at(&self) -> String {
        self.b
            .breach
            .authority
            .as_ref()
            .and_then(|a| a.notified_at)
            .map(|t| {
                t.to_zoned(TimeZone::UTC)
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn authorities(&self) -> String {
        self.b
            .breach
            .authority
            .as_ref()
            .map(|a| a.authorities.join(", "))
            .unwrap_or_default()
    }

    fn authority_text(&self, pick: fn(&AuthorityDecision) -> &Option<String>) -> String {
        self.b
            .breach
            .authority
            .as_ref()
            .and_then(|a| pick(a).clone())
            .unwrap_or_default()
    }

    fn reference(&self) -> String {
        self.authority_text(|a| &a.reference)
    }

    fn delay_reason(&self) -> String {
        self.authority_text(|a| &a.delay_reason)
    }

    fn authority_reason(&self) -> String {
        self.authority_text(|a| &a.reason)
    }

    fn customer_choices(&self) -> [(&'static str, &'static str); 5] {
        [
            ("notify", "told"),
            ("not_told", "not told: no high risk"),
            ("a", "not told: Art. 34(3)(a), unintelligible to others"),
            ("b", "not told: Art. 34(3)(b), high risk removed"),
            ("c", "not told: Art. 34(3)(c), public communication instead"),
        ]
    }

    fn bar_colour(&self) -> &'static str {
        match self.b.clock {
            ClockState::Overdue => "#a4161a",
            ClockState::DueSoon => "#b45309",
            _ => "#0b5394",
        }
    }

    fn chosen(&self, value: &str) -> bool {
        self.customer_choice() == value
    }

    fn customer_choice(&self) -> &'static str {
        match &self.b.breach.customer_decision {
            None => "",
            Some(d) if d.notify => "notify",
            Some(d) => d.exemption.map_or("not_told", |e| match e {
                Exemption::A => "a",
                Exemption::B => "b",
                Exemption::C => "c",
            }),
        }
    }

    fn evidence(&self) -> String {
        self.b
            .breach
            .customer_decision
            .as_ref()
            .and_then(|d| d.evidence.clone())
            .unwrap_or_default()
    }
}

/// Where a clock stands, in words: "41 h left", "overdue by 3 h", "decided".
pub fn countdown(b: &BreachView) -> String {
    match (b.clock, b.hours_left) {
        (ClockState::Closed, _) => "closed".into(),
        (ClockState::Decided, _) => "decided".into(),
        (_, Some(h)) if h < 0.0 => format!("overdue by {:.0} h", -h),
        (_, Some(h)) => format!("{h:.0} h left"),
        (_, None) => b.clock.to_string(),
    }
}

/// The share of the 72 hours gone, from 0 to 100, for the countdown's bar.
pub fn elapsed_percent(b: &BreachView) -> u32 {
    let left = b.hours_left.unwrap_or(0.0).clamp(0.0, 72.0);
    ((72.0 - left) / 72.0 * 100.0).round() as u32
}

fn writes(staff: &Staff) -> bool {
    staff.actor.role().may_keep_breaches()
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let breaches = state.app.breaches().list(&staff.actor).await?;
    let plan = state.app.breaches().plan(&staff.actor)?;
    let has_errors = refusal.any();
    Ok(render_checked(
        &BreachesPage {
            chrome: Chrome::new(state, staff, "Breaches", "breaches"),
            plan,
            breaches,
            writes: writes(staff),
            natures: Nature::ALL,
            refusal,
        },
        has_errors,
    ))
}

async fn breach_page(
    state: &AppState,
    staff: &Staff,
    id: uuid::Uuid,
    notice_run: Option<CustomerNoticeRun>,
    refusal: Refusal,
) -> Result<Response, ConsoleError> {
    let b = state.app.breaches().get(&staff.actor, id).await?;
    let has_errors = refusal.any();
    Ok(render_checked(
        &BreachPage {
            chrome: Chrome::new(
                state,
                staff,
                format!("Breach: {}", b.breach.title),
                "breaches",
            ),
            b,
            writes: writes(staff),
            risks: Risk::ALL,
            notice_run,
            refusal,
        },
        has_errors,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, ConsoleError> {
    list_page(&state, &staff, Refusal::none()).await
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    breach_page(&state, &staff, super::parse_id(&id)?, None, Refusal::none()).await
}

/// A moment typed into a `datetime-local` input, which carries no zone: the form says UTC.
fn moment(field: &str, raw: &str) -> Result<Timestamp, FieldError> {
    raw.trim()
        .parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| FieldError::new(field, "is not a date and time (UTC)"))
}

fn typed(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name).cloned().unwrap_or_default()
}

/// A breach opened from the console's form.
pub async fn open(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<PostedForm>,
) -> Result<Response, ConsoleError> {
    let fields = form.typed_except("nature");
    staff.check_csrf(fields.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let natures = form.all("nature");
    let refused = |errors: Vec<FieldError>| {
        Refusal::new(
            "open",
            fields.clone(),
            errors,
            [
                ("title", "title"),
                ("detected_at", "detected_at"),
                ("aware_at", "aware_at"),
                ("found_by", "found_by"),
                ("nature", "nature"),
            ],
        )
    };
    let mut errors = Vec::new();
    let mut at = |name: &str| match moment(name, &typed(&fields, name)) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let (detected, aware) = (at("detected_at"), at("aware_at"));
    let (Some(detected), Some(aware)) = (detected, aware) else {
        return list_page(&state, &staff, refused(errors)).await;
    };
    let input = json!({
        "title": typed(&fields, "title"),
        "detected_at": detected,
        "aware_at": aware,
        "found_by": typed(&fields, "found_by"),
        "nature": natures,
    });
    let input = match serde_json::from_value(input) {
        Ok(i) => i,
        Err(_) => {
            let e = FieldError::new("nature", "choose from the natures listed");
            return list_page(&state, &staff, refused(vec![e])).await;
        }
    };
    match state.app.breaches().open(&access, input).await {
        Ok(b) => Ok(see_other(&format!("/console/breaches/{}", b.breach.id))),
        Err(AppError::Invalid(errors)) => list_page(&state, &staff, refused(errors)).await,
        Err(e) => Err(e.into()),
    }
}

/// The text inputs of the record form, as the record names them.
const RECORD_TEXTS: [&str; 5] = [
    "consequences",
    "measures_taken",
    "measures_proposed",
    "risk_reasoning",
    "categories",
];

/// The record form: what the privacy officer assessed and decided, as a merge patch.
fn record_patch(
    fields: &HashMap<String, String>,
    now: Timestamp,
) -> Result<Value, Vec<FieldError>> {
    let mut patch = Map::new();
    let text = |name: &str| {
        let v = typed(fields, name);
        if v.trim().is_empty() {
            Value::Null
        } else {
            Value::String(v)
        }
    };
    for name in RECORD_TEXTS {
        if name == "categories" {
            let list: Vec<String> = typed(fields, name)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            patch.insert(name.into(), json!(list));
        } else {
            patch.insert(name.into(), text(name));
        }
    }
    patch.insert(
        "special_categories".into(),
        json!(fields.contains_key("special_categories")),
    );
    let mut errors = Vec::new();
    let mut count = |name: &str| -> Value {
        let raw = typed(fields, name);
        if raw.trim().is_empty() {
            return Value::Null;
        }
        match raw.trim().parse::<u64>() {
            Ok(n) => json!(n),
            Err(_) => {
                errors.push(FieldError::new(
                    name.replace('_', "."),
                    "is not a whole number",
                ));
                Value::Null
            }
        }
    };
    patch.insert(
        "customers".into(),
        json!({"confirmed": count("customers_confirmed"), "possible": count("customers_possible")}),
    );
    patch.insert(
        "records".into(),
        json!({"confirmed": count("records_confirmed"), "possible": count("records_possible")}),
    );
    let risk = typed(fields, "risk");
    patch.insert(
        "risk".into(),
        if risk.is_empty() {
            Value::Null
        } else {
            json!(risk)
        },
    );
    match typed(fields, "authority").as_str() {
        "notified" => {
            let notified_at = match moment("authority.notified_at", &typed(fields, "notified_at")) {
                Ok(t) => json!(t),
                Err(e) => {
                    errors.push(e);
                    Value::Null
                }
            };
            let authorities: Vec<String> = typed(fields, "authorities")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            patch.insert(
                "authority".into(),
                json!({
                    "notify": true,
                    "notified_at": notified_at,
                    "authorities": authorities,
                    "reference": text("reference"),
                    "delay_reason": text("delay_reason"),
                }),
            );
        }
        "not_notified" => {
            patch.insert(
                "authority".into(),
                json!({"notify": false, "reason": text("authority_reason")}),
            );
        }
        _ => {
            patch.insert("authority".into(), Value::Null);
        }
    }
    match typed(fields, "customers_told").as_str() {
        "notify" => {
            patch.insert("customer_decision".into(), json!({"notify": true}));
        }
        exemption @ ("a" | "b" | "c") => {
            patch.insert(
                "customer_decision".into(),
                json!({"notify": false, "exemption": exemption, "evidence": text("evidence")}),
            );
        }
        "not_told" => {
            patch.insert(
                "customer_decision".into(),
                json!({"notify": false, "evidence": text("evidence")}),
            );
        }
        _ => {
            patch.insert("customer_decision".into(), Value::Null);
        }
    }
    if fields.contains_key("close") {
        patch.insert("closed_at".into(), json!(now));
    }
    if errors.is_empty() {
        Ok(Value::Object(patch))
    } else {
        Err(errors)
    }
}

/// Inputs of the record form, with the names the register gives errors about them.
const RECORD_INPUTS: [(&str, &str); 17] = [
    ("categories", "categories"),
    ("special_categories", "special_categories"),
    ("customers_confirmed", "customers"),
    ("records_confirmed", "records"),
    ("consequences", "consequences"),
    ("measures_taken", "measures_taken"),
    ("measures_proposed", "measures_proposed"),
    ("risk", "risk"),
    ("risk_reasoning", "risk_reasoning"),
    ("authority", "authority.notify"),
    ("notified_at", "authority.notified_at"),
    ("authorities", "authority.authorities"),
    ("reference", "authority.reference"),
    ("delay_reason", "authority.delay_reason"),
    ("authority_reason", "authority.reason"),
    ("customers_told", "customer_decision.exemption"),
    ("evidence", "customer_decision.evidence"),
];

/// The record form sent: changes the breach at the version the page showed.
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(fields): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(fields.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let refused =
        |errors: Vec<FieldError>| Refusal::new("record", fields.clone(), errors, RECORD_INPUTS);
    let patch = match record_patch(&fields, state.app.now()) {
        Ok(p) => p,
        Err(errors) => return breach_page(&state, &staff, id, None, refused(errors)).await,
    };
    let version = typed(&fields, "version").parse::<i64>().ok();
    match state
        .app
        .breaches()
        .update(&access, id, &patch, version)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/console/breaches/{id}"))),
        Err(AppError::Invalid(errors)) => {
            breach_page(&state, &staff, id, None, refused(errors)).await
        }
        Err(e @ (AppError::BreachRefused(_) | AppError::StaleVersion)) => {
            let said = FieldError::new("breach", e.to_string());
            breach_page(&state, &staff, id, None, refused(vec![said])).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A step of the checklist ticked off, or opened again.
pub async fn step(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, step)): Path<(String, String)>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let step: StepKind = step.parse().map_err(|_| AppError::NotFound)?;
    let done = form.get("done").is_some_and(|v| v == "true");
    state
        .app
        .breaches()
        .step(&access, id, step, StepUpdate { done })
        .await?;
    Ok(see_other(&format!("/console/breaches/{id}#checklist")))
}

/// A phase of information appended.
pub async fn add_phase(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let input = PhaseInput {
        text: typed(&form, "text"),
        sent_to_authority: form.contains_key("sent_to_authority"),
    };
    match state.app.breaches().add_phase(&access, id, input).await {
        Ok(_) => Ok(see_other(&format!("/console/breaches/{id}#phases"))),
        Err(AppError::Invalid(errors)) => {
            let refusal = Refusal::new("phase", form.clone(), errors, [("text", "text")]);
            breach_page(&state, &staff, id, None, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Whom the breach reached, worked out from the audit log for a window and attached.
pub async fn scope(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let refused = |errors: Vec<FieldError>| Refusal::new("scope", form.clone(), errors, []);
    let (from, to) = match (
        moment("from", &typed(&form, "from")),
        moment("to", &typed(&form, "to")),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (f, t) => {
            let errors = [f.err(), t.err()].into_iter().flatten().collect();
            return breach_page(&state, &staff, id, None, refused(errors)).await;
        }
    };
    let query = ScopeQuery {
        from,
        to,
        actors: typed(&form, "actors")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        ..Default::default()
    };
    match state.app.breaches().scope(&access, id, query).await {
        Ok(_) => Ok(see_other(&format!("/console/breaches/{id}#scope"))),
        Err(AppError::Invalid(errors)) => {
            breach_page(&state, &staff, id, None, refused(errors)).await
        }
        Err(e @ AppError::BreachRefused(_)) => {
            let said = FieldError::new("scope", e.to_string());
            breach_page(&state, &staff, id, None, refused(vec![said])).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Customers told, or counted first in a dry run whose figures the page shows.
pub async fn notify_customers(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(form.get("csrf").map(String::as_str))?;
    let access = staff.access(&state)?;
    let id = super::parse_id(&id)?;
    let dry_run = form.get("dry_run").is_some_and(|v| v == "true");
    match state
        .app
        .breaches()
        .notify_customers(&access, id, dry_run)
        .await
    {
        Ok(run) => breach_page(&state, &staff, id, Some(run), Refusal::none()).await,
        Err(e @ AppError::BreachRefused(_)) => {
            let said = FieldError::new("notices", e.to_string());
            let refusal = Refusal::new("notices", HashMap::new(), vec![said], []);
            breach_page(&state, &staff, id, None, refusal).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The authority's notification as a page to print.
pub async fn authority_notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = super::parse_id(&id)?;
    let md = state
        .app
        .breaches()
        .authority_notice(&staff.actor, id)
        .await?;
    let mut body_html = String::new();
    // The register's text is staff's, but it is escaped all the same: raw HTML in it is
    // shown as written, never run.
    let events = pulldown_cmark::Parser::new(&md).map(|e| match e {
        pulldown_cmark::Event::Html(h) | pulldown_cmark::Event::InlineHtml(h) => {
            pulldown_cmark::Event::Text(h)
        }
        other => other,
    });
    pulldown_cmark::html::push_html(&mut body_html, events);
    Ok(render(&AuthorityNoticePage {
        chrome: Chrome::new(&state, &staff, "Notification to the authority", "breaches"),
        id,
        body_html,
    }))
}
