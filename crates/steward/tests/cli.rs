//! The `steward` binary, run as an operator would: real processes, a real port, real files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_steward");

fn steward(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(data)
        .env_remove("STEWARD_DATABASE_URL")
        .env("STEWARD_LOG", "info");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run steward")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

fn http_get(addr: &str, path: &str) -> String {
    http(addr, "GET", path, None, None)
}

/// One request; returns the whole answer, head and body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn json_body(answer: &str) -> serde_json::Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"))
}

/// Starts `serve`, waits for its "listening" line and returns the child, its address and the
/// lines it printed.
fn start_server(data: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = steward(data)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let addr = loop {
        assert!(Instant::now() < deadline, "server did not start");
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
    (child, addr)
}

fn stop(mut child: Child) -> String {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(status.success(), "server exited with {status}");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).expect("stderr");
    }
    err
}

#[test]
fn demo_data_leaves_no_plaintext_anywhere_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (child, addr) = start_server(&data, &["--demo"]);
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let metrics = http_get(&addr, "/metrics");
    assert!(metrics.contains("steward_customers 1000"), "{metrics}");
    let notice = http_get(&addr, "/privacy");
    assert!(
        notice.starts_with("HTTP/1.1 200") && notice.contains("Version demo-1"),
        "the demo publishes its privacy notice: {notice}"
    );
    let log = stop(child);

    let demo = steward_app::demo::customers(steward_app::demo::DEMO_CUSTOMERS);
    let countries: std::collections::BTreeSet<_> = demo.iter().map(|c| c.residency).collect();
    assert!(countries.len() >= 8, "{countries:?}");
    let mut needles: Vec<String> = Vec::new();
    for c in &demo {
        needles.push(c.email.clone());
        needles.push(c.phone.clone());
        needles.push(format!("{} {}", c.given_name, c.family_name));
        needles.push(c.given_name.clone());
        needles.push(c.family_name.clone());
    }
    needles.sort();
    needles.dedup();
    // One pass per file over all the values at once.
    let scanner = aho_corasick::AhoCorasick::new(&needles).expect("patterns");
    let files = files_under(&data);
    assert!(
        files.iter().any(|f| f.ends_with("steward.db"))
            && files.iter().any(|f| f.ends_with("keystore.db"))
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        if let Some(m) = scanner.find(&bytes) {
            panic!(
                "{} holds demo value {:?} in plaintext",
                file.display(),
                needles[m.pattern().as_usize()]
            );
        }
    }
    if let Some(m) = scanner.find(&log) {
        panic!(
            "the server log holds demo value {:?}",
            needles[m.pattern().as_usize()]
        );
    }
    // The scanner itself finds what it looks for.
    assert!(
        scanner
            .find(format!("x{}y", needles[0]).as_bytes())
            .is_some()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("keys/master.key"))
            .expect("meta")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Restarting with --demo on a full database adds nothing.
    let (child, addr) = start_server(&data, &["--demo"]);
    assert!(http_get(&addr, "/metrics").contains("steward_customers 1000"));
    stop(child);
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

fn copy_dir(from: &Path, to: &Path) {
    for file in files_under(from) {
        let dest = to.join(file.strip_prefix(from).expect("inside"));
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&file, &dest).expect("copy");
    }
}

/// Recomputes every link from entry `from` on, as someone covering a change would.
fn rechain(db: &rusqlite::Connection, from: i64) {
    use steward_core::audit::{AuditRecord, chain_hash};
    let mut rows = db
        .prepare(
            "SELECT seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash
             FROM audit_log ORDER BY seq",
        )
        .expect("prepare");
    let entries: Vec<(i64, AuditRecord, Vec<u8>)> = rows
        .query_map([], |r| {
            let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                Ok(serde_json::from_str(&r.get::<_, String>(i)?).expect("json list"))
            };
            Ok((
                r.get(0)?,
                AuditRecord {
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    role: r.get(3)?,
                    action: r.get(4)?,
                    purpose: r.get(5)?,
                    targets: list(6)?,
                    fields: list(7)?,
                    detail: r.get(8)?,
                },
                r.get(9)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut prev: [u8; 32] = entries
        .iter()
        .find(|(seq, _, _)| *seq == from)
        .map(|(_, _, p)| p.as_slice().try_into().expect("32 bytes"))
        .expect("entry");
    for (seq, record, _) in entries.iter().filter(|(seq, _, _)| *seq >= from) {
        let hash = chain_hash(&prev, *seq, record);
        db.execute(
            "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![&prev[..], &hash[..], seq],
        )
        .expect("relink");
        prev = hash;
    }
}

#[test]
fn audit_verify_detects_a_cut_tail_a_recomputed_chain_and_deleted_heads_on_a_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for i in 0..12 {
        let out = run(steward(&data).args([
            "token",
            "create",
            "--role",
            "agent",
            "--name",
            &format!("t{i}"),
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let ok = run(steward(&data).args(["audit", "verify"]));
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    type Tamper<'a> = &'a dyn Fn(&rusqlite::Connection);
    let cases: [(&str, Tamper, &str); 3] = [
        (
            "tail cut",
            &|db| {
                db.execute("DELETE FROM audit_log WHERE seq > 9", [])
                    .expect("cut");
            },
            "(truncated): entries 10 to 12 were removed",
        ),
        (
            "rewrite with the chain recomputed",
            &|db| {
                db.execute("UPDATE audit_log SET role = 'admin' WHERE seq = 5", [])
                    .expect("rewrite");
                rechain(db, 5);
            },
            "(rewritten)",
        ),
        (
            "rewrite, chain recomputed, every head deleted",
            &|db| {
                db.execute("UPDATE audit_log SET role = 'admin' WHERE seq = 5", [])
                    .expect("rewrite");
                rechain(db, 5);
                db.execute("DELETE FROM audit_head", []).expect("heads");
            },
            "(rewritten)",
        ),
    ];
    for (i, (case, tamper, expected)) in cases.iter().enumerate() {
        let copy = dir.path().join(format!("copy{i}"));
        copy_dir(&data, &copy);
        tamper(&rusqlite::Connection::open(copy.join("steward.db")).expect("db"));
        let out = run(steward(&copy).args(["audit", "verify"]));
        assert_eq!(out.status.code(), Some(2), "{case}: {}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains(expected),
            "{case}: {}",
            text(&out.stdout)
        );
    }
    // With only the head deleted, the entries are all there but nothing in the database vouches for them.
    let copy = dir.path().join("no-head");
    copy_dir(&data, &copy);
    rusqlite::Connection::open(copy.join("steward.db"))
        .expect("db")
        .execute("DELETE FROM audit_head", [])
        .expect("heads");
    let out = run(steward(&copy).args(["audit", "verify"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("(no_signed_head)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn audit_verify_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for i in 0..3 {
        let out = run(steward(&data).args([
            "token",
            "create",
            "--role",
            "agent",
            "--name",
            &format!("t{i}"),
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let token = text(&out.stdout);
        assert_eq!(
            token.lines().count(),
            1,
            "only the token is printed: {token}"
        );
        assert!(token.starts_with("stw_"));
    }
    let ok = run(steward(&data).args(["audit", "verify"]));
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(
        text(&ok.stdout).contains("3 entries"),
        "{}",
        text(&ok.stdout)
    );
    let db = rusqlite::Connection::open(data.join("steward.db")).expect("db");
    db.execute("UPDATE audit_log SET role = 'admin' WHERE seq = 2", [])
        .expect("tamper");
    let bad = run(steward(&data).args(["audit", "verify"]));
    assert!(!bad.status.success());
    assert!(
        text(&bad.stdout).contains("entry 2"),
        "{}",
        text(&bad.stdout)
    );
}

#[test]
fn bad_settings_and_catalogs_stop_start_up_with_a_message_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = run(steward(&data)
        .arg("init")
        .env("STEWARD_LISTEN", "not-an-address"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("LISTEN"),
        "{}",
        text(&out.stderr)
    );

    for (name, value, expected) in [
        (
            "STEWARD_READABILITY_THRESHOLD",
            "120",
            "readability_threshold",
        ),
        ("STEWARD_MAIL_FROM", "not an address", "mail_from"),
        ("STEWARD_SMTP_URL", "ftp://mail", "smtp_url"),
        ("STEWARD_PUBLIC_URL", "mail.example.com", "public_url"),
    ] {
        let out = run(steward(&data).arg("init").env(name, value));
        assert!(!out.status.success(), "{name}={value}");
        assert!(
            text(&out.stderr).contains(expected),
            "{name}: {}",
            text(&out.stderr)
        );
    }

    let config = dir.path().join("steward.toml");
    std::fs::write(&config, "data_dir = \"x\"\nlisten_port = 80\n").expect("write");
    let out = run(steward(&data).arg("--config").arg(&config).arg("init"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("listen_port"),
        "{}",
        text(&out.stderr)
    );

    let out = run(steward(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.path().join("cert.pem")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("tls_key"),
        "{}",
        text(&out.stderr)
    );
    let missing = dir.path().join("missing-cert.pem");
    let out = run(steward(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&missing)
        .arg("--tls-key")
        .arg(&missing));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("missing-cert.pem"),
        "{}",
        text(&out.stderr)
    );

    let catalog = dir.path().join("extra.toml");
    std::fs::write(&catalog, "[[field]]\nkey = \"shoe_size\"\nlabel = \"Shoe size\"\ncategory = \"user.demographic\"\nsensitivity = \"standard\"\nkind = \"text\"\nmax_length = 4\npurposes = [\"selling\"]\n").expect("write");
    let out = run(steward(&data).arg("--catalog").arg(&catalog).arg("init"));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("extra.toml:1") && err.contains("selling"),
        "{err}"
    );
}

#[test]
fn import_and_export_through_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "E-Mail,Given name,phone\nada@example.com,Ada,+44 20 7946 0000\nbad,Bad,\nbob@example.com,=1+2,\n",
    )
    .expect("write");
    let map = dir.path().join("map.toml");
    std::fs::write(&map, "\"E-Mail\" = \"email\"\n").expect("write");
    let out = run(steward(&data)
        .args(["import", "customers"])
        .arg(&csv)
        .arg("--map")
        .arg(&map)
        .args(["--residency", "GB"]));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("2 created, 0 updated, 1 rejected"),
        "{}",
        text(&out.stdout)
    );
    let rejects =
        std::fs::read_to_string(dir.path().join("people.csv.rejects.csv")).expect("rejects");
    assert!(rejects.contains("3,fields.email"), "{rejects}");

    let export = dir.path().join("out.csv");
    let out = run(steward(&data)
        .args([
            "export",
            "customers",
            "--purpose",
            "essential.service",
            "--format",
            "csv",
            "--output",
        ])
        .arg(&export));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = std::fs::read_to_string(&export).expect("export");
    assert!(
        exported.contains("ada@example.com") && exported.contains("+442079460000"),
        "{exported}"
    );
    assert!(
        exported.contains("'=1+2"),
        "formula neutralised: {exported}"
    );
    let out = run(steward(&data).args([
        "export",
        "customers",
        "--purpose",
        "essential.service",
        "--format",
        "jsonl",
    ]));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    let out = run(steward(&data).args([
        "export",
        "customers",
        "--purpose",
        "marketing.communications.email",
        "--format",
        "xml",
    ]));
    assert!(!out.status.success() && text(&out.stderr).contains("--format"));
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn a_killed_import_resumes_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let rows = 60_000;
    let csv = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
    writeln!(f, "email,given_name,family_name,residency").expect("write");
    for i in 0..rows {
        writeln!(f, "person{i}@example.com,Given{i},Family{i},DE").expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    let run_import = || {
        steward(&data)
            .args(["import", "customers"])
            .arg(&csv)
            .args(["--batch", "500"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    // Initialise first so the database exists to be watched.
    assert!(run(steward(&data).arg("init")).status.success());
    let mut child = run_import();
    let db = rusqlite::Connection::open(data.join("steward.db")).expect("db");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: i64 = db
            .query_row(
                "SELECT coalesce(max(imported), 0) FROM import_jobs",
                [],
                |r| r.get(0),
            )
            .expect("progress");
        if done >= 2_000 {
            break;
        }
        assert!(Instant::now() < deadline, "import made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    let partial: i64 = db
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    assert!(
        partial < rows,
        "the import was interrupted (imported {partial})"
    );

    let out = run_import().wait_with_output().expect("resume");
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("resumed after line"),
        "{}",
        text(&out.stdout)
    );
    let total: i64 = db
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(total, rows, "every row exactly once");
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn consent_receipts_verify_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    assert!(run(steward(&data).arg("init")).status.success());
    let token = run(steward(&data).args([
        "token",
        "create",
        "--role",
        "agent",
        "--purpose",
        "essential.service",
    ]));
    let token = text(&token.stdout).trim().to_string();
    let (child, addr) = start_server(&data, &[]);
    let created = json_body(&http(
        &addr,
        "POST",
        "/api/v1/customers",
        Some(&token),
        Some(r#"{"fields":{"email":"ada@example.com"},"residency":"GB"}"#),
    ));
    let id = created["id"].as_str().expect("id").to_string();
    let event = json_body(&http(
        &addr,
        "POST",
        &format!("/api/v1/customers/{id}/consents"),
        Some(&token),
        Some(r#"{"purpose":"marketing.communications.email","state":"given"}"#),
    ));
    let event_id = event["id"].as_str().expect("event id").to_string();
    let receipt = json_body(&http(
        &addr,
        "GET",
        &format!("/api/v1/receipts/{event_id}"),
        Some(&token),
        None,
    ));
    stop(child);
    let jws = receipt["jws"].as_str().expect("jws");
    let file = dir.path().join("receipt.jws");
    std::fs::write(&file, jws).expect("write");
    let ok = run(steward(&data)
        .args(["consent", "verify-receipt"])
        .arg(&file));
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains(&event_id));

    let mut forged = jws.to_string().into_bytes();
    let at = forged.len() - 3;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, &forged).expect("write");
    let bad = run(steward(&data)
        .args(["consent", "verify-receipt"])
        .arg(&file));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stdout).contains("NOT valid"),
        "{}",
        text(&bad.stdout)
    );
}

#[test]
fn lapsed_consents_are_expired_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    assert!(run(steward(&data).arg("init")).status.success());
    let out = run(steward(&data).args(["consent", "expire"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 lapsed consents marked expired"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_killed_retention_sweep_is_finished_by_the_next_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let customers = 4_000;
    let per_customer = 10;
    let csv = dir.path().join("people.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
    writeln!(f, "email,given_name,residency").expect("write");
    for i in 0..customers {
        writeln!(f, "visitor{i}@example.com,Visitor,DE").expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    let import = run(steward(&data).args(["import", "customers"]).arg(&csv));
    assert!(import.status.success(), "{}", text(&import.stderr));
    // Web visits of a hundred days ago, past the default rule's ninety. The sweeper deletes
    // them without opening them, so their content need not be real.
    let db = rusqlite::Connection::open(data.join("steward.db")).expect("db");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64;
    let then = now - 100 * 86_400_000_000;
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO interactions (id, customer_id, kind, occurred_at, sealed, created_at)
         SELECT randomblob(16), c.id, 'web_visit', ?2, x'00', ?2 FROM customers c, n",
        rusqlite::params![per_customer, then],
    )
    .expect("visits");
    let due = (customers * per_customer) as i64;

    let sweep = || {
        steward(&data)
            .args(["retention", "run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let mut child = sweep();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: i64 = db
            .query_row("SELECT count(*) FROM retention_actions", [], |r| r.get(0))
            .unwrap_or(0);
        if done >= 2_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the sweep made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    let partial: i64 = db
        .query_row("SELECT count(*) FROM retention_actions", [], |r| r.get(0))
        .expect("count");
    assert!(
        partial < due,
        "the sweep was interrupted ({partial} of {due})"
    );

    let out = sweep().wait_with_output().expect("second sweep");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("web-visits"),
        "{}",
        text(&out.stderr)
    );
    let (acted, runs): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT run_id) FROM retention_actions WHERE rule_key = 'web-visits'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("actions");
    assert_eq!(
        (acted, runs),
        (due, 2),
        "every visit acted on once, by two runs"
    );
    let left: i64 = db
        .query_row(
            "SELECT count(*) FROM interactions WHERE kind = 'web_visit'",
            [],
            |r| r.get(0),
        )
        .expect("left");
    assert_eq!(left, 0);
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));

    let dry = run(steward(&data).args(["retention", "run", "--dry-run"]));
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert_eq!(
        text(&dry.stdout).trim(),
        "rule,record_id,customer_id,anchor_at,due_at",
        "nothing more is due"
    );
}
