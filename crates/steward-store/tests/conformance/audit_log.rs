//! The audit log: a contiguous chain and searches by record.

use super::*;

engines!(
    audit_chain_is_contiguous_under_concurrency,
    audit_search_reads_a_records_entries_by_its_id,
    links_hash_what_the_entries_hold_escapes_and_all,
);

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

/// A verification hashes entries where they are read; lists whose JSON needs escapes (a
/// quote, a backslash, a tab, a right-to-left mark) hash as the records were written.
pub async fn links_hash_what_the_entries_hold_escapes_and_all(store: Arc<dyn Store>) {
    let plain = record(
        "customer.read",
        vec!["customer:1".into(), "customer:2".into()],
    );
    let mut escaped = record(
        "note \"quoted\"",
        vec![
            "vendor:a\"b".into(),
            "path\\x\tz".into(),
            "\u{200f}rtl".into(),
        ],
    );
    escaped.fields = vec!["line\nbreak".into(), "plain".into()];
    escaped.detail = Some("two\r\nlines".into());
    let empty = AuditRecord {
        targets: vec![],
        fields: vec![],
        purpose: None,
        ..record("system.tick", vec![])
    };
    store
        .append_audit(vec![plain, escaped, empty])
        .await
        .expect("append");
    let entries = store.audit_page(0, 10).await.expect("page");
    let links = store.audit_links(0, 10).await.expect("links");
    assert_eq!(links.len(), 3);
    let mut walker = ChainWalker::default();
    for (e, l) in entries.iter().zip(&links) {
        assert_eq!((l.seq, l.prev_hash, l.hash), (e.seq, e.prev_hash, e.hash));
        assert_eq!(l.contents, chain_hash(&e.prev_hash, e.seq, &e.record));
        walker.feed_link(l).expect("links chain");
    }
    assert_eq!(walker.last_seq, 3);
}
