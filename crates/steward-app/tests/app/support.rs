//! Shared set-up for the app's integration tests: a Steward on a fresh data directory with a
//! fixed clock, and actors for each role.

use std::path::Path;
use std::sync::Arc;

use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, FixedClock, Role};
use steward_app::{Access, Actor, CustomerInput, OpenOptions, Steward};
use steward_store::testing::TestDatabase;

pub const T0: &str = "2026-01-15T10:00:00Z";

/// The options every test starts from: the default catalog, a fixed clock at `T0`, mail to
/// the mail log.
pub fn options(dir: &Path, clock: Arc<FixedClock>) -> OpenOptions {
    OpenOptions {
        data_dir: dir.to_path_buf(),
        database_url: None,
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        catalog: Catalog::default_catalog().expect("catalog"),
        clock,
        controller: Default::default(),
        readable_at_least: steward_app::READABLE_AT_LEAST,
        staff_shown_as: Default::default(),
        sharing: SharingRules::shipped().expect("sharing rules"),
        security: Default::default(),
        webhooks: Default::default(),
        mail: Default::default(),
    }
}

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(T0.parse().expect("time")))
}

pub async fn open_at(dir: &Path, database_url: Option<String>) -> Steward {
    Steward::open(OpenOptions {
        database_url,
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        ..options(dir, clock())
    })
    .await
    .expect("open steward")
}

/// A test's data directory, and the PostgreSQL database its data lives in when the suite
/// runs on PostgreSQL (`STEWARD_TEST_ENGINE`), dropped with it.
pub struct Home {
    dir: tempfile::TempDir,
    db: Option<TestDatabase>,
}

impl Home {
    /// A fresh data directory, its data on the engine the suite runs on.
    pub async fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
            db: steward_store::testing::data_database().await,
        }
    }

    /// A fresh data directory whose data is the SQLite file in it whatever the suite runs
    /// on, for the tests whose point is that file.
    pub fn sqlite() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
            db: None,
        }
    }

    /// A fresh data directory whose data is a fresh PostgreSQL database whatever the suite
    /// runs on.
    pub async fn on_postgres() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
            db: Some(steward_store::testing::fresh_postgres().await),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn database_url(&self) -> Option<String> {
        self.db.as_ref().map(|db| db.url.clone())
    }

    /// I1 on whichever engine holds the data: none of `secrets` stands in plaintext in any
    /// file under the data directory, nor in any value of the PostgreSQL database.
    pub async fn assert_no_plaintext(&self, secrets: &[&str]) {
        assert_nothing_in_clear(self.path(), self.db.as_ref(), secrets).await;
    }

    /// The first column of every row `sql` selects, on whichever engine holds the data; the
    /// SQL must read the same on both.
    pub async fn numbers(&self, sql: &str) -> Vec<i64> {
        match self.postgres().await {
            Some(client) => client
                .query(sql, &[])
                .await
                .expect("query")
                .iter()
                .map(|r| r.get(0))
                .collect(),
            None => sqlite(self.path())
                .prepare(sql)
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect(),
        }
    }

    /// The one number `sql` (a `SELECT COUNT(*) ...`) answers.
    pub async fn count(&self, sql: &str) -> i64 {
        let numbers = self.numbers(sql).await;
        assert_eq!(numbers.len(), 1, "{sql} answers one row");
        numbers[0]
    }

    /// As [`Home::numbers`], for a binary column.
    pub async fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        match self.postgres().await {
            Some(client) => client
                .query(sql, &[])
                .await
                .expect("query")
                .iter()
                .map(|r| r.get(0))
                .collect(),
            None => sqlite(self.path())
                .prepare(sql)
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect(),
        }
    }

    /// Runs the statements written for the engine that holds the data, as someone with
    /// access to the database would.
    pub async fn execute(&self, on_sqlite: &str, on_postgres: &str) {
        match self.postgres().await {
            Some(client) => client.batch_execute(on_postgres).await.expect("execute"),
            None => sqlite(self.path())
                .execute_batch(on_sqlite)
                .expect("execute"),
        }
    }

    async fn postgres(&self) -> Option<tokio_postgres::Client> {
        let db = self.db.as_ref()?;
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(conn);
        Some(client)
    }

    /// [`options`] for this home, its data where the home keeps it.
    pub fn options(&self, clock: Arc<FixedClock>) -> OpenOptions {
        OpenOptions {
            database_url: self.database_url(),
            ..options(self.path(), clock)
        }
    }
}

/// A Steward whose clock the test moves.
pub async fn app_with_clock() -> (Home, Steward, Arc<FixedClock>) {
    let home = Home::new().await;
    let clock = clock();
    let app = Steward::open(home.options(clock.clone()))
        .await
        .expect("open steward");
    (home, app, clock)
}

pub async fn app() -> (Home, Steward) {
    open_in(Home::new().await).await
}

/// A Steward on the SQLite file in its data directory, whatever engine the suite runs on.
pub async fn sqlite_app() -> (Home, Steward) {
    open_in(Home::sqlite()).await
}

async fn open_in(home: Home) -> (Home, Steward) {
    let app = open_at(home.path(), home.database_url()).await;
    (home, app)
}

pub fn actor(app: &Steward, role: Role) -> Actor {
    app.local_staff(&format!("user:{role}"), role, &[])
}

/// Steward itself at work on `job`, as whoever opened the data directory acts.
pub fn operator(app: &Steward, job: &str, purposes: &[&str]) -> Actor {
    app.local_staff(&format!("system:{job}"), Role::System, purposes)
}

pub fn access(app: &Steward, role: Role, purpose: &str) -> Access {
    app.access(&actor(app, role), Some(purpose))
        .expect("access")
}

/// A staff account for support with a display name, and its access as that person.
pub async fn staff_member(app: &Steward, email: &str, name: &str) -> (uuid::Uuid, Access) {
    let admin = actor(app, Role::Admin);
    let created = app
        .accounts()
        .add_user(
            &admin,
            steward_app::NewUser {
                email: email.into(),
                role: Role::Agent,
                password: steward_app::generate_password(),
                purposes: vec![],
            },
        )
        .await
        .expect("account");
    app.accounts()
        .rename(&admin, created.id, name)
        .await
        .expect("named");
    let me = app.local_staff(&format!("user:{}", created.id), Role::Agent, &[]);
    let access = app.access(&me, Some("essential.service")).expect("access");
    (created.id, access)
}

pub fn agent(app: &Steward) -> Access {
    access(app, Role::Agent, "essential.service")
}

pub fn dpo(app: &Steward) -> Access {
    access(app, Role::Dpo, "essential.legal_obligation")
}

pub fn input(email: &str, given: &str) -> CustomerInput {
    CustomerInput {
        fields: [
            ("email", email),
            ("given_name", given),
            ("family_name", "Quackenbush"),
            ("phone", "+49 30 1234567"),
            ("birth_date", "1980-04-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        residency: "de".into(),
        tags: vec!["vip".into()],
    }
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// I1: none of `secrets` stands in plaintext in any file under `dir`.
pub fn assert_no_plaintext(dir: &Path, secrets: &[&str]) {
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).expect("read");
        for secret in secrets {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret} in plaintext in {}",
                file.display()
            );
        }
    }
}

/// I1 wherever a Steward keeps its data: none of `secrets` stands in plaintext in any file
/// under `dir`, nor, when its data is on PostgreSQL, in any value of database `db`.
pub async fn assert_nothing_in_clear(dir: &Path, db: Option<&TestDatabase>, secrets: &[&str]) {
    assert_no_plaintext(dir, secrets);
    if let Some(db) = db {
        let stored = steward_store::testing::stored_bytes(&db.url).await;
        for secret in secrets {
            assert!(
                !contains(&stored, secret.as_bytes()),
                "{secret} in plaintext in the PostgreSQL database"
            );
        }
    }
}

pub fn sqlite(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("steward.db")).expect("open db")
}

/// A Steward that sends mail through `smtp_url`, with links under `http://steward.test`.
pub async fn app_with_mail(smtp_url: &str) -> (Home, Steward, Arc<FixedClock>) {
    app_with_mail_in(Home::new().await, smtp_url).await
}

/// As [`app_with_mail`], on the SQLite file in its data directory whatever the suite runs on.
pub async fn sqlite_app_with_mail(smtp_url: &str) -> (Home, Steward, Arc<FixedClock>) {
    app_with_mail_in(Home::sqlite(), smtp_url).await
}

async fn app_with_mail_in(home: Home, smtp_url: &str) -> (Home, Steward, Arc<FixedClock>) {
    let clock = clock();
    let app = Steward::open(OpenOptions {
        mail: steward_app::MailSettings {
            smtp_url: Some(smtp_url.into()),
            from: "Shop <privacy@shop.test>".into(),
            public_url: "http://steward.test/".into(),
        },
        ..home.options(clock.clone())
    })
    .await
    .expect("open steward");
    (home, app, clock)
}

/// Records a consent as given on import (no confirmation by email).
pub async fn give_consent(app: &Steward, access: &Access, customer: uuid::Uuid, purpose: &str) {
    app.consent()
        .record(
            access,
            customer,
            steward_app::ConsentInput {
                purpose: purpose.into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("consent given");
}

/// Where a Steward's mail can be read: an SMTP server on loopback, or the mail log.
pub enum Inbox<'a> {
    Smtp(&'a steward_testkit::smtp::SmtpServer),
    Log(&'a Path),
}

/// Signs the customer in to the privacy portal as they would: a code mailed to their
/// address, read where it arrives, and typed in.
pub async fn signed_in(app: &Steward, inbox: Inbox<'_>, email: &str) -> steward_app::Subject {
    const SAID: &str = "manage your data: ";
    let codes = |bodies: Vec<String>| -> Vec<String> {
        bodies.into_iter().filter(|b| b.contains(SAID)).collect()
    };
    let before = match &inbox {
        Inbox::Smtp(smtp) => codes(
            smtp.messages_to(email)
                .into_iter()
                .map(|m| m.body)
                .collect(),
        )
        .len(),
        Inbox::Log(_) => 0,
    };
    app.portal()
        .send_code(&app.portal().address(email).expect("address"))
        .await
        .expect("send the code");
    app.outbox().deliver_due().await.expect("deliver the code");
    let text = match inbox {
        Inbox::Smtp(smtp) => {
            let started = std::time::Instant::now();
            loop {
                let mut sent = codes(
                    smtp.messages_to(email)
                        .into_iter()
                        .map(|m| m.body)
                        .collect(),
                );
                if sent.len() > before {
                    break sent.swap_remove(sent.len() - 1);
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "no sign-in code reached {email}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        Inbox::Log(dir) => {
            let log = std::fs::read_to_string(dir.join("mail.log")).expect("mail log");
            let to = log
                .rfind(&format!("To: {email}"))
                .unwrap_or_else(|| panic!("no message to {email} in the mail log"));
            log[to..].to_string()
        }
    };
    let at = text.find(SAID).expect("a sign-in code") + SAID.len();
    let code = &text[at..at + 6];
    app.portal()
        .sign_in(email, code)
        .await
        .expect("sign in with the code")
        .subject
}

/// One installation run as a load balancer would run it: every instance with its own empty
/// data directory, all sharing one PostgreSQL data database, one key store database and one
/// master key file, or one PKCS#11 token holding the key-encryption keys.
pub struct Cluster {
    pub data: steward_store::testing::TestDatabase,
    pub keys: steward_store::testing::TestDatabase,
    pub clock: Arc<FixedClock>,
    pub token: Option<steward_vault::testing::TestToken>,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn new() -> Cluster {
        Cluster {
            data: steward_store::testing::fresh_postgres().await,
            keys: steward_store::testing::fresh_postgres().await,
            clock: clock(),
            token: None,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A cluster whose key-encryption keys are in a SoftHSM2 token of its own.
    pub async fn with_token() -> Cluster {
        Cluster {
            token: Some(steward_vault::testing::fresh_token()),
            ..Cluster::new().await
        }
    }

    pub fn master_key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("master.key")
    }

    /// The key-encryption keys as every instance opens them.
    pub fn master_key(&self) -> steward_vault::MasterKey {
        match &self.token {
            Some(t) => steward_vault::MasterKey::from_token(&t.settings).expect("token"),
            None => steward_vault::MasterKey::load_or_create(&self.master_key_file())
                .expect("master key"),
        }
    }

    /// The options of instance `n`.
    pub fn options(&self, n: usize) -> OpenOptions {
        OpenOptions {
            database_url: Some(self.data.url.clone()),
            keystore_url: Some(self.keys.url.clone()),
            master_key_file: self.token.is_none().then(|| self.master_key_file()),
            kek_token: self.token.as_ref().map(|t| t.settings.clone()),
            ..options(
                &self.dir.path().join(format!("instance-{n}")),
                self.clock.clone(),
            )
        }
    }

    pub async fn open(&self, n: usize) -> Steward {
        Steward::open(self.options(n))
            .await
            .unwrap_or_else(|e| panic!("instance {n}: {e}"))
    }

    /// `n` instances, opened one after the other.
    pub async fn open_all(&self, n: usize) -> Vec<Arc<Steward>> {
        self.open_all_with(n, |o| o).await
    }

    /// As [`Cluster::open_all`], each with the options `adjust` makes of its own.
    pub async fn open_all_with(
        &self,
        n: usize,
        adjust: impl Fn(OpenOptions) -> OpenOptions,
    ) -> Vec<Arc<Steward>> {
        let mut opened = Vec::with_capacity(n);
        for i in 1..=n {
            let app = Steward::open(adjust(self.options(i)))
                .await
                .unwrap_or_else(|e| panic!("instance {i}: {e}"));
            opened.push(Arc::new(app));
        }
        opened
    }
}
