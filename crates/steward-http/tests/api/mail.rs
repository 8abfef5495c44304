//! Email end to end: a real SMTP server on loopback, the real server on a real port, and
//! real headless Chromium following the links customers receive. Double opt-in, a campaign,
//! and unsubscribing by browser and by RFC 8058 one-click POST.

use steward_app::CustomerInput;
use steward_app::core::Role;
use steward_testkit::smtp::{ReceivedMail, SmtpServer};

use crate::support::*;
use crate::webdriver::Browser;

const EMAIL: &str = "marketing.communications.email";

async fn seed(t: &TestApp, email: &str) -> uuid::Uuid {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let input = CustomerInput {
        fields: [("email", email), ("given_name", "Grace")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        residency: "DE".into(),
        tags: vec!["vip".into()],
    };
    t.app
        .customers()
        .create(&access, input)
        .await
        .expect("seed")
        .id
}

async fn reach(t: &TestApp, marketer: &str) -> u64 {
    let reply = t
        .req(
            "POST",
            "/api/v1/audiences",
            Some(marketer),
            &[],
            Some(&format!(r#"{{"purpose":"{EMAIL}"}}"#)),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["count"].as_u64().expect("count")
}

/// How many customers an agent finds by this address.
async fn on_file(t: &TestApp, agent: &str, email: &str) -> usize {
    let found = t
        .req(
            "GET",
            &format!("/api/v1/customers?email={}", email.replace('@', "%40")),
            Some(agent),
            &[],
            None,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    found.json()["items"].as_array().expect("items").len()
}

/// Waits (boundedly) until the SMTP server holds a message to `to` that matches.
async fn mail_to(smtp: &SmtpServer, to: &str, subject: &str) -> ReceivedMail {
    for _ in 0..400 {
        if let Some(m) = smtp
            .messages_to(to)
            .into_iter()
            .find(|m| m.header("Subject").is_some_and(|s| s.contains(subject)))
        {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message {subject:?} to {to}");
}

async fn in_browser<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("browser task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_opt_in_campaign_and_unsubscribe_through_smtp_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let marketer = t.token(Role::Marketer, &[EMAIL]).await;
    let grace = seed(&t, "grace@example.com").await;
    let alan = seed(&t, "alan@example.com").await;

    // Grace signs up for the newsletter: recorded as requested, a confirmation goes out.
    for id in [grace, alan] {
        let reply = t
            .req(
                "POST",
                &format!("/api/v1/customers/{id}/consents"),
                Some(&agent),
                &[],
                Some(&format!(
                    r#"{{"purpose":"{EMAIL}","state":"given","method":"form","notice_version":"2026-01"}}"#
                )),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.json()["state"], "requested");
    }
    assert_eq!(reach(&t, &marketer).await, 0, "nobody until they confirm");
    let base = format!("http://{}", t.addr);
    let confirm = mail_to(&smtp, "grace@example.com", "Please confirm")
        .await
        .link(&format!("{base}/consent/confirm/"))
        .expect("confirmation link");
    let alan_confirm = mail_to(&smtp, "alan@example.com", "Please confirm")
        .await
        .link(&format!("{base}/consent/confirm/"))
        .expect("confirmation link");

    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mail-screenshots");
    let (b, link) = in_browser({
        let shots = shots.clone();
        move || {
            let b = Browser::start();
            b.goto(&confirm);
            assert!(b.shows("Confirm: Marketing emails"), "{}", b.source());
            b.screenshot(&shots, "confirm");
            b.click("#act");
            assert!(b.shows("Confirmed"), "{}", b.source());
            b.screenshot(&shots, "confirmed");
            (b, confirm)
        }
    })
    .await;
    assert_eq!(
        reach(&t, &marketer).await,
        1,
        "confirmed by following the link"
    );
    let b = in_browser(move || {
        b.goto(&link);
        assert!(b.shows("This link no longer works"), "single use");
        b
    })
    .await;
    // Alan confirms too, by a POST as a mail client's one click would send it.
    let path = alan_confirm.trim_start_matches(&base).to_string();
    assert_eq!(t.req("POST", &path, None, &[], None).await.status, 200);
    assert_eq!(reach(&t, &marketer).await, 2);

    // A campaign to both, each message with its own one-click unsubscribe.
    let created = t
        .req(
            "POST",
            "/api/v1/campaigns",
            Some(&marketer),
            &[],
            Some(&format!(
                r#"{{"name":"Spring","purpose":"{EMAIL}","filter":{{"tags":["vip"]}},"subject":"Spring news","body":"Hello from the shop."}}"#
            )),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let campaign = created.json()["id"].as_str().expect("id").to_string();
    let sent = t
        .req(
            "POST",
            &format!("/api/v1/campaigns/{campaign}/send"),
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json()["recipients"], 2);
    let to_grace = mail_to(&smtp, "grace@example.com", "Spring news").await;
    let to_alan = mail_to(&smtp, "alan@example.com", "Spring news").await;
    for m in [&to_grace, &to_alan] {
        assert_eq!(
            m.header("List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(m.body.contains("Hello from the shop."));
    }
    let header = |m: &ReceivedMail| {
        m.header("List-Unsubscribe")
            .expect("List-Unsubscribe")
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    };
    let grace_leaves = header(&to_grace);
    assert_eq!(
        to_grace.link(&format!("{base}/unsubscribe/")),
        Some(grace_leaves.clone())
    );

    // Grace unsubscribes in the browser; Alan's mail client sends the one-click POST.
    in_browser(move || {
        b.goto(&grace_leaves);
        assert!(b.shows("Unsubscribe: Marketing emails"), "{}", b.source());
        b.click("#act");
        assert!(b.shows("You are unsubscribed"), "{}", b.source());
        b.screenshot(&shots, "unsubscribed");
    })
    .await;
    let one_click = t
        .req(
            "POST",
            header(&to_alan).trim_start_matches(&base),
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("List-Unsubscribe=One-Click"),
        )
        .await;
    assert_eq!(one_click.status, 200, "{}", one_click.body);
    assert_eq!(reach(&t, &marketer).await, 0, "both withdrew");
    let history = t
        .req(
            "GET",
            &format!("/api/v1/customers/{grace}/consents/history"),
            Some(&agent),
            &[],
            None,
        )
        .await
        .json();
    let states: Vec<(&str, &str)> = history
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap_or(""),
                e["method"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("requested", "form"),
            ("given", "form"),
            ("withdrawn", "unsubscribe")
        ]
    );

    // The campaign log: both delivered, both left.
    let mut log = serde_json::Value::Null;
    for _ in 0..200 {
        log = t
            .req(
                "GET",
                &format!("/api/v1/campaigns/{campaign}"),
                Some(&marketer),
                &[],
                None,
            )
            .await
            .json()["log"]
            .clone();
        if log["sent"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (&log["sent"], &log["failed"], &log["unsubscribed"]),
        (
            &serde_json::json!(2),
            &serde_json::json!(0),
            &serde_json::json!(2)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audience_export_streams_only_the_purposes_fields() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let marketer = t.token(Role::Marketer, &[EMAIL]).await;
    for n in 0..3 {
        let id = seed(&t, &format!("p{n}@example.com")).await;
        let reply = t
            .req(
                "POST",
                &format!("/api/v1/customers/{id}/consents"),
                Some(&agent),
                &[],
                Some(&format!(
                    r#"{{"purpose":"{EMAIL}","state":"given","method":"import"}}"#
                )),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let reply = t
        .req(
            "POST",
            "/api/v1/audiences/export",
            Some(&marketer),
            &[],
            Some(&format!(r#"{{"purpose":"{EMAIL}"}}"#)),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<serde_json::Value> = reply
        .dechunked()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let needed: Vec<String> = t
        .app
        .catalog()
        .fields()
        .iter()
        .filter(|f| f.needed_for(EMAIL))
        .map(|f| f.key.clone())
        .collect();
    for l in &lines {
        let fields = l["fields"].as_object().expect("fields");
        assert!(fields.contains_key("email"));
        assert!(fields.keys().all(|k| needed.contains(k)), "{fields:?}");
    }
    let bad = t
        .req(
            "POST",
            "/api/v1/audiences/export",
            Some(&marketer),
            &[],
            Some(&format!(
                r#"{{"purpose":"{EMAIL}","filter":{{"residency":["Narnia"]}}}}"#
            )),
        )
        .await
        .problem(422);
    assert_eq!(bad["errors"][0]["field"], "filter.residency[0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_signs_up_through_the_public_form_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let marketer = t.token(Role::Marketer, &[EMAIL]).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let base = format!("http://{}", t.addr);
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mail-screenshots");
    let b = in_browser({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            let b = Browser::start();
            b.goto(&format!("{base}/forms/newsletter"));
            assert!(b.shows("Stay in touch"), "{}", b.source());
            assert!(b.exists("input[type=checkbox]"), "choices are offered");
            assert!(
                !b.exists("input[type=checkbox]:checked"),
                "and none is ticked"
            );
            assert!(!b.source().to_lowercase().contains("<script"));
            assert!(
                b.exists("select#residency option[value='GB']")
                    && b.text("#residency option[value='GB']") == "United Kingdom",
                "the country is chosen from a list of names"
            );
            b.fill("#f-email", "rosalind@example.com");
            b.fill("#f-given_name", "Rosalind");
            b.click("#residency option[value='GB']");
            b.click("#p-marketing\\.communications\\.email");
            b.click("#p-marketing\\.communications\\.sms");
            b.screenshot(&shots, "form");
            b.click("#submit");
            // Text messages without a number: refused beside the phone, and every tick and
            // value the visitor gave is still there.
            assert!(
                b.text_has("#f-phone-error", "Marketing text messages"),
                "{}",
                b.source()
            );
            for kept in [
                "#p-marketing\\.communications\\.email:checked",
                "#p-marketing\\.communications\\.sms:checked",
                "#f-email[value='rosalind@example.com']",
                "#f-given_name[value='Rosalind']",
                "#residency option:checked[value='GB']",
            ] {
                assert!(b.exists(kept), "{kept} after the error: {}", b.source());
            }
            b.screenshot(&shots, "form-refused");
            b.click("#p-marketing\\.communications\\.sms");
            b.click("#submit");
            assert!(b.shows("Check your inbox"), "{}", b.source());
            assert!(
                b.arrives("/forms/newsletter/sent"),
                "redirected after the post, so a reload sends nothing: {}",
                b.url()
            );
            b
        }
    })
    .await;
    assert_eq!(
        reach(&t, &marketer).await,
        0,
        "not before the link is followed"
    );
    assert_eq!(
        on_file(&t, &agent, "rosalind@example.com").await,
        0,
        "nor is anything of her on file"
    );
    let link = mail_to(&smtp, "rosalind@example.com", "Please confirm")
        .await
        .link(&format!("{base}/consent/confirm/"))
        .expect("link");
    in_browser(move || {
        b.goto(&link);
        b.click("#act");
        assert!(b.shows("Confirmed"), "{}", b.source());
    })
    .await;
    assert_eq!(reach(&t, &marketer).await, 1);
    assert_eq!(on_file(&t, &agent, "rosalind@example.com").await, 1);

    // A form posted from elsewhere, without the token its page sets, is refused.
    let forged = t
        .req(
            "POST",
            "/forms/newsletter",
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("field.email=eve%40example.com&purpose.marketing.communications.email=yes&residency=DE"),
        )
        .await;
    assert_eq!(forged.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpc_counts_when_the_customer_follows_their_confirmation_link() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let id = seed(&t, "gil@example.com").await;
    for (purpose, method) in [
        ("marketing.advertising.third_party.targeted", "portal"),
        (EMAIL, "form"),
    ] {
        let reply = t
            .req(
                "POST",
                &format!("/api/v1/customers/{id}/consents"),
                Some(&agent),
                &[],
                Some(&format!(
                    r#"{{"purpose":"{purpose}","state":"given","method":"{method}"}}"#
                )),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let base = format!("http://{}", t.addr);
    let link = mail_to(&smtp, "gil@example.com", "Please confirm")
        .await
        .link(&format!("{base}/consent/confirm/"))
        .expect("link");
    let confirmed = t
        .req(
            "POST",
            link.trim_start_matches(&base),
            None,
            &[("Sec-GPC", "1")],
            None,
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let now = t
        .req(
            "GET",
            &format!("/api/v1/customers/{id}/consents/history"),
            Some(&agent),
            &[],
            None,
        )
        .await
        .json();
    let last = now
        .as_array()
        .expect("events")
        .last()
        .expect("an event")
        .clone();
    assert_eq!(
        (
            last["purpose"].as_str(),
            last["state"].as_str(),
            last["method"].as_str()
        ),
        (
            Some("marketing.advertising.third_party.targeted"),
            Some("withdrawn"),
            Some("gpc")
        )
    );
}
