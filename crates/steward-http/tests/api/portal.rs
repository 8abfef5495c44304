//! The privacy portal in real headless Chromium, with the sign-in code read from a real SMTP
//! server on loopback; and sign-in answers that say nothing about who is a customer.

use steward_app::CustomerInput;
use steward_app::core::Role;
use steward_testkit::smtp::SmtpServer;

use crate::console::sign_in_with;
use crate::support::*;
use crate::webdriver::Browser;

pub(crate) async fn seed(t: &TestApp, email: &str) -> uuid::Uuid {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let input = CustomerInput {
        fields: [
            ("email", email),
            ("given_name", "Grace"),
            ("family_name", "Hopper"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        residency: "US".into(),
        tags: vec![],
    };
    t.app
        .customers()
        .create(&access, input)
        .await
        .expect("seed")
        .id
}

pub(crate) fn code_in(body: &str) -> String {
    let at = body.find("data: ").expect("the code") + "data: ".len();
    body[at..at + 6].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_signs_in_with_a_mailed_code_and_sees_their_data_and_who_used_it_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let grace = seed(&t, "grace@example.com").await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let given = t
        .app
        .consent()
        .record(
            &t.app.access(&setup, None).expect("access"),
            grace,
            steward_app::ConsentInput {
                purpose: "marketing.communications.sms".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("consent");
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{grace}"),
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);

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
    let mail = smtp.wait_for(1).remove(0);
    assert!(
        mail.header("X-RcptTo")
            .is_some_and(|r| r.contains("grace@example.com"))
    );
    let code = code_in(&mail.body);
    let (b, session) = in_browser({
        let shots = shots.clone();
        move || {
            b.fill("#code", &code);
            b.click("#sign-in");
            assert!(b.shows("Everything we hold about you"), "{}", b.source());
            let values = b.text("#values");
            assert!(
                values.contains("grace@example.com") && values.contains("Hopper"),
                "{values}"
            );
            assert!(
                values.contains("3 years after our last contact with you"),
                "how long each value is kept: {values}"
            );
            let access = b.text("#access-history");
            assert!(
                access.contains("staff (agent)") && access.contains("looked at your record"),
                "{access}"
            );
            assert!(!b.source().to_lowercase().contains("<script"));
            b.screenshot(&shots, "portal");
            // The customer corrects their family name.
            b.click("#correct-field option[value='family_name']");
            b.fill("#correct-value", "Hopper-Murray");
            b.click("#correct-save");
            assert!(b.text_has("#values", "Hopper-Murray"), "{}", b.source());
            assert!(b.text_has("#access-history", "corrected your data"));
            assert!(b.arrives("/portal/me?done=corrected"), "{}", b.url());
            let session = b.cookie("steward_portal").expect("a session cookie");
            (b, session)
        }
    })
    .await;

    let export = t
        .req(
            "GET",
            "/portal/me/export.json",
            None,
            &[("Cookie", &format!("steward_portal={session}"))],
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(
        export
            .header("content-disposition")
            .is_some_and(|d| d.contains("attachment"))
    );
    let json: serde_json::Value =
        serde_json::from_str(&export.dechunked()).expect("the export is JSON");
    assert_eq!(json["customer_id"], grace.to_string());
    assert!(
        json["values"]
            .as_array()
            .expect("values")
            .iter()
            .any(|v| v["value"] == "grace@example.com")
    );
    assert!(json["access_history"].as_array().expect("history").len() >= 2);

    let receipt = t
        .req(
            "GET",
            &format!("/portal/me/receipts/{}", given.id),
            None,
            &[("Cookie", &format!("steward_portal={session}"))],
            None,
        )
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    assert_eq!(receipt.body.split('.').count(), 3, "a compact JWS");
    let stranger = t
        .req(
            "GET",
            &format!("/portal/me/receipts/{}", uuid::Uuid::now_v7()),
            None,
            &[("Cookie", &format!("steward_portal={session}"))],
            None,
        )
        .await;
    assert_eq!(stranger.status, 404);
    let csv = t
        .req(
            "GET",
            "/portal/me/export.csv",
            None,
            &[("Cookie", &format!("steward_portal={session}"))],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let csv = csv.dechunked();
    assert!(csv.starts_with("section,id,name,value,detail,at"), "{csv}");
    assert!(
        csv.contains("value,") && csv.contains("Hopper-Murray"),
        "{csv}"
    );

    // The customer erases their account; a confirmation reaches them after their data is gone.
    in_browser({
        let base = base.clone();
        move || {
            b.fill("#erase-confirm", "not sure");
            b.click("#erase-submit");
            assert!(b.shows("type ERASE"), "{}", b.source());
            b.fill("#erase-confirm", "ERASE");
            b.click("#erase-submit");
            assert!(b.shows("Your data is erased"), "{}", b.source());
            b.goto(&format!("{base}/portal/me"));
            assert!(
                b.shows("See and manage your data"),
                "signed out: {}",
                b.url()
            );
        }
    })
    .await;
    t.app.outbox().deliver_due().await.expect("deliver");
    let mails = smtp.wait_for(2);
    assert!(
        mails[1].body.contains("we have erased everything"),
        "{}",
        mails[1].body
    );
    let after = t
        .req(
            "GET",
            "/portal/me",
            None,
            &[("Cookie", &format!("steward_portal={session}"))],
            None,
        )
        .await;
    assert_eq!(after.status, 303, "the session ended with the account");
    let search = t
        .req(
            "POST",
            "/api/v1/customers/search",
            Some(&agent),
            &[],
            Some(r#"{"email":"grace@example.com"}"#),
        )
        .await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert!(search.json()["items"].as_array().expect("items").is_empty());
    // She erased herself: the API does not create her again.
    let again = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(
                r#"{"fields":{"email":"Grace@Example.com","given_name":"Grace"},"residency":"US"}"#,
            ),
        )
        .await
        .problem(409);
    assert_eq!(again["code"], "SUBJECT_ERASED", "{again}");
    assert_eq!(again["errors"][0]["field"], "fields.email", "{again}");

    // The privacy officer's desk shows the completed request, with no one behind it.
    let uri = crate::console::add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a second factor");
    let code = totp_now(&uri, t.app.now());
    let desk = in_browser(move || {
        let b = Browser::start();
        sign_in_with(
            &b,
            &base,
            "dpo@example.com",
            Some(&code),
            "essential.legal_obligation",
        );
        // The purpose is saved before the next page is asked for.
        assert!(b.arrives("/console/customers"), "{}", b.url());
        b.goto(&format!("{base}/console/requests"));
        assert!(b.exists("#chart-requests svg"), "{}", b.source());
        b.screenshot(&shots, "desk");
        let desk = (b.text("#closed-requests"), b.text("#request-report"));
        // Retention: the rules, what falls due as a chart, a hold and a dry run.
        b.goto(&format!("{base}/console/retention"));
        assert!(b.exists("#chart-retention-upcoming svg"), "{}", b.source());
        assert!(b.text_has("#rule-list", "dormant-customers"));
        b.fill("#h-category", "interaction");
        b.fill("#h-reason", "Records requested by a court");
        b.fill("#h-owner", "Legal team");
        b.click("#new-hold button");
        assert!(b.text_has("#hold-list", "in force"), "{}", b.source());
        b.click("#dry-run");
        assert!(b.shows("dry run"), "{}", b.source());
        assert!(b.exists(".run-report"));
        b.screenshot(&shots, "retention");
        desk
    })
    .await;
    assert!(
        desk.0.contains("erasure") && desk.0.contains("completed") && desk.0.contains("portal"),
        "{}",
        desk.0
    );
    assert!(!desk.0.contains("grace"), "{}", desk.0);
    assert!(desk.1.contains("erasure"), "{}", desk.1);
}

async fn in_browser<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("browser task")
}

/// A visitor without a browser: keeps the cookies the portal sets and sends them back, and
/// follows its redirects as a browser does.
pub(crate) struct Visitor<'a> {
    t: &'a TestApp,
    jar: std::collections::BTreeMap<String, String>,
    /// The form token of the last page seen.
    csrf: String,
}

impl<'a> Visitor<'a> {
    pub(crate) fn new(t: &'a TestApp) -> Visitor<'a> {
        Visitor {
            t,
            jar: Default::default(),
            csrf: String::new(),
        }
    }

    /// The same visitor, its cookies kept, sent to another instance from now on.
    pub(crate) fn to<'b>(self, t: &'b TestApp) -> Visitor<'b> {
        Visitor {
            t,
            jar: self.jar,
            csrf: self.csrf,
        }
    }

    fn keep(&mut self, reply: &Reply) {
        for c in &reply.cookies {
            if let Some((name, value)) = c.split_once('=') {
                if value.is_empty() {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.into(), value.into());
                }
            }
        }
        let marker = "name=\"csrf\" value=\"";
        if let Some(at) = reply.body.find(marker).map(|i| i + marker.len())
            && let Some(end) = reply.body[at..].find('"')
        {
            self.csrf = reply.body[at..at + end].to_string();
        }
    }

    pub(crate) fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        let cookies = self.cookies();
        let reply = self
            .t
            .req("GET", path, None, &[("Cookie", &cookies)], None)
            .await;
        self.keep(&reply);
        reply
    }

    /// Posts a form with the last page's token; answers the post itself, unfollowed.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut body = format!("csrf={}", self.csrf);
        for (k, v) in fields {
            body.push_str(&format!("&{k}={}", form_encoded(v)));
        }
        let cookies = self.cookies();
        let reply = self
            .t
            .req(
                "POST",
                path,
                None,
                &[
                    ("Cookie", &cookies),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                Some(&body),
            )
            .await;
        self.keep(&reply);
        reply
    }

    /// Posts with a token not the session's, as a form from another site would.
    pub(crate) async fn post_forged(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let kept = std::mem::replace(&mut self.csrf, "0".repeat(32));
        let reply = self.post(path, fields).await;
        self.csrf = kept;
        reply
    }

    /// Posts, expects a redirect after the post, and follows it.
    pub(crate) async fn post_and_follow(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (String, Reply) {
        let posted = self.post(path, fields).await;
        assert_eq!(posted.status, 303, "{}", posted.body);
        let to = posted.header("location").expect("a location").to_string();
        (to.clone(), self.get(&to).await)
    }

    /// Asks for a code for `email` from the portal's first page; answers the code page.
    pub(crate) async fn ask_code(&mut self, email: &str) -> Reply {
        self.get("/portal").await;
        let (to, page) = self
            .post_and_follow("/portal/code", &[("email", email)])
            .await;
        assert_eq!(to, "/portal/code");
        page
    }

    /// Enters a code; answers the page the sign-in leads to.
    pub(crate) async fn enter(&mut self, code: &str) -> (String, Reply) {
        self.post_and_follow("/portal/sign-in", &[("code", code)])
            .await
    }
}

/// A value as a browser sends it in a form: every byte but the unreserved ones escaped, so
/// line breaks and bidirectional controls arrive as typed.
fn form_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A page with its address and its fresh form token taken out.
fn normalised(r: &Reply, email: &str) -> String {
    let body = r.body.replace(email, "ADDRESS");
    let marker = "name=\"csrf\" value=\"";
    match body.find(marker).map(|i| i + marker.len()) {
        Some(at) => {
            let end = at + body[at..].find('"').unwrap_or(0);
            format!("{}{}", &body[..at], &body[end..])
        }
        None => body,
    }
}

/// What a page shows a reader: its text without tags (and so without attribute values).
pub(crate) fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_code_says_nothing_about_who_is_a_customer() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    seed(&t, "known@example.com").await;
    let known = Visitor::new(&t).ask_code("known@example.com").await;
    let unknown = Visitor::new(&t).ask_code("stranger@example.com").await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(
        normalised(&known, "known@example.com"),
        normalised(&unknown, "stranger@example.com"),
        "the same page either way"
    );
    smtp.wait_for(1);
    assert!(smtp.messages_to("stranger@example.com").is_empty());

    let forged = t
        .req(
            "POST",
            "/portal/code",
            None,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("email=known%40example.com"),
        )
        .await;
    assert_eq!(forged.status, 403, "no form token, no code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_wrong_code_the_same_code_still_works_and_strangers_are_told_alike() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    seed(&t, "known@example.com").await;
    let (mut known, mut stranger) = (Visitor::new(&t), Visitor::new(&t));
    known.ask_code("known@example.com").await;
    stranger.ask_code("stranger@example.com").await;
    let code = code_in(&smtp.wait_for(1)[0].body);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let alike = |k: &Reply, s: &Reply| {
        assert_eq!(
            normalised(k, "known@example.com"),
            normalised(s, "stranger@example.com"),
            "the same page whether or not the address is a customer's"
        );
    };
    for left in ["2 more times", "1 more time"] {
        let (to, k) = known.enter(wrong).await;
        let (_, s) = stranger.enter(wrong).await;
        assert_eq!(
            to, "/portal/code",
            "a wrong code leads back to a page to GET"
        );
        let text = visible(&k.body);
        assert!(
            text.contains("The same code still works") && text.contains(left),
            "{text}"
        );
        assert!(!text.contains("new one"), "{text}");
        alike(&k, &s);
    }
    let (_, k) = known.enter(wrong).await;
    let (_, s) = stranger.enter(wrong).await;
    let text = visible(&k.body);
    assert!(
        text.contains("no longer works. Ask for a new one."),
        "{text}"
    );
    assert!(k.body.contains("id=\"send-again\"") && !k.body.contains("id=\"code\""));
    alike(&k, &s);

    // A second code: one wrong try, then the right code still signs in.
    let mut again = Visitor::new(&t);
    again.ask_code("known@example.com").await;
    let code = code_in(&smtp.wait_for(2)[1].body);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (_, page) = again.enter(wrong).await;
    assert!(visible(&page.body).contains("2 more times"));
    let (to, _) = again.enter(&code).await;
    assert_eq!(to, "/portal/me", "the same code worked after a wrong one");

    // Ten minutes on, a code is over for everyone alike.
    let mut late = Visitor::new(&t);
    late.ask_code("known@example.com").await;
    stranger.ask_code("stranger@example.com").await;
    t.clock.advance(jiff::SignedDuration::from_mins(11));
    let k = late.get("/portal/code").await;
    let s = stranger.get("/portal/code").await;
    assert!(
        visible(&k.body).contains("ten minutes are over"),
        "{}",
        k.body
    );
    alike(&k, &s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_change_redirects_and_the_page_speaks_in_names_not_keys() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let grace = seed(&t, "grace@example.com").await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    t.app
        .consent()
        .record(
            &t.app.access(&setup, None).expect("access"),
            grace,
            steward_app::ConsentInput {
                purpose: "marketing.communications.sms".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("consent");
    let mut v = Visitor::new(&t);
    v.ask_code("grace@example.com").await;
    let code = code_in(&smtp.wait_for(1)[0].body);
    let (to, page) = v.enter(&code).await;
    assert_eq!((to.as_str(), page.status), ("/portal/me", 200));

    let text = visible(&page.body);
    for shown in [
        "Marketing text messages",
        "Contact details",
        "Name",
        "United States",
        "1 March 2026, 09:00 UTC",
        "created your record",
        "Providing the service",
    ] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    for key in [
        "marketing.communications",
        "essential.",
        "user.contact",
        "customer.create",
        "given_name",
        "2026-03-01",
    ] {
        assert!(!text.contains(key), "the key {key} is shown: {text}");
    }

    // Each change answers 303 to a page to GET, whose address carries only the outcome.
    let (to, page) = v
        .post_and_follow(
            "/portal/me/withdraw",
            &[("purpose", "marketing.communications.sms")],
        )
        .await;
    assert_eq!(to, "/portal/me?done=withdrawn");
    assert!(
        visible(&page.body).contains("Withdrawn. We no longer use your data for that."),
        "{}",
        page.body
    );
    let (to, _) = v
        .post_and_follow(
            "/portal/me/correct",
            &[("field", "family_name"), ("value", "Hopper-Murray")],
        )
        .await;
    assert_eq!(to, "/portal/me?done=corrected");
    let (to, _) = v.post_and_follow("/portal/me/restrict", &[]).await;
    assert_eq!(to, "/portal/me?done=restricted");
    let refused = v.post("/portal/me/erase", &[("confirm", "maybe")]).await;
    assert_eq!(
        refused.status, 422,
        "a refusal changed nothing and is shown at once"
    );
    assert!(
        visible(&refused.body).contains("To erase your account, type ERASE in the box."),
        "{}",
        refused.body
    );
    let refused = v
        .post(
            "/portal/me/correct",
            &[("field", "family_name"), ("value", " ")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        visible(&refused.body).contains("Family name must not be empty."),
        "by the field's name: {}",
        refused.body
    );
    let (to, page) = v
        .post_and_follow("/portal/me/erase", &[("confirm", "ERASE")])
        .await;
    assert_eq!(to, "/portal?done=erased");
    assert!(
        visible(&page.body).contains("Your data is erased"),
        "{}",
        page.body
    );
    assert!(
        !v.jar.contains_key("steward_portal"),
        "signed out with the account"
    );
}
