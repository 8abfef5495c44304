//! The installation's Ed25519 signing keys: one signs audit checkpoints, another consent
//! receipts, so that neither can be passed off as the other.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier};
use zeroize::Zeroizing;

pub struct Signer {
    key: SigningKey,
}

impl Signer {
    pub(crate) fn from_seed(seed: &Zeroizing<[u8; 32]>) -> Signer {
        Signer {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A signer with a fresh random key, for a store that must sign audit heads but whose
    /// signatures nobody will check (tests of the store on its own).
    pub fn generate() -> Signer {
        Signer::from_seed(&crate::random_key())
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

impl steward_core::audit::HeadSigner for Signer {
    fn sign_head(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message)
    }

    fn verify_head(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify(message, signature)
    }
}
