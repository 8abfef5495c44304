//! The privacy portal's pages under `/portal`: sign-in with a code sent by email, then the
//! customer's own data. No script; forms carry a token that must also come back as a cookie
//! (before sign-in) or that derives from the session (after); cookies stay on `/portal`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use steward_app::{
    AppError, CodeStanding, Correction, ExportScope, ObjectionOutcome, Subject, SubjectFormat,
};

use super::portal_outcomes::{Flash, outcome, said};
use super::portal_told::{self, RecipientRow, TOLD, TOLD_SECONDS};
use super::portal_view::{self, OverviewRows};
use crate::evidence::evidence;
use crate::tls::ClientAddr;
use crate::web::{
    CookiePath, Gpc, cookie, csrf_for, random_value, render, same, see_other, with_public_policy,
};
use crate::{AppState, Problem};

const SESSION: &str = "steward_portal";
const FORM: &str = "steward_portal_form";
/// The sign-in under way in this browser: the address typed, when a code was asked for and
/// how many wrong codes were entered since. It lets the pages after a post be plain GETs (a
/// reload posts nothing again) and decides only what they say, never whether a code works.
const PENDING: &str = "steward_portal_pending";
const PENDING_SECONDS: i64 = 60 * 60;
const SIGN_IN_TAKES: std::time::Duration = std::time::Duration::from_millis(250);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(start))
        .route("/portal/code", get(code_page).post(send_code))
        .route("/portal/sign-in", post(sign_in))
        .route("/portal/me", get(me))
        .route("/portal/me/export.json", get(export_json))
        .route("/portal/me/export.csv", get(export_csv))
        .route("/portal/me/receipts/{id}", get(receipt))
        .route("/portal/me/correct", post(correct))
        .route("/portal/me/address", post(change_address))
        .route("/portal/me/withdraw", post(withdraw))
        .route("/portal/me/object", post(object))
        .route("/portal/me/restrict", post(restrict))
        .route("/portal/me/erase", post(erase))
        .route("/portal/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "public/portal_sign_in.html")]
struct SignInPage {
    csrf: String,
    code: Option<CodeStep>,
    message: Option<Flash>,
    /// After an erasure: the recipients of the data that will be told of it.
    erased: bool,
    told: Vec<RecipientRow>,
}

/// The second step of signing in: the code sent to `email`.
struct CodeStep {
    email: String,
    /// The same code may still be entered.
    usable: bool,
}

#[derive(Template)]
#[template(path = "public/portal.html")]
struct PortalPage {
    csrf: String,
    rows: OverviewRows,
    /// Purposes resting on legitimate interests, as (key, name): objected to by request.
    objectable: Vec<(String, String)>,
    message: Option<Flash>,
    told: Vec<RecipientRow>,
    /// Breaches the customer was told of, newest last: (day, subject, text).
    breaches: Vec<(String, String, String)>,
}

fn cookie_value(state: &AppState, name: &str, value: Option<&str>) -> Option<HeaderValue> {
    let path = CookiePath::new("/portal", state.tls);
    match value {
        // A sign-in left half-way is forgotten after a while.
        Some(v) if name == PENDING => path.set_for(name, v, PENDING_SECONDS),
        Some(v) if name == TOLD => path.set_for(name, v, TOLD_SECONDS),
        Some(v) => path.set(name, v),
        None => path.clear(name),
    }
}

/// A sign-in under way, as its cookie holds it.
struct Pending {
    email: String,
    asked_at: jiff::Timestamp,
    wrong: u32,
}

impl Pending {
    fn read(headers: &HeaderMap) -> Option<Pending> {
        let raw = cookie(headers, PENDING)?;
        let mut parts = raw.splitn(3, '.');
        let asked_at = jiff::Timestamp::from_second(parts.next()?.parse().ok()?).ok()?;
        let wrong = parts.next()?.parse().ok()?;
        let email = String::from_utf8(hex::decode(parts.next()?).ok()?).ok()?;
        Some(Pending {
            email,
            asked_at,
            wrong,
        })
    }

    /// The cookie's value: the address hex-encoded, as a cookie allows few characters.
    fn value(&self) -> String {
        format!(
            "{}.{}.{}",
            self.asked_at.as_second(),
            self.wrong,
            hex::encode(&self.email)
        )
    }
}

fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    code: Option<CodeStep>,
    message: Option<Flash>,
) -> Response {
    page_before_sign_in(
        state,
        status,
        SignInPage {
            csrf: random_value(),
            code,
            message,
            erased: false,
            told: Vec::new(),
        },
    )
}

fn page_before_sign_in(state: &AppState, status: StatusCode, page: SignInPage) -> Response {
    let csrf = page.csrf.clone();
    let mut response = with_public_policy(render(&page), status);
    if let Some(v) = cookie_value(state, FORM, Some(&csrf)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn form_token_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    matches!(
        (cookie(headers, FORM), form.get("csrf")),
        (Some(expected), Some(sent)) if same(&expected, sent)
    )
}

fn refused(state: &AppState) -> Response {
    sign_in_page(
        state,
        StatusCode::FORBIDDEN,
        None,
        Flash::refused("This form expired or came from another site. Please start again."),
    )
}

/// A redirect that also sets (or, with `None`, clears) cookies.
fn see_other_with(state: &AppState, to: &str, cookies: &[(&str, Option<&str>)]) -> Response {
    let mut response = see_other(to);
    for (name, value) in cookies {
        if let Some(v) = cookie_value(state, name, *value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The signed-in customer and their session token, if the cookie holds a live session.
pub(super) async fn session(state: &AppState, headers: &HeaderMap) -> Option<(Subject, String)> {
    let token = cookie(headers, SESSION)?;
    let customer = state.app.portal().customer(&token).await.ok()?;
    Some((customer, token))
}

async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if session(&state, &headers).await.is_some() {
        return see_other("/portal/me");
    }
    if query.get("done").is_some_and(|d| d == "erased") {
        return erased_page(&state, &headers).await;
    }
    sign_in_page(&state, StatusCode::OK, None, outcome(&query))
}

/// The answer to an erasure, with the recipients of the data that will be told of it.
async fn erased_page(state: &AppState, headers: &HeaderMap) -> Response {
    let told = match portal_told::told_of_erasure(state, headers).await {
        Ok(told) => told,
        Err(e) => return Problem::from(e).into_response(),
    };
    page_before_sign_in(
        state,
        StatusCode::OK,
        SignInPage {
            csrf: random_value(),
            code: None,
            message: said("erased"),
            erased: true,
            told,
        },
    )
}

async fn send_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !form_token_ok(&headers, &form) {
        return refused(&state);
    }
    let raw = form.get("email").map(String::as_str).unwrap_or("");
    let email = match state.app.portal().address(raw) {
        Ok(email) => email,
        Err(_) => {
            return sign_in_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Flash::refused("That does not look like an email address."),
            );
        }
    };
    let pending = Pending {
        email: email.as_str().to_string(),
        asked_at: state.app.now(),
        wrong: 0,
    };
    // In the background, so the answer comes as fast for strangers as for customers.
    let sender = state.clone();
    tokio::spawn(async move {
        if let Err(e) = sender.app.portal().send_code(&email).await {
            tracing::warn!(error = %e, "portal code not sent");
        }
    });
    see_other_with(&state, "/portal/code", &[(PENDING, Some(&pending.value()))])
}

/// The code step. What it says comes from the sign-in's cookie alone, so it reads the same
/// whether or not the address is a customer's.
async fn code_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(pending) = Pending::read(&headers) else {
        return see_other("/portal");
    };
    let standing = state
        .app
        .portal()
        .code_standing(pending.asked_at, pending.wrong);
    let message = match standing {
        CodeStanding::Usable { .. } if pending.wrong == 0 => None,
        CodeStanding::Usable { tries_left, until } => Flash::refused(format!(
            "That code is not right. The same code still works: you can try {tries_left} more {}, until {}.",
            if tries_left == 1 { "time" } else { "times" },
            until.strftime("%H:%M UTC")
        )),
        CodeStanding::UsedUp => Flash::refused(
            "That code was entered wrong too many times and no longer works. Ask for a new one.",
        ),
        CodeStanding::Expired => {
            Flash::refused("That code's ten minutes are over. Ask for a new one.")
        }
    };
    let code = CodeStep {
        email: pending.email,
        usable: matches!(standing, CodeStanding::Usable { .. }),
    };
    sign_in_page(&state, StatusCode::OK, Some(code), message)
}

async fn sign_in(
    State(state): State<AppState>,
    Gpc(gpc): Gpc,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !form_token_ok(&headers, &form) {
        return refused(&state);
    }
    let Some(mut pending) = Pending::read(&headers) else {
        return see_other("/portal");
    };
    let code = form.get("code").cloned().unwrap_or_default();
    // Every answer takes as long as the slowest: whether an address has a code waiting (and
    // so belongs to a customer) does not show in the timing.
    let answer_at = tokio::time::Instant::now() + SIGN_IN_TAKES;
    let outcome = state.app.portal().sign_in(&pending.email, &code).await;
    tokio::time::sleep_until(answer_at).await;
    match outcome {
        Ok(signed) => {
            if gpc
                && let Err(e) = state
                    .app
                    .own_rights()
                    .honour_gpc(&signed.subject, &steward_app::Evidence::default())
                    .await
            {
                tracing::warn!(error = %e, "GPC not honoured at portal sign-in");
            }
            see_other_with(
                &state,
                "/portal/me",
                &[
                    (SESSION, Some(&signed.token)),
                    (FORM, None),
                    (PENDING, None),
                ],
            )
        }
        Err(AppError::Unauthenticated(_)) => {
            pending.wrong = pending.wrong.saturating_add(1);
            see_other_with(&state, "/portal/code", &[(PENDING, Some(&pending.value()))])
        }
        Err(e) => {
            tracing::warn!(error = %e, "portal sign-in failed");
            sign_in_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                Flash::refused("Something went wrong on our side. Please start again."),
            )
        }
    }
}

async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((customer, token)) = session(&state, &headers).await else {
        return see_other("/portal");
    };
    overview_page(&state, &customer, &token, StatusCode::OK, outcome(&query)).await
}

async fn overview_page(
    state: &AppState,
    customer: &Subject,
    token: &str,
    status: StatusCode,
    message: Option<Flash>,
) -> Response {
    let breaches = match state.app.portal().breach_notices(customer).await {
        Ok(notices) => notices
            .into_iter()
            .map(|n| (super::dates::day(n.told_at), n.subject, n.text))
            .collect(),
        Err(e) => return Problem::from(e).into_response(),
    };
    match state.app.portal().overview(customer).await {
        Ok(overview) => with_public_policy(
            render(&PortalPage {
                csrf: csrf_for(token),
                rows: portal_view::rows(state.app.catalog(), &overview),
                objectable: state.app.own_rights().objectable_purposes(),
                message,
                told: portal_told::rows(state.app.catalog(), &overview.recipients_told),
                breaches,
            }),
            status,
        ),
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn correct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let field = form.get("field").map(String::as_str).unwrap_or("");
    let value = form.get("value").map(String::as_str).unwrap_or("");
    let done = state
        .app
        .own_rights()
        .correct(&customer, field, value)
        .await
        .map(|c| match c {
            Correction::Applied => "corrected",
            Correction::AwaitingReview { .. } => "correction-review",
        });
    after_action(&state, &customer, &token, done).await
}

async fn export_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    export(state, headers, SubjectFormat::Json, q.get("scope")).await
}

async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    export(state, headers, SubjectFormat::Csv, q.get("scope")).await
}

/// `?scope=portability` leaves out what was inferred about the customer (Art. 20).
async fn export(
    state: AppState,
    headers: HeaderMap,
    format: SubjectFormat,
    scope: Option<&String>,
) -> Response {
    let Some((customer, _)) = session(&state, &headers).await else {
        return see_other("/portal");
    };
    let scope = match scope.map_or(Ok(ExportScope::Access), |s| s.parse::<ExportScope>()) {
        Ok(scope) => scope,
        Err(m) => return Problem::from(AppError::invalid("scope", m)).into_response(),
    };
    match state
        .app
        .portal()
        .start_scoped_export(&customer, format, scope)
        .await
    {
        Ok(export) => crate::streaming::subject_export(state, export, format),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// A receipt of one of the customer's consent events, as a file to keep.
async fn receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let Some((customer, _)) = session(&state, &headers).await else {
        return see_other("/portal");
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Problem::from(AppError::NotFound).into_response();
    };
    match state.app.portal().receipt(&customer, id).await {
        Ok(receipt) => {
            let mut response = receipt.jws.into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jose"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"consent-receipt-{}.jws\"",
                receipt.id
            )) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

/// The signed-in customer behind a form post that carries their session's token.
pub(super) async fn signed_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(Subject, String), Response> {
    let Some((customer, token)) = session(state, headers).await else {
        return Err(see_other("/portal"));
    };
    if form
        .get("csrf")
        .is_some_and(|sent| same(&csrf_for(&token), sent))
    {
        Ok((customer, token))
    } else {
        Err(refused(state))
    }
}

/// After an action: on success, to the overview by a redirect that names the outcome, so a
/// reload posts nothing again; a refusal changed nothing and is shown at once.
async fn after_action(
    state: &AppState,
    customer: &Subject,
    token: &str,
    done: Result<&'static str, AppError>,
) -> Response {
    match done {
        Ok(word) => see_other(&format!("/portal/me?done={word}")),
        Err(AppError::Invalid(errors)) => {
            // Each message with what it is about, by the page's or the catalog's words.
            let message = errors
                .iter()
                .map(|e| {
                    let key = e.field.strip_prefix("fields.").unwrap_or(&e.field);
                    let about = match key {
                        "field" => Some("The value to correct".to_string()),
                        "email" => Some("The new sign-in address".to_string()),
                        "purpose" => Some("The purpose".to_string()),
                        _ => state.app.catalog().field(key).map(|f| f.label.clone()),
                    };
                    // Messages written to follow a name get one; the rest stand alone.
                    let follows = ["is ", "must ", "needs ", "contains "]
                        .iter()
                        .any(|w| e.message.starts_with(w));
                    match about {
                        Some(about) if follows => format!("{about} {}.", e.message),
                        _ => {
                            let mut chars = e.message.chars();
                            chars
                                .next()
                                .map(|c| c.to_uppercase().chain(chars).collect())
                                .unwrap_or_default()
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            overview_page(
                state,
                customer,
                token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Flash::refused(message),
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            overview_page(
                state,
                customer,
                token,
                StatusCode::CONFLICT,
                Flash::refused(message),
            )
            .await
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

async fn change_address(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let new = form.get("email").map(String::as_str).unwrap_or("");
    let done = state
        .app
        .own_rights()
        .change_address(&customer, new)
        .await
        .map(|()| "address-sent");
    after_action(&state, &customer, &token, done).await
}

async fn withdraw(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let purpose = form.get("purpose").map(String::as_str).unwrap_or("");
    let evidence = evidence(client, &headers);
    let done = state
        .app
        .own_rights()
        .withdraw(&customer, purpose, &evidence)
        .await
        .map(|()| "withdrawn");
    after_action(&state, &customer, &token, done).await
}

async fn object(
    State(state): State<AppState>,
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let purpose = form.get("purpose").map(String::as_str).unwrap_or("");
    let evidence = evidence(client, &headers);
    let done = state
        .app
        .own_rights()
        .object(&customer, purpose, &evidence)
        .await
        .map(|outcome| match outcome {
            ObjectionOutcome::Upheld => "objected",
            ObjectionOutcome::Opened(_) => "objection-received",
        });
    after_action(&state, &customer, &token, done).await
}

async fn restrict(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let done = state
        .app
        .own_rights()
        .restrict(&customer)
        .await
        .map(|()| "restricted");
    after_action(&state, &customer, &token, done).await
}

async fn erase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (customer, token) = match signed_form(&state, &headers, &form).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if form.get("confirm").map(|c| c.trim()) != Some("ERASE") {
        return after_action(
            &state,
            &customer,
            &token,
            Err(AppError::invalid(
                "confirm",
                "To erase your account, type ERASE in the box.",
            )),
        )
        .await;
    }
    match state.app.own_rights().erase_account(&customer).await {
        Err(e) => after_action(&state, &customer, &token, Err(e)).await,
        // The page after the redirect names the recipients that will be told, which the
        // customer, no longer able to sign in, could see nowhere else.
        Ok(told) => {
            let ids = portal_told::told_cookie(&told);
            see_other_with(
                &state,
                "/portal?done=erased",
                &[(SESSION, None), (TOLD, ids.as_deref())],
            )
        }
    }
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some((_, token)) = session(&state, &headers).await
        && form
            .get("csrf")
            .is_some_and(|sent| same(&csrf_for(&token), sent))
        && let Err(e) = state.app.portal().sign_out(&token).await
    {
        tracing::warn!(error = %e, "portal sign-out failed");
    }
    see_other_with(&state, "/portal?done=signed-out", &[(SESSION, None)])
}
