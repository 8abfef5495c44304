//! Key-encryption keys held in a PKCS#11 token (a hardware security module, or SoftHSM2):
//! each version is an AES-256 key generated inside the token, sensitive and never
//! extractable, labelled `steward-kek-v<N>`. Keys are wrapped and unwrapped by AES-GCM inside
//! the token, so no key-encryption key ever enters Steward's memory; the data keys it unwraps
//! do, as they must to seal and open fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::wrapping::{WrappedKey, joined, key_of, nonce, split};

const LABEL_PREFIX: &str = "steward-kek-v";
const TAG_BITS: u64 = 128;
/// How many times a rotation racing another instance's for the same version number tries
/// the next number.
const VERSION_RACES: usize = 5;

/// Where the token is and how to log in to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    /// The token vendor's PKCS#11 module (a shared library).
    pub module: PathBuf,
    /// The token's label: slot numbers may change from one start to the next (SoftHSM2
    /// assigns new ones), labels do not.
    pub token_label: String,
    /// A file holding the user PIN; one trailing line break is dropped.
    pub pin_file: PathBuf,
}

/// A logged-in token: the versions are looked up by label, each operation runs on a
/// session of its own from a small pool, as PKCS#11 allows one operation at a time per
/// session.
pub(crate) struct Token {
    settings: TokenSettings,
    module: Pkcs11,
    slot: Slot,
    idle: Mutex<Vec<Session>>,
    /// When this process last saw the versions in the token change: another process's
    /// rotation is dated by when this one first saw it, never earlier.
    changed_at: Mutex<SystemTime>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({:?})", self.settings.token_label)
    }
}

fn setting_error(
    setting: &'static str,
    value: &Path,
    reason: impl std::fmt::Display,
) -> VaultError {
    VaultError::Token {
        setting,
        value: value.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A module is initialized once per process and never finalized: finalizing would end the
/// sessions of every other user of the module in the process.
pub(crate) fn module(path: &Path) -> Result<Pkcs11, VaultError> {
    static MODULES: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let mut modules = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, m)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(m.clone());
    }
    let m = Pkcs11::new(path)
        .map_err(|e| setting_error("pkcs11_module", path, format!("cannot load it: {e}")))?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(setting_error(
                "pkcs11_module",
                path,
                format!("cannot initialize it: {e}"),
            ));
        }
    }
    modules.push((path.to_path_buf(), m.clone()));
    Ok(m)
}

/// The slot holding the initialized token labelled `label`.
pub(crate) fn find_slot(
    module: &Pkcs11,
    label: &str,
    module_path: &Path,
) -> Result<Slot, VaultError> {
    let slots = module.get_slots_with_initialized_token().map_err(|e| {
        setting_error(
            "pkcs11_module",
            module_path,
            format!("cannot list its slots: {e}"),
        )
    })?;
    for slot in slots {
        let Ok(info) = module.get_token_info(slot) else {
            continue;
        };
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(VaultError::Token {
        setting: "pkcs11_token_label",
        value: label.to_string(),
        reason: format!(
            "no initialized token with this label in {}",
            module_path.display()
        ),
    })
}

fn read_pin(path: &Path) -> Result<AuthPin, VaultError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| setting_error("pkcs11_pin_file", path, format!("cannot read it: {e}")))?,
    );
    let pin = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |p| p.strip_suffix('\r').unwrap_or(p));
    if pin.is_empty() {
        return Err(setting_error("pkcs11_pin_file", path, "it is empty"));
    }
    Ok(AuthPin::from(pin.to_string()))
}

fn version_of(label: &[u8]) -> Option<u32> {
    std::str::from_utf8(label)
        .ok()?
        .strip_prefix(LABEL_PREFIX)?
        .parse()
        .ok()
}

impl Token {
    /// Loads the module, finds the token by its label and logs in with the PIN.
    pub(crate) fn open(settings: &TokenSettings) -> Result<Token, VaultError> {
        let module = module(&settings.module)?;
        let slot = find_slot(&module, &settings.token_label, &settings.module)?;
        let pin = read_pin(&settings.pin_file)?;
        let session = module.open_rw_session(slot).map_err(|e| {
            setting_error(
                "pkcs11_module",
                &settings.module,
                format!("cannot open a session: {e}"),
            )
        })?;
        // Login is the application's, not the session's: another Steward in this process
        // may have logged in already.
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => {
                return Err(setting_error(
                    "pkcs11_pin_file",
                    &settings.pin_file,
                    format!("the token refused the PIN: {e}"),
                ));
            }
        }
        Ok(Token {
            settings: settings.clone(),
            module,
            slot,
            idle: Mutex::new(vec![session]),
            changed_at: Mutex::new(SystemTime::now()),
        })
    }

    pub(crate) fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    fn failed(&self, what: &str, e: Pkcs11Error) -> VaultError {
        VaultError::Token {
            setting: "pkcs11_token_label",
            value: self.settings.token_label.clone(),
            reason: format!("{what}: {e}"),
        }
    }

    /// Runs `f` on an idle session, opening one when none is idle.
    fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let taken = self.idle().pop();
        let session = match taken {
            Some(s) => s,
            None => self
                .module
                .open_rw_session(self.slot)
                .map_err(|e| self.failed("opening a session", e))?,
        };
        let out = f(&session);
        self.idle().push(session);
        out
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Session>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every version in the token, by its label.
    pub(crate) fn versions(&self) -> Result<BTreeMap<u32, ObjectHandle>, VaultError> {
        self.with_session(|s| {
            let found = s
                .find_objects(&[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                ])
                .map_err(|e| self.failed("listing its keys", e))?;
            let mut versions = BTreeMap::new();
            for handle in found {
                let attrs = s
                    .get_attributes(handle, &[AttributeType::Label])
                    .map_err(|e| self.failed("reading a key's label", e))?;
                for attr in attrs {
                    if let Attribute::Label(label) = attr
                        && let Some(v) = version_of(&label)
                    {
                        versions.insert(v, handle);
                    }
                }
            }
            Ok(versions)
        })
    }

    /// Generates the version after `after` (and after every version the token holds) inside
    /// the token. Two instances rotating at once may pick the same number: the later one
    /// finds two keys with its label, destroys its own and tries the next.
    pub(crate) fn add_version(&self, after: u32) -> Result<(u32, ObjectHandle), VaultError> {
        let mut after = after;
        for _ in 0..VERSION_RACES {
            let held = self.versions()?;
            let version = held
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(after)
                .checked_add(1)
                .ok_or_else(|| self.failed("rotating", Pkcs11Error::InvalidValue))?;
            let label = format!("{LABEL_PREFIX}{version}").into_bytes();
            let made = self.with_session(|s| {
                let handle = s
                    .generate_key(
                        &Mechanism::AesKeyGen,
                        &[
                            Attribute::Class(ObjectClass::SECRET_KEY),
                            Attribute::KeyType(KeyType::AES),
                            Attribute::ValueLen(32.into()),
                            Attribute::Token(true),
                            Attribute::Private(true),
                            Attribute::Sensitive(true),
                            Attribute::Extractable(false),
                            Attribute::Encrypt(true),
                            Attribute::Decrypt(true),
                            Attribute::Label(label.clone()),
                        ],
                    )
                    .map_err(|e| self.failed("generating a key", e))?;
                let same = s
                    .find_objects(&[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::Label(label.clone()),
                    ])
                    .map_err(|e| self.failed("listing its keys", e))?;
                if same.len() > 1 {
                    s.destroy_object(handle)
                        .map_err(|e| self.failed("destroying a key made twice", e))?;
                    return Ok(None);
                }
                Ok(Some(handle))
            })?;
            if let Some(handle) = made {
                self.touch();
                return Ok((version, handle));
            }
            after = version;
        }
        Err(self.failed("rotating", Pkcs11Error::InvalidValue))
    }

    /// Destroys a version's key in the token.
    pub(crate) fn remove_version(&self, version: u32) -> Result<(), VaultError> {
        let Some(handle) = self.versions()?.remove(&version) else {
            return Ok(());
        };
        self.with_session(|s| {
            s.destroy_object(handle)
                .map_err(|e| self.failed("destroying a retired key", e))
        })?;
        self.touch();
        Ok(())
    }

    pub(crate) fn touch(&self) {
        *self.changed_at.lock().unwrap_or_else(|e| e.into_inner()) = SystemTime::now();
    }

    pub(crate) fn changed_at(&self) -> SystemTime {
        *self.changed_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wraps `key` by the token's key `handle` (version `version`): the same layout as a key
    /// wrapped in memory, nonce then ciphertext then tag.
    pub(crate) fn wrap(
        &self,
        handle: ObjectHandle,
        version: u32,
        aad: &[u8],
        key: &[u8; 32],
    ) -> Result<WrappedKey, VaultError> {
        let nonce = nonce();
        let mut iv = nonce;
        let ct = self.with_session(|s| {
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())
                .map_err(|e| self.failed("wrapping a key", e))?;
            s.encrypt(&Mechanism::AesGcm(params), handle, key)
                .map_err(|e| self.unusable(version, "wrapping a key", e))
        })?;
        Ok(joined(version, &nonce, &ct))
    }

    pub(crate) fn unwrap(
        &self,
        handle: ObjectHandle,
        aad: &[u8],
        wrapped: &WrappedKey,
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let (mut iv, ct) = split(wrapped)?;
        let plain = Zeroizing::new(self.with_session(|s| {
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())
                .map_err(|e| self.failed("unwrapping a key", e))?;
            s.decrypt(&Mechanism::AesGcm(params), handle, ct)
                .map_err(|e| match e {
                    // A tag that does not verify: tokens answer one or the other.
                    Pkcs11Error::Pkcs11(
                        RvError::EncryptedDataInvalid | RvError::GeneralError,
                        _,
                    ) => VaultError::Tampered,
                    e => self.unusable(wrapped.kek_version, "unwrapping a key", e),
                })
        })?);
        key_of(&plain)
    }

    /// A key destroyed by another process's retirement is a version no longer held.
    fn unusable(&self, version: u32, what: &str, e: Pkcs11Error) -> VaultError {
        match e {
            Pkcs11Error::Pkcs11(RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid, _) => {
                VaultError::UnknownKek(version)
            }
            e => self.failed(what, e),
        }
    }
}
