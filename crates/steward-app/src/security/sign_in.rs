//! Staff sign-in, and the throttle that slows down whoever keeps failing at it.
//!
//! Failures are counted per address typed and per source (a client address), in the
//! database, so every instance sharing it slows the same source down: the source that fails
//! waits longer and longer (see `steward_core::login`), the owner signing in from elsewhere
//! does not, and no account is ever locked. While a source waits, only a correct password
//! together with a correct second factor gets through, so a wait cannot be used to test
//! passwords. Unknown addresses are counted and answered exactly like known ones. The
//! account's own count of consecutive failures, from every source, is kept too; at a few
//! thresholds its owner is mailed.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use steward_core::Role;
use steward_core::contact::Email;
use steward_core::login::{tell_owner_at, throttle_delay};
use steward_store::{ChangeSet, SignInFailures, UserRow};
use steward_vault::BLIND_INDEX_LEN;
use uuid::Uuid;

use crate::infra::mail::{Letter, SIGN_IN_ALERT};
use crate::security::accounts::{dummy_hash, requires_second_factor, totp_binding};
use crate::services::Sessions;
use crate::{Actor, AppError, Session, Steward};

/// A source's failures at an address are forgotten after a day without one.
const FORGET_AFTER_MICROS: i64 = 24 * 60 * 60 * 1_000_000;

/// The vault's key for the throttle's digests.
pub(crate) const THROTTLE: &str = "sign_in.throttle";

impl Steward {
    /// What failures are counted under: a keyed digest (the vault's blind index) of the
    /// address typed and the source, so the database holds neither, and without the key
    /// neither can be confirmed by guessing.
    fn throttle_key(
        &self,
        address: &str,
        source: Option<IpAddr>,
    ) -> Result<[u8; BLIND_INDEX_LEN], AppError> {
        let normalised = Email::parse(address)
            .map(|e| e.as_str().to_string())
            .unwrap_or_else(|_| address.trim().to_lowercase());
        let source = source.map(|s| s.to_string()).unwrap_or_default();
        Ok(self
            .vault
            .blind_index(THROTTLE, &format!("{normalised}\0{source}"))?)
    }
}

fn delay_after(run: SignInFailures) -> u64 {
    throttle_delay(u32::try_from(run.failures).unwrap_or(u32::MAX))
}

/// Seconds a source with this run of failures must still wait at `now`.
fn wait_left(run: SignInFailures, now: i64) -> Option<u64> {
    let until = run
        .last_at
        .saturating_add((delay_after(run) as i64).saturating_mul(1_000_000));
    let left = until.saturating_sub(now);
    (left > 0).then(|| (left as u64).div_ceil(1_000_000))
}

impl Steward {
    /// Counts a failure of the source at the address; returns the seconds it now waits.
    async fn source_failed(&self, key: &[u8], now: i64) -> Result<u64, AppError> {
        let stale_before = now.saturating_sub(FORGET_AFTER_MICROS);
        let run = self
            .store
            .count_sign_in_failure(key, now, stale_before)
            .await?;
        Ok(delay_after(run))
    }

    /// Forgets the failures no source waits for any more and that would start over at the
    /// next one anyway; returns how many.
    pub(crate) async fn forget_stale_sign_in_failures(&self) -> Result<u64, AppError> {
        let now = self.clock.now().as_microsecond();
        Ok(self
            .store
            .forget_sign_in_failures(now.saturating_sub(FORGET_AFTER_MICROS))
            .await?)
    }

    fn totp_matches(
        &self,
        user: Uuid,
        sealed: &[u8],
        code: &str,
        now: jiff::Timestamp,
    ) -> Result<bool, AppError> {
        let seed = self.vault.staff_key().open(&totp_binding(user), sealed)?;
        let checker = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, seed.to_vec())
            .map_err(|e| AppError::corrupt(format!("totp: {e}")))?;
        Ok(checker.check(code.trim(), now.as_second().max(0) as u64))
    }

    /// Counts the failure against the account (atomically, so parallel guesses each count),
    /// audits it, and at a few thresholds mails the owner in the same commit.
    async fn record_failed_login(
        &self,
        user: &UserRow,
        role: Role,
        delay: u64,
    ) -> Result<(), AppError> {
        let failed = self.store.record_login_failure(user.id).await?;
        let subject = format!("user:{}", user.id);
        let actor = Actor {
            id: subject.clone(),
            role,
            purposes: vec![],
        };
        let tell = tell_owner_at(failed) && !user.disabled;
        let detail = format!(
            "failures={failed} source_delay_seconds={delay}{}",
            if tell { " owner_told" } else { "" }
        );
        let mut changes = ChangeSet {
            audit: vec![self.record(
                &actor,
                "login.failed",
                None,
                vec![subject],
                vec![],
                Some(detail),
            )],
            ..Default::default()
        };
        if tell {
            let letter = Letter {
                to: user.email.clone(),
                subject: "Failed sign-ins to your Steward account".into(),
                text: format!(
                    "There have been {failed} failed attempts to sign in to your Steward account since you last signed in, the last at {} UTC.\n\n\
                     If that was you, nothing needs doing. If not, someone may be guessing your password: \
                     your account stays open to you, as only the source of the failures is slowed down, \
                     but consider changing your password and tell whoever runs Steward.\n",
                    self.clock.now().strftime("%Y-%m-%d %H:%M")
                ),
                unsubscribe: None,
            };
            changes.mail.push(
                self.own_key_letter(
                    Uuid::now_v7(),
                    SIGN_IN_ALERT,
                    &letter,
                    self.clock.now().as_microsecond(),
                )
                .await?,
            );
        }
        self.store.apply(changes).await?;
        if tell {
            self.mail_queued();
        }
        Ok(())
    }
}

impl Sessions<'_> {
    /// Signs a staff member in with password and, where required, a TOTP code, and returns a
    /// session token. `source` is the client's address, which failures are counted by. An
    /// unknown account costs the same work and gets the same answers as a wrong password,
    /// so neither timing nor answers tell who has an account; every failure of a known
    /// account is recorded in the audit log.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        totp: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<Session, AppError> {
        let user = match Email::parse(email) {
            Ok(e) => self.app.store.find_user_by_email(e.as_str()).await?,
            Err(_) => None,
        };
        let now = self.app.clock.now();
        let now_us = now.as_microsecond();
        let key = self.app.throttle_key(email, source)?;
        let run = self.app.store.sign_in_failures(&key).await?;
        let waiting = run.and_then(|r| wait_left(r, now_us));
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.as_str())
            .unwrap_or(dummy_hash());
        let parsed = PasswordHash::new(hash)
            .map_err(|e| AppError::corrupt(format!("password hash: {e}")))?;
        let password_ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        let denied = || AppError::Unauthenticated("wrong email, password or code".into());
        let Some(user) = user else {
            return Err(match waiting {
                Some(retry_after) => AppError::TooManyAttempts { retry_after },
                None => {
                    self.app.source_failed(&key, now_us).await?;
                    denied()
                }
            });
        };
        let role = user
            .role
            .parse::<Role>()
            .map_err(|e| AppError::corrupt(e.to_string()))?;
        let second_factor = match (&user.totp_secret, totp) {
            (Some(sealed), Some(code)) if password_ok => {
                Some(self.app.totp_matches(user.id, sealed, code, now)?)
            }
            _ => None,
        };
        if let Some(retry_after) = waiting {
            // A waiting source gets through only with both factors right, and learns nothing
            // from any other attempt, the password included. A wrong code after the right
            // password is the one try that could teach it something, so it counts as a
            // failure, waits longer and is audited like any other.
            if second_factor == Some(false) {
                let delay = self.app.source_failed(&key, now_us).await?;
                self.app.record_failed_login(&user, role, delay).await?;
                return Err(AppError::TooManyAttempts { retry_after: delay });
            }
            if second_factor != Some(true) || user.disabled {
                return Err(AppError::TooManyAttempts { retry_after });
            }
        }
        let signed_in = match (&user.totp_secret, password_ok) {
            (_, false) => false,
            (None, true) => !requires_second_factor(role),
            (Some(_), true) => match second_factor {
                None => {
                    return Err(AppError::Unauthenticated(
                        "a code from your authenticator app is required".into(),
                    ));
                }
                Some(ok) => ok,
            },
        };
        if !signed_in || user.disabled {
            let delay = self.app.source_failed(&key, now_us).await?;
            self.app.record_failed_login(&user, role, delay).await?;
            return Err(denied());
        }
        if run.is_some() {
            self.app.store.clear_sign_in_failures(&key).await?;
        }
        if user.failed_logins > 0 {
            self.app.store.reset_login_failures(user.id).await?;
        }
        let actor = Actor {
            id: format!("user:{}", user.id),
            role,
            purposes: user.purposes,
        };
        let (token, expires_at) = self.app.issue_session(&actor).await?;
        Ok(Session {
            actor,
            token,
            expires_at,
        })
    }
}
