//! The portal's account of the recipients told of changes to the customer's data (Art. 19):
//! on the signed-in page every notice, and in the answer to an erasure the recipients that
//! will be told, since the customer can no longer sign in to see them.

use steward_app::core::Catalog;
use steward_app::{NoticeStatus, RecipientNoticeView};

use super::dates::day;

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
