//! The audit chain. Each entry's hash covers the previous entry's hash and every recorded
//! attribute of the entry, so a changed, removed or reordered entry breaks the chain from
//! that point on. Entries name fields, never values.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash the first entry chains from.
pub const GENESIS: Hash = [0u8; 32];

/// What an audit entry records about an action, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// Microseconds since the epoch.
    pub at: i64,
    /// `user:<id>`, `token:<id>` or `system:<job>`.
    pub actor: String,
    pub role: String,
    pub action: String,
    pub purpose: Option<String>,
    pub targets: Vec<String>,
    pub fields: Vec<String>,
    /// Non-personal detail such as a count or an outcome.
    pub detail: Option<String>,
}

/// An entry as stored: the record, its place and its links.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: Hash,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
}

mod hex_hash {
    pub fn serialize<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

mod hex_signature {
    pub fn serialize<S: serde::Serializer>(sig: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(sig))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        hex::decode(&text).map_err(serde::de::Error::custom)
    }
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The hash of the entry at `seq` that follows `prev`. Every variable-length part is
/// length-prefixed so that no two different entries share an encoding.
pub fn chain_hash(prev: &Hash, seq: i64, r: &AuditRecord) -> Hash {
    chain_hash_of(
        prev,
        seq,
        &RecordParts {
            at: r.at,
            actor: &r.actor,
            role: &r.role,
            action: &r.action,
            purpose: r.purpose.as_deref(),
            targets: &r.targets,
            fields: &r.fields,
            detail: r.detail.as_deref(),
        },
    )
}

/// A record's parts borrowed from wherever they are kept, so a walk over stored rows hashes
/// them without copying each into a record of its own.
pub struct RecordParts<'a, S: AsRef<str>> {
    pub at: i64,
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub purpose: Option<&'a str>,
    pub targets: &'a [S],
    pub fields: &'a [S],
    pub detail: Option<&'a str>,
}

/// [`chain_hash`] of a record's borrowed parts.
pub fn chain_hash_of<S: AsRef<str>>(prev: &Hash, seq: i64, r: &RecordParts<'_, S>) -> Hash {
    let mut h = Sha256::new();
    h.update(b"steward-audit-v1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(r.at.to_be_bytes());
    put(&mut h, r.actor.as_bytes());
    put(&mut h, r.role.as_bytes());
    put(&mut h, r.action.as_bytes());
    match r.purpose {
        Some(p) => {
            h.update([1]);
            put(&mut h, p.as_bytes());
        }
        None => h.update([0]),
    }
    h.update((r.targets.len() as u64).to_be_bytes());
    for t in r.targets {
        put(&mut h, t.as_ref().as_bytes());
    }
    h.update((r.fields.len() as u64).to_be_bytes());
    for f in r.fields {
        put(&mut h, f.as_ref().as_bytes());
    }
    match r.detail {
        Some(d) => {
            h.update([1]);
            put(&mut h, d.as_bytes());
        }
        None => h.update([0]),
    }
    h.finalize().into()
}

/// A stored entry's place in the chain: its links as stored, and the hash its stored
/// contents have now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    pub seq: i64,
    pub prev_hash: Hash,
    pub hash: Hash,
    /// [`chain_hash`] of the stored contents after the stored `prev_hash`.
    pub contents: Hash,
}

/// A signed statement that the chain held `seq` entries ending in `head` at time `at`
/// (microseconds). Every commit that appends entries signs one; a copy is also kept outside
/// the data database, so that a cut-off, rolled-back or recomputed chain cannot pass for the
/// one that was signed without the signing key.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedHead {
    pub seq: i64,
    #[serde(with = "hex_hash")]
    pub head: Hash,
    pub at: i64,
    #[serde(with = "hex_signature")]
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for SignedHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignedHead({} at {})", self.seq, hex::encode(self.head))
    }
}

impl SignedHead {
    /// Signs the head with `signer`.
    pub fn sign(seq: i64, head: Hash, at: i64, signer: &dyn HeadSigner) -> SignedHead {
        SignedHead {
            seq,
            head,
            at,
            signature: signer.sign_head(&head_message(seq, &head, at)).to_vec(),
        }
    }

    /// The bytes its signature covers.
    pub fn message(&self) -> Vec<u8> {
        head_message(self.seq, &self.head, self.at)
    }
}

/// Signs and checks audit heads; implemented by the vault, which alone holds the key.
pub trait HeadSigner: Send + Sync {
    fn sign_head(&self, message: &[u8]) -> [u8; 64];
    fn verify_head(&self, message: &[u8], signature: &[u8]) -> bool;
}

fn head_message(seq: i64, head: &Hash, at: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(21 + 8 + 32 + 8);
    m.extend_from_slice(b"steward-audit-head-v1");
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(head);
    m.extend_from_slice(&at.to_be_bytes());
    m
}

/// Where a chain walk found the first problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFault {
    /// The entry's stored hash is not the hash of its contents and predecessor.
    Altered { seq: i64 },
    /// The entry does not link to the entry before it, or a sequence number is skipped.
    Broken { seq: i64 },
}

/// Incremental verifier: feed entries in sequence order.
#[derive(Debug, Clone)]
pub struct ChainWalker {
    pub head: Hash,
    pub last_seq: i64,
    pub entries: u64,
}

impl Default for ChainWalker {
    fn default() -> Self {
        ChainWalker {
            head: GENESIS,
            last_seq: 0,
            entries: 0,
        }
    }
}

impl ChainWalker {
    pub fn feed(&mut self, e: &AuditEntry) -> Result<(), ChainFault> {
        self.feed_link(&ChainLink {
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            contents: chain_hash(&e.prev_hash, e.seq, &e.record),
        })
    }

    /// As [`ChainWalker::feed`], for an entry whose contents were hashed where it was read.
    pub fn feed_link(&mut self, l: &ChainLink) -> Result<(), ChainFault> {
        if l.seq != self.last_seq + 1 || l.prev_hash != self.head {
            return Err(ChainFault::Broken { seq: l.seq });
        }
        if l.contents != l.hash {
            return Err(ChainFault::Altered { seq: l.seq });
        }
        self.head = l.hash;
        self.last_seq = l.seq;
        self.entries += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            at: 1,
            actor: "user:1".into(),
            role: "agent".into(),
            action: action.into(),
            purpose: Some("essential.service".into()),
            targets: vec!["c1".into()],
            fields: vec!["email".into()],
            detail: None,
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let record = record(&format!("a{seq}"));
                let hash = chain_hash(&prev, seq, &record);
                let e = AuditEntry {
                    seq,
                    record,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry]) -> Result<(), ChainFault> {
        let mut w = ChainWalker::default();
        entries.iter().try_for_each(|e| w.feed(e))
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(walk(&chain(5)), Ok(()));
    }

    #[test]
    fn change_removal_and_reorder_are_detected() {
        let mut c = chain(5);
        c[2].record.fields.push("phone".into());
        assert_eq!(walk(&c), Err(ChainFault::Altered { seq: 3 }));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(walk(&c), Err(ChainFault::Broken { seq: 3 }));

        let mut c = chain(5);
        c.swap(1, 2);
        assert_eq!(walk(&c), Err(ChainFault::Broken { seq: 3 }));
    }

    #[test]
    fn purpose_none_and_empty_differ() {
        let mut a = record("x");
        a.purpose = None;
        let mut b = record("x");
        b.purpose = Some(String::new());
        assert_ne!(chain_hash(&GENESIS, 1, &a), chain_hash(&GENESIS, 1, &b));
    }
}
