//! Customer-level vocabulary that is not a personal value: status, tags, interaction kinds.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Active,
    /// GDPR Art. 18: kept, but used for nothing but storage and legal claims.
    Restricted,
    Closed,
}

impl CustomerStatus {
    pub const ALL: [CustomerStatus; 3] = [
        CustomerStatus::Active,
        CustomerStatus::Restricted,
        CustomerStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Restricted => "restricted",
            CustomerStatus::Closed => "closed",
        }
    }
}

impl FromStr for CustomerStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "must be one of active, restricted, closed".to_string())
    }
}

impl fmt::Display for CustomerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Note,
    Email,
    Call,
    Order,
    Ticket,
    WebVisit,
    /// A message sent to the customer on any channel (its channel and engagement are facets).
    Message,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 7] = [
        InteractionKind::Note,
        InteractionKind::Email,
        InteractionKind::Call,
        InteractionKind::Order,
        InteractionKind::Ticket,
        InteractionKind::WebVisit,
        InteractionKind::Message,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Note => "note",
            InteractionKind::Email => "email",
            InteractionKind::Call => "call",
            InteractionKind::Order => "order",
            InteractionKind::Ticket => "ticket",
            InteractionKind::WebVisit => "web_visit",
            InteractionKind::Message => "message",
        }
    }
}

impl FromStr for InteractionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                "must be one of note, email, call, order, ticket, web_visit, message".to_string()
            })
    }
}

pub const MAX_TAGS: usize = 32;
pub const MAX_SUMMARY: usize = 200;
pub const MAX_BODY: usize = 20_000;

/// Tags are operator vocabulary (`vip`, `b2b`), stored in clear for filtering, so they are
/// restricted to short slugs that cannot carry a personal value such as an email address.
pub fn parse_tag(raw: &str) -> Result<String, String> {
    let t = raw.trim().to_ascii_lowercase();
    let ok = (1..=40).contains(&t.len())
        && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(t)
    } else {
        Err("a tag is 1 to 40 letters, digits, '-' or '_', starting with a letter".into())
    }
}
