//! Personalization in the console, in real headless Chromium: the privacy officer reads a
//! customer's level and attributes (the reading audited with exactly the attributes shown),
//! an agent sees the level but no attribute, and a marketer keeps the offer book through its
//! form, its refusals shown beside their inputs. A role that does not manage campaigns is
//! refused the offer book.

use std::collections::BTreeSet;

use steward_app::core::Role;

use crate::console::{
    PASSWORD, add_staff, assert_console_page, csrf_in, in_browser, post_form, screenshots,
    sign_in_with, staff_cookie,
};
use crate::support::*;
use crate::webdriver::Browser;

const PROFILED: &str = "personalize.content.profiled";
const DESK: &str = "essential.legal_obligation";
const SERVICE: &str = "essential.service";

/// A customer made over the API, with a name of their own.
async fn customer(t: &TestApp, agent: &str, email: &str) -> String {
    let body = format!(
        r#"{{"fields":{{"email":"{email}","given_name":"Ada","family_name":"Lovelace"}},"residency":"GB"}}"#
    );
    let made = t
        .req("POST", "/api/v1/customers", Some(agent), &[], Some(&body))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["id"].as_str().expect("id").to_string()
}

async fn set_level(t: &TestApp, agent: &str, id: &str, level: &str) {
    let set = t
        .req(
            "PUT",
            &format!("/api/v1/customers/{id}/personalization"),
            Some(agent),
            &[("X-Purpose", SERVICE)],
            Some(&format!(r#"{{"level":"{level}"}}"#)),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
}

/// The `attr:` fields of the newest `personalization.read` entry about `customer`.
async fn last_read(t: &TestApp, customer: &str) -> (String, BTreeSet<String>) {
    let auditor = t.token(Role::Auditor, &[]).await;
    let page = t
        .req(
            "GET",
            &format!("/api/v1/audit?action=personalization.read&target={customer}&limit=500"),
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let items = page.json()["items"].as_array().expect("items").clone();
    let newest = items.last().expect("the reading was audited").clone();
    let fields = newest["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f.as_str()?.strip_prefix("attr:").map(str::to_string))
        .collect();
    (
        newest["role"].as_str().unwrap_or_default().to_string(),
        fields,
    )
}

/// Ada, at full with her consent, who ordered garden things three times and told us she
/// likes books, her profile recomputed.
async fn ada_at_full(t: &TestApp, agent: &str, dpo: &str) -> String {
    let ada = customer(t, agent, "ada@example.com").await;
    let consent = t
        .req(
            "POST",
            &format!("/api/v1/customers/{ada}/consents"),
            Some(agent),
            &[("X-Purpose", SERVICE)],
            Some(&format!(r#"{{"purpose":"{PROFILED}","state":"given"}}"#)),
        )
        .await;
    assert_eq!(consent.status, 201, "{}", consent.body);
    set_level(t, agent, &ada, "full").await;
    for _ in 0..3 {
        let order = t
            .req(
                "POST",
                &format!("/api/v1/customers/{ada}/interactions"),
                Some(agent),
                &[],
                Some(r#"{"kind":"order","summary":"Order","facets":{"categories":["garden"]}}"#),
            )
            .await;
        assert_eq!(order.status, 201, "{}", order.body);
    }
    let declared = t
        .req(
            "PUT",
            &format!("/api/v1/customers/{ada}/attributes/liked_categories"),
            Some(dpo),
            &[("X-Purpose", DESK)],
            Some(r#"{"values":["books"]}"#),
        )
        .await;
    assert_eq!(declared.status, 204, "{}", declared.body);
    recompute(t).await;
    ada
}

async fn recompute(t: &TestApp) {
    t.app
        .personalization()
        .recompute(&t.operator.actor("test", &[PROFILED]), |_| {})
        .await
        .expect("recompute");
}

/// The keys of the attributes kept about `customer`, read as the privacy officer would.
async fn kept_keys(t: &TestApp, customer: &str) -> BTreeSet<String> {
    let desk = t.operator.actor("test", &[DESK]);
    let desk = t.app.access(&desk, Some(DESK)).expect("access");
    let id = uuid::Uuid::parse_str(customer).expect("id");
    t.app
        .personalization()
        .attributes(&desk, id)
        .await
        .expect("attributes")
        .into_iter()
        .map(|a| a.key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_a_customers_personalization_and_keep_the_offer_book_in_a_browser() {
    let t = spawn_app().await;
    let dpo_uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let agent = t.token(Role::Agent, &[SERVICE]).await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;

    // Ada chose full with her consent, ordered garden things and said she likes books;
    // Grace chose basic, Lin never chose.
    let ada = ada_at_full(&t, &agent, &dpo).await;
    let grace = customer(&t, &agent, "grace@example.com").await;
    set_level(&t, &agent, &grace, "basic").await;
    customer(&t, &agent, "lin@example.com").await;

    let ada_id = uuid::Uuid::parse_str(&ada).expect("id");
    let desk = t.operator.actor("test", &[DESK]);
    let desk = t.app.access(&desk, Some(DESK)).expect("access");
    let kept = t
        .app
        .personalization()
        .attributes(&desk, ada_id)
        .await
        .expect("attributes");
    let keys: BTreeSet<String> = kept.iter().map(|a| a.key.clone()).collect();
    assert!(
        keys.contains("favourite_category") && keys.contains("liked_categories"),
        "one derived, one declared: {keys:?}"
    );
    let counts = t
        .app
        .personalization()
        .level_counts()
        .await
        .expect("counts");
    assert_eq!(counts.total(), 3);

    let code = totp_now(&dpo_uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    let (shown, b) = in_browser({
        let (base, shots, ada, kept) = (base.clone(), shots.clone(), ada.clone(), kept.clone());
        move || {
            let b = Browser::start();
            sign_in_with(&b, &base, "dpo@example.com", Some(&code), DESK);
            assert!(b.arrives("/console/customers"), "{}", b.url());
            b.goto(&format!("{base}/console/customers/{ada}"));
            assert!(b.text_has("#level-chosen", "full"), "{}", b.source());
            assert!(b.text_has("#level-effective", "full"));
            assert!(
                b.text_has("#level-is-theirs", "staff cannot choose it for them"),
                "the page says the level is the customer's choice"
            );
            assert!(b.text_has("#level-history", "off"), "from off");
            assert!(!b.exists("main select[name=level]"), "no level to choose");
            let mut shown = BTreeSet::new();
            for a in &kept {
                let row = format!("#attribute-{}", a.key);
                assert!(
                    b.text_has(&row, &a.value.as_text()),
                    "{row} shows its value"
                );
                assert!(b.text_has(&row, &a.source.to_string()), "{row} its source");
                assert!(b.text_has(&row, &a.explanation), "{row} its explanation");
                if let (Some(rule), Some(v)) = (&a.rule_key, a.rule_version) {
                    assert!(
                        b.text_has(&row, &format!("{rule}, version {v}")),
                        "{row} its rule"
                    );
                }
                shown.insert(a.key.clone());
            }
            b.script("document.getElementById('personalization').scrollIntoView(); return null;");
            b.screenshot(&shots, "customer-personalization");
            (shown, b)
        }
    })
    .await;
    let (role, read) = last_read(&t, &ada).await;
    assert_eq!(role, "dpo", "the officer's page read them");
    assert_eq!(
        read, shown,
        "the reading audited exactly the attributes shown"
    );

    // An agent sees the level, not the attributes, and reading nothing is not audited as
    // reading them.
    let b = in_browser({
        let (base, ada) = (base.clone(), ada.clone());
        move || {
            b.delete_cookies();
            b.goto(&format!("{base}/console/login"));
            b.fill("#email", "agent@example.com");
            b.fill("#password", PASSWORD);
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/purpose"), "{}", b.url());
            b.click(&format!("input[value='{SERVICE}']"));
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/customers"), "{}", b.url());
            b.goto(&format!("{base}/console/customers/{ada}"));
            assert!(b.text_has("#level-chosen", "full"));
            assert!(b.exists("#attributes-elsewhere"), "{}", b.source());
            assert!(!b.exists("#attributes"));
            assert!(!b.source().contains("books"), "no attribute value");
            assert!(
                !b.exists("a[href='/console/offers']"),
                "no offer book in an agent's navigation"
            );
            b
        }
    })
    .await;
    assert_eq!(
        last_read(&t, &ada).await.0,
        "dpo",
        "no reading by the agent"
    );

    // The marketer keeps the offer book: refusals beside their inputs, then an offer added
    // and retired.
    let levels: Vec<(String, u64)> = steward_app::core::personalization::Level::ALL
        .iter()
        .map(|l| (l.describe().name.to_string(), counts.at(*l)))
        .collect();
    in_browser({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            b.delete_cookies();
            b.goto(&format!("{base}/console/login"));
            b.fill("#email", "marketer@example.com");
            b.fill("#password", PASSWORD);
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/purpose"), "{}", b.url());
            b.click("input[value='marketing.communications.email']");
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/campaigns"), "{}", b.url());
            b.click("a[href='/console/offers']");
            assert!(b.arrives("/console/offers"), "{}", b.url());
            for (name, n) in &levels {
                let cell = b.script(&format!(
                    "const r = [...document.querySelectorAll('#chart-personalization-levels tbody tr')]\
                     .find(r => r.querySelector('th').textContent === '{name}'); \
                     return r ? r.querySelector('td').textContent : '';"
                ));
                assert_eq!(cell, n.to_string(), "customers at {name}");
            }
            assert!(b.text_has("#offer-list", "garden-tools"), "the catalog's offers");

            b.fill("#o-key", "winter-boots");
            b.fill("#o-title", "Winter boots");
            b.fill("#o-priority", "soon");
            b.click("#new-offer button");
            assert!(b.text_has("#o-priority-error", "whole number"), "{}", b.source());
            assert_eq!(
                b.script("return document.getElementById('o-title').value;"),
                "Winter boots",
                "what was typed is kept"
            );
            b.fill("#o-key", "Winter Boots!");
            b.fill("#o-priority", "3");
            b.click("#new-offer button");
            assert!(b.text_has("#o-key-error", "lower-case"), "{}", b.source());
            assert_eq!(
                b.script("return document.activeElement.id;"),
                "o-key",
                "the refused input has the focus"
            );
            b.screenshot(&shots, "offer-refused");
            b.fill("#o-key", "winter-boots");
            b.script("document.getElementById('o-category').value = 'outdoor'; return null;");
            b.fill("#o-tags", "winter, boots");
            b.click("#new-offer button");
            assert!(b.text_has("#offer-winter-boots", "Winter boots"), "{}", b.source());
            assert!(b.text_has("#offer-winter-boots", "winter, boots"));
            b.click("#offer-winter-boots button");
            assert!(b.text_has("#offer-winter-boots", "retired"), "{}", b.source());
            b.screenshot(&shots, "offers");
        }
    })
    .await;
    let marketer = t.operator.actor("test", &[]);
    let offers = t
        .app
        .personalization()
        .offers(&marketer)
        .await
        .expect("offers");
    let boots = offers
        .iter()
        .find(|o| o.offer.key == "winter-boots")
        .expect("created through the form");
    assert_eq!(boots.offer.category.as_deref(), Some("outdoor"));
    assert!(boots.retired_at.is_some(), "retired through the form");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_does_not_manage_campaigns_is_refused_the_offer_book() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let marketer = t.operator.actor("test", &[]);
    let before = t
        .app
        .personalization()
        .offers(&marketer)
        .await
        .expect("offers")
        .len();
    let cookie = staff_cookie(&t, "agent@example.com", None, Some(SERVICE)).await;
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let page = t.req("GET", "/console/offers", None, &headers, None).await;
    assert_console_page(&page, 403, "the offer book for an agent");
    assert!(!page.body.contains("garden-tools"), "{}", page.body);
    let dashboard = t.req("GET", "/console", None, &headers, None).await;
    assert_console_page(&dashboard, 200, "the agent's dashboard");
    assert!(
        dashboard.body.contains("chart-personalization-levels"),
        "counts only, for everyone"
    );
    let csrf = csrf_in(&dashboard.body);
    let create = t
        .req(
            "POST",
            "/console/offers",
            None,
            &headers,
            Some(&format!("csrf={csrf}&key=agent-offer&title=Agent+offer")),
        )
        .await;
    assert_console_page(&create, 403, "an agent's offer");
    let retire = t
        .req(
            "POST",
            "/console/offers/garden-tools/retire",
            None,
            &headers,
            Some(&format!("csrf={csrf}")),
        )
        .await;
    assert_console_page(&retire, 403, "an agent retiring an offer");
    let after = t
        .app
        .personalization()
        .offers(&marketer)
        .await
        .expect("offers");
    assert_eq!(after.len(), before, "nothing added");
    assert!(
        after.iter().all(|o| o.retired_at.is_none()),
        "nothing retired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_officer_deletes_an_attribute_on_the_customers_word_and_it_stays_gone() {
    let t = spawn_app().await;
    let dpo_uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let agent = t.token(Role::Agent, &[SERVICE]).await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let ada = ada_at_full(&t, &agent, &dpo).await;
    assert!(kept_keys(&t, &ada).await.contains("favourite_category"));
    let page = format!("/console/customers/{ada}");
    let delete = format!("/console/customers/{ada}/attributes/favourite_category/delete");

    let agent_cookie = staff_cookie(&t, "agent@example.com", None, Some(SERVICE)).await;
    let refused = post_form(&t, &agent_cookie, &page, &delete, "").await;
    assert_console_page(&refused, 403, "an agent deleting an attribute");
    assert!(kept_keys(&t, &ada).await.contains("favourite_category"));

    let officer = staff_cookie(&t, "dpo@example.com", Some(&dpo_uri), Some(DESK)).await;
    let inferred_in = |query: &'static str| {
        let (t, officer, path) = (
            &t,
            &officer,
            format!("/console/customers/{ada}/export/json{query}"),
        );
        async move {
            let export = t
                .req("GET", &path, None, &[("Cookie", officer.as_str())], None)
                .await;
            assert_eq!(export.status, 200, "{path}: {}", export.body);
            let export: serde_json::Value =
                serde_json::from_str(&export.dechunked()).expect("the export is JSON");
            export["personalization"]["attributes"]
                .as_array()
                .expect("attributes")
                .iter()
                .filter(|a| a["source"] == "inferred")
                .count()
        }
    };
    assert!(
        inferred_in("").await > 0,
        "the access export carries inferences"
    );
    assert_eq!(
        inferred_in("?scope=portability").await,
        0,
        "the portability export leaves them out"
    );
    let deleted = post_form(&t, &officer, &page, &delete, "").await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(!kept_keys(&t, &ada).await.contains("favourite_category"));
    recompute(&t).await;
    let kept = kept_keys(&t, &ada).await;
    assert!(
        !kept.contains("favourite_category") && kept.contains("liked_categories"),
        "not derived again, and nothing else deleted: {kept:?}"
    );
    let shown = t
        .req("GET", &page, None, &[("Cookie", officer.as_str())], None)
        .await;
    assert_console_page(&shown, 200, "the customer's page");
    assert!(!shown.body.contains("id=\"attribute-favourite_category\""));
    assert!(shown.body.contains("id=\"attribute-liked_categories\""));
}
