//! One store suite, run against both engines. Every scenario is written once against the
//! `Store` trait; the `engines!` macro instantiates it for SQLite and for PostgreSQL.

use std::sync::Arc;

use steward_core::audit::{AuditRecord, ChainWalker};
use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_store::*;
use uuid::Uuid;

enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Pg(#[allow(dead_code)] TestDatabase),
}

fn signer() -> Arc<dyn steward_core::audit::HeadSigner> {
    Arc::new(steward_vault::Signer::generate())
}

async fn sqlite() -> (Guard, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("steward.db"), signer()).expect("open sqlite");
    (Guard::Dir(dir), Arc::new(store))
}

async fn postgres() -> (Guard, Arc<dyn Store>) {
    let db = fresh_postgres().await;
    let store = PostgresStore::connect(&db.url, 8, signer())
        .await
        .expect("connect postgres");
    (Guard::Pg(db), Arc::new(store))
}

macro_rules! engines {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (_guard, store) = super::sqlite().await;
                super::scenarios::$name(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (_guard, store) = super::postgres().await;
                super::scenarios::$name(store).await;
            }
        })*
    };
}

engines!(
    customers_round_trip,
    list_filters_and_cursor,
    updates_check_versions,
    unique_index_rejects_whole_change_set,
    erasure_removes_everything_but_a_tombstone,
    audit_chain_is_contiguous_under_concurrency,
    interactions_timeline_pages,
    accounts_tokens_and_import_jobs,
    reopening_keeps_data,
    idempotent_answers_are_kept_once_and_expire,
    counts_for_charts,
    consent_ledger_keeps_history_and_current_state,
    audiences_reach_only_consenting_active_customers,
    segments_filter_on_every_condition,
    notices_publish_once,
    outbox_leases_records_and_erases_mail,
    mail_links_are_spent_once_with_their_change,
    campaigns_step_once_and_count_their_mail,
    concurrent_writes_fail_alone,
    lapsed_consents_are_found_until_marked,
    portal_codes_are_bound_spent_once_and_limited,
    requests_move_once_and_outlive_their_subject,
    retention_claims_once_and_sweeps_what_it_claimed,
    audit_search_reads_a_records_entries_by_its_id,
    a_password_reset_clears_failures_and_ends_sessions,
    signups_are_held_settled_by_their_last_link_and_dropped_once,
);

fn record(action: &str, targets: Vec<String>) -> AuditRecord {
    AuditRecord {
        at: 1,
        actor: "system:test".into(),
        role: "system".into(),
        action: action.into(),
        purpose: Some("essential.service".into()),
        targets,
        fields: vec!["email".into()],
        detail: None,
    }
}

fn erasure(id: Uuid, at: i64, audit: AuditRecord) -> Erasure {
    Erasure {
        id,
        at,
        suppress: None,
        with: ChangeSet {
            audit: vec![audit],
            ..Default::default()
        },
    }
}

fn customer(at: i64, tags: &[&str], status: &str) -> CustomerRow {
    CustomerRow {
        id: Uuid::now_v7(),
        residency: "DE".into(),
        status: status.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        fields: vec![1, 2, 3, at as u8],
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn digest(n: u8) -> IndexDigest {
    [n; 16]
}

fn entry(field: &str, n: u8, unique: bool) -> IndexEntry {
    IndexEntry {
        field: field.into(),
        digest: digest(n),
        unique,
    }
}

async fn insert(
    store: &Arc<dyn Store>,
    writes: Vec<CustomerWrite>,
) -> Result<Vec<steward_core::audit::AuditEntry>> {
    let targets = writes.iter().map(|w| w.row.id.to_string()).collect();
    store
        .apply(ChangeSet {
            inserts: writes,
            audit: vec![record("customer.create", targets)],
            ..Default::default()
        })
        .await
}

mod scenarios {
    use super::*;

    pub async fn customers_round_trip(store: Arc<dyn Store>) {
        let c = customer(10, &["vip", "b2b"], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![entry("email", 1, true), entry("phone", 2, false)],
            }],
        )
        .await
        .expect("insert");
        let mut expected = c.clone();
        expected.tags.sort();
        assert_eq!(
            store.get_customer(c.id).await.expect("get"),
            Some(expected.clone())
        );
        assert_eq!(
            store
                .get_customers(&[c.id, Uuid::now_v7()])
                .await
                .expect("many"),
            vec![expected]
        );
        assert_eq!(
            store
                .lookup_index("email", &[digest(1), digest(9)])
                .await
                .expect("lookup"),
            vec![(digest(1), c.id)]
        );
        assert_eq!(
            store
                .lookup_index("phone", &[digest(1)])
                .await
                .expect("lookup"),
            vec![]
        );
        assert_eq!(store.count_customers().await.expect("count"), 1);
        assert_eq!(store.get_customer(Uuid::now_v7()).await.expect("get"), None);
    }

    pub async fn list_filters_and_cursor(store: Arc<dyn Store>) {
        let mut all = Vec::new();
        for i in 0..25i64 {
            let tags: &[&str] = if i % 3 == 0 { &["vip"] } else { &[] };
            let status = if i % 5 == 0 { "closed" } else { "active" };
            let c = customer(100 + i, tags, status);
            all.push(c.clone());
            insert(
                &store,
                vec![CustomerWrite {
                    row: c,
                    index: vec![entry("email", i as u8, true)],
                }],
            )
            .await
            .expect("insert");
        }
        // Walk every page: each customer exactly once, in id order.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_customers(&CustomerFilter {
                    after,
                    limit: 7,
                    ..Default::default()
                })
                .await
                .expect("page");
            if page.is_empty() {
                break;
            }
            after = page.last().map(|c| c.id);
            seen.extend(page.into_iter().map(|c| c.id));
        }
        let mut ids: Vec<Uuid> = all.iter().map(|c| c.id).collect();
        ids.sort();
        assert_eq!(seen, ids);

        let count = |f: CustomerFilter| {
            let store = store.clone();
            async move {
                store
                    .list_customers(&CustomerFilter { limit: 100, ..f })
                    .await
                    .expect("list")
                    .len()
            }
        };
        assert_eq!(
            count(CustomerFilter {
                tag: Some("vip".into()),
                ..Default::default()
            })
            .await,
            9
        );
        assert_eq!(
            count(CustomerFilter {
                status: Some("closed".into()),
                ..Default::default()
            })
            .await,
            5
        );
        assert_eq!(
            count(CustomerFilter {
                created_after: Some(119),
                ..Default::default()
            })
            .await,
            5
        );
        assert_eq!(
            count(CustomerFilter {
                updated_before: Some(102),
                ..Default::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(CustomerFilter {
                index: Some(("email".into(), digest(4))),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            count(CustomerFilter {
                tag: Some("vip".into()),
                status: Some("closed".into()),
                ..Default::default()
            })
            .await,
            2
        );
    }

    pub async fn updates_check_versions(store: Arc<dyn Store>) {
        let c = customer(1, &["a"], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![entry("email", 1, true), entry("phone", 2, false)],
            }],
        )
        .await
        .expect("insert");
        let mut next = c.clone();
        next.version = 2;
        next.tags = vec!["b".into()];
        next.fields = vec![9];
        let update = |row: CustomerRow,
                      expected: i64,
                      index: Vec<IndexEntry>,
                      replaced: Vec<String>| ChangeSet {
            updates: vec![CustomerUpdate {
                write: CustomerWrite { row, index },
                expected_version: expected,
                replaced_index_fields: replaced,
            }],
            audit: vec![record("customer.update", vec![])],
            ..Default::default()
        };
        store
            .apply(update(
                next.clone(),
                1,
                vec![entry("phone", 3, false)],
                vec!["phone".into()],
            ))
            .await
            .expect("update");
        assert_eq!(
            store.get_customer(c.id).await.expect("get"),
            Some(next.clone())
        );
        // The email entry was not replaced; the phone entry was.
        assert_eq!(
            store
                .lookup_index("email", &[digest(1)])
                .await
                .expect("lookup")
                .len(),
            1
        );
        assert!(
            store
                .lookup_index("phone", &[digest(2)])
                .await
                .expect("lookup")
                .is_empty()
        );
        assert_eq!(
            store
                .lookup_index("phone", &[digest(3)])
                .await
                .expect("lookup")
                .len(),
            1
        );

        let stale = store.apply(update(next.clone(), 1, vec![], vec![])).await;
        assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
        let mut ghost = next.clone();
        ghost.id = Uuid::now_v7();
        let missing = store.apply(update(ghost, 1, vec![], vec![])).await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        let (seq, _) = store.audit_head().await.expect("head");
        assert_eq!(seq, 2, "failed updates append no audit entry");
    }

    pub async fn unique_index_rejects_whole_change_set(store: Arc<dyn Store>) {
        let a = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: a,
                index: vec![entry("email", 7, true)],
            }],
        )
        .await
        .expect("insert");
        let b = customer(2, &["x"], "active");
        let c = customer(3, &[], "active");
        let result = insert(
            &store,
            vec![
                CustomerWrite {
                    row: b.clone(),
                    index: vec![entry("email", 8, true)],
                },
                CustomerWrite {
                    row: c.clone(),
                    index: vec![entry("email", 7, true)],
                },
            ],
        )
        .await;
        assert!(
            matches!(&result, Err(StoreError::Duplicate { field }) if field == "email"),
            "{result:?}"
        );
        assert_eq!(
            store.get_customer(b.id).await.expect("get"),
            None,
            "nothing of a failed change set is stored"
        );
        assert_eq!(store.count_customers().await.expect("count"), 1);
        assert_eq!(store.audit_head().await.expect("head").0, 1);
        // Non-unique entries may repeat.
        insert(
            &store,
            vec![CustomerWrite {
                row: b,
                index: vec![entry("phone", 7, false)],
            }],
        )
        .await
        .expect("insert b");
        insert(
            &store,
            vec![CustomerWrite {
                row: c,
                index: vec![entry("phone", 7, false)],
            }],
        )
        .await
        .expect("insert c");
        assert_eq!(
            store
                .lookup_index("phone", &[digest(7)])
                .await
                .expect("lookup")
                .len(),
            2
        );
    }

    pub async fn erasure_removes_everything_but_a_tombstone(store: Arc<dyn Store>) {
        let c = customer(1, &["vip"], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![entry("email", 1, true)],
            }],
        )
        .await
        .expect("insert");
        let interaction = InteractionRow {
            id: Uuid::now_v7(),
            customer_id: c.id,
            kind: "note".into(),
            occurred_at: 5,
            sealed: vec![1],
            created_at: 5,
        };
        store
            .apply(ChangeSet {
                interactions: vec![interaction],
                ..Default::default()
            })
            .await
            .expect("interaction");
        assert!(!store.is_tombstoned(c.id).await.expect("tomb"));
        assert!(
            store
                .erase_customer(erasure(
                    c.id,
                    99,
                    record("customer.erase", vec![c.id.to_string()])
                ))
                .await
                .expect("erase")
        );
        assert_eq!(store.get_customer(c.id).await.expect("get"), None);
        assert!(
            store
                .lookup_index("email", &[digest(1)])
                .await
                .expect("lookup")
                .is_empty()
        );
        assert!(
            store
                .list_interactions(c.id, None, 10)
                .await
                .expect("list")
                .is_empty()
        );
        assert!(
            store
                .list_customers(&CustomerFilter {
                    tag: Some("vip".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .expect("list")
                .is_empty()
        );
        assert!(store.is_tombstoned(c.id).await.expect("tomb"));
        assert!(
            !store
                .erase_customer(erasure(c.id, 100, record("customer.erase", vec![])))
                .await
                .expect("again")
        );
        let page = store.audit_page(0, 10).await.expect("audit");
        assert_eq!(
            page.last().map(|e| e.record.action.as_str()),
            Some("customer.erase")
        );
        // An interaction for an erased customer is refused.
        let late = InteractionRow {
            id: Uuid::now_v7(),
            customer_id: c.id,
            kind: "note".into(),
            occurred_at: 5,
            sealed: vec![1],
            created_at: 5,
        };
        let r = store
            .apply(ChangeSet {
                interactions: vec![late],
                ..Default::default()
            })
            .await;
        assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    }

    pub async fn audit_chain_is_contiguous_under_concurrency(store: Arc<dyn Store>) {
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    store
                        .append_audit(vec![
                            record(&format!("t{t}.{i}"), vec![]),
                            record("pair", vec![]),
                        ])
                        .await
                        .expect("append");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let entries = store.audit_page(0, 1_000).await.expect("page");
        assert_eq!(entries.len(), 400);
        let mut walker = ChainWalker::default();
        for e in &entries {
            walker.feed(e).expect("chain intact");
        }
        assert_eq!(store.audit_head().await.expect("head"), (400, walker.head));
        // Every commit signed the head it left, concurrent ones included.
        let signed = store
            .signed_head()
            .await
            .expect("signed head")
            .expect("a head is signed");
        assert_eq!((signed.seq, signed.head), (400, walker.head));
        assert_eq!(signed.signature.len(), 64);
        assert_eq!(store.audit_page(398, 10).await.expect("tail").len(), 2);
    }

    pub async fn interactions_timeline_pages(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("insert");
        let rows: Vec<InteractionRow> = (0..12)
            .map(|i| InteractionRow {
                id: Uuid::now_v7(),
                customer_id: c.id,
                kind: "order".into(),
                occurred_at: 1000 + (i % 4),
                sealed: vec![i as u8],
                created_at: 1,
            })
            .collect();
        store
            .apply(ChangeSet {
                interactions: rows.clone(),
                ..Default::default()
            })
            .await
            .expect("insert");
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_interactions(c.id, after, 5).await.expect("page");
            if page.is_empty() {
                break;
            }
            after = page.last().map(|r| (r.occurred_at, r.id));
            seen.extend(page);
        }
        assert_eq!(seen.len(), 12);
        assert!(
            seen.windows(2)
                .all(|w| (w[0].occurred_at, w[0].id) > (w[1].occurred_at, w[1].id)),
            "newest first, no repeats"
        );
    }

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

    pub async fn reopening_keeps_data(store: Arc<dyn Store>) {
        // Migrations are idempotent: the second open of the same database (done for both
        // engines by connecting again) finds the data in place.
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("insert");
        assert_eq!(store.count_customers().await.expect("count"), 1);
    }

    pub async fn idempotent_answers_are_kept_once_and_expire(store: Arc<dyn Store>) {
        let c = customer(100, &[], "active");
        let kept = |key: u8, created_at: i64| IdempotentRow {
            key_hash: [key; 32],
            fingerprint: [7; 32],
            customer_id: c.id,
            response: vec![key, 1, 2],
            created_at,
            expires_at: created_at + 50,
        };
        let with = |row: Option<CustomerWrite>, kept: IdempotentRow| ChangeSet {
            inserts: row.into_iter().collect(),
            idempotency: Some(kept),
            audit: vec![record("customer.create", vec![])],
            ..Default::default()
        };
        let write = CustomerWrite {
            row: c.clone(),
            index: vec![],
        };
        store
            .apply(with(Some(write), kept(1, 100)))
            .await
            .expect("first use");
        assert_eq!(
            store.find_idempotent(&[1; 32], 120).await.expect("find"),
            Some(kept(1, 100))
        );
        assert_eq!(
            store.find_idempotent(&[1; 32], 150).await.expect("find"),
            None,
            "expired"
        );

        // A second use inside the day is refused and takes its whole change set with it.
        let other = customer(110, &[], "active");
        let second = CustomerWrite {
            row: other.clone(),
            index: vec![],
        };
        match store.apply(with(Some(second), kept(1, 110))).await {
            Err(StoreError::Duplicate { field }) => assert_eq!(field, IDEMPOTENCY_KEY),
            other => panic!("expected a duplicate key, got {other:?}"),
        }
        assert_eq!(store.get_customer(other.id).await.expect("get"), None);

        // Once expired, the key may be used again.
        store
            .apply(with(None, kept(1, 160)))
            .await
            .expect("reuse after expiry");
        assert_eq!(
            store.find_idempotent(&[1; 32], 170).await.expect("find"),
            Some(kept(1, 160))
        );

        // Erasure takes the kept answer and what was asked with the customer; only the key's
        // hash stays, so that a retry learns of the erasure instead of creating them again.
        store
            .erase_customer(erasure(c.id, 180, record("customer.erase", vec![])))
            .await
            .expect("erase");
        let left = store
            .find_idempotent(&[1; 32], 181)
            .await
            .expect("find")
            .expect("the key is remembered");
        assert_eq!(
            (left.customer_id, left.response.len(), left.fingerprint),
            (c.id, 0, [0; 32])
        );
    }

    pub async fn counts_for_charts(store: Arc<dyn Store>) {
        let day = MICROS_PER_DAY;
        let mut rows = Vec::new();
        for (at, residency) in [(day, "DE"), (day + 5, "DE"), (3 * day, "FR"), (10, "DE")] {
            let mut c = customer(at, &[], "active");
            c.residency = residency.into();
            rows.push(CustomerWrite {
                row: c,
                index: vec![],
            });
        }
        insert(&store, rows).await.expect("insert");
        let stats = store.customer_stats(day).await.expect("stats");
        assert_eq!(
            stats.by_residency,
            vec![("DE".to_string(), 3), ("FR".to_string(), 1)]
        );
        assert_eq!(
            stats.created_per_day,
            vec![(1, 2), (3, 1)],
            "since day 1 only"
        );
        let listed = store
            .list_customers(&CustomerFilter {
                residency: Some("FR".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(listed.len(), 1);

        let mut records = Vec::new();
        for (at, role, purpose) in [
            (day, "agent", Some("essential.service")),
            (day + 1, "agent", Some("essential.service")),
            (2 * day, "dpo", None),
            (5, "agent", Some("essential.service")),
        ] {
            let mut r = record("customer.read", vec![]);
            r.at = at;
            r.role = role.into();
            r.purpose = purpose.map(str::to_string);
            records.push(r);
        }
        store.append_audit(records).await.expect("audit");
        let mut activity = store.audit_activity(day).await.expect("activity");
        activity.retain(|a| a.action == "customer.read");
        assert_eq!(
            activity,
            vec![
                ActivityCount {
                    day: 1,
                    role: "agent".into(),
                    purpose: Some("essential.service".into()),
                    action: "customer.read".into(),
                    count: 2,
                },
                ActivityCount {
                    day: 2,
                    role: "dpo".into(),
                    purpose: None,
                    action: "customer.read".into(),
                    count: 1,
                },
            ]
        );
    }

    pub async fn consent_ledger_keeps_history_and_current_state(store: Arc<dyn Store>) {
        let c = customer(10, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("insert");
        let event = |state: &str, at: i64, customer: Uuid| ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: customer,
            purpose: "marketing.communications.email".into(),
            state: state.into(),
            notice_version: Some("2026-01".into()),
            method: "api".into(),
            evidence: Some(r#"{"client":"3f2a"}"#.into()),
            at,
            expires_at: Some(at + 100),
        };
        let recorded = |e: ConsentEvent| ChangeSet {
            consents: vec![e],
            audit: vec![record("consent.record", vec![])],
            ..Default::default()
        };
        let given = event("given", 20, c.id);
        store.apply(recorded(given.clone())).await.expect("given");
        assert_eq!(
            store.consents(c.id).await.expect("current"),
            vec![given.clone()]
        );
        let withdrawn = event("withdrawn", 30, c.id);
        store
            .apply(recorded(withdrawn.clone()))
            .await
            .expect("withdrawn");
        assert_eq!(
            store.consents(c.id).await.expect("current"),
            vec![withdrawn.clone()],
            "the latest event is the current state"
        );
        let (row, current) = store
            .customer_with_consents(c.id)
            .await
            .expect("read together")
            .expect("customer");
        assert_eq!((row.id, row.version), (c.id, c.version));
        assert_eq!(current, vec![withdrawn.clone()]);
        assert_eq!(
            store.consent_event(given.id).await.expect("event"),
            Some(given.clone())
        );
        let stats = store.consent_stats(0).await.expect("stats");
        assert_eq!(
            stats.current,
            vec![(
                "marketing.communications.email".to_string(),
                "withdrawn".to_string(),
                1
            )]
        );
        assert_eq!(
            stats
                .per_day
                .iter()
                .map(|(_, _, s, n)| (s.as_str(), *n))
                .collect::<Vec<_>>(),
            vec![("given", 1), ("withdrawn", 1)]
        );
        assert_eq!(
            store.consent_history(c.id).await.expect("history"),
            vec![given, withdrawn]
        );

        let stranger = Uuid::now_v7();
        let before = store.audit_head().await.expect("head").0;
        assert!(matches!(
            store.apply(recorded(event("given", 40, stranger))).await,
            Err(StoreError::NotFound)
        ));
        assert!(
            store
                .consent_history(stranger)
                .await
                .expect("none")
                .is_empty()
        );
        assert!(
            store
                .customer_with_consents(stranger)
                .await
                .expect("read")
                .is_none()
        );
        assert_eq!(
            store.audit_head().await.expect("head").0,
            before,
            "all or nothing"
        );

        store
            .erase_customer(erasure(c.id, 50, record("customer.erase", vec![])))
            .await
            .expect("erase");
        assert!(store.consents(c.id).await.expect("current").is_empty());
        assert!(
            store
                .consent_history(c.id)
                .await
                .expect("history")
                .is_empty()
        );
    }

    pub async fn audiences_reach_only_consenting_active_customers(store: Arc<dyn Store>) {
        const EMAIL: &str = "marketing.communications.email";
        // (status, residency, tag, purpose, state, expires_at)
        let cases = [
            ("active", "DE", "vip", EMAIL, "given", None),
            ("active", "FR", "vip", EMAIL, "given", Some(1_000)),
            ("active", "DE", "new", EMAIL, "given", Some(10)),
            ("active", "DE", "vip", EMAIL, "withdrawn", None),
            ("restricted", "DE", "vip", EMAIL, "given", None),
            (
                "active",
                "DE",
                "vip",
                "marketing.communications.sms",
                "given",
                None,
            ),
            ("active", "DE", "vip", EMAIL, "refused", None),
        ];
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for (status, residency, tag, purpose, state, expires_at) in cases {
            let mut c = customer(1, &[tag], status);
            c.residency = residency.into();
            events.push(ConsentEvent {
                id: Uuid::now_v7(),
                customer_id: c.id,
                purpose: purpose.into(),
                state: state.into(),
                notice_version: None,
                method: "api".into(),
                evidence: None,
                at: 5,
                expires_at,
            });
            rows.push(CustomerWrite {
                row: c,
                index: vec![],
            });
        }
        insert(&store, rows).await.expect("customers");
        store
            .apply(ChangeSet {
                consents: events,
                ..Default::default()
            })
            .await
            .expect("consents");
        let query = |tag: Option<&str>, residency: Option<&str>| SegmentQuery {
            tags: tag.map(str::to_string).into_iter().collect(),
            residency: residency.map(str::to_string).into_iter().collect(),
            audience: Some(AudienceOf {
                purpose: EMAIL.into(),
                now: 100,
                given_since: None,
            }),
            ..Default::default()
        };
        let count = |tag: Option<&str>, residency: Option<&str>| {
            let store = store.clone();
            let q = query(tag, residency);
            async move { store.count_segment(&q).await.expect("count") }
        };
        assert_eq!(
            count(None, None).await,
            2,
            "given, unexpired and active only"
        );
        assert_eq!(count(Some("vip"), None).await, 2);
        assert_eq!(count(None, Some("FR")).await, 1);
        assert_eq!(count(Some("new"), None).await, 0, "that one expired");
        let mut renewed = query(None, None);
        if let Some(a) = renewed.audience.as_mut() {
            a.given_since = Some(6);
        }
        assert_eq!(
            store.count_segment(&renewed).await.expect("count"),
            0,
            "given at 5, before a material notice change at 6"
        );

        let all = store
            .segment_page(&query(None, None), None, 10)
            .await
            .expect("members");
        let ids: Vec<Uuid> = all.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!((ids.len(), &ids), (2, &sorted), "in id order");
        let first = store
            .segment_page(&query(None, None), None, 1)
            .await
            .expect("page");
        let rest = store
            .segment_page(&query(None, None), Some(first[0].id), 10)
            .await
            .expect("next");
        assert_eq!(
            first
                .into_iter()
                .chain(rest)
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            ids,
            "pages by id join up"
        );
    }

    pub async fn segments_filter_on_every_condition(store: Arc<dyn Store>) {
        const SMS: &str = "marketing.communications.sms";
        let mut old = customer(10, &["vip", "b2b"], "active");
        old.residency = "FR".into();
        let mut new = customer(50, &["vip"], "active");
        new.updated_at = 60;
        let closed = customer(50, &["vip"], "closed");
        insert(
            &store,
            [&old, &new, &closed]
                .into_iter()
                .map(|c| CustomerWrite {
                    row: c.clone(),
                    index: vec![],
                })
                .collect(),
        )
        .await
        .expect("customers");
        let interaction = |c: &CustomerRow, at: i64| InteractionRow {
            id: Uuid::now_v7(),
            customer_id: c.id,
            kind: "order".into(),
            occurred_at: at,
            sealed: vec![1],
            created_at: at,
        };
        let consent = |c: &CustomerRow, state: &str, expires_at: Option<i64>| ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: c.id,
            purpose: SMS.into(),
            state: state.into(),
            notice_version: None,
            method: "api".into(),
            evidence: None,
            at: 5,
            expires_at,
        };
        store
            .apply(ChangeSet {
                interactions: vec![
                    interaction(&old, 20),
                    interaction(&old, 90),
                    interaction(&new, 30),
                ],
                consents: vec![
                    consent(&old, "given", Some(80)),
                    consent(&new, "given", None),
                    consent(&closed, "withdrawn", None),
                ],
                ..Default::default()
            })
            .await
            .expect("interactions and consents");
        let members = |q: SegmentQuery| {
            let store = store.clone();
            async move {
                let mut ids: Vec<Uuid> = store
                    .segment_page(&q, None, 100)
                    .await
                    .expect("page")
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                ids.sort();
                assert_eq!(
                    store.count_segment(&q).await.expect("count"),
                    ids.len() as u64
                );
                ids
            }
        };
        let sorted = |mut v: Vec<Uuid>| {
            v.sort();
            v
        };
        let span = |from: Option<i64>, until: Option<i64>| Span { from, until };
        let consent_since = |state: &str, now: i64, given_since: Option<i64>| SegmentQuery {
            consent: Some(ConsentCondition {
                purpose: SMS.into(),
                state: state.into(),
                now,
                given_since,
            }),
            ..Default::default()
        };
        let consent_is = |state: &str, now: i64| consent_since(state, now, None);
        assert_eq!(members(SegmentQuery::default()).await.len(), 3);
        assert_eq!(
            members(SegmentQuery {
                tags: vec!["vip".into(), "b2b".into()],
                ..Default::default()
            })
            .await,
            vec![old.id],
            "every tag"
        );
        assert_eq!(
            members(SegmentQuery {
                residency: vec!["FR".into(), "IT".into()],
                ..Default::default()
            })
            .await,
            vec![old.id],
            "any country"
        );
        assert_eq!(
            members(SegmentQuery {
                status: Some("closed".into()),
                ..Default::default()
            })
            .await,
            vec![closed.id]
        );
        assert_eq!(
            members(SegmentQuery {
                created: span(Some(50), None),
                ..Default::default()
            })
            .await,
            sorted(vec![new.id, closed.id]),
            "from is inclusive"
        );
        assert_eq!(
            members(SegmentQuery {
                updated: span(None, Some(55)),
                ..Default::default()
            })
            .await,
            sorted(vec![old.id, closed.id]),
            "until is exclusive"
        );
        assert_eq!(
            members(SegmentQuery {
                last_interaction: span(Some(40), None),
                ..Default::default()
            })
            .await,
            vec![old.id],
            "the latest interaction counts; none never matches"
        );
        assert_eq!(
            members(SegmentQuery {
                last_interaction: span(None, Some(40)),
                ..Default::default()
            })
            .await,
            vec![new.id]
        );
        assert_eq!(
            members(consent_is("given", 70)).await,
            sorted(vec![old.id, new.id])
        );
        assert_eq!(
            members(consent_is("given", 85)).await,
            vec![new.id],
            "expired at 80"
        );
        assert_eq!(members(consent_is("expired", 85)).await, vec![old.id]);
        assert_eq!(
            members(consent_is("not_given", 85)).await,
            sorted(vec![old.id, closed.id])
        );
        assert_eq!(members(consent_is("withdrawn", 85)).await, vec![closed.id]);
        // Both gave at 5: a material notice change at 6 leaves neither given.
        assert!(
            members(consent_since("given", 70, Some(6)))
                .await
                .is_empty()
        );
        assert_eq!(
            members(consent_since("expired", 70, Some(6))).await,
            sorted(vec![old.id, new.id])
        );
        assert_eq!(
            members(consent_since("given", 70, Some(5))).await.len(),
            2,
            "since is inclusive"
        );
        // Both gave at 5: a material notice change at 6 leaves neither given.
        assert!(
            members(consent_since("given", 70, Some(6)))
                .await
                .is_empty()
        );
        assert_eq!(
            members(consent_since("expired", 70, Some(6))).await,
            sorted(vec![old.id, new.id])
        );
        assert_eq!(
            members(consent_since("given", 70, Some(5))).await.len(),
            2,
            "since is inclusive"
        );
    }

    pub async fn notices_publish_once(store: Arc<dyn Store>) {
        let draft = |version: &str, created_at: i64| NoticeRow {
            id: Uuid::now_v7(),
            version: version.into(),
            language: "en".into(),
            effective_at: 10,
            material: false,
            body: "# Notice".into(),
            summaries: "{}".into(),
            created_at,
            published_at: None,
        };
        let first = draft("2026-01", 1);
        store
            .create_notice(&first, record("notice.create", vec![]))
            .await
            .expect("draft");
        assert!(matches!(
            store
                .create_notice(&draft("2026-01", 2), record("notice.create", vec![]))
                .await,
            Err(StoreError::Duplicate { field }) if field == "version"
        ));
        let second = draft("2026-02", 3);
        store
            .create_notice(&second, record("notice.create", vec![]))
            .await
            .expect("second draft");
        assert!(
            store
                .publish_notice(first.id, 5, record("notice.publish", vec![]))
                .await
                .expect("publish")
        );
        assert!(
            !store
                .publish_notice(first.id, 6, record("notice.publish", vec![]))
                .await
                .expect("again"),
            "a published version stays as it was published"
        );
        let all = store.notices().await.expect("list");
        assert_eq!(
            all.iter()
                .map(|n| (n.version.as_str(), n.published_at))
                .collect::<Vec<_>>(),
            vec![("2026-02", None), ("2026-01", Some(5))],
            "newest first"
        );
    }

    fn message(customer: Uuid, at: i64) -> OutboxRow {
        OutboxRow {
            id: Uuid::now_v7(),
            customer_id: customer,
            kind: "confirmation".into(),
            campaign_id: None,
            sealed: vec![9, 9, 9],
            state: "pending".into(),
            attempts: 0,
            next_attempt_at: at,
            created_at: at,
            sent_at: None,
            last_error: None,
        }
    }

    fn link(customer: Uuid, n: u8, expires_at: i64) -> MailLink {
        MailLink {
            token_hash: [n; 32],
            kind: "confirm".into(),
            customer_id: customer,
            purpose: "marketing.communications.email".into(),
            notice_version: Some("2026-01".into()),
            method: "form".into(),
            campaign_id: None,
            created_at: 1,
            expires_at,
            used_at: None,
        }
    }

    pub async fn outbox_leases_records_and_erases_mail(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("insert");
        let (first, later) = (message(c.id, 10), message(c.id, 50));
        store
            .apply(ChangeSet {
                mail: vec![first.clone(), later.clone()],
                links: vec![link(c.id, 7, 100)],
                audit: vec![record("consent.request", vec![c.id.to_string()])],
                ..Default::default()
            })
            .await
            .expect("enqueue");

        let claimed = store.claim_mail(20, 80, 10).await.expect("claim");
        assert_eq!(claimed, vec![first.clone()], "only what is due");
        assert!(
            store
                .claim_mail(20, 80, 10)
                .await
                .expect("again")
                .is_empty(),
            "a leased message is not handed out twice"
        );
        store
            .finish_mail(&Delivery {
                message_id: first.id,
                attempt: 1,
                at: 21,
                outcome: DeliveryOutcome::Retry { at: 30 },
                detail: Some("421".into()),
            })
            .await
            .expect("retry");
        assert!(
            store
                .claim_mail(25, 80, 10)
                .await
                .expect("early")
                .is_empty()
        );
        let due: Vec<Uuid> = store
            .claim_mail(60, 120, 10)
            .await
            .expect("due")
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            due,
            vec![first.id, later.id],
            "retried and new, oldest due first"
        );
        store
            .finish_mail(&Delivery {
                message_id: first.id,
                attempt: 2,
                at: 61,
                outcome: DeliveryOutcome::Sent,
                detail: Some("250".into()),
            })
            .await
            .expect("sent");
        assert!(
            store
                .claim_mail(200, 300, 10)
                .await
                .expect("lease over")
                .iter()
                .map(|m| m.id)
                .eq([later.id]),
            "an expired lease frees the message; a sent one stays sent"
        );
        let states: Vec<(Uuid, String, i64, Option<i64>)> = store
            .customer_mail(c.id)
            .await
            .expect("mail")
            .into_iter()
            .map(|m| (m.id, m.state, m.attempts, m.sent_at))
            .collect();
        assert_eq!(
            states,
            vec![
                (later.id, "pending".to_string(), 0, None),
                (first.id, "sent".to_string(), 2, Some(61)),
            ]
        );
        let attempts: Vec<(i64, DeliveryOutcome)> = store
            .deliveries(first.id)
            .await
            .expect("deliveries")
            .into_iter()
            .map(|d| (d.attempt, d.outcome))
            .collect();
        assert_eq!(
            attempts,
            vec![
                (1, DeliveryOutcome::Retry { at: 30 }),
                (2, DeliveryOutcome::Sent)
            ]
        );

        assert!(
            store
                .erase_customer(erasure(
                    c.id,
                    300,
                    record("customer.erase", vec![c.id.to_string()])
                ))
                .await
                .expect("erase")
        );
        assert!(store.customer_mail(c.id).await.expect("mail").is_empty());
        assert!(
            store
                .deliveries(first.id)
                .await
                .expect("deliveries")
                .is_empty()
        );
        assert!(store.find_link(&[7; 32]).await.expect("link").is_none());
        store
            .finish_mail(&Delivery {
                message_id: later.id,
                attempt: 1,
                at: 301,
                outcome: DeliveryOutcome::Failed,
                detail: Some("550".into()),
            })
            .await
            .expect("finishing an erased message is a no-op");
        assert!(
            store
                .deliveries(later.id)
                .await
                .expect("deliveries")
                .is_empty()
        );
    }

    pub async fn mail_links_are_spent_once_with_their_change(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("insert");
        store
            .apply(ChangeSet {
                links: vec![link(c.id, 1, 100), link(c.id, 2, 10)],
                audit: vec![record("consent.request", vec![c.id.to_string()])],
                ..Default::default()
            })
            .await
            .expect("links");
        assert_eq!(
            store.find_link(&[1; 32]).await.expect("find"),
            Some(link(c.id, 1, 100))
        );

        let given = |n: u8, at: i64| ChangeSet {
            spend_link: Some(SpentLink {
                token_hash: [n; 32],
                at,
            }),
            consents: vec![ConsentEvent {
                id: Uuid::now_v7(),
                customer_id: c.id,
                purpose: "marketing.communications.email".into(),
                state: "given".into(),
                notice_version: None,
                method: "form".into(),
                evidence: None,
                at,
                expires_at: None,
            }],
            audit: vec![record("consent.confirm", vec![c.id.to_string()])],
            ..Default::default()
        };
        let (seq, _) = store.audit_head().await.expect("head");
        assert!(
            matches!(store.apply(given(2, 20)).await, Err(StoreError::NotFound)),
            "expired"
        );
        assert!(
            matches!(store.apply(given(3, 20)).await, Err(StoreError::NotFound)),
            "unknown"
        );
        store.apply(given(1, 20)).await.expect("spend");
        assert!(
            matches!(store.apply(given(1, 21)).await, Err(StoreError::NotFound)),
            "spent"
        );
        assert_eq!(
            store.consent_history(c.id).await.expect("history").len(),
            1,
            "one event"
        );
        assert_eq!(
            store.audit_head().await.expect("head").0,
            seq + 1,
            "one audit entry"
        );
        assert_eq!(
            store
                .find_link(&[1; 32])
                .await
                .expect("find")
                .and_then(|l| l.used_at),
            Some(20)
        );
    }

    fn signup(expires_at: i64) -> SignupRow {
        SignupRow {
            id: Uuid::now_v7(),
            form: "newsletter".into(),
            created_at: 1,
            expires_at,
            sealed: vec![7, 7, 7],
        }
    }

    fn follow(link: u8, signup: Uuid, at: i64) -> ChangeSet {
        ChangeSet {
            spend_link: Some(SpentLink {
                token_hash: [link; 32],
                at,
            }),
            settle_signup: Some(signup),
            ..Default::default()
        }
    }

    pub async fn signups_are_held_settled_by_their_last_link_and_dropped_once(
        store: Arc<dyn Store>,
    ) {
        let (held, soon, later) = (signup(100), signup(50), signup(60));
        let hold = |s: &SignupRow, links: Vec<MailLink>| ChangeSet {
            signups: vec![s.clone()],
            mail: vec![message(s.id, 1)],
            links,
            audit: vec![record("signup.hold", vec![format!("signup:{}", s.id)])],
            ..Default::default()
        };
        store
            .apply(hold(
                &held,
                vec![link(held.id, 1, 100), link(held.id, 2, 100)],
            ))
            .await
            .expect("hold");
        store
            .apply(hold(&soon, vec![link(soon.id, 3, 50)]))
            .await
            .expect("hold");
        store.apply(hold(&later, vec![])).await.expect("hold");
        assert_eq!(
            store.signup(held.id).await.expect("read"),
            Some(held.clone())
        );
        assert_eq!(store.signup(Uuid::now_v7()).await.expect("read"), None);
        assert_eq!(
            store.count_customers().await.expect("count"),
            0,
            "a sign-up is no customer"
        );

        // One of two links followed: the sign-up waits for the other.
        store.apply(follow(1, held.id, 10)).await.expect("first");
        assert!(store.signup(held.id).await.expect("read").is_some());
        assert_eq!(store.customer_mail(held.id).await.expect("mail").len(), 1);
        // A change that cannot spend its link settles nothing.
        assert!(matches!(
            store.apply(follow(1, held.id, 11)).await,
            Err(StoreError::NotFound)
        ));
        assert!(store.signup(held.id).await.expect("read").is_some());
        store.apply(follow(2, held.id, 12)).await.expect("last");
        assert_eq!(store.signup(held.id).await.expect("read"), None);
        assert!(
            store.customer_mail(held.id).await.expect("mail").is_empty(),
            "its message goes with it"
        );
        assert_eq!(
            store
                .find_link(&[2; 32])
                .await
                .expect("find")
                .and_then(|l| l.used_at),
            Some(12),
            "a spent link still says so"
        );

        // Two links of one sign-up followed at once: whichever commits last settles it.
        for n in (10u8..50).step_by(2) {
            let both = signup(100);
            store
                .apply(hold(
                    &both,
                    vec![link(both.id, n, 100), link(both.id, n + 1, 100)],
                ))
                .await
                .expect("hold");
            let racing: Vec<_> = [n, n + 1]
                .into_iter()
                .map(|n| {
                    let store = store.clone();
                    let id = both.id;
                    tokio::spawn(async move { store.apply(follow(n, id, 20)).await })
                })
                .collect();
            for r in racing {
                r.await.expect("task").expect("followed");
            }
            assert_eq!(store.signup(both.id).await.expect("read"), None);
        }

        assert!(
            store
                .expired_signups(49, 10)
                .await
                .expect("none yet")
                .is_empty()
        );
        assert_eq!(
            store.expired_signups(100, 10).await.expect("expired"),
            vec![soon.id, later.id],
            "soonest first, settled ones gone"
        );
        assert_eq!(
            store.expired_signups(100, 1).await.expect("limited"),
            vec![soon.id]
        );
        let ids = vec![soon.id, later.id];
        let dropping: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                let ids = ids.clone();
                tokio::spawn(async move { store.drop_signups(&ids).await })
            })
            .collect();
        let mut dropped = Vec::new();
        for d in dropping {
            dropped.extend(d.await.expect("task").expect("dropped"));
        }
        dropped.sort();
        assert_eq!(dropped, ids, "each dropped once");
        assert!(
            store
                .expired_signups(100, 10)
                .await
                .expect("after")
                .is_empty()
        );
        assert!(store.customer_mail(soon.id).await.expect("mail").is_empty());
        assert_eq!(
            store.find_link(&[3; 32]).await.expect("find"),
            None,
            "links of a dropped sign-up go with it"
        );
    }

    pub async fn campaigns_step_once_and_count_their_mail(store: Arc<dyn Store>) {
        let segment = SegmentRow {
            id: Uuid::now_v7(),
            name: "VIPs".into(),
            filter: "{}".into(),
            created_by: "user:x".into(),
            created_at: 1,
        };
        store
            .create_segment(&segment, record("segment.create", vec![]))
            .await
            .expect("segment");
        assert!(matches!(
            store
                .create_segment(&SegmentRow { id: Uuid::now_v7(), ..segment.clone() }, record("segment.create", vec![]))
                .await,
            Err(StoreError::Duplicate { field }) if field == "name"
        ));
        assert_eq!(
            store.segments().await.expect("segments"),
            vec![segment.clone()]
        );
        assert_eq!(
            store.segment(segment.id).await.expect("one"),
            Some(segment.clone())
        );

        let campaign = CampaignRow {
            id: Uuid::now_v7(),
            name: "Spring".into(),
            purpose: "marketing.communications.email".into(),
            segment_id: Some(segment.id),
            filter: "{}".into(),
            subject: "Hello".into(),
            body: "Spring is here".into(),
            state: "draft".into(),
            created_by: "user:x".into(),
            created_at: 2,
            sent_at: None,
            recipients: 0,
        };
        store
            .create_campaign(&campaign, record("campaign.create", vec![]))
            .await
            .expect("campaign");
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("customer");
        let step =
            |from: &str, to: &str, recipients: i64, mail: Vec<OutboxRow>, links: Vec<MailLink>| {
                ChangeSet {
                    campaign_step: Some(CampaignStep {
                        id: campaign.id,
                        from: from.into(),
                        to: to.into(),
                        at: 9,
                        recipients,
                    }),
                    mail,
                    links,
                    audit: vec![record("campaign.send", vec![campaign.id.to_string()])],
                    ..Default::default()
                }
            };
        let mut m = message(c.id, 3);
        m.campaign_id = Some(campaign.id);
        let mut l = link(c.id, 4, 100);
        l.kind = "unsubscribe".into();
        l.campaign_id = Some(campaign.id);
        store
            .apply(step("draft", "sending", 0, vec![], vec![]))
            .await
            .expect("start");
        assert!(
            matches!(
                store
                    .apply(step("draft", "sending", 0, vec![m.clone()], vec![]))
                    .await,
                Err(StoreError::Conflict)
            ),
            "a campaign starts once"
        );
        assert!(
            store.customer_mail(c.id).await.expect("mail").is_empty(),
            "nothing of the refused change"
        );
        store
            .apply(step("sending", "sending", 1, vec![m.clone()], vec![l]))
            .await
            .expect("page");
        store
            .apply(step("sending", "sent", 0, vec![], vec![]))
            .await
            .expect("finish");
        let done = store
            .campaign(campaign.id)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(
            (done.state.as_str(), done.recipients, done.sent_at),
            ("sent", 1, Some(9))
        );
        assert_eq!(store.campaigns().await.expect("all").len(), 1);
        let other = Uuid::now_v7();
        assert_eq!(
            store
                .campaign_mailed(campaign.id, &[c.id, other])
                .await
                .expect("mailed"),
            vec![c.id]
        );

        store.claim_mail(10, 20, 10).await.expect("claim");
        store
            .finish_mail(&Delivery {
                message_id: m.id,
                attempt: 1,
                at: 11,
                outcome: DeliveryOutcome::Sent,
                detail: None,
            })
            .await
            .expect("sent");
        store
            .apply(ChangeSet {
                spend_link: Some(SpentLink {
                    token_hash: [4; 32],
                    at: 12,
                }),
                audit: vec![record("consent.unsubscribe", vec![c.id.to_string()])],
                ..Default::default()
            })
            .await
            .expect("unsubscribe");
        assert_eq!(
            store.campaign_counts(campaign.id).await.expect("counts"),
            MailCounts {
                pending: 0,
                sent: 1,
                failed: 0,
                unsubscribed: 1
            }
        );
    }

    /// Writes that share a transaction (SQLite's writer batches them) still succeed or fail
    /// one by one: a duplicate undoes its own change and nothing else.
    pub async fn concurrent_writes_fail_alone(store: Arc<dyn Store>) {
        let taken = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: taken.clone(),
                index: vec![entry("email", 200, true)],
            }],
        )
        .await
        .expect("first");
        let (seq_before, _) = store.audit_head().await.expect("head");
        let mut tasks = Vec::new();
        for i in 0..40u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let row = customer(2, &[], "active");
                // Every third one collides with the address already taken.
                let digest = if i % 3 == 0 { 200 } else { i };
                let outcome = insert(
                    &store,
                    vec![CustomerWrite {
                        row: row.clone(),
                        index: vec![entry("email", digest, true)],
                    }],
                )
                .await;
                (i, row.id, outcome)
            }));
        }
        let mut stored = 0;
        for task in tasks {
            let (i, id, outcome) = task.await.expect("task");
            let present = store.get_customer(id).await.expect("read").is_some();
            if i % 3 == 0 {
                assert!(
                    matches!(outcome, Err(StoreError::Duplicate { .. })),
                    "{i}: {outcome:?}"
                );
                assert!(!present, "{i}: a refused change leaves nothing");
            } else {
                assert!(outcome.is_ok(), "{i}: {outcome:?}");
                assert!(present, "{i}");
                stored += 1;
            }
        }
        let (seq_after, _) = store.audit_head().await.expect("head");
        assert_eq!(
            seq_after - seq_before,
            stored,
            "one audit entry per stored change, no gaps"
        );
        let entries = store.audit_page(0, 1_000).await.expect("audit");
        let mut walker = ChainWalker::default();
        for e in &entries {
            walker.feed(e).expect("the chain holds");
        }
    }

    pub async fn lapsed_consents_are_found_until_marked(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("customer");
        let event = |purpose: &str, state: &str, at: i64, expires_at: Option<i64>| ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: c.id,
            purpose: purpose.into(),
            state: state.into(),
            notice_version: None,
            method: "api".into(),
            evidence: None,
            at,
            expires_at,
        };
        store
            .apply(ChangeSet {
                consents: vec![
                    event("a", "given", 5, Some(50)),
                    event("b", "given", 5, None),
                    event("c", "given", 20, None),
                    event("d", "withdrawn", 5, None),
                ],
                ..Default::default()
            })
            .await
            .expect("consents");
        let purposes =
            |found: Vec<ConsentEvent>| found.into_iter().map(|e| e.purpose).collect::<Vec<_>>();
        assert!(
            store
                .lapsed_consents(40, None, 10)
                .await
                .expect("none yet")
                .is_empty()
        );
        assert_eq!(
            purposes(store.lapsed_consents(50, None, 10).await.expect("expired")),
            ["a"]
        );
        let mut both = purposes(
            store
                .lapsed_consents(50, Some(10), 10)
                .await
                .expect("and before a change"),
        );
        both.sort();
        assert_eq!(both, ["a", "b"]);
        let lapsed_a = store.lapsed_consents(50, None, 10).await.expect("a")[0].id;
        assert!(
            matches!(
                store
                    .apply(ChangeSet {
                        consents: vec![event("a", "expired", 51, None)],
                        consent_guards: vec![(c.id, "a".into(), Uuid::now_v7())],
                        ..Default::default()
                    })
                    .await,
                Err(StoreError::Conflict)
            ),
            "a consent that moved on is not overwritten"
        );
        store
            .apply(ChangeSet {
                consents: vec![event("a", "expired", 51, None)],
                consent_guards: vec![(c.id, "a".into(), lapsed_a)],
                ..Default::default()
            })
            .await
            .expect("marked");
        assert!(
            store
                .lapsed_consents(60, None, 10)
                .await
                .expect("marked")
                .is_empty()
        );
    }

    pub async fn portal_codes_are_bound_spent_once_and_limited(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("customer");
        let code = |n: u8, created_at: i64| PortalCode {
            id: Uuid::now_v7(),
            customer_id: c.id,
            address: vec![7; 16],
            code_hash: [n; 32],
            created_at,
            expires_at: created_at + 100,
            attempts: 0,
            used_at: None,
        };
        let issue = |pc: &PortalCode, max_since: i64, max_failures: i64| ChangeSet {
            portal_code: Some(NewPortalCode {
                code: pc.clone(),
                since: 0,
                max_since,
                failures_since: 0,
                max_failures,
            }),
            audit: vec![record("portal.code", vec![c.id.to_string()])],
            ..Default::default()
        };
        let (first, second) = (code(1, 10), code(2, 20));
        for pc in [&first, &second] {
            store.apply(issue(pc, 2, 10)).await.expect("code");
        }
        let (seq, _) = store.audit_head().await.expect("head");
        assert!(
            matches!(
                store.apply(issue(&code(3, 25), 2, 10)).await,
                Err(StoreError::Conflict)
            ),
            "over the quota of codes"
        );
        assert_eq!(
            store.audit_head().await.expect("head").0,
            seq,
            "and nothing of it kept"
        );
        assert_eq!(
            store.portal_code(&[7; 16], 30).await.expect("find"),
            Some(second.clone()),
            "the newest"
        );
        assert_eq!(
            store
                .portal_code(&[8; 16], 30)
                .await
                .expect("other address"),
            None,
            "bound to its address"
        );
        assert_eq!(
            store.portal_code(&[7; 16], 200).await.expect("expired"),
            None
        );
        let session = |n: u8| PortalSession {
            token_hash: [n; 32],
            customer_id: c.id,
            created_at: 30,
            last_used_at: 30,
            ended_at: None,
        };
        let check = |id: Uuid, matched: bool, n: u8| {
            let store = store.clone();
            async move {
                store
                    .check_portal_code(
                        id,
                        30,
                        matched,
                        3,
                        &session(n),
                        record("portal.sign_in", vec![]),
                    )
                    .await
                    .expect("check")
            }
        };
        for _ in 0..3 {
            assert_eq!(check(first.id, false, 9).await, CodeCheck::Wrong);
        }
        assert_eq!(
            check(first.id, true, 9).await,
            CodeCheck::Void,
            "no fourth attempt, even with the right code"
        );
        assert_eq!(check(second.id, true, 1).await, CodeCheck::SignedIn);
        assert_eq!(check(second.id, true, 2).await, CodeCheck::Void, "spent");
        assert!(
            store
                .portal_session(&[1; 32])
                .await
                .expect("session")
                .is_some()
        );
        assert!(
            store
                .portal_session(&[2; 32])
                .await
                .expect("none")
                .is_none()
        );
        // Three failed attempts so far: a cap of three failures refuses another code.
        assert!(matches!(
            store.apply(issue(&code(4, 40), 10, 3)).await,
            Err(StoreError::Conflict)
        ));
        let fifth = code(5, 41);
        let sixth = code(6, 42);
        store
            .apply(issue(&fifth, 10, 4))
            .await
            .expect("under a higher cap");
        store.apply(issue(&sixth, 10, 4)).await.expect("another");
        assert_eq!(check(sixth.id, true, 4).await, CodeCheck::SignedIn);
        assert_eq!(
            check(fifth.id, true, 5).await,
            CodeCheck::Void,
            "signing in spent the address's other codes too"
        );
        store
            .touch_portal_session(&[1; 32], 40, true)
            .await
            .expect("end");
        assert_eq!(
            store
                .portal_session(&[1; 32])
                .await
                .expect("ended")
                .and_then(|s| s.ended_at),
            Some(40)
        );
        assert!(
            store
                .erase_customer(erasure(
                    c.id,
                    50,
                    record("customer.erase", vec![c.id.to_string()])
                ))
                .await
                .expect("erase")
        );
        assert!(
            store
                .portal_session(&[1; 32])
                .await
                .expect("gone")
                .is_none()
        );
        assert_eq!(store.portal_code(&[7; 16], 45).await.expect("gone"), None);
    }

    pub async fn requests_move_once_and_outlive_their_subject(store: Arc<dyn Store>) {
        let c = customer(1, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: c.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("customer");
        let received = RequestRow {
            id: Uuid::now_v7(),
            kind: "erasure".into(),
            channel: "email".into(),
            state: "received".into(),
            jurisdiction: "gdpr".into(),
            customer_id: Some(c.id),
            subject: vec![9; 16],
            purpose: None,
            received_at: 10,
            acknowledge_by: None,
            acknowledged_at: None,
            due_at: 100,
            verified_at: None,
            closed_at: None,
            extension_reason: None,
            denial_reason: None,
            updated_at: 10,
            proposal: Some(vec![4, 2]),
        };
        let other = RequestRow {
            id: Uuid::now_v7(),
            subject: vec![8; 16],
            customer_id: None,
            kind: "access".into(),
            received_at: 20,
            due_at: 300,
            ..received.clone()
        };
        store
            .apply(ChangeSet {
                requests: vec![received.clone(), other.clone()],
                audit: vec![record("request.create", vec![received.id.to_string()])],
                ..Default::default()
            })
            .await
            .expect("requests");
        assert_eq!(
            store.request(received.id).await.expect("read"),
            Some(received.clone())
        );
        let list = |filter: RequestFilter| {
            let store = store.clone();
            async move {
                store
                    .requests(&filter)
                    .await
                    .expect("list")
                    .into_iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
            }
        };
        let all = RequestFilter {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(list(all.clone()).await, vec![other.id, received.id]);
        let due_soon = RequestFilter {
            open_only: true,
            due_before: Some(200),
            ..all.clone()
        };
        assert_eq!(list(due_soon.clone()).await, vec![received.id]);
        let of_subject = RequestFilter {
            subject: Some(vec![9; 16]),
            ..all.clone()
        };
        assert_eq!(list(of_subject.clone()).await, vec![received.id]);
        assert_eq!(
            list(RequestFilter {
                customer: Some(c.id),
                ..all.clone()
            })
            .await,
            vec![received.id]
        );
        assert_eq!(
            list(RequestFilter {
                received_since: Some(15),
                ..all.clone()
            })
            .await,
            vec![other.id]
        );

        let verified = RequestRow {
            state: "verified".into(),
            verified_at: Some(30),
            updated_at: 30,
            ..received.clone()
        };
        let step = |row: &RequestRow, from: &str| RequestMove {
            row: row.clone(),
            from: from.into(),
        };
        store
            .apply(ChangeSet {
                request_moves: vec![step(&verified, "received")],
                ..Default::default()
            })
            .await
            .expect("verify");
        // A second move from the state it has left fails, and takes the rest of its change
        // with it.
        let update = RecipientUpdate {
            id: Uuid::now_v7(),
            customer_id: c.id,
            kind: "rectification".into(),
            fields: vec!["phone".into(), "given_name".into()],
            at: 31,
            notified_at: None,
        };
        assert!(matches!(
            store
                .apply(ChangeSet {
                    request_moves: vec![step(&verified, "received")],
                    recipient_updates: vec![update.clone()],
                    ..Default::default()
                })
                .await,
            Err(StoreError::Conflict)
        ));
        assert!(
            store
                .recipient_updates(c.id)
                .await
                .expect("none")
                .is_empty()
        );

        let completed = RequestRow {
            state: "completed".into(),
            closed_at: Some(40),
            updated_at: 40,
            ..verified.clone()
        };
        assert_eq!(
            store
                .request(received.id)
                .await
                .expect("read")
                .and_then(|r| r.proposal),
            Some(vec![4, 2])
        );
        let erased = RecipientUpdate {
            id: Uuid::now_v7(),
            kind: "erasure".into(),
            fields: vec![],
            at: 40,
            ..update.clone()
        };
        assert!(
            store
                .erase_customer(Erasure {
                    id: c.id,
                    at: 40,
                    suppress: Some(digest(5)),
                    with: ChangeSet {
                        request_moves: vec![step(&completed, "verified")],
                        recipient_updates: vec![update.clone(), erased.clone()],
                        audit: vec![record("customer.erase", vec![c.id.to_string()])],
                        ..Default::default()
                    },
                })
                .await
                .expect("erase")
        );
        let kept = store
            .request(received.id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(
            kept,
            RequestRow {
                customer_id: None,
                proposal: None,
                ..completed.clone()
            },
            "the record of the request outlives the customer, under its pseudonym only"
        );
        assert_eq!(list(of_subject).await, vec![received.id]);
        assert!(list(due_soon).await.is_empty(), "completed is not open");
        assert_eq!(
            store.recipient_updates(c.id).await.expect("updates"),
            vec![update, erased]
        );
        assert_eq!(
            store
                .suppressed(&[digest(6), digest(5)])
                .await
                .expect("suppressed"),
            vec![digest(5)]
        );
        store
            .apply(ChangeSet {
                unsuppress: vec![digest(5)],
                ..Default::default()
            })
            .await
            .expect("lift");
        assert!(
            store
                .suppressed(&[digest(5)])
                .await
                .expect("lifted")
                .is_empty()
        );
    }

    pub async fn retention_claims_once_and_sweeps_what_it_claimed(store: Arc<dyn Store>) {
        // Rules: seeded once, then changed only through create and update.
        let rule = |key: &str, body: &str| StoredRule {
            key: key.into(),
            rule: body.into(),
            created_at: 1,
            updated_at: 1,
        };
        store
            .seed_retention_rules(&[rule("a", "{}"), rule("b", "{}")])
            .await
            .expect("seed");
        store
            .seed_retention_rules(&[rule("a", "{\"changed\":true}")])
            .await
            .expect("seed again");
        let rules = store.retention_rules().await.expect("rules");
        assert_eq!(
            rules
                .iter()
                .map(|r| (r.key.as_str(), r.rule.as_str()))
                .collect::<Vec<_>>(),
            [("a", "{}"), ("b", "{}")]
        );
        assert!(matches!(
            store
                .create_retention_rule(&rule("a", "{}"), record("retention.rule", vec![]))
                .await,
            Err(StoreError::Duplicate { .. })
        ));
        assert!(
            store
                .update_retention_rule(&rule("b", "{\"x\":1}"), record("retention.rule", vec![]))
                .await
                .expect("update")
        );
        assert!(
            !store
                .update_retention_rule(&rule("zz", "{}"), record("retention.rule", vec![]))
                .await
                .expect("absent")
        );

        // Holds.
        let hold = LegalHold {
            id: Uuid::now_v7(),
            customer_id: None,
            category: Some("interaction".into()),
            reason: "litigation".into(),
            owner: "legal".into(),
            created_at: 5,
            ends_at: Some(500),
            released_at: None,
        };
        store
            .create_legal_hold(&hold, record("retention.hold", vec![]))
            .await
            .expect("hold");
        assert_eq!(
            store.legal_holds().await.expect("holds"),
            vec![hold.clone()]
        );
        assert!(
            store
                .release_legal_hold(hold.id, 9, record("retention.release", vec![]))
                .await
                .expect("release")
        );
        assert!(
            !store
                .release_legal_hold(hold.id, 9, record("retention.release", vec![]))
                .await
                .expect("twice")
        );

        // Customers: one quiet since 10, one with an interaction at 300, one created late.
        let quiet = customer(10, &[], "active");
        let busy = customer(10, &[], "active");
        let new = customer(250, &[], "active");
        insert(
            &store,
            [&quiet, &busy, &new]
                .iter()
                .map(|c| CustomerWrite {
                    row: (*c).clone(),
                    index: vec![],
                })
                .collect(),
        )
        .await
        .expect("customers");
        let visit = InteractionRow {
            id: Uuid::now_v7(),
            customer_id: busy.id,
            kind: "web_visit".into(),
            occurred_at: 300,
            sealed: vec![1],
            created_at: 300,
        };
        let old_visit = InteractionRow {
            id: Uuid::now_v7(),
            occurred_at: 20,
            created_at: 20,
            ..visit.clone()
        };
        store
            .apply(ChangeSet {
                interactions: vec![visit.clone(), old_visit.clone()],
                ..Default::default()
            })
            .await
            .expect("interactions");
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let dormant = DueQuery {
            rule_key: "dormant".into(),
            record: "customer".into(),
            anchor: "last_interaction".into(),
            kind: None,
            cutoff: 200,
            after: None,
            limit: 10,
        };
        let found = store.due_records(&dormant).await.expect("due");
        assert_eq!(
            found,
            vec![FoundRecord {
                record_id: quiet.id,
                customer_id: Some(quiet.id),
                anchor_at: 10
            }],
            "busy had contact after the cutoff; new was created after it"
        );
        assert_eq!(store.count_due(&dormant).await.expect("count"), 1);
        let visits = DueQuery {
            rule_key: "visits".into(),
            record: "interaction".into(),
            anchor: "created".into(),
            kind: Some("web_visit".into()),
            cutoff: 100,
            ..dormant.clone()
        };
        assert_eq!(
            store
                .due_records(&visits)
                .await
                .expect("visits")
                .iter()
                .map(|f| f.record_id)
                .collect::<Vec<_>>(),
            vec![old_visit.id]
        );

        // Two runs sweep the same page: each record is acted on once.
        let records: Vec<DueRecord> = found
            .iter()
            .map(|f| DueRecord {
                record_id: f.record_id,
                customer_id: f.customer_id,
                anchor_at: f.anchor_at,
                due_at: f.anchor_at + 190,
            })
            .collect();
        let run = |id: Uuid| RetentionRun {
            id,
            dry_run: false,
            state: "running".into(),
            started_by: "system:test".into(),
            started_at: 1_000,
            heartbeat_at: 2_600,
            finished_at: None,
            report: "{}".into(),
        };
        let batch = |id: Uuid| SweepBatch {
            run: run(id),
            rule_key: "dormant".into(),
            record: "customer".into(),
            action: "erase".into(),
            records: records.clone(),
            at: 2_600,
            blank: vec![],
            audit: vec![(
                vec![quiet.id],
                record("customer.erase", vec![quiet.id.to_string()]),
            )],
        };
        let (a, b) = tokio::join!(store.sweep(batch(one)), store.sweep(batch(two)));
        let (a, b) = (a.expect("sweep"), b.expect("sweep"));
        assert_eq!(a.len() + b.len(), 1, "acted on once: {a:?} {b:?}");
        let winner = if a.is_empty() { two } else { one };
        assert!(store.get_customer(quiet.id).await.expect("get").is_none());
        assert!(store.is_tombstoned(quiet.id).await.expect("tombstone"));
        assert!(store.due_records(&dormant).await.expect("due").is_empty());
        let acted = store.retention_actions(winner).await.expect("actions");
        assert_eq!(
            acted
                .iter()
                .map(|a| (a.record_id, a.done_at))
                .collect::<Vec<_>>(),
            [(quiet.id, 2_600)]
        );
        let loser = if winner == one { two } else { one };
        assert!(
            store
                .retention_actions(loser)
                .await
                .expect("none")
                .is_empty()
        );
        // A customer erased by other means between finding and sweeping: nothing is done,
        // recorded or audited for them.
        assert!(
            store
                .erase_customer(erasure(new.id, 2_700, record("customer.erase", vec![])))
                .await
                .expect("erased on request")
        );
        let three = Uuid::now_v7();
        let late = SweepBatch {
            records: vec![DueRecord {
                record_id: new.id,
                customer_id: Some(new.id),
                anchor_at: 250,
                due_at: 440,
            }],
            audit: vec![(
                vec![new.id],
                record("customer.erase", vec![new.id.to_string()]),
            )],
            ..batch(three)
        };
        assert!(store.sweep(late).await.expect("sweep").is_empty());
        assert!(
            store
                .retention_actions(three)
                .await
                .expect("none")
                .is_empty()
        );
        assert_eq!(
            store
                .audit_search(&AuditFilter {
                    action: Some("customer.erase".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .expect("audit")
                .len(),
            2,
            "the sweeper's and the request's, not a third"
        );
        let saved = store.retention_run(two).await.expect("run").expect("saved");
        assert_eq!(saved, run(two));
        assert_eq!(store.retention_runs(10).await.expect("runs").len(), 3);

        // Anonymising keeps the interaction, emptied.
        let anonymise = SweepBatch {
            rule_key: "visits".into(),
            record: "interaction".into(),
            action: "anonymise".into(),
            records: vec![DueRecord {
                record_id: old_visit.id,
                customer_id: Some(busy.id),
                anchor_at: 20,
                due_at: 110,
            }],
            blank: vec![9, 9],
            audit: vec![],
            ..batch(two)
        };
        assert_eq!(store.sweep(anonymise).await.expect("anonymise").len(), 1);
        let kept = store
            .list_interactions(busy.id, None, 10)
            .await
            .expect("timeline");
        assert_eq!(kept.len(), 2);
        assert!(
            kept.iter()
                .any(|i| i.id == old_visit.id && i.sealed == vec![9, 9])
        );
        assert!(store.due_records(&visits).await.expect("visits").is_empty());
    }

    pub async fn audit_search_reads_a_records_entries_by_its_id(store: Arc<dyn Store>) {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let entries = store
            .append_audit(vec![
                record("customer.read", vec![a.to_string()]),
                record("customer.read", vec![b.to_string()]),
                record(
                    "customer.import",
                    vec![b.to_string(), a.to_string(), a.to_string()],
                ),
                record(
                    "consent.record",
                    vec![b.to_string(), format!("consent:{a}")],
                ),
                record("customer.update", vec![a.to_string(), "x".into()]),
            ])
            .await
            .expect("append");
        let before = store.audit_head().await.expect("head").0 - entries.len() as i64;
        // Found alike before the entries are listed, half listed and all listed.
        found_by_id(&store, &entries, a, b).await;
        assert_eq!(
            store
                .index_audit_targets(before as usize + 2)
                .await
                .expect("list"),
            before as usize + 2
        );
        found_by_id(&store, &entries, a, b).await;
        assert_eq!(store.index_audit_targets(100).await.expect("list"), 3);
        found_by_id(&store, &entries, a, b).await;
        assert_eq!(store.index_audit_targets(100).await.expect("list"), 0);
    }

    async fn found_by_id(
        store: &Arc<dyn Store>,
        entries: &[steward_core::audit::AuditEntry],
        a: Uuid,
        b: Uuid,
    ) {
        let seq = |i: usize| entries[i].seq;
        let search = |target: String, after_seq: i64, limit: usize, action: Option<&str>| {
            let store = store.clone();
            let action = action.map(str::to_string);
            async move {
                store
                    .audit_search(&AuditFilter {
                        target: Some(target),
                        after_seq,
                        limit,
                        action,
                        ..Default::default()
                    })
                    .await
                    .expect("search")
                    .into_iter()
                    .map(|e| e.seq)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            search(a.to_string(), 0, 100, None).await,
            [seq(0), seq(2), seq(4)]
        );
        assert_eq!(search(a.to_string(), 0, 2, None).await, [seq(0), seq(2)]);
        assert_eq!(
            search(a.to_string(), seq(0), 2, None).await,
            [seq(2), seq(4)]
        );
        assert_eq!(search(a.to_string(), seq(2), 2, None).await, [seq(4)]);
        assert_eq!(
            search(a.to_string().to_uppercase(), 0, 100, None).await,
            [seq(0), seq(2), seq(4)],
            "an id is an id, whatever its case"
        );
        assert_eq!(
            search(a.to_string(), 0, 100, Some("customer.update")).await,
            [seq(4)]
        );
        assert_eq!(
            search(b.to_string(), 0, 100, None).await,
            [seq(1), seq(2), seq(3)]
        );
        assert_eq!(search(format!("consent:{a}"), 0, 100, None).await, [seq(3)]);

        // Newest first, a page at a time, each page before the last one's oldest entry.
        let newest = |target: Option<String>, before_seq: Option<i64>, limit: usize| {
            let store = store.clone();
            async move {
                store
                    .audit_search(&AuditFilter {
                        target,
                        before_seq,
                        newest_first: true,
                        limit,
                        ..Default::default()
                    })
                    .await
                    .expect("search")
                    .into_iter()
                    .map(|e| e.seq)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(newest(Some(a.to_string()), None, 2).await, [seq(4), seq(2)]);
        assert_eq!(newest(Some(a.to_string()), Some(seq(2)), 2).await, [seq(0)]);
        assert_eq!(
            newest(Some(a.to_string()), Some(seq(4)), 100).await,
            [seq(2), seq(0)]
        );
        assert_eq!(
            newest(None, Some(seq(4) + 1), 3).await,
            [seq(4), seq(3), seq(2)],
            "the whole log, newest first"
        );
        assert_eq!(newest(None, Some(seq(2)), 2).await, [seq(1), seq(0)]);
    }
}
