//! Tokens that a form must send back, so that a page from another site cannot post it on a
//! visitor's behalf: a random value also set as a cookie before sign-in, and after sign-in
//! one derived from the session's secret, which another site can neither read nor forge.

use sha2::{Digest, Sha256};

/// The form token of a signed-in session.
pub fn csrf_for(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"steward-console-csrf-v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Compares in time independent of where the values differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn random_value() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
