//! Staff accounts and API tokens. Passwords are hashed with Argon2id; tokens are random,
//! shown once, and stored only as SHA-256 digests (a token has 256 bits of entropy, so a
//! slow hash would add nothing but latency).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use rand::RngCore;
use sha2::{Digest, Sha256};
use steward_core::Role;
use steward_core::contact::Email;
use steward_store::{TokenRow, UserRow};
use uuid::Uuid;

use crate::services::Accounts;
use crate::services::Sessions;
use crate::{Actor, AppError, FieldError, Steward};

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");
pub const MIN_PASSWORD_CHARS: usize = 12;
const TOKEN_PREFIX: &str = "stw_";

pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password: String,
    pub purposes: Vec<String>,
}

pub struct CreatedUser {
    pub id: Uuid,
    /// For accounts that need a second factor: the authenticator enrolment URI, shown once.
    pub totp_uri: Option<String>,
}

pub struct Session {
    pub actor: Actor,
    pub token: String,
    pub expires_at: Timestamp,
}

pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub purposes: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.lines().any(|p| p == lower) {
        return Err("is one of the most common passwords".into());
    }
    Ok(())
}

/// A 20-character initial password from an unambiguous alphabet (about 115 bits).
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Roles whose accounts must sign in with a second factor.
pub fn requires_second_factor(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Dpo)
}

const SESSION_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(12);
/// A browser session unused for this long ends.
pub const SESSION_IDLE: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);
/// Last use is recorded at most this often, so a busy page is not a write per request.
const TOUCH_EVERY_MICROS: i64 = 60_000_000;
/// An API token's last use is recorded at most hourly: enough to find tokens left unused
/// for months, and at most one write per token per hour however busy the integration.
const TOKEN_TOUCH_EVERY_MICROS: i64 = 3_600_000_000;
/// Sessions are tokens with this name, issued only by sign-in.
pub(crate) const SESSION_NAME: &str = "session";

pub(crate) fn totp_binding(user: Uuid) -> String {
    format!("staff/{user}/totp")
}

fn otpauth_uri(email: &str, seed: &[u8]) -> String {
    let secret = totp_rs::Secret::Raw(seed.to_vec()).to_encoded().to_string();
    format!(
        "otpauth://totp/Steward:{email}?secret={secret}&issuer=Steward&algorithm=SHA1&digits=6&period=30"
    )
}

fn new_token() -> String {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret.as_ref()))
}

fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::Setup(format!("password hashing: {e}")))?
        .to_string())
}

/// A hash of a random password, so that an unknown account costs one Argon2 verification too.
pub(crate) fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(generate_password().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The actor of a token that is neither revoked nor expired at `now`; `None` for a dead one.
fn live_token_actor(row: &steward_store::TokenRow, now: i64) -> Option<Result<Actor, AppError>> {
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return None;
    }
    Some(
        row.role
            .parse::<Role>()
            .map(|role| token_actor(row, role))
            .map_err(|e| AppError::corrupt(e.to_string())),
    )
}

/// A session acts as the person who signed in, so the audit log names them; any other token
/// acts as itself.
fn token_actor(row: &steward_store::TokenRow, role: Role) -> Actor {
    let id = match row.created_by.strip_prefix("user:") {
        Some(_) if row.name == SESSION_NAME => row.created_by.clone(),
        _ => format!("token:{}", row.id),
    };
    Actor {
        id,
        role,
        purposes: row.purposes.clone(),
    }
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Steward {
    fn check_grants(&self, role: Role, purposes: &[String], errors: &mut Vec<FieldError>) {
        if role == Role::System {
            errors.push(FieldError::new("role", "is reserved for Steward itself"));
        }
        for (i, p) in purposes.iter().enumerate() {
            if self.catalog.purpose(p).is_none() {
                errors.push(FieldError::new(
                    format!("purposes[{i}]"),
                    format!("{p:?} is not in the catalog"),
                ));
            } else if !role.may_hold_purpose(p) {
                errors.push(FieldError::new(
                    format!("purposes[{i}]"),
                    format!("role {role} may not hold {p:?}"),
                ));
            }
        }
    }

    pub(crate) fn require_admin(actor: &Actor) -> Result<(), AppError> {
        if matches!(actor.role, Role::Admin | Role::System) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} may not manage accounts or tokens",
                actor.role
            )))
        }
    }

    pub(crate) async fn issue_session(
        &self,
        actor: &Actor,
    ) -> Result<(String, Timestamp), AppError> {
        let now = self.clock.now();
        let expires_at = now
            .checked_add(SESSION_LIFETIME)
            .map_err(|e| AppError::Setup(e.to_string()))?;
        let token = new_token();
        let id = Uuid::now_v7();
        let row = TokenRow {
            id,
            token_hash: token_hash(&token),
            name: SESSION_NAME.into(),
            role: actor.role.to_string(),
            purposes: actor.purposes.clone(),
            created_by: actor.id.clone(),
            created_at: now.as_microsecond(),
            expires_at: Some(expires_at.as_microsecond()),
            revoked_at: None,
            last_used_at: None,
        };
        let audit = self.record(
            actor,
            "login.success",
            None,
            vec![format!("token:{id}")],
            vec![],
            None,
        );
        self.store.create_token(&row, audit).await?;
        Ok((token, expires_at))
    }
}

impl Accounts<'_> {
    pub async fn add_user(&self, actor: &Actor, new: NewUser) -> Result<CreatedUser, AppError> {
        Steward::require_admin(actor)?;
        let mut errors = Vec::new();
        let email = Email::parse(&new.email)
            .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
            .ok();
        if let Err(m) = check_password(&new.password) {
            errors.push(FieldError::new("password", m));
        }
        self.app.check_grants(new.role, &new.purposes, &mut errors);
        let (Some(email), true) = (email, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let password_hash = hash_password(&new.password)?;
        let id = Uuid::now_v7();
        let (totp_secret, totp_uri) = if requires_second_factor(new.role) {
            let mut seed = zeroize::Zeroizing::new(vec![0u8; 20]);
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let sealed = self.app.vault.staff_key().seal(&totp_binding(id), &seed);
            (Some(sealed), Some(otpauth_uri(email.as_str(), &seed)))
        } else {
            (None, None)
        };
        let user = UserRow {
            id,
            email: email.as_str().to_string(),
            role: new.role.to_string(),
            purposes: new.purposes,
            password_hash,
            disabled: false,
            created_at: self.app.clock.now().as_microsecond(),
            totp_secret,
            failed_logins: 0,
            display_name: email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        let audit = self.app.record(
            actor,
            "user.create",
            None,
            vec![format!("user:{id}")],
            vec![],
            Some(format!("role={}", new.role)),
        );
        self.app.store.create_user(&user, audit).await?;
        Ok(CreatedUser { id, totp_uri })
    }

    /// Creates a token and returns its id and the token itself, which is not kept.
    pub async fn create_token(
        &self,
        actor: &Actor,
        new: NewToken,
    ) -> Result<(Uuid, String), AppError> {
        Steward::require_admin(actor)?;
        let mut errors = Vec::new();
        self.app.check_grants(new.role, &new.purposes, &mut errors);
        let now = self.app.clock.now();
        if new.expires_at.is_some_and(|e| e <= now) {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "name",
                "must be 1 to 100 characters, without control characters",
            ));
        } else if name == SESSION_NAME {
            // Console sessions are told apart by this name.
            errors.push(FieldError::new(
                "name",
                "is reserved for console sessions; choose another",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let token = new_token();
        let id = Uuid::now_v7();
        let row = TokenRow {
            id,
            token_hash: token_hash(&token),
            name: name.to_string(),
            role: new.role.to_string(),
            purposes: new.purposes,
            created_by: actor.id.clone(),
            created_at: now.as_microsecond(),
            expires_at: new.expires_at.map(|t| t.as_microsecond()),
            revoked_at: None,
            last_used_at: None,
        };
        let audit = self.app.record(
            actor,
            "token.create",
            None,
            vec![format!("token:{id}")],
            vec![],
            Some(format!("role={}", new.role)),
        );
        self.app.store.create_token(&row, audit).await?;
        Ok((id, token))
    }
}

impl Sessions<'_> {
    /// Ends the session (or revokes the token) the caller authenticated with.
    pub async fn logout(&self, token: &str) -> Result<(), AppError> {
        let row = self
            .app
            .store
            .find_token(&token_hash(token))
            .await?
            .ok_or(AppError::NotFound)?;
        let actor = Actor {
            id: row.created_by.clone(),
            role: row.role.parse().unwrap_or(Role::Auditor),
            purposes: vec![],
        };
        let audit = self.app.record(
            &actor,
            "logout",
            None,
            vec![format!("token:{}", row.id)],
            vec![],
            None,
        );
        self.app
            .store
            .revoke_token(row.id, self.app.clock.now().as_microsecond(), audit)
            .await?;
        self.app.tokens.forget_token(row.id);
        Ok(())
    }

    /// The actor a bearer token stands for, if it is known, unexpired and not revoked.
    pub async fn authenticate_token(&self, token: &str) -> Result<Actor, AppError> {
        let denied = || AppError::Forbidden("the token is not valid".into());
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(denied());
        }
        let hash = token_hash(token);
        let now = self.app.clock.now().as_microsecond();
        if let Some(actor) = self.app.tokens.get(&hash, now) {
            return Ok(actor);
        }
        let epoch = self.app.tokens.epoch();
        let row = self.app.store.find_token(&hash).await?.ok_or_else(denied)?;
        let actor = live_token_actor(&row, now).ok_or_else(denied)??;
        // Only a miss of the token cache comes here, so this is read at most every few
        // seconds per token, and written at most hourly.
        if row
            .last_used_at
            .is_none_or(|last| now.saturating_sub(last) >= TOKEN_TOUCH_EVERY_MICROS)
        {
            self.app.store.touch_token(row.id, now).await?;
        }
        self.app
            .tokens
            .put(hash, row.id, &actor, row.expires_at, now, epoch);
        Ok(actor)
    }

    /// Whether this instance answers recently verified tokens from its cache: always on
    /// SQLite; on PostgreSQL only while it hears the revocations other instances make.
    pub fn caching_tokens(&self) -> bool {
        self.app.tokens.is_on()
    }

    /// The staff member a browser session belongs to. Unlike API tokens, a session also ends
    /// after `SESSION_IDLE` without use; its last use is kept in the database, so every
    /// instance sharing it applies the same time-out.
    pub async fn resume(&self, token: &str) -> Result<Actor, AppError> {
        let denied = || AppError::Unauthenticated("your session has ended; sign in again".into());
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(denied());
        }
        let row = self
            .app
            .store
            .find_token(&token_hash(token))
            .await?
            .filter(|r| r.name == SESSION_NAME)
            .ok_or_else(denied)?;
        let now = self.app.clock.now().as_microsecond();
        let actor = live_token_actor(&row, now).ok_or_else(denied)??;
        let last = row.last_used_at.unwrap_or(row.created_at);
        if now.saturating_sub(last) > SESSION_IDLE.as_micros() as i64 {
            let audit = self.app.record(
                &actor,
                "logout.idle",
                None,
                vec![format!("token:{}", row.id)],
                vec![],
                None,
            );
            self.app.store.revoke_token(row.id, now, audit).await?;
            self.app.tokens.forget_token(row.id);
            return Err(denied());
        }
        if now.saturating_sub(last) >= TOUCH_EVERY_MICROS {
            self.app.store.touch_token(row.id, now).await?;
        }
        Ok(actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password("short").is_err());
        assert!(check_password("passwordpassword").is_err());
        assert!(check_password("correct horse battery").is_ok());
    }
}

/// A staff account as administrators see it: never its password hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub disabled: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// A token as administrators see it: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
    /// When it was last used, to the hour.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<Timestamp>,
}

impl Accounts<'_> {
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, AppError> {
        Steward::require_admin(actor)?;
        Ok(self
            .app
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| UserView {
                id: u.id,
                email: u.email,
                display_name: u.display_name,
                role: u.role,
                purposes: u.purposes,
                disabled: u.disabled,
                created_at: steward_core::clock::from_micros(u.created_at),
            })
            .collect())
    }

    /// The staff account with this id or email address.
    pub async fn find_user(&self, actor: &Actor, who: &str) -> Result<UserView, AppError> {
        Steward::require_admin(actor)?;
        let who = who.trim();
        let found = match Uuid::try_parse(who) {
            Ok(id) => self
                .app
                .accounts()
                .list_users(actor)
                .await?
                .into_iter()
                .find(|u| u.id == id),
            Err(_) => {
                let email = Email::parse(who).map_err(|_| {
                    AppError::invalid("user", "give the account's email address or id")
                })?;
                self.list_users(actor)
                    .await?
                    .into_iter()
                    .find(|u| u.email == email.as_str())
            }
        };
        found.ok_or(AppError::NotFound)
    }

    /// Gives a staff account a new generated password, returned this once and kept only as
    /// its hash. Whoever knew the old one may have signed in with it, so the account's
    /// sessions end; its count of failed sign-ins is cleared with the old password.
    pub async fn reset_password(&self, actor: &Actor, id: Uuid) -> Result<String, AppError> {
        Steward::require_admin(actor)?;
        let password = generate_password();
        let hash = hash_password(&password)?;
        let audit = self.app.record(
            actor,
            "user.password_reset",
            None,
            vec![format!("user:{id}")],
            vec![],
            None,
        );
        let found = self
            .app
            .store
            .set_password(id, &hash, self.app.clock.now().as_microsecond(), audit)
            .await?;
        self.app.tokens.forget_all();
        if found {
            Ok(password)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// Changes a staff member's role or disables the account.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: Uuid,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<(), AppError> {
        Steward::require_admin(actor)?;
        if role.is_none() && disabled.is_none() {
            return Err(AppError::invalid(
                "role",
                "give a role, disabled or a display name",
            ));
        }
        if role == Some(Role::System) {
            return Err(AppError::invalid("role", "is reserved for Steward itself"));
        }
        if actor.id == format!("user:{id}") && disabled == Some(true) {
            return Err(AppError::invalid(
                "disabled",
                "you cannot disable your own account",
            ));
        }
        let mut detail = Vec::new();
        if let Some(r) = role {
            detail.push(format!("role={r}"));
        }
        if let Some(d) = disabled {
            detail.push(format!("disabled={d}"));
        }
        let audit = self.app.record(
            actor,
            "user.update",
            None,
            vec![format!("user:{id}")],
            vec![],
            Some(detail.join(" ")),
        );
        let role_text = role.map(|r| r.to_string());
        let found = self
            .app
            .store
            .update_user(
                id,
                role_text.as_deref(),
                disabled,
                self.app.clock.now().as_microsecond(),
                audit,
            )
            .await?;
        // The store ended the account's sessions; no cached copy may outlive them.
        self.app.tokens.forget_all();
        if found {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// API tokens; console sessions, kept in the same table, are not tokens anyone manages.
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, AppError> {
        Steward::require_admin(actor)?;
        let at = steward_core::clock::from_micros;
        Ok(self
            .app
            .store
            .list_tokens()
            .await?
            .into_iter()
            .filter(|t| t.name != SESSION_NAME)
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                role: t.role,
                purposes: t.purposes,
                created_by: t.created_by,
                created_at: at(t.created_at),
                expires_at: t.expires_at.map(at),
                revoked_at: t.revoked_at.map(at),
                last_used_at: t.last_used_at.map(at),
            })
            .collect())
    }

    /// Gives a staff account a new second factor (TOTP) and returns its enrolment URI, shown
    /// this once. Accounts of roles that must have one get it when created; this enrols any
    /// other account, or replaces a lost authenticator.
    pub async fn enrol_second_factor(&self, actor: &Actor, id: Uuid) -> Result<String, AppError> {
        Steward::require_admin(actor)?;
        let user = self
            .app
            .store
            .list_users()
            .await?
            .into_iter()
            .find(|u| u.id == id)
            .ok_or(AppError::NotFound)?;
        let mut seed = zeroize::Zeroizing::new(vec![0u8; 20]);
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let sealed = self.app.vault.staff_key().seal(&totp_binding(id), &seed);
        let audit = self.app.record(
            actor,
            "user.totp_enrol",
            None,
            vec![format!("user:{id}")],
            vec![],
            None,
        );
        self.app
            .store
            .set_totp_secret(id, Some(&sealed), audit)
            .await?;
        Ok(otpauth_uri(&user.email, &seed))
    }

    pub async fn revoke_token(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        Steward::require_admin(actor)?;
        let audit = self.app.record(
            actor,
            "token.revoke",
            None,
            vec![format!("token:{id}")],
            vec![],
            None,
        );
        let found = self
            .app
            .store
            .revoke_token(id, self.app.clock.now().as_microsecond(), audit)
            .await?;
        self.app.tokens.forget_token(id);
        if found {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
