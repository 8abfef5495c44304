//! The console and the privacy portal on a phone, 375 CSS pixels wide: no page scrolls
//! sideways as a whole (a wide table or the data map scrolls inside its own box), every chart
//! fits its card, and the header's links fold behind a menu button that opens them.

use steward_app::core::Role;
use steward_testkit::smtp::SmtpServer;

use crate::console::{add_staff, in_browser, screenshots, sign_in_with};
use crate::portal::{code_in, seed};
use crate::support::*;
use crate::webdriver::Browser;

const PHONE: u32 = 375;

/// What on the page in the window is wider than the window: the page itself, named by the
/// elements that stick out of it outside any box that scrolls, or a chart wider than its box.
fn too_wide(b: &Browser) -> Vec<String> {
    let found = b.script(
        r#"
        const w = window.innerWidth, faults = [];
        const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + [...e.classList].map(c => '.' + c).join('');
        const clipped = e => {
            for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                if (getComputedStyle(p).overflowX !== 'visible') return true;
            }
            return false;
        };
        const width = document.documentElement.scrollWidth;
        if (width > w) {
            const out = [...document.body.querySelectorAll('*')]
                .filter(e => e.getBoundingClientRect().right > w + 0.5 && !clipped(e))
                .map(name);
            faults.push(`the page is ${width}px wide in a window of ${w}px: ${out.slice(0, 8).join(', ')}`);
        }
        for (const svg of document.querySelectorAll('svg.chart')) {
            const r = svg.getBoundingClientRect(), box = svg.parentElement.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5) {
                faults.push(`chart ${svg.getAttribute('aria-labelledby')}: ${r.width}px in a box of ${box.width}px`);
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

fn fits(b: &Browser, page: &str) {
    assert!(b.arrives(page), "{page}: at {}", b.url());
    let faults = too_wide(b);
    assert!(faults.is_empty(), "{page} at {PHONE}px: {faults:#?}");
}

/// The header's links: hidden behind the menu button until it is pressed, then each one
/// inside the window; closed again, hidden again.
fn menu_folds(b: &Browser) {
    let links = |b: &Browser| {
        b.script(
            "const w = window.innerWidth; \
             return [...document.querySelectorAll('#main-menu a')].map(a => { \
                 const r = a.getBoundingClientRect(); \
                 return a.checkVisibility() && r.left >= 0 && r.right <= w; });",
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    };
    assert!(b.exists("nav .menu-open"));
    let shown = links(b);
    assert!(!shown.is_empty(), "the menu has links");
    assert!(
        shown.iter().all(|s| s == false),
        "folded away on a phone: {shown:?}"
    );
    b.click("nav .menu-open");
    let shown = links(b);
    assert!(
        shown.iter().all(|s| s == true),
        "each link in the window once opened: {shown:?}"
    );
    b.click("#main-menu .menu-close");
    assert!(links(b).iter().all(|s| s == false), "and folded again");
}

/// Signs in afresh: the previous staff member's session goes first.
fn sign_in(b: &Browser, base: &str, email: &str, code: Option<&str>, purpose: &str) {
    b.delete_cookies();
    sign_in_with(b, base, email, code, purpose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_and_portal_pages_fit_a_phone_screen_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a dpo has a second factor");
    let code = totp_now(&uri, t.app.now());
    let grace = seed(&t, "grace@example.com").await;
    let company = t
        .app
        .companies()
        .create(
            &t.operator.actor("setup", &[]),
            steward_app::CompanyInput {
                name: "Grace Works".into(),
                ..Default::default()
            },
        )
        .await
        .expect("company")
        .id;
    let base = format!("http://{}", t.addr);
    let shots = screenshots();

    let b = in_browser({
        let (base, shots) = (base.clone(), shots.clone());
        move || {
            let b = Browser::start();
            b.window_size(PHONE, 800);
            b.goto(&format!("{base}/console/login"));
            let inner = b.script("return window.innerWidth;").as_u64();
            assert_eq!(inner, Some(u64::from(PHONE)), "the window is a phone's");
            fits(&b, "/console/login");

            sign_in(&b, &base, "agent@example.com", None, "essential.service");
            for page in [
                "/console".to_string(),
                "/console/customers".into(),
                format!("/console/customers/{grace}"),
                format!("/console/customers/{grace}/edit"),
                "/console/companies".into(),
                "/console/companies/new".into(),
                format!("/console/companies/{company}"),
                "/console/catalog".into(),
            ] {
                b.goto(&format!("{base}{page}"));
                fits(&b, &page);
            }
            b.goto(&format!("{base}/console/customers/{grace}"));
            b.screenshot(&shots, "phone-customer");
            menu_folds(&b);
            b.click("nav .menu-open");
            b.screenshot(&shots, "phone-menu");
            b.click("#main-menu a[href='/console/customers']");
            fits(&b, "/console/customers");

            sign_in(
                &b,
                &base,
                "marketer@example.com",
                None,
                "marketing.communications.email",
            );
            for page in ["/console/campaigns", "/console/offers"] {
                b.goto(&format!("{base}{page}"));
                fits(&b, page);
            }
            b.screenshot(&shots, "phone-campaigns");

            sign_in(
                &b,
                &base,
                "dpo@example.com",
                Some(&code),
                "essential.legal_obligation",
            );
            for page in [
                "/console/requests",
                "/console/retention",
                "/console/breaches",
                "/console/vendors",
                "/console/ropa",
                "/console/audit",
                "/console/security",
            ] {
                b.goto(&format!("{base}{page}"));
                fits(&b, page);
            }
            b.goto(&format!("{base}/console"));
            fits(&b, "/console");
            b.screenshot(&shots, "phone-dashboard");

            b.delete_cookies();
            b.goto(&format!("{base}/privacy"));
            fits(&b, "/privacy");
            b.goto(&format!("{base}/portal"));
            fits(&b, "/portal");
            b.fill("#email", "grace@example.com");
            b.click("#send-code");
            assert!(b.shows("six-digit code"), "{}", b.source());
            b
        }
    })
    .await;
    let mail = smtp.wait_for(1).remove(0);
    let code = code_in(&mail.body);
    in_browser(move || {
        b.fill("#code", &code);
        b.click("#sign-in");
        fits(&b, "/portal/me");
        b.screenshot(&shots, "phone-portal");
        for page in ["/portal/me/personalization", "/portal/me/recommendations"] {
            b.goto(&format!("{base}{page}"));
            fits(&b, page);
        }

        // On a wide screen the same links stand in a row, with no button.
        b.window_size(1280, 800);
        sign_in(
            &b,
            &base,
            "agent@example.com",
            None,
            "essential.service",
        );
        let wide = b.script(
            "return [getComputedStyle(document.querySelector('nav .menu-open')).display, \
                     [...document.querySelectorAll('#main-menu a')].every(a => a.checkVisibility())];",
        );
        assert_eq!(wide, serde_json::json!(["none", true]), "{wide}");
        b.click("#main-menu a[href='/console/catalog']");
        assert!(b.arrives("/console/catalog"), "{}", b.url());
    })
    .await;
}
