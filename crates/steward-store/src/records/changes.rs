//! A set of changes committed together, and an erasure.

use uuid::Uuid;

use super::{
    CampaignStep, ConsentEvent, CustomerUpdate, CustomerWrite, ImportJob, IndexDigest,
    InteractionRow, MailLink, NewPortalCode, OutboxRow, ProfileChange, RecipientUpdate,
    RequestMove, RequestRow, SignupRow, SpentLink, TaskMove, TaskRow,
};

#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub inserts: Vec<CustomerWrite>,
    pub updates: Vec<CustomerUpdate>,
    pub interactions: Vec<InteractionRow>,
    /// New tasks; `NotFound` when one's customer is not (or no longer) there.
    pub tasks: Vec<TaskRow>,
    /// Tasks marked done or open again; one already in the state it moves to fails the
    /// change with `Conflict`.
    pub task_moves: Vec<TaskMove>,
    pub audit: Vec<steward_core::audit::AuditRecord>,
    /// Import progress committed with the rows it covers, so a resumed import neither skips
    /// nor repeats a row.
    pub import_job: Option<ImportJob>,
    /// The replayable answer to the request that made these changes.
    pub idempotency: Option<IdempotentRow>,
    /// Consent events; each also becomes its purpose's current state.
    pub consents: Vec<ConsentEvent>,
    /// Current consents (customer, purpose, event id) the change was decided on: if any has
    /// moved on since, nothing is applied and the change fails with `Conflict`.
    pub consent_guards: Vec<(Uuid, String, Uuid)>,
    /// Messages to send once the change is committed.
    pub mail: Vec<OutboxRow>,
    /// Links those messages carry.
    pub links: Vec<MailLink>,
    /// A portal sign-in code to keep (sent by the mail in this change), unless its address
    /// had its quota of codes lately: then nothing of the change is applied and it fails with
    /// `Conflict`. Counted inside the transaction, so racing requests cannot exceed it.
    pub portal_code: Option<NewPortalCode>,
    /// A campaign's move to a new state: (id, from, to, at, recipients added).
    pub campaign_step: Option<CampaignStep>,
    /// A single-use link this change spends; if it was spent already (or never existed),
    /// nothing is applied and the change fails with `NotFound`.
    pub spend_link: Option<SpentLink>,
    /// New data-subject requests.
    pub requests: Vec<RequestRow>,
    /// Requests moved on; each applies only if its request is still in the state it was
    /// read in, otherwise nothing is applied and the change fails with `Conflict`.
    pub request_moves: Vec<RequestMove>,
    /// Records kept for telling recipients of the data (Art. 19).
    pub recipient_updates: Vec<RecipientUpdate>,
    /// Suppression entries lifted: the person signs up again of their own accord.
    pub unsuppress: Vec<IndexDigest>,
    /// Sign-ups from public forms, held until a link sent to their address is followed.
    pub signups: Vec<SignupRow>,
    /// A sign-up one of whose links this change spends: once none of its links is left to
    /// follow, it goes, with its message.
    pub settle_signup: Option<Uuid>,
    /// Personalization changes, applied after the consent events: a level that rests on a
    /// consent given in the same commit sees it, and one dropped with a withdrawal falls
    /// in the commit that records it.
    pub personalization: Vec<ProfileChange>,
    /// Changes told to the integrations that subscribed to them (consent decisions and
    /// completed requests are noted by the store from the rows above).
    pub events: Vec<crate::EventNote>,
}

/// An erasure and what commits with it.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub id: Uuid,
    pub at: i64,
    /// The keyed hash of the person's address, so that a later import or form does not
    /// bring them back unasked.
    pub suppress: Option<IndexDigest>,
    /// The proof of each event of the customer's consent ledger, by event id, kept when the
    /// ledger goes.
    pub proofs: std::collections::HashMap<Uuid, crate::ConsentProof>,
    /// What commits with it: its audit entries, the request it answers, the notice to the
    /// person, the record for recipients.
    pub with: ChangeSet,
}

/// A POST's first answer, kept for replay under the hash of its caller-scoped key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRow {
    pub key_hash: [u8; 32],
    /// Hash of what was asked, so the same key with another request is refused.
    pub fingerprint: [u8; 32],
    pub customer_id: Uuid,
    /// Sealed with the customer's data key; empty once the customer was erased, when the
    /// key is kept only so that a retry cannot create them again.
    pub response: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}
