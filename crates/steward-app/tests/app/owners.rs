//! Owners of customers: a selection given to a staff member and taken away again, each
//! customer audited once; the owner shown by display name, the list filtered by owner (an id,
//! `me`, `none`) and sorted by the owner's name on both engines; an owner who is not a staff
//! account in use refused with its field and nothing changed; the owner kept by an edit and
//! carried by a merge.

use std::collections::{BTreeMap, BTreeSet};

use steward_app::core::Role;
use steward_app::{Access, AppError, CustomerPatch, CustomerQuery, Reassign, Steward};
use uuid::Uuid;

use crate::support::*;

async fn listed(app: &Steward, access: &Access, owner: Option<&str>, sort: &str) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for page in 1.. {
        let found = app
            .customers()
            .list(
                access,
                CustomerQuery {
                    owner: owner.map(str::to_string),
                    sort: Some(sort.into()),
                    page: Some(page),
                    limit: Some(4),
                    ..Default::default()
                },
            )
            .await
            .expect("page");
        if found.items.is_empty() {
            break;
        }
        ids.extend(found.items.iter().map(|c| c.id));
    }
    ids
}

async fn owners_filter_and_sort(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    // Made in an order that is neither the names' nor the ids'.
    let (cleo, cleo_access) = staff_member(&app, "cleo@example.com", "Cleo Carter").await;
    let (ada, _) = staff_member(&app, "ada@example.com", "Ada Adams").await;
    // Written in lower case: case aside, Bo still comes before Cleo.
    let (bo, _) = staff_member(&app, "bo@example.com", "bo berg").await;
    let names = BTreeMap::from([(cleo, "Cleo Carter"), (ada, "Ada Adams"), (bo, "bo berg")]);
    let choices = [Some(bo), None, Some(cleo), Some(ada)];
    let agent = agent(&app);
    let mut owner_of = BTreeMap::new();
    for i in 0..14 {
        let k = (i * 5) % 14;
        let id = app
            .customers()
            .create(&agent, input(&format!("o{k}.{i}@example.org"), "Ola"))
            .await
            .expect("create")
            .id;
        owner_of.insert(id, choices[k % choices.len()]);
    }
    let before = app.audit().length().await.expect("length");
    for owner in [Some(ada), Some(bo), Some(cleo)] {
        let ids: Vec<Uuid> = (owner_of.iter())
            .filter(|(_, o)| **o == owner)
            .map(|(id, _)| *id)
            .collect();
        let changed = app
            .customers()
            .reassign(
                &agent,
                Reassign {
                    ids: ids.clone(),
                    owner,
                },
            )
            .await
            .expect("reassign");
        assert_eq!(changed, ids.len());
    }
    let owned = owner_of.values().filter(|o| o.is_some()).count();
    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), before, 100)
        .await
        .expect("entries");
    let changed: Vec<&str> = entries
        .iter()
        .filter(|e| e.record.action == "customer.update" && e.record.fields == ["owner"])
        .flat_map(|e| e.record.targets.iter().map(String::as_str))
        .collect();
    assert_eq!(
        changed.len(),
        owned,
        "one entry per customer given an owner"
    );

    // By the owner's name, then id, either way; those of no one last either way.
    let mut expected: Vec<(Option<String>, Uuid)> = (owner_of.iter())
        .map(|(id, o)| (o.map(|o| names[&o].to_lowercase()), *id))
        .collect();
    expected.sort_by_key(|(name, id)| (name.is_none(), name.clone(), *id));
    let ascending: Vec<Uuid> = expected.iter().map(|(_, id)| *id).collect();
    assert_eq!(listed(&app, &agent, None, "owner").await, ascending);
    let (owned, no_one): (Vec<_>, Vec<_>) = expected.iter().partition(|(name, _)| name.is_some());
    let descending: Vec<Uuid> = (owned.iter().rev())
        .chain(no_one.iter().rev())
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(listed(&app, &agent, None, "-owner").await, descending);

    let of = |owner: Option<Uuid>| -> BTreeSet<Uuid> {
        (owner_of.iter())
            .filter(|(_, o)| **o == owner)
            .map(|(id, _)| *id)
            .collect()
    };
    let bo_filter = bo.to_string();
    let got: BTreeSet<Uuid> = (listed(&app, &agent, Some(&bo_filter), "created").await)
        .into_iter()
        .collect();
    assert_eq!(got, of(Some(bo)));
    let got: BTreeSet<Uuid> = (listed(&app, &agent, Some("none"), "created").await)
        .into_iter()
        .collect();
    assert_eq!(got, of(None));
    let got: BTreeSet<Uuid> = (listed(&app, &cleo_access, Some("me"), "created").await)
        .into_iter()
        .collect();
    assert_eq!(got, of(Some(cleo)));

    // Each customer is shown with their owner's display name.
    let page = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    for view in &page.items {
        let want = owner_of[&view.id].map(|o| (o, names[&o].to_string()));
        let got = view.owner.as_ref().map(|o| (o.id, o.display_name.clone()));
        assert_eq!(got, want, "{}", view.id);
    }

    // An API token looks after no one, so `me` means nothing for it.
    let Err(AppError::Invalid(errors)) = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                owner: Some("me".into()),
                ..Default::default()
            },
        )
        .await
    else {
        panic!("`me` without a staff account is refused");
    };
    assert_eq!(errors[0].field, "owner");
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn customers_are_filtered_and_sorted_by_owner_sqlite() {
    owners_filter_and_sort(Home::sqlite()).await;
}

#[tokio::test]
async fn customers_are_filtered_and_sorted_by_owner_on_postgres() {
    owners_filter_and_sort(Home::on_postgres().await).await;
}

#[tokio::test]
async fn an_owner_must_be_a_staff_account_in_use_and_a_refusal_changes_nobody() {
    let (_home, app) = app().await;
    let (dana, _) = staff_member(&app, "dana@example.com", "Dana Dorn").await;
    let (eli, _) = staff_member(&app, "eli@example.com", "Eli Ek").await;
    app.accounts()
        .update_user(&actor(&app, Role::Admin), eli, None, Some(true))
        .await
        .expect("disabled");
    let agent = agent(&app);
    let a = app
        .customers()
        .create(&agent, input("first@example.org", "Fay"))
        .await
        .expect("a")
        .id;
    let b = app
        .customers()
        .create(&agent, input("second@example.org", "Gus"))
        .await
        .expect("b")
        .id;
    let length = app.audit().length().await.expect("length");
    for (change, field) in [
        (
            Reassign {
                ids: vec![a],
                owner: Some(Uuid::now_v7()),
            },
            "owner",
        ),
        (
            Reassign {
                ids: vec![a],
                owner: Some(eli),
            },
            "owner",
        ),
        (
            Reassign {
                ids: Vec::new(),
                owner: Some(dana),
            },
            "ids",
        ),
    ] {
        let Err(AppError::Invalid(errors)) = app.customers().reassign(&agent, change).await else {
            panic!("{field}: refused");
        };
        assert_eq!(errors[0].field, field);
    }
    let refused = app
        .customers()
        .reassign(
            &agent,
            Reassign {
                ids: vec![a, Uuid::now_v7()],
                owner: Some(dana),
            },
        )
        .await;
    assert!(matches!(refused, Err(AppError::NotFound)), "{refused:?}");
    assert_eq!(app.audit().length().await.expect("length"), length);
    let read = app.customers().get(&agent, a).await.expect("read");
    assert_eq!(read.owner, None, "a refused selection changes nobody");

    // Given, kept through an edit, and taken away.
    app.customers()
        .reassign(
            &agent,
            Reassign {
                ids: vec![a],
                owner: Some(dana),
            },
        )
        .await
        .expect("given");
    let read = app.customers().get(&agent, a).await.expect("read");
    let edited = app
        .customers()
        .update(
            &agent,
            a,
            CustomerPatch {
                fields: [("given_name".to_string(), Some("Faye".to_string()))].into(),
                ..Default::default()
            },
            read.version,
        )
        .await
        .expect("edited");
    let owner = edited.owner.expect("the edit keeps the owner");
    assert_eq!((owner.id, owner.display_name.as_str()), (dana, "Dana Dorn"));

    // A merge into a customer of no one carries the duplicate's owner.
    let merged = app
        .customers()
        .merge(&agent, b, a, false)
        .await
        .expect("merged");
    assert_eq!(merged.customer.owner.map(|o| o.id), Some(dana));
    let survivor = app.customers().get(&agent, b).await.expect("survivor");
    assert_eq!(survivor.owner.map(|o| o.id), Some(dana));

    app.customers()
        .reassign(
            &agent,
            Reassign {
                ids: vec![b],
                owner: None,
            },
        )
        .await
        .expect("taken away");
    let read = app.customers().get(&agent, b).await.expect("read");
    assert_eq!(read.owner, None);
}
