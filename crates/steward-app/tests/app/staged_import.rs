//! Imports started from the console: an upload held in memory, its columns mapped by a
//! person who sees only what their role and purpose allow, then run by the command line's
//! import, with its progress and rejects kept for the page.

use std::collections::HashMap;

use steward_app::import::IGNORE_COLUMN;
use steward_app::{AppError, CustomerQuery};

use crate::support::*;

/// A file as a browser sends it: a byte-order mark, CRLF line ends, a header the catalog does
/// not know ("Vorname"), one it knows by label ("Notes"), one to leave out ("Remarks"), a
/// quoted two-line cell, right-to-left text and a row with a bad address.
const FILE: &str = "\u{feff}E-Mail,Vorname,Notes,Remarks,residency\r\n\
    zoe.quist@example.org,Zoë,prefers calls,\"met at the fair\r\nstand 12\",DE\r\n\
    not-an-address,Bad,,left-out remark,DE\r\n\
    samir.haddad@example.org,\u{200F}سمير\u{200F},,another remark,FR\r\n";

fn mapping(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(h, k)| (h.to_string(), k.to_string()))
        .collect()
}

#[tokio::test]
async fn an_upload_is_mapped_previewed_by_purpose_and_imported_with_its_rejects() {
    let (home, app) = sqlite_app().await;
    let importer = operator(&app, "console-import", &["essential.service"]);
    let id = app
        .customers()
        .stage_import(&importer, FILE.as_bytes())
        .expect("stage");

    let staged = app
        .customers()
        .staged_import(&importer, id, "essential.service", &HashMap::new())
        .expect("preview");
    let suggested: Vec<(&str, &str)> = staged
        .columns
        .iter()
        .map(|c| (c.header.as_str(), c.suggested.as_str()))
        .collect();
    assert_eq!(
        suggested,
        [
            ("E-Mail", IGNORE_COLUMN),
            ("Vorname", IGNORE_COLUMN),
            ("Notes", "notes"),
            ("Remarks", IGNORE_COLUMN),
            ("residency", "residency"),
        ]
    );
    assert_eq!(
        staged.sample.len(),
        3,
        "three records, one of them two lines"
    );
    // Unmapped columns are not shown (nothing says what they hold), nor a field the purpose
    // does not need (notes serve support, not the service).
    assert_eq!(
        staged.sample[0],
        [None, None, None, None, Some("DE".to_string())]
    );

    // With the columns mapped, their cells are shown as the role and purpose allow.
    let mapped = app
        .customers()
        .staged_import(
            &importer,
            id,
            "essential.service",
            &mapping(&[("E-Mail", "email"), ("Vorname", "given_name")]),
        )
        .expect("preview");
    assert_eq!(mapped.columns[1].suggested, "given_name");
    assert_eq!(
        mapped.sample[2][..2],
        [
            Some("samir.haddad@example.org".to_string()),
            Some("\u{200F}سمير\u{200F}".to_string())
        ]
    );

    let bad = app.customers().check_staged_import(
        &importer,
        id,
        "essential.service",
        &mapping(&[("E-Mail", "email"), ("Vorname", "first_name")]),
    );
    let Err(AppError::Invalid(errors)) = bad else {
        panic!("an unknown field must be refused: {bad:?}");
    };
    assert_eq!(errors[0].field, "map.Vorname");

    let other = operator(&app, "someone-else", &["essential.service"]);
    assert!(matches!(
        app.customers()
            .staged_import(&other, id, "essential.service", &HashMap::new()),
        Err(AppError::NotFound)
    ));
    let support_agent = actor(&app, steward_core::Role::Agent);
    assert!(matches!(
        app.customers()
            .stage_import(&support_agent, FILE.as_bytes()),
        Err(AppError::Forbidden(_))
    ));

    let chosen = mapping(&[
        ("E-Mail", "email"),
        ("Vorname", "given_name"),
        ("Notes", IGNORE_COLUMN),
        ("Remarks", IGNORE_COLUMN),
    ]);
    app.customers()
        .check_staged_import(&importer, id, "essential.service", &chosen)
        .expect("a good mapping");
    let staged = app
        .customers()
        .claim_staged_import(
            &importer,
            id,
            "essential.service".into(),
            None,
            chosen.clone(),
        )
        .expect("claimed");
    // The page the console redirects to finds the import from the claim on, before it runs.
    let waiting = app.customers().import_run(&importer, id).expect("run");
    assert!(!waiting.finished, "{waiting:?}");
    app.customers()
        .run_staged_import(staged)
        .await
        .expect("import");
    let run = app.customers().import_run(&importer, id).expect("run");
    assert!(run.finished, "{run:?}");
    let progress = run.report.expect("report").progress;
    assert_eq!((progress.created, progress.rejected), (2, 1));
    let rejects = String::from_utf8(
        app.customers()
            .import_rejects(&importer, id)
            .expect("rejects"),
    )
    .expect("utf-8");
    assert!(rejects.starts_with("line,reason,residency\n"), "{rejects}");
    assert!(rejects.contains("\n4,fields.email"), "{rejects}");
    assert!(
        !rejects.contains("remark"),
        "a left-out column is not repeated: {rejects}"
    );

    let again = app.customers().claim_staged_import(
        &importer,
        id,
        "essential.service".into(),
        None,
        chosen,
    );
    assert!(matches!(again, Err(AppError::Invalid(_))), "claimed once");

    let found = app
        .customers()
        .list(
            &agent(&app),
            CustomerQuery {
                name: Some("zoe".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        found.items[0].fields.get("given_name").map(String::as_str),
        Some("Zoë")
    );
    assert!(!found.items[0].fields.contains_key("notes"));
    home.assert_no_plaintext(&[
        "zoe.quist",
        "met at the fair",
        "prefers calls",
        "samir.haddad",
    ])
    .await;
}
