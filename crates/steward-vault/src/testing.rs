//! Test support: a fresh SoftHSM2 token for each test, in the token directory that the
//! configuration named by `SOFTHSM2_CONF` gives (the test command writes one). Without it,
//! token tests fail loudly rather than pass without having run. And the vault's own secrets
//! kept in memory, for tests that need no key file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::error::RvError;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use crate::token::{find_slot, module};
use crate::{SecretSource, TokenSettings, VaultError, WrappedKey};

/// The vault's wrapped secrets (blind-index and signing keys), kept in memory.
#[derive(Debug, Default, Clone)]
pub struct MemorySecrets(HashMap<String, WrappedKey>);

impl SecretSource for MemorySecrets {
    fn load(&mut self, name: &str) -> Result<Option<WrappedKey>, VaultError> {
        Ok(self.0.get(name).cloned())
    }
    fn save(&mut self, name: &str, key: &WrappedKey) -> Result<(), VaultError> {
        self.0.insert(name.into(), key.clone());
        Ok(())
    }
}

impl MemorySecrets {
    /// Each secret by name, to be wrapped again as a rotation would.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut WrappedKey)> {
        self.0.iter_mut()
    }
}

pub const CONF_ENV: &str = "SOFTHSM2_CONF";
/// Debian's SoftHSM2 module; `STEWARD_TEST_PKCS11_MODULE` names another.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const USER_PIN: &str = "steward-test-pin";
const SO_PIN: &str = "steward-test-so-pin";

/// A token made for one test, with its PIN file; the PIN file's directory goes when this
/// drops (the token stays in the run's token directory, which the test command removes).
pub struct TestToken {
    pub settings: TokenSettings,
    dir: PathBuf,
}

impl TestToken {
    /// Destroys every key the token holds, as someone with its PIN could: the keys an
    /// instance found at start-up are then gone under it.
    pub fn destroy_keys(&self) {
        let m = module(&self.settings.module).expect("module");
        let slot = find_slot(&m, &self.settings.token_label, &self.settings.module).expect("slot");
        let session = m.open_rw_session(slot).expect("session");
        match session.login(UserType::User, Some(&AuthPin::from(USER_PIN.to_string()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("login: {e}"),
        }
        let keys = session
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
            .expect("keys");
        assert!(!keys.is_empty(), "the token holds keys");
        for key in keys {
            session.destroy_object(key).expect("destroy");
        }
    }
}

impl Drop for TestToken {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn module_path() -> PathBuf {
    std::env::var_os("STEWARD_TEST_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SOFTHSM2_MODULE))
}

/// Initializes the module's free token under a fresh label, sets its user PIN and writes
/// the PIN to a private file.
pub fn fresh_token() -> TestToken {
    if std::env::var_os(CONF_ENV).is_none() {
        panic!(
            "{CONF_ENV} is not set: run the test suite with scripts/test, which sets up SoftHSM2"
        );
    }
    // One token at a time: each takes the module's one free slot.
    static INIT: Mutex<()> = Mutex::new(());
    let _one = INIT.lock().unwrap_or_else(|e| e.into_inner());
    let path = module_path();
    let m = module(&path).unwrap_or_else(|e| panic!("SoftHSM2: {e}"));
    let label = format!(
        "steward-{}",
        &uuid::Uuid::now_v7().simple().to_string()[16..]
    );
    let free = m
        .get_all_slots()
        .expect("slots")
        .into_iter()
        .find(|s| {
            m.get_token_info(*s)
                .is_ok_and(|info| !info.token_initialized())
        })
        .expect("SoftHSM2 offers a free slot");
    let so = AuthPin::from(SO_PIN.to_string());
    m.init_token(free, &so, &label).expect("init token");
    let session = m.open_rw_session(free).expect("session");
    session.login(UserType::So, Some(&so)).expect("SO login");
    session
        .init_pin(&AuthPin::from(USER_PIN.to_string()))
        .expect("init PIN");
    session.logout().expect("logout");
    drop(session);
    let dir = std::env::temp_dir().join(format!("steward-token-{label}"));
    std::fs::create_dir_all(&dir).expect("PIN dir");
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, format!("{USER_PIN}\n")).expect("PIN file");
    TestToken {
        settings: TokenSettings {
            module: path,
            token_label: label,
            pin_file,
        },
        dir,
    }
}
