//! Where the key-encryption keys are kept: the master key file, or a PKCS#11 token that
//! wraps and unwraps inside itself.

use std::path::{Path, PathBuf};

use steward_vault::{MasterKey, TokenSettings, VaultError};

pub(crate) enum KekSource {
    File(PathBuf),
    Token(TokenSettings),
}

impl KekSource {
    pub(crate) fn open(&self) -> Result<MasterKey, VaultError> {
        match self {
            KekSource::File(path) => MasterKey::load_or_create(path),
            KekSource::Token(settings) => MasterKey::from_token(settings),
        }
    }

    /// The master key file, when the keys are in one.
    pub(crate) fn file(&self) -> Option<&Path> {
        match self {
            KekSource::File(path) => Some(path),
            KekSource::Token(_) => None,
        }
    }

    /// The source as messages name it.
    pub(crate) fn describe(&self) -> String {
        match self {
            KekSource::File(path) => format!("the master key file {}", path.display()),
            KekSource::Token(t) => format!("the PKCS#11 token labelled {:?}", t.token_label),
        }
    }
}
