use axum::Json;
use axum::extract::State;

use crate::auth::Caller;
use crate::{AppState, Problem};

#[utoipa::path(
    get,
    path = "/security/audit",
    operation_id = "security_audit",
    tag = "security",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every check of the security self-audit, run now", body = steward_app::SecurityReport),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Forbidden", body = Problem),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<steward_app::SecurityReport>, Problem> {
    Ok(Json(
        state.app.self_audit().run(&actor, &state.facts).await?,
    ))
}
