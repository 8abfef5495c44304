use axum::Json;
use axum::extract::State;

use crate::auth::Caller;
use crate::{AppState, Problem};

/// Fields and purposes with their categories and lawful bases: no personal data, so any
/// authenticated caller may read it.
#[utoipa::path(
    get,
    path = "/catalog",
    operation_id = "catalog_read",
    tag = "catalog",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Fields and purposes", body = steward_app::core::Catalog),
        (status = 401, description = "No valid token", body = Problem),
    )
)]
pub async fn catalog(
    State(state): State<AppState>,
    _caller: Caller,
) -> Json<steward_app::core::Catalog> {
    Json(state.app.catalog().clone())
}
