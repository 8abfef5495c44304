//! The Ed25519 key that signs audit checkpoints.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use zeroize::Zeroizing;

pub struct AuditSigner {
    key: SigningKey,
}

impl AuditSigner {
    pub(crate) fn from_seed(seed: &Zeroizing<[u8; 32]>) -> AuditSigner {
        AuditSigner {
            key: SigningKey::from_bytes(seed),
        }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verifying_key().verify(message, &sig).is_ok()
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}
