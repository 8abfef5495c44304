//! Tokens of links that act for a customer. The token travels only in the email; Steward
//! keeps its SHA-256, so a copy of the database cannot be turned into working links.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub(crate) struct LinkToken {
    pub token: String,
    pub hash: [u8; 32],
}

impl LinkToken {
    pub(crate) fn new() -> LinkToken {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&token);
        LinkToken { token, hash }
    }
}

pub(crate) fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
