//! Staff accounts and tokens.

use uuid::Uuid;

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
    /// What the console shows for this staff member where they did something.
    pub display_name: String,
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
    /// When it was last used: at minute granularity for sessions (the idle time-out), hourly
    /// for API tokens (finding the ones left unused).
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

/// Sessions or tokens that just stopped being valid, as told to every instance sharing a
/// PostgreSQL database so that none keeps honouring them from its cache. Only ids: never a
/// token, an address or anything else personal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// One token or session, revoked or signed out.
    Token(Uuid),
    /// Every session of a staff account whose password was reset or that was changed or
    /// disabled.
    User(Uuid),
}

impl std::fmt::Display for Revoked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Revoked::Token(id) => write!(f, "token:{id}"),
            Revoked::User(id) => write!(f, "user:{id}"),
        }
    }
}

impl std::str::FromStr for Revoked {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (kind, id) = s.split_once(':').ok_or(())?;
        let id = Uuid::try_parse(id).map_err(|_| ())?;
        match kind {
            "token" => Ok(Revoked::Token(id)),
            "user" => Ok(Revoked::User(id)),
            _ => Err(()),
        }
    }
}

/// A source's failed sign-ins at one address: how many in a row, and the last one's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailures {
    pub failures: i64,
    pub last_at: i64,
}
