//! Companies in real headless Chromium, as a support agent works them: a company made with
//! its owner chosen by display name, two customers linked to it from their own pages, both
//! listed on the company's page with links back to them.

use steward_app::CustomerInput;
use steward_app::core::Role;

use crate::console::{add_staff, in_browser, sign_in_for};
use crate::support::*;
use crate::webdriver::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_makes_a_company_sets_its_owner_and_links_two_customers_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "bob@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let bob = t
        .app
        .accounts()
        .list_users(&setup)
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.email == "bob@example.com")
        .expect("bob")
        .id;
    t.app
        .accounts()
        .rename(&setup, bob, "Bob Builder")
        .await
        .expect("named");
    let access = t.app.access(&setup, None).expect("access");
    let mut customers = Vec::new();
    for (email, given) in [("gwen@example.com", "Gwen"), ("hugo@example.com", "Hugo")] {
        customers.push(
            t.app
                .customers()
                .create(
                    &access,
                    CustomerInput {
                        fields: [
                            ("email".to_string(), email.to_string()),
                            ("given_name".to_string(), given.to_string()),
                            ("family_name".to_string(), "Lovelace".to_string()),
                        ]
                        .into_iter()
                        .collect(),
                        residency: "GB".into(),
                        tags: vec![],
                    },
                )
                .await
                .expect("customer")
                .id,
        );
    }
    let base = format!("http://{}", t.addr);

    let company = in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        b.click("#nav-companies");
        assert!(b.arrives("/console/companies"), "{}", b.url());
        assert!(b.text_has("#no-companies", "No company"));
        b.click("#new-company");
        assert!(b.arrives("/console/companies/new"), "{}", b.url());
        b.click("#save-company");
        // An empty name is refused by the browser's own check; one of spaces by ours.
        b.fill("#c-name", "   ");
        b.click("#save-company");
        assert!(
            b.text_has("#c-name-error", "must not be empty"),
            "{}",
            b.source()
        );
        b.fill("#c-name", "Lovelace Engines");
        b.fill("#c-domain", "https://lovelace.example");
        b.script(&format!(
            "document.getElementById('c-owner').value = '{bob}'; \
             document.getElementById('c-country').value = 'GB'; return null;"
        ));
        b.fill("#c-tags", "b2b, engines");
        b.click("#save-company");
        assert!(
            b.text_has("#c-domain-error", "domain name"),
            "{}",
            b.source()
        );
        b.fill("#c-domain", "lovelace.example");
        b.click("#save-company");
        assert!(
            b.text_has("#company-owner", "Bob Builder"),
            "{}",
            b.source()
        );
        assert!(b.text_has("#company-domain", "lovelace.example"));
        assert!(b.text_has("#no-members", "No customer"));
        let company = b.url().rsplit('/').next().expect("company id").to_string();

        for customer in &customers {
            b.goto(&format!("{base}/console/customers/{customer}"));
            assert!(b.text_has("#customer-company", "no company"), "{}", b.url());
            b.script(&format!(
                "document.getElementById('company-choice').value = '{company}'; return null;"
            ));
            b.click("#save-company-link");
            assert!(b.arrives("#company"), "{}", b.url());
            assert!(b.text_has("#customer-company", "Lovelace Engines"));
        }
        b.click("#customer-company a");
        assert!(
            b.arrives(&format!("/console/companies/{company}")),
            "{}",
            b.url()
        );
        assert!(b.text_has("#member-table", "Gwen Lovelace"));
        assert!(b.text_has("#member-table", "Hugo Lovelace"));
        b.click("#member-table a");
        assert!(
            b.arrives(&format!("/console/customers/{}", customers[0])),
            "{}",
            b.url()
        );

        b.click("#nav-companies");
        assert!(b.text_has("#company-table", "Lovelace Engines"));
        assert!(b.text_has("#company-table", "Bob Builder"));
        assert!(b.text_has("#total", "1 in all"));
        b.click("#company-table th a[href*='sort=owner']");
        assert!(
            b.text_has("#company-table", "Lovelace Engines"),
            "{}",
            b.url()
        );
        company
    })
    .await;
    let id = company.parse().expect("company id");
    let view = t.app.companies().get(&setup, id).await.expect("company");
    assert_eq!(view.members, 2);
    assert_eq!(view.owner, Some(bob));
    assert_eq!(view.tags, ["b2b", "engines"]);
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
