//! Companies: made and changed with every refusal named by its field, a stale version
//! refused, sorted by their owner's display name, their customers listed through the customer
//! list's gate; an erasure takes the customer's membership with it, a merge hands the
//! duplicate's to a survivor without one, and deleting a company keeps its customers. Each
//! scenario runs on SQLite and on PostgreSQL.

use serde_json::json;
use steward_app::core::Role;
use steward_app::{Access, AppError, CompanyInput, CompanyQuery, MemberQuery, Steward};
use uuid::Uuid;

use crate::support::*;

fn company(name: &str, domain: Option<&str>, owner: Option<Uuid>) -> CompanyInput {
    CompanyInput {
        name: name.into(),
        domain: domain.map(str::to_string),
        country: None,
        tags: vec![],
        owner,
    }
}

fn refused_fields(result: Result<steward_app::CompanyView, AppError>) -> Vec<String> {
    match result {
        Err(AppError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn made_and_changed(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let (anna, anna_access) = staff_member(&app, "anna@example.com", "Anna Agent").await;
    let (bob, _) = staff_member(&app, "bob@example.com", "Bob Builder").await;
    let admin = actor(&app, Role::Admin);
    app.accounts()
        .update_user(&admin, bob, None, Some(true))
        .await
        .expect("disabled");
    let me = anna_access.actor();
    let made = app
        .companies()
        .create(
            me,
            CompanyInput {
                name: "  Acme Tools  ".into(),
                domain: Some(" Acme.EXAMPLE ".into()),
                country: Some("de".into()),
                tags: vec!["B2B".into(), "wholesale".into(), "b2b".into()],
                owner: Some(anna),
            },
        )
        .await
        .expect("made");
    assert_eq!(made.name, "Acme Tools");
    assert_eq!(made.domain.as_deref(), Some("acme.example"));
    assert_eq!(made.country.as_deref(), Some("DE"));
    assert_eq!(made.tags, ["b2b", "wholesale"]);
    assert_eq!(made.owner_name.as_deref(), Some("Anna Agent"));
    assert_eq!(made.version, 1);

    let long = "x".repeat(201);
    let cases: [(CompanyInput, &str); 9] = [
        (company("   ", None, None), "name"),
        (company("Acme\u{7}", None, None), "name"),
        (company("Acme\u{202E}", None, None), "name"),
        (company(&long, None, None), "name"),
        (
            company("Acme", Some("https://acme.example"), None),
            "domain",
        ),
        (company("Acme", Some("acme.example/about"), None), "domain"),
        (company("Acme", None, Some(Uuid::now_v7())), "owner"),
        (company("Acme", None, Some(bob)), "owner"),
        (
            CompanyInput {
                country: Some("XX".into()),
                ..company("Acme", None, None)
            },
            "country",
        ),
    ];
    for (input, field) in cases {
        let fields = refused_fields(app.companies().create(me, input).await);
        assert_eq!(fields, [field]);
    }
    let bad_tag = CompanyInput {
        tags: vec!["ok".into(), "not ok".into()],
        ..company("Acme", None, None)
    };
    assert_eq!(
        refused_fields(app.companies().create(me, bad_tag).await),
        ["tags[1]"]
    );
    let taken = app
        .companies()
        .create(me, company("Acme again", Some("ACME.example"), None))
        .await;
    assert!(
        matches!(&taken, Err(AppError::Duplicate { field }) if field == "domain"),
        "{taken:?}"
    );
    let marketer = actor(&app, Role::Marketer);
    assert!(matches!(
        app.companies()
            .create(&marketer, company("Nope", None, None))
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        app.companies()
            .create(&actor(&app, Role::Auditor), company("Nope", None, None))
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(
        app.companies()
            .get(&marketer, made.id)
            .await
            .expect("read")
            .name,
        "Acme Tools"
    );
    assert_eq!(home.count("SELECT COUNT(*) FROM companies").await, 1);

    let changed = app
        .companies()
        .update(
            me,
            made.id,
            &json!({"name": "Acme GmbH", "owner": null, "country": null}),
            Some(1),
        )
        .await
        .expect("changed");
    assert_eq!(changed.name, "Acme GmbH");
    assert_eq!(changed.owner, None);
    assert_eq!(changed.country, None);
    assert_eq!(changed.domain.as_deref(), Some("acme.example"));
    assert_eq!(changed.version, 2);
    assert!(matches!(
        app.companies()
            .update(me, made.id, &json!({"name": "Late"}), Some(1))
            .await,
        Err(AppError::StaleVersion)
    ));
    let other = app
        .companies()
        .create(me, company("Other", Some("other.example"), None))
        .await
        .expect("other");
    let clash = app
        .companies()
        .update(me, other.id, &json!({"domain": "acme.example"}), Some(1))
        .await;
    assert!(
        matches!(&clash, Err(AppError::Duplicate { field }) if field == "domain"),
        "{clash:?}"
    );
    let unknown = app
        .companies()
        .update(me, other.id, &json!({"website": "x"}), Some(1))
        .await;
    assert!(
        matches!(&unknown, Err(AppError::Invalid(e)) if e[0].field == "website"),
        "{unknown:?}"
    );
    assert_eq!(
        app.companies()
            .get(me, other.id)
            .await
            .expect("kept")
            .version,
        1
    );
    // A company whose owner left keeps them until someone chooses another, and can still be
    // changed in other ways.
    let owned = app
        .companies()
        .create(me, company("Owned", None, Some(anna)))
        .await
        .expect("owned");
    app.accounts()
        .update_user(&admin, anna, None, Some(true))
        .await
        .expect("anna leaves");
    let renamed = app
        .companies()
        .update(me, owned.id, &json!({"name": "Owned Ltd"}), Some(1))
        .await
        .expect("renamed");
    assert_eq!(renamed.owner, Some(anna));
    for (action, n) in [("company.create", 3), ("company.update", 2)] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(home.count(&sql).await, n, "{action}");
    }
}

#[tokio::test]
async fn companies_are_made_changed_and_refused_by_field_sqlite() {
    made_and_changed(Home::sqlite()).await;
}

#[tokio::test]
async fn companies_are_made_changed_and_refused_by_field_on_postgres() {
    made_and_changed(Home::on_postgres().await).await;
}

/// Companies sorted by owner follow their owners' display names, whatever their case, and
/// those without an owner come last either way; the order expected is built from the
/// fixture's names.
async fn sorted_filtered_and_paged(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let owners = [
        ("zoe@example.com", "Zoe Zimmer"),
        ("al@example.com", "al Able"),
        ("bo@example.com", "Bo Berg"),
    ];
    let mut ids = Vec::new();
    for (email, name) in owners {
        ids.push((staff_member(&app, email, name).await.0, name));
    }
    let me = actor(&app, Role::Agent);
    // (company, owner's index or none, tag)
    let fixture: [(&str, Option<usize>, &str); 6] = [
        ("Northwind", Some(0), "retail"),
        ("Acme", Some(1), "b2b"),
        ("Globex", None, "b2b"),
        ("Initech", Some(2), "b2b"),
        ("Umbrella", Some(1), "retail"),
        ("acme labs", None, "lab"),
    ];
    for (name, owner, tag) in fixture {
        app.companies()
            .create(
                &me,
                CompanyInput {
                    tags: vec![tag.into()],
                    ..company(name, None, owner.map(|i| ids[i].0))
                },
            )
            .await
            .expect("company");
    }
    let owner_name = |o: Option<usize>| o.map(|i| ids[i].1.to_lowercase());
    let mut expected: Vec<(Option<String>, String)> = fixture
        .iter()
        .map(|(n, o, _)| (owner_name(*o), n.to_lowercase()))
        .collect();
    // Owned first, by the owner's name, then by the company's.
    expected.sort_by(|a, b| (a.0.is_none(), &a.0, &a.1).cmp(&(b.0.is_none(), &b.0, &b.1)));
    let names = |page: &steward_app::Page<steward_app::CompanyView>| -> Vec<String> {
        page.items.iter().map(|c| c.name.to_lowercase()).collect()
    };
    let by_owner = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                sort: Some("owner".into()),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let want: Vec<String> = expected.iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(names(&by_owner), want);
    assert_eq!(by_owner.total, Some(6));
    assert_eq!(by_owner.items[0].owner_name.as_deref(), Some("al Able"));

    let mut owned: Vec<(String, String)> = expected
        .iter()
        .filter_map(|(o, n)| o.clone().map(|o| (o, n.clone())))
        .collect();
    owned.sort();
    owned.reverse();
    let mut want_desc: Vec<String> = owned.into_iter().map(|(_, n)| n).collect();
    want_desc.extend(["globex".to_string(), "acme labs".to_string()]);
    let desc = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                sort: Some("-owner".into()),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(names(&desc), want_desc);

    let second = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                sort: Some("name".into()),
                page: Some(2),
                limit: Some(4),
                ..Default::default()
            },
        )
        .await
        .expect("page 2");
    let mut by_name: Vec<String> = fixture.iter().map(|(n, _, _)| n.to_lowercase()).collect();
    by_name.sort();
    assert_eq!(names(&second), by_name[4..]);
    assert_eq!(second.total, Some(6));

    let tagged = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                tag: Some("b2b".into()),
                ..Default::default()
            },
        )
        .await
        .expect("tagged");
    assert_eq!(names(&tagged), ["acme", "globex", "initech"]);
    assert_eq!(tagged.total, Some(3));
    let prefixed = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                name: Some("ACME".into()),
                ..Default::default()
            },
        )
        .await
        .expect("prefixed");
    assert_eq!(names(&prefixed), ["acme", "acme labs"]);
    let wild = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                name: Some("%".into()),
                ..Default::default()
            },
        )
        .await
        .expect("a percent sign is a character");
    assert_eq!(wild.total, Some(0));
    let bad = app
        .companies()
        .list(
            &me,
            CompanyQuery {
                sort: Some("domain".into()),
                page: Some(0),
                ..Default::default()
            },
        )
        .await;
    match bad {
        Err(AppError::Invalid(errors)) => {
            let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["sort", "page"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn companies_sort_by_owner_name_filter_and_page_sqlite() {
    sorted_filtered_and_paged(Home::sqlite()).await;
}

#[tokio::test]
async fn companies_sort_by_owner_name_filter_and_page_on_postgres() {
    sorted_filtered_and_paged(Home::on_postgres().await).await;
}

async fn customer(app: &Steward, access: &Access, email: &str, given: &str) -> Uuid {
    app.customers()
        .create(access, input(email, given))
        .await
        .expect("customer")
        .id
}

/// Members are listed as the customer list lists them, audited as such; an erasure takes the
/// membership in its own transaction; deleting the company keeps its customers.
async fn members_erasure_and_deletion(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let support = agent(&app);
    let me = support.actor().clone();
    let acme = app
        .companies()
        .create(&me, company("Acme", Some("acme.example"), None))
        .await
        .expect("company");
    let gwen = customer(&app, &support, "gwen@example.com", "Gwen").await;
    let hugo = customer(&app, &support, "hugo@example.com", "Hugo").await;
    let ida = customer(&app, &support, "ida@example.com", "Ida").await;
    for c in [gwen, hugo] {
        app.companies()
            .add_member(&support, acme.id, c)
            .await
            .expect("member");
    }
    // Once more is no change, and no second entry.
    app.companies()
        .add_member(&support, acme.id, gwen)
        .await
        .expect("again");
    let other = app
        .companies()
        .create(&me, company("Other", None, None))
        .await
        .expect("other");
    assert!(matches!(
        app.companies().add_member(&support, other.id, gwen).await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        app.companies()
            .add_member(&support, Uuid::now_v7(), ida)
            .await,
        Err(AppError::NotFound)
    ));
    let marketing = access(&app, Role::Marketer, "marketing.communications.email");
    assert!(matches!(
        app.companies().add_member(&marketing, acme.id, ida).await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(
        home.count("SELECT COUNT(*) FROM audit_log WHERE action = 'company.member.add'")
            .await,
        2
    );
    let listed = app
        .companies()
        .members(&support, acme.id, MemberQuery::default())
        .await
        .expect("members");
    let mut seen: Vec<Uuid> = listed.items.iter().map(|c| c.id).collect();
    seen.sort();
    let mut want = vec![gwen, hugo];
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(listed.total, Some(2));
    assert!(
        listed
            .items
            .iter()
            .all(|c| c.fields.contains_key("given_name"))
    );
    assert_eq!(
        home.count("SELECT COUNT(*) FROM audit_log WHERE action = 'customer.list'")
            .await,
        1
    );
    assert!(matches!(
        app.companies()
            .members(&marketing, acme.id, MemberQuery::default())
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(
        app.customers()
            .get(&support, gwen)
            .await
            .expect("read")
            .company_id,
        Some(acme.id)
    );
    assert_eq!(
        app.companies()
            .of_customer(&support, gwen)
            .await
            .expect("of")
            .map(|c| c.id),
        Some(acme.id)
    );

    app.rights().erase(&dpo(&app), gwen).await.expect("erased");
    assert_eq!(home.count("SELECT COUNT(*) FROM company_members").await, 1);
    assert_eq!(
        app.companies()
            .get(&me, acme.id)
            .await
            .expect("kept")
            .members,
        1
    );

    app.companies()
        .remove_member(&support, acme.id, hugo)
        .await
        .expect("removed");
    assert!(matches!(
        app.companies().remove_member(&support, acme.id, hugo).await,
        Err(AppError::NotFound)
    ));
    app.companies()
        .add_member(&support, acme.id, hugo)
        .await
        .expect("back");
    app.companies()
        .add_member(&support, acme.id, ida)
        .await
        .expect("ida");
    app.companies().delete(&me, acme.id).await.expect("deleted");
    assert!(matches!(
        app.companies().get(&me, acme.id).await,
        Err(AppError::NotFound)
    ));
    assert_eq!(home.count("SELECT COUNT(*) FROM company_members").await, 0);
    for c in [hugo, ida] {
        app.customers()
            .get(&support, c)
            .await
            .expect("customer kept");
    }
    for (action, n) in [
        ("company.member.remove", 1),
        ("company.member.add", 4),
        ("company.delete", 1),
    ] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(home.count(&sql).await, n, "{action}");
    }
}

#[tokio::test]
async fn members_go_with_an_erasure_and_outlive_their_company_sqlite() {
    members_erasure_and_deletion(Home::sqlite()).await;
}

#[tokio::test]
async fn members_go_with_an_erasure_and_outlive_their_company_on_postgres() {
    members_erasure_and_deletion(Home::on_postgres().await).await;
}

/// A merge hands the duplicate's company to a survivor that has none, and leaves a
/// survivor's own company as it was.
async fn merged_memberships(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let support = agent(&app);
    let me = support.actor().clone();
    let acme = app
        .companies()
        .create(&me, company("Acme", None, None))
        .await
        .expect("acme");
    let globex = app
        .companies()
        .create(&me, company("Globex", None, None))
        .await
        .expect("globex");
    let survivor = customer(&app, &support, "gwen@example.com", "Gwen").await;
    let duplicate = customer(&app, &support, "gwen.q@example.com", "Gwen").await;
    app.companies()
        .add_member(&support, acme.id, duplicate)
        .await
        .expect("member");
    app.customers()
        .merge(&support, survivor, duplicate, false)
        .await
        .expect("merged");
    assert_eq!(
        app.companies()
            .of_customer(&support, survivor)
            .await
            .expect("of")
            .map(|c| c.id),
        Some(acme.id)
    );
    assert_eq!(home.count("SELECT COUNT(*) FROM company_members").await, 1);

    let second = customer(&app, &support, "gwen.r@example.com", "Gwen").await;
    app.companies()
        .add_member(&support, globex.id, second)
        .await
        .expect("member");
    app.customers()
        .merge(&support, survivor, second, false)
        .await
        .expect("merged");
    assert_eq!(
        app.companies()
            .of_customer(&support, survivor)
            .await
            .expect("of")
            .map(|c| c.id),
        Some(acme.id)
    );
    assert_eq!(home.count("SELECT COUNT(*) FROM company_members").await, 1);
    assert_eq!(
        app.companies()
            .get(&me, globex.id)
            .await
            .expect("kept")
            .members,
        0
    );
}

#[tokio::test]
async fn a_merge_hands_the_company_to_a_survivor_without_one_sqlite() {
    merged_memberships(Home::sqlite()).await;
}

#[tokio::test]
async fn a_merge_hands_the_company_to_a_survivor_without_one_on_postgres() {
    merged_memberships(Home::on_postgres().await).await;
}
