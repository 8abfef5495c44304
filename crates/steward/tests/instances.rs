//! Three `steward serve` processes, each with its own empty data directory, on one PostgreSQL
//! data database and one key-store database, reading one master key file (or, in the second
//! test, one SoftHSM2 token holding the key-encryption keys): what a load balancer
//! in front of them would see. A client spreads creates, reads, updates, consents and erasures
//! round-robin over the three, then asks all three at once to send one campaign and to run
//! the retention sweep, and a customer signs in to the portal across all three.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_testkit::smtp::SmtpServer;
use steward_vault::testing::{TestToken, fresh_token};

const BIN: &str = env!("CARGO_BIN_EXE_steward");
const EMAIL: &str = "marketing.communications.email";
const CLIENTS: usize = 4;
/// Per client thread; the load also stops at `LOAD_FOR`, whichever comes first.
const ROUNDS: usize = 40;
const LOAD_FOR: Duration = Duration::from_secs(12);
const SUBJECT: &str = "Spring at the shop";

/// What every instance and every command shares: the two databases and the key-encryption
/// keys.
struct Cluster {
    data: TestDatabase,
    keys: TestDatabase,
    kek: Kek,
    smtp_url: String,
    dir: tempfile::TempDir,
}

enum Kek {
    File(PathBuf),
    Token(TestToken),
}

impl Cluster {
    /// A command against the shared databases, with a data directory of its own.
    fn steward(&self, data_dir: &str) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(self.dir.path().join(data_dir))
            .arg("--database-url")
            .arg(&self.data.url)
            .arg("--keystore-url")
            .arg(&self.keys.url);
        match &self.kek {
            Kek::File(path) => {
                c.arg("--master-key-file").arg(path);
            }
            Kek::Token(token) => {
                c.arg("--pkcs11-module")
                    .arg(&token.settings.module)
                    .arg("--pkcs11-token-label")
                    .arg(&token.settings.token_label)
                    .arg("--pkcs11-pin-file")
                    .arg(&token.settings.pin_file);
            }
        }
        c.env_remove("STEWARD_DATABASE_URL")
            .env_remove("STEWARD_KEYSTORE_URL")
            .env_remove("STEWARD_MASTER_KEY_FILE")
            .env("STEWARD_LOG", "warn")
            .env("STEWARD_SMTP_URL", &self.smtp_url)
            // The client sends far more than one source may in production; limits are per
            // instance anyway and not what this test is about.
            .env("STEWARD_RATE_LIMIT", "false")
            // The sweep runs when the test asks for it, not on a timer.
            .env("STEWARD_RETENTION_INTERVAL_MINUTES", "0");
        c
    }

    fn token(&self, role: &str, purpose: &str) -> String {
        let out = run(self.steward("cli").args([
            "token",
            "create",
            "--role",
            role,
            "--purpose",
            purpose,
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run steward")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts `serve` on a loopback port of its own, kept in `servers` with its log written to
/// `log`, and returns its address once `/readyz` answers 200.
fn serve(cmd: &mut Command, log: &std::path::Path, servers: &mut Servers) -> String {
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    // Kept from the start, so that one which never gets ready is still ended.
    servers.0.push(child);
    servers.1.push(log.to_path_buf());
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("line");
        if let Some(rest) = line.strip_prefix("Steward is listening on http://") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    // The rest of its output is not needed but must not fill the pipe and stall it.
    std::thread::spawn(move || lines.for_each(drop));
    let deadline = Instant::now() + Duration::from_secs(60);
    while probe(&addr) != Some(200) {
        assert!(Instant::now() < deadline, "{addr} never became ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    addr
}

/// `/readyz`'s status, or `None` when the connection failed: a connection that arrives while
/// the starting-up answerer hands the socket over to the real server may be reset, which a
/// load balancer counts as one failed probe, as this does.
fn probe(addr: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    raw.split_whitespace().nth(1)?.parse().ok()
}

/// The running servers; a test that fails part-way still ends them.
/// The running servers and their logs; a test that fails part-way still ends them, and shows
/// the end of each log.
struct Servers(Vec<Child>, Vec<PathBuf>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for log in &self.1 {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                eprintln!("--- {}:\n{tail}", log.display());
            }
        }
    }
}

fn stop(mut child: Child) {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(status.success(), "server exited with {status}");
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One request on a connection of its own.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    // A socket that accepts and never answers fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let body = body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {raw}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// Every answer the client got, by instance, method and path, for the check that none was
/// a server error.
#[derive(Default)]
struct Log(Mutex<Vec<Answer>>);

struct Answer {
    instance: String,
    method: String,
    path: String,
    status: u16,
    body: String,
}

impl Log {
    fn send(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let reply = request(addr, method, path, headers, body);
        self.0.lock().expect("log").push(Answer {
            instance: addr.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            status: reply.status,
            body: reply.body.clone(),
        });
        reply
    }

    fn api(&self, addr: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> Reply {
        let auth = format!("Bearer {token}");
        self.send(
            addr,
            method,
            &format!("/api/v1{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }
}

/// What the client made, for the checks after the load.
#[derive(Default)]
struct Made {
    /// Customers alive at the end with the email consent given, by their address.
    consenting: BTreeMap<String, String>,
    /// Backdated interactions of customers never erased: what the sweep must take.
    due: BTreeSet<String>,
    erased: usize,
    created: usize,
}

struct Tokens {
    agent: String,
    dpo: String,
    marketer: String,
}

/// One client thread: rounds of create on one instance, read on the two others, update on
/// the next, consent, a backdated interaction, and for some an erasure read at once on all
/// three.
fn client(n: usize, addrs: &[String], tokens: &Tokens, log: &Log, made: &Mutex<Made>) {
    let started = Instant::now();
    let mut turn = n;
    let mut next = || {
        turn += 1;
        addrs[turn % addrs.len()].as_str()
    };
    for round in 0..ROUNDS {
        if started.elapsed() > LOAD_FOR {
            break;
        }
        let email = format!("c{n}-{round}@shop.example");
        let on = next();
        let created = log.api(
            on,
            "POST",
            "/customers",
            &tokens.agent,
            Some(&format!(
                r#"{{"fields":{{"email":"{email}","family_name":"Family {n} {round}"}},"residency":"DE"}}"#
            )),
        );
        assert_eq!(created.status, 201, "create on {on}: {}", created.body);
        let id = created.json()["id"].as_str().expect("id").to_string();
        made.lock().expect("made").created += 1;
        let path = format!("/customers/{id}");
        let mut etag = None;
        for other in addrs.iter().filter(|a| a.as_str() != on) {
            let read = log.api(other, "GET", &path, &tokens.agent, None);
            assert_eq!(
                read.status, 200,
                "made on {on}, read on {other}: {}",
                read.body
            );
            assert_eq!(
                read.json()["fields"]["email"],
                email.as_str(),
                "{}",
                read.body
            );
            etag = read.header("etag").map(str::to_string);
        }
        let etag = etag.expect("an ETag");
        let on = next();
        let auth = format!("Bearer {}", tokens.agent);
        let updated = log.send(
            on,
            "PATCH",
            &format!("/api/v1{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/merge-patch+json"),
                ("If-Match", &etag),
            ],
            Some(r#"{"fields":{"given_name":"Updated"}}"#),
        );
        assert_eq!(updated.status, 200, "update on {on}: {}", updated.body);
        let consent = log.api(
            next(),
            "POST",
            &format!("{path}/consents"),
            &tokens.agent,
            Some(&format!(r#"{{"purpose":"{EMAIL}","state":"given"}}"#)),
        );
        assert_eq!(consent.status, 201, "{}", consent.body);
        if round % 4 == 3 {
            let on = next();
            let erased = log.api(on, "DELETE", &path, &tokens.dpo, None);
            assert_eq!(erased.status, 204, "erase on {on}: {}", erased.body);
            for any in addrs {
                let read = log.api(any, "GET", &path, &tokens.agent, None);
                assert_eq!(
                    read.status, 404,
                    "erased on {on}, read on {any} right after: {}",
                    read.body
                );
            }
            made.lock().expect("made").erased += 1;
            continue;
        }
        made.lock()
            .expect("made")
            .consenting
            .insert(email.clone(), id.clone());
        if round % 2 == 0 {
            let note = log.api(
                next(),
                "POST",
                &format!("{path}/interactions"),
                &tokens.agent,
                Some(r#"{"kind":"note","occurred_at":"2020-01-15T10:00:00Z","summary":"Old call notes"}"#),
            );
            assert_eq!(note.status, 201, "{}", note.body);
            let note = note.json()["id"].as_str().expect("id").to_string();
            made.lock().expect("made").due.insert(note);
        }
    }
}

/// Runs `f` on every instance at the same moment and returns what each answered.
fn all_at_once(addrs: &[String], f: impl Fn(&str) -> Reply + Sync) -> Vec<Reply> {
    let barrier = Barrier::new(addrs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = addrs
            .iter()
            .map(|a| {
                let (f, barrier) = (&f, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    f(a)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

/// The portal in a browser's place: cookies kept, the form token of the last page sent back.
struct Visitor {
    jar: BTreeMap<String, String>,
    csrf: String,
}

impl Visitor {
    fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        let marker = "name=\"csrf\" value=\"";
        if let Some(at) = reply.body.find(marker).map(|i| i + marker.len())
            && let Some(end) = reply.body[at..].find('"')
        {
            self.csrf = reply.body[at..at + end].to_string();
        }
    }

    fn get(&mut self, log: &Log, addr: &str, path: &str) -> Reply {
        let cookies = self.cookies();
        let reply = log.send(addr, "GET", path, &[("Cookie", &cookies)], None);
        self.keep(&reply);
        reply
    }

    /// Posts a form with the last page's token and expects the redirect that follows a post.
    fn post(&mut self, log: &Log, addr: &str, path: &str, field: (&str, &str)) -> String {
        let cookies = self.cookies();
        let body = format!("csrf={}&{}={}", self.csrf, field.0, form_encoded(field.1));
        let reply = log.send(
            addr,
            "POST",
            path,
            &[
                ("Cookie", &cookies),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&body),
        );
        self.keep(&reply);
        assert_eq!(reply.status, 303, "POST {path} on {addr}: {}", reply.body);
        reply.header("location").expect("a location").to_string()
    }
}

fn form_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn code_in(body: &str) -> String {
    let at = body.find("data: ").expect("the code") + "data: ".len();
    body[at..at + 6].to_string()
}

fn campaign_mail_by_recipient(smtp: &SmtpServer) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for m in smtp.messages() {
        if m.header("Subject") == Some(SUBJECT)
            && let Some(to) = m.header("X-RcptTo")
        {
            *by.entry(to.to_string()).or_insert(0) += 1;
        }
    }
    by
}

fn shared_databases() -> (TestDatabase, TestDatabase) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async { (fresh_postgres().await, fresh_postgres().await) })
}

#[test]
fn three_instances_on_one_database_and_one_key_store_act_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master_key = dir.path().join("secrets").join("master.key");
    std::fs::create_dir_all(master_key.parent().expect("parent")).expect("secrets");
    act_as_one(dir, Kek::File(master_key));
}

#[test]
fn three_instances_with_the_kek_in_softhsm2_act_as_one() {
    act_as_one(
        tempfile::tempdir().expect("tempdir"),
        Kek::Token(fresh_token()),
    );
}

fn act_as_one(dir: tempfile::TempDir, kek: Kek) {
    let began = Instant::now();
    let (data, keys) = shared_databases();
    let smtp = SmtpServer::start();
    let cluster = Cluster {
        data,
        keys,
        kek,
        smtp_url: smtp.url(),
        dir,
    };
    let init = run(cluster.steward("init").arg("init"));
    assert!(init.status.success(), "{}", text(&init.stderr));
    if let Kek::File(path) = &cluster.kek {
        assert!(path.exists(), "init wrote the shared master key");
    }
    let tokens = Tokens {
        agent: cluster.token("agent", "essential.service"),
        dpo: cluster.token("dpo", "essential.legal_obligation"),
        marketer: cluster.token("marketer", EMAIL),
    };

    let mut servers = Servers(Vec::new(), Vec::new());
    let mut addrs = Vec::new();
    for n in 0..3 {
        let log = cluster.dir.path().join(format!("instance-{n}.log"));
        let addr = serve(
            &mut cluster.steward(&format!("instance-{n}")),
            &log,
            &mut servers,
        );
        addrs.push(addr);
    }
    for n in 0..3 {
        let own = cluster.dir.path().join(format!("instance-{n}"));
        assert!(
            !own.join("keys").join("keystore.db").exists(),
            "instance {n} keeps no key store of its own"
        );
        assert!(
            !own.join("keys").join("master.key").exists(),
            "instance {n} keeps no master key of its own"
        );
    }
    let log = Log::default();
    let made = Mutex::new(Made::default());

    let rule = log.api(
        &addrs[0],
        "POST",
        "/retention/rules",
        &tokens.dpo,
        Some(
            r#"{"key":"old-notes","record":"interaction","kind":"note","duration":"P365D","anchor":"created","action":"delete","description":"Notes go a year after they were taken."}"#,
        ),
    );
    assert_eq!(rule.status, 201, "{}", rule.body);

    // A portal session started on one instance, signed in on the second, used on the third.
    let portal_email = "grace@shop.example";
    let grace = log.api(
        &addrs[1],
        "POST",
        "/customers",
        &tokens.agent,
        Some(&format!(
            r#"{{"fields":{{"email":"{portal_email}","given_name":"Grace","family_name":"Hopper"}},"residency":"US"}}"#
        )),
    );
    assert_eq!(grace.status, 201, "{}", grace.body);
    let mut visitor = Visitor {
        jar: BTreeMap::new(),
        csrf: String::new(),
    };
    visitor.get(&log, &addrs[0], "/portal");
    let to = visitor.post(&log, &addrs[0], "/portal/code", ("email", portal_email));
    assert_eq!(to, "/portal/code");
    visitor.get(&log, &addrs[0], &to);
    let code = code_in(&smtp.wait_for(1).remove(0).body);
    let to = visitor.post(&log, &addrs[1], "/portal/sign-in", ("code", &code));
    assert_eq!(
        to, "/portal/me",
        "the code asked for on one instance signs in on another"
    );
    let page = visitor.get(&log, &addrs[2], "/portal/me");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Hopper"), "{}", page.body);

    // The load.
    let load = Instant::now();
    std::thread::scope(|s| {
        for n in 0..CLIENTS {
            let (addrs, tokens, log, made) = (&addrs, &tokens, &log, &made);
            s.spawn(move || client(n, addrs, tokens, log, made));
        }
    });
    let load = load.elapsed();
    let made = made.into_inner().expect("made");
    assert!(
        made.erased > 0 && !made.due.is_empty(),
        "the load did all it should"
    );

    // Marketing email is given by double opt-in: each customer follows the link mailed to
    // them, on whichever instance the balancer picks.
    let deadline = Instant::now() + Duration::from_secs(20);
    let links = loop {
        let links: BTreeMap<String, String> = smtp
            .messages()
            .into_iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.starts_with("Please confirm"))
            })
            .filter_map(|m| {
                let to = m.header("X-RcptTo")?.to_string();
                let link = m.link("http")?;
                let at = link.find("/consent/confirm/")?;
                Some((to, link[at..].to_string()))
            })
            .filter(|(to, _)| made.consenting.contains_key(to))
            .collect();
        if links.len() == made.consenting.len() {
            break links;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} confirmation mails arrived",
            links.len(),
            made.consenting.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    for (n, path) in links.values().enumerate() {
        let on = &addrs[n % addrs.len()];
        let confirmed = log.send(on, "POST", path, &[], None);
        assert_eq!(confirmed.status, 200, "{path} on {on}: {}", confirmed.body);
    }

    // One campaign to everyone who consented, its sending asked of all three at once.
    let campaign = log.api(
        &addrs[0],
        "POST",
        "/campaigns",
        &tokens.marketer,
        Some(&format!(
            r#"{{"name":"Spring","purpose":"{EMAIL}","subject":"{SUBJECT}","body":"New in the shop."}}"#
        )),
    );
    assert_eq!(campaign.status, 201, "{}", campaign.body);
    let send = format!(
        "/campaigns/{}/send",
        campaign.json()["id"].as_str().expect("id")
    );
    let sends = all_at_once(&addrs, |a| {
        log.api(a, "POST", &send, &tokens.marketer, Some(""))
    });
    // One request starts the send; one that finds it under way may carry it on, and one
    // that comes after it is told it was sent. Mail goes once whichever way it goes.
    let statuses: Vec<u16> = sends.iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&200) && statuses.iter().all(|s| *s == 200 || *s == 409),
        "{:?}",
        sends
            .iter()
            .map(|r| (r.status, &r.body))
            .collect::<Vec<_>>()
    );
    let path = send.trim_end_matches("/send");
    let campaign = log.api(&addrs[2], "GET", path, &tokens.marketer, None);
    assert_eq!(campaign.status, 200, "{}", campaign.body);
    let campaign = campaign.json();
    assert_eq!(campaign["state"], "sent", "{campaign}");
    assert_eq!(
        campaign["recipients"],
        made.consenting.len(),
        "everyone who confirmed is queued once: {campaign}"
    );

    // The sweep, started on all three at once.
    let runs = all_at_once(&addrs, |a| {
        log.api(a, "POST", "/retention/runs", &tokens.dpo, Some("{}"))
    });
    let mut swept: Vec<String> = Vec::new();
    for (addr, started) in addrs.iter().zip(&runs) {
        assert_eq!(started.status, 202, "{}", started.body);
        let path = format!(
            "/retention/runs/{}",
            started.json()["id"].as_str().expect("id")
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let finished = loop {
            let read = log.api(addr, "GET", &path, &tokens.dpo, None);
            assert_eq!(read.status, 200, "{}", read.body);
            let view = read.json();
            if view["state"] != "running" {
                break view;
            }
            assert!(Instant::now() < deadline, "the run never finished: {view}");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(finished["state"], "finished", "{finished}");
        for item in finished["report"]["items"].as_array().expect("items") {
            swept.push(item["record_id"].as_str().expect("record id").to_string());
        }
    }
    let once: BTreeSet<String> = swept.iter().cloned().collect();
    assert_eq!(
        once.len(),
        swept.len(),
        "a record swept by two runs: {swept:?}"
    );
    assert_eq!(once, made.due, "every due record swept, and nothing else");

    // Every campaign message exactly once: wait for them all, then a while for duplicates.
    let expected: BTreeSet<&String> = made.consenting.keys().collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while campaign_mail_by_recipient(&smtp).len() < expected.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let mail = campaign_mail_by_recipient(&smtp);
    let twice: Vec<_> = mail.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "mailed more than once: {twice:?}");
    let got: BTreeSet<&String> = mail.keys().collect();
    assert!(
        got.iter()
            .all(|to| expected.iter().any(|e| to.contains(e.as_str()))),
        "mail to someone not in the audience: {got:?}"
    );
    assert_eq!(
        got.len(),
        expected.len(),
        "everyone who consented got the campaign"
    );

    let answers = log.0.into_inner().expect("log");
    let failures: Vec<String> = answers
        .iter()
        .filter(|a| a.status >= 500)
        .map(|a| {
            format!(
                "{} {} on {}: {} {}",
                a.method, a.path, a.instance, a.status, a.body
            )
        })
        .collect();
    assert!(failures.is_empty(), "server errors: {failures:#?}");

    for child in std::mem::take(&mut servers.0) {
        stop(child);
    }
    let verify = run(cluster.steward("verify").args(["audit", "verify"]));
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    println!(
        "{} requests over three instances ({} customers made, {} erased, {} notes swept, {} campaign messages); load {:.1} s, whole test {:.1} s",
        answers.len(),
        made.created,
        made.erased,
        made.due.len(),
        mail.len(),
        load.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}
