//! Keys: the key-encryption key's versions, their rotation and the rewrap that moves every
//! wrapped key onto the newest (`rotation.rs`), versions marked compromised, what each
//! version wraps, and the keys interrupted imports left behind (`orphans.rs`).
//!
//! The master key file or a PKCS#11 token holds the versions' key bytes (`custody.rs`); the
//! key store records each version's life (created, retired, compromised) beside the keys it
//! wraps.

pub(crate) mod cache;
pub(crate) mod custody;
pub(crate) mod orphans;
pub(crate) mod rotation;

use jiff::Timestamp;
use steward_core::Role;

use crate::services::Keys;
use crate::{Actor, AppError, FieldError, Steward};

pub use rotation::RewrapOutcome;

/// One key-encryption key version: its life and what it wraps now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KekVersion {
    pub version: u32,
    pub current: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub retired_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub compromised_at: Option<Timestamp>,
    pub compromised_reason: Option<String>,
    /// Customers' data keys it wraps.
    pub data_keys: u64,
    /// Installation secrets it wraps.
    pub secrets: u64,
}

/// The key-encryption keys as a whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyStatus {
    /// The version that wraps every new key.
    pub current: u32,
    /// Whole days since the current version was created.
    pub current_age_days: i64,
    /// Keys still wrapped by an older version: what the rewrap has left to move.
    pub pending_rewrap: u64,
    /// Oldest first.
    pub versions: Vec<KekVersion>,
}

/// A version marked compromised, and when: every key it wrapped must be taken as exposed to
/// whoever holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompromisedKek {
    pub version: u32,
    pub compromised_at: Timestamp,
    pub reason: String,
}

const REASON_MAX: usize = 2_000;

fn at(micros: i64) -> Result<Timestamp, AppError> {
    Timestamp::from_microsecond(micros).map_err(|e| AppError::Integrity(e.to_string()))
}

fn kek_target(version: u32) -> String {
    format!("kek:v{version}")
}

impl Steward {
    fn require_key_admin(actor: &Actor) -> Result<(), AppError> {
        if matches!(actor.role, Role::Admin | Role::System) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "role {} may not manage the key-encryption keys",
                actor.role
            )))
        }
    }

    /// Records in the key store the versions the master key file or token holds that it has
    /// not seen yet: a version first seen here (the file of an installation older than
    /// rotation) is dated by the file's last change, the nearest known time it was written.
    pub(crate) async fn record_kek_versions(&self) -> Result<(), AppError> {
        let written = self
            .kek
            .file()
            .and_then(|file| std::fs::metadata(file).and_then(|m| m.modified()).ok())
            .and_then(|t| Timestamp::try_from(t).ok())
            .unwrap_or_else(|| self.clock.now());
        let now = self.clock.now().min(written.max(Timestamp::UNIX_EPOCH));
        for v in self.vault.kek_versions() {
            self.keys
                .record_kek_version(v, now.as_microsecond())
                .await?;
        }
        Ok(())
    }

    /// With a shared key store, every instance must hold every version that still wraps
    /// keys: one started with another master key file would fail on every customer the
    /// others wrote, so it does not start.
    pub(crate) async fn refuse_missing_kek_versions(&self) -> Result<(), AppError> {
        if !self.keys.is_shared() {
            return Ok(());
        }
        let loaded = self.vault.kek_versions();
        let usage = self.keys.kek_usage().await?;
        for (version, used) in usage {
            if used.data_keys + used.secrets > 0 && !loaded.contains(&version) {
                return Err(AppError::Setup(format!(
                    "the key store holds keys wrapped by key-encryption key version {version}, which {} does not have: every instance needs the same key-encryption keys",
                    self.kek.describe()
                )));
            }
        }
        Ok(())
    }

    pub(crate) async fn key_status(&self) -> Result<KeyStatus, AppError> {
        let current = self.vault.kek_version();
        let mut usage = self.keys.kek_usage().await?;
        let mut versions = Vec::new();
        for row in self.keys.kek_versions().await? {
            let used = usage.remove(&row.version).unwrap_or_default();
            versions.push(KekVersion {
                version: row.version,
                current: row.version == current,
                created_at: at(row.created_at)?,
                retired_at: row.retired_at.map(at).transpose()?,
                compromised_at: row.compromised_at.map(at).transpose()?,
                compromised_reason: row.compromised_reason,
                data_keys: used.data_keys,
                secrets: used.secrets,
            });
        }
        // Keys wrapped by a version the key store never recorded are shown too: they are
        // exactly what an operator must see.
        for (version, used) in usage {
            versions.push(KekVersion {
                version,
                current: version == current,
                created_at: Timestamp::UNIX_EPOCH,
                retired_at: None,
                compromised_at: None,
                compromised_reason: None,
                data_keys: used.data_keys,
                secrets: used.secrets,
            });
        }
        versions.sort_by_key(|v| v.version);
        let created = versions
            .iter()
            .find(|v| v.current)
            .map(|v| v.created_at)
            .unwrap_or_else(|| self.clock.now());
        let age = self.clock.now().duration_since(created);
        Ok(KeyStatus {
            current,
            current_age_days: age.as_secs().max(0) / 86_400,
            pending_rewrap: versions
                .iter()
                .filter(|v| v.version < current)
                .map(|v| v.data_keys + v.secrets)
                .sum(),
            versions,
        })
    }
}

impl Keys<'_> {
    /// Every version with its dates and what it wraps, the current one and its age.
    pub async fn status(&self, actor: &Actor) -> Result<KeyStatus, AppError> {
        Steward::require_key_admin(actor)?;
        self.app.key_status().await
    }

    /// How long ago the current key-encryption key was created, for the self-audit's policy
    /// on key age. Names no one, so it asks for no actor.
    pub async fn current_kek_age(&self) -> Result<jiff::SignedDuration, AppError> {
        let status = self.app.key_status().await?;
        let created = status
            .versions
            .iter()
            .find(|v| v.current)
            .map(|v| v.created_at)
            .unwrap_or_else(|| self.app.clock.now());
        Ok(self.app.clock.now().duration_since(created))
    }

    /// The versions marked compromised and when, oldest first: a breach's scope may offer
    /// the encryption exemption (Art. 34(3)(a)) only when none of them wrapped the keys in
    /// question. Names no one, so it asks for no actor.
    pub async fn compromised_versions(&self) -> Result<Vec<CompromisedKek>, AppError> {
        let mut out = Vec::new();
        for row in self.app.keys.kek_versions().await? {
            if let Some(when) = row.compromised_at {
                out.push(CompromisedKek {
                    version: row.version,
                    compromised_at: at(when)?,
                    reason: row.compromised_reason.unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// Marks a version compromised with the reason: recorded in the key store and audited.
    /// A compromised current version is rotated away at once, so no new key is wrapped by
    /// it; the rewrap then moves every key off it and retires it.
    pub async fn mark_compromised(
        &self,
        actor: &Actor,
        version: u32,
        reason: &str,
    ) -> Result<KeyStatus, AppError> {
        Steward::require_key_admin(actor)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > REASON_MAX {
            return Err(AppError::Invalid(vec![FieldError::new(
                "reason",
                format!("say why the key is taken as exposed, in 1 to {REASON_MAX} characters"),
            )]));
        }
        let app = self.app;
        let now = app.clock.now();
        let row = app
            .keys
            .mark_kek_compromised(version, now.as_microsecond(), reason)
            .await?
            .ok_or(AppError::NotFound)?;
        app.append(vec![app.record(
            actor,
            "keys.compromised",
            None,
            vec![kek_target(version)],
            vec![],
            Some(format!(
                "marked compromised: {}",
                row.compromised_reason.as_deref().unwrap_or(reason)
            )),
        )])
        .await?;
        if version == app.vault.kek_version() {
            self.rotate_because(actor, "the current version was marked compromised")
                .await?;
        }
        app.key_status().await
    }
}
