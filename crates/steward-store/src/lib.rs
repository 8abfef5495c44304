//! Persistence. One `Store` trait, one implementation per engine (SQLite embedded, PostgreSQL
//! for scale), each with its own SQL and its own append-only migrations; and the key store,
//! a separate SQLite file that holds wrapped keys apart from the data they protect.
//! The only crate with SQL in it.

mod audit_head;
mod audit_sql;
mod error;
mod keystore;
mod migrations;
mod postgres;
mod records;
mod retention_sql;
mod segment_sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StoreError;
pub use keystore::{KeyStore, PendingBatch, StoredKey};
pub use postgres::PostgresStore;
pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use steward_core::audit::{AuditEntry, AuditRecord, Hash, SignedHead};
use uuid::Uuid;

/// The field name a second use of one idempotency key is reported under.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a set of changes and their audit entries in one transaction: all or nothing.
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>>;

    /// Erases a customer's rows and index entries, leaves a tombstone, suppresses their
    /// address, keeps only a pseudonym in their requests and applies what goes with the
    /// erasure, in one transaction. Returns false when there was no such customer.
    async fn erase_customer(&self, erasure: Erasure) -> Result<bool>;

    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>>;
    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>>;
    async fn list_customers(&self, filter: &CustomerFilter) -> Result<Vec<CustomerRow>>;
    async fn count_customers(&self) -> Result<u64>;
    /// Customers whose index entry for `field` equals one of `digests`.
    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>>;
    async fn is_tombstoned(&self, id: Uuid) -> Result<bool>;

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>>;

    /// Appends audit entries outside any other change (reads, exports).
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>>;
    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    async fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Lists the record ids named by up to `max` audit entries that the list of audit
    /// targets does not reach yet; returns how many entries that was.
    async fn index_audit_targets(&self, max: usize) -> Result<usize>;
    /// The last entry in the log: its sequence number and hash.
    async fn audit_head(&self) -> Result<(i64, Hash)>;
    /// The head as the last commit that appended entries signed it; `None` when there is
    /// no head or it is unsigned.
    async fn signed_head(&self) -> Result<Option<SignedHead>>;
    /// Signs the head as it stands. Only for an installation that kept no signed heads yet:
    /// every commit that appends entries signs its own.
    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>>;

    async fn create_user(&self, user: &UserRow, audit: AuditRecord) -> Result<()>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>>;
    async fn create_token(&self, token: &TokenRow, audit: AuditRecord) -> Result<()>;
    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>>;
    async fn list_users(&self) -> Result<Vec<UserRow>>;
    /// Counts one more failed sign-in and returns the new count. Atomic, so concurrent
    /// attempts each count.
    async fn record_login_failure(&self, id: Uuid) -> Result<i64>;
    async fn reset_login_failures(&self, id: Uuid) -> Result<()>;
    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()>;
    /// Changes a user's role and/or disabled flag and ends their sign-in sessions (their
    /// tokens named `session`), in one transaction; false when there is no such user.
    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool>;
    /// Replaces a user's password hash, clears their failed sign-ins and lock-out and ends
    /// their sign-in sessions, in one transaction; false when there is no such user.
    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool>;
    async fn list_tokens(&self) -> Result<Vec<TokenRow>>;
    /// Revokes a token; false when there is no such token or it was revoked already.
    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Records that a session was used at `at`.
    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()>;

    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats>;
    /// Consent counts now, and consent events per day since `since`.
    async fn consent_stats(&self, since: i64) -> Result<ConsentStats>;
    /// Audit entries since `since`, counted per day, role, purpose and action.
    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>>;

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>>;

    /// The current consent state of each purpose the customer has an event for.
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>>;
    /// A customer's row and current consents, read together.
    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>>;
    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>>;
    /// Adds a draft notice; its version must be new.
    async fn create_notice(&self, notice: &NoticeRow, audit: AuditRecord) -> Result<()>;
    /// Publishes a draft; false when there is no such draft (absent or already published).
    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Every version, newest first.
    async fn notices(&self) -> Result<Vec<NoticeRow>>;

    /// How many customers a segment (or audience) holds.
    async fn count_segment(&self, query: &SegmentQuery) -> Result<u64>;
    /// A page of a segment's members, by id, after `after`.
    async fn segment_page(
        &self,
        query: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>>;
    /// Current consents still marked given that have lapsed at `now`: past their expiry, or
    /// given before `given_since` (a material notice change). Up to `limit`, by customer.
    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>>;
    /// Every consent event of the customer, oldest first.
    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>>;

    /// Claims up to `limit` messages due by `now` that no other sender holds, leasing them
    /// until `lease_until`.
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>>;
    /// Records an attempt to deliver a claimed message and releases it.
    async fn finish_mail(&self, delivery: &Delivery) -> Result<()>;
    /// A customer's messages, newest first.
    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>>;
    /// The attempts to deliver one message, in order.
    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>>;
    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>>;

    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>>;
    /// Up to `limit` sign-ups whose links ran out by `now`, oldest first.
    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>>;
    /// Deletes these sign-ups with their messages and links; returns those it deleted, so
    /// that of several callers each sign-up is deleted by one.
    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>>;

    /// The newest unspent portal code sent to this address, unexpired at `now`.
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>>;
    /// Records an attempt at a code: when `matched` and attempts are left, spends it and
    /// opens `session`; otherwise counts the attempt. Atomic, so racing attempts each count.
    async fn check_portal_code(
        &self,
        code: Uuid,
        now: i64,
        matched: bool,
        max_attempts: i64,
        session: &PortalSession,
        audit: AuditRecord,
    ) -> Result<CodeCheck>;
    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>>;
    /// Marks a session used at `at`, or ended.
    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()>;

    /// Saves a segment; its name must be new.
    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()>;
    /// Every segment, by name.
    async fn segments(&self) -> Result<Vec<SegmentRow>>;
    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>>;
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()>;
    /// Every campaign, newest first.
    async fn campaigns(&self) -> Result<Vec<CampaignRow>>;
    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>>;
    /// Which of `customers` the campaign has queued a message for already.
    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>>;
    /// How the campaign's messages fared, and how many unsubscribed through them.
    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts>;

    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>>;
    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>>;
    /// Which of `digests` belong to people erased at their request.
    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>>;
    /// What recipients of a customer's data are to be told, oldest first.
    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>>;

    /// Adds the rules that are not kept yet (by key); kept rules stay as they are.
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()>;
    async fn retention_rules(&self) -> Result<Vec<StoredRule>>;
    /// Adds a rule; its key must be new.
    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()>;
    /// Replaces a rule; false when there is no rule with its key.
    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool>;
    async fn legal_holds(&self) -> Result<Vec<LegalHold>>;
    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()>;
    /// Releases a hold; false when there is no such hold or it was released already.
    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Adds or updates a run.
    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()>;
    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>>;
    /// The latest runs, newest first.
    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>>;
    /// A page of the records a rule finds due and no run has acted on or claimed.
    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>>;
    /// How many records a rule finds due (the query's limit and `after` are ignored).
    async fn count_due(&self, query: &DueQuery) -> Result<u64>;
    /// Acts on a page of due records in one transaction, each only if no run acted on it
    /// before; returns the records it acted on.
    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>>;
    /// How many records a run acted on, by rule.
    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>>;
    /// The records a run acted on, by rule and id.
    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>>;

    /// The kept answer for an idempotency key, if one was kept and has not expired by `now`.
    async fn find_idempotent(&self, key_hash: &[u8; 32], now: i64)
    -> Result<Option<IdempotentRow>>;
}
