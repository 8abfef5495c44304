//! Settings, layered: built-in defaults, then `steward.toml` (or `--config`), then `STEWARD_*`
//! environment variables, then command-line flags. A bad or unknown setting stops start-up
//! with a message naming it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// The key store's own PostgreSQL database, shared by several instances.
    pub keystore_url: Option<String>,
    /// `keys/master.key` in the data directory when not given.
    pub master_key_file: Option<PathBuf>,
    /// The key-encryption keys in a PKCS#11 token instead of the master key file: the
    /// vendor's module, the token's label and a file holding the user PIN, all three.
    pub pkcs11_module: Option<PathBuf>,
    pub pkcs11_token_label: Option<String>,
    pub pkcs11_pin_file: Option<PathBuf>,
    pub listen: SocketAddr,
    /// A second listener serving every metric without a token, for the operator's own
    /// network; without it, counts of personal records need an auditor's or admin's token.
    pub metrics_listen: Option<SocketAddr>,
    /// Extra catalog files, added to the built-in catalog.
    pub catalog: Vec<PathBuf>,
    pub log: String,
    /// Rate limits on the HTTP edge; turned off only for load tests on loopback.
    pub rate_limit: bool,
    /// PEM certificate chain and private key: with both, `serve` speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The controller named in consent receipts.
    pub controller_name: String,
    pub controller_email: String,
    pub controller_address: String,
    pub jurisdiction: String,
    /// SMTP server for outgoing mail; without one, mail goes to `mail.log` in the data dir.
    pub smtp_url: Option<String>,
    /// The sender of outgoing mail.
    pub mail_from: String,
    /// Where customers reach this server; defaults to `http://` and the listen address.
    pub public_url: Option<String>,
    /// A PEM file of root certificates that webhooks to vendors trust beside the platform's.
    pub webhook_extra_roots: Option<PathBuf>,
    /// Notice summaries below this Flesch reading ease (0 to 100) are flagged as hard to read.
    pub readability_threshold: f64,
    /// Minutes between the server's retention sweeps; 0 leaves sweeping to
    /// `steward retention run`.
    pub retention_interval_minutes: u64,
    /// How the portal's access history names staff: `role` or `pseudonym`.
    pub portal_staff_shown_as: steward_app::StaffShownAs,
    /// How long after an erasure, rectification or restriction the vendors that received the
    /// customer's data must have been told (Art. 19), as an ISO 8601 period in days or less.
    pub recipient_notice_within: String,
    /// The breach response plan, prepared before anything happens: the response team, the
    /// supervisory authorities and the steps with their owners (`[breach_plan]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_plan: Option<steward_app::core::breach::BreachPlanInput>,
    /// How old the key-encryption key may grow before the security self-audit asks for a
    /// rotation, as an ISO 8601 period.
    pub kek_max_age: String,
    /// No longer used, as every commit signs the audit chain's head; accepted so that an
    /// older configuration still starts, with a warning that it can go.
    #[serde(default, skip_serializing)]
    pub audit_checkpoint_every: Option<i64>,
}

impl Settings {
    /// The token holding the key-encryption keys, when the three pkcs11 settings are given.
    pub fn kek_token(&self) -> anyhow::Result<Option<steward_app::TokenSettings>> {
        match (
            &self.pkcs11_module,
            &self.pkcs11_token_label,
            &self.pkcs11_pin_file,
        ) {
            (None, None, None) => Ok(None),
            (Some(module), Some(label), Some(pin_file)) => {
                if self.master_key_file.is_some() {
                    anyhow::bail!(
                        "invalid setting: master_key_file and pkcs11_module both say where the key-encryption keys are: keep one"
                    );
                }
                Ok(Some(steward_app::TokenSettings {
                    module: module.clone(),
                    token_label: label.clone(),
                    pin_file: pin_file.clone(),
                }))
            }
            (module, label, _) => {
                let missing = if module.is_none() {
                    "pkcs11_module"
                } else if label.is_none() {
                    "pkcs11_token_label"
                } else {
                    "pkcs11_pin_file"
                };
                anyhow::bail!(
                    "invalid setting: {missing}: pkcs11_module, pkcs11_token_label and pkcs11_pin_file are given together"
                )
            }
        }
    }

    /// The breach response plan, checked; a plan that does not hold together stops start-up
    /// naming the field at fault.
    pub fn breach_plan(&self) -> anyhow::Result<Option<steward_app::core::breach::BreachPlan>> {
        self.breach_plan
            .as_ref()
            .map(|input| {
                steward_app::core::breach::BreachPlan::parse(input).map_err(|e| {
                    anyhow::anyhow!("invalid setting: breach_plan.{}: {}", e.field, e.message)
                })
            })
            .transpose()
    }
}

impl Default for Settings {
    fn default() -> Self {
        let controller = steward_app::Controller::default();
        Settings {
            data_dir: PathBuf::from("steward-data"),
            database_url: None,
            keystore_url: None,
            master_key_file: None,
            pkcs11_module: None,
            pkcs11_token_label: None,
            pkcs11_pin_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            catalog: Vec::new(),
            log: "info".into(),
            rate_limit: true,
            tls_cert: None,
            tls_key: None,
            controller_name: controller.name,
            controller_email: controller.email,
            controller_address: controller.address,
            jurisdiction: controller.jurisdiction,
            smtp_url: None,
            mail_from: steward_app::MailSettings::default().from,
            public_url: None,
            webhook_extra_roots: None,
            readability_threshold: steward_app::READABLE_AT_LEAST,
            retention_interval_minutes: 60,
            portal_staff_shown_as: steward_app::StaffShownAs::Role,
            recipient_notice_within: "P30D".into(),
            breach_plan: None,
            kek_max_age: "P1Y".into(),
            audit_checkpoint_every: None,
        }
    }
}

const ENV_KEYS: [&str; 27] = [
    "data_dir",
    "database_url",
    "keystore_url",
    "master_key_file",
    "pkcs11_module",
    "pkcs11_token_label",
    "pkcs11_pin_file",
    "listen",
    "metrics_listen",
    "catalog",
    "log",
    "rate_limit",
    "tls_cert",
    "tls_key",
    "controller_name",
    "controller_email",
    "controller_address",
    "jurisdiction",
    "smtp_url",
    "mail_from",
    "public_url",
    "webhook_extra_roots",
    "readability_threshold",
    "retention_interval_minutes",
    "portal_staff_shown_as",
    "recipient_notice_within",
    "kek_max_age",
];

/// Settings that may carry a password (in a URL's user information), so that an operator may
/// keep them out of the environment: `STEWARD_<KEY>_FILE` names a file holding the value, as
/// container platforms mount secrets.
const SECRET_KEYS: [&str; 3] = ["database_url", "keystore_url", "smtp_url"];

/// The secret settings read from the files their `STEWARD_<KEY>_FILE` variables name, `var`
/// reading the environment. One trailing line break is dropped, since editors and `echo` add
/// one. No message repeats a value read: it may hold a password.
fn secrets_from_files(
    var: impl Fn(&str) -> Option<OsString>,
) -> anyhow::Result<BTreeMap<&'static str, String>> {
    let mut found = BTreeMap::new();
    for key in SECRET_KEYS {
        let name = format!("STEWARD_{}", key.to_uppercase());
        let file_var = format!("{name}_FILE");
        let Some(path) = var(&file_var).map(PathBuf::from) else {
            continue;
        };
        if var(&name).is_some() {
            anyhow::bail!("invalid setting: {name} and {file_var} are both given; keep one");
        }
        let read = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "invalid setting: {file_var}: cannot read {}: {e}",
                path.display()
            )
        })?;
        let value = read
            .strip_suffix('\n')
            .map_or(read.as_str(), |v| v.strip_suffix('\r').unwrap_or(v));
        if value.trim().is_empty() {
            anyhow::bail!("invalid setting: {file_var}: {} is empty", path.display());
        }
        found.insert(key, value.to_string());
    }
    Ok(found)
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keystore_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs11_module: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs11_token_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs11_pin_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

pub fn load(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    match config {
        Some(path) if !path.exists() => {
            anyhow::bail!("config file {} does not exist", path.display())
        }
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None => figment = figment.merge(Toml::file("steward.toml")),
    }
    figment = figment
        .merge(Env::prefixed("STEWARD_").only(&ENV_KEYS))
        .merge(Serialized::defaults(secrets_from_files(|name| {
            std::env::var_os(name)
        })?))
        .merge(Serialized::defaults(overrides));
    let settings: Settings = figment.extract().map_err(|e| {
        let mut msg = String::from("invalid setting: ");
        for (i, err) in e.into_iter().enumerate() {
            if i > 0 {
                msg.push_str("; ");
            }
            msg.push_str(&err.to_string());
        }
        anyhow::anyhow!(msg)
    })?;
    if let Some(url) = &settings.database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        anyhow::bail!(
            "invalid setting: database_url must be a postgres:// URL (SQLite is the default without one)"
        );
    }
    if let Some(url) = &settings.keystore_url {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            anyhow::bail!(
                "invalid setting: keystore_url must be a postgres:// URL (the key store file in the data directory is the default without one)"
            );
        }
        if settings.database_url.is_none() {
            anyhow::bail!(
                "invalid setting: keystore_url is for several instances sharing a PostgreSQL database: give database_url too"
            );
        }
    }
    if !(0.0..=100.0).contains(&settings.readability_threshold) {
        anyhow::bail!("invalid setting: readability_threshold must be between 0 and 100");
    }
    if settings.tls_cert.is_some() != settings.tls_key.is_some() {
        anyhow::bail!("invalid setting: tls_cert and tls_key must be given together");
    }
    settings.breach_plan()?;
    settings.kek_token()?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a Path)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_os_str().to_owned())
        }
    }

    #[test]
    fn a_secret_is_read_from_its_file_without_the_line_break_an_editor_adds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = dir.path().join("url");
        for (written, expected) in [
            (
                "postgres://steward:p%40ss@db/steward\n",
                "postgres://steward:p%40ss@db/steward",
            ),
            ("smtp://mail:25\r\n", "smtp://mail:25"),
            ("ends with a space \n\n", "ends with a space \n"),
        ] {
            std::fs::write(&url, written).expect("write");
            let read = secrets_from_files(env(&[("STEWARD_SMTP_URL_FILE", &url)])).expect("read");
            assert_eq!(read.get("smtp_url").map(String::as_str), Some(expected));
            assert_eq!(read.get("database_url"), None);
        }
    }

    #[test]
    fn a_secret_file_that_is_missing_empty_or_doubled_is_named_and_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing");
        let err = secrets_from_files(env(&[("STEWARD_DATABASE_URL_FILE", &missing)]))
            .expect_err("missing")
            .to_string();
        assert!(err.contains("STEWARD_DATABASE_URL_FILE"), "{err}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        let err = secrets_from_files(env(&[("STEWARD_DATABASE_URL_FILE", &empty)]))
            .expect_err("empty")
            .to_string();
        assert!(err.contains("is empty"), "{err}");

        let url = dir.path().join("url");
        std::fs::write(&url, "postgres://steward:s3cret@db/steward").expect("write");
        let err = secrets_from_files(env(&[
            ("STEWARD_DATABASE_URL_FILE", &url),
            ("STEWARD_DATABASE_URL", Path::new("postgres://other")),
        ]))
        .expect_err("both")
        .to_string();
        assert!(
            err.contains("STEWARD_DATABASE_URL and STEWARD_DATABASE_URL_FILE"),
            "{err}"
        );
        assert!(!err.contains("s3cret") && !err.contains("other"), "{err}");
    }
}
