//! Name search: whole words of given, family and company names, found through blind-index
//! entries of their tokens, on both engines, with no name in clear anywhere (I1).

use std::collections::BTreeSet;

use steward_app::{AppError, AuditFilter, CustomerInput, CustomerPatch, CustomerQuery, Steward};
use steward_core::Role;
use uuid::Uuid;

use crate::support::*;

/// A name as typed, and the words a search for it should find it by, written out by hand
/// rather than derived by the code under test.
const GIVEN: &[(&str, &[&str])] = &[
    ("Anna-Lena", &["anna", "lena"]),
    ("Zoë", &["zoe"]),
    ("Seán", &["sean"]),
    ("محمد", &["محمد"]),
    ("Smith", &["smith"]),
    ("Ａｎｎａ", &["anna"]),
];
const FAMILY: &[(&str, &[&str])] = &[
    ("Smith", &["smith"]),
    ("Smith-Jones", &["smith", "jones"]),
    ("MÜLLER", &["muller"]),
    ("O'Brien", &["obrien"]),
    ("van der Berg", &["van", "der", "berg"]),
    ("Sm\u{200B}ithers", &["smithers"]),
    ("\u{200F}علي\u{200F}", &["علي"]),
];
const COMPANY: &[(&str, &[&str])] = &[
    ("", &[]),
    ("Acme GmbH & Co. KG", &["acme", "gmbh", "co", "kg"]),
    ("Smith\u{00A0}Holdings", &["smith", "holdings"]),
];

struct Person {
    id: Uuid,
    words: BTreeSet<&'static str>,
}

/// A small deterministic shuffle (an LCG), so emails and names do not come in order.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut s = seed;
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (s >> 33) as usize % (i + 1));
    }
    order
}

async fn people(app: &Steward) -> Vec<Person> {
    let agent = agent(app);
    let mut out = Vec::new();
    for (n, k) in shuffled(48, 7).into_iter().enumerate() {
        let (given, gw) = GIVEN[k % GIVEN.len()];
        let (family, fw) = FAMILY[(k / GIVEN.len()) % FAMILY.len()];
        let (company, cw) = COMPANY[k % COMPANY.len()];
        let mut fields = vec![
            ("email".to_string(), format!("u{k}.{n}@example.org")),
            ("given_name".to_string(), given.to_string()),
            ("family_name".to_string(), family.to_string()),
        ];
        if !company.is_empty() {
            fields.push(("company".to_string(), company.to_string()));
        }
        let id = app
            .customers()
            .create(
                &agent,
                CustomerInput {
                    fields: fields.into_iter().collect(),
                    residency: "de".into(),
                    tags: Vec::new(),
                },
            )
            .await
            .expect("create")
            .id;
        let words = gw
            .iter()
            .chain(fw.iter())
            .chain(cw.iter())
            .copied()
            .collect();
        out.push(Person { id, words });
    }
    out
}

/// Every customer the search finds, paging through with a small page.
async fn found(app: &Steward, name: &str) -> Result<BTreeSet<Uuid>, AppError> {
    let mut all = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = app
            .customers()
            .list(
                &agent(app),
                CustomerQuery {
                    name: Some(name.to_string()),
                    cursor,
                    limit: Some(4),
                    ..Default::default()
                },
            )
            .await?;
        all.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

fn expected(people: &[Person], words: &[&str]) -> BTreeSet<Uuid> {
    people
        .iter()
        .filter(|p| words.iter().all(|w| p.words.contains(w)))
        .map(|p| p.id)
        .collect()
}

async fn finds_exactly_the_customers_with_every_word(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let people = people(&app).await;
    for (query, words) in [
        ("smith", &["smith"][..]),
        ("SMITH", &["smith"]),
        ("Müller", &["muller"]),
        ("muller", &["muller"]),
        ("O’Brien", &["obrien"]),
        ("jones", &["jones"]),
        ("Anna Smith", &["anna", "smith"]),
        ("berg  van", &["berg", "van"]),
        ("acme", &["acme"]),
        ("محمد", &["محمد"]),
        ("علي", &["علي"]),
        ("holdings smith", &["holdings", "smith"]),
        ("smithers", &["smithers"]),
    ] {
        let want = expected(&people, words);
        assert!(!want.is_empty(), "{query}: the fixture should hold a match");
        assert_eq!(found(&app, query).await.expect(query), want, "{query}");
    }
    // Whole words only: a prefix, a word inside another and an unknown word find nobody.
    for query in ["smi", "mith", "brie", "nobody"] {
        assert!(found(&app, query).await.expect(query).is_empty(), "{query}");
    }
    let Err(AppError::Invalid(errors)) = found(&app, " -- ").await else {
        panic!("a query without a word must be refused");
    };
    assert_eq!(errors[0].field, "name");

    // A changed family name is found by its new words only, a removed company name by none;
    // the given name's words stay.
    let target = people
        .iter()
        .find(|p| {
            ["anna", "smith", "holdings"]
                .iter()
                .all(|w| p.words.contains(w))
        })
        .expect("an Anna Smith of Smith Holdings");
    let current = app
        .customers()
        .get(&agent(&app), target.id)
        .await
        .expect("read");
    app.customers()
        .update(
            &agent(&app),
            target.id,
            CustomerPatch {
                fields: [
                    ("family_name".to_string(), Some("Quintero".to_string())),
                    ("company".to_string(), None),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            },
            current.version,
        )
        .await
        .expect("update");
    assert!(
        found(&app, "quintero")
            .await
            .expect("new")
            .contains(&target.id)
    );
    assert!(
        found(&app, "anna")
            .await
            .expect("kept")
            .contains(&target.id)
    );
    assert!(
        !found(&app, "smith")
            .await
            .expect("old")
            .contains(&target.id)
    );
    assert!(
        !found(&app, "holdings")
            .await
            .expect("removed")
            .contains(&target.id)
    );

    // An erased customer's tokens leave the index with them.
    app.rights()
        .erase(&dpo(&app), target.id)
        .await
        .expect("erase");
    assert!(found(&app, "quintero").await.expect("erased").is_empty());
    let left = home
        .count(&format!(
            "SELECT COUNT(*) FROM blind_index WHERE field IN ('given_name', 'family_name', 'company') \
             AND customer_id = {}",
            id_literal(&home, target.id)
        ))
        .await;
    assert_eq!(left, 0);

    home.assert_no_plaintext(&[
        "Anna-Lena",
        "Smith",
        "smith",
        "MÜLLER",
        "muller",
        "O'Brien",
        "obrien",
        "Quintero",
        "quintero",
        "Holdings",
        "محمد",
        "علي",
        "Smithers",
    ])
    .await;
}

/// Customers saved before their names were searchable have no name entries; a reindex
/// gives every one of them exactly their words, and running it again changes nothing.
async fn a_reindex_gives_every_customer_their_words(home: Home) {
    let app = open_at(home.path(), home.database_url()).await;
    let people = people(&app).await;
    let name_entries = "SELECT COUNT(*) FROM blind_index \
         WHERE field IN ('given_name', 'family_name', 'company')";
    let written = home.count(name_entries).await;
    assert!(written > 0);
    let forget = "DELETE FROM blind_index WHERE field IN ('given_name', 'family_name', 'company')";
    home.execute(forget, forget).await;
    assert!(found(&app, "smith").await.expect("search").is_empty());

    let refused = app
        .customers()
        .reindex_names(&actor(&app, Role::Agent), |_| {})
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden(_))),
        "{refused:?}"
    );

    let mut heard = Vec::new();
    let outcome = app
        .customers()
        .reindex_names(&operator(&app, "reindex", &[]), |n| heard.push(n))
        .await
        .expect("reindex");
    assert_eq!(outcome.reindexed, people.len() as u64);
    assert_eq!(heard.last().copied(), Some(people.len() as u64));
    for words in [
        &["smith"][..],
        &["anna", "smith"],
        &["muller"],
        &["obrien"],
        &["holdings"],
        &["علي"],
    ] {
        let query = words.join(" ");
        assert_eq!(
            found(&app, &query).await.expect("search"),
            expected(&people, words),
            "{query}"
        );
    }
    assert_eq!(home.count(name_entries).await, written);

    let again = app
        .customers()
        .reindex_names(&operator(&app, "reindex", &[]), |_| {})
        .await
        .expect("again");
    assert_eq!(again.reindexed, people.len() as u64);
    assert_eq!(home.count(name_entries).await, written);

    let auditor = actor(&app, Role::Auditor);
    let entries = app
        .audit()
        .search(
            &auditor,
            AuditFilter {
                action: Some("customer.reindex".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    let targets: BTreeSet<String> = entries
        .iter()
        .flat_map(|e| e.record.targets.iter().cloned())
        .collect();
    assert_eq!(targets.len(), people.len(), "each customer opened is named");
    assert!(app.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn a_reindex_gives_every_customer_their_words_sqlite() {
    a_reindex_gives_every_customer_their_words(Home::sqlite()).await;
}

#[tokio::test]
async fn a_reindex_gives_every_customer_their_words_on_postgres() {
    a_reindex_gives_every_customer_their_words(Home::on_postgres().await).await;
}

/// How the engine under `home` writes an id in SQL.
fn id_literal(home: &Home, id: Uuid) -> String {
    match home.database_url() {
        Some(_) => format!("'{id}'"),
        None => format!("X'{}'", id.simple()),
    }
}

#[tokio::test]
async fn name_search_finds_exactly_the_customers_with_every_word_sqlite() {
    finds_exactly_the_customers_with_every_word(Home::sqlite()).await;
}

#[tokio::test]
async fn name_search_finds_exactly_the_customers_with_every_word_on_postgres() {
    finds_exactly_the_customers_with_every_word(Home::on_postgres().await).await;
}
