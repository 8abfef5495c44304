//! The export's scope over HTTP: access carries every profile attribute, each labelled with
//! its source; portability carries what the customer declared and what was observed, nothing
//! inferred; any other scope is answered 422 naming `scope`.

use jiff::SignedDuration;
use steward_app::core::Clock;
use steward_app::core::Role;

use crate::support::*;

const PROFILED: &str = "personalize.content.profiled";
const DESK: &str = "essential.legal_obligation";
const SERVICE: &str = "essential.service";

/// The sources of the export's attributes, by key.
fn sources(export: &serde_json::Value) -> Vec<(String, String)> {
    export["personalization"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| {
            (
                a["key"].as_str().expect("key").to_string(),
                a["source"].as_str().expect("a source").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portability_leaves_out_what_was_inferred_and_access_labels_it() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &[SERVICE]).await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let made = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let customer = made.json()["id"].as_str().expect("id").to_string();
    let as_agent = [("X-Purpose", SERVICE)];
    let consent = t
        .req(
            "POST",
            &format!("/api/v1/customers/{customer}/consents"),
            Some(&agent),
            &as_agent,
            Some(&format!(r#"{{"purpose":"{PROFILED}","state":"given"}}"#)),
        )
        .await;
    assert_eq!(consent.status, 201, "{}", consent.body);
    let full = t
        .req(
            "PUT",
            &format!("/api/v1/customers/{customer}/personalization"),
            Some(&agent),
            &as_agent,
            Some(r#"{"level":"full"}"#),
        )
        .await;
    assert_eq!(full.status, 200, "{}", full.body);
    for days in [5, 20, 50] {
        let at = t
            .clock
            .now()
            .checked_sub(SignedDuration::from_hours(24 * days))
            .expect("time");
        let order = t
            .req(
                "POST",
                &format!("/api/v1/customers/{customer}/interactions"),
                Some(&agent),
                &as_agent,
                Some(&format!(
                    r#"{{"kind":"order","occurred_at":"{at}","summary":"an order","facets":{{"categories":["garden"]}}}}"#
                )),
            )
            .await;
        assert_eq!(order.status, 201, "{}", order.body);
    }
    t.app
        .personalization()
        .recompute(&t.operator.actor("personalization", &[PROFILED]), |_| {})
        .await
        .expect("recompute");
    let declared = t
        .req(
            "PUT",
            &format!("/api/v1/customers/{customer}/attributes/liked_categories"),
            Some(&dpo),
            &[("X-Purpose", DESK)],
            Some(r#"{"values":["books"]}"#),
        )
        .await;
    assert_eq!(declared.status, 204, "{}", declared.body);

    let export = |query: &'static str| {
        let (t, dpo, path) = (
            &t,
            &dpo,
            format!("/api/v1/customers/{customer}/export{query}"),
        );
        async move {
            t.req("GET", &path, Some(dpo), &[("X-Purpose", DESK)], None)
                .await
        }
    };
    let access = export("").await;
    assert_eq!(access.status, 200, "{}", access.body);
    let access: serde_json::Value =
        serde_json::from_str(&access.dechunked()).expect("the export is JSON");
    assert_eq!(access["scope"], "access");
    let held = sources(&access);
    for source in ["declared", "observed", "inferred"] {
        assert!(
            held.iter().any(|(_, s)| s == source),
            "access carries {source} attributes, labelled: {held:?}"
        );
    }
    let inferred: Vec<&String> = held
        .iter()
        .filter(|(_, s)| s == "inferred")
        .map(|(k, _)| k)
        .collect();

    let portable = export("?scope=portability").await;
    assert_eq!(portable.status, 200, "{}", portable.body);
    let portable: serde_json::Value =
        serde_json::from_str(&portable.dechunked()).expect("the export is JSON");
    assert_eq!(portable["scope"], "portability");
    let carried = sources(&portable);
    assert_eq!(
        carried,
        held.iter()
            .filter(|(_, s)| s != "inferred")
            .cloned()
            .collect::<Vec<_>>(),
        "portability carries the declared and observed ones only"
    );
    let csv = export("?scope=portability&format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    let csv = csv.dechunked();
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("attribute,"))
        .collect();
    assert_eq!(rows.len(), carried.len(), "{csv}");
    for key in &inferred {
        assert!(
            !rows.iter().any(|r| r.contains(key.as_str())),
            "{key} in {rows:?}"
        );
    }

    let bad = export("?scope=everything").await;
    let problem = bad.problem(422);
    assert_eq!(problem["errors"][0]["field"], "scope", "{problem}");
}
