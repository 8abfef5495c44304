//! The customer list in real headless Chromium, as a support agent works it: sorted by a
//! column header (the order read back against the one the test recorded), paged by number,
//! saved as a view and brought back by it, and twenty customers tagged at once from a selection.

use std::collections::BTreeSet;

use jiff::ToSpan;
use steward_app::core::Role;
use steward_app::{CustomerInput, CustomerQuery, InteractionInput};
use uuid::Uuid;

use crate::console::{add_staff, in_browser, sign_in_for, sign_in_with};
use crate::support::*;
use crate::webdriver::Browser;

const CUSTOMERS: usize = 60;

/// The ids of the rows of the page's table, top to bottom.
fn row_ids(b: &Browser) -> Vec<String> {
    let ids = b.script(
        "return Array.from(document.querySelectorAll('#customer-table tbody tr')).map(r => r.dataset.id);",
    );
    ids.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sorts_pages_and_tags_twenty_customers_at_once_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let base_time = t.app.now();
    let mut last: Vec<(Option<jiff::Timestamp>, Uuid)> = Vec::new();
    for i in 0..CUSTOMERS {
        // Shuffled: neither creation order nor email order says who interacted last.
        let k = (i * 37) % CUSTOMERS;
        let id = t
            .app
            .customers()
            .create(
                &access,
                CustomerInput {
                    fields: [
                        ("email".to_string(), format!("c{k}@example.org")),
                        ("given_name".to_string(), "Kim".to_string()),
                    ]
                    .into_iter()
                    .collect(),
                    residency: ["DE", "FR", "NL"][k % 3].into(),
                    tags: Vec::new(),
                },
            )
            .await
            .expect("create")
            .id;
        let mut at = None;
        if !k.is_multiple_of(4) {
            let when = base_time.checked_sub((k as i64).hours()).expect("time");
            t.app
                .interactions()
                .add(
                    &access,
                    id,
                    InteractionInput {
                        kind: "call".into(),
                        occurred_at: Some(when),
                        summary: "Called".into(),
                        body: None,
                        facets: Default::default(),
                    },
                )
                .await
                .expect("interaction");
            at = Some(when);
        }
        last.push((at, id));
    }
    last.sort();
    let latest_first: Vec<String> = last.iter().rev().map(|(_, id)| id.to_string()).collect();
    let base = format!("http://{}", t.addr);

    let selected = in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        assert!(b.arrives("/console/customers"), "{}", b.url());
        assert!(b.text_has("#total", &format!("{CUSTOMERS} in all")));
        assert!(b.text_has("#total", "page 1 of 3"));

        // The header sorts going up, then, clicked again, going down.
        b.click("th a[href*='sort=last_interaction&']");
        assert!(b.arrives("sort=last_interaction&page=1"), "{}", b.url());
        b.click("th a[href*='sort=-last_interaction&']");
        assert!(b.arrives("sort=-last_interaction&page=1"), "{}", b.url());
        assert_eq!(
            b.script(
                "return document.querySelector('th[aria-sort=descending]').textContent.trim();"
            )
            .as_str()
            .unwrap_or_default(),
            "Last interaction ↓"
        );
        assert_eq!(row_ids(&b), latest_first[..25]);
        // Page 2 by its number, then the last page by Next.
        b.click("nav.pages a[href$='page=2']");
        assert!(b.arrives("sort=-last_interaction&page=2"), "{}", b.url());
        assert_eq!(row_ids(&b), latest_first[25..50]);
        assert!(b.text_has("nav.pages a[aria-current=page]", "2"));
        b.click("nav.pages a[rel=next]");
        assert!(b.arrives("page=3"), "{}", b.url());
        assert_eq!(row_ids(&b), latest_first[50..]);

        // The order is saved as a view of the agent's own, and brings the list back.
        b.fill("#view-name", "Latest first");
        b.click("#save-view-button");
        assert!(b.arrives("sort=-last_interaction&page=1"), "{}", b.url());
        b.goto(&format!("{base}/console/customers"));
        assert_eq!(b.text("#views a"), "Latest first");
        b.click("#views a");
        assert!(b.arrives("sort=-last_interaction&page=1"), "{}", b.url());
        assert_eq!(row_ids(&b), latest_first[..25]);
        b.fill("#view-name", "Latest first");
        b.click("#save-view-button");
        assert!(
            b.text_has("#view-name-error", "a view with this name already"),
            "{}",
            b.source()
        );

        // Twenty customers of the first page are tagged in one go.
        b.click("nav.pages a[href$='page=1']");
        assert!(b.arrives("page=1"), "{}", b.url());
        let ids = row_ids(&b);
        for id in &ids[..20] {
            b.click(&format!("#select-{id}"));
        }
        b.fill("#bulk-tag", "Spring-Sale");
        b.click("#bulk button[type=submit]");
        assert!(b.arrives("/console/customers?retagged=20"), "{}", b.url());
        assert!(b.text_has("#notice", "The tags of 20 customers were changed."));
        ids[..20].to_vec()
    })
    .await;

    let selected: BTreeSet<String> = selected.into_iter().collect();
    let all = t
        .app
        .customers()
        .list(
            &access,
            CustomerQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let tagged: BTreeSet<String> = all
        .items
        .iter()
        .filter(|c| c.tags.contains(&"spring-sale".to_string()))
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(tagged, selected);
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_officer_exports_and_erases_a_selection_in_a_browser() {
    let t = spawn_app().await;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a privacy officer has a second factor");
    let code = totp_now(&uri, t.app.now());
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    for k in [5, 2, 9, 7, 1, 3] {
        t.app
            .customers()
            .create(
                &access,
                CustomerInput {
                    fields: [
                        ("email".to_string(), format!("sel{k}@example.org")),
                        ("given_name".to_string(), "Noor".to_string()),
                    ]
                    .into_iter()
                    .collect(),
                    residency: "NL".into(),
                    tags: Vec::new(),
                },
            )
            .await
            .expect("create");
    }
    let base = format!("http://{}", t.addr);
    let (chosen, csrf, cookies) = in_browser(move || {
        let b = Browser::start();
        sign_in_with(
            &b,
            &base,
            "dpo@example.com",
            Some(&code),
            "essential.legal_obligation",
        );
        b.goto(&format!("{base}/console/customers"));
        let ids = row_ids(&b);
        assert_eq!(ids.len(), 6);
        let chosen = vec![ids[1].clone(), ids[3].clone(), ids[4].clone()];
        for id in &chosen {
            b.click(&format!("#select-{id}"));
        }
        b.click("#bulk-action option[value='erase']");
        b.click("#bulk button[type=submit]");
        assert!(b.text_has("#confirm-erase-selection", "Erase 3 customers"));
        b.click("#confirm-erase-selection");
        assert!(b.arrives("erased_many=3&gone=0&held=0"), "{}", b.url());
        assert!(b.text_has("#notice", "3 customers were erased"));
        assert_eq!(row_ids(&b).len(), 3);
        let csrf = b
            .script("return document.querySelector('#bulk input[name=csrf]').value")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cookies = ["steward_session", "steward_purpose"]
            .map(|name| format!("{name}={}", b.cookie(name).expect("a session cookie")))
            .join("; ");
        (chosen, csrf, cookies)
    })
    .await;
    for id in &chosen {
        let id: Uuid = id.parse().expect("id");
        assert!(t.app.rights().is_erased(id).await.expect("erased?"));
    }
    let left: Vec<String> = t
        .app
        .customers()
        .list(&access, CustomerQuery::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(left.len(), 3);

    // The rest exported as the bulk form posts it: a download of exactly those customers,
    // with the fields the legal obligation needs.
    let body = format!(
        "csrf={csrf}&action=export&tag=&{}",
        left.iter()
            .map(|id| format!("ids={id}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let reply = t
        .req(
            "POST",
            "/console/customers/bulk",
            None,
            &[
                ("Cookie", &cookies),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &format!("http://{}", t.addr)),
            ],
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.headers["content-disposition"].contains("attachment"),
        "{:?}",
        reply.headers
    );
    let exported: BTreeSet<&str> = reply
        .body
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert_eq!(exported, left.iter().map(String::as_str).collect());
    assert!(reply.body.contains("@example.org"), "{}", reply.body);
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gives_customers_owners_and_sorts_and_filters_by_owner_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "bea@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let members = t.app.staff().members(&setup).await.expect("members");
    let id_of = |email_start: &str| {
        members
            .iter()
            .find(|m| m.display_name.starts_with(email_start))
            .map(|m| m.id)
            .expect("member")
    };
    let (al, bea) = (id_of("agent"), id_of("bea"));
    // Names whose order is not the accounts' order of making.
    for (id, name) in [(al, "Zoe Agent"), (bea, "Bea Berg")] {
        t.app
            .accounts()
            .rename(&setup, id, name)
            .await
            .expect("named");
    }
    for i in 0..9 {
        let k = (i * 4) % 9;
        t.app
            .customers()
            .create(
                &access,
                CustomerInput {
                    fields: [
                        ("email".to_string(), format!("own{k}@example.org")),
                        ("given_name".to_string(), format!("Pat{k}")),
                    ]
                    .into_iter()
                    .collect(),
                    residency: "DE".into(),
                    tags: Vec::new(),
                },
            )
            .await
            .expect("create");
    }
    let base = format!("http://{}", t.addr);

    let (to_bea, to_me) = in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        assert!(b.arrives("/console/customers"), "{}", b.url());
        let ids = row_ids(&b);
        assert_eq!(ids.len(), 9);
        // Three to Bea, chosen from the list.
        for id in &ids[..3] {
            b.click(&format!("#select-{id}"));
        }
        b.click("#bulk-action option[value='owner']");
        b.click(&format!("#bulk-owner option[value='{bea}']"));
        b.click("#bulk button[type=submit]");
        assert!(b.arrives("/console/customers?reassigned=3"), "{}", b.url());
        assert!(b.text_has("#notice", "3 customers have another owner."));
        // Two to the agent, who is chosen first.
        for id in &ids[5..7] {
            b.click(&format!("#select-{id}"));
        }
        b.click("#bulk-action option[value='owner']");
        b.click("#bulk button[type=submit]");
        assert!(b.arrives("/console/customers?reassigned=2"), "{}", b.url());

        // Sorted by the owner's name: Bea's, then Zoe's, then no one's, each by id.
        b.click("th a[href*='sort=owner&']");
        assert!(b.arrives("sort=owner&page=1"), "{}", b.url());
        let mut want_bea = ids[..3].to_vec();
        want_bea.sort_by_key(|id| Uuid::parse_str(id).expect("id"));
        let mut want_me = ids[5..7].to_vec();
        want_me.sort_by_key(|id| Uuid::parse_str(id).expect("id"));
        let mut no_one: Vec<String> = ids[3..5].iter().chain(&ids[7..]).cloned().collect();
        no_one.sort_by_key(|id| Uuid::parse_str(id).expect("id"));
        let expected: Vec<String> = want_bea
            .iter()
            .chain(&want_me)
            .chain(&no_one)
            .cloned()
            .collect();
        assert_eq!(row_ids(&b), expected);
        assert!(b.text_has("#customer-table tbody tr:first-child", "Bea Berg"));

        // Filtered to the agent's own.
        b.click("#owner option[value='me']");
        b.click("form[action='/console/customers'] button[type=submit]");
        assert!(b.arrives("created_before="), "{}", b.url());
        assert!(b.url().contains("owner=me"), "{}", b.url());
        let mut mine = row_ids(&b);
        mine.sort_by_key(|id| Uuid::parse_str(id).expect("id"));
        assert_eq!(mine, want_me);

        // On a customer's page the owner is named, and changed to no one.
        b.goto(&format!("{base}/console/customers/{}", want_bea[0]));
        assert_eq!(b.text("#owner-name"), "Bea Berg");
        b.click("#owner-select option[value='none']");
        b.click("#owner-save");
        assert!(b.arrives("#owner"), "{}", b.url());
        assert_eq!(b.text("#owner-name"), "no one");
        (want_bea, want_me)
    })
    .await;

    let all = t
        .app
        .customers()
        .list(
            &access,
            CustomerQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    for c in &all.items {
        let id = c.id.to_string();
        let want = if to_bea[1..].contains(&id) {
            Some(bea)
        } else if to_me.contains(&id) {
            Some(al)
        } else {
            None
        };
        assert_eq!(c.owner.as_ref().map(|o| o.id), want, "{id}");
    }
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
