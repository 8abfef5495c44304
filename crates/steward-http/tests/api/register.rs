//! The vendor register's console pages and the record of processing with its data map: each
//! page over real HTTP for the roles that read the register and refused to the others, and
//! the data map drawn in real headless Chromium. Expected names, countries and counts are read
//! from the application, never listed by hand.

use std::collections::BTreeSet;

use serde_json::json;
use steward_app::core::Role;
use steward_app::{ShareView, VendorView};
use uuid::Uuid;

use crate::console::{
    add_staff, assert_console_page, in_browser, screenshots, sign_in_with, staff_cookie,
};
use crate::portal::{Visitor, code_in, visible};
use crate::sharing::{agreement, processor, review, review_questions};
use crate::support::*;
use crate::webdriver::Browser;

const LEGAL: &str = "essential.legal_obligation";
const EMAIL: &str = "marketing.communications.email";

struct Register {
    vendors: Vec<VendorView>,
    /// Every country a vendor keeps or reads data in.
    countries: BTreeSet<String>,
    share: ShareView,
}

/// A US processor certified under the Data Privacy Framework, its sub-processor keeping data
/// in Switzerland and Germany, a German processor, agreements and reviews for both processors,
/// and a share to the German one of two customers, one of whom never consented.
async fn register(t: &TestApp) -> Register {
    let keeper = t
        .app
        .access(&t.operator.actor("register", &[LEGAL]), Some(LEGAL))
        .expect("keeper");
    let vendors = t.app.vendors();
    let mut us = processor("US");
    us["dpf"] = json!({"status": "active", "checked_on": "2026-02-27"});
    let us = vendors
        .create(&keeper, serde_json::from_value(us).expect("vendor"))
        .await
        .expect("US processor");
    let mut sub = processor("CH");
    sub["legal_name"] = json!("Alpenpost AG");
    sub["role"] = json!("sub_processor");
    sub["parent"] = json!(us.vendor.id);
    sub["stores_in"] = json!(["CH", "DE"]);
    vendors
        .create(&keeper, serde_json::from_value(sub).expect("vendor"))
        .await
        .expect("sub-processor");
    let mut de = processor("DE");
    de["legal_name"] = json!("Nordpost GmbH");
    let de = vendors
        .create(&keeper, serde_json::from_value(de).expect("vendor"))
        .await
        .expect("German processor");
    for v in [us.vendor.id, de.vendor.id] {
        t.app
            .agreements()
            .create(
                &keeper,
                serde_json::from_value(agreement(&v.to_string())).expect("agreement"),
            )
            .await
            .expect("agreement");
        vendors
            .review(
                &keeper,
                v,
                serde_json::from_value(review(&review_questions())).expect("review"),
            )
            .await
            .expect("review");
    }
    let setup = t.operator.actor("setup", &["essential.service"]);
    let agent = t.app.access(&setup, None).expect("access");
    let mut ids = Vec::new();
    for (email, consents) in [("ines@example.com", true), ("silent@example.com", false)] {
        let id = t
            .app
            .customers()
            .create(
                &agent,
                steward_app::CustomerInput {
                    fields: [("email".to_string(), email.to_string())]
                        .into_iter()
                        .collect(),
                    residency: "DE".into(),
                    tags: vec![],
                },
            )
            .await
            .expect("customer")
            .id;
        if consents {
            t.app
                .consent()
                .record(
                    &agent,
                    id,
                    steward_app::ConsentInput {
                        purpose: EMAIL.into(),
                        state: "given".into(),
                        notice_version: None,
                        method: Some("import".into()),
                        fields: Default::default(),
                    },
                    &steward_app::Evidence::default(),
                )
                .await
                .expect("consent");
        }
        ids.push(id);
    }
    let share = t
        .app
        .shares()
        .share(
            &keeper,
            steward_app::ShareInput {
                vendor_id: de.vendor.id,
                purpose: EMAIL.into(),
                fields: vec!["email".into()],
                customer_ids: Some(ids),
                segment_id: None,
                audience: None,
                delivery: Default::default(),
            },
        )
        .await
        .expect("share");
    let reader = t.operator.actor("read", &[]);
    let vendors = t.app.vendors().list(&reader).await.expect("vendors");
    let countries = vendors
        .iter()
        .flat_map(|v| v.vendor.countries_reached())
        .map(|c| c.to_string())
        .collect();
    let share = t.app.shares().get(&reader, share.id).await.expect("share");
    Register {
        vendors,
        countries,
        share,
    }
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_pages_show_vendors_agreements_shares_and_findings_to_their_readers() {
    let t = spawn_app().await;
    let r = register(&t).await;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo).await;
    add_staff(&t, "auditor@example.com", Role::Auditor).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let dpo = staff_cookie(&t, "dpo@example.com", uri.as_deref(), Some(LEGAL)).await;
    let auditor = staff_cookie(&t, "auditor@example.com", None, None).await;
    let agent = staff_cookie(&t, "agent@example.com", None, Some("essential.service")).await;
    let reader = t.operator.actor("read", &[]);
    let get = |path: String, cookie: String| {
        let t = &t;
        async move {
            t.req("GET", &path, None, &[("Cookie", cookie.as_str())], None)
                .await
        }
    };

    for cookie in [&dpo, &auditor] {
        let list = get("/console/vendors".into(), cookie.clone()).await;
        assert_console_page(&list, 200, "the vendor list");
        assert!(
            list.body.contains("href=\"/console/ropa\""),
            "the navigation leads to the record"
        );
        for v in &r.vendors {
            assert!(
                list.body
                    .contains(&format!("href=\"/console/vendors/{}\"", v.vendor.id)),
                "{} listed",
                v.vendor.legal_name
            );
            assert!(list.body.contains(&escaped(&v.vendor.legal_name)));
            if let Some(due) = v.next_review_due {
                assert!(
                    list.body.contains(&due.to_string()),
                    "next review of {}",
                    v.vendor.legal_name
                );
            }
        }
        assert!(
            list.body.contains("never reviewed: OVERDUE"),
            "the sub-processor was never reviewed"
        );
    }

    let us = r
        .vendors
        .iter()
        .find(|v| v.vendor.established_in.iter().any(|c| c.as_str() == "US"))
        .expect("the US processor");
    let one = get(
        format!("/console/vendors/{}", us.vendor.id),
        auditor.clone(),
    )
    .await;
    assert_console_page(&one, 200, "one vendor");
    let dpa = us.vendor.dpa.as_ref().expect("a contract");
    assert!(one.body.contains(&dpa.sha256) && one.body.contains(&dpa.version));
    let reviews = t
        .app
        .vendors()
        .reviews(&reader, us.vendor.id)
        .await
        .expect("reviews");
    assert!(one.body.contains(&escaped(&reviews[0].review.reviewer)));
    assert!(one.body.contains("id=\"vendor-agreement-table\""));
    assert!(one.body.contains("United States (US)"));
    assert!(
        one.body.contains("active (checked 2026-02-27)"),
        "the framework status"
    );
    for sub in r
        .vendors
        .iter()
        .filter(|v| v.vendor.parent == Some(us.vendor.id))
    {
        assert!(
            one.body
                .contains(&format!("href=\"/console/vendors/{}\"", sub.vendor.id)),
            "its sub-processor {}",
            sub.vendor.legal_name
        );
    }

    let agreements = get("/console/agreements".into(), dpo.clone()).await;
    assert_console_page(&agreements, 200, "the agreements");
    let purpose = t.app.catalog().purpose(EMAIL).expect("purpose");
    for a in t
        .app
        .agreements()
        .list(&reader, None)
        .await
        .expect("agreements")
    {
        assert!(
            agreements
                .body
                .contains(&format!("href=\"/console/vendors/{}\"", a.agreement.vendor))
        );
    }
    assert!(agreements.body.contains(&escaped(&purpose.name)));

    let shares = get("/console/shares".into(), dpo.clone()).await;
    assert_console_page(&shares, 200, "the shares");
    assert!(
        shares
            .body
            .contains(&format!("href=\"/console/shares/{}\"", r.share.id))
    );
    let share = get(format!("/console/shares/{}", r.share.id), auditor.clone()).await;
    assert_console_page(&share, 200, "one share");
    assert!(!r.share.excluded.is_empty(), "someone was left out");
    for (reason, n) in &r.share.excluded {
        assert!(
            share.body.contains(&format!(
                "<td>{}</td><td>{n}</td>",
                reason.replace('_', " ")
            )),
            "{reason}: {n} in {}",
            share.body
        );
    }
    assert!(
        !share.body.contains("ines@example.com"),
        "no personal value on the page"
    );

    let findings = get("/console/transfers".into(), auditor.clone()).await;
    assert_console_page(&findings, 200, "the adequacy findings");
    let table = t.app.transfers().adequacy(&reader).expect("table");
    for d in &table.decisions {
        assert!(
            findings.body.contains(&escaped(&d.decision.reference)),
            "{}",
            d.decision.reference
        );
    }

    // A name is text wherever it is shown, in the tables as in the drawing.
    let keeper = t
        .app
        .access(&t.operator.actor("register", &[LEGAL]), Some(LEGAL))
        .expect("keeper");
    let mut hostile = processor("DE");
    hostile["legal_name"] = json!("<script>alert(1)</script> Ltd");
    t.app
        .vendors()
        .create(&keeper, serde_json::from_value(hostile).expect("vendor"))
        .await
        .expect("vendor");
    let record = get("/console/ropa".into(), auditor.clone()).await;
    assert_console_page(&record, 200, "the record of processing");
    let list = get("/console/vendors".into(), auditor.clone()).await;
    for page in [&record, &list] {
        assert!(!page.body.contains("<script"), "{}", page.body);
        assert!(
            page.body.contains("script&#62;alert(1)") || page.body.contains("script&gt;alert(1)"),
            "shown as text"
        );
    }
    assert!(record.body.contains("<svg") && record.body.contains("<title id=\"datamap-title\">"));
    for p in t.app.catalog().purposes() {
        assert!(record.body.contains(&escaped(&p.name)), "{}", p.key);
    }
    let csv = get("/console/ropa/csv".into(), dpo.clone()).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    assert!(csv.body.starts_with("section,key,name,attribute,value"));
    let unknown = get("/console/ropa/pdf".into(), dpo.clone()).await;
    assert_console_page(&unknown, 404, "an unknown format");

    // The dashboard's vendors that need attention lead to their files.
    let dashboard = get("/console".into(), dpo.clone()).await;
    let attention = t.app.vendors().attention(&reader).await.expect("attention");
    assert!(
        !attention.is_empty(),
        "the sub-processor was never reviewed"
    );
    for v in &attention {
        assert!(
            dashboard
                .body
                .contains(&format!("href=\"/console/vendors/{}\"", v.vendor_id)),
            "{}",
            v.legal_name
        );
    }

    // Support never sees the register: no link, and each page refused.
    let dashboard = get("/console".into(), agent.clone()).await;
    assert!(!dashboard.body.contains("href=\"/console/vendors\""));
    for path in [
        "/console/vendors".to_string(),
        format!("/console/vendors/{}", us.vendor.id),
        "/console/agreements".into(),
        "/console/shares".into(),
        format!("/console/shares/{}", r.share.id),
        "/console/transfers".into(),
        "/console/ropa".into(),
        "/console/ropa/csv".into(),
    ] {
        let refused = get(path.clone(), agent.clone()).await;
        assert_console_page(&refused, 403, &path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_map_is_drawn_in_a_browser() {
    let t = spawn_app().await;
    let r = register(&t).await;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    let code = totp_now(&uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let vendor_ids: Vec<Uuid> = r.vendors.iter().map(|v| v.vendor.id).collect();
    let names: Vec<String> = r
        .vendors
        .iter()
        .map(|v| v.vendor.legal_name.clone())
        .collect();
    let countries = r.countries.clone();
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        sign_in_with(&b, &base, "dpo@example.com", Some(&code), LEGAL);
        assert!(b.text_has("#current-purpose", "Purpose"), "{}", b.url());
        b.click("a[href='/console/ropa']");
        assert!(b.arrives("/console/ropa"), "{}", b.url());
        let html = b.source().to_lowercase();
        assert!(!html.contains("<script"), "no script");
        assert!(!html.contains(" style="), "no inline style");

        let drawn = b.script(
            r#"
            const svg = document.querySelector('figure#datamap svg');
            if (!svg) return null;
            const box = svg.getBoundingClientRect();
            const nodes = column => [...svg.querySelectorAll(`g.node[data-column="${column}"]`)].map(g => {
                const r = g.getBoundingClientRect();
                return { key: g.dataset.key, text: g.textContent, width: r.width, height: r.height };
            });
            return {
                width: box.width, height: box.height,
                title: svg.querySelector('title') ? svg.querySelector('title').textContent : '',
                flows: svg.querySelectorAll('path.flow').length,
                categories: nodes('category'), purposes: nodes('purpose'),
                vendors: nodes('vendor'), countries: nodes('country'),
            };
            "#,
        );
        assert!(!drawn.is_null(), "the data map is on the page");
        assert!(drawn["width"].as_f64().unwrap_or(0.0) > 0.0, "{drawn}");
        assert!(drawn["height"].as_f64().unwrap_or(0.0) > 0.0, "{drawn}");
        assert_eq!(drawn["title"], "Data map");
        assert!(drawn["flows"].as_u64().unwrap_or(0) > 0, "{drawn}");
        let keys = |column: &str| -> BTreeSet<String> {
            drawn[column]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|n| n["width"].as_f64().unwrap_or(0.0) > 0.0 && n["height"].as_f64().unwrap_or(0.0) > 0.0)
                        .filter_map(|n| n["key"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            keys("vendors"),
            vendor_ids.iter().map(|id| format!("vendor:{id}")).collect::<BTreeSet<_>>(),
            "a drawn node per vendor"
        );
        assert_eq!(
            keys("countries"),
            countries.iter().map(|c| format!("country:{c}")).collect::<BTreeSet<_>>(),
            "a drawn node per country"
        );
        assert!(!keys("categories").is_empty() && !keys("purposes").is_empty());
        let vendor_text = drawn["vendors"].to_string();
        for name in &names {
            assert!(vendor_text.contains(name.as_str()), "{name} labelled");
        }
        assert!(b.exists("#flow-vendor-country"), "the same flows as a table");
        // Every label inside its box, and no two mechanism labels over one another.
        let faults = b.script(
            r#"
            const faults = [];
            const svg = document.querySelector('figure#datamap svg');
            for (const g of svg.querySelectorAll('g.node')) {
                const r = g.querySelector('rect').getBBox();
                for (const t of g.querySelectorAll('text')) {
                    const x = t.getBBox();
                    if (x.x < r.x || x.y < r.y || x.x + x.width > r.x + r.width || x.y + x.height > r.y + r.height) {
                        faults.push(`"${t.textContent}" outside its box`);
                    }
                }
            }
            const labels = [...svg.querySelectorAll('text.mechanism')].map(t => [t.textContent, t.getBBox()]);
            for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
                const [a, ra] = labels[i], [c, rc] = labels[j];
                const apart = ra.x + ra.width <= rc.x || rc.x + rc.width <= ra.x || ra.y + ra.height <= rc.y || rc.y + rc.height <= ra.y;
                if (!apart) faults.push(`"${a}" over "${c}"`);
            }
            return faults;
            "#,
        );
        assert_eq!(faults, json!([]), "the map's labels");
        b.screenshot(&shots, "data-map");
        b.click("#register-nav a[href='/console/vendors']");
        assert!(b.text_has("#vendor-table", &names[0]), "{}", b.url());
        b.screenshot(&shots, "vendors");
        b.click(&format!("#vendor-table a[href='/console/vendors/{}']", vendor_ids[0]));
        assert!(b.text_has("#review-table", "A. Privacy Officer"), "{}", b.url());
        b.screenshot(&shots, "vendor");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_and_the_export_say_who_received_the_customers_data() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let r = register(&t).await;
    let recipient = r
        .vendors
        .iter()
        .find(|v| v.vendor.id == r.share.vendor_id)
        .expect("the vendor shared with");
    let country = recipient.vendor.stores_in[0].name();
    let purpose = &t
        .app
        .catalog()
        .purpose(&r.share.purpose)
        .expect("purpose")
        .name;

    let mut shared = Visitor::new(&t);
    shared.ask_code("ines@example.com").await;
    let code = code_in(&smtp.wait_for(1)[0].body);
    let (_, page) = shared.enter(&code).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let section = page
        .body
        .split("id=\"recipients\"")
        .nth(1)
        .expect("a section on who received the data");
    let list = visible(section);
    for shown in [
        recipient.vendor.legal_name.as_str(),
        country,
        purpose.as_str(),
        "Contact details",
    ] {
        assert!(list.contains(shown), "{shown} in {list}");
    }
    assert!(list.contains("1 March 2026"), "when: {list}");
    assert!(!list.contains("user.contact"), "categories by name: {list}");
    for format in ["json", "csv"] {
        let export = shared.get(&format!("/portal/me/export.{format}")).await;
        assert_eq!(export.status, 200, "{}", export.body);
        assert!(
            export.body.contains(&recipient.vendor.legal_name),
            "{format} export names the recipient: {}",
            export.body
        );
    }

    let mut silent = Visitor::new(&t);
    silent.ask_code("silent@example.com").await;
    let code = code_in(&smtp.wait_for(2)[1].body);
    let (_, page) = silent.enter(&code).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"no-recipients\""), "{}", page.body);
    assert!(!page.body.contains(&recipient.vendor.legal_name));
}
