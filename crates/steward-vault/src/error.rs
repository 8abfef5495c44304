#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Authentication failed: wrong key, or the value was moved to another customer or
    /// field, or altered.
    #[error(
        "a sealed value failed authentication: it was altered, or belongs to another customer or field"
    )]
    Tampered,
    #[error("the sealed value has an unknown format")]
    Format,
    #[error("key-encryption key version {0} is not in the master key file or token")]
    UnknownKek(u32),
    #[error("no blind index is configured for field {0:?}")]
    NotSearchable(String),
    #[error("master key file {path}: {reason}")]
    MasterKey { path: String, reason: String },
    /// The PKCS#11 token holding the key-encryption keys failed; `setting` names the
    /// setting to look at, `value` its value (never the PIN).
    #[error("{setting} {value}: {reason}")]
    Token {
        setting: &'static str,
        value: String,
        reason: String,
    },
    /// The key store failed; its own error is the source.
    #[error("key store: {0}")]
    KeyStore(#[source] Box<dyn std::error::Error + Send + Sync>),
}
