//! Art. 19 over real HTTP: a customer disclosed to two vendors restricts and then erases their
//! account in the portal; each change makes one notice per vendor, the portal names both
//! recipients (on the signed-in page, and in the answer to the erasure, after which the
//! customer can no longer sign in), and the privacy officer records how telling them went.

use serde_json::Value;
use steward_app::core::Role;
use steward_testkit::smtp::SmtpServer;

use crate::console::{add_staff, post_form, staff_cookie};
use crate::portal::{Visitor, code_in, visible};
use crate::sharing::{agreement, gauge, processor, review, review_questions};
use crate::support::*;

const VENDORS: [&str; 2] = ["Postwerk Mail Ltd", "Kundenhaus GmbH"];

/// A vendor named `name` in good order under an email-marketing agreement, through the API.
async fn vendor(t: &TestApp, dpo: &str, name: &str) -> String {
    let mut input = processor("DE");
    input["legal_name"] = Value::from(name);
    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(dpo),
            &[],
            Some(&input.to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().expect("id").to_string();
    for (path, body) in [
        (
            format!("/api/v1/vendors/{id}/reviews"),
            review(&review_questions()),
        ),
        ("/api/v1/agreements".to_string(), agreement(&id)),
    ] {
        let made = t
            .req("POST", &path, Some(dpo), &[], Some(&body.to_string()))
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    id
}

fn names(notices: &Value) -> Vec<String> {
    let mut names: Vec<String> = notices
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| n["vendor"].as_str().expect("vendor").to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_customer_disclosed_to_two_vendors_tells_both_and_the_portal_lists_them() {
    let smtp = SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let ines = crate::sharing::consenting_ines(&t).await;
    for name in VENDORS {
        let id = vendor(&t, &dpo, name).await;
        let shared = t
            .req(
                "POST",
                "/api/v1/shares",
                Some(&dpo),
                &[],
                Some(&format!(
                    r#"{{"vendor_id":"{id}","purpose":"marketing.communications.email","fields":["email"],"customer_ids":["{ines}"]}}"#
                )),
            )
            .await;
        assert_eq!(shared.status, 201, "{}", shared.body);
    }
    let mut expected: Vec<String> = VENDORS.iter().map(|v| v.to_string()).collect();
    expected.sort();

    // Restricted in the portal: both recipients are listed on the signed-in page.
    let mut v = Visitor::new(&t);
    v.ask_code("ines@example.com").await;
    let code = code_in(&smtp.wait_for(1)[0].body);
    let (to, _) = v.enter(&code).await;
    assert_eq!(to, "/portal/me");
    let (to, page) = v.post_and_follow("/portal/me/restrict", &[]).await;
    assert_eq!(to, "/portal/me?done=restricted");
    let section = visible(&page.body);
    let told = &section[section
        .find("Recipients told of changes")
        .expect("the section")..];
    for name in VENDORS {
        assert!(told.contains(name), "{name} in {told}");
    }
    assert!(
        told.contains("The use of your data was restricted"),
        "{told}"
    );

    // The page after an erasure names no one from notices of anything else, nor of anyone
    // not erased, whatever ids a browser sends it.
    let restriction = t
        .req(
            "GET",
            &format!("/api/v1/customers/{ines}/recipient-notices"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    let ids: Vec<String> = restriction
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| n["id"].as_str().expect("id").replace('-', ""))
        .collect();
    assert_eq!(ids.len(), 2, "{}", restriction.body);
    let forged = format!("steward_portal_told={}", ids.join("."));
    let shown = t
        .req(
            "GET",
            "/portal?done=erased",
            None,
            &[("Cookie", &forged)],
            None,
        )
        .await;
    assert_eq!(shown.status, 200);
    assert!(
        !VENDORS.iter().any(|n| shown.body.contains(n)),
        "{}",
        shown.body
    );

    // Erased in the portal: the answer names both recipients that will be told.
    let (to, page) = v
        .post_and_follow("/portal/me/erase", &[("confirm", "ERASE")])
        .await;
    assert_eq!(to, "/portal?done=erased");
    let text = visible(&page.body);
    assert!(text.contains("Your data is erased"), "{text}");
    let told = &text[text
        .find("Recipients told of changes")
        .expect("the section")..];
    for name in VENDORS {
        assert!(told.contains(name), "{name} in {told}");
    }
    assert!(told.contains("Your data was erased"), "{told}");
    assert!(
        !told.contains("The use of your data was restricted"),
        "only the erasure: {told}"
    );
    // Someone else's browser, without the erasure's cookie, is told of no one.
    let stranger = t.req("GET", "/portal?done=erased", None, &[], None).await;
    assert!(
        !VENDORS.iter().any(|n| stranger.body.contains(n)),
        "{}",
        stranger.body
    );

    // Exactly two erasure notices, one per recipient, in the API.
    let all = t
        .req(
            "GET",
            &format!("/api/v1/customers/{ines}/recipient-notices"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    let erasure: Vec<Value> = all
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .filter(|n| n["kind"] == "erasure")
        .cloned()
        .collect();
    assert_eq!(names(&Value::from(erasure.clone())), expected);
    let pending = t
        .req(
            "GET",
            "/api/v1/recipient-notices?status=pending",
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.json().as_array().map(Vec::len), Some(4));
    let bad = t
        .req(
            "GET",
            "/api/v1/recipient-notices?status=done",
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Moves the status does not allow are refused with their code; a reason is needed for
    // impossible; allowed moves answer the notice as it now stands.
    let notice = erasure[0]["id"].as_str().expect("id").to_string();
    let mark = |body: &'static str| {
        let url = format!("/api/v1/recipient-notices/{notice}/status");
        let dpo = dpo.clone();
        let t = &t;
        async move { t.req("POST", &url, Some(&dpo), &[], Some(body)).await }
    };
    let refused = mark(r#"{"status":"acknowledged"}"#).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["code"], "TRANSITION_NOT_ALLOWED");
    let refused = mark(r#"{"status":"impossible"}"#).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["field"], "reason");
    let refused = mark(r#"{"status":"lost"}"#).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let sent = mark(r#"{"status":"sent"}"#).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json()["status"], "sent");
    let acknowledged = mark(r#"{"status":"acknowledged"}"#).await;
    assert_eq!(acknowledged.json()["status"], "acknowledged");

    // The privacy officer records another in the console; a move its status does not allow
    // is refused on the page, and so is impossible without a reason.
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a second factor");
    let officer = staff_cookie(
        &t,
        "dpo@example.com",
        Some(&uri),
        Some("essential.legal_obligation"),
    )
    .await;
    const PAGE: &str = "/console/recipient-notices";
    let page = t
        .req("GET", PAGE, None, &[("Cookie", &officer)], None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let open = visible(&page.body);
    for name in VENDORS {
        assert!(open.contains(name), "{name} in {open}");
    }
    let other = erasure[1]["id"].as_str().expect("id");
    let sent = post_form(&t, &officer, PAGE, &format!("{PAGE}/{other}/sent"), "").await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let restricted = restriction.json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let refused = post_form(
        &t,
        &officer,
        PAGE,
        &format!("{PAGE}/{restricted}/acknowledged"),
        "",
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        visible(&refused.body).contains("that is pending cannot become acknowledged"),
        "{}",
        refused.body
    );
    let refused = post_form(
        &t,
        &officer,
        PAGE,
        &format!("{PAGE}/{restricted}/impossible"),
        "reason=",
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        visible(&refused.body).contains("say why the recipient cannot be told"),
        "{}",
        refused.body
    );
    let marked = t
        .req(
            "GET",
            &format!("/api/v1/customers/{ines}/recipient-notices"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    let status_of = |id: &str| {
        marked
            .json()
            .as_array()
            .expect("a list")
            .iter()
            .find(|n| n["id"] == id)
            .map(|n| n["status"].clone())
    };
    assert_eq!(status_of(other), Some(Value::from("sent")));
    assert_eq!(status_of(&restricted), Some(Value::from("pending")));

    // None is overdue yet; past the due date the two still to be sent are, in the gauge, in
    // the overdue list and on the dashboard.
    let overdue = |metrics: &Reply| gauge(&metrics.body, "steward_recipient_notices_overdue");
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert_eq!(overdue(&metrics), Some(0), "{}", metrics.body);
    t.clock.advance(jiff::SignedDuration::from_hours(31 * 24));
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert_eq!(overdue(&metrics), Some(2), "{}", metrics.body);
    let listed = t
        .req(
            "GET",
            "/api/v1/recipient-notices?overdue=true",
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(listed.json().as_array().map(Vec::len), Some(2));
    let officer = staff_cookie(
        &t,
        "dpo@example.com",
        Some(&uri),
        Some("essential.legal_obligation"),
    )
    .await;
    let dashboard = t
        .req("GET", "/console", None, &[("Cookie", &officer)], None)
        .await;
    assert!(
        dashboard
            .body
            .contains("<strong>2</strong> notices to recipients of changed data are overdue"),
        "{}",
        dashboard.body
    );
}
