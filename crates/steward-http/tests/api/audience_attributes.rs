//! Profile attributes in segments, audiences and campaigns over HTTP: a filter names the
//! attributes it needs and keeps them when saved, an unknown key is answered 422 naming it,
//! and a campaign body with an unknown merge field is refused naming `body`.

use steward_app::core::Role;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_conditions_and_merge_fields_are_checked_by_name() {
    let t = spawn_app().await;
    let marketer = t.token(Role::Marketer, &[EMAIL]).await;
    let post = |path: &'static str, body: String| {
        let (t, marketer) = (&t, &marketer);
        async move { t.req("POST", path, Some(marketer), &[], Some(&body)).await }
    };

    let unknown = post(
        "/api/v1/audiences",
        format!(
            r#"{{"purpose":"{EMAIL}","filter":{{"attributes":[{{"key":"favourite_category"}},{{"key":"shoe_size"}}]}}}}"#
        ),
    )
    .await;
    let problem = unknown.problem(422);
    assert_eq!(
        problem["errors"][0]["field"], "filter.attributes[1].key",
        "{problem}"
    );
    let counted = post(
        "/api/v1/audiences",
        format!(
            r#"{{"purpose":"{EMAIL}","filter":{{"attributes":[{{"key":"favourite_category","equals":"garden"}}]}}}}"#
        ),
    )
    .await;
    assert_eq!(counted.status, 200, "{}", counted.body);
    assert_eq!(counted.json()["count"], 0);

    let saved = post(
        "/api/v1/segments",
        r#"{"name":"Gardeners","filter":{"attributes":[{"key":"favourite_category","equals":"garden"}]}}"#.into(),
    )
    .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert_eq!(
        saved.json()["filter"]["attributes"],
        serde_json::json!([{"key": "favourite_category", "equals": "garden"}])
    );

    let campaign = |body: &str| {
        format!(
            r#"{{"name":"New in","purpose":"{EMAIL}","subject":"New this week","body":"{body}"}}"#
        )
    };
    let refused = post(
        "/api/v1/campaigns",
        campaign("Hi {{attribute:shoe_size|there}}"),
    )
    .await;
    let problem = refused.problem(422);
    assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
    let made = post(
        "/api/v1/campaigns",
        campaign(
            "Hi {{field:given_name|there}}, new in {{attribute:favourite_category|everything}}",
        ),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
}
