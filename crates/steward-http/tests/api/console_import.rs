//! Importing a CSV file in the console, in real headless Chromium: uploaded, its columns
//! mapped with the first rows shown as the role and purpose allow, imported with the page
//! following its progress, and the refused rows downloaded.

use steward_app::core::Role;
use steward_app::{CustomerQuery, NewUser};

use crate::console::{PASSWORD, in_browser, sign_in_with};
use crate::support::*;
use crate::webdriver::Browser;

/// A file as a spreadsheet exports it: a byte-order mark, CRLF line ends, a header the
/// catalog does not know ("Vorname"), a column to leave out with a two-line cell, and a row
/// whose address is not one.
const FILE: &str = "\u{feff}E-Mail,Vorname,Remarks,residency\r\n\
    zoe.quist@example.org,Zoë,\"met at the fair\r\nstand 12\",\r\n\
    not-an-address,Bad,left-out remark,FR\r\n\
    samir.haddad@example.org,\u{200F}سمير\u{200F},,FR\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_uploads_maps_and_imports_a_csv_file_in_a_browser() {
    let t = spawn_app().await;
    let uri = t
        .app
        .accounts()
        .add_user(
            &t.operator.actor("setup", &[]),
            NewUser {
                email: "admin@example.com".into(),
                role: Role::Admin,
                password: PASSWORD.into(),
                purposes: vec!["essential.service".into()],
            },
        )
        .await
        .expect("user")
        .totp_uri
        .expect("an admin has a second factor");
    let code = totp_now(&uri, t.app.now());
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("people.csv");
    std::fs::write(&file, FILE).expect("write");
    let base = format!("http://{}", t.addr);
    let (link, cookies) = in_browser(move || {
        let b = Browser::start();
        sign_in_with(
            &b,
            &base,
            "admin@example.com",
            Some(&code),
            "essential.service",
        );
        b.goto(&format!("{base}/console/customers"));
        b.click("#import-link");
        assert!(b.arrives("/console/import"), "{}", b.url());
        b.attach("#import-file", &file);
        b.fill("#import-residency", "DE");
        b.click("#import-upload button[type=submit]");
        assert!(b.exists("#import-columns"), "{}", b.source());
        // The address column's header names no field, so nothing says what it holds: its
        // cells are not shown until it is mapped.
        assert!(!b.shows("zoe.quist@example.org"));
        assert_eq!(
            b.script("return document.getElementById('col3').value"),
            "residency"
        );

        b.click("#col0 option[value='email']");
        b.click("#col1 option[value='given_name']");
        b.click("#import-preview");
        assert!(b.text_has("#import-columns", "zoe.quist@example.org"));
        assert!(
            !b.shows("met at the fair"),
            "a left-out column is not shown"
        );
        assert!(!b.url().contains("example.org"), "{}", b.url());

        b.click("#import-start");
        assert!(
            b.appears("#import-summary", std::time::Duration::from_secs(60)),
            "{}",
            b.source()
        );
        assert_eq!(b.text("#import-created"), "2");
        assert_eq!(b.text("#import-rejected"), "1");
        let link =
            b.script("return document.getElementById('import-rejects').getAttribute('href')");
        let cookies = ["steward_session", "steward_purpose"]
            .map(|name| format!("{name}={}", b.cookie(name).expect("a session cookie")))
            .join("; ");
        (link.as_str().unwrap_or_default().to_string(), cookies)
    })
    .await;
    let reply = t
        .req("GET", &link, None, &[("Cookie", &cookies)], None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rejects = reply.body;
    assert!(rejects.starts_with("line,reason,residency\n"), "{rejects}");
    assert!(rejects.contains("\n4,fields.email"), "{rejects}");
    assert!(
        !rejects.contains("remark") && !rejects.contains("not-an-address"),
        "{rejects}"
    );

    let setup = t.operator.actor("check", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let zoe = t
        .app
        .customers()
        .list(
            &access,
            CustomerQuery {
                email: Some("zoe.quist@example.org".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(zoe.items.len(), 1);
    assert_eq!(zoe.items[0].residency, "DE", "the default residency");
    assert_eq!(
        zoe.items[0].fields.get("given_name").map(String::as_str),
        Some("Zoë")
    );
}
