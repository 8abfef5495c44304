//! Public sign-up and preference forms: `/forms/{key}`, as the catalog defines them. No
//! sign-in, no script. The form carries a random token that must also come back as a cookie,
//! so another site cannot post it on a visitor's behalf. A `Sec-GPC: 1` signal is shown as
//! honoured and takes effect when the confirmation link is followed.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form};
use steward_app::core::{CountryCode, FieldKind};
use steward_app::{AppError, FieldError, FormSubmission, FormView};

use super::links::message_page;
use crate::evidence::evidence;
use crate::tls::ClientAddr;
use crate::web::{CookiePath, Gpc, cookie, random_value, render, same, with_public_policy};
use crate::{AppState, Problem};

const FORM_COOKIE: &str = "steward_form";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forms/{key}", get(show).post(submit))
        .route("/forms/{key}/sent", get(sent))
}

struct PurposeChoice {
    key: String,
    name: String,
    description: String,
    summary: Option<steward_app::PurposeSummary>,
    ticked: bool,
}

struct FieldInput {
    key: String,
    label: String,
    why: String,
    input_type: &'static str,
    value: String,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "public/form.html")]
struct FormPage {
    form: FormView,
    purposes: Vec<PurposeChoice>,
    fields: Vec<FieldInput>,
    /// ISO 3166-1 codes with their names, in the order of the names.
    countries: Vec<(String, &'static str)>,
    residency: String,
    sign_up_again: bool,
    csrf: String,
    gpc: bool,
    refused: bool,
    error_count: usize,
    purpose_errors: Vec<String>,
    residency_errors: Vec<String>,
    /// Anything that belongs to no input on the page.
    other_errors: Vec<String>,
}

/// What the visitor sent, shown again with the errors when a submission is refused: every
/// tick and value stays as they left it.
#[derive(Default)]
struct Sent {
    values: BTreeMap<String, String>,
    purposes: Vec<String>,
    residency: String,
    sign_up_again: bool,
}

fn page(
    state: &AppState,
    form: FormView,
    sent: Sent,
    gpc: bool,
    errors: Vec<FieldError>,
) -> Response {
    let csrf = random_value();
    let refused = !errors.is_empty();
    let error_count = errors.len();
    let mut fields: Vec<FieldInput> = form
        .fields
        .iter()
        .map(|f| FieldInput {
            key: f.key.clone(),
            label: f.label.clone(),
            why: format!("needed for: {}", f.needed_for.join(", ")),
            input_type: match f.kind {
                FieldKind::Email => "email",
                FieldKind::Phone => "tel",
                FieldKind::Date => "date",
                _ => "text",
            },
            value: sent.values.get(&f.key).cloned().unwrap_or_default(),
            errors: Vec::new(),
        })
        .collect();
    let (mut purpose_errors, mut residency_errors, mut other_errors) =
        (Vec::new(), Vec::new(), Vec::new());
    // Each message beside what it is about, in the catalog's words.
    for e in errors {
        let key = e.field.strip_prefix("fields.");
        if let Some(input) = key.and_then(|k| fields.iter_mut().find(|f| f.key == k)) {
            input.errors.push(format!("{} {}", input.label, e.message));
        } else if e.field == "purposes" {
            purpose_errors.push(e.message);
        } else if e.field == "residency" {
            residency_errors.push("Choose the country you live in from the list.".into());
        } else {
            let about = key
                .and_then(|k| state.app.catalog().field(k))
                .map_or_else(|| e.field.clone(), |f| f.label.clone());
            other_errors.push(format!("{about}: {}", e.message));
        }
    }
    let purposes = form
        .purposes
        .iter()
        .map(|p| PurposeChoice {
            key: p.key.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            summary: p.summary.clone(),
            ticked: sent.purposes.contains(&p.key),
        })
        .collect();
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = with_public_policy(
        render(&FormPage {
            form,
            purposes,
            fields,
            countries: CountryCode::by_name()
                .map(|(c, name)| (c.to_string(), name))
                .collect(),
            residency: sent.residency.trim().to_ascii_uppercase(),
            sign_up_again: sent.sign_up_again,
            csrf: csrf.clone(),
            gpc,
            refused,
            error_count,
            purpose_errors,
            residency_errors,
            other_errors,
        }),
        status,
    );
    if let Some(v) = CookiePath::new("/forms", state.tls).set(FORM_COOKIE, &csrf) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn failure(e: AppError) -> Response {
    match e {
        AppError::NotFound => with_public_policy(
            message_page("Form not found", vec!["There is no such form here.".into()]),
            StatusCode::NOT_FOUND,
        ),
        other => Problem::from(other).into_response(),
    }
}

async fn show(State(state): State<AppState>, Path(key): Path<String>, Gpc(gpc): Gpc) -> Response {
    match state.app.forms().get(&key).await {
        Ok(form) => page(&state, form, Sent::default(), gpc, Vec::new()),
        Err(e) => failure(e),
    }
}

/// Where a sign-up that was taken lands: a page of its own, so that reloading it sends
/// nothing again.
async fn sent(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match state.app.forms().get(&key).await {
        Ok(_) => with_public_policy(
            message_page(
                "Check your inbox",
                vec![
                    "If the address is right, a message with a link for each choice is on its way. Until you open one, nothing you sent is put on file and nothing you ticked counts; unopened, it is all deleted after a week.".into(),
                ],
            ),
            StatusCode::OK,
        ),
        Err(e) => failure(e),
    }
}

async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    Gpc(gpc): Gpc,
    headers: HeaderMap,
    Form(body): Form<HashMap<String, String>>,
) -> Response {
    let form = match state.app.forms().get(&key).await {
        Ok(form) => form,
        Err(e) => return failure(e),
    };
    match (cookie(&headers, FORM_COOKIE), body.get("csrf")) {
        (Some(expected), Some(sent)) if same(&expected, sent) => {}
        _ => {
            return with_public_policy(
                message_page(
                    "Form refused",
                    vec![
                        "This form expired or came from another site. Reload it and send it again."
                            .into(),
                    ],
                ),
                StatusCode::FORBIDDEN,
            );
        }
    }
    let sent = Sent {
        values: body
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("field.").map(|k| (k.to_string(), v.clone())))
            .collect(),
        purposes: body
            .keys()
            .filter_map(|k| k.strip_prefix("purpose."))
            .map(str::to_string)
            .collect(),
        residency: body.get("residency").cloned().unwrap_or_default(),
        sign_up_again: body.contains_key("sign_up_again"),
    };
    let submission = FormSubmission {
        values: sent.values.clone(),
        purposes: sent.purposes.clone(),
        residency: sent.residency.clone(),
        sign_up_again: sent.sign_up_again,
    };
    let evidence = evidence(client, &headers);
    match state.app.forms().submit(&key, submission, &evidence).await {
        Ok(()) => {
            axum::response::Redirect::to(&format!("/forms/{}/sent", form.key)).into_response()
        }
        Err(AppError::Invalid(errors)) => page(&state, form, sent, gpc, errors),
        Err(e) => failure(e),
    }
}
