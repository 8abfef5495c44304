//! Keyed blind indexes for exact-match search: HMAC-SHA256 under a key derived for one field
//! alone, truncated to 16 bytes. Equal normalised inputs give equal digests; without the key
//! a digest reveals nothing and cannot be confirmed by guessing.

use std::collections::HashMap;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::VaultError;

pub const BLIND_INDEX_LEN: usize = 16;

pub struct BlindIndexer {
    keyed: HashMap<String, Hmac<Sha256>>,
}

impl BlindIndexer {
    pub(crate) fn new(root: &Zeroizing<[u8; 32]>, fields: &[&str]) -> BlindIndexer {
        let hk = Hkdf::<Sha256>::new(Some(b"steward-blind-index"), root.as_ref());
        let keyed = fields
            .iter()
            .map(|f| {
                let mut k = Zeroizing::new([0u8; 32]);
                let _ = hk.expand(f.as_bytes(), k.as_mut());
                // HMAC accepts keys of any length.
                let mac = <Hmac<Sha256> as Mac>::new_from_slice(k.as_ref())
                    .unwrap_or_else(|_| unreachable!());
                ((*f).to_string(), mac)
            })
            .collect();
        BlindIndexer { keyed }
    }

    pub fn digest(
        &self,
        field: &str,
        normalised: &str,
    ) -> Result<[u8; BLIND_INDEX_LEN], VaultError> {
        let mut mac = self
            .keyed
            .get(field)
            .ok_or_else(|| VaultError::NotSearchable(field.to_string()))?
            .clone();
        mac.update(normalised.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; BLIND_INDEX_LEN];
        out.copy_from_slice(&full[..BLIND_INDEX_LEN]);
        Ok(out)
    }
}
