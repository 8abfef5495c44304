//! The demo data set: a published privacy notice covering every purpose, in plain words, so
//! that the public pages have one to show and consents name the version they were given under.

use steward_app::core::Role;
use steward_app::{ConsentInput, DEMO_NOTICE_VERSION, Evidence};

use crate::support::*;

#[tokio::test]
async fn the_demo_publishes_a_plain_notice_that_consents_then_name() {
    let (_dir, app) = app().await;
    assert!(app.notices().current().await.expect("read").is_none());
    assert_eq!(
        app.load_demo().await.expect("demo"),
        steward_app::demo::DEMO_CUSTOMERS
    );
    let notice = app
        .notices()
        .current()
        .await
        .expect("read")
        .expect("the demo publishes a notice");
    assert_eq!(notice.version, DEMO_NOTICE_VERSION);
    for p in app.catalog().purposes() {
        let summary = notice
            .summaries
            .get(&p.key)
            .unwrap_or_else(|| panic!("no summary for {}", p.key));
        assert!(
            !summary.hard_to_read,
            "{}: {} scores {}",
            p.key, summary.why, summary.readability
        );
    }

    let agent = agent(&app);
    let someone = app
        .customers()
        .list(&agent, Default::default())
        .await
        .expect("list")
        .items
        .remove(0);
    let given = app
        .consent()
        .record(
            &access(&app, Role::Agent, "essential.service"),
            someone.id,
            ConsentInput {
                purpose: "marketing.communications.sms".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("portal".into()),
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await
        .expect("consent");
    assert_eq!(given.notice_version.as_deref(), Some(DEMO_NOTICE_VERSION));

    // Loading again changes nothing, the notice included.
    assert_eq!(app.load_demo().await.expect("again"), 0);
    assert_eq!(app.notices().list().await.expect("notices").len(), 1);
}

#[tokio::test]
async fn purposes_an_operator_adds_get_a_summary_from_the_catalog() {
    let extra = "[[purpose]]\nkey = \"loyalty.points\"\nname = \"Loyalty points\"\ndescription = \"We count your points so you get rewards.\"\nlawful_basis = \"contract\"\nrequires_consent = false\n\n[[field]]\nkey = \"loyalty_number\"\nlabel = \"Loyalty card number\"\ncategory = \"user.account\"\nsensitivity = \"standard\"\nkind = \"text\"\nmax_length = 20\npurposes = [\"loyalty.points\"]\n";
    let dir = Home::new().await;
    let app = steward_app::Steward::open(steward_app::OpenOptions {
        catalog: steward_app::core::Catalog::from_sources(&[
            ("default", steward_app::core::catalog::DEFAULT_CATALOG),
            ("extra", extra),
        ])
        .expect("catalog"),
        ..dir.options(clock())
    })
    .await
    .expect("open");
    app.load_demo().await.expect("demo");
    let notice = app
        .notices()
        .current()
        .await
        .expect("read")
        .expect("published");
    let loyalty = &notice.summaries["loyalty.points"];
    assert_eq!(loyalty.collected, "Your loyalty card number.");
    assert_eq!(loyalty.why, "We count your points so you get rewards.");
}
