//! The portal's personalization pages and the notice's "how personalization works": in real
//! headless Chromium, on both engines, a customer chooses a level (full only with the consent
//! ticked), sees and deletes what was worked out, allows it again, corrects what they told us
//! and reads why they see their offers; over plain HTTP, hostile input is refused in words and
//! changes nothing, an upheld objection keeps the level off, the level texts read plainly, and
//! the notice lists every rule of the catalog.

use jiff::{SignedDuration, Timestamp};
use steward_app::core::personalization::{Facets, Level, PROFILED};
use steward_app::core::readability::flesch_reading_ease;
use steward_app::{InteractionInput, READABLE_AT_LEAST};
use steward_store::testing::fresh_postgres;
use steward_testkit::smtp::SmtpServer;
use uuid::Uuid;

use crate::personalization::last_read_fields;
use crate::portal::{Visitor, code_in, seed, visible};
use crate::support::*;
use crate::webdriver::Browser;

const PAGE: &str = "/portal/me/personalization";

async fn in_browser<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("browser task")
}

/// Orders over the last months, `garden` most often: enough for the rules to work out a
/// favourite category and count the orders.
async fn orders(t: &TestApp, customer: Uuid) {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    for (days, category) in [
        (10, "garden"),
        (40, "garden"),
        (70, "books"),
        (100, "garden"),
    ] {
        let at: Timestamp = t
            .app
            .now()
            .checked_sub(SignedDuration::from_hours(24 * days))
            .expect("time");
        t.app
            .interactions()
            .add(
                &access,
                customer,
                InteractionInput {
                    kind: "order".into(),
                    occurred_at: Some(at),
                    summary: "an order".into(),
                    body: None,
                    facets: Facets {
                        categories: vec![category.into()],
                        ..Facets::default()
                    },
                },
            )
            .await
            .expect("order");
    }
}

async fn recompute(t: &TestApp) {
    let job = t.operator.actor("personalization", &[PROFILED]);
    t.app
        .personalization()
        .recompute(&job, |_| {})
        .await
        .expect("recompute");
}

/// The level the customer chose, as staff read it.
async fn chosen(t: &TestApp, customer: Uuid) -> Level {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    t.app
        .personalization()
        .level(&access, customer)
        .await
        .expect("level")
        .chosen
}

/// The `data-key` of each row the element `css` holds, in order.
fn keys_in(b: &Browser, css: &str) -> Vec<String> {
    let found = b.script(&format!(
        "return Array.from(document.querySelectorAll('{css} tr[data-key]')).map(r => r.dataset.key);"
    ));
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_chooses_full_with_consent_and_controls_what_was_worked_out_sqlite() {
    chooses_full_and_controls_what_was_worked_out(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_chooses_full_with_consent_and_controls_what_was_worked_out_postgres() {
    chooses_full_and_controls_what_was_worked_out(true).await;
}

async fn chooses_full_and_controls_what_was_worked_out(pg: bool) {
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail_on(&smtp.url(), db.as_ref().map(|d| d.url.clone())).await;
    let engine = if pg { "postgres" } else { "sqlite" };
    let grace = seed(&t, "grace@example.com").await;
    orders(&t, grace).await;
    // One offer more than the page shows, so what counted most pushed another out.
    let marketer = t
        .token(steward_app::core::Role::Marketer, &[PROFILED])
        .await;
    let offer = t
        .req(
            "POST",
            "/api/v1/offers",
            Some(&marketer),
            &[],
            Some(
                r#"{"key":"garden-seeds","title":"Seeds to sow","category":"garden","priority":2}"#,
            ),
        )
        .await;
    assert_eq!(offer.status, 201, "{}", offer.body);

    let base = format!("http://{}", t.addr);
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    let b = in_browser({
        let base = base.clone();
        move || {
            let b = Browser::start();
            b.goto(&format!("{base}/portal"));
            b.fill("#email", "grace@example.com");
            b.click("#send-code");
            assert!(b.shows("six-digit code"), "{}", b.source());
            b
        }
    })
    .await;
    let code = code_in(&smtp.wait_for(1).remove(0).body);
    let b = in_browser(move || {
        b.fill("#code", &code);
        b.click("#sign-in");
        assert!(b.shows("Everything we hold about you"), "{}", b.source());
        b.click("#personalization-link");
        assert!(b.arrives(PAGE), "{}", b.url());
        assert_eq!(b.text("#chosen"), "Off");
        // Full without the tick: refused in words.
        b.click("#level-full");
        b.click("#level-save");
        assert!(
            b.text_has("#message", "Your level has not changed"),
            "{}",
            b.source()
        );
        assert_eq!(b.text("#chosen"), "Off");
        b
    })
    .await;
    assert_eq!(
        chosen(&t, grace).await,
        Level::Off,
        "unticked, nothing changed"
    );

    let b = in_browser(move || {
        b.click("#level-full");
        b.click("#consent-profiling");
        b.click("#level-save");
        assert!(b.arrives(&format!("{PAGE}?done=level")), "{}", b.url());
        assert_eq!(b.text("#chosen"), "Full");
        // The change to full links the receipt of the consent it rests on.
        assert!(b.exists("#level-history .receipt"), "{}", b.source());
        b
    })
    .await;
    assert_eq!(chosen(&t, grace).await, Level::Full);

    recompute(&t).await;
    let b = in_browser(move || {
        b.goto(&format!("{base}{PAGE}"));
        let kept = keys_in(&b, "#attributes");
        assert!(
            kept.iter().any(|k| k == "favourite_category"),
            "{kept:?}: {}",
            b.source()
        );
        let row = b.text("#attribute-favourite_category");
        assert!(
            row.contains("Garden") && row.contains("We worked it out"),
            "{row}"
        );
        // Every button names what it acts on, so a list of the page's buttons (as screen
        // readers offer) tells the rows apart.
        let names = b.script(
            "return Array.from(document.querySelectorAll('main button')).map(x => x.textContent.trim());",
        );
        let names: Vec<String> = names
            .as_array()
            .expect("button names")
            .iter()
            .map(|n| n.as_str().expect("a name").to_string())
            .collect();
        let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
        assert!(names.len() > 2, "{names:?}");
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        b.click("#delete-favourite_category");
        assert!(b.arrives(&format!("{PAGE}?done=deleted")), "{}", b.url());
        assert!(!keys_in(&b, "#attributes").contains(&"favourite_category".to_string()));
        assert!(keys_in(&b, "#suppressed").contains(&"favourite_category".to_string()));
        (b, base)
    })
    .await;

    recompute(&t).await;
    let b = in_browser(move || {
        let (b, base) = b;
        b.goto(&format!("{base}{PAGE}"));
        assert!(
            !keys_in(&b, "#attributes").contains(&"favourite_category".to_string()),
            "still gone after another recompute: {}",
            b.source()
        );
        b.click("#allow-favourite_category");
        assert!(b.arrives(&format!("{PAGE}?done=allowed")), "{}", b.url());
        assert!(!b.exists("#allow-favourite_category"), "{}", b.source());
        (b, base)
    })
    .await;

    recompute(&t).await;
    let (b, base) = b;
    let b = in_browser({
        let shots = shots.clone();
        move || {
            b.goto(&format!("{base}{PAGE}"));
            assert!(
                keys_in(&b, "#attributes").contains(&"favourite_category".to_string()),
                "allowed again, worked out again: {}",
                b.source()
            );
            // What she told us: she likes books.
            b.click("#liked_categories-books");
            b.click("#correct-liked_categories-save");
            assert!(b.arrives(&format!("{PAGE}?done=corrected")), "{}", b.url());
            assert!(b.text_has("#attribute-liked_categories", "Books"));
            b.screenshot(&shots, &format!("personalization-{engine}"));
            b.click("#why-link");
            assert!(b.arrives("/portal/me/recommendations"), "{}", b.url());
            assert!(b.exists("#personalized"), "{}", b.source());
            assert!(b.exists("#basis-receipt"), "{}", b.source());
            assert!(b.exists("#significant-effect"));
            let used = keys_in(&b, "#why-attributes");
            let offers = b.text("#offers");
            let counterfactual = (
                b.text("#counterfactual-without"),
                b.text("#counterfactual-would-see"),
            );
            b.screenshot(&shots, &format!("why-you-see-this-{engine}"));
            b.goto(&format!("{base}/privacy#personalization"));
            assert!(b.exists("#personalization-rules"), "{}", b.source());
            b.screenshot(&shots, &format!("how-personalization-works-{engine}"));
            (used, offers, counterfactual)
        }
    })
    .await;
    let (used, offers, (without, would_see)) = b;
    let book = t.app.catalog().personalization();
    assert!(
        used.iter().any(|k| book.label(k) == Some(without.as_str())),
        "the counterfactual drops an attribute that was used: {without}"
    );
    assert!(
        !would_see.is_empty() && !offers.contains(&would_see),
        "{would_see} is not among {offers}"
    );
    assert!(
        used.iter().any(|k| k == "liked_categories")
            && used.iter().any(|k| k == "favourite_category"),
        "{used:?}"
    );
    assert_eq!(
        used,
        last_read_fields(&t, &grace.to_string()).await,
        "the page names exactly the attributes the audited read returned"
    );
    assert!(!offers.is_empty());
}

/// Signs `email` in to the portal and answers the visitor, on the personalization page.
async fn signed_in<'a>(t: &'a TestApp, smtp: &SmtpServer, email: &str) -> Visitor<'a> {
    let mut v = Visitor::new(t);
    v.ask_code(email).await;
    // Other mail (a request's acknowledgement) may come before or after the code.
    let started = std::time::Instant::now();
    let code = loop {
        let sent = smtp.messages();
        if let Some(m) = sent
            .iter()
            .find(|m| m.header("Subject") == Some("Your sign-in code"))
        {
            break code_in(&m.body);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no code came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let (to, _) = v.enter(&code).await;
    assert_eq!(to, "/portal/me");
    let page = v.get(PAGE).await;
    assert_eq!(page.status, 200, "{}", page.body);
    v
}

/// The value the page shows for the attribute `key`.
fn attribute_row(html: &str, key: &str) -> String {
    let row = html
        .split(&format!("id=\"attribute-{key}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row for {key}: {html}"));
    let value = row
        .split("<td>")
        .nth(1)
        .and_then(|v| v.split("</td>").next())
        .unwrap_or_default();
    visible(value).trim().to_string()
}

/// The text of each element with `class="level-text"`, entities decoded.
fn level_texts(html: &str) -> Vec<String> {
    html.split("class=\"level-text\"")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest.find("</span>")?;
            Some(
                rest[start..end]
                    .replace("&#x27;", "'")
                    .replace("&#39;", "'")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_said_in_words_and_change_nothing() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let grace = seed(&t, "grace@example.com").await;

    let away = t.req("GET", PAGE, None, &[], None).await;
    assert_eq!(
        (away.status, away.header("location")),
        (303, Some("/portal"))
    );

    let mut v = signed_in(&t, &smtp, "grace@example.com").await;
    let page = v.get(PAGE).await;
    for level in [Level::Off, Level::Basic, Level::Full] {
        assert!(
            page.body.contains(&format!("id=\"level-{level}\"")),
            "{level}"
        );
    }
    let texts = level_texts(&page.body);
    assert_eq!(texts.len(), 3, "{texts:?}");
    let score = flesch_reading_ease(&texts.join(" "));
    assert!(
        score >= READABLE_AT_LEAST,
        "the level explanations score {score}, below {READABLE_AT_LEAST}: {texts:?}"
    );

    let why = v.get("/portal/me/recommendations").await;
    assert_eq!(why.status, 200, "{}", why.body);
    assert!(
        why.body.contains("id=\"not-personalized\"") && why.body.contains("id=\"used-none\""),
        "{}",
        why.body
    );

    let unticked = v
        .post("/portal/me/personalization/level", &[("level", "full")])
        .await;
    assert_eq!(unticked.status, 409, "{}", unticked.body);
    assert!(
        visible(&unticked.body).contains("Your level has not changed"),
        "{}",
        unticked.body
    );
    assert_eq!(chosen(&t, grace).await, Level::Off);

    let odd = v
        .post(
            "/portal/me/personalization/level",
            &[("level", "everything")],
        )
        .await;
    assert_eq!(odd.status, 422, "{}", odd.body);
    assert!(visible(&odd.body).contains("Choose Off, Basic or Full."));

    let (to, _) = v
        .post_and_follow(
            "/portal/me/personalization/attributes/correct",
            &[("key", "liked_categories"), ("values", "books")],
        )
        .await;
    assert_eq!(to, format!("{PAGE}?done=corrected"));
    let overview = visible(&v.get("/portal/me").await.body);
    assert!(
        overview.contains("saved what you told us you like"),
        "the access history says it in words: {overview}"
    );
    assert!(!overview.contains("personalization."), "{overview}");
    v.get(PAGE).await;
    for hostile in ["books\r\nSet-Cookie: x=1", "\u{202E}skoob", "books\u{2066}"] {
        let refused = v
            .post(
                "/portal/me/personalization/attributes/correct",
                &[("key", "liked_categories"), ("values", hostile)],
            )
            .await;
        assert_eq!(refused.status, 422, "{hostile:?}: {}", refused.body);
        assert!(
            visible(&refused.body).contains("not one we sell"),
            "{}",
            refused.body
        );
        assert!(
            !refused.body.contains(hostile) && !refused.body.contains("skoob"),
            "what was sent is not repeated"
        );
        let row = attribute_row(&refused.body, "liked_categories");
        assert_eq!(row, "Books", "unchanged");
    }
    for (path, key) in [
        ("correct", "favourite_category"),
        ("delete", "no_such_attribute"),
        ("allow", "favourite\r\ncategory"),
    ] {
        let refused = v
            .post(
                &format!("/portal/me/personalization/attributes/{path}"),
                &[("key", key), ("values", "books")],
            )
            .await;
        assert_eq!(refused.status, 422, "{path} {key:?}: {}", refused.body);
        assert!(
            visible(&refused.body).contains("That is not something you can change here."),
            "{}",
            refused.body
        );
    }

    // A form from another site, without the session's token, changes nothing.
    for (path, fields) in [
        ("level", &[("level", "basic")][..]),
        (
            "attributes/correct",
            &[("key", "liked_categories"), ("values", "toys")][..],
        ),
        ("attributes/delete", &[("key", "liked_categories")][..]),
        ("attributes/allow", &[("key", "favourite_category")][..]),
    ] {
        let forged = v
            .post_forged(&format!("/portal/me/personalization/{path}"), fields)
            .await;
        assert_eq!(forged.status, 403, "{path}: {}", forged.body);
    }
    assert_eq!(chosen(&t, grace).await, Level::Off);
    assert_eq!(
        attribute_row(&v.get(PAGE).await.body, "liked_categories"),
        "Books"
    );

    // Without a session a post changes nothing and leads to the sign-in.
    let stranger = t
        .req(
            "POST",
            "/portal/me/personalization/level",
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("level=basic&csrf=x"),
        )
        .await;
    assert_eq!(
        (stranger.status, stranger.header("location")),
        (303, Some("/portal"))
    );
    assert_eq!(chosen(&t, grace).await, Level::Off);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_explains_personalization_rule_by_rule() {
    let t = spawn_app().await;
    let page = t.req("GET", "/privacy", None, &[], None).await;
    let section = page
        .body
        .split("id=\"personalization\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .unwrap_or_else(|| panic!("a #personalization section: {}", page.body))
        .to_string();
    let book = t.app.catalog().personalization();
    assert!(!book.rules.is_empty());
    for rule in &book.rules {
        assert!(
            section.contains(&format!("data-rule=\"{}\"", rule.key)),
            "{} in {section}",
            rule.key
        );
    }
    assert_eq!(
        section.matches("data-rule=").count(),
        book.rules.len(),
        "one row per rule"
    );
    let text = visible(&section);
    for level in Level::ALL {
        let words = level.describe();
        assert!(text.contains(words.what), "{level}: {text}");
    }
    let how = t.app.personalization().how_it_works();
    let score = section
        .split("id=\"personalization-readability\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .map(visible)
        .unwrap_or_else(|| panic!("the score's own line: {section}"));
    assert!(
        score.contains(&format!(": {:.0}", how.readability)),
        "the score is shown: {score}"
    );
    assert!(!page.body.to_lowercase().contains("<script"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_upheld_objection_the_level_falls_to_off_and_the_page_says_why() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let grace = seed(&t, "grace@example.com").await;
    let mut v = signed_in(&t, &smtp, "grace@example.com").await;
    let basic = v
        .post("/portal/me/personalization/level", &[("level", "basic")])
        .await;
    assert_eq!(basic.status, 303, "{}", basic.body);
    assert_eq!(chosen(&t, grace).await, Level::Basic);

    let dpo = t
        .token(
            steward_app::core::Role::Dpo,
            &["essential.legal_obligation"],
        )
        .await;
    let body = format!(
        r#"{{"type":"objection","channel":"email","customer_id":"{grace}","purpose":"{}"}}"#,
        steward_app::core::personalization::LIMITED
    );
    let request = t
        .req("POST", "/api/v1/requests", Some(&dpo), &[], Some(&body))
        .await;
    assert_eq!(request.status, 201, "{}", request.body);
    let id = request.json()["id"].as_str().expect("id").to_string();
    for step in ["verify", "complete"] {
        let r = t
            .req(
                "POST",
                &format!("/api/v1/requests/{id}/{step}"),
                Some(&dpo),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{step}: {}", r.body);
    }
    assert_eq!(
        chosen(&t, grace).await,
        Level::Off,
        "the upheld objection turned personalization off"
    );

    for fields in [
        &[("level", "basic")][..],
        &[("level", "full"), ("consent", "yes")][..],
    ] {
        let refused = v.post("/portal/me/personalization/level", fields).await;
        assert_eq!(refused.status, 403, "{fields:?}: {}", refused.body);
        let said = visible(&refused.body);
        assert!(said.contains("you objected"), "{said}");
        assert!(
            !said.contains("customer"),
            "said to her, not about her: {said}"
        );
    }
    assert_eq!(chosen(&t, grace).await, Level::Off);
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let consents = t
        .app
        .consent()
        .history(&access, grace)
        .await
        .expect("history");
    assert!(
        !consents
            .iter()
            .any(|e| e.purpose == steward_app::core::personalization::PROFILED),
        "a refused choice records no profiling consent: {consents:?}"
    );
}

/// The keys of the export's profile attributes whose source is `source`.
fn exported_keys(export: &str, source: &str) -> Vec<String> {
    let export: serde_json::Value = serde_json::from_str(export).expect("the export is JSON");
    export["personalization"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter(|a| a["source"] == source)
        .map(|a| a["key"].as_str().expect("key").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portability_download_leaves_out_what_was_worked_out() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let grace = seed(&t, "grace@example.com").await;
    orders(&t, grace).await;
    let mut v = signed_in(&t, &smtp, "grace@example.com").await;
    let full = v
        .post(
            "/portal/me/personalization/level",
            &[("level", "full"), ("consent", "yes")],
        )
        .await;
    assert_eq!(full.status, 303, "{}", full.body);
    recompute(&t).await;

    let me = v.get("/portal/me").await;
    assert!(
        me.body
            .contains("href=\"/portal/me/export.json?scope=portability\""),
        "the portal offers the portability download: {}",
        me.body
    );
    let access = v.get("/portal/me/export.json").await;
    assert_eq!(access.status, 200, "{}", access.body);
    let worked_out = exported_keys(&access.dechunked(), "inferred");
    assert!(
        !worked_out.is_empty(),
        "her orders were worked into something"
    );
    let portable = v.get("/portal/me/export.json?scope=portability").await;
    assert_eq!(portable.status, 200, "{}", portable.body);
    assert_eq!(
        exported_keys(&portable.dechunked(), "inferred"),
        Vec::<String>::new()
    );
    let bad = v.get("/portal/me/export.json?scope=everything").await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "scope");
}
