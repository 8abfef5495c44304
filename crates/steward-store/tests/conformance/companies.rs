//! Companies: a domain taken once, a change from a stale version applying nothing, the list
//! filtered by tag and by a name's start (`%` and `_` matched as themselves), a customer in one
//! company at most, the membership going with the customer's erasure and the company's
//! deletion keeping the customer, and two instances adding one customer to two companies at
//! once ending with one membership and the other told where the customer went.

use super::*;

engines!(companies_are_kept_listed_and_left_by_their_customers);

fn company(name: &str, domain: Option<&str>, tags: &[&str]) -> CompanyRow {
    CompanyRow {
        id: Uuid::now_v7(),
        name: name.into(),
        domain: domain.map(str::to_string),
        country: Some("DE".into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        owner_id: None,
        version: 1,
        created_at: 10,
        updated_at: 10,
        members: 0,
    }
}

fn names(rows: &[CompanyRow]) -> Vec<&str> {
    rows.iter().map(|c| c.name.as_str()).collect()
}

async fn companies_are_kept_listed_and_left_by_their_customers(store: Arc<dyn Store>) {
    let acme = company("Acme", Some("acme.example"), &["b2b", "tools"]);
    let percent = company("100% Cotton", None, &["b2b"]);
    let other = company("1000 Cottons", None, &[]);
    for c in [&acme, &percent, &other] {
        store
            .create_company(c, record("company.create", vec![c.id.to_string()]))
            .await
            .expect("company");
    }
    let taken = store
        .create_company(
            &company("Copy", Some("acme.example"), &[]),
            record("company.create", vec![]),
        )
        .await;
    assert!(
        matches!(&taken, Err(StoreError::Duplicate { field }) if field == "domain"),
        "{taken:?}"
    );
    let stale = CompanyRow {
        name: "Late".into(),
        version: 3,
        ..acme.clone()
    };
    let head = store.audit_head().await.expect("head").0;
    assert!(
        !store
            .update_company(&stale, record("company.update", vec![]))
            .await
            .expect("update")
    );
    assert_eq!(store.audit_head().await.expect("head").0, head);
    let renamed = CompanyRow {
        name: "Acme GmbH".into(),
        tags: vec!["b2b".into()],
        version: 2,
        ..acme.clone()
    };
    assert!(
        store
            .update_company(&renamed, record("company.update", vec![]))
            .await
            .expect("update")
    );
    let kept = store.company(acme.id).await.expect("read").expect("there");
    assert_eq!((kept.name.as_str(), kept.version), ("Acme GmbH", 2));
    assert_eq!(kept.tags, ["b2b"]);

    let all = CompanyFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(&store.companies(&all).await.expect("list")),
        ["100% Cotton", "1000 Cottons", "Acme GmbH"]
    );
    let b2b = CompanyFilter {
        tag: Some("b2b".into()),
        descending: true,
        ..all.clone()
    };
    assert_eq!(
        names(&store.companies(&b2b).await.expect("list")),
        ["Acme GmbH", "100% Cotton"]
    );
    assert_eq!(store.count_companies(&b2b).await.expect("count"), 2);
    let literal = CompanyFilter {
        name_prefix: Some("100%".into()),
        ..all.clone()
    };
    assert_eq!(
        names(&store.companies(&literal).await.expect("list")),
        ["100% Cotton"]
    );

    let c = customer(20, &[], "active");
    let d = customer(21, &[], "active");
    insert(
        &store,
        [&c, &d]
            .map(|row| CustomerWrite {
                row: row.clone(),
                index: vec![],
            })
            .to_vec(),
    )
    .await
    .expect("customers");
    let add = |company: Uuid, customer: Uuid| {
        let store = store.clone();
        async move {
            store
                .add_member(company, customer, 30, record("company.member.add", vec![]))
                .await
        }
    };
    assert_eq!(add(acme.id, c.id).await.expect("add"), Joined::Added);
    assert_eq!(add(acme.id, c.id).await.expect("add"), Joined::Already);
    assert_eq!(
        add(other.id, c.id).await.expect("add"),
        Joined::Elsewhere(acme.id)
    );
    assert!(matches!(
        add(Uuid::now_v7(), d.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        add(acme.id, Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(add(acme.id, d.id).await.expect("add"), Joined::Added);
    // Two instances adding one customer to two companies at once: one joins, the other is
    // told where they went, never a broken constraint.
    for n in 0..10 {
        let e = customer(60 + n, &[], "active");
        insert(
            &store,
            vec![CustomerWrite {
                row: e.clone(),
                index: vec![],
            }],
        )
        .await
        .expect("customer");
        let (first, second) = tokio::join!(add(acme.id, e.id), add(other.id, e.id));
        let mut outcomes = [first.expect("first"), second.expect("second")];
        outcomes.sort_by_key(|j| *j != Joined::Added);
        let joined = store.company_of(e.id).await.expect("of").expect("joined");
        assert_eq!(outcomes, [Joined::Added, Joined::Elsewhere(joined)]);
        assert!(
            store
                .erase_customer(erasure(e.id, 40, record("customer.erase", vec![])))
                .await
                .expect("erase")
        );
    }
    assert_eq!(store.company_of(c.id).await.expect("of"), Some(acme.id));
    let members = CustomerFilter {
        company: Some(acme.id),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.count_listed(&members).await.expect("count"), 2);

    assert!(
        store
            .erase_customer(erasure(c.id, 40, record("customer.erase", vec![])))
            .await
            .expect("erase")
    );
    assert_eq!(store.company_of(c.id).await.expect("of"), None);
    let kept = store.company(acme.id).await.expect("read").expect("there");
    assert_eq!(kept.members, 1);

    assert!(
        store
            .delete_company(acme.id, record("company.delete", vec![]))
            .await
            .expect("delete")
    );
    assert!(store.company(acme.id).await.expect("read").is_none());
    assert_eq!(store.company_of(d.id).await.expect("of"), None);
    assert!(store.get_customer(d.id).await.expect("read").is_some());
    assert!(
        !store
            .delete_company(acme.id, record("company.delete", vec![]))
            .await
            .expect("delete again")
    );
}
