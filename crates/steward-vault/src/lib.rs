//! Keys and cryptography. The only crate that holds key bytes: key-encryption keys from the
//! master key file (or handles to them in a PKCS#11 token, which holds the bytes itself),
//! per-customer data keys, blind-index keys and the audit-signing key.
//! Every primitive comes from the RustCrypto and dalek crates; this crate only composes them.

mod blind_index;
mod data_key;
mod error;
mod master_key;
mod signing;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod webhook;
mod wrapping;

pub use blind_index::{BLIND_INDEX_LEN, BlindIndexer};
pub use data_key::DataKey;
pub use error::VaultError;
pub use master_key::MasterKey;
pub use signing::Signer;
pub use token::TokenSettings;
pub use webhook::WebhookSecret;
pub use wrapping::WrappedKey;

use master_key::{Custody, Kek};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Names of the installation-wide secrets kept (wrapped) in the key store.
pub const SECRET_BLIND_INDEX: &str = "blind-index-root";
pub const SECRET_AUDIT_SIGNING: &str = "audit-signing-ed25519";
pub const SECRET_RECEIPT_SIGNING: &str = "receipt-signing-ed25519";
pub const SECRET_SHARE_SIGNING: &str = "share-signing-ed25519";
pub const SECRET_STAFF: &str = "staff-secrets";
pub const SECRET_WEBHOOKS: &str = "webhook-secrets";
/// Every installation secret, as [`Vault::unlock`] asks for them.
pub const SECRETS: [&str; 6] = [
    SECRET_BLIND_INDEX,
    SECRET_AUDIT_SIGNING,
    SECRET_RECEIPT_SIGNING,
    SECRET_SHARE_SIGNING,
    SECRET_STAFF,
    SECRET_WEBHOOKS,
];

/// Where the vault finds and keeps its wrapped installation secrets: the key store, which
/// lives apart from the customer data.
pub trait SecretSource {
    fn load(&mut self, name: &str) -> Result<Option<WrappedKey>, VaultError>;
    fn save(&mut self, name: &str, key: &WrappedKey) -> Result<(), VaultError>;
}

pub struct Vault {
    /// Read on every unwrap (a shared lock, no allocation); written only when a rotation adds
    /// a version or a retirement drops one.
    master: std::sync::Arc<std::sync::RwLock<MasterKey>>,
    /// Serialises the changes to the versions' custody.
    rotation: std::sync::Mutex<()>,
    indexer: BlindIndexer,
    signer: std::sync::Arc<Signer>,
    receipts: Signer,
    shares: Signer,
    staff: DataKey,
    webhooks: DataKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("kek_version", &self.kek_version())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Unlocks the vault, creating the installation secrets on first use.
    pub fn unlock(
        master: MasterKey,
        secrets: &mut dyn SecretSource,
        searchable_fields: &[&str],
    ) -> Result<Vault, VaultError> {
        let mut secret = |name: &str| -> Result<Zeroizing<[u8; 32]>, VaultError> {
            match secrets.load(name)? {
                Some(w) => master.unwrap_secret(name, &w),
                None => {
                    let fresh = random_key();
                    secrets.save(name, &master.wrap_secret(name, &fresh)?)?;
                    Ok(fresh)
                }
            }
        };
        let index_root = secret(SECRET_BLIND_INDEX)?;
        let signing_seed = secret(SECRET_AUDIT_SIGNING)?;
        let receipt_seed = secret(SECRET_RECEIPT_SIGNING)?;
        // Documents handed to vendors are signed apart from receipts handed to customers, so
        // either key can be rotated or disclosed to its verifiers without touching the other.
        let share_seed = secret(SECRET_SHARE_SIGNING)?;
        let staff = secret(SECRET_STAFF)?;
        let webhooks = secret(SECRET_WEBHOOKS)?;
        Ok(Vault {
            // Staff second-factor secrets are sealed like customer fields, under a key of
            // their own, bound to the account they belong to.
            staff: DataKey::new(Uuid::nil(), &staff),
            // Vendors' webhook secrets likewise, each bound to its vendor by the label it is
            // sealed under.
            webhooks: DataKey::new(Uuid::nil(), &webhooks),
            indexer: BlindIndexer::new(&index_root, searchable_fields),
            signer: std::sync::Arc::new(Signer::from_seed(&signing_seed)),
            receipts: Signer::from_seed(&receipt_seed),
            shares: Signer::from_seed(&share_seed),
            master: std::sync::Arc::new(std::sync::RwLock::new(master)),
            rotation: std::sync::Mutex::new(()),
        })
    }

    /// A fresh data key for a new customer, and its wrapped form for the key store.
    pub fn new_data_key(&self, customer: &Uuid) -> Result<(DataKey, WrappedKey), VaultError> {
        let raw = random_key();
        let wrapped = self.master().wrap_data_key(customer, &raw)?;
        Ok((DataKey::new(*customer, &raw), wrapped))
    }

    pub fn open_data_key(
        &self,
        customer: &Uuid,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, VaultError> {
        // Bound first: the read lock must be let go before a refresh takes the write lock.
        let first = self.master().unwrap_data_key(customer, wrapped);
        let raw = match first {
            // Another process (the command line) rotated the file since this one read it.
            Err(VaultError::UnknownKek(_)) => {
                self.refresh()?;
                self.master().unwrap_data_key(customer, wrapped)?
            }
            other => other?,
        };
        Ok(DataKey::new(*customer, &raw))
    }

    fn master(&self) -> std::sync::RwLockReadGuard<'_, MasterKey> {
        self.master.read().unwrap_or_else(|e| e.into_inner())
    }

    fn master_mut(&self) -> std::sync::RwLockWriteGuard<'_, MasterKey> {
        self.master.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The custody of the versions, held for a change to them.
    fn custody_lock(&self) -> (std::sync::MutexGuard<'_, ()>, Custody) {
        let guard = self.rotation.lock().unwrap_or_else(|e| e.into_inner());
        let custody = self.master().custody().clone();
        (guard, custody)
    }

    /// Where the key-encryption keys are kept, as messages name it.
    pub fn kek_custody(&self) -> String {
        self.master().custody().describe()
    }

    /// What checks that the current key-encryption key still works, on a thread of its own
    /// if need be: it outlives this borrow.
    pub fn kek_probe(&self) -> KekProbe {
        KekProbe {
            master: std::sync::Arc::clone(&self.master),
        }
    }

    /// Whether the key-encryption keys are kept in a PKCS#11 token.
    pub fn kek_in_token(&self) -> bool {
        matches!(self.master().custody(), Custody::Token(_))
    }

    /// Adds a fresh key-encryption key to the custody (the master key file, or the token,
    /// which generates it) and makes it current: every key wrapped from now on is wrapped
    /// by it. Returns its version.
    pub fn rotate(&self) -> Result<u32, VaultError> {
        let (_guard, custody) = self.custody_lock();
        let after = self.kek_version();
        // The custody holds it before memory changes, so no key is ever wrapped by a version
        // the custody does not hold.
        let (version, kek) = match &custody {
            Custody::Token(token) => {
                let (version, handle) = token.add_version(after)?;
                (version, Kek::Token(handle))
            }
            Custody::File(path) => master_key::append_version(path, after)?,
            Custody::Memory => in_memory_cannot_change()?,
        };
        self.master_mut().install(version, kek);
        Ok(version)
    }

    /// Removes an old version from the custody and from memory, once no key is wrapped by
    /// it any more. The current version cannot be retired.
    pub fn retire(&self, version: u32) -> Result<(), VaultError> {
        let (_guard, custody) = self.custody_lock();
        if version >= self.kek_version() {
            return Err(VaultError::MasterKey {
                path: custody.describe(),
                reason: format!("version {version} is current and cannot be retired"),
            });
        }
        // Memory lets go first: a key wrapped from here on cannot use it.
        self.master_mut().forget(version);
        match &custody {
            Custody::Token(token) => token.remove_version(version),
            Custody::File(path) => master_key::remove_version(path, version),
            Custody::Memory => in_memory_cannot_change(),
        }
    }

    /// When the versions last changed (a rotation or a retirement): the master key file's
    /// last write, or when this process last saw the token's keys change.
    pub fn master_key_written_at(&self) -> Result<std::time::SystemTime, VaultError> {
        let (_guard, custody) = self.custody_lock();
        match &custody {
            Custody::Token(token) => Ok(token.changed_at()),
            Custody::File(path) => {
                std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .map_err(|e| VaultError::MasterKey {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
            }
            Custody::Memory => in_memory_cannot_change(),
        }
    }

    /// Takes in what another process changed in the custody: versions it added (the
    /// highest becomes current) and versions it retired. Returns whether anything changed.
    pub fn refresh(&self) -> Result<bool, VaultError> {
        let (_guard, custody) = self.custody_lock();
        let (added, gone) = match &custody {
            Custody::Token(token) => master_key::token_changes(token, &self.master())?,
            Custody::File(path) => master_key::file_changes(path, &self.master())?,
            Custody::Memory => in_memory_cannot_change()?,
        };
        if added.is_empty() && gone.is_empty() {
            return Ok(false);
        }
        let mut master = self.master_mut();
        for (v, kek) in added {
            master.install(v, kek);
        }
        for v in gone {
            master.forget(v);
        }
        Ok(true)
    }

    /// The versions in memory, oldest first; the last is current.
    pub fn kek_versions(&self) -> Vec<u32> {
        self.master().versions()
    }

    /// A customer's data key wrapped anew by the current version; the key itself is the same,
    /// so nothing sealed with it changes.
    pub fn rewrap_data_key(
        &self,
        customer: &Uuid,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, VaultError> {
        let master = self.master();
        let raw = master.unwrap_data_key(customer, wrapped)?;
        master.wrap_data_key(customer, &raw)
    }

    /// An installation secret wrapped anew by the current version.
    pub fn rewrap_secret(
        &self,
        name: &str,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, VaultError> {
        let master = self.master();
        let raw = master.unwrap_secret(name, wrapped)?;
        master.wrap_secret(name, &raw)
    }

    pub fn blind_index(
        &self,
        field: &str,
        normalised: &str,
    ) -> Result<[u8; BLIND_INDEX_LEN], VaultError> {
        self.indexer.digest(field, normalised)
    }

    /// The key that seals staff accounts' secrets (their TOTP seeds).
    pub fn staff_key(&self) -> &DataKey {
        &self.staff
    }

    /// The key that seals vendors' webhook signing secrets.
    pub fn webhook_key(&self) -> &DataKey {
        &self.webhooks
    }

    /// The key that signs consent receipts.
    pub fn receipt_signer(&self) -> &Signer {
        &self.receipts
    }

    /// The key that signs the documents shares deliver to vendors.
    pub fn share_signer(&self) -> &Signer {
        &self.shares
    }

    /// The key that signs the audit chain's heads, shared with the store that signs each
    /// head in the commit that made it.
    pub fn signer(&self) -> &std::sync::Arc<Signer> {
        &self.signer
    }

    pub fn kek_version(&self) -> u32 {
        self.master().current_version()
    }
}

/// A check that the current key-encryption key wraps and unwraps: a token that lost its key,
/// its session or its connection fails here before a customer's read fails on it.
pub struct KekProbe {
    master: std::sync::Arc<std::sync::RwLock<MasterKey>>,
}

impl KekProbe {
    /// Wraps a fresh random key by the current version and unwraps it again.
    pub fn check(&self) -> Result<(), VaultError> {
        const PROBE: &str = "readiness-probe";
        let master = self.master.read().unwrap_or_else(|e| e.into_inner());
        let key = random_key();
        let wrapped = master.wrap_secret(PROBE, &key)?;
        let back = master.unwrap_secret(PROBE, &wrapped)?;
        if *back != *key {
            return Err(VaultError::Tampered);
        }
        Ok(())
    }
}

fn in_memory_cannot_change<T>() -> Result<T, VaultError> {
    Err(VaultError::MasterKey {
        path: "(in memory)".into(),
        reason: "keys given in memory cannot be rotated".into(),
    })
}

/// Fresh key bytes from the thread's cryptographically secure generator (ChaCha, seeded and
/// periodically reseeded from the operating system): one system call per key would cost more
/// than sealing a whole customer.
fn random_key() -> Zeroizing<[u8; 32]> {
    use rand::RngCore;
    let mut k = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(k.as_mut());
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemorySecrets as MemSecrets;

    fn vault(secrets: &mut MemSecrets, master: &[u8; 32]) -> Vault {
        Vault::unlock(
            MasterKey::from_versions(vec![(1, *master)]),
            secrets,
            &["email"],
        )
        .expect("unlock")
    }

    #[test]
    fn secrets_persist_across_unlocks() {
        let mut s = MemSecrets::default();
        let a = vault(&mut s, &[7; 32]);
        let b = vault(&mut s, &[7; 32]);
        assert_eq!(
            a.blind_index("email", "x@y.z").ok(),
            b.blind_index("email", "x@y.z").ok()
        );
        assert_eq!(a.signer().public_key(), b.signer().public_key());
        assert_eq!(a.share_signer().public_key(), b.share_signer().public_key());
        let keys = [
            a.signer().public_key(),
            a.receipt_signer().public_key(),
            a.share_signer().public_key(),
        ];
        assert!(
            keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2],
            "each signature has a key of its own"
        );
        assert!(Vault::unlock(MasterKey::from_versions(vec![(1, [8; 32])]), &mut s, &[]).is_err());
    }

    #[test]
    fn values_are_bound_to_customer_and_field() {
        let mut s = MemSecrets::default();
        let v = vault(&mut s, &[1; 32]);
        let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
        let (k1, w1) = v.new_data_key(&c1).expect("key");
        let (k2, _) = v.new_data_key(&c2).expect("key");
        let sealed = k1.seal("email", b"ada@example.com");
        assert_eq!(
            k1.open("email", &sealed).expect("open").as_slice(),
            b"ada@example.com"
        );
        assert!(matches!(
            k1.open("phone", &sealed),
            Err(VaultError::Tampered)
        ));
        assert!(matches!(
            k2.open("email", &sealed),
            Err(VaultError::Tampered)
        ));
        // A wrapped key moved to another customer does not unwrap.
        assert!(v.open_data_key(&c2, &w1).is_err());
        let reopened = v.open_data_key(&c1, &w1).expect("unwrap");
        assert!(reopened.open("email", &sealed).is_ok());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(k1.open("email", &flipped).is_err());
    }

    #[test]
    fn blind_index_is_per_field_and_unknown_fields_are_refused() {
        let mut s = MemSecrets::default();
        let v = Vault::unlock(
            MasterKey::from_versions(vec![(1, [2; 32])]),
            &mut s,
            &["email", "phone"],
        )
        .expect("unlock");
        assert_ne!(
            v.blind_index("email", "+4930").ok(),
            v.blind_index("phone", "+4930").ok()
        );
        assert!(v.blind_index("notes", "x").is_err());
    }

    #[test]
    fn rotation_reaches_the_file_and_another_process_follows_it() {
        let dir = std::env::temp_dir().join(format!("steward-rot-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("master.key");
        let mut s = MemSecrets::default();
        let open = |s: &mut MemSecrets| {
            Vault::unlock(MasterKey::load_or_create(&path).expect("load"), s, &[]).expect("unlock")
        };
        let a = open(&mut s);
        let b = open(&mut s);
        let c = Uuid::now_v7();
        let (_, old) = a.new_data_key(&c).expect("key");
        assert_eq!(a.rotate().expect("rotate"), 2);
        let moved = a.rewrap_data_key(&c, &old).expect("rewrap");
        assert_eq!(moved.kek_version, 2);
        assert_eq!(b.kek_version(), 1);
        // The other process meets a version it has not loaded, and reads the file again.
        assert!(b.open_data_key(&c, &moved).is_ok());
        assert_eq!(b.kek_version(), 2);
        assert!(a.retire(2).is_err(), "the current version stays");
        a.retire(1).expect("retire");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("v1:") && text.contains("v2:"));
        assert!(matches!(
            a.open_data_key(&c, &old),
            Err(VaultError::UnknownKek(1))
        ));
        b.refresh().expect("refresh");
        assert_eq!(b.kek_versions(), [2]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(&dir).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file is left beside it");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn checkpoint_signatures_verify() {
        let mut s = MemSecrets::default();
        let v = vault(&mut s, &[3; 32]);
        let sig = v.signer().sign(b"head");
        assert!(v.signer().verify(b"head", &sig));
        assert!(!v.signer().verify(b"head2", &sig));
    }
}
