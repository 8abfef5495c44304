use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::auth::Caller;

/// Fields and purposes with their categories and lawful bases: no personal data, so any
/// authenticated caller may read it.
pub async fn catalog(
    State(app): State<AppState>,
    _caller: Caller,
) -> Json<steward_app::core::Catalog> {
    Json(app.catalog().clone())
}
