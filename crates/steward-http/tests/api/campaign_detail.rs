//! A campaign's own page and API: the audience count before sending, the preview (escaped,
//! no script), a test to the marketer's own address through a real SMTP server, a schedule,
//! and results; over the API, the refusals' codes.

use std::time::{Duration, Instant};

use steward_app::core::Role;
use steward_app::{CustomerInput, NewCampaign};
use steward_testkit::smtp::{ReceivedMail, SmtpServer};

use crate::console::{add_staff, in_browser, sign_in_for};
use crate::support::*;
use crate::webdriver::Browser;

const EMAIL: &str = "marketing.communications.email";
const BODY: &str = "Hello {{field:given_name|friend}} <script>alert(1)</script>";

/// `n` customers who consented to email marketing on import.
async fn consenting(t: &TestApp, n: usize) {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    for i in 0..n {
        let id = t
            .app
            .customers()
            .create(
                &access,
                CustomerInput {
                    fields: [
                        ("email".to_string(), format!("r{i}@example.com")),
                        ("given_name".to_string(), format!("Rue{i}")),
                    ]
                    .into_iter()
                    .collect(),
                    residency: "DE".into(),
                    tags: vec![],
                },
            )
            .await
            .expect("customer")
            .id;
        t.app
            .consent()
            .record(
                &access,
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
}

async fn draft(t: &TestApp) -> uuid::Uuid {
    let marketer = t
        .app
        .access(&t.operator.actor("setup", &[EMAIL]), Some(EMAIL))
        .expect("access");
    t.app
        .campaigns()
        .create(
            &marketer,
            NewCampaign {
                name: "Harvest".into(),
                purpose: EMAIL.into(),
                segment_id: None,
                filter: None,
                subject: "Apples are in".into(),
                body: BODY.into(),
            },
        )
        .await
        .expect("draft")
        .id
}

fn arrived(smtp: &SmtpServer, to: &str, subject: &str) -> Vec<ReceivedMail> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<ReceivedMail> = smtp
            .messages_to(to)
            .into_iter()
            .filter(|m| m.header("Subject") == Some(subject))
            .collect();
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketer_previews_tests_and_schedules_a_campaign_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    add_staff(&t, "mia@shop.test", Role::Marketer).await;
    consenting(&t, 3).await;
    let id = draft(&t).await;
    let base = format!("http://{}", t.addr);
    let later = t
        .app
        .now()
        .checked_add(jiff::SignedDuration::from_hours(26))
        .expect("time");
    let later_input = later.strftime("%Y-%m-%dT%H:%M").to_string();
    let later_shown = later.strftime("%Y-%m-%d %H:%M").to_string();
    let b = in_browser({
        let base = base.clone();
        move || {
            let b = Browser::start();
            sign_in_for(&b, &base, "mia@shop.test", EMAIL);
            b.goto(&format!("{base}/console/campaigns"));
            b.click(&format!("a[href='/console/campaigns/{id}']"));
            assert!(
                b.arrives(&format!("/console/campaigns/{id}")),
                "{}",
                b.url()
            );
            assert_eq!(
                b.text("#campaign-reach"),
                "3",
                "the audience before sending"
            );
            assert_eq!(b.text("#preview-subject"), "Apples are in");
            let shown = b.text("#preview-text");
            assert!(
                shown.contains("<script>alert(1)</script>"),
                "shown as text: {shown}"
            );
            assert!(
                ["Rue0", "Rue1", "Rue2"]
                    .iter()
                    .any(|n| shown.starts_with(&format!("Hello {n} "))),
                "filled for one of the audience: {shown}"
            );
            assert!(shown.contains("To stop, open this link"), "{shown}");
            let source = b.source();
            assert!(!source.contains("<script>alert"), "escaped in the page");
            assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
            b.click("#test-send");
            assert!(
                b.shows("A test is on its way to your own address"),
                "{}",
                b.source()
            );
            b
        }
    })
    .await;
    let tests = arrived(&smtp, "mia@shop.test", "[Test] Apples are in");
    assert_eq!(tests.len(), 1, "the test reached the SMTP server");
    assert!(
        tests[0].body.contains("Hello [given_name]"),
        "{}",
        tests[0].body
    );
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.header("X-RcptTo") == Some("mia@shop.test")),
        "to no one else"
    );
    let b = in_browser(move || {
        b.script(&format!(
            "document.getElementById('schedule-at').value = '{later_input}'; return 0;"
        ));
        b.click("#schedule");
        assert!(
            b.text_has(
                "#campaign-state",
                &format!("scheduled, for {later_shown} UTC")
            ),
            "{}",
            b.source()
        );
        b.click("#unschedule");
        assert!(b.text_has("#campaign-state", "draft"), "{}", b.source());
        b
    })
    .await;
    let view = t
        .app
        .campaigns()
        .get(&t.operator.actor("check", &[]), id)
        .await
        .expect("get");
    assert_eq!((view.state.as_str(), view.recipients), ("draft", 0));

    // Sent now, its results are drawn, with the numbers beside the chart.
    in_browser(move || {
        b.goto(&format!("{base}/console/campaigns/{id}/send"));
        b.click("#confirm-send");
        assert!(b.leaves(&format!("/console/campaigns/{id}/send")), "{}", b.url());
        b.goto(&format!("{base}/console/campaigns/{id}"));
        assert!(b.text_has("#campaign-state", "sent"), "{}", b.source());
        assert!(b.exists("#chart-campaign-results svg"), "{}", b.source());
        // The table's first row, each count under its column's name.
        let queued = b.script(
            "const heads = Array.from(document.querySelectorAll('#results-table thead th')).map(h => h.textContent);\
             const row = Array.from(document.querySelector('#results-table tbody tr').children).map(c => c.textContent);\
             return row[heads.indexOf('Queued')];",
        );
        assert_eq!(queued, "3", "three queued in the first hour");
    })
    .await;
    assert_eq!(arrived(&smtp, "r0@example.com", "Apples are in").len(), 1);
}

#[tokio::test]
async fn the_api_previews_schedules_refuses_and_counts() {
    let t = spawn_app().await;
    consenting(&t, 2).await;
    let id = draft(&t).await;
    let marketer = t.token(Role::Marketer, &[EMAIL]).await;
    let preview = t
        .req(
            "GET",
            &format!("/api/v1/campaigns/{id}/preview"),
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["filled_with"], "sample");
    assert!(
        preview.json()["text"]
            .as_str()
            .expect("text")
            .contains("<script>alert(1)</script>")
    );

    let schedule = |when: String| {
        let t = &t;
        let marketer = marketer.clone();
        async move {
            t.req(
                "PUT",
                &format!("/api/v1/campaigns/{id}/schedule"),
                Some(&marketer),
                &[],
                Some(&format!(r#"{{"scheduled_at":"{when}"}}"#)),
            )
            .await
        }
    };
    let past = schedule("2020-01-01T00:00:00Z".into()).await;
    assert_eq!(past.status, 422, "{}", past.body);
    assert_eq!(past.json()["code"], "SCHEDULE_IN_PAST");
    assert_eq!(past.json()["errors"][0]["field"], "scheduled_at");
    let bad = schedule("soon".into()).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["errors"][0]["field"], "scheduled_at");
    let soon = t
        .app
        .now()
        .checked_add(jiff::SignedDuration::from_mins(30))
        .expect("time");
    let ok = schedule(soon.to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["state"], "scheduled");
    let twice = schedule(soon.to_string()).await;
    assert_eq!(twice.json()["code"], "CAMPAIGN_NOT_DRAFT");

    let test = t
        .req(
            "POST",
            &format!("/api/v1/campaigns/{id}/test-send"),
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(test.status, 403, "{}", test.body);
    assert_eq!(test.json()["code"], "NO_OWN_ADDRESS");

    t.clock.advance(jiff::SignedDuration::from_hours(1));
    let sent = t.app.campaigns().send_due().await.expect("due");
    assert_eq!(sent, [id]);
    let results = t
        .req(
            "GET",
            &format!("/api/v1/campaigns/{id}/results"),
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(results.status, 200, "{}", results.body);
    let body = results.json();
    assert_eq!(body["bucket"], "hour");
    assert_eq!(body["buckets"].as_array().expect("buckets").len(), 1);
    assert_eq!(body["buckets"][0]["sent"], 2);
    let cancel = t
        .req(
            "DELETE",
            &format!("/api/v1/campaigns/{id}/schedule"),
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(cancel.json()["code"], "CAMPAIGN_NOT_SCHEDULED");
}
