use steward_app::core::Role;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_read_update_with_etags_and_conflicts() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let created = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = created.json();
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/customers/{id}").as_str())
    );
    assert_eq!(body["fields"]["email"], "ada@example.com");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(created.header(name), Some(value), "{name}");
    }
    assert!(created.header("x-request-id").is_some());

    let path = format!("/api/v1/customers/{id}");
    let read = t.req("GET", &path, tok, &[], None).await;
    assert_eq!((read.status, read.header("etag")), (200, Some("\"1\"")));

    let patch = r#"{"fields":{"given_name":"Augusta"}}"#;
    t.req("PATCH", &path, tok, &[], Some(patch))
        .await
        .problem(428);
    let ok = t
        .req("PATCH", &path, tok, &[("If-Match", "\"1\"")], Some(patch))
        .await;
    assert_eq!(
        (ok.status, ok.header("etag")),
        (200, Some("\"2\"")),
        "{}",
        ok.body
    );
    assert_eq!(ok.json()["fields"]["given_name"], "Augusta");
    let stale = t
        .req("PATCH", &path, tok, &[("If-Match", "\"1\"")], Some(patch))
        .await
        .problem(412);
    assert!(
        stale["detail"]
            .as_str()
            .is_some_and(|d| d.contains("reload")),
        "{stale}"
    );

    let listed = t
        .req(
            "GET",
            "/api/v1/customers?email=ADA%40example.com",
            tok,
            &[],
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["items"][0]["id"], id.as_str());
    let dup = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await
        .problem(409);
    assert_eq!(dup["errors"][0]["field"], "fields.email");

    let i = t
        .req(
            "POST",
            &format!("{path}/interactions"),
            tok,
            &[],
            Some(r#"{"kind":"call","summary":"Asked about delivery"}"#),
        )
        .await;
    assert_eq!(i.status, 201, "{}", i.body);
    let timeline = t
        .req("GET", &format!("{path}/interactions"), tok, &[], None)
        .await;
    assert_eq!(
        timeline.json()["items"][0]["summary"],
        "Asked about delivery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_problems_and_change_nothing() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let post = |body: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let t = &t;
        async move {
            t.req("POST", "/api/v1/customers", tok, headers, Some(body))
                .await
        }
    };
    let p = post(r#"{"fields": {"email": "#, &[]).await.problem(400);
    assert_eq!(p["errors"][0]["field"], "body");
    post(r#"{"fields":{},"residency":"DE","colour":"red"}"#, &[])
        .await
        .problem(422);
    let p = post(
        r#"{"fields":{"email":"a@example.com","shoe_size":"42"},"residency":"DE"}"#,
        &[],
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["field"], "fields.shoe_size");
    let p = post(
        r#"{"fields":{"email":"not an email"},"residency":"Narnia"}"#,
        &[],
    )
    .await
    .problem(422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["residency", "fields.email"]);
    post(
        r#"{"fields":{"email":"a@example.com"},"residency":"DE"}"#,
        &[("Content-Type", "text/plain")],
    )
    .await
    .problem(415);
    let huge = format!(
        r#"{{"fields":{{"notes":"{}"}},"residency":"DE"}}"#,
        "x".repeat(300_000)
    );
    t.req("POST", "/api/v1/customers", tok, &[], Some(&huge))
        .await
        .problem(413);
    assert_eq!(
        t.app.customers().count().await.expect("count"),
        0,
        "no refused write left anything behind"
    );

    t.req("GET", "/api/v1/customers/not-a-uuid", tok, &[], None)
        .await
        .problem(400);
    t.req(
        "GET",
        "/api/v1/customers/0190a0a0-0000-7000-8000-000000000000",
        tok,
        &[],
        None,
    )
    .await
    .problem(404);
    t.req("GET", "/api/v1/customers?cursor=%25%25", tok, &[], None)
        .await
        .problem(422);
    t.req("GET", "/api/v1/customers?limit=-3", tok, &[], None)
        .await
        .problem(400);
    t.req("GET", "/api/v1/customers?colour=red", tok, &[], None)
        .await
        .problem(400);
    // Names are personal and sealed: the list does not sort on them.
    let p = t
        .req("GET", "/api/v1/customers?sort=name", tok, &[], None)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "sort", "{p}");
    let p = t
        .req("GET", "/api/v1/customers?page=0", tok, &[], None)
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["field"], "page", "{p}");
    t.req(
        "GET",
        "/api/v1/customers?updated_after=yesterday",
        tok,
        &[],
        None,
    )
    .await
    .problem(400);
    t.req("GET", "/api/v1/nowhere", tok, &[], None)
        .await
        .problem(404);
    t.req("PUT", "/api/v1/customers", tok, &[], None)
        .await
        .problem(405);
    let p = t
        .req(
            "GET",
            "/api/v1/customers",
            tok,
            &[("X-Purpose", "selling.data")],
            None,
        )
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["field"], "X-Purpose");
    let both = t.token(Role::Agent, &[]).await;
    t.req("GET", "/api/v1/customers", Some(both.as_str()), &[], None)
        .await
        .problem(400);
    t.req("GET", "/api/v1/customers", Some("stw_nope"), &[], None)
        .await
        .problem(401);
    t.req(
        "GET",
        "/api/v1/customers",
        None,
        &[("Authorization", "Basic YTpi")],
        None,
    )
    .await
    .problem(401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_to_the_last_page_without_gaps() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let mut ids = Vec::new();
    for i in 0..12 {
        let body = format!(r#"{{"fields":{{"email":"p{i}@example.com"}},"residency":"DE"}}"#);
        ids.push(
            t.req("POST", "/api/v1/customers", tok, &[], Some(&body))
                .await
                .json()["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/customers?limit=5".to_string();
    loop {
        let page = t.req("GET", &url, tok, &[], None).await.json();
        assert_eq!(page["limit"], 5);
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/customers?limit=5&cursor={c}"),
            None => break,
        }
    }
    ids.sort();
    assert_eq!(seen, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_can_be_revoked() {
    let t = spawn_app().await;
    let admin = t.token(Role::Admin, &[]).await;
    let created = t
        .req("POST", "/api/v1/tokens", Some(&admin), &[], Some(r#"{"name":"ci","role":"agent","purposes":["essential.service"],"expires_at":"2026-03-02T09:00:00Z"}"#))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().expect("token").to_string();
    let id = created.json()["id"].as_str().expect("id").to_string();
    let me = t.req("GET", "/api/v1/me", Some(&token), &[], None).await;
    assert_eq!(me.json()["role"], "agent");
    let listed = t
        .req("GET", "/api/v1/tokens", Some(&admin), &[], None)
        .await;
    assert!(
        !listed.body.contains(&token),
        "a token is shown once, never listed"
    );

    t.clock.advance(jiff::SignedDuration::from_hours(25));
    t.req("GET", "/api/v1/me", Some(&token), &[], None)
        .await
        .problem(401);

    let second = t
        .req(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            &[],
            Some(r#"{"name":"ci2","role":"agent"}"#),
        )
        .await
        .json();
    let token2 = second["token"].as_str().expect("token").to_string();
    assert_eq!(
        t.req("GET", "/api/v1/me", Some(&token2), &[], None)
            .await
            .status,
        200
    );
    let revoke = t
        .req(
            "DELETE",
            &format!("/api/v1/tokens/{}", second["id"].as_str().expect("id")),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(revoke.status, 204);
    t.req("GET", "/api/v1/me", Some(&token2), &[], None)
        .await
        .problem(401);
    t.req(
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    let p = t
        .req(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            &[],
            Some(r#"{"name":"x","role":"auditor","purposes":["essential.service"]}"#),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "purposes[0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_searchable_and_verifiable_over_http() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let created = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await
        .json();
    let id = created["id"].as_str().expect("id");
    t.req(
        "GET",
        &format!("/api/v1/customers/{id}"),
        Some(&agent),
        &[],
        None,
    )
    .await;
    let reads = t
        .req(
            "GET",
            &format!("/api/v1/audit?action=customer.read&target={id}"),
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(reads.status, 200, "{}", reads.body);
    let items = reads.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["purpose"], "essential.service");
    assert!(
        !reads.body.contains("ada@example.com"),
        "the audit log names fields, never values"
    );
    let verify = t
        .req("GET", "/api/v1/audit/verify", Some(&auditor), &[], None)
        .await
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
    let page = t
        .req("GET", "/api/v1/audit?limit=1", Some(&auditor), &[], None)
        .await
        .json();
    assert!(page["next_cursor"].is_string(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_personal_values_or_tokens() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let created = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await
        .json();
    let id = created["id"].as_str().expect("id").to_string();
    t.req(
        "GET",
        "/api/v1/customers?email=ada%40example.com",
        Some(&agent),
        &[],
        None,
    )
    .await;
    t.req(
        "GET",
        &format!("/api/v1/customers/{id}"),
        Some(&agent),
        &[],
        None,
    )
    .await;
    t.req(
        "GET",
        "/api/v1/customers",
        Some("stw_a-wrong-token"),
        &[],
        None,
    )
    .await;
    let log = String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        log.contains(r#"route="/api/v1/customers/{id}" status=200"#),
        "requests are logged:\n{log}"
    );
    for secret in ["@example.com", "stw_", "Lovelace", "Ada"] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_password_and_second_factor() {
    let t = spawn_app().await;
    let admin = t.operator.actor("setup", &[]);
    let created = t
        .app
        .accounts()
        .add_user(
            &admin,
            steward_app::NewUser {
                email: "dpo@example.com".into(),
                role: Role::Dpo,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let uri = created.totp_uri.expect("a dpo gets a second factor");
    let login = |body: String| {
        let t = &t;
        async move {
            t.req("POST", "/api/v1/auth/login", None, &[], Some(&body))
                .await
        }
    };
    let wrong = login(r#"{"email":"dpo@example.com","password":"wrong horse battery"}"#.into())
        .await
        .problem(401);
    let unknown =
        login(r#"{"email":"nobody@example.com","password":"wrong horse battery"}"#.into())
            .await
            .problem(401);
    assert_eq!(
        wrong["detail"], unknown["detail"],
        "the answer does not reveal whether the account exists"
    );
    let p =
        login(r#"{"email":"dpo@example.com","password":"correct horse battery staple"}"#.into())
            .await
            .problem(401);
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("code")),
        "{p}"
    );
    login(
        r#"{"email":"dpo@example.com","password":"correct horse battery staple","totp":"000000"}"#
            .into(),
    )
    .await
    .problem(401);
    let code = totp_now(&uri, t.app.now());
    let ok = login(format!(
        r#"{{"email":"dpo@example.com","password":"correct horse battery staple","totp":"{code}"}}"#
    ))
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let token = ok.json()["token"].as_str().expect("token").to_string();
    let me = t
        .req("GET", "/api/v1/me", Some(&token), &[], None)
        .await
        .json();
    assert_eq!(me["role"], "dpo");
    assert_eq!(
        t.req("POST", "/api/v1/auth/logout", Some(&token), &[], None)
            .await
            .status,
        204
    );
    t.req("GET", "/api/v1/me", Some(&token), &[], None)
        .await
        .problem(401);
}

/// What a source sees of a sign-in: the status and, when it must wait, for how long.
async fn sign_in(
    t: &TestApp,
    from: Option<std::net::Ipv4Addr>,
    body: &str,
) -> (u16, Option<String>) {
    let r = t
        .req_from(from, "POST", "/api/v1/auth/login", None, &[], Some(body))
        .await;
    (r.status, r.header("retry-after").map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_slow_down_their_source_and_never_lock_the_owner_out() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let admin = t.operator.actor("setup", &[]);
    t.app
        .accounts()
        .add_user(
            &admin,
            steward_app::NewUser {
                email: "agent@example.com".into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let wrong = r#"{"email":"agent@example.com","password":"not the password"}"#;
    let right = r#"{"email":"agent@example.com","password":"correct horse battery staple"}"#;
    let attacker = None;
    let owner = Some(std::net::Ipv4Addr::new(127, 0, 0, 2));

    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(sign_in(&t, attacker, wrong).await);
    }
    let unauthorised = (401, None);
    assert_eq!(
        seen,
        [
            unauthorised.clone(),
            unauthorised.clone(),
            unauthorised.clone(),
            unauthorised.clone(),
            (429, Some("1".to_string()))
        ],
        "three free tries, then waits"
    );
    // While it waits, the failing source learns nothing, not even from the right password.
    assert_eq!(sign_in(&t, attacker, right).await.0, 429);
    // One wrong try after every wait, for a day: the waits grow to a quarter of an hour...
    let mut waits = Vec::new();
    for _ in 0..100 {
        t.clock.advance(jiff::SignedDuration::from_secs(
            waits.last().copied().unwrap_or(1),
        ));
        let (status, _) = sign_in(&t, attacker, wrong).await;
        assert_eq!(status, 401);
        let (status, retry) = sign_in(&t, attacker, wrong).await;
        assert_eq!(status, 429);
        waits.push(
            retry
                .and_then(|r| r.parse::<i64>().ok())
                .expect("retry-after"),
        );
    }
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    assert_eq!(waits.last(), Some(&900));
    // ...and the owner, from elsewhere, signs in at once all the same.
    let (status, _) = sign_in(&t, owner, right).await;
    assert_eq!(status, 200);

    // The owner was told, a few times rather than a hundred.
    t.app.outbox().deliver_due().await.expect("deliver");
    let alerts = smtp.wait_for(3);
    assert!(
        alerts.iter().all(|m| m
            .header("To")
            .is_some_and(|to| to.contains("agent@example.com"))
            && m.body.contains("failed attempts")),
        "{alerts:?}"
    );
    let failed = t
        .app
        .audit()
        .entries(&t.operator.actor("check", &[]), 0, 500)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.record.action == "login.failed")
        .count();
    assert_eq!(failed, 104, "every failure that was checked is audited");

    // An address no one has is answered exactly like a known one.
    let stranger = Some(std::net::Ipv4Addr::new(127, 0, 0, 3));
    let nobody = r#"{"email":"nobody@example.com","password":"not the password"}"#;
    let known = Some(std::net::Ipv4Addr::new(127, 0, 0, 4));
    let mut answers = (Vec::new(), Vec::new());
    for _ in 0..6 {
        answers.0.push(sign_in(&t, stranger, nobody).await);
        answers.1.push(sign_in(&t, known, wrong).await);
    }
    assert_eq!(answers.0, answers.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_factors_get_through_a_wait_and_one_alone_does_not() {
    let t = spawn_app().await;
    let admin = t.operator.actor("setup", &[]);
    let created = t
        .app
        .accounts()
        .add_user(
            &admin,
            steward_app::NewUser {
                email: "dpo@example.com".into(),
                role: Role::Dpo,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let uri = created.totp_uri.expect("an authenticator to enrol");
    let wrong = r#"{"email":"dpo@example.com","password":"not the password"}"#;
    for _ in 0..4 {
        assert_eq!(sign_in(&t, None, wrong).await.0, 401);
    }
    let code = totp_now(&uri, t.app.now());
    let password_only = r#"{"email":"dpo@example.com","password":"correct horse battery staple"}"#;
    let bad_code =
        r#"{"email":"dpo@example.com","password":"correct horse battery staple","totp":"000000"}"#
            .replace("000000", if code == "000000" { "111111" } else { "000000" });
    assert_eq!(sign_in(&t, None, password_only).await.0, 429);
    assert_eq!(sign_in(&t, None, &bad_code).await.0, 429);
    let both = format!(
        r#"{{"email":"dpo@example.com","password":"correct horse battery staple","totp":"{code}"}}"#
    );
    assert_eq!(sign_in(&t, None, &both).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_per_client_address() {
    let t = spawn_app_with(steward_http::Limits::default()).await;
    // A different address each time, so that only the limit per client address applies.
    let body =
        |i: usize| format!(r#"{{"email":"someone{i}@example.com","password":"guessing again"}}"#);
    let burst = steward_http::Limits::default().login_per_client.burst as usize;
    for i in 0..burst {
        t.req("POST", "/api/v1/auth/login", None, &[], Some(&body(i)))
            .await
            .problem(401);
    }
    let limited = t
        .req("POST", "/api/v1/auth/login", None, &[], Some(&body(burst)))
        .await;
    limited.problem(429);
    assert!(
        limited
            .header("retry-after")
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(
        t.req("GET", "/healthz", None, &[], None).await.status,
        200,
        "other routes keep their own budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_without_identifiers() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let created = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await
        .json();
    let id = created["id"].as_str().expect("id").to_string();
    t.req(
        "GET",
        &format!("/api/v1/customers/{id}"),
        Some(&agent),
        &[],
        None,
    )
    .await;
    let metrics = t.req("GET", "/metrics", None, &[], None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains(r#"steward_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="200"} 1"#),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("steward_http_request_duration_seconds_bucket"),
        "{}",
        metrics.body
    );
    assert!(
        !metrics.body.contains("steward_customers"),
        "counts of personal records need a token: {}",
        metrics.body
    );
    assert!(
        !metrics.body.contains(&id) && !metrics.body.contains("example.com"),
        "{}",
        metrics.body
    );
    let auditor = t.token(Role::Auditor, &[]).await;
    let counted = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert!(
        counted.body.contains("steward_customers 1"),
        "{}",
        counted.body
    );
    t.req("GET", "/metrics", Some(&agent), &[], None)
        .await
        .problem(403);
}

/// Sends the public newsletter form as a browser would: its page first, for the token.
async fn sign_up(t: &TestApp, email: &str) {
    let page = t.req("GET", "/forms/newsletter", None, &[], None).await;
    let cookie = page
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a form cookie")
        .to_string();
    let csrf = page
        .body
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token")
        .to_string();
    let body = format!(
        "csrf={csrf}&field.email={}&purpose.marketing.communications.email=yes&residency=DE",
        email.replace('@', "%40")
    );
    let sent = t
        .req(
            "POST",
            "/forms/newsletter",
            None,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie),
            ],
            Some(&body),
        )
        .await;
    assert!(sent.status < 400, "{} {}", sent.status, sent.body);
}

async fn customers_counted(t: &TestApp, token: &str) -> u64 {
    let metrics = t.req("GET", "/metrics", Some(token), &[], None).await;
    metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("steward_customers "))
        .and_then(|n| n.parse().ok())
        .expect("the customer count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_count_tells_a_form_sender_whether_an_address_was_known() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let known = CUSTOMER.replace("ada@", "known@");
    t.req("POST", "/api/v1/customers", Some(&agent), &[], Some(&known))
        .await;
    let before = customers_counted(&t, &auditor).await;
    sign_up(&t, "known@example.com").await;
    sign_up(&t, "stranger@example.com").await;
    assert_eq!(customers_counted(&t, &auditor).await, before);
    // Following the link sent to the address shows it is theirs; then they count.
    t.app.outbox().deliver_due().await.expect("deliver");
    let mails = smtp.wait_for(2);
    let to_stranger = mails
        .iter()
        .find(|m| m.header("To").is_some_and(|to| to.contains("stranger@")))
        .expect("a confirmation to the new address");
    let base = format!("http://{}", t.addr);
    let link = to_stranger
        .link(&format!("{base}/consent/confirm/"))
        .expect("link");
    let confirmed = t
        .req("POST", link.trim_start_matches(&base), None, &[], None)
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(customers_counted(&t, &auditor).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpc_counts_for_the_customer_a_confirmed_sign_up_makes() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let t = spawn_app_with_mail(&smtp.url()).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    sign_up(&t, "gpc@example.com").await;
    t.app.outbox().deliver_due().await.expect("deliver");
    let base = format!("http://{}", t.addr);
    let link = smtp.wait_for(1)[0]
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
    let found = t
        .req(
            "GET",
            "/api/v1/customers?email=gpc%40example.com",
            Some(&agent),
            &[],
            None,
        )
        .await
        .json();
    let id = found["items"][0]["id"].as_str().expect("made by the link");
    let history = t
        .req(
            "GET",
            &format!("/api/v1/customers/{id}/consents/history"),
            Some(&agent),
            &[],
            None,
        )
        .await
        .json();
    let events: Vec<(&str, &str, &str)> = history
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["purpose"].as_str().unwrap_or_default(),
                e["state"].as_str().unwrap_or_default(),
                e["method"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("marketing.communications.email", "given", "form"),
            (
                "marketing.advertising.third_party.targeted",
                "withdrawn",
                "gpc"
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_serves_every_metric_without_a_token() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    t.req(
        "POST",
        "/api/v1/customers",
        Some(&agent),
        &[],
        Some(CUSTOMER),
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind metrics");
    let metrics_addr = metrics.local_addr().expect("addr");
    tokio::spawn(steward_http::serve_with_metrics(
        listener,
        Some(steward_http::MetricsListener {
            listener: metrics,
            reader: t.operator.actor("metrics", &[]),
        }),
        t.app.clone(),
        steward_http::HttpOptions::default(),
        std::future::pending(),
    ));
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(metrics_addr).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
            .expect("send");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    })
    .await
    .expect("request");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("steward_customers 1"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route() {
    let t = spawn_app().await;
    let reply = t.req("GET", "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    for (method, path) in steward_http::api_routes() {
        if path == "/openapi.json" {
            continue;
        }
        let op = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
        assert!(
            op["responses"].is_object(),
            "{method} {path} documents no responses"
        );
    }
    assert!(doc["components"]["schemas"]["CustomerView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_posts_replay_the_first_answer_for_a_day() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let other = t.token(Role::Agent, &["essential.service"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let tok = Some(agent.as_str());
    let key = [("Idempotency-Key", "order-7781-signup")];

    let first = t
        .req("POST", "/api/v1/customers", tok, &key, Some(CUSTOMER))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = t
        .req("POST", "/api/v1/customers", tok, &key, Some(CUSTOMER))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(t.app.customers().count().await.expect("count"), 1);
    let id = first.json()["id"].as_str().expect("id").to_string();

    // The kept answer holds personal data and is stored sealed.
    let bytes = t.stored_bytes().await;
    assert!(
        !bytes.windows(15).any(|w| w == b"ada@example.com"),
        "a kept answer is never stored in the clear"
    );

    // A replay shows personal data again, so it is audited as a read.
    let reads = t
        .req(
            "GET",
            &format!("/api/v1/audit?action=customer.read&target={id}"),
            Some(&auditor),
            &[],
            None,
        )
        .await
        .json();
    assert_eq!(reads["items"].as_array().map(Vec::len), Some(1), "{reads}");

    let changed = CUSTOMER.replace("Ada", "Ava");
    let reused = t
        .req("POST", "/api/v1/customers", tok, &key, Some(&changed))
        .await
        .problem(422);
    assert_eq!(reused["errors"][0]["field"], "Idempotency-Key", "{reused}");

    // Keys belong to their caller: another token's same key is a new request.
    let elsewhere = CUSTOMER.replace("ada@", "ava@");
    let theirs = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&other),
            &key,
            Some(&elsewhere),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert_eq!(theirs.header("idempotent-replayed"), None);

    // Interactions replay too.
    let path = format!("/api/v1/customers/{id}/interactions");
    let note = r#"{"kind":"call","summary":"asked about delivery"}"#;
    let ikey = [("Idempotency-Key", "call-1")];
    let one = t.req("POST", &path, tok, &ikey, Some(note)).await;
    let two = t.req("POST", &path, tok, &ikey, Some(note)).await;
    assert_eq!((one.status, two.status), (201, 201), "{}", two.body);
    assert_eq!(one.body, two.body);
    assert_eq!(two.header("idempotent-replayed"), Some("true"));
    let listed = t.req("GET", &path, tok, &[], None).await.json();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    for bad in ["", "has space", &"k".repeat(256)] {
        let p = t
            .req(
                "POST",
                "/api/v1/customers",
                tok,
                &[("Idempotency-Key", bad)],
                Some(&CUSTOMER.replace("ada@", "bad@")),
            )
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["field"], "Idempotency-Key", "{p}");
    }
    assert_eq!(t.app.customers().count().await.expect("count"), 2);

    // After a day the key is forgotten: the same request creates again, and meets the
    // first customer's email.
    t.clock.advance(jiff::SignedDuration::from_hours(24));
    t.req("POST", "/api/v1/customers", tok, &key, Some(CUSTOMER))
        .await
        .problem(409);

    // Erasing the customer shreds their kept answers.
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let erased = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(erased.status, 204, "{}", erased.body);
    t.clock.advance(jiff::SignedDuration::from_hours(-24));
    let gone = t
        .req("POST", &path, tok, &ikey, Some(note))
        .await
        .problem(410);
    assert_eq!(gone["code"], "CUSTOMER_ERASED", "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_retried_after_the_erasure_does_not_bring_the_customer_back() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let key = [("Idempotency-Key", "k")];
    let first = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &key,
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.json()["id"].as_str().expect("id").to_string();
    let erased = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(erased.status, 204, "{}", erased.body);
    for body in [CUSTOMER.to_string(), CUSTOMER.replace("Ada", "Ava")] {
        let retry = t
            .req("POST", "/api/v1/customers", Some(&agent), &key, Some(&body))
            .await
            .problem(410);
        assert_eq!(retry["code"], "CUSTOMER_ERASED", "{retry}");
    }
    assert_eq!(t.app.customers().count().await.expect("count"), 0);
    // Nothing of the request that made her is left beside the key's hash.
    assert!(
        !t.stored_bytes()
            .await
            .windows(15)
            .any(|w| w == b"ada@example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_recorded_read_and_withdrawn_over_http() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let id = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/api/v1/customers/{id}/consents");
    let before = t.req("GET", &path, tok, &[], None).await.json();
    assert!(
        before
            .as_array()
            .expect("list")
            .iter()
            .all(|c| c["given"] == false && c["state"].is_null()),
        "opt-in: nothing is given until the customer says so: {before}"
    );
    let given = t
        .req(
            "POST",
            &path,
            tok,
            &[("User-Agent", "Mozilla/5.0 (test)")],
            Some(r#"{"purpose":"marketing.communications.sms","state":"given","notice_version":"2026-01","method":"form"}"#),
        )
        .await;
    assert_eq!(given.status, 201, "{}", given.body);
    assert_eq!(given.json()["state"], "given");
    let now = t.req("GET", &path, tok, &[], None).await.json();
    let email = now
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|c| c["purpose"] == "marketing.communications.sms")
        })
        .expect("email purpose")
        .clone();
    assert_eq!(
        (email["given"].as_bool(), email["notice_version"].as_str()),
        (Some(true), Some("2026-01"))
    );
    assert!(email["expires_at"].is_string());

    let withdrawn = t
        .req(
            "POST",
            &path,
            tok,
            &[],
            Some(r#"{"purpose":"marketing.communications.sms","state":"withdrawn"}"#),
        )
        .await;
    assert_eq!(
        withdrawn.status, 201,
        "withdrawing is one call, like giving"
    );
    let history = t
        .req("GET", &format!("{path}/history"), tok, &[], None)
        .await
        .json();
    let states: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(states, vec!["given", "withdrawn"]);
    assert!(
        !history.to_string().contains("Mozilla"),
        "evidence is kept hashed, never shown raw"
    );
    let stored = t.stored_bytes().await;
    assert!(
        !stored.windows(18).any(|w| w == b"Mozilla/5.0 (test)"),
        "nor stored raw"
    );

    for (body, field) in [
        (
            r#"{"purpose":"essential.service","state":"given"}"#,
            "purpose",
        ),
        (
            r#"{"purpose":"marketing.communications.sms","state":"maybe"}"#,
            "state",
        ),
        (
            r#"{"purpose":"marketing.communications.sms","state":"given","method":"fax"}"#,
            "method",
        ),
    ] {
        let p = t
            .req("POST", &path, tok, &[], Some(body))
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    let marketer = t
        .token(Role::Marketer, &["marketing.communications.sms"])
        .await;
    t.req(
        "POST",
        &path,
        Some(&marketer),
        &[],
        Some(r#"{"purpose":"marketing.communications.sms","state":"given"}"#),
    )
    .await
    .problem(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpc_signal_on_the_consent_api_records_a_withdrawal() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let id = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/api/v1/customers/{id}/consents");
    let reply = t
        .req(
            "POST",
            &path,
            tok,
            &[("Sec-GPC", "1")],
            Some(r#"{"purpose":"marketing.communications.sms","state":"given","method":"form"}"#),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let history = t
        .req("GET", &format!("{path}/history"), tok, &[], None)
        .await
        .json();
    let events: Vec<(String, String, String)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("purpose"), s("state"), s("method"))
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (
                "marketing.advertising.third_party.targeted".to_string(),
                "withdrawn".to_string(),
                "gpc".to_string()
            ),
            (
                "marketing.communications.sms".to_string(),
                "given".to_string(),
                "form".to_string()
            ),
        ]
    );

    let gpc = t.req("GET", "/.well-known/gpc.json", None, &[], None).await;
    assert_eq!(gpc.status, 200);
    assert_eq!(gpc.header("content-type"), Some("application/json"));
    let doc = gpc.json();
    assert_eq!(doc["gpc"], true);
    let date = doc["lastUpdate"].as_str().expect("lastUpdate");
    assert!(
        date.parse::<jiff::civil::Date>().is_ok(),
        "an ISO 8601 date: {date}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_receipt_verifies_and_one_changed_byte_does_not() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let tok = Some(agent.as_str());
    let id = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let event = t
        .req(
            "POST",
            &format!("/api/v1/customers/{id}/consents"),
            tok,
            &[],
            Some(r#"{"purpose":"marketing.communications.sms","state":"given","notice_version":"2026-01"}"#),
        )
        .await
        .json();
    let event_id = event["id"].as_str().expect("event id");
    let receipt = t
        .req(
            "GET",
            &format!("/api/v1/receipts/{event_id}"),
            tok,
            &[],
            None,
        )
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    let receipt = receipt.json();
    let payload = &receipt["payload"];
    assert_eq!(payload["version"], "KI-CR-v1.1.0");
    assert_eq!(payload["consentReceiptID"], event_id);
    assert_eq!(
        payload["piiPrincipalId"],
        id.as_str(),
        "the customer by id, never by email"
    );
    assert_eq!(payload["iso27560"]["statusType"], "dpv:ConsentGiven");
    assert!(!receipt.to_string().contains("ada@example.com"));
    let jws = receipt["jws"].as_str().expect("jws").to_string();
    assert_eq!(jws.split('.').count(), 3);
    assert_eq!(
        event["receipt"], receipt,
        "recording answers with the same signed receipt as asking for it later"
    );
    // The console hands the same receipt out as a file.
    crate::console::add_staff(&t, "agent@example.com", Role::Agent).await;
    let cookie =
        crate::console::staff_cookie(&t, "agent@example.com", None, Some("essential.service"))
            .await;
    let download = t
        .req(
            "GET",
            &format!("/console/receipts/{event_id}"),
            None,
            &[("Cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(download.status, 200, "{}", download.body);
    assert_eq!(download.headers["content-type"], "application/jose");
    assert_eq!(
        download.headers["content-disposition"],
        format!("attachment; filename=\"consent-receipt-{event_id}.jws\"")
    );
    assert_eq!(download.body, jws);

    let verify = |body: String| {
        let t = &t;
        let auditor = auditor.clone();
        async move {
            t.req(
                "POST",
                "/api/v1/receipts/verify",
                Some(&auditor),
                &[],
                Some(&body),
            )
            .await
            .json()
        }
    };
    let ok = verify(serde_json::json!({ "receipt": jws }).to_string()).await;
    assert_eq!(
        (
            ok["signature_valid"].as_bool(),
            ok["matches_ledger"].as_bool()
        ),
        (Some(true), Some(true)),
        "{ok}"
    );

    // One changed byte in the payload breaks the signature.
    let mut bytes = jws.clone().into_bytes();
    let dot = jws.find('.').expect("dot") + 5;
    bytes[dot] = if bytes[dot] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    let bad = verify(serde_json::json!({ "receipt": tampered }).to_string()).await;
    assert_eq!(bad["signature_valid"], false, "{bad}");
    let junk = verify(r#"{"receipt":"not a receipt"}"#.to_string()).await;
    assert_eq!(junk["signature_valid"], false);

    // The customer erased, the receipt they kept still verifies, through the proof kept of it.
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let erased = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(erased.status, 204, "{}", erased.body);
    let kept = verify(serde_json::json!({ "receipt": jws }).to_string()).await;
    assert_eq!(
        (
            kept["signature_valid"].as_bool(),
            kept["matches_ledger"].as_bool(),
            kept["matches_proof"].as_bool()
        ),
        (Some(true), Some(false), Some(true)),
        "{kept}"
    );
    assert_eq!(kept["proof"]["event_id"], event_id, "{kept}");
    assert_eq!(kept["proof"]["purpose"], "marketing.communications.sms");
    let bad = verify(serde_json::json!({ "receipt": tampered }).to_string()).await;
    assert_eq!(
        (bad["matches_proof"].as_bool(), bad.get("proof")),
        (Some(false), None),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audience_reaches_only_customers_who_consent_now() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let marketer = t
        .token(Role::Marketer, &["marketing.communications.sms"])
        .await;
    let tok = Some(agent.as_str());
    let mut ids = Vec::new();
    for n in 0..4 {
        let body = CUSTOMER.replace("ada@", &format!("ada{n}@"));
        let created = t
            .req("POST", "/api/v1/customers", tok, &[], Some(&body))
            .await;
        ids.push(created.json()["id"].as_str().expect("id").to_string());
    }
    let say = |id: &str, state: &str| {
        let t = &t;
        let (id, state) = (id.to_string(), state.to_string());
        async move {
            let body = format!(r#"{{"purpose":"marketing.communications.sms","state":"{state}"}}"#);
            let reply = t
                .req(
                    "POST",
                    &format!("/api/v1/customers/{id}/consents"),
                    tok,
                    &[],
                    Some(&body),
                )
                .await;
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
    };
    let audience = || {
        let t = &t;
        let marketer = marketer.clone();
        async move {
            let reply = t
                .req(
                    "POST",
                    "/api/v1/audiences",
                    Some(&marketer),
                    &[],
                    Some(r#"{"purpose":"marketing.communications.sms"}"#),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.json()["count"].as_u64().expect("count")
        }
    };
    assert_eq!(
        audience().await,
        0,
        "new customers have consented to nothing"
    );
    for id in &ids[..3] {
        say(id, "given").await;
    }
    assert_eq!(audience().await, 3);
    say(&ids[0], "withdrawn").await;
    assert_eq!(audience().await, 2, "a withdrawal takes effect at once");
    let restrict = t
        .req(
            "PATCH",
            &format!("/api/v1/customers/{}", ids[1]),
            Some(&dpo),
            &[("If-Match", "\"1\"")],
            Some(r#"{"status":"restricted"}"#),
        )
        .await;
    assert_eq!(restrict.status, 200, "{}", restrict.body);
    assert_eq!(
        audience().await,
        1,
        "restricted processing leaves the audience"
    );
    let agent_tries = t
        .req(
            "POST",
            "/api/v1/audiences",
            tok,
            &[],
            Some(r#"{"purpose":"essential.service"}"#),
        )
        .await;
    assert_eq!(
        agent_tries.status, 403,
        "audiences are for consent-based purposes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_drafted_scored_published_once_and_shown_to_the_public() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    // A summary for every purpose of the catalog: one plain, one in legalese.
    let mut summaries = serde_json::Map::new();
    for p in t.app.catalog().purposes() {
        summaries.insert(
            p.key.clone(),
            serde_json::json!({"collected":"Your email address.","why":"To send you our news.","how_long":"Until you say stop.","recipients":"Our mail service."}),
        );
    }
    summaries.insert(
        "essential.service".into(),
        serde_json::json!({"collected":"Notwithstanding aforementioned stipulations, identification particulars.","why":"Contractual performance obligations necessitate organisational processing.","how_long":"Indeterminate retention contingent upon statutory considerations.","recipients":"Subcontracted infrastructure intermediaries."}),
    );
    let notice = |version: &str| {
        serde_json::json!({"version": version, "language": "en", "body": "Read this.\n\n<script>alert(1)</script>", "summaries": summaries})
            .to_string()
    };
    let draft = t
        .req(
            "POST",
            "/api/v1/notices",
            Some(&dpo),
            &[],
            Some(&notice("2026-01")),
        )
        .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let draft = draft.json();
    assert_eq!(
        draft["summaries"]["marketing.communications.sms"]["hard_to_read"],
        false
    );
    assert_eq!(
        draft["summaries"]["essential.service"]["hard_to_read"], true,
        "legalese is flagged: {}",
        draft["summaries"]["essential.service"]["readability"]
    );
    t.req(
        "POST",
        "/api/v1/notices",
        Some(&dpo),
        &[],
        Some(&notice("2026-01")),
    )
    .await
    .problem(409);
    t.req(
        "POST",
        "/api/v1/notices",
        Some(&agent),
        &[],
        Some(&notice("2026-02")),
    )
    .await
    .problem(403);
    let none = t.req("GET", "/privacy", None, &[], None).await;
    assert_eq!(none.status, 404, "drafts are not public");
    assert!(
        none.body.contains("/console/static/console.css")
            && none.body.contains("not published yet")
            && none.body.contains("id=\"retention\""),
        "a styled page that says so: {}",
        none.body
    );

    // A notice is published only with a summary for every purpose of the catalog.
    let mut partial: serde_json::Value = serde_json::from_str(&notice("2025-12")).expect("json");
    partial["summaries"]
        .as_object_mut()
        .expect("summaries")
        .remove("personalize.content.profiled");
    let partial = t
        .req(
            "POST",
            "/api/v1/notices",
            Some(&dpo),
            &[],
            Some(&partial.to_string()),
        )
        .await;
    assert_eq!(
        partial.status, 201,
        "a draft may be incomplete: {}",
        partial.body
    );
    let refused = t
        .req(
            "POST",
            &format!(
                "/api/v1/notices/{}/publish",
                partial.json()["id"].as_str().expect("id")
            ),
            Some(&dpo),
            &[],
            None,
        )
        .await
        .problem(422);
    assert_eq!(refused["code"], "NOTICE_INCOMPLETE", "{refused}");
    assert_eq!(
        refused["errors"][0]["field"], "summaries.personalize.content.profiled",
        "{refused}"
    );
    assert_eq!(refused["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        t.req("GET", "/privacy", None, &[], None).await.status,
        404,
        "nothing was published"
    );

    let id = draft["id"].as_str().expect("id");
    let published = t
        .req(
            "POST",
            &format!("/api/v1/notices/{id}/publish"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    t.req(
        "POST",
        &format!("/api/v1/notices/{id}/publish"),
        Some(&dpo),
        &[],
        None,
    )
    .await
    .problem(403);
    let page = t.req("GET", "/privacy", None, &[], None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Version 2026-01"));
    assert!(
        page.body.contains("in force from 1 March 2026."),
        "a date in words: {}",
        page.body
    );
    assert!(
        page.body.contains("Marketing text messages") && page.body.contains("Until you say stop.")
    );
    assert!(
        !page.body.contains("<script>"),
        "raw HTML in a notice is never passed through"
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");

    let next = t
        .req(
            "POST",
            "/api/v1/notices",
            Some(&dpo),
            &[],
            Some(&notice("2026-02")),
        )
        .await
        .json();
    let next_id = next["id"].as_str().expect("id");
    t.req(
        "POST",
        &format!("/api/v1/notices/{next_id}/publish"),
        Some(&dpo),
        &[],
        None,
    )
    .await;
    assert!(
        t.req("GET", "/privacy", None, &[], None)
            .await
            .body
            .contains("Version 2026-02")
    );
    let old = t.req("GET", "/privacy/2026-01", None, &[], None).await;
    assert!(
        old.body.contains("Version 2026-01"),
        "every past version stays viewable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_are_found_by_email_without_it_appearing_in_a_url() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let created = t
        .req("POST", "/api/v1/customers", tok, &[], Some(CUSTOMER))
        .await
        .json();
    let found = t
        .req(
            "POST",
            "/api/v1/customers/search",
            tok,
            &[],
            Some(r#"{"email":" ADA@example.com "}"#),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let items = found.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], created["id"]);
    let p = t
        .req(
            "POST",
            "/api/v1/customers/search",
            tok,
            &[],
            Some(r#"{"email":"not an email"}"#),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "email", "{p}");
    t.req("POST", "/api/v1/customers/search", tok, &[], Some("{}"))
        .await
        .problem(422);

    // By whole words of a name, in the body too; a name is refused in the list's query.
    let other = r#"{"fields":{"email":"grace@example.com","given_name":"Grace","family_name":"Hopper"},"residency":"US"}"#;
    t.req("POST", "/api/v1/customers", tok, &[], Some(other))
        .await
        .json();
    for (words, hits) in [
        ("LOVELACE", 1),
        ("ada lovelace", 1),
        ("ada hopper", 0),
        ("love", 0),
    ] {
        let found = t
            .req(
                "POST",
                "/api/v1/customers/search",
                tok,
                &[],
                Some(&format!(r#"{{"name":"{words}"}}"#)),
            )
            .await;
        assert_eq!(found.status, 200, "{}", found.body);
        let items = found.json()["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), hits, "{words}");
        if hits == 1 {
            assert_eq!(items[0]["id"], created["id"]);
        }
    }
    let p = t
        .req(
            "POST",
            "/api/v1/customers/search",
            tok,
            &[],
            Some(r#"{"name":" - "}"#),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "name", "{p}");
    t.req("GET", "/api/v1/customers?name=lovelace", tok, &[], None)
        .await
        .problem(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_is_given_an_owner_and_retagged_through_the_api() {
    let t = spawn_app().await;
    crate::console::add_staff(&t, "owner@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &[]);
    let owner = t
        .app
        .staff()
        .members(&setup)
        .await
        .expect("members")
        .into_iter()
        .find(|m| m.display_name == "owner")
        .expect("the staff member")
        .id;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let tok = Some(agent.as_str());
    let mut ids = Vec::new();
    for email in ["ann@example.net", "ben@example.net", "cat@example.net"] {
        let body = format!(r#"{{"fields":{{"email":"{email}"}},"residency":"DE"}}"#);
        let made = t
            .req("POST", "/api/v1/customers", tok, &[], Some(&body))
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        ids.push(made.json()["id"].as_str().expect("id").to_string());
    }
    let two = format!(r#"{{"ids":["{}","{}"],"owner":"{owner}"}}"#, ids[0], ids[2]);
    let given = t
        .req("POST", "/api/v1/customers/bulk/owner", tok, &[], Some(&two))
        .await;
    assert_eq!(given.status, 200, "{}", given.body);
    assert_eq!(given.json()["changed"], 2);
    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}", ids[0]),
            tok,
            &[],
            None,
        )
        .await
        .json();
    assert_eq!(read["owner"]["id"], owner.to_string(), "{read}");
    assert_eq!(read["owner"]["display_name"], "owner", "{read}");
    let listed = t
        .req(
            "GET",
            &format!("/api/v1/customers?owner={owner}&sort=created"),
            tok,
            &[],
            None,
        )
        .await
        .json();
    let mut got: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    got.sort_unstable();
    let mut want = vec![ids[0].as_str(), ids[2].as_str()];
    want.sort_unstable();
    assert_eq!(got, want);

    let tagged = t
        .req(
            "POST",
            "/api/v1/customers/bulk/tags",
            tok,
            &[],
            Some(&format!(r#"{{"ids":["{}"],"add":["VIP"]}}"#, ids[1])),
        )
        .await;
    assert_eq!(tagged.json()["changed"], 1, "{}", tagged.body);

    // Refusals name their field, and change no one.
    let stranger = format!(
        r#"{{"ids":["{}"],"owner":"{}"}}"#,
        ids[1],
        uuid::Uuid::now_v7()
    );
    let p = t
        .req(
            "POST",
            "/api/v1/customers/bulk/owner",
            tok,
            &[],
            Some(&stranger),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "owner", "{p}");
    let p = t
        .req(
            "POST",
            "/api/v1/customers/bulk/owner",
            tok,
            &[],
            Some(r#"{"ids":[],"owner":null}"#),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "ids", "{p}");
    let p = t
        .req("GET", "/api/v1/customers?owner=me", tok, &[], None)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "owner", "{p}");
    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}", ids[1]),
            tok,
            &[],
            None,
        )
        .await
        .json();
    assert!(read.get("owner").is_none(), "{read}");
}
