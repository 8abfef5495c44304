//! The key-encryption keys, in one of two custodies: the master key file, or a PKCS#11
//! token (see `token.rs`), where they never leave the token.
//!
//! The master key file: one line per key-encryption-key version, `v<N>:<base64 key>`. The
//! highest version wraps new keys; older versions stay until every key they wrapped has been
//! rewrapped. The file is created with mode 0600 and refused if others may read it.
//!
//! A rotation appends a version and a retirement removes one, each by writing the whole file
//! anew beside it (mode 0600, synced) and renaming it over the old one, so that a crash at
//! any point leaves either the old file or the new one, never a file missing a version that
//! still wraps keys.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::token::{Token, TokenSettings};
use crate::wrapping::{WrappedKey, kek_cipher, unwrap, wrap};

pub struct MasterKey {
    keks: BTreeMap<u32, Kek>,
    current: u32,
    custody: Custody,
}

/// One version of the key-encryption key: a cipher in memory, or a key inside the token.
pub(crate) enum Kek {
    Cipher(Box<Aes256Gcm>),
    Token(cryptoki::object::ObjectHandle),
}

/// Where the versions are kept, and so where a rotation adds one and a retirement removes it.
#[derive(Clone)]
pub(crate) enum Custody {
    /// Given in memory; cannot rotate.
    Memory,
    File(PathBuf),
    Token(std::sync::Arc<Token>),
}

impl Custody {
    /// The custody as messages name it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Custody::Memory => "the keys given in memory".into(),
            Custody::File(path) => format!("the master key file {}", path.display()),
            Custody::Token(token) => format!(
                "the PKCS#11 token labelled {:?}",
                token.settings().token_label
            ),
        }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(current v{}, <redacted>)", self.current)
    }
}

fn derive_kek(master: &[u8; 32]) -> Aes256Gcm {
    // The file's bytes are never used directly as a cipher key: each use gets its own
    // derived key, so a future second use of the master key cannot collide with this one.
    let hk = Hkdf::<Sha256>::new(Some(b"steward"), master);
    let mut kek = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(b"key-encryption-key", kek.as_mut());
    kek_cipher(&kek)
}

impl MasterKey {
    pub fn from_versions(versions: Vec<(u32, [u8; 32])>) -> MasterKey {
        let mut keks = BTreeMap::new();
        for (v, mut k) in versions {
            keks.insert(v, Kek::Cipher(Box::new(derive_kek(&k))));
            zeroize::Zeroize::zeroize(&mut k);
        }
        let current = keks.keys().next_back().copied().unwrap_or(0);
        MasterKey {
            keks,
            current,
            custody: Custody::Memory,
        }
    }

    /// The versions held in a PKCS#11 token, generating version 1 there on first use.
    pub fn from_token(settings: &TokenSettings) -> Result<MasterKey, VaultError> {
        let token = Token::open(settings)?;
        let mut held = token.versions()?;
        if held.is_empty() {
            let (v, handle) = token.add_version(0)?;
            held.insert(v, handle);
        }
        let current = held.keys().next_back().copied().unwrap_or(0);
        Ok(MasterKey {
            keks: held
                .into_iter()
                .map(|(v, handle)| (v, Kek::Token(handle)))
                .collect(),
            current,
            custody: Custody::Token(std::sync::Arc::new(token)),
        })
    }

    /// Loads the master key file, creating it (mode 0600) with a fresh version 1 if absent.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, VaultError> {
        let fail = |reason: String| VaultError::MasterKey {
            path: path.display().to_string(),
            reason,
        };
        if !path.exists() {
            let mut key = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(key.as_mut());
            let line = Zeroizing::new(format!("v1:{}\n", STANDARD.encode(key.as_ref())));
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut file = opts.open(path).map_err(|e| fail(e.to_string()))?;
            file.write_all(line.as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            file.sync_all().map_err(|e| fail(e.to_string()))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| fail(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "mode is {:o}; it must be readable by its owner only (chmod 600)",
                    mode & 0o777
                )));
            }
        }
        let versions = read_versions(path)?;
        if versions.is_empty() {
            return Err(fail("holds no key".into()));
        }
        let mut master =
            MasterKey::from_versions(versions.into_iter().map(|(v, k, _)| (v, *k)).collect());
        master.custody = Custody::File(path.to_path_buf());
        Ok(master)
    }

    /// The versions loaded, oldest first.
    pub fn versions(&self) -> Vec<u32> {
        self.keks.keys().copied().collect()
    }

    pub(crate) fn custody(&self) -> &Custody {
        &self.custody
    }

    pub(crate) fn has(&self, version: u32) -> bool {
        self.keks.contains_key(&version)
    }

    /// Takes in a version written to the file; the highest becomes current.
    pub(crate) fn install(&mut self, version: u32, kek: Kek) {
        self.keks.insert(version, kek);
        self.current = self.current.max(version);
    }

    pub(crate) fn forget(&mut self, version: u32) {
        if version != self.current {
            self.keks.remove(&version);
        }
    }

    pub fn current_version(&self) -> u32 {
        self.current
    }

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, VaultError> {
        let version = self.current;
        match (self.kek(version)?, &self.custody) {
            (Kek::Cipher(c), _) => wrap(c, version, aad, key),
            (Kek::Token(handle), Custody::Token(token)) => token.wrap(*handle, version, aad, key),
            (Kek::Token(_), _) => Err(VaultError::UnknownKek(version)),
        }
    }

    fn unwrap(&self, aad: &[u8], w: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        match (self.kek(w.kek_version)?, &self.custody) {
            (Kek::Cipher(c), _) => unwrap(c, aad, w),
            (Kek::Token(handle), Custody::Token(token)) => token.unwrap(*handle, aad, w),
            (Kek::Token(_), _) => Err(VaultError::UnknownKek(w.kek_version)),
        }
    }

    fn kek(&self, version: u32) -> Result<&Kek, VaultError> {
        self.keks
            .get(&version)
            .ok_or(VaultError::UnknownKek(version))
    }

    fn dek_aad(customer: &Uuid) -> [u8; 30] {
        let mut aad = [0u8; 30];
        aad[..14].copy_from_slice(b"steward-dek-v1");
        aad[14..].copy_from_slice(customer.as_bytes());
        aad
    }

    pub(crate) fn wrap_data_key(
        &self,
        customer: &Uuid,
        key: &[u8; 32],
    ) -> Result<WrappedKey, VaultError> {
        self.wrap(&Self::dek_aad(customer), key)
    }

    pub(crate) fn unwrap_data_key(
        &self,
        customer: &Uuid,
        w: &WrappedKey,
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        self.unwrap(&Self::dek_aad(customer), w)
    }

    pub(crate) fn wrap_secret(&self, name: &str, key: &[u8; 32]) -> Result<WrappedKey, VaultError> {
        self.wrap(format!("steward-secret-v1:{name}").as_bytes(), key)
    }

    pub(crate) fn unwrap_secret(
        &self,
        name: &str,
        w: &WrappedKey,
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        self.unwrap(format!("steward-secret-v1:{name}").as_bytes(), w)
    }
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> VaultError {
    VaultError::MasterKey {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Every version in the file with its key and its line as written.
#[allow(clippy::type_complexity)]
fn read_versions(
    path: &Path,
) -> Result<Vec<(u32, Zeroizing<[u8; 32]>, Zeroizing<String>)>, VaultError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_error(path, e))?);
    let mut versions = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            file_error(
                path,
                format!("line {}: expected v<N>:<base64 of 32 bytes>", n + 1),
            )
        };
        let (v, b64) = line.split_once(':').ok_or_else(bad)?;
        let version: u32 = v
            .strip_prefix('v')
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let bytes = Zeroizing::new(STANDARD.decode(b64.trim()).map_err(|_| bad())?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(bad());
        }
        key.copy_from_slice(&bytes);
        versions.push((version, key, Zeroizing::new(line.to_string())));
    }
    Ok(versions)
}

/// Replaces the file with `lines`: written to a private file beside it, synced, renamed over
/// it and the directory synced, so the file is always whole, old or new.
fn replace_file(path: &Path, lines: &[Zeroizing<String>]) -> Result<(), VaultError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".master.key.{}", Uuid::now_v7()));
    let mut text = Zeroizing::new(String::new());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let write = || -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        file_error(path, e)
    })
}

/// Appends a fresh version (32 bytes from the operating system) to the file, numbered after
/// every version the file or memory knows; returns it with its cipher.
pub(crate) fn append_version(path: &Path, after: u32) -> Result<(u32, Kek), VaultError> {
    let existing = read_versions(path)?;
    let version = existing
        .iter()
        .map(|(v, _, _)| *v)
        .max()
        .unwrap_or(0)
        .max(after)
        .checked_add(1)
        .ok_or_else(|| file_error(path, "no version number is left"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    let mut lines: Vec<Zeroizing<String>> = existing.into_iter().map(|(_, _, l)| l).collect();
    lines.push(Zeroizing::new(format!(
        "v{version}:{}",
        STANDARD.encode(key.as_ref())
    )));
    replace_file(path, &lines)?;
    Ok((version, Kek::Cipher(Box::new(derive_kek(&key)))))
}

/// Removes a version's line from the file; the others stay as they were.
pub(crate) fn remove_version(path: &Path, version: u32) -> Result<(), VaultError> {
    let existing = read_versions(path)?;
    if !existing.iter().any(|(v, _, _)| *v == version) {
        return Ok(());
    }
    let lines: Vec<Zeroizing<String>> = existing
        .into_iter()
        .filter(|(v, _, _)| *v != version)
        .map(|(_, _, l)| l)
        .collect();
    if lines.is_empty() {
        return Err(file_error(
            path,
            "removing the last version would leave no key",
        ));
    }
    replace_file(path, &lines)
}

/// The versions in the file that memory lacks, with their ciphers, and the versions memory
/// holds that the file no longer has: what another process's rotation changed.
#[allow(clippy::type_complexity)]
pub(crate) fn file_changes(
    path: &Path,
    master: &MasterKey,
) -> Result<(Vec<(u32, Kek)>, Vec<u32>), VaultError> {
    let existing = read_versions(path)?;
    let added = existing
        .iter()
        .filter(|(v, _, _)| !master.has(*v))
        .map(|(v, k, _)| (*v, Kek::Cipher(Box::new(derive_kek(k)))))
        .collect();
    let gone = master
        .versions()
        .into_iter()
        .filter(|v| !existing.iter().any(|(e, _, _)| e == v))
        .collect();
    Ok((added, gone))
}

/// The versions in the token that memory lacks and those memory holds that the token no
/// longer has: what another instance's rotation or retirement changed.
#[allow(clippy::type_complexity)]
pub(crate) fn token_changes(
    token: &Token,
    master: &MasterKey,
) -> Result<(Vec<(u32, Kek)>, Vec<u32>), VaultError> {
    let held = token.versions()?;
    let added: Vec<(u32, Kek)> = held
        .iter()
        .filter(|(v, _)| !master.has(**v))
        .map(|(v, handle)| (*v, Kek::Token(*handle)))
        .collect();
    let gone: Vec<u32> = master
        .versions()
        .into_iter()
        .filter(|v| !held.contains_key(v))
        .collect();
    if !added.is_empty() || !gone.is_empty() {
        token.touch();
    }
    Ok((added, gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_file_is_private_and_reloads() {
        let dir = std::env::temp_dir().join(format!("steward-mk-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("master.key");
        let a = MasterKey::load_or_create(&path).expect("create");
        let b = MasterKey::load_or_create(&path).expect("load");
        let c = Uuid::now_v7();
        let w = a.wrap_data_key(&c, &[9; 32]).expect("wrap");
        assert_eq!(*b.unwrap_data_key(&c, &w).expect("unwrap"), [9; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(MasterKey::load_or_create(&path).is_err());
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
