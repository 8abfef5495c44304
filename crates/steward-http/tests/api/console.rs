//! The staff console in real headless Chromium against the real server, and its forms'
//! CSRF protection over real HTTP.

use std::path::PathBuf;

use steward_app::core::Role;
use steward_app::{CustomerInput, CustomerPatch, NewUser};

use crate::support::*;
use crate::webdriver::Browser;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

pub(crate) async fn add_staff(t: &TestApp, email: &str, role: Role) -> Option<String> {
    t.app
        .accounts()
        .add_user(
            &t.operator.actor("setup", &[]),
            NewUser {
                email: email.into(),
                role,
                password: PASSWORD.into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user")
        .totp_uri
}

async fn seed(t: &TestApp, email: &str, given: &str) -> uuid::Uuid {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let input = CustomerInput {
        fields: [
            ("email", email),
            ("given_name", given),
            ("family_name", "Lovelace"),
            ("phone", "+442079460000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        residency: "GB".into(),
        tags: vec!["vip".into()],
    };
    t.app
        .customers()
        .create(&access, input)
        .await
        .expect("seed")
        .id
}

/// Blocking browser work runs on a thread of its own, beside the async server.
pub(crate) async fn in_browser<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("browser task")
}

fn check_page(b: &Browser, personal: &[&str], visited: &mut Vec<String>) {
    let url = b.url();
    for value in personal {
        assert!(!url.contains(value), "personal value in URL {url}");
    }
    let html = b.source().to_lowercase();
    assert!(!html.contains("<script"), "no script on {url}");
    assert!(!html.contains(" style="), "no inline style on {url}");
    assert!(!html.contains(" onclick="), "no inline handler on {url}");
    assert!(
        !machine_time(&b.text("main")),
        "times are written for people on {url}"
    );
    visited.push(url);
}

/// Signs in an account without a second factor and chooses `purpose`: the console's first
/// two pages, as every agent meets them.
pub(crate) fn sign_in_for(b: &Browser, base: &str, email: &str, purpose: &str) {
    sign_in_with(b, base, email, None, purpose);
}

/// Signs in from the login page with the password, the second factor's code for a role that
/// has one, and the purpose of the work.
pub(crate) fn sign_in_with(
    b: &Browser,
    base: &str,
    email: &str,
    code: Option<&str>,
    purpose: &str,
) {
    b.goto(&format!("{base}/console/login"));
    b.fill("#email", email);
    b.fill("#password", PASSWORD);
    if let Some(code) = code {
        b.fill("#totp", code);
    }
    b.click("main button[type=submit]");
    b.click(&format!("input[value='{purpose}']"));
    b.click("main button[type=submit]");
    assert!(b.leaves("/console/purpose"), "purpose chosen: {}", b.url());
}

/// Whether the results of a name search for `words` have arrived: they show the words in
/// the search form's name input.
fn searched(b: &Browser, words: &str) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        let shown = b.script("return (document.getElementById('search-name') || {}).value || ''");
        if shown.as_str() == Some(words) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Whether `text` holds an RFC 3339 time, such as 2026-03-01T09:00:00Z.
fn machine_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(11).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..10].iter().all(u8::is_ascii_digit)
            && w[10] == b'T'
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_through_the_console_in_a_browser() {
    let t = spawn_app().await;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let ada = seed(&t, "ada@example.com", "Ada").await;
    let grace = seed(&t, "grace@example.com", "Grace").await;
    let code = totp_now(&uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let shots = screenshots();

    // The browser signs in, finds Ada by email, opens her and starts editing.
    let (b, mut visited) = in_browser({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            let b = Browser::start();
            let mut visited = Vec::new();
            let personal = ["ada@example.com", "Ada", "Lovelace", "442079460000"];
            b.goto(&format!("{base}/console/customers"));
            assert!(
                b.url().ends_with("/console/login"),
                "signed out: sent to sign in"
            );
            b.screenshot(&shots, "sign-in");
            b.fill("#email", "dpo@example.com");
            b.fill("#password", "wrong password entirely");
            b.fill("#totp", &code);
            b.click("button[type=submit]");
            assert!(
                b.text_has("#sign-in-error", "Wrong email, password or code"),
                "a wrong password is refused without saying which part was wrong"
            );
            b.fill("#password", PASSWORD);
            b.fill("#totp", &code);
            b.click("button[type=submit]");
            assert!(b.arrives("/console/purpose"), "purpose first: {}", b.url());
            check_page(&b, &personal, &mut visited);
            b.screenshot(&shots, "purpose");
            b.click("input[value='essential.legal_obligation']");
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/customers"), "{}", b.url());
            assert!(
                b.text_has("#current-purpose", "Legal obligations"),
                "purpose in header"
            );
            b.screenshot(&shots, "customers");

            // The header's box finds by whole words of a name, posted, never in the URL.
            for (words, found) in [("LOVELACE", 2), ("ada  lovelace", 1)] {
                b.fill("#find-q", words);
                b.click("form.find button");
                assert!(
                    searched(&b, words),
                    "the search for {words:?} shows its words"
                );
                check_page(&b, &personal, &mut visited);
                let table = b.text("#customer-table");
                assert!(table.contains("ada@example.com"), "{words}: {table}");
                assert_eq!(
                    table.contains("grace@example.com"),
                    found == 2,
                    "{words}: {table}"
                );
            }

            b.fill("#search-email", "ada@example.com");
            b.click("main form[action='/console/customers/search'] button");
            check_page(&b, &personal, &mut visited);
            assert!(b.text_has("#customer-table", "ada@example.com"));
            b.click("#customer-table a");
            check_page(&b, &personal, &mut visited);
            assert!(b.text_has("#customer-name", "Ada Lovelace"));
            b.screenshot(&shots, "customer");
            b.click("#edit-link");
            check_page(&b, &personal, &mut visited);
            b.screenshot(&shots, "edit");
            (b, visited)
        }
    })
    .await;

    // Meanwhile a colleague changes Ada through the API path: the open form is now stale.
    let colleague = t.operator.actor("colleague", &["essential.service"]);
    let access = t.app.access(&colleague, None).expect("access");
    let patch = CustomerPatch {
        tags: Some(vec!["vip".into(), "callback".into()]),
        ..Default::default()
    };
    t.app
        .customers()
        .update(&access, ada, patch, 1)
        .await
        .expect("colleague's change");

    let purposes: Vec<String> = t
        .app
        .catalog()
        .purposes()
        .iter()
        .map(|p| p.key.clone())
        .collect();
    let (b, visited_more) = in_browser({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            let mut visited = Vec::new();
            let personal = ["ada@example.com", "Augusta", "Lovelace"];
            b.fill("#f-given_name", "Augusta");
            b.click("main form button[type=submit]");
            assert!(b.text_has("#conflict", "Someone else changed this customer"));
            b.screenshot(&shots, "edit-conflict");
            b.click("#reload-link");
            assert!(b.shows("callback"), "the reloaded form shows their change");
            b.fill("#f-given_name", "Augusta");
            b.click("main form button[type=submit]");
            check_page(&b, &personal, &mut visited);
            assert!(
                b.text_has("#customer-name", "Augusta Lovelace"),
                "saved after reload"
            );

            b.fill("#summary", "Called about the delayed parcel");
            b.fill("#body", "Promised a callback tomorrow");
            b.click("form[action$='/interactions'] button");
            assert!(b.text_has("#interaction-list", "Called about the delayed parcel"));
            assert!(b.text_has("#access-history", "customer.update"));
            assert!(
                b.text_has("#access-history", "1 Mar 2026, 09:00 UTC"),
                "times as dates people read"
            );
            assert!(
                b.text_has("#access-history", "Legal obligations"),
                "purposes by their catalog names"
            );
            // Text messages: email marketing would wait for the customer's confirmation.
            b.click("#consent-purpose option[value='marketing.communications.sms']");
            b.click("form[action$='/consents'] button");
            assert!(
                b.text_has("#consent-history", "given"),
                "the consent is in the customer's timeline"
            );
            assert!(b.text_has("#consent-state", "yes"));
            b.click("#object");
            assert!(
                b.text_has("#consent-history", "objection"),
                "the objection withdrew the text-message consent"
            );
            b.screenshot(&shots, "customer-after-edit");

            // The privacy officer erases Grace, after a confirmation that says what goes.
            b.goto(&format!("{base}/console/customers/{grace}"));
            b.click("#erase-link");
            assert!(b.shows("cannot be undone"));
            assert!(
                b.text_has("#erase-who", "Grace Lovelace"),
                "the confirmation names whom it erases"
            );
            b.screenshot(&shots, "erase-confirm");
            b.click("#confirm-erase");
            assert!(b.shows("The customer was erased"));

            b.goto(&format!("{base}/console/audit"));
            let audit = b.text("#audit-table");
            for action in [
                "customer.read",
                "customer.update",
                "interaction.create",
                "customer.erase",
            ] {
                assert!(audit.contains(action), "audit page shows {action}");
            }
            b.click("#verify-button");
            assert!(b.text_has("#verify-result", "The chain is intact"));
            b.screenshot(&shots, "audit");
            check_page(&b, &personal, &mut visited);
            b.goto(&format!("{base}/console/notices"));
            b.fill("#n-version", "2026-03");
            b.fill("#n-body", "# Our privacy notice\n\nWe keep little.");
            // A notice is published only with a summary for every purpose.
            for purpose in &purposes {
                for (part, text) in [
                    ("collected", "Your email address."),
                    ("why", "To send you our news."),
                    ("how_long", "Until you say stop."),
                    ("recipients", "Our mail service."),
                ] {
                    b.fill(&format!("textarea[name='{purpose}.{part}']"), text);
                }
            }
            b.click("form[action='/console/notices'] button");
            assert!(b.shows("Publish 2026-03"), "saved as a draft");
            b.screenshot(&shots, "notices");
            check_page(&b, &personal, &mut visited);
            b.click("a[href$='/publish']");
            assert!(
                b.text_has("#publish-summary", "never changes"),
                "publishing asks first"
            );
            b.screenshot(&shots, "publish-confirm");
            check_page(&b, &personal, &mut visited);
            b.click("#confirm-publish");
            assert!(b.shows("Published"));
            b.goto(&format!("{base}/privacy"));
            assert!(
                b.shows("Until you say stop."),
                "the public sees the published version"
            );
            assert!(
                b.text_has("#retention", "90 days after it was recorded"),
                "the public sees how long each thing is kept"
            );
            b.goto(&format!("{base}/console"));
            assert!(b.exists("#chart-residency svg"));
            b.screenshot(&shots, "dashboard");
            b.goto(&format!("{base}/console/catalog"));
            assert!(
                b.text_has("#catalog-retention", "web-visits"),
                "the catalog shows how long things are kept"
            );
            b.screenshot(&shots, "catalog");
            check_page(&b, &personal, &mut visited);
            (b, visited)
        }
    })
    .await;
    visited.extend(visited_more);
    assert!(
        t.app.rights().is_erased(grace).await.expect("erased"),
        "Grace is gone"
    );

    // Ada's newsletter consent came with an import, so a campaign can reach her.
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    t.app
        .consent()
        .record(
            &access,
            ada,
            steward_app::ConsentInput {
                purpose: "marketing.communications.email".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("consent");

    // A marketer signs in and may not open anyone's record.
    let (b, seen) = in_browser({
        let base = base.clone();
        let shots = shots.clone();
        move || {
            let mut seen = Vec::new();
            b.delete_cookies();
            b.goto(&format!("{base}/console/login"));
            b.fill("#email", "marketer@example.com");
            b.fill("#password", PASSWORD);
            b.click("button[type=submit]");
            b.click("input[name=purpose]");
            b.click("main button[type=submit]");
            assert!(
                b.arrives("/console/campaigns"),
                "a marketing purpose starts at the campaigns: {}",
                b.url()
            );
            assert!(
                !b.text("nav").contains("Customers"),
                "no link to pages the purpose may not open"
            );
            b.goto(&format!("{base}/console/customers/{ada}"));
            assert!(b.shows("Not allowed"), "{}", b.source());
            assert!(
                b.text_has("nav", "Campaigns"),
                "the refusal keeps the navigation"
            );
            let page = b.source();
            assert!(!page.contains("ada@example.com") && !page.contains("Augusta"));

            // They reach customers through a segment and a campaign instead.
            b.goto(&format!("{base}/console/campaigns"));
            assert!(b.text_has("#reach", "1"), "Ada consented to email");
            b.fill("#s-name", "VIPs");
            b.fill("#s-tags", "vip");
            b.click("form[action='/console/segments'] button");
            assert!(b.text_has("#segment-list", "tags vip"));
            b.fill("#c-name", "Autumn");
            b.click("#c-segment option:nth-child(2)");
            b.fill("#c-subject", "Autumn news");
            b.fill("#c-body", "Leaves are falling.");
            b.click("form[action='/console/campaigns'] button");
            assert!(b.text_has("#campaign-list", "draft"));
            b.click("a[href$='/send']");
            assert!(
                b.text_has("#send-reach", "1"),
                "sending asks first, with the reach"
            );
            check_page(&b, &[], &mut seen);
            b.screenshot(&shots, "send-confirm");
            b.click("#confirm-send");
            check_page(&b, &[], &mut seen);
            assert!(
                b.text_has("#campaign-list", "sent"),
                "{}",
                b.text("#campaign-list")
            );
            assert!(b.text("#campaign-list").contains("Autumn"));
            assert!(
                b.exists("#chart-campaign-log svg"),
                "the campaign's log as a chart"
            );
            assert_eq!(chart_faults(&b), Vec::<String>::new());
            b.screenshot(&shots, "campaigns");
            (b, seen)
        }
    })
    .await;
    visited.extend(seen);
    drop(b);
    assert!(visited.len() >= 6, "pages checked: {visited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_form_refuses_a_post_without_its_csrf_token() {
    let t = spawn_app().await;
    add_staff(&t, "admin@example.com", Role::Admin).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let id = seed(&t, "ada@example.com", "Ada").await;
    let session = t
        .app
        .sessions()
        .login("agent@example.com", PASSWORD, None, None)
        .await
        .expect("agent session")
        .token;
    let cookie = format!("steward_session={session}; steward_purpose=essential.service");
    let token_id = uuid::Uuid::now_v7();
    let forms = [
        ("/console/login", "email=agent%40example.com&password=x"),
        ("/console/logout", ""),
        ("/console/purpose", "purpose=essential.service"),
        ("/console/customers/search", "email=ada%40example.com"),
        (
            "/console/customers/new",
            "field.email=b%40example.com&residency=DE",
        ),
        (
            &format!("/console/customers/{id}/edit"),
            "version=1&field.given_name=Eve&residency=GB",
        ),
        (
            &format!("/console/customers/{id}/interactions"),
            "kind=note&summary=hi",
        ),
        (&format!("/console/customers/{id}/erase"), ""),
        (
            &format!("/console/customers/{id}/merge"),
            "other=b%40example.com",
        ),
        (
            &format!("/console/customers/{id}/merge/confirm"),
            &format!("merge={token_id}"),
        ),
        (&format!("/console/customers/{id}/objection"), ""),
        (
            &format!("/console/customers/{id}/consents"),
            "purpose=marketing.communications.email&state=given",
        ),
        ("/console/notices", "version=x&language=en&body=b"),
        (
            &format!("/console/notices/{}/publish", uuid::Uuid::now_v7()),
            "",
        ),
        ("/console/users", "email=new%40example.com&role=agent"),
        (
            &format!("/console/users/{}", uuid::Uuid::now_v7()),
            "role=agent",
        ),
        ("/console/tokens", "name=ci&role=agent"),
        (&format!("/console/tokens/{token_id}/revoke"), ""),
        (
            "/console/webhooks",
            "name=ci&url=https%3A%2F%2F127.0.0.1%3A9%2F&event=customer.created",
        ),
        (
            &format!("/console/webhooks/{}/active", uuid::Uuid::now_v7()),
            "active=false",
        ),
        (
            &format!("/console/webhooks/{}/delete", uuid::Uuid::now_v7()),
            "",
        ),
        ("/console/segments", "name=VIPs&tags=vip"),
        ("/console/offers", "key=winter-boots&title=Winter+boots"),
        ("/console/offers/garden-tools/retire", ""),
        (
            &format!("/console/customers/{id}/attributes/liked_categories/delete"),
            "",
        ),
        ("/console/campaigns", "name=x&subject=s&body=b"),
        (
            &format!("/console/campaigns/{}/send", uuid::Uuid::now_v7()),
            "confirm=yes",
        ),
        ("/console/retention/runs", "confirm=yes"),
        (
            &format!("/console/recipient-notices/{}/sent", uuid::Uuid::now_v7()),
            "",
        ),
        (
            "/console/retention/holds",
            "category=customer&reason=r&owner=o",
        ),
    ];
    let before = t.app.audit().length().await.expect("audit length");
    for (path, body) in forms {
        for with_csrf in ["", "csrf=forged&"] {
            let reply = t
                .req(
                    "POST",
                    path,
                    None,
                    &[
                        ("Cookie", cookie.as_str()),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ],
                    Some(&format!("{with_csrf}{body}")),
                )
                .await;
            assert_eq!(
                reply.status, 403,
                "{path} without a valid CSRF token: {}",
                reply.body
            );
            assert!(reply.body.contains("Form refused"), "{path}");
        }
    }
    assert_eq!(
        t.app.audit().length().await.expect("audit length"),
        before,
        "no refused form changed or read anything"
    );
    assert_eq!(t.app.customers().count().await.expect("count"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_carry_a_strict_policy_and_secure_cookies() {
    let t = spawn_app().await;
    let page = t.req("GET", "/console/login", None, &[], None).await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        !csp.contains("script-src"),
        "no script is allowed at all: {csp}"
    );
    let cookie = page.header("set-cookie").unwrap_or_default();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let css = t
        .req("GET", "/console/static/console.css", None, &[], None)
        .await;
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let away = t.req("GET", "/console/customers", None, &[], None).await;
    assert_eq!(
        (away.status, away.header("location")),
        (303, Some("/console/login"))
    );
}

pub(crate) fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_session_ends_after_half_an_hour_without_use() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let session = t
        .app
        .sessions()
        .login("agent@example.com", PASSWORD, None, None)
        .await
        .expect("session")
        .token;
    let cookie = format!("steward_session={session}");
    async fn open(t: &TestApp, cookie: &str) -> u16 {
        t.req("GET", "/console", None, &[("Cookie", cookie)], None)
            .await
            .status
    }
    assert_eq!(open(&t, &cookie).await, 200);
    // Used every 29 minutes, it stays open well past the half hour.
    for _ in 0..2 {
        t.clock.advance(jiff::SignedDuration::from_mins(29));
        assert_eq!(open(&t, &cookie).await, 200, "still in use");
    }
    t.clock.advance(jiff::SignedDuration::from_mins(31));
    assert_eq!(
        open(&t, &cookie).await,
        303,
        "idle for 31 minutes: signed out"
    );
    t.clock.advance(jiff::SignedDuration::from_mins(-31));
    assert_eq!(open(&t, &cookie).await, 303, "an ended session stays ended");
    let idle = t
        .app
        .audit()
        .search(
            &t.operator.actor("check", &[]),
            steward_app::AuditFilter {
                action: Some("logout.idle".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(idle.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_token_that_is_shown_once() {
    let t = spawn_app().await;
    let uri = add_staff(&t, "admin@example.com", Role::Admin)
        .await
        .expect("an admin has a second factor");
    let code = totp_now(&uri, t.app.now());
    let session = t
        .app
        .sessions()
        .login("admin@example.com", PASSWORD, Some(&code), None)
        .await
        .expect("admin session")
        .token;
    let cookie = format!("steward_session={session}");
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let page = t.req("GET", "/console/tokens", None, &headers, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_in(&page.body);
    let made = t
        .req(
            "POST",
            "/console/tokens",
            None,
            &headers,
            Some(&format!(
                "csrf={csrf}&name=crm-sync&role=agent&purpose=essential.service&expires_days=30"
            )),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let token = made
        .body
        .split("id=\"new-token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the new token is shown")
        .to_string();
    let me = t.req("GET", "/api/v1/me", Some(&token), &[], None).await;
    assert_eq!(me.status, 200, "the shown token works: {}", me.body);
    let again = t.req("GET", "/console/tokens", None, &headers, None).await;
    assert!(again.body.contains("crm-sync"), "listed by name");
    assert!(!again.body.contains(&token), "and never shown again");
    assert_eq!(
        again.body.matches("<tr data-id=").count(),
        1,
        "the admin's own sign-in is a session, not a token: {}",
        again.body
    );
    let reserved = t
        .req(
            "POST",
            "/console/tokens",
            None,
            &headers,
            Some(&format!(
                "csrf={csrf}&name=session&role=agent&purpose=essential.service"
            )),
        )
        .await;
    assert_eq!(reserved.status, 422, "{}", reserved.body);
    assert!(reserved.body.contains("reserved for console sessions"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_create_form_shows_errors_beside_fields_and_creates_once_valid() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let session = t
        .app
        .sessions()
        .login("agent@example.com", PASSWORD, None, None)
        .await
        .expect("session")
        .token;
    let cookie = format!("steward_session={session}; steward_purpose=essential.service");
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let form = t
        .req("GET", "/console/customers/new", None, &headers, None)
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    for hint in ["user.contact.email", "Needed for Providing the service"] {
        assert!(
            form.body.contains(hint),
            "each field shows its category and, by their names, its purposes"
        );
    }
    assert!(
        !form.body.contains("name=\"field.birth_date\""),
        "an agent sees special fields masked, so is not offered them"
    );
    let csrf = csrf_in(&form.body);
    let bad = t
        .req(
            "POST",
            "/console/customers/new",
            None,
            &headers,
            Some(&format!(
                "csrf={csrf}&field.email=not-an-email&field.given_name=Bo&residency=XX"
            )),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("id=\"f-email-error\""),
        "the email error sits beside its field"
    );
    assert!(bad.body.contains("id=\"residency-error\""));
    assert!(bad.body.contains("value=\"Bo\""), "what was typed is kept");
    assert_eq!(t.app.customers().count().await.expect("count"), 0);
    let good = t
        .req(
            "POST",
            "/console/customers/new",
            None,
            &headers,
            Some(&format!(
                "csrf={csrf}&field.email=bo%40example.com&field.given_name=Bo&residency=se&tags=new%2C+web"
            )),
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let location = good.header("location").unwrap_or_default().to_string();
    assert!(location.starts_with("/console/customers/"), "{location}");
    assert!(!location.contains("bo@example.com") && !location.contains("Bo"));
    let shown = t.req("GET", &location, None, &headers, None).await;
    assert!(shown.body.contains("bo@example.com") && shown.body.contains("new, web"));
    assert!(shown.body.contains("SE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_an_empty_cookie_with_an_empty_token() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let body = format!(
        "csrf=&email=agent%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    let form = [
        ("Cookie", "steward_sign_in="),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let forged = t
        .req("POST", "/console/login", None, &form, Some(&body))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("Form refused"));
    assert!(
        !forged
            .header("set-cookie")
            .is_some_and(|c| c.contains("steward_session=")),
        "no session was opened"
    );

    // The same form with the value the sign-in page handed out signs in.
    let page = t.req("GET", "/console/login", None, &[], None).await;
    let csrf = csrf_in(&page.body);
    let cookie = format!("steward_sign_in={csrf}");
    let body = format!(
        "csrf={csrf}&email=agent%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    let signed_in = t
        .req(
            "POST",
            "/console/login",
            None,
            &[
                ("Cookie", cookie.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(&body),
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
}

/// A signed-in staff member's cookie, with `purpose` chosen when given.
pub(crate) async fn staff_cookie(
    t: &TestApp,
    email: &str,
    totp_uri: Option<&str>,
    purpose: Option<&str>,
) -> String {
    let code = totp_uri.map(|uri| totp_now(uri, t.app.now()));
    let session = t
        .app
        .sessions()
        .login(email, PASSWORD, code.as_deref(), None)
        .await
        .expect("session")
        .token;
    match purpose {
        Some(p) => format!("steward_session={session}; steward_purpose={p}"),
        None => format!("steward_session={session}"),
    }
}

pub(crate) fn assert_console_page(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{what} is a page"
    );
    assert!(
        reply.body.contains("<nav aria-label=\"Main\">"),
        "{what} carries the navigation: {}",
        reply.body
    );
    assert!(
        reply
            .header("content-security-policy")
            .is_some_and(|c| c.contains("style-src 'self'")),
        "{what} may use the console's stylesheet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_answer_is_a_page_with_the_navigation() {
    let t = spawn_app().await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let ada = seed(&t, "ada@example.com", "Ada").await;
    let marketer = staff_cookie(
        &t,
        "marketer@example.com",
        None,
        Some("marketing.communications.email"),
    )
    .await;
    let signed_in = [("Cookie", marketer.as_str())];

    let unknown = t
        .req("GET", "/console/no/such/page", None, &signed_in, None)
        .await;
    assert_console_page(&unknown, 404, "an unknown console address");
    assert!(unknown.body.contains("Page not found"));
    assert!(
        unknown.body.contains("href=\"/console/campaigns\""),
        "with the marketer's own navigation"
    );
    let signed_out = t.req("GET", "/console/no/such/page", None, &[], None).await;
    assert_console_page(&signed_out, 404, "an unknown address, signed out");
    assert!(signed_out.body.contains("href=\"/console/login\""));

    let forbidden = t
        .req(
            "GET",
            &format!("/console/customers/{ada}"),
            None,
            &signed_in,
            None,
        )
        .await;
    assert_console_page(&forbidden, 403, "a record the purpose may not open");
    assert!(forbidden.body.contains("Not allowed"));
    assert!(!forbidden.body.contains("ada@example.com"));

    let wrong_method = t
        .req("GET", "/console/logout", None, &signed_in, None)
        .await;
    assert_console_page(&wrong_method, 405, "a form's address opened as a link");

    let bad_id = t
        .req(
            "GET",
            "/console/customers/not-an-id",
            None,
            &signed_in,
            None,
        )
        .await;
    assert_console_page(&bad_id, 404, "a malformed record id");

    let api = t.req("GET", "/api/v1/no/such/route", None, &[], None).await;
    api.problem(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sign_in_rate_limit_answers_with_a_page() {
    let strict = steward_http::Rate {
        per_second: 0.001,
        burst: 2.0,
    };
    let t = spawn_app_with(steward_http::Limits {
        login_per_client: strict,
        ..steward_http::Limits::unlimited()
    })
    .await;
    for _ in 0..2 {
        let page = t.req("GET", "/console/login", None, &[], None).await;
        assert_eq!(page.status, 200);
    }
    let limited = t.req("GET", "/console/login", None, &[], None).await;
    assert_console_page(&limited, 429, "the sign-in rate limit");
    assert!(
        limited.body.contains("Too many sign-in attempts"),
        "{}",
        limited.body
    );
    let wait = limited.header("retry-after").expect("Retry-After");
    assert!(
        limited.body.contains(&format!("Wait {wait} seconds")),
        "the page says how long to wait: {}",
        limited.body
    );
    let api = t
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            &[],
            Some(r#"{"email":"a@example.com","password":"x"}"#),
        )
        .await;
    api.problem(429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_lands_where_its_purpose_works() {
    let t = spawn_app().await;
    let admin_uri = add_staff(&t, "admin@example.com", Role::Admin)
        .await
        .expect("an admin has a second factor");
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;

    let admin = staff_cookie(&t, "admin@example.com", Some(&admin_uri), None).await;
    let page = t
        .req(
            "GET",
            "/console/purpose",
            None,
            &[("Cookie", admin.as_str())],
            None,
        )
        .await;
    assert_console_page(&page, 200, "the admin's purpose page");
    assert!(page.body.contains("no purpose to choose"), "{}", page.body);
    assert!(
        !page.body.contains("type=\"radio\""),
        "nothing to choose from"
    );
    for link in [
        "/console/users",
        "/console/tokens",
        "/console/audit",
        "/console/catalog",
    ] {
        assert!(
            page.body.contains(&format!("<li><a href=\"{link}\">")),
            "the admin is pointed to {link}"
        );
    }

    for (email, purpose, landing) in [
        (
            "marketer@example.com",
            "marketing.communications.email",
            "/console/campaigns",
        ),
        (
            "agent@example.com",
            "essential.service",
            "/console/customers",
        ),
    ] {
        let cookie = staff_cookie(&t, email, None, None).await;
        let headers = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let form = t.req("GET", "/console/purpose", None, &headers, None).await;
        let csrf = csrf_in(&form.body);
        let chosen = t
            .req(
                "POST",
                "/console/purpose",
                None,
                &headers,
                Some(&format!("csrf={csrf}&purpose={purpose}")),
            )
            .await;
        assert_eq!(
            (chosen.status, chosen.header("location")),
            (303, Some(landing)),
            "{email}"
        );
        let with_purpose = format!("{cookie}; steward_purpose={purpose}");
        let landed = t
            .req(
                "GET",
                landing,
                None,
                &[("Cookie", with_purpose.as_str())],
                None,
            )
            .await;
        assert_eq!(
            landed.status, 200,
            "{email} may use {landing}: {}",
            landed.body
        );

        let refused = t
            .req(
                "POST",
                "/console/purpose",
                None,
                &headers,
                Some(&format!("csrf={csrf}&purpose=essential.legal_obligation")),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.body.contains("id=\"purpose-error\""),
            "{}",
            refused.body
        );
    }
}

/// A form post carrying the page's CSRF token.
pub(crate) async fn post_form(
    t: &TestApp,
    cookie: &str,
    page: &str,
    path: &str,
    body: &str,
) -> Reply {
    let headers = [
        ("Cookie", cookie),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let form = t.req("GET", page, None, &headers, None).await;
    assert_eq!(form.status, 200, "{page}: {}", form.body);
    let csrf = csrf_in(&form.body);
    t.req(
        "POST",
        path,
        None,
        &headers,
        Some(&format!("csrf={csrf}&{body}")),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_sweeping_and_publishing_wait_for_their_confirmation() {
    let t = spawn_app().await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let dpo_uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    let setup = t
        .operator
        .actor("setup", &["marketing.communications.email"]);

    // A campaign: a post without the confirmation sends nothing and says what is needed.
    let marketer = staff_cookie(
        &t,
        "marketer@example.com",
        None,
        Some("marketing.communications.email"),
    )
    .await;
    let made = post_form(
        &t,
        &marketer,
        "/console/campaigns",
        "/console/campaigns",
        "name=Spring&subject=Spring+news&body=Flowers.",
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let campaign = t.app.campaigns().list(&setup).await.expect("campaigns")[0].id;
    let send = format!("/console/campaigns/{campaign}/send");
    let unconfirmed = post_form(&t, &marketer, "/console/campaigns", &send, "").await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.body);
    assert!(unconfirmed.body.contains("Nothing was sent"));
    assert!(
        unconfirmed.body.contains("id=\"confirm-send\""),
        "the way to confirm"
    );
    let state = |t: &TestApp| {
        let (app, setup) = (t.app.clone(), setup.clone());
        async move {
            app.campaigns()
                .get(&setup, campaign)
                .await
                .expect("campaign")
                .state
        }
    };
    assert_eq!(state(&t).await, "draft");
    let confirmed = post_form(&t, &marketer, &send, &send, "confirm=yes").await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(state(&t).await, "sent");

    // A sweep: likewise, while a dry run needs no confirmation.
    let dpo = staff_cookie(
        &t,
        "dpo@example.com",
        Some(&dpo_uri),
        Some("essential.legal_obligation"),
    )
    .await;
    let desk = t.operator.actor("desk", &["essential.legal_obligation"]);
    let access = t.app.access(&desk, None).expect("access");
    let runs = |t: &TestApp| {
        let (app, access) = (t.app.clone(), access.clone());
        async move {
            app.retention()
                .runs(&access)
                .await
                .expect("runs")
                .iter()
                .map(|r| r.dry_run)
                .collect::<Vec<_>>()
        }
    };
    let unconfirmed = post_form(
        &t,
        &dpo,
        "/console/retention",
        "/console/retention/runs",
        "",
    )
    .await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.body);
    assert!(unconfirmed.body.contains("Nothing was swept"));
    assert!(
        unconfirmed.body.contains("id=\"sweep-due\""),
        "what would go"
    );
    assert!(runs(&t).await.is_empty(), "no sweep ran");
    let dry = post_form(
        &t,
        &dpo,
        "/console/retention",
        "/console/retention/runs",
        "dry_run=yes",
    )
    .await;
    assert_eq!(dry.status, 303, "{}", dry.body);
    let swept = post_form(
        &t,
        &dpo,
        "/console/retention/sweep",
        "/console/retention/runs",
        "confirm=yes",
    )
    .await;
    assert_eq!(swept.status, 303, "{}", swept.body);
    let mut kinds = runs(&t).await;
    kinds.sort();
    assert_eq!(kinds, [false, true], "one real sweep, one dry run");

    // A notice version.
    let draft = t
        .app
        .notices()
        .create(
            &desk,
            steward_app::NoticeInput {
                version: "2026-04".into(),
                language: "en".into(),
                effective_at: None,
                material: true,
                body: "How we use your data.".into(),
                // A summary for every purpose, as publishing asks.
                summaries: t
                    .app
                    .catalog()
                    .purposes()
                    .iter()
                    .map(|p| {
                        (
                            p.key.clone(),
                            steward_app::PurposeSummary {
                                collected: "What this needs.".into(),
                                why: format!("For {}.", p.name),
                                how_long: "Until you say stop.".into(),
                                recipients: "No one else.".into(),
                            },
                        )
                    })
                    .collect(),
            },
        )
        .await
        .expect("draft");
    let publish = format!("/console/notices/{}/publish", draft.id);
    let published = |t: &TestApp| {
        let app = t.app.clone();
        async move {
            app.notices().list().await.expect("notices")[0]
                .published_at
                .is_some()
        }
    };
    let unconfirmed = post_form(&t, &dpo, "/console/notices", &publish, "").await;
    assert_eq!(unconfirmed.status, 422, "{}", unconfirmed.body);
    assert!(unconfirmed.body.contains("Nothing was published"));
    assert!(
        unconfirmed.body.contains("id=\"material-warning\""),
        "a material change says what it does to consent"
    );
    assert!(!published(&t).await);
    let confirmed = post_form(&t, &dpo, &publish, &publish, "confirm=yes").await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert!(published(&t).await);
}

/// Where the focused element is: its id, whether it lies wholly in the viewport, and how far
/// the page scrolled to show it.
fn focused(b: &Browser) -> (String, bool, f64) {
    let v = b.script(
        "const e = document.activeElement; const r = e.getBoundingClientRect(); \
         return [e.id, r.top >= 0 && r.bottom <= window.innerHeight, window.scrollY];",
    );
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_bool().unwrap_or(false),
        v[2].as_f64().unwrap_or(0.0),
    )
}

/// Whether the message `error` sits in the same box as the input `input`.
fn beside(b: &Browser, input: &str, error: &str) -> bool {
    b.script(&format!(
        "const i = document.getElementById('{input}'); const e = document.getElementById('{error}'); \
         return !!i && !!e && i.parentElement === e.parentElement;"
    ))
    .as_bool()
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_shows_each_error_beside_its_field_and_scrolls_to_the_first_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let ada = seed(&t, "ada@example.com", "Ada").await;
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        // Short enough that the lower fields of the customer form are out of sight.
        b.window_size(1280, 700);
        let sign_in = |email: &str, purpose: &str| {
            b.delete_cookies();
            b.goto(&format!("{base}/console/login"));
            b.fill("#email", email);
            b.fill("#password", PASSWORD);
            b.click("main button[type=submit]");
            b.click(&format!("input[value='{purpose}']"));
            b.click("main button[type=submit]");
            assert!(b.text_has("#current-purpose", "Purpose"), "{}", b.url());
        };
        sign_in("agent@example.com", "essential.service");
        b.goto(&format!("{base}/console/customers/{ada}/edit"));
        b.fill("#f-postal_address", &"1 Long Street\n".repeat(40));
        b.fill("#residency", "XX");
        b.click("main form button[type=submit]");
        assert!(
            b.text_has("#customer-refused", "2 fields need attention"),
            "{}",
            b.source()
        );
        assert!(b.exists("#f-postal_address-error") && b.exists("#residency-error"));
        assert!(beside(&b, "f-postal_address", "f-postal_address-error"));
        assert!(beside(&b, "residency", "residency-error"));
        let (id, in_view, scrolled) = focused(&b);
        assert_eq!(
            id, "f-postal_address",
            "the first refused field has the focus"
        );
        assert!(in_view, "and is in sight");
        assert!(scrolled > 0.0, "the page scrolled down to it");
        b.screenshot(&shots, "edit-refused");

        sign_in("marketer@example.com", "marketing.communications.email");
        b.goto(&format!("{base}/console/campaigns"));
        b.fill("#s-name", "Recent");
        b.fill("#s-created", "a week");
        b.click("#new-segment button");
        assert!(b.text_has("#s-created-error", "whole number of days"));
        assert!(beside(&b, "s-created", "s-created-error"));
        let (id, in_view, _) = focused(&b);
        assert_eq!(id, "s-created");
        assert!(in_view);
        assert_eq!(
            b.script("return document.getElementById('s-name').value;"),
            "Recent",
            "what was typed is kept"
        );
        b.screenshot(&shots, "segment-refused");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_reads_newest_first_and_an_import_stays_one_short_row_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "auditor@example.com", Role::Auditor).await;
    for i in 0..60 {
        seed(&t, &format!("person{i}@example.com"), "Person").await;
    }
    let csv = t.data_dir().join("people.csv");
    let mut rows = String::from("email,given_name,residency\n");
    for i in 0..300 {
        rows.push_str(&format!("imported{i}@example.com,Imported,DE\n"));
    }
    std::fs::write(&csv, rows).expect("csv");
    let report = t
        .app
        .customers()
        .import(
            &t.operator.actor("import", &["essential.service"]),
            &csv,
            &steward_app::import::ImportOptions {
                purpose: "essential.service".into(),
                default_residency: None,
                header_map: Default::default(),
                reject_path: t.data_dir().join("rejects.csv"),
                batch_size: 1_000,
            },
            |_| std::ops::ControlFlow::Continue(()),
        )
        .await
        .expect("import");
    assert_eq!(report.progress.created, 300);
    let last = seed(&t, "newest@example.com", "Newest").await;
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        b.goto(&format!("{base}/console/login"));
        b.fill("#email", "auditor@example.com");
        b.fill("#password", PASSWORD);
        b.click("main button[type=submit]");
        assert!(b.text_has("#no-purpose", "no purpose to choose"));
        b.goto(&format!("{base}/console/audit"));
        let seqs = |b: &Browser| -> Vec<i64> {
            b.script(
                "return [...document.querySelectorAll('#audit-table tbody tr')].map(r => Number(r.dataset.seq));",
            )
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
            .unwrap_or_default()
        };
        let first = seqs(&b);
        assert_eq!(first.len(), 50, "a page of fifty");
        assert!(
            first.windows(2).all(|w| w[0] > w[1]),
            "newest first: {first:?}"
        );
        let rows = b.text("#audit-table tbody");
        let signed_in = rows.find("login.success").unwrap_or(usize::MAX);
        let created = rows.find(&last.to_string()).unwrap_or(usize::MAX);
        let imported = rows.find("300 customers").unwrap_or(usize::MAX);
        assert!(
            signed_in < created && created < imported && imported < rows.len(),
            "the auditor's sign-in, then the last customer, then the import: {rows}"
        );
        let summary = b.text(".targets-summary");
        assert_eq!(summary, "300 customers", "an import's targets are counted");
        let (page_height, tallest_row) = {
            let v = b.script(
                "return [document.documentElement.scrollHeight, \
                 Math.max(...[...document.querySelectorAll('#audit-table tbody tr')].map(r => r.getBoundingClientRect().height))];",
            );
            (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0))
        };
        assert!(tallest_row < 120.0, "no row runs long: {tallest_row}px");
        assert!(page_height < 6_000.0, "the page stays short: {page_height}px");
        b.screenshot(&shots, "audit-newest");

        b.click("#older");
        let second = seqs(&b);
        assert!(!second.is_empty() && second[0] < first[49], "{second:?}");
        assert!(second.windows(2).all(|w| w[0] > w[1]));
        b.click("#newer");
        assert_eq!(seqs(&b), first, "and back again");

        b.click(".targets-summary");
        assert!(b.text_has("#targets", "300 customers"));
        let listed = b
            .script("return document.querySelectorAll('#target-list li').length;")
            .as_i64();
        assert_eq!(listed, Some(300), "the entry lists every target");
    })
    .await;
}

/// What is wrong with the page's charts as the browser drew them: text outside its picture,
/// legend keys on top of each other, or a chart drawn at another scale than the first.
fn chart_faults(b: &Browser) -> Vec<String> {
    let found = b.script(
        r#"
        const faults = [];
        let scale = null;
        for (const svg of document.querySelectorAll('svg.chart')) {
            const id = svg.closest('figure') ? svg.closest('figure').id : '?';
            const box = svg.viewBox.baseVal;
            const drawn = svg.getBoundingClientRect().width / box.width;
            if (scale === null) scale = drawn;
            if (Math.abs(drawn - scale) > 0.01) faults.push(`${id} drawn at ${drawn}, not ${scale}`);
            for (const t of svg.querySelectorAll('text')) {
                const r = t.getBBox();
                if (r.x < -0.5 || r.y < -0.5 || r.x + r.width > box.width + 0.5 || r.y + r.height > box.height + 0.5) {
                    faults.push(`${id}: "${t.textContent}" at ${r.x},${r.y} ${r.width}x${r.height} outside ${box.width}x${box.height}`);
                }
            }
            const keys = [...svg.querySelectorAll('text.legend')].map(t => [t, t.getBBox()]);
            for (let i = 0; i < keys.length; i++) for (let j = i + 1; j < keys.length; j++) {
                const [a, ra] = keys[i], [c, rc] = keys[j];
                const apart = ra.x + ra.width <= rc.x - 12 || rc.x + rc.width <= ra.x - 12
                    || ra.y + ra.height <= rc.y || rc.y + rc.height <= ra.y;
                if (!apart) faults.push(`${id}: legend "${a.textContent}" touches "${c.textContent}"`);
            }
        }
        return faults;
        "#,
    );
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_keep_their_labels_inside_and_name_purposes_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let dpo_uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    let csv = t.data_dir().join("people.csv");
    let mut rows = String::from("email,given_name,residency\n");
    for i in 0..1_200 {
        rows.push_str(&format!("person{i}@example.com,Person,DE\n"));
    }
    std::fs::write(&csv, rows).expect("csv");
    t.app
        .customers()
        .import(
            &t.operator.actor("import", &["essential.service"]),
            &csv,
            &steward_app::import::ImportOptions {
                purpose: "essential.service".into(),
                default_residency: None,
                header_map: Default::default(),
                reject_path: t.data_dir().join("rejects.csv"),
                batch_size: 5_000,
            },
            |_| std::ops::ControlFlow::Continue(()),
        )
        .await
        .expect("import");
    // One customer consents to two purposes; staff read customers for three purposes.
    let ada = seed(&t, "ada@example.com", "Ada").await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    for purpose in [
        "marketing.communications.sms",
        "personalize.content.profiled",
    ] {
        t.app
            .consent()
            .record(
                &access,
                ada,
                steward_app::ConsentInput {
                    purpose: purpose.into(),
                    state: "given".into(),
                    notice_version: None,
                    method: Some("form".into()),
                    fields: Default::default(),
                },
                &steward_app::Evidence::default(),
            )
            .await
            .expect("consent");
    }
    for purpose in [
        "essential.service",
        "essential.service.operations.support",
        "essential.legal_obligation",
    ] {
        let reader = t.operator.actor("reader", &[purpose]);
        let access = t.app.access(&reader, None).expect("access");
        t.app.customers().get(&access, ada).await.expect("read");
    }
    let code = totp_now(&dpo_uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        assert!(b.arrives("/console/customers"));
        b.goto(&format!("{base}/console"));
        assert!(b.exists("#chart-accesses svg"));
        assert_eq!(chart_faults(&b), Vec::<String>::new());
        let accesses =
            b.script("return document.querySelector('#chart-accesses svg').textContent;");
        let accesses = accesses.as_str().unwrap_or_default();
        for name in [
            "Providing the service",
            "Customer support",
            "Legal obligations",
        ] {
            assert!(
                accesses.contains(name),
                "the legend names {name}: {accesses}"
            );
        }
        assert!(
            !accesses.contains("essential."),
            "no purpose keys: {accesses}"
        );
        let rates =
            b.script("return document.querySelector('#chart-consent-rates svg').textContent;");
        let rates = rates.as_str().unwrap_or_default();
        assert!(
            rates.contains("<0.1 % (1)"),
            "one customer in 1,201 is not 0 %: {rates}"
        );
        assert!(b.text_has("main", "1,201"), "counts are grouped");
        b.screenshot(&shots, "dashboard-charts");

        b.delete_cookies();
        sign_in_with(
            &b,
            &base,
            "dpo@example.com",
            Some(&code),
            "essential.legal_obligation",
        );
        assert!(b.arrives("/console/customers"));
        for page in ["requests", "retention"] {
            b.goto(&format!("{base}/console/{page}"));
            assert!(b.exists("svg.chart"), "{page}");
            assert_eq!(chart_faults(&b), Vec::<String>::new(), "{page}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_line_address_is_typed_saved_and_edited_again_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let ada = seed(&t, "ada@example.com", "Ada").await;
    let base = format!("http://{}", t.addr);
    in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        assert!(b.arrives("/console/customers"), "{}", b.url());
        // A textarea sends its line breaks as CRLF.
        b.goto(&format!("{base}/console/customers/{ada}/edit"));
        b.fill("#f-postal_address", "1 Main Street\nFlat 2");
        b.click("main form button[type=submit]");
        assert!(b.shows("Flat 2"), "{}", b.source());
        assert!(
            b.url().ends_with(&format!("/console/customers/{ada}")),
            "{}",
            b.url()
        );
        // The stored address comes back in the textarea and is sent again with the next edit.
        b.goto(&format!("{base}/console/customers/{ada}/edit"));
        b.fill("#f-given_name", "Augusta");
        b.click("main form button[type=submit]");
        assert!(b.shows("Augusta"), "{}", b.source());
        assert!(
            b.url().ends_with(&format!("/console/customers/{ada}")),
            "{}",
            b.url()
        );
    })
    .await;
    let access = t
        .app
        .access(&t.operator.actor("check", &["essential.service"]), None)
        .expect("access");
    let stored = t.app.customers().get(&access, ada).await.expect("read");
    assert_eq!(
        stored.fields.get("postal_address").map(String::as_str),
        Some("1 Main Street\nFlat 2"),
        "kept with a plain line feed"
    );
}
