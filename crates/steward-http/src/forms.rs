//! Public sign-up and preference forms: `/forms/{key}`, as the catalog defines them. No
//! sign-in, no script. The form carries a random token that must also come back as a cookie,
//! so another site cannot post it on a visitor's behalf. A `Sec-GPC: 1` signal is shown as
//! honoured and takes effect when the confirmation link is followed.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form};
use steward_app::core::FieldKind;
use steward_app::{AppError, FieldError, FormSubmission, FormView};

use crate::AppState;
use crate::console::{cookie, random_value, same};
use crate::tls::ClientAddr;

const FORM_COOKIE: &str = "steward_form";

pub fn routes() -> Router<AppState> {
    Router::new().route("/forms/{key}", get(show).post(submit))
}

struct FieldInput {
    key: String,
    label: String,
    why: String,
    input_type: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "public/form.html")]
struct FormPage {
    form: FormView,
    fields: Vec<FieldInput>,
    residency: String,
    csrf: String,
    gpc: bool,
    errors: Vec<FieldError>,
}

fn gpc(headers: &HeaderMap) -> bool {
    headers.get("sec-gpc").is_some_and(|v| v.as_bytes() == b"1")
}

fn public(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::privacy::CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn page(
    app: &AppState,
    form: FormView,
    typed: &BTreeMap<String, String>,
    residency: String,
    gpc: bool,
    errors: Vec<FieldError>,
) -> Response {
    let csrf = random_value();
    let fields = form
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
            value: typed.get(&f.key).cloned().unwrap_or_default(),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = public(
        crate::console::render(&FormPage {
            form,
            fields,
            residency,
            csrf: csrf.clone(),
            gpc,
            errors,
        }),
        status,
    );
    let secure = if app.tls { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FORM_COOKIE}={csrf}; Path=/forms; HttpOnly; SameSite=Strict{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn failure(e: AppError) -> Response {
    match e {
        AppError::NotFound => public(
            crate::links::message_page(
                "Form not found",
                vec!["There is no such form here.".into()],
            ),
            StatusCode::NOT_FOUND,
        ),
        other => crate::Problem::from(other).into_response(),
    }
}

async fn show(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match app.form(&key).await {
        Ok(form) => page(
            &app,
            form,
            &BTreeMap::new(),
            String::new(),
            gpc(&headers),
            Vec::new(),
        ),
        Err(e) => failure(e),
    }
}

async fn submit(
    State(app): State<AppState>,
    Path(key): Path<String>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    Form(body): Form<HashMap<String, String>>,
) -> Response {
    let form = match app.form(&key).await {
        Ok(form) => form,
        Err(e) => return failure(e),
    };
    match (cookie(&headers, FORM_COOKIE), body.get("csrf")) {
        (Some(expected), Some(sent)) if same(&expected, sent) => {}
        _ => {
            return public(
                crate::links::message_page(
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
    let values: BTreeMap<String, String> = body
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("field.").map(|k| (k.to_string(), v.clone())))
        .collect();
    let submission = FormSubmission {
        values: values.clone(),
        purposes: body
            .keys()
            .filter_map(|k| k.strip_prefix("purpose."))
            .map(str::to_string)
            .collect(),
        residency: body.get("residency").cloned().unwrap_or_default(),
        sign_up_again: body.contains_key("sign_up_again"),
    };
    let residency = submission.residency.clone();
    let evidence = crate::api::consents::evidence(client, &headers);
    match app.submit_form(&key, submission, &evidence).await {
        Ok(()) => public(
            crate::links::message_page(
                "Check your inbox",
                vec![
                    "If the address is right, a message with a link for each choice is on its way. Nothing you ticked counts until you open it.".into(),
                ],
            ),
            StatusCode::OK,
        ),
        Err(AppError::Invalid(errors)) => page(&app, form, &values, residency, gpc(&headers), errors),
        Err(e) => failure(e),
    }
}
