//! Key wrapping under the master key's key-encryption keys. Associated data binds each wrapped
//! key to what it is for, so a customer's wrapped data key cannot be swapped onto another
//! customer and a secret cannot be read as another secret.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::VaultError;

pub(crate) const NONCE_LEN: usize = 12;

/// A key as the key store keeps it: encrypted under a versioned key-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_version: u32,
    /// nonce || ciphertext || tag
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WrappedKey(kek v{}, {} bytes)",
            self.kek_version,
            self.bytes.len()
        )
    }
}

pub(crate) fn wrap(
    kek: &Aes256Gcm,
    version: u32,
    aad: &[u8],
    key: &[u8; 32],
) -> Result<WrappedKey, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = kek
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: key, aad })
        .map_err(|_| VaultError::Format)?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&ct);
    Ok(WrappedKey {
        kek_version: version,
        bytes,
    })
}

pub(crate) fn unwrap(
    kek: &Aes256Gcm,
    aad: &[u8],
    wrapped: &WrappedKey,
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let (nonce, ct) = wrapped
        .bytes
        .split_at_checked(NONCE_LEN)
        .ok_or(VaultError::Format)?;
    let plain = Zeroizing::new(
        kek.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| VaultError::Tampered)?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(VaultError::Format);
    }
    out.copy_from_slice(&plain);
    Ok(out)
}

pub(crate) fn kek_cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}
