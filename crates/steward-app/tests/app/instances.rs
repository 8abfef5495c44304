//! Several instances of one installation, each with its own empty data directory, sharing
//! the PostgreSQL data database, the key store database and the master key file.

use std::collections::HashMap;

use steward_app::core::Role;
use steward_app::{AppError, CustomerQuery, Steward};
use steward_store::KeyStore;
use steward_vault::{SecretSource, TokenSettings, Vault, VaultError, WrappedKey};
use uuid::Uuid;

use crate::support::*;

fn by_email(email: &str) -> CustomerQuery {
    CustomerQuery {
        email: Some(email.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_share_one_installation() {
    let cluster = Cluster::new().await;
    let (a, b, c) = tokio::join!(cluster.open(1), cluster.open(2), cluster.open(3));
    let made = a
        .customers()
        .create(&agent(&a), input("ada@example.com", "Ada"))
        .await
        .expect("create on the first");
    let read = b
        .customers()
        .get(&agent(&b), made.id)
        .await
        .expect("read on the second");
    assert_eq!(
        read.fields.get("given_name").map(String::as_str),
        Some("Ada")
    );
    // The blind index is the same on every instance, so a search finds it anywhere.
    let found = c
        .customers()
        .list(&agent(&c), by_email("ada@example.com"))
        .await
        .expect("search on the third");
    assert_eq!(found.items.len(), 1);
    c.customers()
        .create(&agent(&c), input("bo@example.com", "Bo"))
        .await
        .expect("create on the third");
    // One chain, written by three instances with one signing key.
    for app in [&a, &b, &c] {
        let report = app.audit().verify().await.expect("verify");
        assert!(report.ok, "{report:?}");
    }
}

/// Another instance witnesses heads while this one verifies: a head witnessed after this
/// verification read the database's is newer, not a rollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_another_instance_witnesses_during_a_verification_is_no_rollback() {
    let cluster = Cluster::new().await;
    let a = cluster.open(1).await;
    let b = cluster.open(2).await;
    let writing = async {
        for i in 0..40 {
            b.customers()
                .create(&agent(&b), input(&format!("w{i}@example.com"), "Wit"))
                .await
                .expect("create on the second");
            b.audit()
                .witness(false)
                .await
                .expect("witness on the second");
        }
    };
    let verifying = async {
        let mut reports = Vec::new();
        for _ in 0..40 {
            reports.push(a.audit().verify().await.expect("verify on the first"));
            tokio::task::yield_now().await;
        }
        reports
    };
    let ((), reports) = tokio::join!(writing, verifying);
    for report in reports {
        assert!(report.ok, "{report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_on_one_instance_is_final_on_the_others_at_once() {
    let cluster = Cluster::new().await;
    let a = cluster.open(1).await;
    let b = cluster.open(2).await;
    let made = a
        .customers()
        .create(&agent(&a), input("gone@example.com", "Gus"))
        .await
        .expect("create");
    b.customers()
        .get(&agent(&b), made.id)
        .await
        .expect("read on the other before");
    a.rights()
        .erase(&dpo(&a), made.id)
        .await
        .expect("erase on the first");
    assert!(matches!(
        b.customers().get(&agent(&b), made.id).await,
        Err(AppError::NotFound)
    ));
    let search = b
        .customers()
        .list(&agent(&b), by_email("gone@example.com"))
        .await
        .expect("search");
    assert!(search.items.is_empty());
}

/// The installation's secrets from the key store, for a vault of the test's own.
struct Loaded(HashMap<String, WrappedKey>);

impl SecretSource for Loaded {
    fn load(&mut self, name: &str) -> Result<Option<WrappedKey>, VaultError> {
        Ok(self.0.get(name).cloned())
    }
    fn save(&mut self, _: &str, _: &WrappedKey) -> Result<(), VaultError> {
        Err(VaultError::Format)
    }
}

async fn vault(cluster: &Cluster) -> Vault {
    let keys = KeyStore::connect(&cluster.keys.url)
        .await
        .expect("key store");
    let mut found = HashMap::new();
    for name in steward_vault::SECRETS {
        let k = keys.secret(name).await.expect("secret").expect("stored");
        found.insert(
            name.to_string(),
            WrappedKey {
                kek_version: k.kek_version,
                bytes: k.bytes,
            },
        );
    }
    Vault::unlock(cluster.master_key(), &mut Loaded(found), &[]).expect("unlock")
}

/// I5 on the shared key store: PostgreSQL keeps deleted rows in its files and backups, so a
/// copy of the key store taken before an erasure still holds the erased customer's wrapped
/// key. Once the key-encryption key that wrapped it is retired, that copy opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_taken_before_an_erasure_opens_nothing_once_its_kek_is_retired() {
    copy_before_erasure(Cluster::new().await).await;
}

/// The same with the key-encryption keys in a token: retiring destroys the version inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_taken_before_an_erasure_opens_nothing_once_its_kek_is_destroyed_in_the_token() {
    copy_before_erasure(Cluster::with_token().await).await;
}

async fn copy_before_erasure(cluster: Cluster) {
    let app = cluster.open(1).await;
    let gone = app
        .customers()
        .create(&agent(&app), input("copied@example.com", "Cy"))
        .await
        .expect("create");
    let stays = app
        .customers()
        .create(&agent(&app), input("stays@example.com", "Sue"))
        .await
        .expect("create");
    let keys = KeyStore::connect(&cluster.keys.url)
        .await
        .expect("key store");
    let copied = keys.data_key(gone.id).await.expect("read").expect("key");
    let copied = WrappedKey {
        kek_version: copied.kek_version,
        bytes: copied.bytes,
    };
    app.rights()
        .erase(&dpo(&app), gone.id)
        .await
        .expect("erase");
    assert_eq!(keys.data_key(gone.id).await.expect("read"), None);
    // The copy is a real key: today's keys still open it.
    assert!(
        vault(&cluster)
            .await
            .open_data_key(&gone.id, &copied)
            .is_ok()
    );

    let admin = actor(&app, Role::Admin);
    app.keys().rotate(&admin).await.expect("rotate");
    let done = app
        .keys()
        .rewrap(&admin, None, |_| {})
        .await
        .expect("rewrap");
    assert!(done.finished);
    assert_eq!(done.retired, [copied.kek_version]);
    assert!(matches!(
        vault(&cluster).await.open_data_key(&gone.id, &copied),
        Err(VaultError::UnknownKek(v)) if v == copied.kek_version
    ));
    drop(app);
    let reopened = cluster.open(2).await;
    reopened
        .customers()
        .get(&agent(&reopened), stays.id)
        .await
        .expect("the living still read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_given_another_master_key_does_not_start() {
    let cluster = Cluster::new().await;
    drop(cluster.open(1).await);
    let other = tempfile::tempdir().expect("tempdir");
    let refused = match Steward::open(steward_app::OpenOptions {
        master_key_file: Some(other.path().join("master.key")),
        ..cluster.options(2)
    })
    .await
    {
        Ok(_) => panic!("an instance with other keys started"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("master key"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_store_url_without_a_database_url_is_refused() {
    let cluster = Cluster::new().await;
    let refused = match Steward::open(steward_app::OpenOptions {
        database_url: None,
        ..cluster.options(1)
    })
    .await
    {
        Ok(_) => panic!("a shared key store beside a private database"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("keystore_url"), "{refused}");
}

/// An import on one instance is between writing its keys and committing their rows; another
/// instance starting then must leave those keys alone, and sweep them once the run is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_starting_during_an_import_leaves_its_pending_keys_alone() {
    let cluster = Cluster::new().await;
    let a = cluster.open(1).await;
    let keys = KeyStore::connect(&cluster.keys.url)
        .await
        .expect("key store");
    let running = keys
        .try_job_lock(std::path::Path::new("/nonexistent"), "import-abc")
        .await
        .expect("lock")
        .expect("free");
    let version = a
        .keys()
        .status(&actor(&a, Role::Admin))
        .await
        .expect("status")
        .current;
    let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
    let key = steward_store::StoredKey {
        kek_version: version,
        bytes: vec![7; 60],
    };
    keys.put_pending_data_keys(Uuid::now_v7(), "import-abc", &[(x, key.clone()), (y, key)])
        .await
        .expect("pending");
    let b = cluster.open(2).await;
    assert_eq!(b.keys().sweep_orphans().await.expect("sweep"), 0);
    assert!(
        keys.data_key(x).await.expect("read").is_some(),
        "kept while it runs"
    );
    drop(running);
    let mut swept = 0;
    for _ in 0..100 {
        swept = b.keys().sweep_orphans().await.expect("sweep");
        if swept > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(swept, 2, "swept once the run is gone");
    assert!(keys.data_key(x).await.expect("read").is_none());
}

/// Waits (a bounded time) until `app`'s key cache is on or off as `on` says.
async fn caching(app: &Steward, on: bool) {
    for _ in 0..200 {
        if app.keys().caching() == on {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "the key cache did not turn {}",
        if on { "on" } else { "off" }
    );
}

/// A key destroyed by another instance (an erasure between destroying the key and deleting
/// the rows) is gone from this instance's cache as soon as the destruction is announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_destroyed_on_one_instance_leaves_the_others_caches() {
    let cluster = Cluster::new().await;
    let a = cluster.open(1).await;
    let b = cluster.open(2).await;
    caching(&b, true).await;
    let made = a
        .customers()
        .create(&agent(&a), input("cached@example.com", "Cal"))
        .await
        .expect("create");
    b.customers()
        .get(&agent(&b), made.id)
        .await
        .expect("read, and keep the key");
    let keys = KeyStore::connect(&cluster.keys.url)
        .await
        .expect("key store");
    assert!(keys.destroy_data_key(made.id).await.expect("destroy"));
    let mut refused = false;
    for _ in 0..200 {
        if matches!(
            b.customers().get(&agent(&b), made.id).await,
            Err(AppError::NotFound)
        ) {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "the other instance still opened the customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_cannot_hear_destructions_caches_no_key_until_it_can() {
    let cluster = Cluster::new().await;
    let app = cluster.open(1).await;
    caching(&app, true).await;
    let (client, conn) = tokio_postgres::connect(&cluster.keys.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let killed = client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1",
            &[&steward_store::KEYS_CHANNEL],
        )
        .await
        .expect("terminate");
    assert_eq!(killed.get::<_, i64>(0), 1, "one listener");
    caching(&app, false).await;
    caching(&app, true).await;
}

/// An instance pointed at a new, empty key store beside a database that already holds
/// customers would make keys of its own that open none of them: it does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_given_an_empty_key_store_beside_customers_does_not_start() {
    let cluster = Cluster::new().await;
    let first = cluster.open(1).await;
    first
        .customers()
        .create(&agent(&first), input("kept@example.com", "Kim"))
        .await
        .expect("create");
    let elsewhere = steward_store::testing::fresh_postgres().await;
    let other_master = tempfile::tempdir().expect("tempdir");
    let refused = match Steward::open(steward_app::OpenOptions {
        keystore_url: Some(elsewhere.url.clone()),
        master_key_file: Some(other_master.path().join("master.key")),
        ..cluster.options(2)
    })
    .await
    {
        Ok(_) => panic!("an instance with an empty key store started beside customers"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("key store is new"), "{refused}");
}

/// With the key-encryption keys in a token, instances share customers, and a rotation on one
/// (a new key generated inside the token, the old one destroyed there once nothing uses it)
/// reaches the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_with_the_kek_in_a_token_share_customers_and_rotations() {
    let cluster = Cluster::with_token().await;
    let apps = cluster.open_all(2).await;
    let (a, b) = (&apps[0], &apps[1]);
    // The second runs its key job, as `serve` does: it reads the token's versions every
    // few seconds, within the grace a retirement waits.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let job = tokio::spawn(b.jobs().key_rewrapper(async {
        let _ = stopped.await;
    }));
    let before = a
        .customers()
        .create(&agent(a), input("hsm@example.com", "Hal"))
        .await
        .expect("create on the first");
    assert_eq!(
        b.customers()
            .get(&agent(b), before.id)
            .await
            .expect("read on the second")
            .fields
            .get("given_name")
            .map(String::as_str),
        Some("Hal")
    );
    let admin = actor(a, Role::Admin);
    assert_eq!(a.keys().rotate(&admin).await.expect("rotate"), 2);
    let done = a.keys().rewrap(&admin, None, |_| {}).await.expect("rewrap");
    assert!(done.finished, "{done:?}");
    let _ = stop.send(());
    job.await.expect("key job");
    let after = b
        .customers()
        .create(&agent(b), input("hsm2@example.com", "Hana"))
        .await
        .expect("create on the second after the rotation");
    // Version 1 is gone from the token: a third instance opens with version 2 alone.
    let c = cluster.open(3).await;
    for id in [before.id, after.id] {
        for app in [a.as_ref(), b.as_ref(), &c] {
            app.customers()
                .get(&agent(app), id)
                .await
                .expect("read after the rotation");
        }
    }
    let status = c
        .keys()
        .status(&actor(&c, Role::Admin))
        .await
        .expect("status");
    assert_eq!(status.current, 2);
    assert!(
        status
            .versions
            .iter()
            .any(|v| v.version == 1 && v.retired_at.is_some()),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_token_stops_start_up_naming_the_setting() {
    let cluster = Cluster::with_token().await;
    let token = cluster.token.as_ref().expect("token").settings.clone();
    for (settings, named) in [
        (
            TokenSettings {
                module: "/nowhere/libpkcs11.so".into(),
                ..token.clone()
            },
            "pkcs11_module",
        ),
        (
            TokenSettings {
                token_label: "no-such-token".into(),
                ..token.clone()
            },
            "pkcs11_token_label",
        ),
        (
            TokenSettings {
                pin_file: token.pin_file.with_file_name("missing"),
                ..token.clone()
            },
            "pkcs11_pin_file",
        ),
    ] {
        let refused = match Steward::open(steward_app::OpenOptions {
            kek_token: Some(settings),
            ..cluster.options(1)
        })
        .await
        {
            Ok(_) => panic!("started without its token"),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains(named), "{refused}");
    }
    // Nothing was made on the way: the right token opens an empty installation.
    cluster.open(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_token_lost_its_keys_is_not_ready() {
    let cluster = Cluster::with_token().await;
    let app = cluster.open(1).await;
    assert_eq!(app.readiness().await, Ok(()));
    cluster.token.as_ref().expect("token").destroy_keys();
    assert_eq!(
        app.readiness().await,
        Err(steward_app::NotReady::KeyEncryptionKey),
        "no customer could be read: a load balancer must send it nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_given_another_token_does_not_start() {
    let cluster = Cluster::with_token().await;
    drop(cluster.open(1).await);
    let other = steward_vault::testing::fresh_token();
    let refused = match Steward::open(steward_app::OpenOptions {
        kek_token: Some(other.settings.clone()),
        ..cluster.options(2)
    })
    .await
    {
        Ok(_) => panic!("an instance with another token's keys started"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("PKCS#11 token"), "{refused}");
}
