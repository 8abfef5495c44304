use steward_app::core::Role;
use steward_app::{AppError, CustomerPatch, CustomerQuery, ExportFormat, InteractionInput};

use crate::support::*;

#[tokio::test]
async fn create_read_update_list_with_purpose_and_masking() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let created = app
        .customers()
        .create(&agent, input(" Ada@Example.COM ", "Adalind"))
        .await
        .expect("create");
    assert_eq!(
        created.fields.get("email").map(String::as_str),
        Some("ada@example.com")
    );
    assert_eq!(
        created.fields.get("phone").map(String::as_str),
        Some("+49301234567")
    );
    assert_eq!(created.residency, "DE");
    // An agent sees special fields masked, and never opened.
    assert!(!created.fields.contains_key("birth_date"));
    assert_eq!(created.masked, vec!["birth_date".to_string()]);

    // A purpose sees only the fields it needs: legal obligation does not need the phone.
    let dpo_view = app
        .customers()
        .get(&dpo(&app), created.id)
        .await
        .expect("dpo read");
    assert!(dpo_view.fields.contains_key("email"));
    assert!(!dpo_view.fields.contains_key("phone"));

    let mut patch = CustomerPatch::default();
    patch.fields.insert("given_name".into(), Some("Ada".into()));
    patch.fields.insert("phone".into(), None);
    let updated = app
        .customers()
        .update(&agent, created.id, patch.clone(), 1)
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    assert_eq!(
        updated.fields.get("given_name").map(String::as_str),
        Some("Ada")
    );
    assert!(!updated.fields.contains_key("phone"));
    let stale = app.customers().update(&agent, created.id, patch, 1).await;
    assert!(matches!(stale, Err(AppError::StaleVersion)), "{stale:?}");

    let by_email = |email: &str| CustomerQuery {
        email: Some(email.into()),
        ..Default::default()
    };
    let found = app
        .customers()
        .list(&agent, by_email("ADA@example.com"))
        .await
        .expect("search");
    assert_eq!(
        found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![created.id]
    );
    let by_phone = CustomerQuery {
        phone: Some("+49301234567".into()),
        ..Default::default()
    };
    assert!(
        app.customers()
            .list(&agent, by_phone)
            .await
            .expect("phone")
            .items
            .is_empty(),
        "removed phone no longer found"
    );
    let bad = app.customers().list(&agent, by_email("not-an-email")).await;
    assert!(
        matches!(&bad, Err(AppError::Invalid(e)) if e[0].field == "email"),
        "{bad:?}"
    );
    let bad_cursor = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                cursor: Some("%%%".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(&bad_cursor, Err(AppError::Invalid(e)) if e[0].field == "cursor"),
        "{bad_cursor:?}"
    );
}

#[tokio::test]
async fn unknown_field_is_refused_and_nothing_is_stored() {
    let (dir, app) = app().await;
    let before = app.audit().length().await.expect("audit");
    let mut bad = input("ada@example.com", "Ada");
    bad.fields.insert("shoe_size".into(), "42".into());
    let r = app.customers().create(&agent(&app), bad).await;
    match r {
        Err(AppError::Invalid(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["fields.shoe_size"]
        ),
        other => panic!("expected refusal, got {other:?}"),
    }
    assert_eq!(app.customers().count().await.expect("count"), 0);
    assert_eq!(app.audit().length().await.expect("audit"), before);
    let keys: i64 = rusqlite::Connection::open(dir.path().join("keys/keystore.db"))
        .expect("keys")
        .query_row("SELECT count(*) FROM data_keys", [], |r| r.get(0))
        .expect("count");
    assert_eq!(keys, 0, "no key is created for a refused write");

    // The same on update: the unknown field is named and the stored customer is unchanged.
    let c = app
        .customers()
        .create(&agent(&app), input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let mut patch = CustomerPatch::default();
    patch.fields.insert("given_name".into(), Some("Eve".into()));
    patch
        .fields
        .insert("favourite_colour".into(), Some("red".into()));
    let r = app.customers().update(&agent(&app), c.id, patch, 1).await;
    assert!(
        matches!(&r, Err(AppError::Invalid(e)) if e.len() == 1 && e[0].field == "fields.favourite_colour"),
        "{r:?}"
    );
    let again = app.customers().get(&agent(&app), c.id).await.expect("get");
    assert_eq!(
        (again.version, again.fields.get("given_name").cloned()),
        (1, Some("Ada".into()))
    );
}

#[tokio::test]
async fn bad_values_are_named_all_at_once() {
    let (_dir, app) = app().await;
    let mut bad = input("not an email", "Ada");
    bad.fields.insert("phone".into(), "030 123".into());
    bad.fields.insert("notes".into(), "support only".into());
    bad.residency = "Germany".into();
    bad.tags = vec!["ok".into(), "no spaces please".into()];
    let Err(AppError::Invalid(errors)) = app.customers().create(&agent(&app), bad).await else {
        panic!("expected refusal")
    };
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "fields.email",
            "fields.notes",
            "fields.phone",
            "residency",
            "tags[1]"
        ]
    );
    assert!(
        errors.iter().all(|e| !e.message.contains("not an email")),
        "messages never echo values"
    );
}

#[tokio::test]
async fn purposes_are_checked_against_the_role() {
    let (_dir, app) = app().await;
    let marketer = actor(&app, Role::Marketer);
    assert!(matches!(
        app.access(&marketer, Some("essential.service")),
        Err(AppError::PurposeNotAllowed { .. })
    ));
    assert!(matches!(
        app.access(&marketer, None),
        Err(AppError::PurposeRequired)
    ));
    assert!(matches!(
        app.access(&actor(&app, Role::Agent), Some("selling.data")),
        Err(AppError::UnknownPurpose(_))
    ));
    assert!(
        app.access(&actor(&app, Role::Auditor), Some("essential.service"))
            .is_err()
    );
    assert!(
        app.access(&actor(&app, Role::Admin), Some("essential.service"))
            .is_err(),
        "admin reads no data by default"
    );
    let granted = app.local_staff("user:admin", Role::Admin, &["essential.service"]);
    assert!(
        app.access(&granted, None).is_ok(),
        "a single granted purpose is the default"
    );
    let dup = app
        .customers()
        .create(&agent(&app), input("a@example.com", "A"))
        .await
        .expect("create");
    let again = app
        .customers()
        .create(&agent(&app), input("A@example.com", "B"))
        .await;
    assert!(
        matches!(&again, Err(AppError::Duplicate { field }) if field == "fields.email"),
        "{again:?}"
    );
    let erase = app.rights().erase(&agent(&app), dup.id).await;
    assert!(
        matches!(erase, Err(AppError::Forbidden(_))),
        "agents do not erase"
    );
}

#[tokio::test]
async fn every_use_case_writes_its_audit_entry_without_values() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("grace@example.com", "Gwendolyn"))
        .await
        .expect("create");
    app.customers().get(&agent, c.id).await.expect("get");
    let mut patch = CustomerPatch::default();
    patch
        .fields
        .insert("company".into(), Some("Initech Sample".into()));
    app.customers()
        .update(&agent, c.id, patch, 1)
        .await
        .expect("update");
    app.customers()
        .list(&agent, CustomerQuery::default())
        .await
        .expect("list");
    let input_i = InteractionInput {
        kind: "call".into(),
        occurred_at: None,
        summary: "Called about a refund".into(),
        body: Some("Wants it by Friday".into()),
        facets: Default::default(),
    };
    let i = app
        .interactions()
        .add(&agent, c.id, input_i)
        .await
        .expect("interaction");
    assert_eq!(i.body.as_deref(), Some("Wants it by Friday"));
    let page = app
        .interactions()
        .list(&agent, c.id, None, None)
        .await
        .expect("interactions");
    assert_eq!(page.items.len(), 1);
    let mut out = Vec::new();
    let exporter = operator(&app, "export", &["essential.service"]);
    app.customers()
        .export(
            &exporter,
            "essential.service",
            ExportFormat::Jsonl,
            &mut out,
            |_| {},
        )
        .await
        .expect("export");
    app.rights().erase(&dpo(&app), c.id).await.expect("erase");

    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), 0, 100)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "customer.create",
            "customer.read",
            "customer.update",
            "customer.read",
            "customer.list",
            "interaction.create",
            "interaction.list",
            "customer.export",
            "customer.erase"
        ]
    );
    let read = &entries[1];
    assert_eq!(read.record.purpose.as_deref(), Some("essential.service"));
    assert_eq!(read.record.role, "agent");
    assert_eq!(read.record.targets, vec![c.id.to_string()]);
    assert!(
        read.record.fields.contains(&"email".to_string())
            && !read.record.fields.contains(&"birth_date".to_string())
    );
    let serialized = serde_json::to_string(&entries).expect("json");
    for value in [
        "grace@example.com",
        "Gwendolyn",
        "Initech",
        "refund",
        "Friday",
        "+4930",
    ] {
        assert!(!serialized.contains(value), "audit log holds {value}");
    }
    dir.assert_no_plaintext(&["grace@example.com"]).await;
    assert!(
        app.audit()
            .entries(&actor(&app, Role::Agent), 0, 10)
            .await
            .is_err(),
        "agents do not read the audit log"
    );
}

#[tokio::test]
async fn export_neutralises_formulas() {
    let (_dir, app) = app().await;
    let mut i = input("f@example.com", "=HYPERLINK(\"http://x\")");
    i.fields.insert("company".into(), "@SUM(A1)".into());
    app.customers()
        .create(&agent(&app), i)
        .await
        .expect("create");
    let mut out = Vec::new();
    let exporter = operator(&app, "export", &["essential.service"]);
    let n = app
        .customers()
        .export(
            &exporter,
            "essential.service",
            ExportFormat::Csv,
            &mut out,
            |_| {},
        )
        .await
        .expect("export");
    assert_eq!(n, 1);
    let text = String::from_utf8(out).expect("utf8");
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.contains("'@SUM(A1)"), "{text}");
    assert!(
        text.contains(",+49301234567,") || text.contains("+49301234567"),
        "phone numbers stay usable: {text}"
    );
    let marketer = actor(&app, Role::Marketer);
    let mut sink = Vec::new();
    let r = app
        .customers()
        .export(
            &marketer,
            "marketing.communications.email",
            ExportFormat::Csv,
            &mut sink,
            |_| {},
        )
        .await;
    assert!(
        matches!(r, Err(AppError::Forbidden(_))),
        "marketers never export raw data"
    );
}

#[tokio::test]
async fn pagination_reaches_the_last_page_without_gaps() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let mut ids = Vec::new();
    for n in 0..23 {
        ids.push(
            app.customers()
                .create(&agent, input(&format!("p{n}@example.com"), "P"))
                .await
                .expect("create")
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .customers()
            .list(
                &agent,
                CustomerQuery {
                    cursor: cursor.clone(),
                    limit: Some(5),
                    ..Default::default()
                },
            )
            .await
            .expect("page");
        assert_eq!(page.limit, 5);
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    ids.sort();
    assert_eq!(seen, ids);
    let capped = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                limit: Some(10_000),
                ..Default::default()
            },
        )
        .await
        .expect("cap");
    assert_eq!(capped.limit, 500);
}

#[tokio::test]
async fn the_use_cases_run_on_postgresql_too() {
    let db = steward_store::testing::fresh_postgres().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_at(dir.path(), Some(db.url.clone())).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("pg@example.com", "Petra"))
        .await
        .expect("create");
    let found = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("PG@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(found.items.len(), 1);
    app.customers().get(&agent, c.id).await.expect("get");
    app.rights().erase(&dpo(&app), c.id).await.expect("erase");
    assert!(matches!(
        app.customers().get(&agent, c.id).await,
        Err(AppError::NotFound)
    ));
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.signed_head,
        Some(report.entries as i64),
        "{report:?}"
    );
}

#[tokio::test]
async fn sign_in_with_an_unknown_account_is_refused_like_a_wrong_password() {
    let (_dir, app) = app().await;
    let r = app
        .sessions()
        .login("nobody@example.com", "whatever it is", None, None)
        .await;
    assert!(
        matches!(r, Err(AppError::Unauthenticated(_))),
        "{:?}",
        r.err()
    );
}

#[tokio::test]
async fn wrong_codes_during_a_wait_count_and_make_it_longer() {
    let (_dir, app) = app().await;
    app.accounts()
        .add_user(
            &operator(&app, "setup", &[]),
            steward_app::NewUser {
                email: "dpo@example.com".into(),
                role: Role::Dpo,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let failures = || async {
        app.audit()
            .entries(&operator(&app, "check", &[]), 0, 500)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.record.action == "login.failed")
            .count()
    };
    for _ in 0..4 {
        let r = app
            .sessions()
            .login("dpo@example.com", "wrong", None, None)
            .await;
        assert!(
            matches!(r, Err(AppError::Unauthenticated(_))),
            "{:?}",
            r.err()
        );
    }
    let before = failures().await;
    let mut waits = Vec::new();
    for i in 0..6 {
        let code = format!("{:06}", 100_000 + i);
        match app
            .sessions()
            .login(
                "dpo@example.com",
                "correct horse battery staple",
                Some(&code),
                None,
            )
            .await
        {
            Err(AppError::TooManyAttempts { retry_after }) => waits.push(retry_after),
            other => panic!("{:?}", other.err()),
        }
    }
    assert_eq!(failures().await, before + 6, "each wrong code is audited");
    assert!(
        waits.windows(2).all(|w| w[0] < w[1]),
        "the wait grows: {waits:?}"
    );
}

#[tokio::test]
async fn a_restricted_customer_is_reached_only_for_legal_obligations() {
    let (_dir, app) = app().await;
    let c = app
        .customers()
        .create(&agent(&app), input("r@example.com", "Rosalind"))
        .await
        .expect("create");
    let restrict = CustomerPatch {
        status: Some("restricted".into()),
        ..Default::default()
    };
    app.customers()
        .update(&dpo(&app), c.id, restrict, 1)
        .await
        .expect("restrict");
    let forbidden = |r: Result<_, AppError>| matches!(r, Err(AppError::Forbidden(_)));
    assert!(forbidden(
        app.customers().get(&agent(&app), c.id).await.map(|_| ())
    ));
    let lift = CustomerPatch {
        status: Some("active".into()),
        ..Default::default()
    };
    assert!(
        forbidden(
            app.customers()
                .update(&agent(&app), c.id, lift.clone(), 2)
                .await
                .map(|_| ())
        ),
        "an agent cannot lift it"
    );
    let note = InteractionInput {
        kind: "note".into(),
        occurred_at: None,
        summary: "Tried anyway".into(),
        body: None,
        facets: Default::default(),
    };
    assert!(forbidden(
        app.interactions()
            .add(&agent(&app), c.id, note)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        app.interactions()
            .list(&agent(&app), c.id, None, None)
            .await
            .map(|_| ())
    ));
    app.customers()
        .update(&dpo(&app), c.id, lift, 2)
        .await
        .expect("the privacy officer lifts it");
    assert!(app.customers().get(&agent(&app), c.id).await.is_ok());
}

#[tokio::test]
async fn changing_a_staff_account_ends_its_sessions() {
    let (_dir, app) = app().await;
    let admin = operator(&app, "setup", &[]);
    let created = app
        .accounts()
        .add_user(
            &admin,
            steward_app::NewUser {
                email: "agent@example.com".into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let session = app
        .sessions()
        .login(
            "agent@example.com",
            "correct horse battery staple",
            None,
            None,
        )
        .await
        .expect("login");
    assert!(
        app.sessions()
            .authenticate_token(&session.token)
            .await
            .is_ok()
    );
    app.accounts()
        .update_user(&admin, created.id, None, Some(true))
        .await
        .expect("disable");
    assert!(
        app.sessions()
            .authenticate_token(&session.token)
            .await
            .is_err(),
        "the session ended with the account"
    );
    assert!(
        app.sessions()
            .login(
                "agent@example.com",
                "correct horse battery staple",
                None,
                None
            )
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_with_one_idempotency_key_create_once() {
    let (_dir, app) = app().await;
    let app = std::sync::Arc::new(app);
    let key = steward_app::IdempotencyKey::parse("retry-storm").expect("key");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, key) = (app.clone(), key.clone());
        tasks.spawn(async move {
            let agent = agent(&app);
            app.customers()
                .create_once(&agent, &key, input("race@example.com", "Rae"))
                .await
        });
    }
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let outcome = done
            .expect("task")
            .expect("every request gets the one answer");
        created += usize::from(!outcome.is_replay());
        ids.insert(outcome.into_inner().id);
    }
    assert_eq!(created, 1, "exactly one request creates");
    assert_eq!(ids.len(), 1, "all answers describe the same customer");
    assert_eq!(app.customers().count().await.expect("count"), 1);
}
