//! What the store can do, one trait per mechanism. `Store` bundles them, so an `Arc<dyn Store>`
//! serves every use case; bring the traits into scope with `use steward_store::repos::*`.

mod accounts;
mod agreements;
mod audit_log;
mod breaches;
mod campaigns;
mod changes;
mod companies;
mod consent_ledger;
mod customers;
mod idempotency;
mod leases;
mod merges;
mod notices;
mod outbox;
mod personalization;
mod portal;
mod recipient_notices;
mod reports;
mod request_desk;
mod retention;
mod segments;
mod shares;
mod signups;
mod tasks;
mod vendors;
mod views;
mod webhooks;

pub use accounts::Accounts;
pub use agreements::Agreements;
pub use audit_log::AuditLog;
pub use breaches::Breaches;
pub use campaigns::Campaigns;
pub use changes::Changes;
pub use companies::Companies;
pub use consent_ledger::ConsentLedger;
pub use customers::Customers;
pub use idempotency::Idempotency;
pub use leases::Leases;
pub use merges::Merges;
pub use notices::Notices;
pub use outbox::Outbox;
pub use personalization::Personalization;
pub use portal::Portal;
pub use recipient_notices::RecipientNotices;
pub use reports::Reports;
pub use request_desk::RequestDesk;
pub use retention::Retention;
pub use segments::Segments;
pub use shares::Shares;
pub use signups::Signups;
pub use tasks::Tasks;
pub use vendors::Vendors;
pub use views::SavedViews;
pub use webhooks::Webhooks;

/// Every repository of one database.
pub trait Store:
    Changes
    + Customers
    + AuditLog
    + Accounts
    + Reports
    + ConsentLedger
    + Notices
    + Segments
    + Campaigns
    + Outbox
    + Signups
    + Portal
    + RequestDesk
    + Retention
    + Idempotency
    + Vendors
    + Agreements
    + Shares
    + RecipientNotices
    + Webhooks
    + Breaches
    + Personalization
    + Leases
    + Merges
    + SavedViews
    + Tasks
    + Companies
    + 'static
{
}

impl<
    T: Changes
        + Customers
        + AuditLog
        + Accounts
        + Reports
        + ConsentLedger
        + Notices
        + Segments
        + Campaigns
        + Outbox
        + Signups
        + Portal
        + RequestDesk
        + Retention
        + Idempotency
        + Vendors
        + Agreements
        + Shares
        + RecipientNotices
        + Webhooks
        + Breaches
        + Personalization
        + Leases
        + Merges
        + SavedViews
        + Tasks
        + Companies
        + 'static,
> Store for T
{
}
