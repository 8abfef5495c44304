use steward_app::Steward;

use crate::support::*;

/// A Steward with `n` audit entries (one create, then reads) and a checkpoint every 5.
async fn with_entries(n: usize) -> (tempfile::TempDir, Steward) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_at(dir.path(), None, 5).await;
    let c = app
        .create_customer(&agent(&app), input("audit@example.com", "Audrey"))
        .await
        .expect("create");
    for _ in 1..n {
        app.get_customer(&agent(&app), c.id).await.expect("read");
    }
    (dir, app)
}

#[tokio::test]
async fn an_intact_chain_verifies_with_its_checkpoints() {
    let (_dir, app) = with_entries(12).await;
    app.checkpoint_now().await.expect("checkpoint");
    let report = app.verify_audit().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!((report.entries, report.checkpoints), (12, 3));
}

#[tokio::test]
async fn a_changed_entry_is_named() {
    let (dir, app) = with_entries(8).await;
    sqlite(dir.path())
        .execute(
            "UPDATE audit_log SET fields = '[\"email\",\"phone\"]' WHERE seq = 3",
            [],
        )
        .expect("tamper");
    let report = app.verify_audit().await.expect("verify");
    assert!(!report.ok);
    assert_eq!(report.first_bad, Some(3), "{report:?}");
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let (dir, app) = with_entries(8).await;
    sqlite(dir.path())
        .execute("DELETE FROM audit_log WHERE seq = 4", [])
        .expect("tamper");
    let report = app.verify_audit().await.expect("verify");
    assert_eq!(report.first_bad, Some(4), "{report:?}");
}

#[tokio::test]
async fn reordered_entries_are_detected() {
    let (dir, app) = with_entries(8).await;
    let db = sqlite(dir.path());
    // Swap the contents of entries 2 and 3, keeping their sequence numbers.
    db.execute_batch(
        "UPDATE audit_log SET seq = -2 WHERE seq = 2;
         UPDATE audit_log SET seq = 2 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = -2;",
    )
    .expect("tamper");
    let report = app.verify_audit().await.expect("verify");
    assert_eq!(report.first_bad, Some(2), "{report:?}");
}

#[tokio::test]
async fn a_cut_off_tail_is_detected_by_the_signed_checkpoint() {
    let (dir, app) = with_entries(12).await;
    app.checkpoint_now().await.expect("checkpoint at 12");
    sqlite(dir.path())
        .execute("DELETE FROM audit_log WHERE seq > 9", [])
        .expect("truncate");
    let report = app.verify_audit().await.expect("verify");
    assert!(!report.ok);
    assert_eq!(report.first_bad, Some(10), "{report:?}");
    assert!(
        report
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("removed")),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_forged_checkpoint_is_refused() {
    let (dir, app) = with_entries(6).await;
    sqlite(dir.path())
        .execute("UPDATE audit_checkpoints SET signature = zeroblob(64)", [])
        .expect("forge");
    let report = app.verify_audit().await.expect("verify");
    assert_eq!(report.first_bad, Some(5), "{report:?}");
}
