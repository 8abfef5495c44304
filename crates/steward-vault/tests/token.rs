//! The key-encryption key in a PKCS#11 token (SoftHSM2): keys are wrapped and unwrapped
//! inside the token, the token's key cannot be read out, rotation and retirement happen in
//! the token and reach every vault using it, and each bad setting is named.

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use steward_vault::testing::{MemorySecrets as MemSecrets, TestToken, fresh_token, module_path};
use steward_vault::{MasterKey, TokenSettings, Vault, VaultError};
use uuid::Uuid;

fn vault(token: &TestToken, secrets: &mut MemSecrets) -> Vault {
    Vault::unlock(
        MasterKey::from_token(&token.settings).expect("open the token"),
        secrets,
        &["email"],
    )
    .expect("unlock")
}

fn seal_and_open(a: &Vault, b: &Vault) {
    let customer = Uuid::now_v7();
    let (key, wrapped) = a.new_data_key(&customer).expect("new key");
    let sealed = key.seal("email", b"ada@example.com");
    let opened = b.open_data_key(&customer, &wrapped).expect("open key");
    assert_eq!(
        &*opened.open("email", &sealed).expect("open value"),
        b"ada@example.com"
    );
}

#[test]
fn keys_wrapped_in_the_token_open_only_with_it() {
    let token = fresh_token();
    let mut secrets = MemSecrets::default();
    let a = vault(&token, &mut secrets);
    assert!(a.kek_in_token());
    assert_eq!(a.kek_versions(), vec![1], "first use made version 1");
    // A second vault on the token opens what the first wrapped, and the secrets it kept.
    let b = vault(&token, &mut secrets);
    seal_and_open(&a, &b);
    assert_eq!(a.signer().public_key(), b.signer().public_key());

    let customer = Uuid::now_v7();
    let (_, wrapped) = a.new_data_key(&customer).expect("new key");
    // Bound to its customer, and to its bytes.
    assert!(matches!(
        a.open_data_key(&Uuid::now_v7(), &wrapped),
        Err(VaultError::Tampered)
    ));
    let mut flipped = wrapped.clone();
    let last = flipped.bytes.len() - 1;
    flipped.bytes[last] ^= 1;
    assert!(matches!(
        a.open_data_key(&customer, &flipped),
        Err(VaultError::Tampered)
    ));
    // Another token's version 1 is another key.
    let other = fresh_token();
    let c = Vault::unlock(
        MasterKey::from_token(&other.settings).expect("open"),
        &mut MemSecrets::default(),
        &["email"],
    )
    .expect("unlock");
    assert!(matches!(
        c.open_data_key(&customer, &wrapped),
        Err(VaultError::Tampered)
    ));
    // Nor does the installation's secrets open there.
    assert!(
        Vault::unlock(
            MasterKey::from_token(&other.settings).expect("open"),
            &mut secrets.clone(),
            &["email"],
        )
        .is_err()
    );
}

#[test]
fn the_token_keeps_its_key_to_itself() {
    let token = fresh_token();
    let _v = vault(&token, &mut MemSecrets::default());
    let m = cryptoki::context::Pkcs11::new(module_path()).expect("module");
    // The module is initialized by the vault already in this process.
    let _ = m.initialize(cryptoki::context::CInitializeArgs::new(
        cryptoki::context::CInitializeFlags::OS_LOCKING_OK,
    ));
    let slot = m
        .get_slots_with_initialized_token()
        .expect("slots")
        .into_iter()
        .find(|s| {
            m.get_token_info(*s)
                .is_ok_and(|i| i.label().trim_end() == token.settings.token_label)
        })
        .expect("the token's slot");
    let session = m.open_ro_session(slot).expect("session");
    let pin = std::fs::read_to_string(&token.settings.pin_file).expect("pin");
    let _ = session.login(UserType::User, Some(&AuthPin::from(pin.trim().to_string())));
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"steward-kek-v1".to_vec()),
        ])
        .expect("find");
    assert_eq!(keys.len(), 1);
    let attrs = session
        .get_attributes(
            keys[0],
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Value,
            ],
        )
        .expect("attributes");
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");
    assert!(
        !attrs.iter().any(|a| matches!(a, Attribute::Value(_))),
        "the key's bytes were read out: {attrs:?}"
    );
}

#[test]
fn rotation_and_retirement_happen_in_the_token_and_reach_every_vault() {
    let token = fresh_token();
    let mut secrets = MemSecrets::default();
    let a = vault(&token, &mut secrets);
    let b = vault(&token, &mut secrets);
    let customer = Uuid::now_v7();
    let (_, old) = a.new_data_key(&customer).expect("new key");
    assert_eq!(old.kek_version, 1);

    assert_eq!(a.rotate().expect("rotate"), 2);
    let (_, new) = a.new_data_key(&customer).expect("new key");
    assert_eq!(new.kek_version, 2);
    // The other vault learns of version 2 when it meets it, as after a rotation elsewhere.
    b.open_data_key(&customer, &new).expect("b opens version 2");
    assert_eq!(b.kek_versions(), vec![1, 2]);

    let moved = a.rewrap_data_key(&customer, &old).expect("rewrap");
    assert_eq!(moved.kek_version, 2);
    for (name, wrapped) in secrets.iter_mut() {
        *wrapped = a.rewrap_secret(name, wrapped).expect("rewrap secret");
    }
    a.retire(1).expect("retire");
    assert!(a.refresh().is_ok());
    assert!(b.refresh().expect("refresh"), "b saw version 1 go");
    assert_eq!(b.kek_versions(), vec![2]);
    for v in [&a, &b] {
        assert!(matches!(
            v.open_data_key(&customer, &old),
            Err(VaultError::UnknownKek(1))
        ));
        v.open_data_key(&customer, &moved)
            .expect("the moved key opens");
    }
    // A new vault on the token finds version 2 only.
    let c = vault(&token, &mut secrets);
    assert_eq!(c.kek_versions(), vec![2]);
    assert!(matches!(
        c.open_data_key(&customer, &old),
        Err(VaultError::UnknownKek(1))
    ));
}

fn refused(settings: &TokenSettings) -> VaultError {
    MasterKey::from_token(settings).expect_err("refused")
}

#[test]
fn each_bad_setting_is_named() {
    let token = fresh_token();
    let s = &token.settings;
    let e = refused(&TokenSettings {
        module: "/nowhere/libpkcs11.so".into(),
        ..s.clone()
    });
    assert!(
        e.to_string()
            .starts_with("pkcs11_module /nowhere/libpkcs11.so"),
        "{e}"
    );

    let e = refused(&TokenSettings {
        token_label: "no-such-token".into(),
        ..s.clone()
    });
    assert!(
        e.to_string()
            .starts_with("pkcs11_token_label no-such-token"),
        "{e}"
    );

    let missing = s.pin_file.with_file_name("missing");
    let e = refused(&TokenSettings {
        pin_file: missing.clone(),
        ..s.clone()
    });
    assert!(
        e.to_string()
            .starts_with(&format!("pkcs11_pin_file {}", missing.display())),
        "{e}"
    );

    // A wrong PIN, on a token no one in this process has logged in to yet.
    let fresh = fresh_token();
    let wrong = fresh.settings.pin_file.with_file_name("wrong");
    std::fs::write(&wrong, "not-the-pin\n").expect("write");
    let e = refused(&TokenSettings {
        pin_file: wrong.clone(),
        ..fresh.settings.clone()
    });
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("pkcs11_pin_file {}", wrong.display())),
        "{text}"
    );
    assert!(
        !text.contains("not-the-pin"),
        "the PIN is never repeated: {text}"
    );
}
