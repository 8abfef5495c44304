//! The breach register over HTTP and in the console: the 72-hour clock with a fixed clock, a
//! late notification refused without its reasons, phases appended, the countdown on the
//! console and in /metrics, and the authority's notification to print.

use jiff::SignedDuration;
use serde_json::{Value, json};
use steward_app::core::Role;

use crate::console::{add_staff, in_browser, screenshots, sign_in_with};
use crate::support::*;
use crate::webdriver::Browser;

const LEGAL: &str = "essential.legal_obligation";

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_is_due_soon_at_71_hours_and_overdue_at_73() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &[]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let purpose = [("X-Purpose", LEGAL)];
    let aware = t.app.now();
    let opened = t
        .req(
            "POST",
            "/api/v1/breaches",
            Some(&dpo),
            &purpose,
            Some(&serde_json::to_string(&breach_input(aware)).expect("json")),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let b = json_of(&opened.body);
    let id = b["id"].as_str().expect("id").to_owned();
    assert_eq!(b["clock"], "running");
    assert_eq!(b["checklist"].as_array().map(Vec::len), Some(5));

    let path = format!("/api/v1/breaches/{id}");
    t.clock.advance(SignedDuration::from_hours(71));
    let at_71 = json_of(&t.req("GET", &path, Some(&auditor), &[], None).await.body);
    assert_eq!(at_71["clock"], "due_soon");
    t.clock.advance(SignedDuration::from_hours(2));
    let at_73 = json_of(&t.req("GET", &path, Some(&auditor), &[], None).await.body);
    assert_eq!(at_73["clock"], "overdue");
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert!(
        metrics.body.contains("steward_breaches_overdue 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains(&format!(
            "steward_breach_hours_left{{breach=\"{id}\"}} -1.00"
        )),
        "{}",
        metrics.body
    );

    let notified_at = t.app.now();
    let late = json!({
        "risk": "risk",
        "risk_reasoning": "Addresses may be used for phishing.",
        "authority": {"notify": true, "notified_at": notified_at, "authorities": ["CNIL"]}
    });
    let mut headers = vec![("X-Purpose", LEGAL), ("If-Match", "\"1\"")];
    let refused = t
        .req(
            "PATCH",
            &path,
            Some(&dpo),
            &headers,
            Some(&late.to_string()),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let problem = json_of(&refused.body);
    assert_eq!(problem["errors"][0]["field"], "authority.delay_reason");

    let mut with_reason = late.clone();
    with_reason["authority"]["delay_reason"] = json!("The scope took a day to establish.");
    let decided = t
        .req(
            "PATCH",
            &path,
            Some(&dpo),
            &headers,
            Some(&with_reason.to_string()),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(json_of(&decided.body)["clock"], "decided");
    headers[1] = ("If-Match", "\"1\"");
    let stale = t
        .req(
            "PATCH",
            &path,
            Some(&dpo),
            &headers,
            Some(r#"{"title":"x"}"#),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);

    let phases = format!("{path}/phases");
    for text in [
        "First: a laptop was stolen.",
        "Second: the disk was encrypted.",
    ] {
        let added = t
            .req(
                "POST",
                &phases,
                Some(&dpo),
                &purpose,
                Some(&json!({"text": text, "sent_to_authority": true}).to_string()),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let read = json_of(&t.req("GET", &path, Some(&auditor), &[], None).await.body);
    let texts: Vec<&str> = read["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "First: a laptop was stolen.",
            "Second: the disk was encrypted."
        ]
    );

    let notice = t
        .req(
            "GET",
            &format!("{path}/authority-notice"),
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(notice.status, 200);
    assert!(notice.headers["content-type"].starts_with("text/markdown"));
    for said in [
        "Support laptop stolen",
        "Reasons for the delay",
        "The scope took a day to establish.",
        "Second: the disk was encrypted.",
        "Ada Lovelace <dpo@shop.test>",
    ] {
        assert!(notice.body.contains(said), "{said} in {}", notice.body);
    }

    let undecided = t
        .req(
            "POST",
            &format!("{path}/customer-notices"),
            Some(&dpo),
            &purpose,
            Some(r#"{"dry_run":true}"#),
        )
        .await;
    assert_eq!(undecided.status, 409, "{}", undecided.body);
    assert_eq!(json_of(&undecided.body)["code"], "CUSTOMERS_NOT_TO_BE_TOLD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_countdown_checklist_and_phases_in_a_browser() {
    let t = spawn_app().await;
    let keeper = t
        .app
        .access(&t.operator.actor("setup", &[LEGAL]), None)
        .expect("keeper");
    let aware = t.app.now();
    let b = t
        .app
        .breaches()
        .open(&keeper, breach_input(aware))
        .await
        .expect("open");
    t.clock.advance(SignedDuration::from_hours(60));
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    let code = totp_now(&uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let id = b.breach.id;
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        sign_in_with(&b, &base, "dpo@example.com", Some(&code), LEGAL);
        b.click("nav a[href='/console']");
        assert!(b.text_has("#open-breaches", "12 h left"), "the dashboard's countdown");
        b.click("a[href='/console/breaches']");
        assert!(b.arrives("/console/breaches"), "{}", b.url());
        assert!(b.text_has("#breaches", "12 h left"));
        assert!(b.text_has("#plan-steps", "Revoke access and rotate keys."));
        b.click(&format!("a[href='/console/breaches/{id}']"));
        assert!(b.text_has("#clock-h", "12 h left"));
        let bar = b.script(
            "const r = document.querySelectorAll('#clock svg rect')[1]; return r ? r.getBoundingClientRect().width : 0;",
        );
        assert!(bar.as_f64().unwrap_or(0.0) > 0.0, "the elapsed part of the bar is drawn");
        b.click("li[data-step='contain'] button");
        assert!(b.text_has("li[data-step='contain']", "Done"), "{}", b.source());
        b.fill("#phase-text", "The thief was caught;\nthe laptop is back.");
        b.click("#phase-form button[type=submit]");
        assert!(b.text_has("#phase-list", "the laptop is back."));
        b.fill("#phase-text", "   ");
        b.script("document.querySelector('#phase-text').removeAttribute('required');");
        b.click("#phase-form button[type=submit]");
        assert!(b.exists("#phase-refused"), "an empty phase is sent back");
        b.script(
            "document.querySelector('#scope-from').value = '2026-02-28T00:00'; \
             document.querySelector('#scope-to').value = '2026-03-04T00:00';",
        );
        b.click("#scope-form button[type=submit]");
        assert!(b.text_has("#scope-result", "0 (0 audit entries)"), "{}", b.source());
        assert!(b.text_has("#scope-result", "possible: no key is marked compromised"));
        b.click("#authority-notice-link");
        assert!(b.text_has("#authority-notice", "Notification of a personal data breach"));
        assert!(b.text_has("#authority-notice", "The thief was caught;"));
        b.screenshot(&shots, "breach-notice");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_the_breach_reached_is_told_and_reads_it_in_the_portal() {
    use crate::portal::{Visitor, code_in, seed};

    let smtp = steward_testkit::smtp::SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let start = t.app.now();
    let told = seed(&t, "told@example.com").await;
    seed(&t, "spared@example.com").await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{told}"),
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    t.clock.advance(SignedDuration::from_mins(5));
    let end = t.app.now();

    let dpo = t.token(Role::Dpo, &[]).await;
    let purpose = [("X-Purpose", LEGAL)];
    let mut input = serde_json::to_value(breach_input(end)).expect("json");
    input["risk"] = json!("high");
    input["risk_reasoning"] = json!("Customer records were read by a stolen token.");
    input["customer_decision"] = json!({"notify": true});
    let opened = t
        .req(
            "POST",
            "/api/v1/breaches",
            Some(&dpo),
            &purpose,
            Some(&input.to_string()),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let id = json_of(&opened.body)["id"].as_str().expect("id").to_owned();
    let scope = t
        .req(
            "POST",
            &format!("/api/v1/breaches/{id}/scope"),
            Some(&dpo),
            &purpose,
            Some(&json!({"from": start, "to": end, "actions": ["customer.read"]}).to_string()),
        )
        .await;
    assert_eq!(scope.status, 200, "{}", scope.body);
    let found = json_of(&scope.body);
    assert_eq!(found["customers"], 1, "{found}");
    assert!(
        found.get("affected").is_none(),
        "ids stay with the breach: {found}"
    );
    let bad = t
        .req(
            "POST",
            &format!("/api/v1/breaches/{id}/scope"),
            Some(&dpo),
            &purpose,
            Some(&json!({"from": end, "to": start}).to_string()),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(json_of(&bad.body)["errors"][0]["field"], "to");

    let run = t
        .req(
            "POST",
            &format!("/api/v1/breaches/{id}/customer-notices"),
            Some(&dpo),
            &purpose,
            Some(r#"{"dry_run":false}"#),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(json_of(&run.body)["queued"], 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while smtp.messages_to("told@example.com").is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(smtp.messages_to("told@example.com").len(), 1);
    assert!(smtp.messages_to("spared@example.com").is_empty());

    let mut visitor = Visitor::new(&t);
    visitor.ask_code("told@example.com").await;
    let code = loop {
        let codes: Vec<String> = smtp
            .messages_to("told@example.com")
            .into_iter()
            .map(|m| m.body)
            .filter(|b| b.contains("data: "))
            .collect();
        if let Some(body) = codes.last() {
            break code_in(body);
        }
        assert!(std::time::Instant::now() < deadline + std::time::Duration::from_secs(10));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let (_, page) = visitor.enter(&code).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Security incidents that concerned you"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("About a security incident"),
        "{}",
        page.body
    );
}
