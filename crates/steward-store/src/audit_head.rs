//! The audit chain's head as the store keeps it: signed in every commit that appends, and
//! extended only from a head whose signature verifies. Someone who can write the database but
//! lacks the key can then neither move the head back to an unsigned one, nor append forged
//! entries under a head of their own, and have the next commit sign over their work. (Putting
//! back an older head that was signed is caught by the witness outside the database; see
//! `steward-app`'s `audit_witness`.)

use std::sync::{Arc, Mutex};

use steward_core::audit::{GENESIS, Hash, HeadSigner, SignedHead};

use crate::{Result, StoreError};

/// Signs heads, and remembers the last one it signed so that extending it needs no check.
pub struct HeadKeeper {
    signer: Arc<dyn HeadSigner>,
    last: Mutex<Option<(i64, Hash)>>,
}

/// The head as found in the database, before entries are appended after it.
pub(crate) struct FoundHead {
    pub seq: i64,
    pub hash: Hash,
    pub at: i64,
    pub signature: Option<Vec<u8>>,
}

fn refused(why: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "the audit log's head {why}; nothing is appended until the log is looked into (steward audit verify)"
    ))
}

impl HeadKeeper {
    pub fn new(signer: Arc<dyn HeadSigner>) -> HeadKeeper {
        HeadKeeper {
            signer,
            last: Mutex::new(None),
        }
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Option<(i64, Hash)>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses a head that entries must not be appended after: unsigned, or with a
    /// signature that does not verify.
    pub(crate) fn check(&self, found: &FoundHead) -> Result<()> {
        if found.seq == 0 && found.hash == GENESIS {
            return Ok(());
        }
        if *self.last() == Some((found.seq, found.hash)) {
            return Ok(());
        }
        let Some(signature) = &found.signature else {
            return Err(refused("is not signed"));
        };
        let head = SignedHead {
            seq: found.seq,
            head: found.hash,
            at: found.at,
            signature: signature.clone(),
        };
        if self.signer.verify_head(&head.message(), signature) {
            Ok(())
        } else {
            Err(refused("has a signature that does not verify"))
        }
    }

    /// Signs the head and remembers it. Should its commit fail, the head remembered is one
    /// the database never holds, which costs the next append a check of the signature.
    pub(crate) fn sign(&self, seq: i64, hash: Hash, at: i64) -> SignedHead {
        let signed = SignedHead::sign(seq, hash, at, self.signer.as_ref());
        *self.last() = Some((seq, hash));
        signed
    }
}
