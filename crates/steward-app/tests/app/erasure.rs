use steward_app::core::Role;
use steward_app::{AppError, CustomerQuery};

use crate::support::*;

#[tokio::test]
async fn erasure_reaches_a_copy_taken_before_it_sqlite() {
    // A copy of the SQLite file is the copy this test takes.
    let (dir, app) = sqlite_app().await;
    let agent = agent(&app);
    let keep = app
        .customers()
        .create(&agent, input("keep@example.com", "Keeper"))
        .await
        .expect("create");
    let gone = app
        .customers()
        .create(&agent, input("gone@example.com", "Gwendolyn"))
        .await
        .expect("create");
    let wrapped: Vec<u8> = rusqlite::Connection::open(dir.path().join("keys/keystore.db"))
        .expect("keys")
        .query_row(
            "SELECT wrapped FROM data_keys WHERE customer_id = ?1",
            [gone.id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .expect("wrapped key");

    let copy = tempfile::tempdir().expect("copy dir");
    sqlite(dir.path())
        .execute(
            "VACUUM INTO ?1",
            [copy.path().join("steward.db").to_string_lossy()],
        )
        .expect("copy database");

    app.rights()
        .erase(&dpo(&app), gone.id)
        .await
        .expect("erase");
    assert!(matches!(
        app.customers().get(&agent, gone.id).await,
        Err(AppError::NotFound)
    ));
    let search = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("gone@example.com".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        search.expect("search").items.is_empty(),
        "the blind index forgets an erased email"
    );
    assert!(app.rights().is_erased(gone.id).await.expect("tombstone"));

    // The key store has moved on: the destroyed key is nowhere in its files.
    for file in files_under(&dir.path().join("keys")) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !contains(&bytes, &wrapped),
            "{} still holds the destroyed key",
            file.display()
        );
    }

    // The old copy, opened with today's key store, yields nothing of the erased customer.
    std::fs::create_dir_all(copy.path().join("keys")).expect("keys dir");
    for name in ["keystore.db", "master.key"] {
        std::fs::copy(
            dir.path().join("keys").join(name),
            copy.path().join("keys").join(name),
        )
        .expect("copy key store");
    }
    let old = open_at(copy.path(), None).await;
    let r = old.customers().get(&agent, gone.id).await;
    assert!(matches!(r, Err(AppError::NotFound)), "{r:?}");
    let listed = old
        .customers()
        .list(&agent, CustomerQuery::default())
        .await
        .expect("list");
    assert_eq!(
        listed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![keep.id],
        "the erased row yields nothing"
    );
    let mut out = Vec::new();
    let exporter = operator(&app, "export", &["essential.service"]);
    old.customers()
        .export(
            &exporter,
            "essential.service",
            steward_app::ExportFormat::Jsonl,
            &mut out,
            |_| {},
        )
        .await
        .expect("export");
    let text = String::from_utf8(out).expect("utf8");
    assert!(
        !text.contains("gone@example.com") && !text.contains("Gwendolyn"),
        "{text}"
    );
    assert_eq!(
        old.customers()
            .get(&agent, keep.id)
            .await
            .expect("others remain")
            .fields
            .get("given_name")
            .map(String::as_str),
        Some("Keeper")
    );
}

#[tokio::test]
async fn a_value_moved_to_another_customer_or_field_does_not_open_sqlite() {
    // The sealing under test is the same on both engines; the SQLite file is moved by hand.
    let (dir, app) = sqlite_app().await;
    let agent = agent(&app);
    let a = app
        .customers()
        .create(&agent, input("a@example.com", "Alice"))
        .await
        .expect("a");
    let b = app
        .customers()
        .create(&agent, input("b@example.com", "Bob"))
        .await
        .expect("b");
    let db = sqlite(dir.path());
    db.execute(
        "UPDATE customers SET fields = (SELECT fields FROM customers WHERE id = ?1) WHERE id = ?2",
        [a.id.as_bytes().as_slice(), b.id.as_bytes().as_slice()],
    )
    .expect("move row");
    let r = app.customers().get(&agent, b.id).await;
    assert!(
        matches!(&r, Err(AppError::Integrity(m)) if m.contains(&b.id.to_string())),
        "{r:?}"
    );

    // Within one customer: the email's sealed value stored under the given name's key.
    let c = app
        .customers()
        .create(&agent, input("c@example.com", "Carol"))
        .await
        .expect("c");
    let blob: Vec<u8> = db
        .query_row(
            "SELECT fields FROM customers WHERE id = ?1",
            [c.id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .expect("blob");
    let mut sealed = steward_app::core::sealed_fields::SealedFields::decode(&blob).expect("decode");
    let email = sealed.get("email").expect("email").to_vec();
    sealed.insert("given_name", email);
    db.execute(
        "UPDATE customers SET fields = ?1 WHERE id = ?2",
        rusqlite::params![sealed.encode(), c.id.as_bytes().as_slice()],
    )
    .expect("move field");
    let r = app.customers().get(&agent, c.id).await;
    assert!(
        matches!(&r, Err(AppError::Integrity(m)) if m.contains("given_name")),
        "{r:?}"
    );
    assert!(
        app.audit()
            .entries(&actor(&app, Role::Auditor), 0, 100)
            .await
            .expect("audit")
            .iter()
            .all(|e| e.record.targets != vec![c.id.to_string()]
                || e.record.action != "customer.read"),
        "a failed read leaves no read entry"
    );
}

#[tokio::test]
async fn an_erasure_cut_short_after_the_key_is_gone_hides_the_row_and_can_be_finished() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    let keep = app
        .customers()
        .create(&agent, input("keep@example.com", "Keeper"))
        .await
        .expect("create");
    let half = app
        .customers()
        .create(&agent, input("half@example.com", "Half"))
        .await
        .expect("create");
    // The first step of erasure, and nothing after it: the key is destroyed, the rows remain.
    rusqlite::Connection::open(dir.path().join("keys/keystore.db"))
        .expect("keys")
        .execute(
            "DELETE FROM data_keys WHERE customer_id = ?1",
            [half.id.as_bytes().as_slice()],
        )
        .expect("destroy key");
    assert!(matches!(
        app.customers().get(&agent, half.id).await,
        Err(AppError::NotFound)
    ));
    let listed = app
        .customers()
        .list(&agent, CustomerQuery::default())
        .await
        .expect("list");
    assert_eq!(
        listed.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![keep.id]
    );
    app.rights()
        .erase(&dpo(&app), half.id)
        .await
        .expect("finishing the erasure");
    assert!(app.rights().is_erased(half.id).await.expect("tombstone"));
    assert!(app.audit().verify().await.expect("verify").ok);
}

/// Art. 17(3)(e): what a legal hold covers is kept, whoever asks for the erasure: staff on one
/// customer or a selection, or the request desk answering the person. Released, it goes.
#[tokio::test]
async fn a_legal_hold_keeps_a_customer_from_every_erasure_until_it_is_released() {
    let (_home, app) = app().await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let mut ids = Vec::new();
    for (email, name) in [
        ("held@example.com", "Hal"),
        ("free@example.com", "Fin"),
        ("later@example.com", "Lou"),
    ] {
        ids.push(
            app.customers()
                .create(&agent, input(email, name))
                .await
                .expect("create")
                .id,
        );
    }
    let (held, free, later) = (ids[0], ids[1], ids[2]);
    let hold = app
        .holds()
        .create(
            &dpo,
            serde_json::from_value(serde_json::json!({
                "customer_id": held, "reason": "Litigation", "owner": "Legal"
            }))
            .expect("hold input"),
        )
        .await
        .expect("hold");
    let length = app.audit().length().await.expect("length");
    let refused = app.rights().erase(&dpo, held).await;
    assert!(matches!(refused, Err(AppError::ErasureHeld)), "{refused:?}");
    assert_eq!(
        app.audit().length().await.expect("length"),
        length,
        "a refused erasure records nothing"
    );
    let kept = app
        .customers()
        .get(&agent, held)
        .await
        .expect("still there");
    assert_eq!(
        kept.fields["given_name"], "Hal",
        "its key was not destroyed"
    );

    let done = app
        .rights()
        .erase_selected(&dpo, &[held, free])
        .await
        .expect("selection");
    assert_eq!((done.erased, done.already_gone, done.held), (1, 0, 1));
    assert!(app.rights().is_erased(free).await.expect("erased?"));
    assert!(!app.rights().is_erased(held).await.expect("erased?"));

    let request = app
        .requests()
        .create(
            &dpo,
            steward_app::RequestInput {
                kind: "erasure".into(),
                channel: "email".into(),
                email: Some("held@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("logged");
    app.requests()
        .verify(&dpo, request.id)
        .await
        .expect("verify");
    let refused = app.requests().complete(&dpo, request.id).await;
    assert!(matches!(refused, Err(AppError::ErasureHeld)), "{refused:?}");
    let open = app.requests().get(&dpo, request.id).await.expect("request");
    assert_ne!(
        open.state, "completed",
        "the request stays open to be denied"
    );

    // A hold on every customer record keeps the others too.
    let all = app
        .holds()
        .create(
            &dpo,
            serde_json::from_value(serde_json::json!({
                "category": "customer", "reason": "Audit by the authority", "owner": "Legal"
            }))
            .expect("hold input"),
        )
        .await
        .expect("category hold");
    let refused = app.rights().erase(&dpo, later).await;
    assert!(matches!(refused, Err(AppError::ErasureHeld)), "{refused:?}");

    app.holds().release(&dpo, hold.id).await.expect("released");
    app.holds().release(&dpo, all.id).await.expect("released");
    app.requests()
        .complete(&dpo, request.id)
        .await
        .expect("completed once released");
    assert!(app.rights().is_erased(held).await.expect("erased?"));
    app.rights().erase(&dpo, later).await.expect("erased");
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
