//! Key wrapping under the master key's key-encryption keys. Associated data binds each wrapped
//! key to what it is for, so a customer's wrapped data key cannot be swapped onto another
//! customer and a secret cannot be read as another secret.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::VaultError;

const NONCE_LEN: usize = 12;

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

/// A fresh nonce for one wrap.
pub(crate) fn nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    nonce
}

/// A wrapped key as kept, whichever custody wrapped it: the nonce, then ciphertext and tag.
pub(crate) fn joined(version: u32, nonce: &[u8; NONCE_LEN], ct: &[u8]) -> WrappedKey {
    let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
    bytes.extend_from_slice(nonce);
    bytes.extend_from_slice(ct);
    WrappedKey {
        kek_version: version,
        bytes,
    }
}

/// The nonce and the ciphertext with its tag.
pub(crate) fn split(wrapped: &WrappedKey) -> Result<([u8; NONCE_LEN], &[u8]), VaultError> {
    let (nonce, ct) = wrapped
        .bytes
        .split_at_checked(NONCE_LEN)
        .ok_or(VaultError::Format)?;
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    Ok((n, ct))
}

/// An unwrapped key, which is 32 bytes or not a key of ours.
pub(crate) fn key_of(plain: &[u8]) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let mut out = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(VaultError::Format);
    }
    out.copy_from_slice(plain);
    Ok(out)
}

pub(crate) fn wrap(
    kek: &Aes256Gcm,
    version: u32,
    aad: &[u8],
    key: &[u8; 32],
) -> Result<WrappedKey, VaultError> {
    let nonce = nonce();
    let ct = kek
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: key, aad })
        .map_err(|_| VaultError::Format)?;
    Ok(joined(version, &nonce, &ct))
}

pub(crate) fn unwrap(
    kek: &Aes256Gcm,
    aad: &[u8],
    wrapped: &WrappedKey,
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let (nonce, ct) = split(wrapped)?;
    let plain = Zeroizing::new(
        kek.decrypt(Nonce::from_slice(&nonce), Payload { msg: ct, aad })
            .map_err(|_| VaultError::Tampered)?,
    );
    key_of(&plain)
}

pub(crate) fn kek_cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}
