//! Privacy notices.

use super::*;

engines!(notices_publish_once,);

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
