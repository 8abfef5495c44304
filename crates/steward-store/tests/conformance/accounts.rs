//! Accounts, tokens, sign-in failures and import jobs.

use super::*;

engines!(
    a_password_reset_clears_failures_and_ends_sessions,
    accounts_tokens_and_import_jobs,
    sign_in_failures_count_at_once_start_over_and_are_forgotten,
);

pub async fn a_password_reset_clears_failures_and_ends_sessions(store: Arc<dyn Store>) {
    let user = UserRow {
        id: Uuid::now_v7(),
        email: "agent@example.com".into(),
        role: "agent".into(),
        purposes: vec![],
        password_hash: "old".into(),
        disabled: false,
        created_at: 1,
        totp_secret: None,
        failed_logins: 0,
        display_name: "ada".into(),
    };
    store
        .create_user(&user, record("user.create", vec![]))
        .await
        .expect("user");
    for _ in 0..3 {
        store.record_login_failure(user.id).await.expect("failure");
    }
    let session = TokenRow {
        id: Uuid::now_v7(),
        token_hash: [21; 32],
        name: "session".into(),
        role: "agent".into(),
        purposes: vec![],
        created_by: format!("user:{}", user.id),
        created_at: 1,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    };
    store
        .create_token(&session, record("login.success", vec![]))
        .await
        .expect("session");
    let (seq_before, _) = store.audit_head().await.expect("head");
    assert!(
        store
            .set_password(user.id, "new", 7, record("user.password_reset", vec![]))
            .await
            .expect("reset")
    );
    let reset = store
        .find_user_by_email("agent@example.com")
        .await
        .expect("find")
        .expect("user");
    assert_eq!(
        (reset.password_hash.as_str(), reset.failed_logins),
        ("new", 0)
    );
    let ended = store
        .find_token(&[21; 32])
        .await
        .expect("find")
        .expect("session");
    assert_eq!(
        ended.revoked_at,
        Some(7),
        "a reset ends the user's sessions"
    );
    let (seq_after, _) = store.audit_head().await.expect("head");
    assert_eq!(seq_after, seq_before + 1, "audited in the same commit");
    assert!(
        !store
            .set_password(
                Uuid::now_v7(),
                "x",
                8,
                record("user.password_reset", vec![])
            )
            .await
            .expect("none")
    );
    assert_eq!(store.audit_head().await.expect("head").0, seq_after);
}

pub async fn accounts_tokens_and_import_jobs(store: Arc<dyn Store>) {
    let user = UserRow {
        id: Uuid::now_v7(),
        email: "dpo@example.com".into(),
        role: "dpo".into(),
        purposes: vec!["essential.legal_obligation".into()],
        password_hash: "h".into(),
        disabled: false,
        created_at: 1,
        totp_secret: None,
        failed_logins: 0,
        display_name: "dpo".into(),
    };
    store
        .create_user(&user, record("user.create", vec![]))
        .await
        .expect("user");
    assert_eq!(
        store
            .find_user_by_email("dpo@example.com")
            .await
            .expect("find"),
        Some(user.clone())
    );
    let unknown = Uuid::now_v7();
    assert!(
        store
            .set_display_name(user.id, "Dana P. Officer", record("user.rename", vec![]))
            .await
            .expect("renamed")
    );
    assert!(
        !store
            .set_display_name(unknown, "No One", record("user.rename", vec![]))
            .await
            .expect("no such user")
    );
    assert_eq!(
        store
            .display_names(&[user.id, unknown])
            .await
            .expect("names"),
        vec![(user.id, "Dana P. Officer".to_string())]
    );
    let user = UserRow {
        display_name: "Dana P. Officer".into(),
        ..user
    };
    let dup = store
        .create_user(
            &UserRow {
                id: Uuid::now_v7(),
                ..user.clone()
            },
            record("user.create", vec![]),
        )
        .await;
    assert!(
        matches!(&dup, Err(StoreError::Duplicate { field }) if field == "email"),
        "{dup:?}"
    );
    let token = TokenRow {
        id: Uuid::now_v7(),
        token_hash: [3; 32],
        name: "ci".into(),
        role: "agent".into(),
        purposes: vec![],
        created_by: "system:cli".into(),
        created_at: 1,
        expires_at: Some(5),
        revoked_at: None,
        last_used_at: None,
    };
    store
        .create_token(&token, record("token.create", vec![]))
        .await
        .expect("token");
    assert_eq!(
        store.find_token(&[3; 32]).await.expect("find"),
        Some(token.clone())
    );
    assert_eq!(store.find_token(&[4; 32]).await.expect("find"), None);

    assert_eq!(store.list_users().await.expect("users"), vec![user.clone()]);
    let session = TokenRow {
        id: Uuid::now_v7(),
        token_hash: [8; 32],
        name: "session".into(),
        role: "dpo".into(),
        purposes: vec![],
        created_by: format!("user:{}", user.id),
        created_at: 1,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    };
    store
        .create_token(&session, record("login.success", vec![]))
        .await
        .expect("session");
    store.touch_token(session.id, 4).await.expect("touch");
    assert_eq!(
        store
            .find_token(&[8; 32])
            .await
            .expect("find")
            .and_then(|t| t.last_used_at),
        Some(4)
    );
    assert!(
        store
            .update_user(
                user.id,
                Some("auditor"),
                Some(true),
                5,
                record("user.update", vec![])
            )
            .await
            .expect("update")
    );
    let ended = store
        .find_token(&[8; 32])
        .await
        .expect("find")
        .expect("session");
    assert_eq!(
        ended.revoked_at,
        Some(5),
        "changing a user ends their sessions"
    );
    let changed = store
        .find_user_by_email("dpo@example.com")
        .await
        .expect("find")
        .expect("user");
    assert_eq!((changed.role.as_str(), changed.disabled), ("auditor", true));
    assert!(
        !store
            .update_user(
                Uuid::now_v7(),
                None,
                Some(false),
                5,
                record("user.update", vec![])
            )
            .await
            .expect("none")
    );
    assert_eq!(
        store.record_login_failure(user.id).await.expect("failure"),
        1
    );
    assert_eq!(
        store.record_login_failure(user.id).await.expect("failure"),
        2
    );
    assert_eq!(
        store.record_login_failure(user.id).await.expect("failure"),
        3
    );
    store
        .set_totp_secret(user.id, Some(&[1, 2, 3]), record("user.totp", vec![]))
        .await
        .expect("totp");
    let changed = store
        .find_user_by_email("dpo@example.com")
        .await
        .expect("find")
        .expect("user");
    assert_eq!(
        (changed.failed_logins, changed.totp_secret),
        (3, Some(vec![1, 2, 3]))
    );
    // Parallel failures each count.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let id = user.id;
        tasks.push(tokio::spawn(async move {
            store.record_login_failure(id).await.expect("failure")
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.expect("task"));
    }
    counts.sort();
    assert_eq!(counts, (4..=11).collect::<Vec<i64>>());
    store.reset_login_failures(user.id).await.expect("reset");
    let reset = store
        .find_user_by_email("dpo@example.com")
        .await
        .expect("find")
        .expect("user");
    assert_eq!(reset.failed_logins, 0);
    assert_eq!(store.list_tokens().await.expect("tokens").len(), 2);
    assert!(
        store
            .revoke_token(token.id, 9, record("token.revoke", vec![]))
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_token(token.id, 10, record("token.revoke", vec![]))
            .await
            .expect("again")
    );
    assert_eq!(
        store.list_tokens().await.expect("tokens")[0].revoked_at,
        Some(9)
    );

    let head = store.audit_head().await.expect("head").0;
    let search = |f: AuditFilter| {
        let store = store.clone();
        async move {
            store
                .audit_search(&AuditFilter { limit: 100, ..f })
                .await
                .expect("search")
        }
    };
    assert_eq!(search(AuditFilter::default()).await.len() as i64, head);
    assert_eq!(
        search(AuditFilter {
            action: Some("token.revoke".into()),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    assert_eq!(
        search(AuditFilter {
            actor: Some("system:test".into()),
            after_seq: head - 1,
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    let targeted = store
        .append_audit(vec![record(
            "customer.read",
            vec!["abc".into(), "abcd".into()],
        )])
        .await
        .expect("append");
    let found = search(AuditFilter {
        target: Some("abc".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        found.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![targeted[0].seq]
    );
    assert!(
        search(AuditFilter {
            target: Some("ab".into()),
            ..Default::default()
        })
        .await
        .is_empty(),
        "targets match whole ids"
    );
    assert!(
        search(AuditFilter {
            from: Some(2),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let all = search(AuditFilter {
        to: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        all.len() as i64,
        head + 1,
        "every entry here was written at time 1"
    );

    assert_eq!(store.import_job("f").await.expect("job"), None);
    let mut job = ImportJob {
        fingerprint: "f".into(),
        byte_offset: 10,
        line: 2,
        imported: 1,
        rejected: 0,
        reject_len: 12,
        finished: false,
        updated_at: 1,
    };
    store
        .apply(ChangeSet {
            import_job: Some(job.clone()),
            ..Default::default()
        })
        .await
        .expect("save");
    job.byte_offset = 20;
    job.finished = true;
    store
        .apply(ChangeSet {
            import_job: Some(job.clone()),
            ..Default::default()
        })
        .await
        .expect("save again");
    assert_eq!(store.import_job("f").await.expect("job"), Some(job));
}

pub async fn sign_in_failures_count_at_once_start_over_and_are_forgotten(store: Arc<dyn Store>) {
    let (key, other) = ([1u8; 32], [2u8; 32]);
    assert_eq!(store.sign_in_failures(&key).await.expect("read"), None);
    // Failures at the same moment, as from several instances, each count.
    let counted: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.count_sign_in_failure(&key, 100, 0).await })
        })
        .collect();
    let mut seen = Vec::new();
    for c in counted {
        seen.push(c.await.expect("task").expect("count").failures);
    }
    seen.sort();
    assert_eq!(seen, (1..=8).collect::<Vec<_>>());
    store
        .count_sign_in_failure(&other, 150, 0)
        .await
        .expect("count");
    assert_eq!(
        store.sign_in_failures(&key).await.expect("read"),
        Some(SignInFailures {
            failures: 8,
            last_at: 100
        })
    );
    // A run whose last failure is older than the cut-off starts over.
    let restarted = store
        .count_sign_in_failure(&key, 1_000, 100)
        .await
        .expect("count");
    assert_eq!(
        restarted,
        SignInFailures {
            failures: 1,
            last_at: 1_000
        }
    );
    assert_eq!(
        store.forget_sign_in_failures(150).await.expect("forget"),
        1,
        "only runs that ended by then"
    );
    assert_eq!(store.sign_in_failures(&other).await.expect("read"), None);
    store.clear_sign_in_failures(&key).await.expect("clear");
    assert_eq!(store.sign_in_failures(&key).await.expect("read"), None);
}
