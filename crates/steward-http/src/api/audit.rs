use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use steward_app::AuditFilter;
use steward_app::core::audit::AuditEntry;

use crate::auth::Caller;
use crate::extract::{Params, parse_limit, parse_time};
use crate::{AppState, Problem};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    limit: Option<String>,
    cursor: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    items: Vec<AuditEntry>,
    next_cursor: Option<String>,
    limit: usize,
}

#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "audit_search",
    tag = "audit",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entries, oldest first", body = AuditPage),
        (status = 400, description = "Bad request", body = Problem), (status = 401, description = "No valid token", body = Problem), (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Params(p): Params<AuditParams>,
) -> Result<Json<AuditPage>, Problem> {
    let limit = parse_limit(p.limit.as_deref())?.unwrap_or(50).min(500);
    let after_seq =
        match p.cursor.as_deref() {
            Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                Problem::bad_request("cursor", "is not a cursor this list returned")
            })?,
            None => 0,
        };
    let filter = AuditFilter {
        after_seq,
        limit: limit + 1,
        actor: p.actor,
        action: p.action,
        target: p.target,
        from: parse_time("from", p.from.as_deref())?.map(|t| t.as_microsecond()),
        to: parse_time("to", p.to.as_deref())?.map(|t| t.as_microsecond()),
        ..Default::default()
    };
    let mut items = state.app.audit().search(&actor, filter).await?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more {
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(Json(AuditPage {
        items,
        next_cursor,
        limit,
    }))
}

#[utoipa::path(
    get,
    path = "/audit/verify",
    operation_id = "audit_verify",
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Result of walking the chain", body = steward_app::VerifyReport),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<steward_app::VerifyReport>, Problem> {
    Ok(Json(state.app.audit().verify_for(&actor).await?))
}
