//! The keyboard alone: Tab reaches every control on the console's and the portal's busiest
//! pages, in turn, and each shows a focus ring while it has the focus.

use steward_app::core::Role;
use steward_testkit::smtp::SmtpServer;

use crate::console::{PASSWORD, add_staff, in_browser, sign_in_for};
use crate::portal::{code_in, seed};
use crate::support::*;
use crate::webdriver::Browser;

const TAB: char = '\u{E004}';

/// Numbers every control a keyboard should reach on the page (shown, enabled, and of a radio
/// group only the first, since arrows move within a group), puts the keyboard at the top of
/// the page (a field may have taken the focus as the page opened), and returns how many
/// controls there are.
const MARK_CONTROLS: &str = r#"
const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), '
    + 'select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
const groups = new Set();
let n = 0;
for (const e of document.querySelectorAll(selector)) {
    if (!e.checkVisibility()) continue;
    if (e.type === 'radio') {
        const group = (e.form ? e.form.id || [...document.forms].indexOf(e.form) : '') + '/' + e.name;
        if (groups.has(group)) continue;
        groups.add(group);
    }
    e.dataset.control = n++;
}
const top = document.createElement('span');
top.tabIndex = -1;
document.body.prepend(top);
top.focus();
return n;
"#;

/// The control that has the focus, and whether it shows a ring a sighted keyboard user sees.
const FOCUSED: &str = r#"
const e = document.activeElement;
if (!e || e === document.body || e.dataset.control === undefined && e.tabIndex < 0) return null;
const style = getComputedStyle(e);
const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? `[name=${e.name}]` : '');
return { control: e.dataset.control === undefined ? null : Number(e.dataset.control), ring, name };
"#;

/// Tabs through the page in the window from its top; fails naming each control Tab never
/// reached, and each that had the focus without a ring.
fn tabs_through(b: &Browser, page: &str) {
    let controls = b.script(MARK_CONTROLS).as_u64().unwrap_or(0) as usize;
    assert!(controls > 3, "{page} has controls to reach: {controls}");
    let mut reached = vec![false; controls];
    let mut ringless = Vec::new();
    // A date field takes a Tab for each of its parts.
    for _ in 0..controls * 3 + 10 {
        b.press(TAB);
        let focused = b.script(FOCUSED);
        if focused.is_null() {
            break;
        }
        if focused["ring"] != true {
            ringless.push(focused["name"].as_str().unwrap_or("?").to_string());
        }
        match focused["control"].as_u64().map(|i| i as usize) {
            Some(0) if reached[0] => break,
            Some(i) if i < controls => reached[i] = true,
            _ => {}
        }
    }
    let missed: Vec<String> = reached
        .iter()
        .enumerate()
        .filter(|(_, r)| !**r)
        .map(|(i, _)| {
            b.script(&format!(
                "const e = document.querySelector('[data-control=\"{i}\"]'); \
                 return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.textContent.trim().slice(0, 40);"
            ))
            .as_str()
            .unwrap_or("?")
            .to_string()
        })
        .collect();
    assert!(missed.is_empty(), "{page}: Tab never reached {missed:?}");
    assert!(ringless.is_empty(), "{page}: no focus ring on {ringless:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_reaches_every_control_and_shows_where_it_is_in_a_browser() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    add_staff(&t, "marketer@example.com", Role::Marketer).await;
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

    let b = in_browser({
        let base = base.clone();
        move || {
            let b = Browser::start();
            b.goto(&format!("{base}/console/login"));
            tabs_through(&b, "/console/login");
            b.fill("#email", "agent@example.com");
            b.fill("#password", PASSWORD);
            b.click("main button[type=submit]");
            b.click("input[value='essential.service']");
            b.click("main button[type=submit]");
            assert!(b.arrives("/console/customers"), "{}", b.url());
            for page in [
                "/console".to_string(),
                "/console/customers".into(),
                format!("/console/customers/{grace}"),
                format!("/console/customers/{grace}/edit"),
                "/console/companies".into(),
                "/console/companies/new".into(),
                format!("/console/companies/{company}"),
            ] {
                b.goto(&format!("{base}{page}"));
                tabs_through(&b, &page);
            }

            b.delete_cookies();
            sign_in_for(
                &b,
                &base,
                "marketer@example.com",
                "marketing.communications.email",
            );
            b.goto(&format!("{base}/console/campaigns"));
            tabs_through(&b, "/console/campaigns");

            b.delete_cookies();
            b.goto(&format!("{base}/portal"));
            b.fill("#email", "grace@example.com");
            b.click("#send-code");
            assert!(b.shows("six-digit code"), "{}", b.source());
            b
        }
    })
    .await;
    let code = code_in(&smtp.wait_for(1).remove(0).body);
    in_browser(move || {
        b.fill("#code", &code);
        b.click("#sign-in");
        assert!(b.arrives("/portal/me"), "{}", b.url());
        tabs_through(&b, "/portal/me");
        b.goto(&format!("{base}/portal/me/personalization"));
        tabs_through(&b, "/portal/me/personalization");
        b.goto(&format!("{base}/privacy"));
        tabs_through(&b, "/privacy");
    })
    .await;
}
