//! Rows as the store reads and writes them. Personal values appear only sealed.

use uuid::Uuid;

pub type IndexDigest = [u8; 16];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    pub id: Uuid,
    pub residency: String,
    pub status: String,
    pub tags: Vec<String>,
    /// Encoded `SealedFields`.
    pub fields: Vec<u8>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub field: String,
    pub digest: IndexDigest,
    pub unique: bool,
}

/// A customer row with blind-index entries: all of them for a new customer, the new entries
/// of the replaced fields for an update.
#[derive(Debug, Clone)]
pub struct CustomerWrite {
    pub row: CustomerRow,
    pub index: Vec<IndexEntry>,
}

#[derive(Debug, Clone)]
pub struct CustomerUpdate {
    /// The new state; `row.version` is the new version.
    pub write: CustomerWrite,
    pub expected_version: i64,
    /// Searchable fields whose index entries are replaced by `write.index` (a field listed
    /// here with no new entry loses its entry).
    pub replaced_index_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub occurred_at: i64,
    /// Encoded `SealedFields` with `summary` and `body`.
    pub sealed: Vec<u8>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub inserts: Vec<CustomerWrite>,
    pub updates: Vec<CustomerUpdate>,
    pub interactions: Vec<InteractionRow>,
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
}

/// A sign-up from a public form, as held until its address is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupRow {
    pub id: Uuid,
    /// The form's key.
    pub form: String,
    pub created_at: i64,
    /// When its links stop working, and it goes.
    pub expires_at: i64,
    /// What was sent, sealed under the sign-up's own key.
    pub sealed: Vec<u8>,
}

/// A data-subject request as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub jurisdiction: String,
    /// Cleared when the customer is erased.
    pub customer_id: Option<Uuid>,
    /// A keyed hash standing for the subject: how duplicates are found, before and after
    /// erasure.
    pub subject: Vec<u8>,
    /// For an objection: the purpose objected to.
    pub purpose: Option<String>,
    pub received_at: i64,
    pub acknowledge_by: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub due_at: i64,
    pub verified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub extension_reason: Option<String>,
    pub denial_reason: Option<String>,
    pub updated_at: i64,
    /// A correction waiting for review: the proposed value, sealed with the customer's key
    /// (encoded `SealedFields` with one entry). Cleared when the request closes.
    pub proposal: Option<Vec<u8>>,
}

/// A request's new state, applied only if it is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMove {
    pub row: RequestRow,
    pub from: String,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only those not yet completed or denied, soonest due first (otherwise newest first).
    pub open_only: bool,
    pub due_before: Option<i64>,
    pub received_since: Option<i64>,
    pub customer: Option<Uuid>,
    pub subject: Option<Vec<u8>>,
    pub limit: usize,
}

/// One erasure, rectification or restriction, for the recipients of the data (Art. 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientUpdate {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `erasure`, `rectification`, `restriction` or `restriction_lifted`.
    pub kind: String,
    pub fields: Vec<String>,
    pub at: i64,
    pub notified_at: Option<i64>,
}

/// An erasure and what commits with it.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub id: Uuid,
    pub at: i64,
    /// The keyed hash of the person's address, so that a later import or form does not
    /// bring them back unasked.
    pub suppress: Option<IndexDigest>,
    /// What commits with it: its audit entries, the request it answers, the notice to the
    /// person, the record for recipients.
    pub with: ChangeSet,
}

/// Moves a campaign from one state to another (only if it is in `from`), adding to its
/// recipient count; otherwise the whole change fails with `Conflict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignStep {
    pub id: Uuid,
    pub from: String,
    pub to: String,
    pub at: i64,
    pub recipients: i64,
}

/// A message waiting in (or sent from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `confirmation`, `campaign`, ...
    pub kind: String,
    pub campaign_id: Option<Uuid>,
    /// The message, sealed with the customer's data key.
    pub sealed: Vec<u8>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What one attempt to deliver a message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Try again at the given time.
    Retry {
        at: i64,
    },
    /// Given up on.
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Failed => "failed",
        }
    }

    pub(crate) fn from_parts(s: &str, retry_at: Option<i64>) -> crate::Result<DeliveryOutcome> {
        match (s, retry_at) {
            ("sent", _) => Ok(DeliveryOutcome::Sent),
            ("retry", Some(at)) => Ok(DeliveryOutcome::Retry { at }),
            ("failed", _) => Ok(DeliveryOutcome::Failed),
            (other, _) => Err(crate::StoreError::Corrupt(format!(
                "delivery outcome {other:?}"
            ))),
        }
    }
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: Uuid,
    pub attempt: i64,
    pub at: i64,
    pub outcome: DeliveryOutcome,
    /// A status code or an error kind; never an address.
    pub detail: Option<String>,
}

/// A link, sent by email, that acts for a customer; kept under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLink {
    pub token_hash: [u8; 32],
    /// `confirm` or `unsubscribe`.
    pub kind: String,
    pub customer_id: Uuid,
    pub purpose: String,
    pub notice_version: Option<String>,
    /// How the consent the link confirms was first expressed.
    pub method: String,
    pub campaign_id: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Spends a single-use link at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentLink {
    pub token_hash: [u8; 32],
    pub at: i64,
}

/// A one-time portal sign-in code, kept as a hash and bound to the address it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalCode {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The keyed hash of the address.
    pub address: Vec<u8>,
    pub code_hash: [u8; 32],
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}

/// A code to issue, within a quota per address: at most `max_since` codes created at or
/// after `since`, and at most `max_failures` failed attempts on codes created since then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortalCode {
    pub code: PortalCode,
    pub since: i64,
    pub max_since: i64,
    pub failures_since: i64,
    pub max_failures: i64,
}

/// A signed-in portal session, kept under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub token_hash: [u8; 32],
    pub customer_id: Uuid,
    pub created_at: i64,
    pub last_used_at: i64,
    pub ended_at: Option<i64>,
}

/// What entering a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matched and is now spent; the session was opened.
    SignedIn,
    /// Wrong code; one attempt fewer left.
    Wrong,
    /// Spent, expired or out of attempts.
    Void,
}

/// A saved segment; its filter is the app's JSON, evaluated whenever the segment is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: Uuid,
    pub name: String,
    pub filter: String,
    pub created_by: String,
    pub created_at: i64,
}

/// An email campaign: what it says, for which purpose, to whom (the filter as it was when
/// the campaign was made), and how far sending got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    pub segment_id: Option<Uuid>,
    pub filter: String,
    pub subject: String,
    pub body: String,
    /// `draft`, `sending` or `sent`.
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
}

/// How a campaign's messages fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub unsubscribed: u64,
}

/// One event of the consent ledger, or (read from the current state) the latest one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub purpose: String,
    pub state: String,
    pub notice_version: Option<String>,
    pub method: String,
    /// JSON of hashed evidence (client address, user agent); never raw values.
    pub evidence: Option<String>,
    pub at: i64,
    pub expires_at: Option<i64>,
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

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub index: Option<(String, IndexDigest)>,
    pub tag: Option<String>,
    pub status: Option<String>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    pub residency: Option<String>,
    /// Cursor: return customers with ids after this one.
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// Which audit entries to return: those after `after_seq` (and before `before_seq`, when
/// given), oldest first unless `newest_first`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub after_seq: i64,
    pub before_seq: Option<i64>,
    pub newest_first: bool,
    pub limit: usize,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// An id that must be among the entry's targets.
    pub target: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// A version of the privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub id: Uuid,
    pub version: String,
    pub language: String,
    pub effective_at: i64,
    /// A material change: consent given under earlier versions must be asked for again.
    pub material: bool,
    /// The full text, Markdown.
    pub body: String,
    /// JSON: the plain-language summary of each purpose.
    pub summaries: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
}

/// A segment evaluated at one moment: every condition absolute. Conditions combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentQuery {
    /// Customers with every one of these tags.
    pub tags: Vec<String>,
    /// Customers resident in any of these countries.
    pub residency: Vec<String>,
    pub status: Option<String>,
    pub created: Span,
    pub updated: Span,
    /// When the customer's latest interaction happened; customers with none never match.
    pub last_interaction: Span,
    pub consent: Option<ConsentCondition>,
    /// Narrows to whom an audience for this purpose reaches now.
    pub audience: Option<AudienceOf>,
}

/// `from` inclusive, `until` exclusive, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// Where a customer stands on a purpose at `now`: `given` (and unexpired), `not_given`
/// (anything else, including never asked), or a recorded state: `requested`, `refused`,
/// `withdrawn`, `expired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCondition {
    pub purpose: String,
    pub state: String,
    pub now: i64,
    /// A consent given before this counts as expired (a material notice change since).
    pub given_since: Option<i64>,
}

/// Customers whose consent for `purpose` is given and unexpired at `now`, and whose
/// processing is not restricted or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceOf {
    pub purpose: String,
    pub now: i64,
    /// A consent given before this counts no more (a material notice change since).
    pub given_since: Option<i64>,
}

/// Counts behind the console's charts; no personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerStats {
    pub by_residency: Vec<(String, u64)>,
    /// New customers per day, as (days since 1970-01-01, count), oldest first.
    pub created_per_day: Vec<(i64, u64)>,
}

/// Consent counts for the dashboard: how many customers have each purpose in each state now,
/// and how many events of each state were recorded per day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentStats {
    /// (purpose, state, customers) from the current state, expiry not applied.
    pub current: Vec<(String, String, u64)>,
    /// (days since 1970-01-01, purpose, state, events).
    pub per_day: Vec<(i64, String, String, u64)>,
}

/// Audit entries counted per day, role, purpose and action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCount {
    /// Days since 1970-01-01.
    pub day: i64,
    pub role: String,
    pub purpose: Option<String>,
    pub action: String,
    pub count: u64,
}

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `days` in microseconds, saturating: a number of days from input never overflows.
pub fn days_in_micros(days: i64) -> i64 {
    days.saturating_mul(MICROS_PER_DAY)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    /// Sealed by the vault; `None` until the second factor is set up.
    pub totp_secret: Option<Vec<u8>>,
    /// Consecutive failed sign-ins since the last success, from every source.
    pub failed_logins: i64,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub token_hash: [u8; 32],
    pub name: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Sessions only: when it was last used (at minute granularity), for the idle time-out.
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportJob {
    pub fingerprint: String,
    pub byte_offset: u64,
    pub line: u64,
    pub imported: u64,
    pub rejected: u64,
    pub reject_len: u64,
    pub finished: bool,
    pub updated_at: i64,
}

/// The record id an audit target names, when it is one: `audit_targets` lists ids, and other
/// targets (`consent:...`, `mail:...`) are found by scanning.
pub(crate) fn target_id(target: &str) -> Option<Uuid> {
    (target.len() == 36)
        .then(|| Uuid::try_parse(target).ok())
        .flatten()
}

/// The record ids that entries name, as `(id, seq)` rows of `audit_targets`, from each
/// entry's sequence number and stored targets. In key order, so that each page of the list
/// is written once per pass.
pub(crate) fn listed_targets<'a>(
    entries: impl IntoIterator<Item = (i64, &'a str)>,
) -> crate::Result<Vec<(Uuid, i64)>> {
    let mut listed = Vec::new();
    for (seq, targets) in entries {
        listed.extend(
            from_json(targets)?
                .iter()
                .filter_map(|t| target_id(t))
                .map(|id| (id, seq)),
        );
    }
    listed.sort_unstable();
    Ok(listed)
}

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

/// An audit row as both engines read it, before its lists are parsed.
pub(crate) struct AuditRecordRaw {
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub purpose: Option<String>,
    pub targets: String,
    pub fields: String,
    pub detail: Option<String>,
}

impl AuditRecordRaw {
    pub(crate) fn into_entry(
        self,
        seq: i64,
        prev: &[u8],
        hash: &[u8],
    ) -> crate::Result<steward_core::audit::AuditEntry> {
        Ok(steward_core::audit::AuditEntry {
            seq,
            record: steward_core::audit::AuditRecord {
                at: self.at,
                actor: self.actor,
                role: self.role,
                action: self.action,
                purpose: self.purpose,
                targets: from_json(&self.targets)?,
                fields: from_json(&self.fields)?,
                detail: self.detail,
            },
            prev_hash: hash32(prev)?,
            hash: hash32(hash)?,
        })
    }
}

/// The layout of `customers.index_keys`: per entry, field length (1 byte), field, digest
/// (16 bytes) and whether it is unique (1 byte).
pub(crate) fn encode_index_keys(entries: &[IndexEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 24);
    for e in entries {
        let field = &e.field.as_bytes()[..e.field.len().min(255)];
        out.push(field.len() as u8);
        out.extend_from_slice(field);
        out.extend_from_slice(&e.digest);
        out.push(u8::from(e.unique));
    }
    out
}

pub(crate) fn decode_index_keys(mut bytes: &[u8]) -> crate::Result<Vec<IndexEntry>> {
    let bad = || crate::StoreError::Corrupt("index keys".into());
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let (field, rest) = rest.split_at_checked(len as usize).ok_or_else(bad)?;
        let (digest, rest) = rest.split_at_checked(16).ok_or_else(bad)?;
        let (&unique, rest) = rest.split_first().ok_or_else(bad)?;
        out.push(IndexEntry {
            field: std::str::from_utf8(field).map_err(|_| bad())?.to_string(),
            digest: digest.try_into().map_err(|_| bad())?,
            unique: unique == 1,
        });
        bytes = rest;
    }
    Ok(out)
}

/// The entries a customer has after an update that replaces the entries of `replaced` fields.
pub(crate) fn merge_index_keys(
    old: Vec<IndexEntry>,
    new: &[IndexEntry],
    replaced: &[String],
) -> (Vec<IndexEntry>, Vec<IndexEntry>) {
    let (removed, mut kept): (Vec<_>, Vec<_>) =
        old.into_iter().partition(|e| replaced.contains(&e.field));
    kept.extend_from_slice(new);
    (kept, removed)
}

/// A retention rule as kept: its written form, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub key: String,
    pub rule: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A legal hold: retention stops for one customer, or for a whole category (a record type
/// or a rule key), until it ends or is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    pub category: Option<String>,
    pub reason: String,
    pub owner: String,
    pub created_at: i64,
    pub ends_at: Option<i64>,
    pub released_at: Option<i64>,
}

/// A sweep, real or dry, and its report so far (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    pub id: Uuid,
    pub dry_run: bool,
    /// `running`, `finished` or `failed`.
    pub state: String,
    pub started_by: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
    pub report: String,
}

/// Which records a rule finds due: those whose anchor is at or before `cutoff` and that no
/// run has acted on, by id after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueQuery {
    pub rule_key: String,
    /// `customer`, `interaction` or `request`.
    pub record: String,
    pub anchor: String,
    pub kind: Option<String>,
    pub cutoff: i64,
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// A record a rule found, the customer it belongs to, and the instant its time counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundRecord {
    pub record_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
}

/// A record found due, with the instant it fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRecord {
    pub record_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
    pub due_at: i64,
}

/// What a run does with a page of due records, in one transaction: the action, its audit
/// entries, and the run's progress. A record another run acted on already is left alone, and
/// so is its audit entry; an erased customer's erasure is recorded for recipients (Art. 19).
#[derive(Debug, Clone)]
pub struct SweepBatch {
    pub run: RetentionRun,
    pub rule_key: String,
    pub record: String,
    pub action: String,
    pub records: Vec<DueRecord>,
    pub at: i64,
    /// For `anonymise`: the sealed content an interaction is left with.
    pub blank: Vec<u8>,
    /// Each entry with the records it speaks for: written only if one of them was acted on,
    /// and naming only those (an entry for no record is always written).
    pub audit: Vec<(Vec<Uuid>, steward_core::audit::AuditRecord)>,
}

/// One record a rule acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionAction {
    pub rule_key: String,
    pub record_id: Uuid,
    pub run_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
    pub due_at: i64,
    pub done_at: i64,
}
