//! Segments, campaigns and the audiences they reach.

use uuid::Uuid;

/// Moves a campaign from one state to another (only if it is in `from`), adding to its
/// recipient count; otherwise the whole change fails with `Conflict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignStep {
    pub id: Uuid,
    pub from: String,
    pub to: String,
    pub at: i64,
    pub recipients: i64,
    /// Until when the sender holds a campaign left `sending`; none once it leaves that state.
    pub lease_until: Option<i64>,
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
    /// `draft`, `scheduled`, `sending` or `sent`.
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
    /// When a `scheduled` campaign is due, and who scheduled it.
    pub scheduled_at: Option<i64>,
    pub scheduled_by: Option<String>,
}

/// A test send of a campaign by one staff member, counted against their allowance: no more
/// than `limit` since `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSend {
    pub actor: String,
    pub campaign: Uuid,
    pub at: i64,
    pub since: i64,
    pub limit: i64,
}

/// What a campaign's messages did over time, counted per bucket of `width` microseconds:
/// each list holds (the bucket's start, how many), buckets with none left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignTimeline {
    pub queued: Vec<(i64, u64)>,
    pub delivered: Vec<(i64, u64)>,
    pub failed: Vec<(i64, u64)>,
    pub unsubscribed: Vec<(i64, u64)>,
}

/// How a campaign's messages fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub unsubscribed: u64,
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
    /// Leaves out customers whose objection to any of these purposes the desk upheld
    /// (Art. 21).
    pub objected_purposes: Vec<String>,
    /// Customers who hold each of these profile attributes, usable at their level.
    pub attributes: Vec<AttributeCondition>,
}

/// A customer holds an unexpired profile attribute `key` that their level lets a campaign
/// use (I8): a row whose minimum level is basic for a customer at basic or full, one whose
/// minimum is full only for a customer at full whose profiling consent is given and
/// unexpired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeCondition {
    pub key: String,
    /// The value the attribute must have. Values are sealed, so the store cannot compare
    /// them: the app does, on the members the store returns, after opening them.
    pub equals: Option<String>,
    /// A derived attribute counts only when computed by this version of its rule.
    pub rule_version: Option<u32>,
    pub now: i64,
    /// A profiling consent given before this counts no more (a material notice change).
    pub given_since: Option<i64>,
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
