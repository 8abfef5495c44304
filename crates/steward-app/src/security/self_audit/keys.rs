//! The keys on disk: how old the key-encryption key is, and who may read the master key
//! file and the data directory.

use std::path::Path;

use jiff::Timestamp;

use super::{Check, Checked, Cx, Outcome, Severity};
use crate::security::keys::custody::KekSource;
use crate::{AppError, Steward};

/// The data directory: the key folder's parent.
fn data_dir(app: &Steward) -> &Path {
    app.key_dir.parent().unwrap_or(&app.key_dir)
}

impl Steward {
    /// When the current key-encryption key came into use, as the key store records each
    /// version's life.
    pub(crate) async fn current_kek_created_at(&self) -> Result<Timestamp, AppError> {
        self.key_status()
            .await?
            .versions
            .iter()
            .find(|v| v.current)
            .map(|v| v.created_at)
            .ok_or_else(|| AppError::Setup("the key store knows no current key version".into()))
    }
}

pub(super) const KEK_AGE: Check = Check {
    id: "KEK_AGE",
    severity: Severity::Medium,
    fix: "Rotate the key-encryption key (steward keys rotate) so that no key stays in use past the policy.",
    run: kek_age,
};

fn kek_age<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let created = cx.app.current_kek_created_at().await?;
        let limit = created
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(cx.facts.kek_max_age)
            .map_err(|e| AppError::Setup(e.to_string()))?
            .timestamp();
        let age_days = (cx.now.as_second() - created.as_second()).max(0) / 86_400;
        let evidence = format!(
            "the current key-encryption key is {age_days} days old (since {}); the policy allows {:#}",
            created.strftime("%Y-%m-%d"),
            cx.facts.kek_max_age
        );
        Ok(if cx.now > limit {
            Outcome::fail(evidence, vec!["kek:current".into()])
        } else {
            Outcome::pass(evidence)
        })
    })
}

pub(super) const MASTER_KEY_PERMISSIONS: Check = Check {
    id: "MASTER_KEY_PERMISSIONS",
    severity: Severity::Critical,
    fix: "Make the master key file (or, with the keys in a token, its PIN file) readable by its owner only (chmod 600) and close the data directory to others (chmod 700).",
    run: master_key_permissions,
};

#[cfg(unix)]
fn mode(path: &Path) -> Result<u32, AppError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|source| AppError::File {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(unix)]
fn master_key_permissions<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        // With the keys in a token, its PIN is the secret a reader of the disk could take.
        let (key, what, target) = match &cx.app.kek {
            KekSource::File(path) => (path.clone(), "master key file", "file:keys/master.key"),
            KekSource::Token(token) => (
                token.pin_file.clone(),
                "PKCS#11 PIN file",
                "file:pkcs11_pin_file",
            ),
        };
        let dir = data_dir(cx.app).to_path_buf();
        let (key_mode, dir_mode) = (mode(&key)?, mode(&dir)?);
        let mut open = Vec::new();
        // Group or others may read the key: only its owner should.
        if key_mode & 0o077 != 0 {
            open.push(target.to_string());
        }
        if dir_mode & 0o007 != 0 {
            open.push("dir:data".to_string());
        }
        let evidence = format!("{what} mode {key_mode:04o}, data directory mode {dir_mode:04o}");
        Ok(if open.is_empty() {
            Outcome::pass(evidence)
        } else {
            Outcome::fail(evidence, open)
        })
    })
}

#[cfg(not(unix))]
fn master_key_permissions<'a>(_: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        Ok(Outcome::not_applicable(
            "file modes are checked on Unix only",
        ))
    })
}
