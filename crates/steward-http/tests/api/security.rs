//! The security self-audit over real HTTP and in real headless Chromium: the API answers
//! the findings to those who may read them, a failed check shows on `/metrics`, and the
//! console page shows the failure first.

use steward_app::core::Role;

use crate::console::{PASSWORD, add_staff, in_browser, screenshots};
use crate::support::*;
use crate::webdriver::Browser;

fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reports_an_agent_without_mfa_and_metrics_show_the_failed_check() {
    let t = spawn_app().await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    add_staff(&t, "dpo@example.com", Role::Dpo).await;

    let report = t
        .req("GET", "/api/v1/security/audit", Some(&auditor), &[], None)
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(finding(&report, "MFA_COVERAGE")["status"], "pass");
    let checks = report["findings"].as_array().map_or(0, Vec::len);
    assert_eq!(checks, steward_app::check_ids().count());

    let user = add_staff(&t, "agent@example.com", Role::Agent).await;
    assert!(user.is_none(), "an agent is made without a second factor");
    let report = t
        .req("GET", "/api/v1/security/audit", Some(&auditor), &[], None)
        .await
        .json();
    let mfa = finding(&report, "MFA_COVERAGE");
    assert_eq!(mfa["status"], "fail", "{mfa}");
    assert_eq!(mfa["severity"], "high");
    assert!(!report.to_string().contains("agent@example.com"));
    let failed = report["counts"]["fail"].as_u64().unwrap_or(0);
    assert!(failed >= 1, "{report}");

    let refused = t
        .req("GET", "/api/v1/security/audit", Some(&agent), &[], None)
        .await;
    assert_eq!(refused.problem(403)["status"], 403);

    // The latest run's checks, to a reader of the figures only.
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert!(
        metrics
            .body
            .contains("steward_security_audit_failed{check=\"MFA_COVERAGE\"} 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("steward_security_audit_failed{check=\"AUDIT_CHAIN\"} 0")
    );
    let public = t.req("GET", "/metrics", None, &[], None).await;
    assert!(
        !public.body.contains("steward_security_audit"),
        "{}",
        public.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_shows_failures_first_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "auditor@example.com", Role::Auditor).await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let base = format!("http://{}", t.addr);
    let shots = screenshots();
    in_browser(move || {
        let b = Browser::start();
        b.goto(&format!("{base}/console/login"));
        b.fill("#email", "auditor@example.com");
        b.fill("#password", PASSWORD);
        b.click("main button[type=submit]");
        assert!(b.text_has("#no-purpose", "no purpose to choose"));
        b.click("#nav-security");
        assert!(b.arrives("/console/security"), "{}", b.url());
        let html = b.source().to_lowercase();
        assert!(!html.contains("<script"), "no script");
        assert!(!html.contains(" style="), "no inline style");
        assert!(!html.contains("agent@example.com"), "no staff address");

        let rows = b.script(
            "return [...document.querySelectorAll('#findings tbody tr')].map(r => ({id: r.id, class: r.className}));",
        );
        let rows = rows.as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), steward_app::check_ids().count(), "{rows:?}");
        // A fresh installation fails several checks, spread through the list (second
        // factors, the retention sweep, the controller): every failure comes first.
        let failed = rows.iter().filter(|r| r["class"] == "finding-fail").count();
        assert!(failed >= 2, "{rows:?}");
        assert!(
            rows[..failed].iter().all(|r| r["class"] == "finding-fail"),
            "{rows:?}"
        );
        assert!(
            b.exists("#finding-MFA_COVERAGE.finding-fail"),
            "the agent without a second factor"
        );
        assert!(b.text_has("#finding-MFA_COVERAGE", "Enrol an authenticator app"));
        assert!(b.exists("#finding-AUDIT_CHAIN.finding-pass"));
        let drawn = b.script(
            "const svg = document.querySelector('#chart-outcomes svg'); if (!svg) return 0; return svg.getBoundingClientRect().width;",
        );
        assert!(drawn.as_f64().unwrap_or(0.0) > 0.0, "the summary is drawn");
        b.screenshot(&shots, "security-audit");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_ending_within_thirty_days_fails_as_the_server_was_told() {
    // The test clock stands at 09:00 on 1 March 2026; this certificate ends 18 whole days
    // and 15 hours later.
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.not_after = rcgen::date_time_ymd(2026, 3, 20);
    let key = rcgen::KeyPair::generate().expect("key");
    let made = params.self_signed(&key).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, made.pem()).expect("write cert");
    let not_after = steward_http::certificate_not_after(&cert).expect("read the certificate");
    assert_eq!(not_after, "2026-03-20T00:00:00Z".parse().expect("time"));

    let facts = |not_after| steward_app::InstallationFacts {
        listen: "0.0.0.0:443".parse().expect("addr"),
        tls: true,
        certificate_not_after: Some(not_after),
        ..Default::default()
    };
    let t = spawn_app_with_options(steward_http::HttpOptions {
        limits: steward_http::Limits::unlimited(),
        facts: facts(not_after),
        ..Default::default()
    })
    .await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let report = t
        .req("GET", "/api/v1/security/audit", Some(&auditor), &[], None)
        .await
        .json();
    let expiry = finding(&report, "CERT_EXPIRY");
    assert_eq!(expiry["status"], "fail", "{expiry}");
    assert!(
        expiry["evidence"]
            .as_str()
            .unwrap_or("")
            .contains("18 days left"),
        "{expiry}"
    );
    assert_eq!(finding(&report, "TLS_LISTENER")["status"], "pass");
}
