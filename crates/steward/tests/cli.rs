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
    // A socket that accepts and never answers fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
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
    let (child, addr, _) = start_server_with_metrics(data, extra);
    (child, addr)
}

/// Starts `serve` and returns the process, its address and, when it serves metrics on a
/// listener of their own, that address too.
fn start_server_with_metrics(data: &Path, extra: &[&str]) -> (Child, String, Option<String>) {
    start(&mut steward(data), extra)
}

/// Starts `serve` with `extra` arguments from `cmd`, which may set the environment.
fn start(cmd: &mut Command, extra: &[&str]) -> (Child, String, Option<String>) {
    let mut child = cmd
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
    let mut metrics = None;
    let addr = loop {
        assert!(Instant::now() < deadline, "server did not start");
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("line");
        if let Some(rest) = line.strip_prefix("Metrics are served on http://") {
            metrics = rest.strip_suffix("/metrics").map(str::to_string);
        }
        if let Some(rest) = line.strip_prefix("Steward is listening on http://") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    (child, addr, metrics)
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
    let (child, addr, metrics_addr) =
        start_server_with_metrics(&data, &["--demo", "--metrics-listen", "127.0.0.1:0"]);
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let public = http_get(&addr, "/metrics");
    assert!(!public.contains("steward_customers"), "{public}");
    let metrics = http_get(&metrics_addr.expect("a metrics listener"), "/metrics");
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
    // Every file Steward keeps is its operator's alone: the database and its log, the keys,
    // the witness file and the mail log.
    for file in files_under(&data) {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&file).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    assert!(data.join("keys/audit-witness.jsonl").exists());

    // Restarting with --demo on a full database adds nothing.
    let (child, _, metrics_addr) =
        start_server_with_metrics(&data, &["--demo", "--metrics-listen", "127.0.0.1:0"]);
    let metrics = http_get(&metrics_addr.expect("a metrics listener"), "/metrics");
    assert!(metrics.contains("steward_customers 1000"), "{metrics}");
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
        (
            "STEWARD_RECIPIENT_NOTICE_WITHIN",
            "soon",
            "recipient_notice_within",
        ),
        (
            "STEWARD_RECIPIENT_NOTICE_WITHIN",
            "P0D",
            "recipient_notice_within",
        ),
        (
            "STEWARD_WEBHOOK_EXTRA_ROOTS",
            "/nonexistent/roots.pem",
            "webhook_extra_roots",
        ),
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
fn the_name_index_is_written_again_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,given_name,family_name\r\nzoe@example.com,Zoë,Smith-Jones\r\n\
         ada@example.com,Ada,O'Brien\r\nli@example.com,Li,\r\n",
    )
    .expect("write");
    let out = run(steward(&data)
        .args(["import", "customers"])
        .arg(&csv)
        .args(["--residency", "DE"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let names = "SELECT COUNT(*) FROM blind_index WHERE field IN ('given_name', 'family_name')";
    let db = || rusqlite::Connection::open(data.join("steward.db")).expect("db");
    let written = count(&db(), names);
    assert_eq!(written, 6, "zoe smith jones ada obrien li");
    db().execute(
        "DELETE FROM blind_index WHERE field IN ('given_name', 'family_name')",
        [],
    )
    .expect("forget");

    let out = run(steward(&data).args(["customers", "reindex"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("written again for 3 customers"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(count(&db(), names), written);
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
    assert!(text(&ok.stdout).contains("matching the consent ledger"));

    // Once the customer is erased, the receipt they kept verifies through the proof.
    let dpo = run(steward(&data).args([
        "token",
        "create",
        "--role",
        "dpo",
        "--purpose",
        "essential.legal_obligation",
    ]));
    let dpo = text(&dpo.stdout).trim().to_string();
    let (child, addr) = start_server(&data, &[]);
    let erased = http(
        &addr,
        "DELETE",
        &format!("/api/v1/customers/{id}"),
        Some(&dpo),
        None,
    );
    stop(child);
    assert!(erased.starts_with("HTTP/1.1 204"), "{erased}");
    let kept = run(steward(&data)
        .args(["consent", "verify-receipt"])
        .arg(&file));
    assert!(kept.status.success(), "{}", text(&kept.stdout));
    assert!(
        text(&kept.stdout).contains("matching the proof kept when the customer was erased"),
        "{}",
        text(&kept.stdout)
    );

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

#[test]
fn an_unknown_header_is_named_with_the_catalog_fields_and_the_map_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "email,Shoe size\nada@example.com,42\n").expect("write");
    let out = run(steward(&data).args(["import", "customers"]).arg(&csv));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for part in [
        "\"Shoe size\"",
        "given_name, family_name, email",
        "--map FILE",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(!err.contains("ada@example.com"), "{err}");
}

#[test]
fn an_import_into_a_log_prints_lines_of_progress_and_a_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
    writeln!(f, "email,given_name,residency").expect("write");
    for i in 0..1_500 {
        writeln!(f, "person{i}@example.com,Given{i},DE").expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    // Output into pipes, as under a job runner: no terminal, so no progress bar.
    let out = run(steward(&data)
        .args(["import", "customers"])
        .arg(&csv)
        .args(["--batch", "500"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with("import: ")).collect();
    assert!(!progress.is_empty(), "no line of progress: {err}");
    assert!(
        progress[0].contains("% of") && progress[0].contains("created"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("1500 created, 0 updated, 0 rejected"),
        "{}",
        text(&out.stdout)
    );
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn keys_a_killed_import_wrote_for_rows_it_never_committed_are_swept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let write_file = |name: &str, prefix: &str, rows: usize| {
        let path = dir.path().join(name);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(f, "email,given_name,residency").expect("write");
        for i in 0..rows {
            writeln!(f, "{prefix}{i}@example.com,Given{i},DE").expect("write");
        }
        f.flush().expect("flush");
        path
    };
    let earlier = write_file("earlier.csv", "earlier", 300);
    let later = write_file("later.csv", "later", 5_000);
    let import = |file: &Path| {
        let mut c = steward(&data);
        c.args(["import", "customers"])
            .arg(file)
            .args(["--batch", "500"]);
        c
    };
    let out = run(&mut import(&earlier));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let db = rusqlite::Connection::open(data.join("steward.db")).expect("db");
    db.busy_timeout(Duration::from_secs(30)).expect("timeout");
    let keys = rusqlite::Connection::open(data.join("keys").join("keystore.db")).expect("keys");
    let live = count(&db, "SELECT count(*) FROM customers");
    assert_eq!(live, 300);
    assert_eq!(count(&keys, "SELECT count(*) FROM data_keys"), live);

    let mut child = import(&later)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Once the import has opened everything (its reject file exists), hold the data
    // database's write lock: its next batch writes keys and then waits to commit the rows.
    let rejects = dir.path().join("later.csv.rejects.csv");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !rejects.exists() {
        assert!(Instant::now() < deadline, "the import did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    db.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let committed = count(&db, "SELECT count(*) FROM customers");
    while count(&keys, "SELECT count(*) FROM data_keys") <= committed {
        assert!(Instant::now() < deadline, "no keys were written");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    db.execute_batch("ROLLBACK").expect("unlock");
    let customers = count(&db, "SELECT count(*) FROM customers");
    assert!(
        count(&keys, "SELECT count(*) FROM data_keys") > customers,
        "the kill left keys without customers"
    );

    let out = run(&mut import(&later));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let customers = count(&db, "SELECT count(*) FROM customers");
    assert_eq!(customers, 5_300, "every row of both files once");
    assert_eq!(
        count(&keys, "SELECT count(*) FROM data_keys"),
        customers,
        "no key without its customer"
    );
    // Every customer, of the earlier import too, still opens with its key.
    let out = run(steward(&data).args([
        "export",
        "customers",
        "--purpose",
        "essential.service",
        "--format",
        "jsonl",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 5_300);
}

fn sign_in(addr: &str, email: &str, password: &str) -> String {
    http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&serde_json::json!({"email": email, "password": password}).to_string()),
    )
}

#[test]
fn a_busy_port_stops_a_demo_start_before_anything_is_loaded_and_accounts_are_managed_from_the_command_line()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").to_string();
    let out = run(steward(&data).args(["serve", "--demo", "--listen", &port]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(&format!("listening on {port}")),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stdout).contains("Demo console account"),
        "no password printed for a server that never ran: {}",
        text(&out.stdout)
    );
    let db = data.join("steward.db");
    let loaded = db.exists()
        && count(
            &rusqlite::Connection::open(&db).expect("db"),
            "SELECT count(*) FROM customers",
        ) > 0;
    assert!(!loaded, "no demo data loaded");
    drop(busy);

    let (child, addr) = start_server(&data, &["--demo"]);
    let out = run(steward(&data).args(["user", "list"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("demo-agent@example.com")
            && listed.contains("agent")
            && listed.contains("active"),
        "{listed}"
    );
    let id = listed
        .split_whitespace()
        .next()
        .expect("the account's id")
        .to_string();

    let out = run(steward(&data).args(["user", "reset-password", "Demo-Agent@example.com"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let password = text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("new password (shown once): "))
        .expect("the new password")
        .to_string();
    let session = sign_in(&addr, "demo-agent@example.com", &password);
    assert!(session.starts_with("HTTP/1.1 200"), "{session}");
    assert!(json_body(&session)["token"].is_string(), "a session began");

    let out = run(steward(&data).args(["user", "disable", &id]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refused = sign_in(&addr, "demo-agent@example.com", &password);
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    let db = rusqlite::Connection::open(&db).expect("db");
    let live: i64 = db
        .query_row(
            "SELECT count(*) FROM api_tokens WHERE created_by = ?1 AND revoked_at IS NULL",
            [format!("user:{id}")],
            |r| r.get(0),
        )
        .expect("sessions");
    assert_eq!(live, 0, "disabling ended the session");
    let out = run(steward(&data).args(["user", "list"]));
    assert!(
        text(&out.stdout).contains("disabled"),
        "{}",
        text(&out.stdout)
    );
    let out = run(steward(&data).args(["user", "disable", "nobody@example.com"]));
    assert!(!out.status.success());

    let auditor = text(&run(steward(&data).args(["token", "create", "--role", "auditor"])).stdout)
        .trim()
        .to_string();
    for action in ["user.password_reset", "user.update"] {
        let found = json_body(&http(
            &addr,
            "GET",
            &format!("/api/v1/audit?action={action}&target=user:{id}"),
            Some(&auditor),
            None,
        ));
        assert_eq!(
            found["items"].as_array().map(Vec::len),
            Some(1),
            "{action}: {found}"
        );
    }
    stop(child);
}

#[test]
fn secrets_are_read_from_the_files_their_variables_name_and_never_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let secret = dir.path().join("smtp_url");

    // A mounted secret ends with a line break; the server takes the URL and so no longer
    // writes mail to the plain-text log.
    std::fs::write(&secret, "smtp://mailer:s3cret@127.0.0.1:2525\n").expect("write");
    let (child, addr, _) = start(steward(&data).env("STEWARD_SMTP_URL_FILE", &secret), &[]);
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let log = stop(child);
    assert!(
        !log.contains("mail.log"),
        "the SMTP URL came from the file: {log}"
    );
    assert!(!log.contains("s3cret"), "{log}");

    std::fs::write(&secret, "ftp://mailer:s3cret@mail\n").expect("write");
    let out = run(steward(&data)
        .arg("init")
        .env("STEWARD_SMTP_URL_FILE", &secret));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("smtp_url") && !err.contains("s3cret"), "{err}");

    let out = run(steward(&data)
        .arg("init")
        .env("STEWARD_SMTP_URL_FILE", &secret)
        .env("STEWARD_SMTP_URL", "smtp://127.0.0.1:2525"));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("STEWARD_SMTP_URL and STEWARD_SMTP_URL_FILE"),
        "{err}"
    );

    let out = run(steward(&data)
        .arg("init")
        .env("STEWARD_DATABASE_URL_FILE", dir.path().join("nowhere")));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("STEWARD_DATABASE_URL_FILE"), "{err}");
}

/// The test PostgreSQL server's port and the CA that signed its certificate (for `localhost`
/// only), as scripts/test exports them; missing, the test fails rather than pass unrun.
fn tls_test_server() -> (String, String) {
    let url = std::env::var("STEWARD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("STEWARD_TEST_DATABASE_URL is not set: run the test suite with scripts/test")
    });
    let ca = std::env::var("STEWARD_TEST_PG_CA").unwrap_or_else(|_| {
        panic!("STEWARD_TEST_PG_CA is not set: run the test suite with scripts/test, which starts PostgreSQL with TLS")
    });
    let authority = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the test database URL has a host");
    let port = authority
        .rsplit(':')
        .next()
        .expect("the test database URL has a port");
    (port.to_string(), ca)
}

#[test]
fn serve_refuses_a_database_whose_certificate_is_not_for_the_host_it_was_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (port, ca) = tls_test_server();
    let url = format!(
        "postgres://steward:hunter2@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    );
    let out = run(steward(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(&url));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("database_url"), "{err}");
    assert!(err.contains("sslmode=verify-full"), "{err}");
    assert!(err.contains("not valid for host 127.0.0.1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn only_serve_warns_that_mail_goes_to_a_plain_text_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for args in [
        &["init"][..],
        &["token", "create", "--role", "auditor"],
        &["user", "list"],
    ] {
        let out = run(steward(&data).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains("mail.log"),
            "{args:?} sends no mail: {}",
            text(&out.stderr)
        );
    }
    let (child, _) = start_server(&data, &[]);
    let log = stop(child);
    assert!(
        log.contains("mail.log") && log.contains("plain text"),
        "serve says where its mail goes: {log}"
    );
}

/// A processor keeping data in `stores_in`, in the form the API and `vendors add` take.
fn vendor_json(stores_in: &str) -> String {
    format!(
        r#"{{"legal_name":"Postwerk Mail Ltd","address":"1 Market Street","contact_person":"Dana Whitfield",
"role":"processor","established_in":["DE"],"stores_in":[{stores_in}],"accesses_from":[],
"dpa":{{"signed_on":"2025-06-01","version":"3.0","sha256":"{}","checklist":{{"instructions":true,
"confidentiality":true,"security":true,"sub_processor_conditions":true,"help_with_requests":true,
"help_with_arts_32_to_36":true,"deletion_or_return":true,"audits":true}}}},
"certifications":[],"risk_tier":2,"status":"active"}}"#,
        "0f".repeat(32)
    )
}

#[test]
fn the_vendor_register_is_kept_and_read_at_the_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let good = dir.path().join("vendor.json");
    std::fs::write(&good, vendor_json(r#""DE""#)).expect("write");
    let added = run(steward(&data).args(["vendors", "add"]).arg(&good));
    assert!(added.status.success(), "{}", text(&added.stderr));
    let line = text(&added.stdout);
    assert!(line.contains("Postwerk Mail Ltd"), "{line}");
    assert!(line.contains("never reviewed"), "{line}");
    assert!(line.contains("DPA current"), "{line}");

    // An unknown country is refused naming the field, and nothing is entered.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, vendor_json(r#""DE","XX""#)).expect("write");
    let refused = run(steward(&data).args(["vendors", "add"]).arg(&bad));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("stores_in[1]"),
        "{}",
        text(&refused.stderr)
    );

    let listed = run(steward(&data).args(["vendors", "list"]));
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let out = text(&listed.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("processor") && out.contains("active"), "{out}");
}

#[test]
fn a_share_is_checked_written_signed_and_refused_at_the_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,given_name,residency\r\nq7.ines@example.com,Inès,DE\r\nb2.yusuf@example.com,يوسف,FR\r\nm9.olu@example.com,Olu,DE\r\n",
    )
    .expect("write");
    let import = run(steward(&data).args(["import", "customers"]).arg(&csv));
    assert!(import.status.success(), "{}", text(&import.stderr));
    let db = rusqlite::Connection::open(data.join("steward.db")).expect("db");
    let ids: Vec<String> = db
        .prepare("SELECT id FROM customers")
        .expect("query")
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .expect("ids")
        .map(|b| {
            uuid::Uuid::from_slice(&b.expect("id"))
                .expect("uuid")
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 3);
    drop(db);
    // The first two customers, as a browser's download would list them: CRLF and a blank line.
    let asked = dir.path().join("ids.txt");
    std::fs::write(&asked, format!("{}\r\n\r\n{}\r\n", ids[0], ids[1])).expect("write");

    let vendor_file = dir.path().join("vendor.json");
    std::fs::write(&vendor_file, vendor_json(r#""DE""#)).expect("write");
    let added = run(steward(&data).args(["vendors", "add"]).arg(&vendor_file));
    assert!(added.status.success(), "{}", text(&added.stderr));
    let vendor = text(&added.stdout)
        .split_whitespace()
        .next()
        .expect("the vendor's id")
        .to_string();

    let out = dir.path().join("share.jsonl");
    let share = |fields: &[&str]| {
        let mut cmd = steward(&data);
        cmd.args(["share", "--vendor", &vendor])
            .args(["--purpose", "essential.service", "--customers"])
            .arg(&asked)
            .arg("-o")
            .arg(&out);
        for f in fields {
            cmd.args(["--field", f]);
        }
        run(&mut cmd)
    };
    let refused = share(&["email"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("REVIEW_OVERDUE"),
        "a vendor never reviewed receives nothing: {}",
        text(&refused.stderr)
    );
    assert!(!out.exists(), "a refused share writes no file");

    let today = jiff::Zoned::now().date();
    let review = dir.path().join("review.json");
    let answers: Vec<String> = steward_app::core::sharing::ReviewQuestion::ALL
        .iter()
        .map(|q| format!(r#""{}":"yes""#, q.as_str()))
        .collect();
    std::fs::write(
        &review,
        format!(
            r#"{{"reviewed_on":"{today}","reviewer":"A. Privacy Officer","answers":{{{}}},"outcome":"approved"}}"#,
            answers.join(",")
        ),
    )
    .expect("write");
    let reviewed = run(steward(&data)
        .args(["vendors", "review", &vendor])
        .arg(&review));
    assert!(reviewed.status.success(), "{}", text(&reviewed.stderr));
    let refused = share(&["email"]);
    assert!(
        text(&refused.stderr).contains("NO_AGREEMENT"),
        "{}",
        text(&refused.stderr)
    );

    let agreement = dir.path().join("agreement.json");
    std::fs::write(
        &agreement,
        format!(
            r#"{{"vendor":"{vendor}","purposes":["essential.service"],"categories":["user.contact"],
"destinations":[],"valid_from":"{today}","onward_transfer":false}}"#
        ),
    )
    .expect("write");
    let agreed = run(steward(&data).args(["agreements", "add"]).arg(&agreement));
    assert!(agreed.status.success(), "{}", text(&agreed.stderr));
    let refused = share(&["email", "given_name"]);
    let said = text(&refused.stderr);
    assert!(
        said.contains("CATEGORY_NOT_AGREED") && said.contains("given_name"),
        "{said}"
    );
    assert!(!out.exists());

    let shared = share(&["email"]);
    assert!(shared.status.success(), "{}", text(&shared.stderr));
    assert!(
        text(&shared.stdout).contains("2 customers shared"),
        "{}",
        text(&shared.stdout)
    );
    let document = std::fs::read_to_string(&out).expect("the document");
    let lines: Vec<serde_json::Value> = document
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "a header and the two asked: {document}");
    assert_eq!(lines[0]["vendor_id"], vendor.as_str());
    let mut delivered: Vec<(String, serde_json::Value)> = lines[1..]
        .iter()
        .map(|l| {
            (
                l["customer_id"].as_str().expect("id").to_string(),
                l["fields"].clone(),
            )
        })
        .collect();
    delivered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();
    assert_eq!(
        delivered.iter().map(|d| d.0.clone()).collect::<Vec<_>>(),
        expected
    );
    for (_, fields) in &delivered {
        let keys: Vec<&String> = fields.as_object().expect("fields").keys().collect();
        assert_eq!(keys, ["email"], "only the agreed field goes");
    }
    assert!(!document.contains("m9.olu@example.com"), "not asked for");
    assert!(!document.contains("Inès") && !document.contains("يوسف"));
    let signature: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("share.jsonl.sig")).expect("the signature"),
    )
    .expect("JSON");
    assert_eq!(signature["algorithm"], "Ed25519");
    assert!(
        signature["signature"]
            .as_str()
            .is_some_and(|s| s.len() > 80)
    );
}

#[test]
fn the_record_of_processing_is_written_as_markdown_csv_or_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let vendor = dir.path().join("vendor.json");
    std::fs::write(&vendor, vendor_json(r#""DE","CH""#)).expect("write");
    let added = run(steward(&data).args(["vendors", "add"]).arg(&vendor));
    assert!(added.status.success(), "{}", text(&added.stderr));
    let catalog = steward_core::Catalog::default_catalog().expect("catalog");

    let md = run(steward(&data)
        .env("STEWARD_CONTROLLER_NAME", "Shop Example GmbH")
        .args(["ropa", "--format", "md"]));
    assert!(md.status.success(), "{}", text(&md.stderr));
    let md = text(&md.stdout);
    assert!(md.contains("Shop Example GmbH"), "{md}");
    assert!(md.contains("Postwerk Mail Ltd"), "{md}");
    assert!(
        md.contains("| Postwerk Mail Ltd | Switzerland | CH | adequacy decision"),
        "{md}"
    );
    for p in catalog.purposes() {
        assert!(md.contains(&p.key), "{} in the Markdown", p.key);
    }
    for r in catalog.retention_rules() {
        assert!(md.contains(&r.key), "{} in the Markdown", r.key);
    }

    let out = dir.path().join("ropa.csv");
    let csv = run(steward(&data)
        .args(["ropa", "--format", "csv", "-o"])
        .arg(&out));
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let csv = std::fs::read_to_string(&out).expect("written");
    assert!(csv.starts_with("section,key,name,attribute,value"), "{csv}");
    for p in catalog.purposes() {
        assert!(
            csv.contains(&format!("purpose,{},", p.key)),
            "{} in the CSV",
            p.key
        );
    }
    assert!(
        csv.contains("third_country,CH,Switzerland,Postwerk Mail Ltd,"),
        "{csv}"
    );

    let json = run(steward(&data).args(["ropa", "--format", "json"]));
    assert!(json.status.success(), "{}", text(&json.stderr));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(
        json["purposes"].as_array().map(Vec::len),
        Some(catalog.purposes().len())
    );

    let bad = run(steward(&data).args(["ropa", "--format", "pdf"]));
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("md, csv or json"),
        "{}",
        text(&bad.stderr)
    );
}

const BREACH_PLAN: &str = r#"
[breach_plan]
team = [
  { role = "lead", name = "Grace Hopper", email = "grace@shop.test" },
  { role = "dpo", name = "Ada Lovelace", email = "dpo@shop.test" },
]
lead_authority = { name = "CNIL", contact = "https://notifications.cnil.fr/" }
steps = [
  { step = "contain", owner = "lead", description = "Revoke access." },
  { step = "assess", owner = "dpo", description = "Judge the risk." },
  { step = "notify_authority", owner = "dpo", description = "Within 72 hours." },
  { step = "notify_customers", owner = "dpo", description = "When the risk is high." },
  { step = "review", owner = "lead", description = "What we learned." },
]
"#;

#[test]
fn the_breach_plan_is_checked_at_start_up_and_breaches_are_read_at_the_machine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("steward.toml");
    std::fs::write(
        &config,
        BREACH_PLAN.replace(
            "owner = \"dpo\", description = \"Judge",
            "owner = \"intern\", description = \"Judge",
        ),
    )
    .expect("write");
    let out = run(steward(&data).arg("--config").arg(&config).arg("init"));
    assert!(
        !out.status.success(),
        "a plan with a stranger owning a step"
    );
    assert!(
        text(&out.stderr).contains("breach_plan.steps[1].owner"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(&config, BREACH_PLAN).expect("write");
    let with = |c: &mut Command| -> Output { run(c.arg("--config").arg(&config)) };
    let empty = with(steward(&data).args(["breach", "list"]));
    assert!(empty.status.success(), "{}", text(&empty.stderr));
    assert!(
        text(&empty.stdout).contains("No breach"),
        "{}",
        text(&empty.stdout)
    );

    let token = text(&with(steward(&data).args(["token", "create", "--role", "dpo"])).stdout)
        .trim()
        .to_string();
    let (server, addr) = start_server(&data, &["--config", config.to_str().expect("path")]);
    let aware = jiff::Timestamp::now();
    let body = serde_json::json!({
        "title": "Backup bucket left public",
        "detected_at": aware,
        "aware_at": aware,
        "found_by": "A researcher wrote to us.",
        "nature": ["confidentiality"]
    })
    .to_string();
    let mut s = TcpStream::connect(&addr).expect("connect");
    write!(
        s,
        "POST /api/v1/breaches HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nX-Purpose: essential.legal_obligation\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let id = json_body(&answer)["id"].as_str().expect("id").to_string();
    stop(server);

    let listed = with(steward(&data).args(["breach", "list"]));
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let line = text(&listed.stdout);
    assert!(
        line.contains(&id) && line.contains("Backup bucket left public"),
        "{line}"
    );
    assert!(line.contains("h left"), "{line}");
    let json = with(steward(&data).args(["breach", "list", "--json"]));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(parsed[0]["id"], id.as_str());
    assert_eq!(parsed[0]["clock"], "running");
    let notice = with(steward(&data).args(["breach", "notice", &id]));
    assert!(notice.status.success(), "{}", text(&notice.stderr));
    assert!(text(&notice.stdout).starts_with("# Notification of a personal data breach"));
    let unknown = with(steward(&data).args(["breach", "notice", "not-an-id"]));
    assert!(!unknown.status.success());
}

/// `steward` at the machine, with the company's own controller details and a breach
/// response plan.
fn configured(data: &Path) -> Command {
    let config = data.with_extension("toml");
    std::fs::write(&config, BREACH_PLAN).expect("write the plan");
    let mut c = steward(data);
    c.arg("--config")
        .arg(config)
        .env("STEWARD_CONTROLLER_NAME", "Shop Example GmbH")
        .env("STEWARD_CONTROLLER_EMAIL", "privacy@shop-example.test")
        .env("STEWARD_CONTROLLER_ADDRESS", "1 Harbour Road, Dublin");
    c
}

fn add_staff(data: &Path, email: &str, role: &str) {
    let out = run(configured(data).args(["user", "add", "--email", email, "--role", role]));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn security_audit(data: &Path) -> (Option<i32>, String, serde_json::Value) {
    let table = run(configured(data).arg("security-audit"));
    let json = run(configured(data).args(["security-audit", "--json"]));
    assert_eq!(table.status.code(), json.status.code());
    let report = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&json.stdout)));
    (table.status.code(), text(&table.stdout), report)
}

fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id}: {report}"))
}

#[test]
fn the_security_audit_passes_a_well_set_installation_and_fails_an_account_without_mfa() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    add_staff(&data, "ada.admin@example.com", "admin");
    add_staff(&data, "otto.audit@example.com", "auditor");
    let sweep = run(configured(&data).args(["retention", "run"]));
    assert!(sweep.status.success(), "{}", text(&sweep.stderr));

    let (code, table, report) = security_audit(&data);
    assert_eq!(code, Some(0), "{table}");
    assert_eq!(report["counts"]["fail"], 0, "{report}");
    assert!(table.starts_with("CHECK"), "{table}");
    for id in ["MFA_COVERAGE", "AUDIT_CHAIN", "CONTROLLER_PLACEHOLDERS"] {
        assert_eq!(finding(&report, id)["status"], "pass", "{id}: {report}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(id) && l.contains(" pass ")),
            "{table}"
        );
    }

    // An agent reads customers' data and is created without a second factor.
    add_staff(&data, "aggie.agent@example.com", "agent");
    let (code, table, report) = security_audit(&data);
    assert_eq!(code, Some(2), "{table}");
    let mfa = finding(&report, "MFA_COVERAGE");
    assert_eq!(mfa["status"], "fail");
    assert_eq!(report["counts"]["fail"], 1, "{report}");
    assert!(table.contains("MFA_COVERAGE (high): Enrol"), "{table}");
    assert!(!table.contains("aggie.agent@example.com"), "{table}");

    let enrol = run(configured(&data).args(["user", "second-factor", "aggie.agent@example.com"]));
    assert!(enrol.status.success(), "{}", text(&enrol.stderr));
    assert!(text(&enrol.stdout).contains("otpauth://totp/"));
    let (code, table, _) = security_audit(&data);
    assert_eq!(code, Some(0), "{table}");

    // The server runs it at start and shows each check on its metrics listener.
    let config = dir.path().join("steward.toml");
    std::fs::write(
        &config,
        format!("controller_name = \"Shop Example GmbH\"\ncontroller_email = \"privacy@shop-example.test\"\ncontroller_address = \"1 Harbour Road, Dublin\"\n{BREACH_PLAN}"),
    )
    .expect("config");
    let config = config.to_str().expect("path");
    let (child, _, metrics) = start_server_with_metrics(
        &data,
        &["--metrics-listen", "127.0.0.1:0", "--config", config],
    );
    let metrics = metrics.expect("metrics address");
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = http_get(&metrics, "/metrics");
        if page.contains("steward_security_audit_last_run_seconds") || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = stop(child);
    assert!(!log.contains("check failed"), "{log}");
    assert!(
        page.contains("steward_security_audit_failed{check=\"MFA_COVERAGE\"} 0"),
        "{page}"
    );
    assert!(
        page.contains("steward_security_audit_failed{check=\"AUDIT_CHAIN\"} 0"),
        "{page}"
    );
}

#[test]
fn keys_rotate_from_the_command_line_retires_the_old_version_and_customers_still_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,given_name\nada@example.com,Ada\nbob@example.com,Bob\n",
    )
    .expect("write");
    let out = run(steward(&data)
        .args(["import", "customers"])
        .arg(&csv)
        .args(["--residency", "DE"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = |data: &Path| -> serde_json::Value {
        let out = run(steward(data).args(["keys", "status", "--json"]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status JSON")
    };
    let before = status(&data);
    assert_eq!(before["current"], 1);
    assert_eq!(before["versions"][0]["data_keys"], 2);

    let out = run(steward(&data).args(["keys", "rotate"]));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let said = text(&out.stderr);
    assert!(said.contains("version 1 retired"), "{said}");
    let after = status(&data);
    assert_eq!(after["current"], 2);
    assert_eq!(after["pending_rewrap"], 0);
    assert!(after["versions"][0]["retired_at"].is_string());
    assert_eq!(after["versions"][1]["data_keys"], 2);
    let master = std::fs::read_to_string(data.join("keys/master.key")).expect("master key");
    assert!(!master.contains("v1:") && master.contains("v2:"));

    let out = run(steward(&data).args(["keys", "compromised", "2", "--reason", ""]));
    assert!(!out.status.success() && text(&out.stderr).contains("reason"));
    let out = run(steward(&data).args(["keys", "compromised", "9", "--reason", "lost"]));
    assert!(!out.status.success() && text(&out.stderr).contains("no key version 9"));
    let out = run(steward(&data).args(["keys", "compromised", "v2", "--reason", "lost backup"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let compromised = status(&data);
    assert_eq!(
        compromised["current"], 3,
        "a compromised current version is replaced"
    );
    assert_eq!(
        compromised["versions"][1]["compromised_reason"],
        "lost backup"
    );
    assert!(compromised["versions"][1]["retired_at"].is_string());

    let out = run(steward(&data).args([
        "export",
        "customers",
        "--purpose",
        "essential.service",
        "--format",
        "jsonl",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = text(&out.stdout);
    assert!(exported.contains("ada@example.com") && exported.contains("bob@example.com"));
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// The number after `label:` on a line of `out`.
fn figure(out: &str, label: &str) -> i64 {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label} in {out}"))
}

#[test]
fn personalization_recompute_reports_what_the_database_then_holds() {
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
    let call = |method: &str, path: &str, body: &str| {
        let answer = http(&addr, method, path, Some(&token), Some(body));
        assert!(
            answer.starts_with("HTTP/1.1 20"),
            "{method} {path}: {answer}"
        );
        answer
    };
    // Four customers at full with their consent (ordering 0 to 3 times), two at basic, one
    // who never chose.
    let mut emails = Vec::new();
    for (i, level) in ["full", "full", "full", "full", "basic", "basic", "off"]
        .iter()
        .enumerate()
    {
        let email = format!("person{i}@example.com");
        let made = json_body(&call(
            "POST",
            "/api/v1/customers",
            &format!(r#"{{"fields":{{"email":"{email}"}},"residency":"GB"}}"#),
        ));
        emails.push(email);
        let id = made["id"].as_str().expect("id").to_string();
        if *level == "full" {
            call(
                "POST",
                &format!("/api/v1/customers/{id}/consents"),
                r#"{"purpose":"personalize.content.profiled","state":"given"}"#,
            );
        }
        if *level != "off" {
            call(
                "PUT",
                &format!("/api/v1/customers/{id}/personalization"),
                &format!(r#"{{"level":"{level}"}}"#),
            );
        }
        for _ in 0..(i % 4) {
            call(
                "POST",
                &format!("/api/v1/customers/{id}/interactions"),
                r#"{"kind":"order","summary":"Order","facets":{"categories":["garden"]}}"#,
            );
        }
    }
    stop(child);

    let out = run(steward(&data).args(["personalization", "recompute"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    let db = rusqlite::Connection::open(data.join("steward.db")).expect("open db");
    let at_full = count(
        &db,
        "SELECT COUNT(*) FROM personalization_levels WHERE level = 'full'",
    );
    let customers = count(&db, "SELECT COUNT(*) FROM customers");
    let derived = count(
        &db,
        "SELECT COUNT(*) FROM profile_attributes WHERE source <> 'declared'",
    );
    let (run_customers, run_attributes): (i64, i64) = db
        .query_row(
            "SELECT customers, attributes FROM personalization_runs WHERE state = 'finished'
             ORDER BY started_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the run is recorded");
    assert_eq!(
        figure(&summary, "customers processed:"),
        at_full,
        "{summary}"
    );
    assert_eq!(
        figure(&summary, "skipped below full:"),
        customers - at_full,
        "{summary}"
    );
    assert_eq!(
        figure(&summary, "attributes written:"),
        derived,
        "{summary}"
    );
    assert_eq!(
        (run_customers, run_attributes),
        (at_full, derived),
        "the run's record says the same"
    );
    assert!(derived > 0, "something was derived: {summary}");
    let below_full_derived = count(
        &db,
        "SELECT COUNT(*) FROM profile_attributes a
         LEFT JOIN personalization_levels l ON l.customer_id = a.customer_id
         WHERE a.source <> 'declared' AND COALESCE(l.level, 'off') <> 'full'",
    );
    assert_eq!(below_full_derived, 0, "nothing derived below full");
    for email in &emails {
        assert!(
            !summary.contains(email.as_str()),
            "no personal value printed"
        );
    }
    let verify = run(steward(&data).args(["audit", "verify"]));
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

/// The key of the advisory lock under which every instance migrates a PostgreSQL database
/// (`steward-store/src/postgres.rs`).
const MIGRATION_LOCK: i64 = 0x0053_5445_5741_5244;

/// `url` with its database replaced by `db`.
fn url_with_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = base[after_scheme..]
        .find('/')
        .map_or(base, |i| &base[..after_scheme + i]);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Drops the test's database when the test ends, also when it fails.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .await;
            }
        });
    }
}

/// Polls `path` until its answer starts with `status`, or fails after 120 s.
fn wait_for_status(addr: &str, path: &str, status: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = http_get(addr, path);
        if answer.starts_with(&format!("HTTP/1.1 {status}")) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered {status}: {answer}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn readyz_is_503_while_the_migrations_wait_for_another_instance() {
    let admin_url = std::env::var("STEWARD_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("STEWARD_TEST_DATABASE_URL is not set: run the test suite with scripts/test")
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let connect = |url: String| {
        runtime.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL server");
            tokio::spawn(conn);
            client
        })
    };
    let name = format!("steward_cli_{}", uuid::Uuid::now_v7().simple());
    let admin = connect(admin_url.clone());
    runtime
        .block_on(admin.batch_execute(&format!("CREATE DATABASE {name}")))
        .expect("create the data database");
    let _dropped_at_the_end = DropDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let url = url_with_db(&admin_url, &name);
    // Another instance migrating, as far as this one can tell.
    let holder = connect(url.clone());
    runtime
        .block_on(holder.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]))
        .expect("take the migration lock");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = steward(&dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before starting")
            .expect("line");
        if let Some(rest) = line.strip_prefix("Steward is starting on http://") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    // Proof that the server is inside its migrations, waiting for the lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = runtime
            .block_on(admin.query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                 WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1",
                &[&name],
            ))
            .expect("read pg_locks")
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "serve never waited for the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let alive = http_get(&addr, "/healthz");
    assert!(alive.starts_with("HTTP/1.1 200"), "{alive}");
    let answer = http_get(&addr, "/readyz");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1\r\n"),
        "{answer}"
    );
    let problem = json_body(&answer);
    assert_eq!(problem["code"], "NOT_READY", "{answer}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("migrations")),
        "{answer}"
    );
    let other = http_get(&addr, "/api/v1/customers");
    assert!(other.starts_with("HTTP/1.1 503"), "{other}");

    runtime
        .block_on(holder.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]))
        .expect("release the migration lock");
    let ready = wait_for_status(&addr, "/readyz", "200");
    assert_eq!(json_body(&ready)["status"], "ready", "{ready}");
    // The real server answers on the same socket.
    let listening = lines
        .find_map(|line| {
            line.ok()?
                .strip_prefix("Steward is listening on http://")
                .map(str::to_string)
        })
        .expect("the listening line");
    assert!(listening.starts_with(&addr), "{listening} vs {addr}");
    stop(child);
}

#[test]
fn serve_refuses_a_key_store_it_cannot_reach_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = run(steward(&data).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "postgres://steward@127.0.0.1:1/data",
        "--keystore-url",
        "postgres://steward:hunter2@127.0.0.1:1/keys",
    ]));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("keystore_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_key_store_url_without_a_database_url_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(steward(&dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "STEWARD_KEYSTORE_URL",
            "postgres://steward@127.0.0.1:1/keys",
        ));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("keystore_url") && err.contains("database_url"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_token_it_cannot_reach_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "1234\n").expect("pin");
    let module = steward_vault::testing::module_path();
    let module = module.to_str().expect("utf-8 path");
    let pin = pin.to_str().expect("utf-8 path");
    for (args, named) in [
        (
            ["/nowhere/libpkcs11.so", "steward-keys", pin],
            "pkcs11_module",
        ),
        ([module, "no-such-token", pin], "pkcs11_token_label"),
    ] {
        let out = run(steward(&dir.path().join("data")).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pkcs11-module",
            args[0],
            "--pkcs11-token-label",
            args[1],
            "--pkcs11-pin-file",
            args[2],
        ]));
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains(named), "{err}");
        assert!(!err.contains("1234"), "the PIN is never shown: {err}");
    }
}

#[test]
fn the_token_settings_are_given_together_and_not_beside_a_master_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(steward(&dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STEWARD_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
        .env("STEWARD_PKCS11_TOKEN_LABEL", "steward-keys"));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("pkcs11_pin_file"), "{err}");

    let out = run(steward(&dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STEWARD_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
        .env("STEWARD_PKCS11_TOKEN_LABEL", "steward-keys")
        .env("STEWARD_PKCS11_PIN_FILE", "/run/secrets/pin")
        .env("STEWARD_MASTER_KEY_FILE", "/run/secrets/master.key"));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("master_key_file"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing was made before the settings were refused"
    );
}
