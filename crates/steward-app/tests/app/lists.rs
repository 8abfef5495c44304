//! The customer list as staff work with it: sorted on what is not personal, paged by number
//! with a total, and a selection tagged, exported or erased, each customer audited once.

use std::collections::BTreeSet;

use jiff::{Timestamp, ToSpan};
use steward_app::core::Role;
use steward_app::{AppError, CustomerQuery, InteractionInput, Retag, Steward, ViewFilter};
use uuid::Uuid;

use crate::support::*;

const RESIDENCIES: [&str; 4] = ["FR", "DE", "NL", "BE"];

/// Customers in shuffled residencies, most with an interaction at a shuffled time; each
/// with the residency and last interaction the test expects, kept beside its id.
async fn population(app: &Steward, n: usize) -> Vec<(Uuid, String, Option<Timestamp>)> {
    let agent = agent(app);
    let base: Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
    let mut out = Vec::new();
    for i in 0..n {
        let k = (i * 7919) % n;
        let mut input = input(&format!("l{k}.{i}@example.net"), "Lea");
        input.residency = RESIDENCIES[k % RESIDENCIES.len()].into();
        let id = app
            .customers()
            .create(&agent, input)
            .await
            .expect("create")
            .id;
        let mut last = None;
        if !k.is_multiple_of(5) {
            // Two interactions, the later one counting, added latest first.
            for hours in [k as i64 * 3, k as i64] {
                let at = base.checked_add(hours.hours()).expect("time");
                app.interactions()
                    .add(
                        &agent,
                        id,
                        InteractionInput {
                            kind: "call".into(),
                            occurred_at: Some(at),
                            summary: "Asked about delivery".into(),
                            body: None,
                            facets: Default::default(),
                        },
                    )
                    .await
                    .expect("interaction");
                last = last.max(Some(at));
            }
        }
        out.push((id, RESIDENCIES[k % RESIDENCIES.len()].to_string(), last));
    }
    out
}

async fn all_pages(app: &Steward, sort: &str, per_page: usize) -> (Vec<Uuid>, u64) {
    let mut ids = Vec::new();
    let mut total = 0;
    for page in 1.. {
        let found = app
            .customers()
            .list(
                &agent(app),
                CustomerQuery {
                    sort: Some(sort.into()),
                    page: Some(page),
                    limit: Some(per_page),
                    ..Default::default()
                },
            )
            .await
            .expect("page");
        total = found.total.expect("a page by number has a total");
        assert!(
            found.next_cursor.is_none(),
            "pages by number have no cursor"
        );
        if found.items.is_empty() {
            break;
        }
        ids.extend(found.items.iter().map(|c| c.id));
    }
    (ids, total)
}

async fn sorts_and_pages(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let people = population(&app, 23).await;
    // Expected orders from what the test itself recorded; ties go by id, both ways.
    let mut by_last: Vec<_> = people.iter().map(|(id, _, at)| (*at, *id)).collect();
    by_last.sort();
    let ascending: Vec<Uuid> = by_last.iter().map(|(_, id)| *id).collect();
    let descending: Vec<Uuid> = ascending.iter().rev().copied().collect();
    let (got, total) = all_pages(&app, "last_interaction", 5).await;
    assert_eq!(total, 23);
    assert_eq!(
        got, ascending,
        "never-interacted customers come first going up"
    );
    let (got, _) = all_pages(&app, "-last_interaction", 5).await;
    assert_eq!(got, descending, "and last going down");

    let mut by_residency: Vec<_> = people.iter().map(|(id, r, _)| (r.clone(), *id)).collect();
    by_residency.sort();
    let (got, _) = all_pages(&app, "residency", 4).await;
    assert_eq!(
        got,
        by_residency.iter().map(|(_, id)| *id).collect::<Vec<_>>()
    );

    // A filter's total counts what it selects, not the page.
    let fr = app
        .customers()
        .list(
            &agent(&app),
            CustomerQuery {
                residency: Some("fr".into()),
                sort: Some("-updated".into()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .expect("filtered");
    let want = people.iter().filter(|(_, r, _)| r == "FR").count() as u64;
    assert_eq!(fr.total, Some(want));
    assert_eq!(fr.items.len(), 2);

    for (q, field) in [
        (
            CustomerQuery {
                sort: Some("email".into()),
                ..Default::default()
            },
            "sort",
        ),
        (
            CustomerQuery {
                sort: Some("-".into()),
                ..Default::default()
            },
            "sort",
        ),
        (
            CustomerQuery {
                page: Some(0),
                ..Default::default()
            },
            "page",
        ),
        (
            CustomerQuery {
                page: Some(2),
                cursor: Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
                ..Default::default()
            },
            "cursor",
        ),
    ] {
        let Err(AppError::Invalid(errors)) = app.customers().list(&agent(&app), q).await else {
            panic!("{field}: refused");
        };
        assert!(
            errors.iter().any(|e| e.field == field),
            "{field}: {errors:?}"
        );
    }
}

#[tokio::test]
async fn the_list_sorts_on_what_is_not_personal_and_pages_by_number_sqlite() {
    sorts_and_pages(Home::sqlite()).await;
}

#[tokio::test]
async fn the_list_sorts_on_what_is_not_personal_and_pages_by_number_on_postgres() {
    sorts_and_pages(Home::on_postgres().await).await;
}

#[tokio::test]
async fn the_last_interaction_is_kept_on_the_customer_as_interactions_arrive() {
    let (home, app) = app().await;
    let people = population(&app, 6).await;
    let (id, _, last) = people
        .iter()
        .find(|p| p.2.is_some())
        .expect("one who interacted");
    let stored = home
        .numbers(
            "SELECT last_interaction_at FROM customers WHERE last_interaction_at IS NOT NULL ORDER BY last_interaction_at",
        )
        .await;
    let expected: Vec<i64> = {
        let mut v: Vec<i64> = people
            .iter()
            .filter_map(|p| p.2.map(|t| t.as_microsecond()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(stored, expected);
    let view = app.customers().get(&agent(&app), *id).await.expect("read");
    assert_eq!(view.last_interaction_at, *last);
}

#[tokio::test]
async fn tags_change_on_a_selection_all_or_none_each_audited_once() {
    let (_home, app) = app().await;
    let people = population(&app, 24).await;
    let chosen: Vec<Uuid> = people.iter().take(20).map(|p| p.0).collect();
    let agent = agent(&app);
    let before = app.audit().length().await.expect("length");
    let changed = app
        .customers()
        .retag(
            &agent,
            Retag {
                ids: chosen.clone(),
                add: vec!["Spring-Sale".into(), "callback".into()],
                remove: vec!["vip".into()],
            },
        )
        .await
        .expect("retag");
    assert_eq!(changed, 20);
    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), before, 100)
        .await
        .expect("entries");
    let updated: Vec<&str> = entries
        .iter()
        .filter(|e| e.record.action == "customer.update")
        .flat_map(|e| e.record.targets.iter().map(String::as_str))
        .collect();
    assert_eq!(updated.len(), 20, "one entry per customer");
    let distinct: BTreeSet<&str> = updated.iter().copied().collect();
    let wanted: BTreeSet<String> = chosen.iter().map(Uuid::to_string).collect();
    assert_eq!(distinct, wanted.iter().map(String::as_str).collect());
    for p in &people {
        let tags = app.customers().get(&agent, p.0).await.expect("read").tags;
        if chosen.contains(&p.0) {
            assert_eq!(tags, ["callback", "spring-sale"], "{}", p.0);
        } else {
            assert_eq!(tags, ["vip"], "{}", p.0);
        }
    }
    // Applying it again changes nobody and writes no entry.
    let length = app.audit().length().await.expect("length");
    let again = app
        .customers()
        .retag(
            &agent,
            Retag {
                ids: chosen.clone(),
                add: vec!["callback".into()],
                remove: Vec::new(),
            },
        )
        .await
        .expect("again");
    assert_eq!(again, 0);
    assert_eq!(app.audit().length().await.expect("length"), length);

    // One unknown id among the selection: nobody changes.
    let mut with_unknown = chosen.clone();
    with_unknown.push(Uuid::now_v7());
    let refused = app
        .customers()
        .retag(
            &agent,
            Retag {
                ids: with_unknown,
                add: vec!["never".into()],
                remove: Vec::new(),
            },
        )
        .await;
    assert!(matches!(refused, Err(AppError::NotFound)), "{refused:?}");
    let tags = app
        .customers()
        .get(&agent, chosen[0])
        .await
        .expect("read")
        .tags;
    assert!(!tags.contains(&"never".to_string()));

    for (change, field) in [
        (
            Retag {
                ids: Vec::new(),
                add: vec!["x".into()],
                remove: Vec::new(),
            },
            "ids",
        ),
        (
            Retag {
                ids: chosen.clone(),
                add: Vec::new(),
                remove: Vec::new(),
            },
            "add",
        ),
        (
            Retag {
                ids: chosen.clone(),
                add: vec!["no spaces!".into()],
                remove: Vec::new(),
            },
            "add[0]",
        ),
    ] {
        let Err(AppError::Invalid(errors)) = app.customers().retag(&agent, change).await else {
            panic!("{field}: refused");
        };
        assert_eq!(errors[0].field, field);
    }
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn a_selection_is_exported_under_a_purpose_each_customer_audited_once() {
    let (_home, app) = app().await;
    let people = population(&app, 12).await;
    let chosen: Vec<Uuid> = people.iter().skip(2).step_by(3).map(|p| p.0).collect();
    let dpo = actor(&app, Role::Dpo);
    let before = app.audit().length().await.expect("length");
    let mut out = Vec::new();
    let written = app
        .customers()
        .export_selected(
            &dpo,
            "essential.legal_obligation",
            &chosen,
            steward_app::ExportFormat::Csv,
            &mut out,
        )
        .await
        .expect("export");
    assert_eq!(written, chosen.len() as u64);
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(
        header.contains("email") && !header.contains("phone"),
        "{header}"
    );
    let exported: BTreeSet<String> = lines
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .collect();
    let wanted: BTreeSet<String> = chosen.iter().map(Uuid::to_string).collect();
    assert_eq!(exported, wanted);
    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), before, 100)
        .await
        .expect("entries");
    let targets: Vec<&str> = entries
        .iter()
        .filter(|e| e.record.action == "customer.export")
        .flat_map(|e| e.record.targets.iter().map(String::as_str))
        .collect();
    assert_eq!(targets.len(), chosen.len(), "one mention per customer");
    assert_eq!(
        targets.iter().copied().collect::<BTreeSet<_>>(),
        wanted.iter().map(String::as_str).collect()
    );

    let mut nothing = Vec::new();
    let mut with_unknown = chosen.clone();
    with_unknown.push(Uuid::now_v7());
    let refused = app
        .customers()
        .export_selected(
            &dpo,
            "essential.legal_obligation",
            &with_unknown,
            steward_app::ExportFormat::Csv,
            &mut nothing,
        )
        .await;
    assert!(matches!(refused, Err(AppError::NotFound)), "{refused:?}");
    assert!(
        nothing.is_empty(),
        "nothing written for a refused selection"
    );
    let agent = actor(&app, Role::Agent);
    let refused = app
        .customers()
        .export_selected(
            &agent,
            "essential.service",
            &chosen,
            steward_app::ExportFormat::Csv,
            &mut nothing,
        )
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_selection_is_erased_one_customer_at_a_time_each_audited() {
    let (_home, app) = app().await;
    let people = population(&app, 10).await;
    let chosen: Vec<Uuid> = people.iter().take(4).map(|p| p.0).collect();
    let agent_refused = app.rights().erase_selected(&agent(&app), &chosen).await;
    assert!(
        matches!(agent_refused, Err(AppError::Forbidden(_))),
        "{agent_refused:?}"
    );
    for p in &people {
        assert!(!app.rights().is_erased(p.0).await.expect("erased?"));
    }
    let dpo = dpo(&app);
    app.rights()
        .erase(&dpo, chosen[0])
        .await
        .expect("one first");
    let before = app.audit().length().await.expect("length");
    let done = app
        .rights()
        .erase_selected(&dpo, &chosen)
        .await
        .expect("erase");
    assert_eq!((done.erased, done.already_gone), (3, 1));
    for p in &people {
        assert_eq!(
            app.rights().is_erased(p.0).await.expect("erased?"),
            chosen.contains(&p.0),
            "{}",
            p.0
        );
    }
    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), before, 100)
        .await
        .expect("entries");
    let erased: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e.record.action == "customer.erase")
        .flat_map(|e| e.record.targets.iter().map(String::as_str))
        .collect();
    let wanted: BTreeSet<String> = chosen[1..].iter().map(Uuid::to_string).collect();
    assert_eq!(erased, wanted.iter().map(String::as_str).collect());
    let too_many: Vec<Uuid> = (0..501).map(|_| Uuid::now_v7()).collect();
    let refused = app.rights().erase_selected(&dpo, &too_many).await;
    assert!(matches!(refused, Err(AppError::Invalid(_))), "{refused:?}");
}

async fn views_are_saved_per_staff_member(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let kim = actor(&app, Role::Agent);
    let lee = app.local_staff("user:lee", Role::Agent, &[]);
    let filter = ViewFilter {
        tag: Some("Spring-Sale".into()),
        residency: Some("de".into()),
        sort: Some("-last_interaction".into()),
        created_after: Some("2026-01-01".into()),
        ..Default::default()
    };
    let saved = app
        .customers()
        .save_view(&kim, "  German spring buyers ", filter)
        .await
        .expect("save");
    assert_eq!(saved.name, "German spring buyers");
    assert_eq!(saved.filter.tag.as_deref(), Some("spring-sale"));
    assert_eq!(saved.filter.residency.as_deref(), Some("DE"));
    app.customers()
        .save_view(&lee, "German spring buyers", ViewFilter::default())
        .await
        .expect("the same name for someone else");
    let again = app
        .customers()
        .save_view(&kim, "German spring buyers", ViewFilter::default())
        .await;
    assert!(
        matches!(&again, Err(AppError::Duplicate { field }) if field == "name"),
        "{again:?}"
    );
    let Err(AppError::Invalid(errors)) = app
        .customers()
        .save_view(
            &kim,
            "bad\u{7}",
            ViewFilter {
                status: Some("sleeping".into()),
                sort: Some("email".into()),
                created_before: Some("31.12.2026".into()),
                ..Default::default()
            },
        )
        .await
    else {
        panic!("a bad view must be refused");
    };
    let fields: BTreeSet<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "name",
            "filter.status",
            "filter.sort",
            "filter.created_before"
        ])
    );
    let mine = app.customers().views(&kim).await.expect("views");
    assert_eq!(mine, std::slice::from_ref(&saved));
    assert!(matches!(
        app.customers().delete_view(&lee, saved.id).await,
        Err(AppError::NotFound)
    ));
    app.customers()
        .delete_view(&kim, saved.id)
        .await
        .expect("delete");
    assert!(app.customers().views(&kim).await.expect("views").is_empty());
    assert_eq!(app.customers().views(&lee).await.expect("views").len(), 1);
    // A view cannot carry a searched name: the filter has no place for one.
    let json = r#"{"tag":"vip","name":"Smith"}"#;
    assert!(serde_json::from_str::<ViewFilter>(json).is_err());
}

#[tokio::test]
async fn views_are_saved_per_staff_member_sqlite() {
    views_are_saved_per_staff_member(Home::sqlite()).await;
}

#[tokio::test]
async fn views_are_saved_per_staff_member_on_postgres() {
    views_are_saved_per_staff_member(Home::on_postgres().await).await;
}
