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

fn importer() -> Actor {
    Actor::system("import", &["essential.service"])
}

async fn run(
    app: &Steward,
    file: &Path,
    opts: &ImportOptions,
) -> Result<steward_app::import::ImportReport, AppError> {
    app.import_customers(&importer(), file, opts, |_| ControlFlow::Continue(()))
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
    csv.extend_from_slice(b"ADA@example.com,Augusta,,,,\n"); // 10 same person as line 2
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
        (2, 0, 8),
        "{report:?}"
    );
    assert!(report.finished);

    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    let mut reader = csv::Reader::from_reader(rejects.as_bytes());
    let rows: Vec<(u64, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .map(|r| (r[0].parse().expect("line"), r[1].to_string()))
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7, 8, 9, 11]
    );
    assert!(rows[0].1.contains("fields.email"), "{rows:?}");
    assert!(rows[1].1.contains("fields.phone"), "{rows:?}");
    assert!(
        rows[2].1.contains("expected 6 columns, found 3"),
        "{rows:?}"
    );
    assert!(rows[3].1.contains("UTF-8"), "{rows:?}");
    assert!(rows[4].1.contains("longer than 100"), "{rows:?}");
    assert!(rows[6].1.contains("residency"), "{rows:?}");
    for value in ["not-an-email", "030 1234", "Bad", &long] {
        assert!(
            !rejects.contains(value),
            "the reject file repeats a value: {value}"
        );
    }

    // Line 10 updated line 2's customer rather than creating a second one.
    let agent = agent(&app);
    let ada = app
        .list_customers(
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
        Some("Augusta")
    );
    assert_eq!(
        ada.items[0].fields.get("family_name").map(String::as_str),
        Some("Lovelace")
    );
    assert_eq!(ada.items[0].tags, ["b2b", "vip"]);
    assert!(rows[7].1.contains("control characters"), "{rows:?}");
    let last = app
        .list_customers(
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
    assert!(app.verify_audit().await.expect("verify").ok);
}

#[tokio::test]
async fn bad_headers_stop_the_import_before_anything_is_written() {
    let (dir, app) = app().await;
    for (name, text, expect) in [
        (
            "dup.csv",
            "email,given_name,Given name\na@example.com,A,B\n",
            "map to the same field",
        ),
        (
            "unknown.csv",
            "email,shoe_size\na@example.com,42\n",
            "not a field of the catalog",
        ),
        (
            "noemail.csv",
            "given_name,residency\nA,DE\n",
            "no email column",
        ),
        ("empty.csv", "", "no header row"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write");
        match run(&app, &file, &options(dir.path(), 10)).await {
            Err(AppError::Invalid(e)) => assert!(e[0].message.contains(expect), "{name}: {e:?}"),
            other => panic!("{name}: expected refusal, got {other:?}"),
        }
    }
    assert_eq!(app.count_customers().await.expect("count"), 0);
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
        .import_customers(&importer(), &file, &opts, |_| {
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
    assert_eq!(app.count_customers().await.expect("count"), 30);
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
        app.count_customers().await.expect("count"),
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
    assert_eq!(app.count_customers().await.expect("count"), 100 - bad);
    assert!(app.verify_audit().await.expect("verify").ok);
}
