//! The portal's account of the recipients told of changes to the customer's data (Art. 19):
//! on the signed-in page every notice, and in the answer to an erasure the recipients that
//! will be told, since the customer can no longer sign in to see them.

use axum::http::HeaderMap;
use steward_app::core::Catalog;
use steward_app::{AppError, NoticeStatus, RecipientNoticeView};

use super::dates::day;
use crate::AppState;
use crate::web::cookie;

/// After an erasure: the ids of the notices to the recipients that will be told of it,
/// carried to the page after the redirect.
pub(crate) const TOLD: &str = "steward_portal_told";
pub(crate) const TOLD_SECONDS: i64 = 60 * 60;
const TOLD_MAX: usize = 50;

/// The cookie's value for an erasure's notices; `None` when no recipient is told.
pub(crate) fn told_cookie(told: &[RecipientNoticeView]) -> Option<String> {
    let ids: Vec<String> = told
        .iter()
        .take(TOLD_MAX)
        .map(|n| n.id.simple().to_string())
        .collect();
    (!ids.is_empty()).then(|| ids.join("."))
}

/// The recipients the cookie's notices name, as the page after an erasure shows them.
pub(crate) async fn told_of_erasure(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Vec<RecipientRow>, AppError> {
    let ids: Vec<uuid::Uuid> = cookie(headers, TOLD)
        .map(|raw| {
            raw.split('.')
                .take(TOLD_MAX)
                .filter_map(|id| uuid::Uuid::try_parse(id).ok())
                .collect()
        })
        .unwrap_or_default();
    let told = state.app.portal().told_of_erasure(&ids).await?;
    Ok(rows(state.app.catalog(), &told))
}

pub(crate) struct RecipientRow {
    pub vendor: String,
    pub change: &'static str,
    pub fields: String,
    pub status: &'static str,
    pub due: String,
}

fn change(kind: &str) -> &'static str {
    match kind {
        "erasure" => "Your data was erased",
        "rectification" => "Your data was corrected",
        "restriction" => "The use of your data was restricted",
        _ => "Your data changed",
    }
}

fn status(s: NoticeStatus) -> &'static str {
    match s {
        NoticeStatus::Pending => "To be told",
        NoticeStatus::Sent => "Told",
        NoticeStatus::Acknowledged => "Told, and confirmed",
        NoticeStatus::Failed => "Not reached yet; we try again",
        NoticeStatus::Impossible => "Cannot be told",
    }
}

pub(crate) fn rows(catalog: &Catalog, notices: &[RecipientNoticeView]) -> Vec<RecipientRow> {
    notices
        .iter()
        .map(|n| RecipientRow {
            vendor: n.vendor.clone(),
            change: change(&n.kind),
            fields: n
                .fields
                .iter()
                .map(|f| {
                    catalog
                        .field(f)
                        .map_or_else(|| f.clone(), |d| d.label.clone())
                })
                .collect::<Vec<_>>()
                .join(", "),
            status: status(n.status),
            due: day(n.due),
        })
        .collect()
}
