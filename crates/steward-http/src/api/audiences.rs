//! Audiences over HTTP: how many customers a consent-based purpose may reach right now, and
//! a streamed export of them carrying only the purpose's fields.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use steward_app::{AudienceQuery, AudienceSummary};

use crate::auth::Caller;
use crate::extract::Body;
use crate::streaming::Pages;
use crate::{AppState, Problem};

#[utoipa::path(
    post,
    path = "/audiences",
    operation_id = "audiences_count",
    tag = "campaigns",
    request_body = AudienceQuery,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The audience: customers whose consent to the purpose is given and unexpired now, not restricted or closed", body = AudienceSummary),
        (status = 422, description = "Invalid filter", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn evaluate(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(query): Body<AudienceQuery>,
) -> Result<Json<AudienceSummary>, Problem> {
    let access = state.app.access(&actor, Some(&query.purpose))?;
    Ok(Json(state.app.segments().audience(&access, &query).await?))
}

#[utoipa::path(
    post,
    path = "/audiences/export",
    operation_id = "audiences_export",
    tag = "campaigns",
    request_body = AudienceQuery,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The audience as JSON lines, one member per line: `{id, fields}` with only the fields the purpose needs; streamed, each page audited", content_type = "application/x-ndjson", body = steward_app::AudienceMember),
        (status = 422, description = "Invalid filter", body = Problem),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(query): Body<AudienceQuery>,
) -> Result<Response, Problem> {
    let access = state.app.access(&actor, Some(&query.purpose))?;
    let segment = state.app.segments().start_export(&access, &query).await?;
    // A page or two ahead of the client at most: memory stays flat for any audience size.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let mut after = None;
        loop {
            let page = match state
                .app
                .segments()
                .audience_page(&access, &segment, after)
                .await
            {
                Ok(Some((members, last))) => {
                    after = Some(last);
                    let mut buf = Vec::with_capacity(members.len() * 128);
                    for m in &members {
                        if serde_json::to_writer(&mut buf, m).is_err() {
                            break;
                        }
                        buf.push(b'\n');
                    }
                    Ok(buf)
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "audience export stopped");
                    Err(std::io::Error::other("the export stopped"))
                }
            };
            let failed = page.is_err();
            // The client went away, or the export failed: stop reading pages.
            if tx.send(page).await.is_err() || failed {
                break;
            }
        }
    });
    let mut response = axum::body::Body::from_stream(Pages(rx)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}
