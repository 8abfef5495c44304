use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

use steward_app::import::ImportOptions;
use steward_app::{Actor, AppError, CustomerQuery, Steward};

use crate::support::*;

fn options(dir: &Path, batch: usize) -> ImportOptions {
    ImportOptions {
        purpose: "essential.service".into(),
        default_residency: None,
        header_map: HashMap::new(),
        reject_path: dir.join("rejects.csv"),
        batch_size: batch,
    }
}

fn importer(app: &Steward) -> Actor {
    operator(app, "import", &["essential.service"])
}

async fn run(
    app: &Steward,
    file: &Path,
    opts: &ImportOptions,
) -> Result<steward_app::import::ImportReport, AppError> {
    app.customers()
        .import(&importer(app), file, opts, |_| ControlFlow::Continue(()))
        .await
}

#[tokio::test]
async fn good_rows_land_and_each_bad_row_is_rejected_with_its_reason() {
    let (dir, app) = app().await;
    let long = "x".repeat(101);
    let mut csv = Vec::new();
    csv.extend_from_slice(b"email,Given name,family_name,phone,residency,tags\n");
    csv.extend_from_slice(b"ada@example.com,Ada,Lovelace,+44 20 7946 0000,GB,vip;b2b\n"); // 2 good
    csv.extend_from_slice(b"not-an-email,Bad,Email,,DE,\n"); // 3
    csv.extend_from_slice(b"phone@example.com,Bad,Phone,030 1234,DE,\n"); // 4
    csv.extend_from_slice(b"cols@example.com,Too,Few\n"); // 5
    csv.extend_from_slice(b"utf@example.com,Bad\xff\xfeUTF,X,,DE,\n"); // 6
    csv.extend_from_slice(format!("long@example.com,{long},X,,DE,\n").as_bytes()); // 7
    csv.extend_from_slice(b",No,Email,,DE,\n"); // 8
    csv.extend_from_slice(b"zz@example.com,Bad,Country,,ZZ,\n"); // 9
    csv.extend_from_slice(b"ADA@example.com,Augusta,,,,\n"); // 10 same address as line 2
    csv.extend_from_slice(b"\"multi@example.com\",\"Multi\nLine\",Name,,FR,\n"); // 11-12: one record, a name may not span lines
    csv.extend_from_slice(b"last@example.com,Last,One,0049 30 555,DE,\n"); // 13 good
    let file = dir.path().join("mixed.csv");
    std::fs::write(&file, &csv).expect("write");
    let report = run(&app, &file, &options(dir.path(), 100))
        .await
        .expect("import");
    assert_eq!(
        (
            report.progress.created,
            report.progress.updated,
            report.progress.rejected
        ),
        (2, 0, 9),
        "{report:?}"
    );
    assert!(report.finished);

    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    let mut reader = csv::Reader::from_reader(rejects.as_bytes());
    assert_eq!(
        reader.headers().expect("headers"),
        vec!["line", "reason", "residency", "tags"],
        "the columns that hold no personal data follow the reason"
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let rows: Vec<(u64, String)> = records
        .iter()
        .map(|r| (r[0].parse().expect("line"), r[1].to_string()))
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7, 8, 9, 10, 11]
    );
    assert_eq!(
        (&records[6][2], &records[6][3]),
        ("ZZ", ""),
        "line 9's own residency"
    );
    assert_eq!(
        (&records[2][2], &records[2][3]),
        ("", ""),
        "a row with too few cells repeats none: they could be anything"
    );
    assert!(rows[7].1.contains("same email as line 2"), "{rows:?}");
    assert!(rows[0].1.contains("fields.email"), "{rows:?}");
    assert!(rows[1].1.contains("fields.phone"), "{rows:?}");
    assert!(
        rows[2].1.contains("expected 6 columns, found 3"),
        "{rows:?}"
    );
    assert!(rows[3].1.contains("UTF-8"), "{rows:?}");
    assert!(rows[4].1.contains("longer than 100"), "{rows:?}");
    assert!(rows[6].1.contains("residency"), "{rows:?}");
    for value in ["not-an-email", "030 1234", "Bad", &long, "Augusta", "ADA@"] {
        assert!(
            !rejects.contains(value),
            "the reject file repeats a value: {value}"
        );
    }

    // Line 10 changed nothing: the first row with an address is the one imported.
    let agent = agent(&app);
    let ada = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("ada@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("find");
    assert_eq!(ada.items.len(), 1);
    assert_eq!(
        ada.items[0].fields.get("given_name").map(String::as_str),
        Some("Ada")
    );
    assert_eq!(
        ada.items[0].fields.get("family_name").map(String::as_str),
        Some("Lovelace")
    );
    assert_eq!(ada.items[0].tags, ["b2b", "vip"]);
    assert!(rows[8].1.contains("control characters"), "{rows:?}");
    let last = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("last@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("find");
    assert_eq!(
        last.items[0].fields.get("phone").map(String::as_str),
        Some("+4930555")
    );
    assert!(app.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn bad_headers_stop_the_import_before_anything_is_written() {
    let (dir, app) = app().await;
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "dup.csv",
            "email,given_name,Given name\na@example.com,A,B\n",
            &[r#"columns 2 ("given_name") and 3 ("Given name") both map to "given_name""#],
        ),
        (
            "unknown.csv",
            "email,Shoe size\na@example.com,42\n",
            &[
                r#"column 2 ("Shoe size") is not a field of the catalog"#,
                "header map",
                "given_name, family_name, email",
            ],
        ),
        (
            "noemail.csv",
            "given_name,residency\nA,DE\n",
            &["no email column"],
        ),
        ("empty.csv", "", &["no header row"]),
        (
            "headerless.csv",
            "Ada,ada@example.com,DE\nBob,bob@example.com,FR\n",
            &["customer rather than a header row"],
        ),
        (
            "headerless_and_bad.csv",
            "Bob,bob@,FR\n",
            &["customer rather than a header row"],
        ),
    ];
    for (name, text, expect) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write");
        match run(&app, &file, &options(dir.path(), 10)).await {
            Err(AppError::Invalid(e)) => {
                for part in expect {
                    assert!(e[0].message.contains(part), "{name}: {e:?}");
                }
                // A headerless file's first customer is never echoed.
                for value in ["Ada", "ada@", "Bob", "bob@"] {
                    assert!(!e[0].message.contains(value), "{name}: {e:?}");
                }
            }
            other => panic!("{name}: expected refusal, got {other:?}"),
        }
    }
    assert_eq!(app.customers().count().await.expect("count"), 0);
}

#[tokio::test]
async fn an_interrupted_import_resumes_without_duplicates() {
    let (dir, app) = app().await;
    let mut text = String::from("email,given_name,residency\n");
    for i in 0..100 {
        if i % 17 == 5 {
            text.push_str(&format!("broken{i},Bad,DE\n"));
        } else {
            text.push_str(&format!("user{i}@example.com,User {i},DE\n"));
        }
    }
    let file = dir.path().join("big.csv");
    std::fs::write(&file, &text).expect("write");
    let opts = options(dir.path(), 10);
    let mut batches = 0;
    let first = app
        .customers()
        .import(&importer(&app), &file, &opts, |_| {
            batches += 1;
            if batches == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .expect("first run");
    assert!(!first.finished);
    // Three batches of ten good rows; the two bad rows among them are already reported.
    assert_eq!(app.customers().count().await.expect("count"), 30);
    assert_eq!(first.progress.rejected, 2);

    let second = run(&app, &file, &opts).await.expect("resume");
    assert!(second.finished);
    assert_eq!(
        second.resumed_at_line,
        Some(33),
        "32 rows after the header were done"
    );
    let bad = (0..100).filter(|i| i % 17 == 5).count() as u64;
    assert_eq!(second.progress.rejected, bad);
    assert_eq!(
        app.customers().count().await.expect("count"),
        100 - bad,
        "every good row exactly once"
    );
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    assert_eq!(
        rejects.lines().count() as u64,
        1 + bad,
        "each bad row reported once:\n{rejects}"
    );

    let third = run(&app, &file, &opts).await.expect("again");
    assert!(third.already_done);
    assert_eq!(app.customers().count().await.expect("count"), 100 - bad);
    assert!(app.audit().verify().await.expect("verify").ok);
}

/// One row of a generated customer file and what the import should make of it.
struct Person {
    email: String,
    given: String,
    family: String,
    address: String,
    phone: String,
    residency: String,
    tags: String,
    /// Why the row itself is refused, when it is.
    broken: Option<&'static str>,
}

/// A customer file as other systems export them: CRLF line ends, every cell quoted, postal
/// addresses over two lines (some with CRLF inside the quotes, as Windows tools write them)
/// so that records and file lines part ways, rows in shuffled order, some addresses given
/// twice (in another case) and some rows broken.
fn customer_file(seed: u64, people: usize) -> (Vec<u8>, Vec<(u64, Person)>) {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    const GIVEN: [&str; 6] = [
        "Adelheid",
        "Bartholomew",
        "Cordelia",
        "Dagobert",
        "Eleonora",
        "Fridolin",
    ];
    const FAMILY: [&str; 5] = ["Lovelace", "Hopper", "Noether", "Ramanujan", "Turing"];
    const STREETS: [&str; 4] = [
        "Station Road",
        "Kastanienallee",
        "Rue du Bac",
        "Prinsengracht",
    ];
    const COUNTRIES: [&str; 5] = ["GB", "DE", "FR", "NL", "IE"];
    const TAGS: [&str; 4] = ["", "vip", "b2b;newsletter", "wholesale"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    for i in 0..people {
        let given = GIVEN[i % GIVEN.len()];
        let family = FAMILY[i % FAMILY.len()];
        let break_line = if rng.gen_bool(0.5) { "\r\n" } else { "\n" };
        let person = Person {
            email: format!(
                "{}.{}{i}@example.org",
                given.to_lowercase(),
                family.to_lowercase()
            ),
            given: given.into(),
            family: family.into(),
            address: format!(
                "{} {}{break_line}{} {:05}",
                10 + i,
                STREETS[i % STREETS.len()],
                ["Leeds", "Berlin", "Lyon", "Utrecht"][i % 4],
                1000 + i
            ),
            phone: format!("+44 20 7946 {:04}", i),
            residency: COUNTRIES[rng.gen_range(0..COUNTRIES.len())].into(),
            tags: TAGS[rng.gen_range(0..TAGS.len())].into(),
            broken: None,
        };
        let roll: f64 = rng.r#gen();
        if roll < 0.06 {
            rows.push(Person {
                phone: "030 1234".into(),
                broken: Some("fields.phone"),
                ..person
            });
        } else if roll < 0.09 {
            rows.push(Person {
                residency: "ZZ".into(),
                broken: Some("residency"),
                ..person
            });
        } else {
            if roll > 0.88 {
                // The same address again, written differently, with another name.
                rows.push(Person {
                    email: person.email.to_uppercase(),
                    given: format!("{}ina", person.given),
                    ..person_copy(&person)
                });
            }
            rows.push(person);
        }
    }
    rows.shuffle(&mut rng);
    let mut text = b"email,given_name,family_name,postal_address,phone,residency,tags\r\n".to_vec();
    let mut line = 2;
    let mut placed = Vec::new();
    for p in rows {
        let cells = [
            &p.email,
            &p.given,
            &p.family,
            &p.address,
            &p.phone,
            &p.residency,
            &p.tags,
        ];
        let record = cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",");
        text.extend_from_slice(record.as_bytes());
        text.extend_from_slice(b"\r\n");
        placed.push((line, p));
        line += 1 + record.matches('\n').count() as u64;
    }
    (text, placed)
}

fn person_copy(p: &Person) -> Person {
    Person {
        email: p.email.clone(),
        given: p.given.clone(),
        family: p.family.clone(),
        address: p.address.clone(),
        phone: p.phone.clone(),
        residency: p.residency.clone(),
        tags: p.tags.clone(),
        broken: p.broken,
    }
}

/// What the reject file should say of each refused line, in file order: the first row with
/// an address counts, a later one is refused naming it, and broken rows for their own fault.
fn expected_rejects(rows: &[(u64, Person)]) -> Vec<(u64, String)> {
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    for (line, p) in rows {
        match first_seen.get(&p.email.to_lowercase()) {
            Some(first) => out.push((*line, format!("same email as line {first}"))),
            None => {
                first_seen.insert(p.email.to_lowercase(), *line);
                if let Some(reason) = p.broken {
                    out.push((*line, reason.to_string()));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_shuffled_export_with_crlf_multiline_cells_and_repeats_is_reported_by_file_line() {
    let (dir, app) = app().await;
    let (text, rows) = customer_file(16, 400);
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &text).expect("write");
    let expected = expected_rejects(&rows);
    assert!(
        expected.iter().any(|(_, r)| r.starts_with("same email"))
            && expected.iter().any(|(_, r)| r == "fields.phone")
            && rows.iter().any(|(line, _)| *line != rows[0].0 + 1),
        "the data has repeats, broken rows and multi-line records"
    );

    let report = run(&app, &file, &options(dir.path(), 37))
        .await
        .expect("import");
    let firsts: HashMap<String, &Person> = rows
        .iter()
        .rev()
        .map(|(_, p)| (p.email.to_lowercase(), p))
        .collect();
    let created = firsts.values().filter(|p| p.broken.is_none()).count() as u64;
    assert_eq!(
        (
            report.progress.created,
            report.progress.updated,
            report.progress.rejected
        ),
        (created, 0, expected.len() as u64),
        "{report:?}"
    );

    let rejects = std::fs::read(dir.path().join("rejects.csv")).expect("rejects");
    let mut reader = csv::Reader::from_reader(rejects.as_slice());
    let got: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(
        got.iter()
            .map(|r| r[0].parse::<u64>().expect("line"))
            .collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>(),
        "every refused row named by the line it starts on in the file"
    );
    let by_line: HashMap<u64, &Person> = rows.iter().map(|(l, p)| (*l, p)).collect();
    for (record, (line, reason)) in got.iter().zip(&expected) {
        assert!(
            record[1].contains(reason.as_str()),
            "line {line}: {record:?}"
        );
        let p = by_line[line];
        assert_eq!(
            (&record[2], &record[3]),
            (p.residency.as_str(), p.tags.as_str()),
            "line {line} repeats its residency and tags"
        );
    }
    let rejects = String::from_utf8(rejects).expect("utf-8");
    for (line, _) in &expected {
        let p = by_line[line];
        for value in [&p.email, &p.given, &p.family, &p.phone] {
            assert!(
                !rejects.to_lowercase().contains(&value.to_lowercase()),
                "the reject file repeats a personal value of line {line}"
            );
        }
        for part in p.address.lines() {
            assert!(!rejects.contains(part.trim()), "line {line}'s address");
        }
    }

    // The first row with an address is the one stored, two-line address and all.
    let agent = agent(&app);
    for p in firsts.values().filter(|p| p.broken.is_none()) {
        let found = app
            .customers()
            .list(
                &agent,
                CustomerQuery {
                    email: Some(p.email.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("find");
        assert_eq!(found.items.len(), 1, "{}", p.email);
        let fields = &found.items[0].fields;
        assert_eq!(fields.get("given_name"), Some(&p.given));
        assert_eq!(
            fields.get("postal_address"),
            Some(&p.address.replace("\r\n", "\n"))
        );
    }
    assert!(app.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn a_resumed_import_refuses_the_same_repeats_as_an_uninterrupted_one() {
    let (text, _) = customer_file(23, 300);
    let mut outcomes = Vec::new();
    for stop_after in [None, Some(2), Some(5)] {
        let (dir, app) = app().await;
        let file = dir.path().join("export.csv");
        std::fs::write(&file, &text).expect("write");
        let opts = options(dir.path(), 29);
        if let Some(stop_after) = stop_after {
            let mut batches = 0;
            let first = app
                .customers()
                .import(&importer(&app), &file, &opts, |_| {
                    batches += 1;
                    if batches == stop_after {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .await
                .expect("first run");
            assert!(!first.finished);
        }
        let report = run(&app, &file, &opts).await.expect("import");
        assert!(report.finished);
        assert_eq!(report.resumed_at_line.is_some(), stop_after.is_some());
        let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
        outcomes.push((
            app.customers().count().await.expect("count"),
            report.progress,
            rejects,
        ));
    }
    assert!(
        outcomes[0].2.contains("same email as line"),
        "{}",
        outcomes[0].2
    );
    for other in &outcomes[1..] {
        assert_eq!(other.0, outcomes[0].0);
        assert_eq!(other.1.rejected, outcomes[0].1.rejected);
        assert_eq!(other.1.created, outcomes[0].1.created);
        assert_eq!(
            other.2, outcomes[0].2,
            "the same reject file, line for line"
        );
    }
}

fn numbered_file(path: &Path, rows: usize) {
    let mut text = String::from("email,given_name,residency\n");
    for i in 0..rows {
        text.push_str(&format!("member{i}@example.net,Member {i},NL\n"));
    }
    std::fs::write(path, text).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_leaves_the_keys_of_an_import_still_committing_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = std::sync::Arc::new(open_at(dir.path(), None).await);
    // Another process on the same data directory, started before the import.
    let other = open_at(dir.path(), None).await;
    let keys = steward_store::KeyStore::open(&dir.path().join("keys").join("keystore.db"))
        .expect("key store");
    let rows = 400;
    let file = dir.path().join("members.csv");
    numbered_file(&file, rows);
    let opts = options(dir.path(), 100);

    // Hold the data database's write lock: the import writes its first batch's keys, then
    // waits to commit the rows.
    let db = rusqlite::Connection::open(dir.path().join("steward.db")).expect("db");
    db.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let import = tokio::spawn({
        let app = app.clone();
        let file = file.clone();
        async move {
            app.customers()
                .import(&importer(&app), &file, &opts, |_| ControlFlow::Continue(()))
                .await
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while keys.count_data_keys().await.expect("count") == 0 {
        assert!(std::time::Instant::now() < deadline, "no keys were written");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let written = keys.count_data_keys().await.expect("count");
    assert_eq!(app.customers().count().await.expect("count"), 0);

    assert_eq!(other.keys().sweep_orphans().await.expect("sweep"), 0);
    assert_eq!(
        keys.count_data_keys().await.expect("count"),
        written,
        "keys of rows about to be committed stay"
    );
    match other
        .customers()
        .import(&importer(&app), &file, &options(dir.path(), 100), |_| {
            ControlFlow::Continue(())
        })
        .await
    {
        Err(AppError::Conflict(m)) => assert!(m.contains("another run"), "{m}"),
        other => panic!("a second run of a running import: {other:?}"),
    }

    db.execute_batch("ROLLBACK").expect("unlock");
    let report = import.await.expect("join").expect("import");
    assert_eq!(report.progress.created, rows as u64);
    assert_eq!(app.customers().count().await.expect("count"), rows as u64);
    assert_eq!(keys.count_data_keys().await.expect("count"), rows as u64);
    let everyone = app
        .customers()
        .list(
            &agent(&app),
            CustomerQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .expect("every customer opens with its key");
    assert_eq!(everyone.items.len(), rows);
}
