//! Rows as the store reads and writes them. Personal values appear only sealed.

mod accounts;
mod audit;
mod breaches;
mod campaigns;
mod changes;
mod companies;
mod consent;
mod customers;
mod mail;
mod merges;
mod personalization;
mod portal;
mod reports;
mod requests;
mod retention;
mod sharing;
mod signups;
mod tasks;
mod views;
mod webhooks;

pub use accounts::*;
pub use audit::*;
pub use breaches::*;
pub use campaigns::*;
pub use changes::*;
pub use companies::*;
pub use consent::*;
pub use customers::*;
pub use mail::*;
pub use merges::*;
pub use personalization::*;
pub use portal::*;
pub use reports::*;
pub use requests::*;
pub use retention::*;
pub use sharing::*;
pub use signups::*;
pub use tasks::*;
pub use views::*;
pub use webhooks::*;

pub(crate) fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_json(text: &str) -> crate::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}

pub(crate) fn hash32(bytes: &[u8]) -> crate::Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| crate::StoreError::Corrupt("hash is not 32 bytes".into()))
}
