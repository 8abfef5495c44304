//! Tamper evidence (I4): someone who can rewrite the database but does not hold the signing
//! key cannot cut, roll back or rewrite the audit log without `Audit::verify` saying so. Every
//! scenario runs on SQLite and on PostgreSQL.

use std::future::Future;

use steward_app::core::Role;
use steward_app::core::audit::{AuditEntry, chain_hash};
use steward_app::{AuditFault, Steward, Witnessed};
use steward_store::testing::{TestDatabase, fresh_postgres};

use crate::support::*;

/// The database under a Steward, reached directly as an attacker with write access would.
enum Raw {
    Lite(std::path::PathBuf),
    Pg(TestDatabase),
}

struct Setup {
    _dir: tempfile::TempDir,
    raw: Raw,
    app: Steward,
}

/// A Steward with `n` audit entries (one create, then reads), its head witnessed.
async fn with_entries(pg: bool, n: usize) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let (raw, app) = if pg {
        let db = fresh_postgres().await;
        let app = open_at(dir.path(), Some(db.url.clone())).await;
        (Raw::Pg(db), app)
    } else {
        let app = open_at(dir.path(), None).await;
        (Raw::Lite(dir.path().join("steward.db")), app)
    };
    add_entries(&app, n).await;
    assert!(matches!(
        app.audit().witness(true).await.expect("witness"),
        Witnessed::Advanced { .. }
    ));
    Setup {
        _dir: dir,
        raw,
        app,
    }
}

async fn add_entries(app: &Steward, n: usize) {
    let c = app
        .customers()
        .create(
            &agent(app),
            input(
                &format!("audit-{}@example.com", uuid::Uuid::now_v7()),
                "Audrey",
            ),
        )
        .await
        .expect("create");
    for _ in 1..n {
        app.customers().get(&agent(app), c.id).await.expect("read");
    }
}

impl Raw {
    async fn exec(&self, sql: &str) {
        match self {
            Raw::Lite(path) => {
                rusqlite::Connection::open(path)
                    .expect("open")
                    .execute_batch(sql)
                    .expect("tamper");
            }
            Raw::Pg(db) => connect(db).await.batch_execute(sql).await.expect("tamper"),
        }
    }

    /// Rewrites every link from entry `from` on so the chain is whole again, as someone
    /// covering their tracks would after changing an entry.
    async fn rechain_from(&self, app: &Steward, from: i64) {
        let entries = all_entries(app).await;
        let mut prev = entries
            .iter()
            .find(|e| e.seq == from - 1)
            .map_or([0u8; 32], |e| e.hash);
        for e in entries.iter().filter(|e| e.seq >= from) {
            let hash = chain_hash(&prev, e.seq, &e.record);
            self.set_links(e.seq, &prev, &hash).await;
            prev = hash;
        }
    }

    async fn set_links(&self, seq: i64, prev: &[u8; 32], hash: &[u8; 32]) {
        match self {
            Raw::Lite(path) => {
                rusqlite::Connection::open(path)
                    .expect("open")
                    .execute(
                        "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                        rusqlite::params![&prev[..], &hash[..], seq],
                    )
                    .expect("relink");
            }
            Raw::Pg(db) => {
                connect(db)
                    .await
                    .execute(
                        "UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3",
                        &[&&prev[..], &&hash[..], &seq],
                    )
                    .await
                    .expect("relink");
            }
        }
    }
}

async fn connect(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

async fn all_entries(app: &Steward) -> Vec<AuditEntry> {
    app.audit()
        .entries(&actor(app, Role::Auditor), 0, 500)
        .await
        .expect("entries")
}

async fn broken(app: &Steward, fault: AuditFault) -> steward_app::VerifyReport {
    let report = app.audit().verify().await.expect("verify");
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.fault, Some(fault), "{report:?}");
    report
}

/// Runs a scenario on both engines.
async fn both<F, Fut>(scenario: F)
where
    F: Fn(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    scenario(false).await;
    scenario(true).await;
}

#[tokio::test]
async fn every_commit_leaves_a_signed_head_and_an_intact_chain_verifies() {
    both(|pg| async move {
        let s = with_entries(pg, 12).await;
        // No witnessing, no shutdown: the commits alone signed their heads.
        add_entries(&s.app, 3).await;
        let head = s.app.audit().length().await.expect("length");
        let report = s.app.audit().verify().await.expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.entries, 15);
        assert_eq!(report.signed_head, Some(head));
        assert_eq!(report.witnessed_head, Some(head), "verify witnesses first");
    })
    .await;
}

#[tokio::test]
async fn a_changed_a_deleted_and_a_reordered_entry_are_named() {
    both(|pg| async move {
        let s = with_entries(pg, 8).await;
        s.raw
            .exec("UPDATE audit_log SET fields = '[\"email\",\"phone\"]' WHERE seq = 3")
            .await;
        assert_eq!(broken(&s.app, AuditFault::Changed).await.first_bad, Some(3));

        let s = with_entries(pg, 8).await;
        s.raw.exec("DELETE FROM audit_log WHERE seq = 4").await;
        assert_eq!(broken(&s.app, AuditFault::Missing).await.first_bad, Some(4));

        let s = with_entries(pg, 8).await;
        s.raw
            .exec(
                "UPDATE audit_log SET seq = -2 WHERE seq = 2;
                 UPDATE audit_log SET seq = 2 WHERE seq = 3;
                 UPDATE audit_log SET seq = 3 WHERE seq = -2;",
            )
            .await;
        assert_eq!(
            broken(&s.app, AuditFault::OutOfOrder).await.first_bad,
            Some(2)
        );
    })
    .await;
}

#[tokio::test]
async fn a_cut_off_tail_is_detected() {
    both(|pg| async move {
        let s = with_entries(pg, 42).await;
        s.raw.exec("DELETE FROM audit_log WHERE seq > 39").await;
        let report = broken(&s.app, AuditFault::Truncated).await;
        assert_eq!(report.first_bad, Some(40), "{report:?}");
        assert!(
            report
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("40 to 42")),
            "{report:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_cut_off_tail_with_its_head_deleted_is_detected_by_the_witness() {
    both(|pg| async move {
        let s = with_entries(pg, 42).await;
        s.raw
            .exec("DELETE FROM audit_log WHERE seq > 39; DELETE FROM audit_head")
            .await;
        let report = broken(&s.app, AuditFault::Truncated).await;
        assert!(
            report
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("witness")),
            "{report:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_rewritten_entry_with_its_chain_recomputed_is_detected() {
    both(|pg| async move {
        let s = with_entries(pg, 42).await;
        s.raw
            .exec("UPDATE audit_log SET role = 'admin' WHERE seq = 20")
            .await;
        s.raw.rechain_from(&s.app, 20).await;
        let report = broken(&s.app, AuditFault::Rewritten).await;
        assert!(report.first_bad.is_some_and(|b| b <= 20), "{report:?}");
    })
    .await;
}

#[tokio::test]
async fn a_rewrite_with_every_head_in_the_database_deleted_is_detected() {
    both(|pg| async move {
        let s = with_entries(pg, 42).await;
        s.raw
            .exec("UPDATE audit_log SET action = 'customer.update' WHERE seq = 5")
            .await;
        s.raw.rechain_from(&s.app, 5).await;
        s.raw.exec("DELETE FROM audit_head").await;
        broken(&s.app, AuditFault::Rewritten).await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_head_alone_is_reported() {
    both(|pg| async move {
        let s = with_entries(pg, 6).await;
        s.raw.exec("DELETE FROM audit_head").await;
        let report = broken(&s.app, AuditFault::NoSignedHead).await;
        assert!(
            report
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("no signed head")),
            "{report:?}"
        );
        // The log refuses to grow without its head rather than start a new, unsigned one.
        let c = s
            .app
            .customers()
            .create(&agent(&s.app), input("after@example.com", "After"))
            .await;
        assert!(c.is_err(), "{c:?}");
    })
    .await;
}

#[tokio::test]
async fn a_rolled_back_head_is_older_than_the_witness() {
    both(|pg| async move {
        let s = with_entries(pg, 6).await;
        let old = s.app.audit().verify().await.expect("verify");
        assert!(old.ok);
        s.raw
            .exec("CREATE TABLE old_head AS SELECT * FROM audit_head")
            .await;
        add_entries(&s.app, 4).await;
        s.app.audit().witness(false).await.expect("witness");
        // The newer entries stay, but the head is put back to the one saved earlier.
        s.raw
            .exec("DELETE FROM audit_head; INSERT INTO audit_head SELECT * FROM old_head")
            .await;
        let report = broken(&s.app, AuditFault::RolledBack).await;
        assert_eq!(report.first_bad, Some(7), "{report:?}");
    })
    .await;
}

#[tokio::test]
async fn entries_added_past_the_signed_head_are_reported() {
    both(|pg| async move {
        let s = with_entries(pg, 6).await;
        // A forged entry, correctly chained, appended without the key to sign a head.
        let last = all_entries(&s.app).await.pop().expect("an entry");
        let mut forged = last.record.clone();
        forged.action = "customer.read".into();
        let hash = chain_hash(&last.hash, 7, &forged);
        let sql = |prev: &str, hash: &str| {
            format!(
                "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
                 SELECT 7, at, actor, role, 'customer.read', purpose, targets, fields, detail, {prev}, {hash}
                 FROM audit_log WHERE seq = 6"
            )
        };
        match &s.raw {
            Raw::Lite(path) => {
                rusqlite::Connection::open(path)
                    .expect("open")
                    .execute(&sql("?1", "?2"), rusqlite::params![&last.hash[..], &hash[..]])
                    .expect("forge");
            }
            Raw::Pg(db) => {
                connect(db)
                    .await
                    .execute(&sql("$1", "$2"), &[&&last.hash[..], &&hash[..]])
                    .await
                    .expect("forge");
            }
        }
        let report = broken(&s.app, AuditFault::UnsignedEntries).await;
        assert_eq!(report.first_bad, Some(7), "{report:?}");
    })
    .await;
}

#[tokio::test]
async fn a_forged_head_signature_is_refused() {
    both(|pg| async move {
        let s = with_entries(pg, 6).await;
        let zero = match &s.raw {
            Raw::Lite(_) => "UPDATE audit_head SET signature = zeroblob(64)",
            Raw::Pg(_) => "UPDATE audit_head SET signature = decode(repeat('00', 64), 'hex')",
        };
        s.raw.exec(zero).await;
        broken(&s.app, AuditFault::BadSignature).await;
    })
    .await;
}

#[tokio::test]
async fn a_rewritten_log_is_neither_extended_nor_witnessed() {
    both(|pg| async move {
        let s = with_entries(pg, 10).await;
        let witnessed = s.app.audit().verify().await.expect("verify").witnessed_head;
        s.raw
            .exec("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 8")
            .await;
        s.raw.rechain_from(&s.app, 8).await;
        s.raw
            .exec("UPDATE audit_head SET hash = (SELECT hash FROM audit_log WHERE seq = 10)")
            .await;
        // The head's signature no longer fits it: the server does not sign over it...
        let c = s
            .app
            .customers()
            .create(&agent(&s.app), input("after@example.com", "After"))
            .await;
        assert!(c.is_err(), "{c:?}");
        // ...nor does the witness follow it.
        let outcome = s.app.audit().witness(true).await.expect("witness");
        assert!(matches!(outcome, Witnessed::Refused(_)), "{outcome:?}");
        let report = s.app.audit().verify().await.expect("verify");
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.witnessed_head, witnessed, "the witness stayed put");
    })
    .await;
}

#[tokio::test]
async fn entries_cut_before_they_were_witnessed_are_not_signed_over() {
    both(|pg| async move {
        let s = with_entries(pg, 10).await;
        add_entries(&s.app, 5).await;
        // The last five are signed in the database but not witnessed yet; the head is put
        // back to entry 10, unsigned, as it was never signed there.
        s.raw
            .exec(
                "DELETE FROM audit_log WHERE seq > 10;
                 UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_log WHERE seq = 10),
                     at = (SELECT at FROM audit_log WHERE seq = 10), signature = NULL",
            )
            .await;
        let next = s
            .app
            .customers()
            .create(&agent(&s.app), input("next@example.com", "Next"))
            .await;
        assert!(next.is_err(), "appended after an unsigned head: {next:?}");
        broken(&s.app, AuditFault::NoSignedHead).await;
    })
    .await;
}

#[tokio::test]
async fn forged_entries_under_a_moved_head_are_not_signed_over() {
    both(|pg| async move {
        let s = with_entries(pg, 6).await;
        let last = all_entries(&s.app).await.pop().expect("an entry");
        let mut forged = last.record.clone();
        forged.actor = "user:someone-innocent".into();
        forged.action = "customer.export".into();
        let hash = chain_hash(&last.hash, 7, &forged);
        let sql = |a: &str, b: &str, c: &str, d: &str| {
            format!(
                "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
                 SELECT 7, at, {a}, role, {b}, purpose, targets, fields, detail, {c}, {d} FROM audit_log WHERE seq = 6"
            )
        };
        let head = |a: &str| format!("UPDATE audit_head SET seq = 7, hash = {a}, signature = NULL");
        match &s.raw {
            Raw::Lite(path) => {
                let db = rusqlite::Connection::open(path).expect("open");
                db.execute(
                    &sql("?1", "?2", "?3", "?4"),
                    rusqlite::params![forged.actor, forged.action, &last.hash[..], &hash[..]],
                )
                .expect("forge");
                db.execute(&head("?1"), rusqlite::params![&hash[..]])
                    .expect("move head");
            }
            Raw::Pg(db) => {
                let client = connect(db).await;
                client
                    .execute(
                        &sql("$1", "$2", "$3", "$4"),
                        &[&forged.actor, &forged.action, &&last.hash[..], &&hash[..]],
                    )
                    .await
                    .expect("forge");
                client
                    .execute(&head("$1"), &[&&hash[..]])
                    .await
                    .expect("move head");
            }
        }
        let next = s
            .app
            .customers().create(&agent(&s.app), input("next@example.com", "Next"))
            .await;
        assert!(next.is_err(), "signed over a forged entry: {next:?}");
        let report = s.app.audit().verify().await.expect("verify");
        assert!(!report.ok, "{report:?}");
    })
    .await;
}

#[test]
fn a_gap_under_the_signed_head_is_reported_not_walked_forever() {
    for pg in [false, true] {
        let (done, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let s = with_entries(pg, 10).await;
                add_entries(&s.app, 3).await;
                s.raw
                    .exec(
                        "DELETE FROM audit_log WHERE seq BETWEEN 11 AND 12;
                         UPDATE audit_log SET seq = 14 WHERE seq = 13",
                    )
                    .await;
                let _ = done.send(s.app.audit().verify().await.map(|r| r.ok));
            });
        });
        let verdict = answer
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("verification answers");
        assert!(matches!(verdict, Ok(false)), "{verdict:?}");
    }
}

#[tokio::test]
async fn an_installation_without_signed_heads_gets_one_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let app = open_at(dir.path(), None).await;
        add_entries(&app, 3).await;
    }
    // As an installation from before heads were signed: no signature, nothing witnessed.
    sqlite(dir.path())
        .execute_batch("UPDATE audit_head SET signature = NULL")
        .expect("unsign");
    let app = open_at(dir.path(), None).await;
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");

    // Once a head was witnessed, a missing signature is reported, never signed over.
    drop(app);
    sqlite(dir.path())
        .execute_batch("UPDATE audit_head SET signature = NULL")
        .expect("unsign");
    let app = open_at(dir.path(), None).await;
    broken(&app, AuditFault::NoSignedHead).await;
}

/// A log of several pages is read a page ahead of the walk: a change deep in it, and an
/// entry missing where a page read ahead begins, are found where they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_several_pages_verifies_and_its_faults_are_found_where_they_are() {
    let s = with_entries(false, 11_000).await;
    let report = s.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert!(report.entries >= 11_000, "{report:?}");

    s.raw
        .exec("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 7500")
        .await;
    let changed = broken(&s.app, AuditFault::Changed).await;
    assert_eq!(changed.first_bad, Some(7500), "{changed:?}");
    s.raw
        .exec("UPDATE audit_log SET detail = NULL WHERE seq = 7500")
        .await;
    assert!(s.app.audit().verify().await.expect("verify").ok);

    s.raw.exec("DELETE FROM audit_log WHERE seq = 10001").await;
    let missing = broken(&s.app, AuditFault::Missing).await;
    assert_eq!(missing.first_bad, Some(10001), "{missing:?}");
}
