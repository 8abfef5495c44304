//! A customer's data key and the field seal. Sealed layout:
//! `format (1) || key version (4, BE) || nonce (12) || ciphertext || tag (16)`, with associated
//! data `"steward-field-v1" || customer id || key version || field key`: a value copied to
//! another customer or another field fails to open.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand::RngCore;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::VaultError;

const FORMAT: u8 = 1;
const KEY_VERSION: u32 = 1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;

/// Holds the expanded cipher; the `zeroize` feature of aes-gcm wipes it on drop. Not
/// `Clone`, and its `Debug` shows only whose key it is.
pub struct DataKey {
    customer: Uuid,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({}, <redacted>)", self.customer)
    }
}

fn aad(customer: &Uuid, version: u32, field: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + 16 + 4 + field.len());
    a.extend_from_slice(b"steward-field-v1");
    a.extend_from_slice(customer.as_bytes());
    a.extend_from_slice(&version.to_be_bytes());
    a.extend_from_slice(field.as_bytes());
    a
}

impl DataKey {
    pub(crate) fn new(customer: Uuid, raw: &Zeroizing<[u8; 32]>) -> DataKey {
        DataKey {
            customer,
            cipher: Aes256Gcm::new(raw.as_ref().into()),
        }
    }

    pub fn customer(&self) -> Uuid {
        self.customer
    }

    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + plaintext.len() + TAG);
        out.push(FORMAT);
        out.extend_from_slice(&KEY_VERSION.to_be_bytes());
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad(&self.customer, KEY_VERSION, field),
                &mut out[HEADER..],
            )
            // Only fails for messages longer than AES-GCM's 64 GiB limit.
            .unwrap_or_default();
        out.extend_from_slice(&tag);
        out
    }

    pub fn open(&self, field: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if sealed.len() < HEADER + TAG || sealed[0] != FORMAT {
            return Err(VaultError::Format);
        }
        let version = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        let nonce = Nonce::from_slice(&sealed[5..HEADER]);
        let (body, tag) = sealed[HEADER..].split_at(sealed.len() - HEADER - TAG);
        let mut plain = Zeroizing::new(body.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                nonce,
                &aad(&self.customer, version, field),
                &mut plain,
                Tag::from_slice(tag),
            )
            .map_err(|_| VaultError::Tampered)?;
        Ok(plain)
    }

    pub fn open_string(&self, field: &str, sealed: &[u8]) -> Result<String, VaultError> {
        let plain = self.open(field, sealed)?;
        String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Format)
    }
}
