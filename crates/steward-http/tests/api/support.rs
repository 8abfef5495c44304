#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use steward_app::core::sharing::SharingRules;
use steward_app::core::{Catalog, Clock, FixedClock, Role};
use steward_app::{NewToken, OpenOptions, Operator, Steward};

pub struct TestApp {
    pub addr: String,
    pub app: Arc<Steward>,
    /// Who opened the data directory: the test, at the machine.
    pub operator: Operator,
    pub clock: Arc<FixedClock>,
    _dir: Arc<tempfile::TempDir>,
    database_url: Option<String>,
    smtp_url: Option<String>,
    /// The key store database shared with the instances opened beside this one.
    keystore: Option<Arc<steward_store::testing::TestDatabase>>,
    /// The master key file every instance sharing the key store reads.
    master_key_file: Option<std::path::PathBuf>,
    /// The database made for this server when the suite runs on PostgreSQL.
    _database: Option<Arc<steward_store::testing::TestDatabase>>,
}

/// Everything the server logged in this test process.
pub static LOG: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogSink;

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(|| LogSink)
            .try_init();
    });
}

/// Starts the real router on a random loopback port with a fresh data directory, with rate
/// limits out of the way.
/// The response plan every test server is opened with.
pub fn breach_plan() -> steward_app::core::breach::BreachPlan {
    let plan = serde_json::json!({
        "team": [
            {"role": "lead", "name": "Grace Hopper", "email": "grace@shop.test"},
            {"role": "dpo", "name": "Ada Lovelace", "email": "dpo@shop.test"}
        ],
        "lead_authority": {"name": "Berliner Beauftragte für Datenschutz", "contact": "https://www.datenschutz-berlin.de/"},
        "authorities": {"FR": {"name": "CNIL", "contact": "https://notifications.cnil.fr/"}},
        "steps": [
            {"step": "contain", "owner": "lead", "description": "Revoke access and rotate keys."},
            {"step": "assess", "owner": "dpo", "description": "Run the scope and judge the risk."},
            {"step": "notify_authority", "owner": "dpo", "description": "Notify within 72 hours."},
            {"step": "notify_customers", "owner": "dpo", "description": "Tell customers at high risk."},
            {"step": "review", "owner": "lead", "description": "Write down what we learned."}
        ]
    });
    steward_app::core::breach::BreachPlan::parse(&serde_json::from_value(plan).expect("plan input"))
        .expect("plan")
}

/// A breach the company became aware of at `aware_at`, its assessment still open.
pub fn breach_input(aware_at: jiff::Timestamp) -> steward_app::core::breach::BreachInput {
    serde_json::from_value(serde_json::json!({
        "title": "Support laptop stolen",
        "detected_at": aware_at,
        "aware_at": aware_at,
        "found_by": "The agent reported it.",
        "nature": ["confidentiality"],
        "categories": ["user.contact"]
    }))
    .expect("breach input")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(steward_http::Limits::unlimited()).await
}

pub async fn spawn_app_with(limits: steward_http::Limits) -> TestApp {
    spawn_app_with_options(steward_http::HttpOptions {
        limits,
        ..Default::default()
    })
    .await
}

pub async fn spawn_app_with_options(options: steward_http::HttpOptions) -> TestApp {
    spawn(options, None, Default::default(), Data::Suite, None).await
}

/// A server whose data is the SQLite file in its data directory, whatever engine the suite
/// runs on.
pub async fn spawn_sqlite_app() -> TestApp {
    spawn(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        None,
        Default::default(),
        Data::Sqlite,
        None,
    )
    .await
}

/// A server whose catalog is the default one with `extra` added.
pub async fn spawn_app_with_catalog(extra: &str) -> TestApp {
    let catalog = Catalog::from_sources(&[
        ("default", steward_app::core::catalog::DEFAULT_CATALOG),
        ("extra", extra),
    ])
    .expect("catalog");
    spawn(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        None,
        Default::default(),
        Data::Suite,
        Some(catalog),
    )
    .await
}

/// A server whose data lives in the PostgreSQL database at `database_url`.
pub async fn spawn_app_on(database_url: String) -> TestApp {
    spawn(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            tls: None,
            ..Default::default()
        },
        None,
        Default::default(),
        Data::At(database_url),
        None,
    )
    .await
}

/// A server whose data lives in the PostgreSQL database at `database_url` and whose keys
/// live in a key store database of its own, which instances opened beside it share.
pub async fn spawn_app_sharing_keys(database_url: String, smtp_url: Option<String>) -> TestApp {
    let keystore = Arc::new(steward_store::testing::fresh_postgres().await);
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let master_key_file = dir.path().join("master.key");
    spawn_in(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        smtp_url,
        Default::default(),
        Some(database_url),
        None,
        Home {
            dir,
            clock: Arc::new(FixedClock::new(
                "2026-03-01T09:00:00Z".parse().expect("time"),
            )),
            keys: Some((keystore, master_key_file)),
            database: None,
        },
    )
    .await
}

/// A second instance beside `first` (made by [`spawn_app_sharing_keys`]), as behind a load
/// balancer: its own server and its own empty data directory, the same PostgreSQL database,
/// key store, master key file and mail server, its clock the same.
pub async fn spawn_app_beside(first: &TestApp) -> TestApp {
    let keys = first
        .keystore
        .clone()
        .zip(first.master_key_file.clone())
        .expect("the first instance shares its key store");
    spawn_in(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        first.smtp_url.clone(),
        Default::default(),
        first.database_url.clone(),
        None,
        Home {
            dir: Arc::new(tempfile::tempdir().expect("tempdir")),
            clock: first.clock.clone(),
            keys: Some(keys),
            database: None,
        },
    )
    .await
}

/// A server whose webhooks trust `webhooks`' roots, with its webhook sender running.
pub async fn spawn_app_with_webhooks(webhooks: steward_app::WebhookSettings) -> TestApp {
    let t = spawn(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        None,
        webhooks,
        Data::Suite,
        None,
    )
    .await;
    tokio::spawn(t.app.jobs().webhook_sender(std::future::pending()));
    t
}

/// A server whose mail goes to `smtp_url`, with links back to itself.
pub async fn spawn_app_with_mail(smtp_url: &str) -> TestApp {
    spawn_mail_app(smtp_url, Data::Suite).await
}

/// The same, its data in the PostgreSQL database at `database_url` when one is given, or
/// else in the SQLite file in its data directory whatever engine the suite runs on.
pub async fn spawn_app_with_mail_on(smtp_url: &str, database_url: Option<String>) -> TestApp {
    spawn_mail_app(smtp_url, database_url.map_or(Data::Sqlite, Data::At)).await
}

async fn spawn_mail_app(smtp_url: &str, data: Data) -> TestApp {
    spawn(
        steward_http::HttpOptions {
            limits: steward_http::Limits::unlimited(),
            ..Default::default()
        },
        Some(smtp_url.to_string()),
        Default::default(),
        data,
        None,
    )
    .await
}

/// Where a test server keeps its data.
enum Data {
    /// On the engine the suite runs on (`STEWARD_TEST_ENGINE`), in a database of its own.
    Suite,
    /// In the SQLite file in its data directory.
    Sqlite,
    /// In the PostgreSQL database at this URL, which the test keeps.
    At(String),
}

async fn spawn(
    options: steward_http::HttpOptions,
    smtp_url: Option<String>,
    webhooks: steward_app::WebhookSettings,
    data: Data,
    catalog: Option<Catalog>,
) -> TestApp {
    let (database_url, database) = match data {
        Data::Suite => {
            let db = steward_store::testing::data_database().await.map(Arc::new);
            (db.as_ref().map(|db| db.url.clone()), db)
        }
        Data::Sqlite => (None, None),
        Data::At(url) => (Some(url), None),
    };
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let clock = Arc::new(FixedClock::new(
        "2026-03-01T09:00:00Z".parse().expect("time"),
    ));
    spawn_in(
        options,
        smtp_url,
        webhooks,
        database_url,
        catalog,
        Home {
            dir,
            clock,
            keys: None,
            database,
        },
    )
    .await
}

/// Where an instance keeps its files, its clock, and the key store it shares, if any.
struct Home {
    dir: Arc<tempfile::TempDir>,
    clock: Arc<FixedClock>,
    keys: Option<(
        Arc<steward_store::testing::TestDatabase>,
        std::path::PathBuf,
    )>,
    database: Option<Arc<steward_store::testing::TestDatabase>>,
}

async fn spawn_in(
    options: steward_http::HttpOptions,
    smtp_url: Option<String>,
    webhooks: steward_app::WebhookSettings,
    database_url: Option<String>,
    catalog: Option<Catalog>,
    home: Home,
) -> TestApp {
    let Home {
        dir,
        clock,
        keys,
        database,
    } = home;
    let (keystore, master_key_file) = keys.unzip();
    capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (app, operator) = Steward::open_as_operator(OpenOptions {
        data_dir: dir.path().to_path_buf(),
        database_url: database_url.clone(),
        keystore_url: keystore.as_ref().map(|k| k.url.clone()),
        master_key_file: master_key_file.clone(),
        kek_token: None,
        catalog: catalog.unwrap_or_else(|| Catalog::default_catalog().expect("catalog")),
        clock: clock.clone(),
        controller: Default::default(),
        readable_at_least: steward_app::READABLE_AT_LEAST,
        staff_shown_as: Default::default(),
        sharing: SharingRules::shipped().expect("sharing rules"),
        security: steward_app::SecuritySettings {
            breach_plan: Some(breach_plan()),
        },
        webhooks,
        mail: steward_app::MailSettings {
            smtp_url: smtp_url.clone(),
            from: "Shop <privacy@shop.test>".into(),
            public_url: format!("http://{addr}"),
        },
    })
    .await
    .expect("open");
    let app = Arc::new(app);
    let served = app.clone();
    tokio::spawn(async move {
        let _ = steward_http::serve(listener, served, options, std::future::pending()).await;
    });
    tokio::spawn(app.jobs().mail_sender(std::future::pending()));
    TestApp {
        addr,
        app,
        operator,
        clock,
        _dir: dir,
        database_url,
        smtp_url,
        keystore,
        master_key_file,
        _database: database,
    }
}

impl TestApp {
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Every byte Steward stored: every file under the data directory and, when the data
    /// is on PostgreSQL, every value in its database.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        let mut out = self.data_bytes();
        if let Some(url) = &self.database_url {
            out.extend(steward_store::testing::stored_bytes(url).await);
        }
        out
    }

    /// Every byte of every file under the data directory.
    fn data_bytes(&self) -> Vec<u8> {
        fn walk(dir: &std::path::Path, out: &mut Vec<u8>) {
            for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.extend(bytes);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data_dir(), &mut out);
        out
    }

    pub async fn token(&self, role: Role, purposes: &[&str]) -> String {
        let admin = self.operator.actor("test", &[]);
        let new = NewToken {
            name: format!("{role}"),
            role,
            purposes: purposes.iter().map(|p| p.to_string()).collect(),
            // Three months from the test's clock, wherever a test has moved it.
            expires_at: Some(
                self.clock
                    .now()
                    .checked_add(jiff::SignedDuration::from_hours(92 * 24))
                    .expect("time"),
            ),
        };
        self.app
            .accounts()
            .create_token(&admin, new)
            .await
            .expect("token")
            .1
    }

    /// Blocking HTTP from async tests runs on a worker thread of its own.
    pub async fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        self.req_from(None, method, path, token, headers, body)
            .await
    }

    /// A request from another loopback address (`127.0.0.2`, ...), as a second client.
    pub async fn req_from(
        &self,
        source: Option<std::net::Ipv4Addr>,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let (m, p, t, b) = (
            method.to_string(),
            path.to_string(),
            token.map(str::to_string),
            body.map(str::to_string),
        );
        let h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let stream = match source {
            None => TcpStream::connect(&self.addr).expect("connect"),
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                socket
                    .bind(std::net::SocketAddr::from((ip, 0)))
                    .expect("bind the source address");
                let server = self.addr.parse().expect("server address");
                let s = socket.connect(server).await.expect("connect");
                let s = s.into_std().expect("std stream");
                s.set_nonblocking(false).expect("blocking");
                s
            }
        };
        tokio::task::spawn_blocking(move || {
            let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            exchange(stream, &m, &p, t.as_deref(), &hv, b.as_deref())
        })
        .await
        .expect("request thread")
    }
}

/// Sends one request on `s` and reads the whole answer.
fn exchange(
    mut s: TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let host = s.peer_addr().expect("peer").to_string();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    Reply::parse(&raw)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    /// Every `Set-Cookie` line, as `name=value` (`headers` keeps only the last).
    pub cookies: Vec<String>,
    pub body: String,
}

impl Reply {
    pub fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let pairs: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let cookies = pairs
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .map(str::to_string)
            .collect();
        Reply {
            status,
            headers: pairs.into_iter().collect(),
            cookies,
            body: body.to_string(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body of a streamed (chunked) answer, its chunk framing removed.
    pub fn dechunked(&self) -> String {
        assert_eq!(
            self.header("transfer-encoding"),
            Some("chunked"),
            "{self:?}"
        );
        let mut out = String::new();
        let mut rest = self.body.as_str();
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    }

    /// Asserts a problem document and returns it.
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(
            p["type"].is_string() && p["title"].is_string() && p["detail"].is_string(),
            "{p}"
        );
        assert!(p["request_id"].is_string(), "{p}");
        p
    }
}

pub const CUSTOMER: &str = r#"{"fields":{"email":"ada@example.com","given_name":"Ada","family_name":"Lovelace"},"residency":"GB","tags":["vip"]}"#;

/// The current code of an authenticator enrolled with `uri`.
pub fn totp_now(uri: &str, at: jiff::Timestamp) -> String {
    let secret = uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret in uri");
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).expect("totp");
    totp.generate(at.as_second() as u64)
}
