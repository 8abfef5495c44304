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
    #[error("key-encryption key version {0} is not in the master key file")]
    UnknownKek(u32),
    #[error("no blind index is configured for field {0:?}")]
    NotSearchable(String),
    #[error("master key file {path}: {reason}")]
    MasterKey { path: String, reason: String },
    /// The key store failed; its own error is the source.
    #[error("key store: {0}")]
    KeyStore(#[source] Box<dyn std::error::Error + Send + Sync>),
}
