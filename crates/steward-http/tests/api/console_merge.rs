//! Merging two duplicates in the console, in real headless Chromium: the duplicate found by
//! its email typed into the form, the dry run shown, the merge confirmed, and the duplicate's
//! old page leading to the survivor.

use steward_app::core::Role;
use steward_app::{ConsentInput, CustomerInput, Evidence, InteractionInput};

use crate::console::{add_staff, in_browser, screenshots, sign_in_for};
use crate::support::*;
use crate::webdriver::Browser;

fn customer(fields: &[(&str, &str)], tags: &[&str]) -> CustomerInput {
    CustomerInput {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        residency: "GB".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_merge_two_duplicates_in_the_console_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let survivor = t
        .app
        .customers()
        .create(
            &access,
            customer(
                &[("given_name", "Ada"), ("family_name", "Lovelace")],
                &["vip"],
            ),
        )
        .await
        .expect("survivor")
        .id;
    let duplicate = t
        .app
        .customers()
        .create(
            &access,
            customer(
                &[
                    ("given_name", "Augusta"),
                    ("email", "ada.duplicate@example.com"),
                    ("company", "Analytical Engines"),
                ],
                &["newsletter"],
            ),
        )
        .await
        .expect("duplicate")
        .id;
    t.app
        .interactions()
        .add(
            &access,
            duplicate,
            InteractionInput {
                kind: "note".into(),
                occurred_at: None,
                summary: "Asked about the difference engine".into(),
                body: None,
                facets: Default::default(),
            },
        )
        .await
        .expect("note");
    t.app
        .consent()
        .record(
            &access,
            duplicate,
            ConsentInput {
                purpose: "marketing.communications.sms".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await
        .expect("consent");
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        assert!(b.text_has("#current-purpose", "Purpose"), "{}", b.url());

        // Naming the customer itself is refused beside the input, and nothing happens.
        b.goto(&format!("{base}/console/customers/{survivor}"));
        b.fill("#merge-other", &survivor.to_string());
        b.click("#merge-preview");
        assert!(
            b.text_has("#merge-other-error", "cannot be merged into itself"),
            "{}",
            b.source()
        );

        // The duplicate named by its email: the dry run shows what Ada would hold.
        b.fill("#merge-other", "ada.duplicate@example.com");
        b.click("#merge-preview");
        assert!(b.exists("#merged-fields"), "{}", b.source());
        assert!(!b.url().contains("ada.duplicate"), "no address in the URL");
        assert!(b.text_has("#merge-rules", "survivor's value wins"));
        assert!(b.text_has("#merged-fields", "Ada"));
        assert!(b.text_has("#merged-fields", "ada.duplicate@example.com"));
        assert!(b.text_has("#merged-fields", "Analytical Engines"));
        assert!(b.text_has("#merged-tags", "newsletter, vip"));
        assert!(b.text_has("#merged-moves", "1 interaction moves"));
        assert!(b.text_has("#merged-consents", "the duplicate's"));
        b.screenshot(&shots, "merge-dry-run");

        b.click("#confirm-merge");
        assert!(
            b.arrives(&format!("/console/customers/{survivor}?merged=done")),
            "{}",
            b.url()
        );
        assert!(b.text_has("#merge-notice", "was merged into this customer"));
        assert!(b.text_has("#customer-name", "Ada Lovelace"));
        assert!(b.text_has("#interaction-list", "Asked about the difference engine"));
        b.screenshot(&shots, "merged");

        // The duplicate's old page leads to the survivor.
        b.goto(&format!("{base}/console/customers/{duplicate}"));
        assert!(
            b.arrives(&format!("/console/customers/{survivor}?merged=into")),
            "{}",
            b.url()
        );
        assert!(b.text_has("#merge-notice", "merged into this one"));
    })
    .await;
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
