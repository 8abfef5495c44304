//! I9: every route, for every role and for no token at all. A route added to the router
//! without a row here fails `every_route_is_in_the_matrix`.

use steward_app::CustomerInput;
use steward_app::core::Role;

use crate::sharing;
use crate::support::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Nobody,
    As(Role),
}

/// Which roles a route admits. Everyone else gets 403 (or 401 without a token).
fn admitted(method: &str, path: &str) -> &'static [Role] {
    use Role::*;
    match (method, path) {
        ("GET", "/me")
        | ("GET", "/catalog")
        | ("POST", "/auth/logout")
        | ("POST", "/receipts/verify")
        | ("GET", "/notices") => &[Admin, Dpo, Agent, Marketer, Auditor],
        ("POST", "/customers")
        | ("GET", "/customers")
        | ("POST", "/customers/search")
        | ("POST", "/customers/bulk/owner")
        | ("POST", "/customers/bulk/tags")
        | ("GET", "/customers/{id}")
        | ("PATCH", "/customers/{id}")
        | ("POST", "/customers/{id}/merge")
        | ("POST", "/customers/{id}/interactions")
        | ("GET", "/customers/{id}/interactions")
        | ("POST", "/customers/{id}/tasks")
        | ("GET", "/customers/{id}/tasks")
        | ("GET", "/customers/{id}/timeline")
        | ("GET", "/tasks")
        | ("POST", "/tasks/{id}/done")
        | ("POST", "/tasks/{id}/reopen")
        | ("GET", "/customers/{id}/consents")
        | ("POST", "/customers/{id}/consents")
        | ("GET", "/customers/{id}/consents/history")
        | ("GET", "/customers/{id}/disclosures")
        | ("POST", "/customers/{id}/objections")
        | ("GET", "/receipts/{id}")
        | ("GET", "/customers/{id}/personalization")
        | ("PUT", "/customers/{id}/personalization") => &[Dpo, Agent],
        ("DELETE", "/customers/{id}")
        | ("GET", "/customers/{id}/export")
        | ("GET", "/customers/{id}/recipient-updates")
        | ("GET", "/customers/{id}/recipient-notices")
        | ("POST", "/recipient-notices/{id}/status")
        | ("GET", "/requests")
        | ("POST", "/requests")
        | ("GET", "/requests/report")
        | ("GET", "/requests/{id}")
        | ("POST", "/requests/{id}/verify")
        | ("POST", "/requests/{id}/start")
        | ("POST", "/requests/{id}/extend")
        | ("POST", "/requests/{id}/complete")
        | ("POST", "/requests/{id}/deny")
        | ("GET", "/retention/rules")
        | ("POST", "/retention/rules")
        | ("PATCH", "/retention/rules/{key}")
        | ("GET", "/legal-holds")
        | ("POST", "/legal-holds")
        | ("DELETE", "/legal-holds/{id}")
        | ("POST", "/retention/runs")
        | ("GET", "/retention/runs/{id}")
        | ("GET", "/customers/{id}/attributes")
        | ("PUT", "/customers/{id}/attributes/{key}")
        | ("DELETE", "/customers/{id}/attributes/{key}") => &[Dpo],
        ("POST", "/audiences")
        | ("POST", "/audiences/export")
        | ("POST", "/campaigns")
        | ("POST", "/campaigns/{id}/send")
        | ("GET", "/campaigns/{id}/preview")
        | ("PUT", "/campaigns/{id}/schedule")
        | ("GET", "/customers/{id}/recommendations") => &[Marketer],
        ("GET", "/segments")
        | ("POST", "/segments")
        | ("GET", "/campaigns")
        | ("GET", "/campaigns/{id}")
        | ("DELETE", "/campaigns/{id}/schedule")
        | ("GET", "/campaigns/{id}/results")
        // Offers hold no personal data: those who run campaigns keep them, as segments.
        | ("GET", "/offers")
        | ("POST", "/offers")
        | ("DELETE", "/offers/{key}") => &[Admin, Marketer],
        // Companies are organisations kept in clear: support and marketing read them, those
        // who edit customers and those who run the installation keep them.
        ("GET", "/companies") | ("GET", "/companies/{id}") => &[Admin, Dpo, Agent, Marketer],
        ("POST", "/companies") | ("PATCH", "/companies/{id}") | ("DELETE", "/companies/{id}") => {
            &[Admin, Dpo, Agent]
        }
        // Their customers are personal data, reached as the customer list reaches them.
        ("GET", "/companies/{id}/customers")
        | ("POST", "/companies/{id}/customers")
        | ("DELETE", "/companies/{id}/customers/{customer_id}") => &[Dpo, Agent],
        ("POST", "/notices") | ("POST", "/notices/{id}/publish") => &[Admin, Dpo],
        ("POST", "/vendors")
        | ("PATCH", "/vendors/{id}")
        | ("POST", "/vendors/{id}/reviews")
        | ("POST", "/agreements")
        | ("PATCH", "/agreements/{id}")
        | ("PUT", "/vendors/{id}/webhook")
        | ("DELETE", "/vendors/{id}/webhook")
        | ("POST", "/shares")
        | ("GET", "/shares/{id}/download") => &[Dpo],
        ("GET", "/vendors")
        | ("GET", "/vendors/{id}")
        | ("GET", "/vendors/{id}/reviews")
        | ("GET", "/agreements")
        | ("GET", "/agreements/{id}")
        | ("GET", "/transfers/adequacy")
        | ("GET", "/transfers/affected-agreements")
        | ("GET", "/vendors/{id}/webhook")
        | ("GET", "/shares/{id}")
        | ("GET", "/shares/{id}/deliveries")
        | ("GET", "/recipient-notices")
        | ("GET", "/recipient-notices/{id}/deliveries")
        | ("GET", "/ropa")
        | ("POST", "/transfers/check") => &[Dpo, Auditor],
        ("POST", "/breaches")
        | ("PATCH", "/breaches/{id}")
        | ("POST", "/breaches/{id}/phases")
        | ("POST", "/breaches/{id}/steps/{step}")
        | ("POST", "/breaches/{id}/scope")
        | ("POST", "/breaches/{id}/customer-notices") => &[Dpo],
        ("GET", "/breaches")
        | ("GET", "/breaches/{id}")
        | ("GET", "/breaches/{id}/authority-notice")
        | ("GET", "/breach-plan") => &[Dpo, Auditor],
        ("GET", "/audit") | ("GET", "/audit/verify") => &[Admin, Dpo, Auditor],
        // Integrations' subscriptions are configuration: kept by those who run the
        // installation and the privacy officer, read by the auditor too.
        ("POST", "/webhooks/subscriptions")
        | ("PATCH", "/webhooks/subscriptions/{id}")
        | ("DELETE", "/webhooks/subscriptions/{id}")
        | ("POST", "/webhooks/subscriptions/{id}/rotate-secret") => &[Admin, Dpo],
        ("GET", "/webhooks/subscriptions")
        | ("GET", "/webhooks/subscriptions/{id}")
        | ("GET", "/webhooks/subscriptions/{id}/deliveries") => &[Admin, Dpo, Auditor],
        // Findings name accounts and tokens by id and say where the installation is weak:
        // for those who run it and those who audit it.
        ("GET", "/security/audit") => &[Admin, Dpo, Auditor],
        ("GET", "/users") | ("POST", "/users") | ("PATCH", "/users/{id}") => &[Admin],
        ("GET", "/tokens") | ("POST", "/tokens") | ("DELETE", "/tokens/{id}") => &[Admin],
        ("GET", "/keys") | ("POST", "/keys/rotate") | ("POST", "/keys/{version}/compromised") => {
            &[Admin]
        }
        _ => &[],
    }
}

/// Routes that need no token at all.
fn public(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("POST", "/auth/login") | ("GET", "/openapi.json")
    )
}

/// Routes for a signed-in staff member only: an API token, whatever its role, has no
/// address of its own for a test send to go to.
fn signed_in_only(method: &str, path: &str) -> bool {
    (method, path) == ("POST", "/campaigns/{id}/test-send")
}

fn known(method: &str, path: &str) -> bool {
    public(method, path) || signed_in_only(method, path) || !admitted(method, path).is_empty()
}

#[test]
fn every_route_is_in_the_matrix() {
    for (method, path) in steward_http::api_routes() {
        assert!(
            known(method.as_str(), path),
            "{method} {path} has no row in the role matrix"
        );
    }
}

fn token_for(tokens: &[(Role, String)], who: Who) -> Option<&str> {
    match who {
        Who::Nobody => None,
        Who::As(r) => tokens
            .iter()
            .find(|(tr, _)| *tr == r)
            .map(|(_, t)| t.as_str()),
    }
}

/// The purpose each role states: its first default purpose, or one it may not hold; reading
/// recommendations is for personalization, not for marketing.
fn purpose_for(path: &str, role: Role) -> &'static str {
    if path == "/customers/{id}/recommendations" && role.may_hold_purpose(LIMITED) {
        return LIMITED;
    }
    role.default_purposes()
        .first()
        .copied()
        .unwrap_or("essential.service")
}

const LIMITED: &str = "personalize.content.limited";

/// What each role's token carries: its defaults, and for marketing both personalization
/// purposes as well.
fn token_purposes(role: Role) -> Vec<&'static str> {
    let mut purposes = role.default_purposes().to_vec();
    if role == Role::Marketer {
        purposes.extend([LIMITED, "personalize.content.profiled"]);
    }
    purposes
}

/// A key each keyed route knows: a retention rule, a declared attribute, an offer of the
/// catalog (retiring it again answers as the first time).
fn key_for(path: &str) -> &'static str {
    if path.starts_with("/customers/{id}/attributes/") {
        "liked_categories"
    } else if path.starts_with("/offers/") {
        "garden-tools"
    } else {
        "web-visits"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role() {
    let t = spawn_app().await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, t.token(role, &token_purposes(role)).await));
    }
    let setup = t.operator.actor("setup", &["essential.service"]);
    let access = t.app.access(&setup, None).expect("access");
    let mut n = 0;
    for who in std::iter::once(Who::Nobody).chain(Role::ALL.into_iter().map(Who::As)) {
        for (method, path) in steward_http::api_routes() {
            n += 1;
            // A fresh target for each call, so that an allowed erasure does not starve the next.
            let customer = t
                .app
                .customers()
                .create(
                    &access,
                    CustomerInput {
                        fields: [
                            ("email".to_string(), format!("m{n}@example.com")),
                            ("given_name".to_string(), "M".into()),
                        ]
                        .into_iter()
                        .collect(),
                        residency: "DE".into(),
                        tags: vec![],
                    },
                )
                .await
                .expect("customer");
            let target_token = t
                .app
                .accounts()
                .create_token(
                    &setup,
                    steward_app::NewToken {
                        name: "target".into(),
                        role: Role::Agent,
                        purposes: vec![],
                        expires_at: None,
                    },
                )
                .await
                .expect("token")
                .0;
            let target_user = t
                .app
                .accounts()
                .add_user(
                    &setup,
                    steward_app::NewUser {
                        email: format!("staff{n}@example.com"),
                        role: Role::Agent,
                        password: "correct horse battery staple".into(),
                        purposes: vec![],
                    },
                )
                .await
                .expect("user")
                .id;
            let consent = t
                .app
                .consent()
                .record(
                    &access,
                    customer.id,
                    steward_app::ConsentInput {
                        purpose: "marketing.communications.email".into(),
                        state: "given".into(),
                        notice_version: None,
                        method: None,
                        fields: Default::default(),
                    },
                    &steward_app::Evidence::default(),
                )
                .await
                .expect("consent")
                .id;
            // Complete, so that publishing it succeeds for the roles that may.
            let summaries: serde_json::Map<String, serde_json::Value> = t
                .app
                .catalog()
                .purposes()
                .iter()
                .map(|p| {
                    let summary = serde_json::json!({"collected":"a","why":"b","how_long":"c","recipients":"d"});
                    (p.key.clone(), summary)
                })
                .collect();
            let draft = t
                .app
                .notices().create(
                    &setup,
                    serde_json::from_value(serde_json::json!({
                        "version": format!("d{n}"), "language": "en", "body": "Text", "summaries": summaries
                    }))
                    .expect("notice input"),
                )
                .await
                .expect("draft")
                .id;
            let marketer = t
                .app
                .access(
                    &t.operator
                        .actor("matrix", &["marketing.communications.email"]),
                    Some("marketing.communications.email"),
                )
                .expect("marketing access");
            let campaign = t
                .app
                .campaigns()
                .create(
                    &marketer,
                    steward_app::NewCampaign {
                        name: format!("c{n}"),
                        purpose: "marketing.communications.email".into(),
                        segment_id: None,
                        filter: None,
                        subject: "Hello".into(),
                        body: "News".into(),
                    },
                )
                .await
                .expect("campaign")
                .id;
            // A request per call, received for verifying and verified for every other step.
            let request = if path.starts_with("/requests/{id}") {
                let dpo = t
                    .app
                    .access(
                        &t.operator.actor("matrix", &["essential.legal_obligation"]),
                        Some("essential.legal_obligation"),
                    )
                    .expect("desk access");
                let r = t
                    .app
                    .requests()
                    .create(
                        &dpo,
                        steward_app::RequestInput {
                            kind: "access".into(),
                            channel: "post".into(),
                            customer_id: Some(customer.id),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("request")
                    .id;
                if !path.ends_with("/verify") {
                    t.app.requests().verify(&dpo, r).await.expect("verified");
                }
                r.to_string()
            } else {
                String::new()
            };
            // A hold per call, for releasing; a run per call, for reading.
            let desk = t
                .app
                .access(
                    &t.operator.actor("matrix", &["essential.legal_obligation"]),
                    Some("essential.legal_obligation"),
                )
                .expect("desk access");
            let hold = if path == "/legal-holds/{id}" {
                t.app
                    .holds()
                    .create(
                        &desk,
                        steward_app::HoldInput {
                            customer_id: Some(customer.id),
                            category: None,
                            reason: "Matrix".into(),
                            owner: "Legal".into(),
                            ends_at: None,
                        },
                    )
                    .await
                    .expect("hold")
                    .id
                    .to_string()
            } else {
                String::new()
            };
            let run = if path == "/retention/runs/{id}" {
                t.app
                    .retention()
                    .start_run(&desk, true)
                    .await
                    .expect("run")
                    .id
                    .to_string()
            } else {
                String::new()
            };
            let (vendor, agreement, share) = if path.starts_with("/vendors")
                || path.starts_with("/agreements")
                || path.starts_with("/transfers")
                || path.starts_with("/shares")
                || path.starts_with("/recipient-notices/")
            {
                let keeper = t
                    .app
                    .access(
                        &t.operator
                            .actor("register", &["essential.legal_obligation"]),
                        None,
                    )
                    .expect("keeper");
                let vendor = t
                    .app
                    .vendors()
                    .create(
                        &keeper,
                        serde_json::from_value(sharing::processor("DE")).expect("vendor"),
                    )
                    .await
                    .expect("vendor")
                    .vendor
                    .id
                    .to_string();
                let agreement = t
                    .app
                    .agreements()
                    .create(
                        &keeper,
                        serde_json::from_value(sharing::agreement(&vendor)).expect("agreement"),
                    )
                    .await
                    .expect("agreement")
                    .agreement
                    .id
                    .to_string();
                let vendor_id = vendor.parse().expect("vendor id");
                t.app
                    .vendors()
                    .review(
                        &keeper,
                        vendor_id,
                        serde_json::from_value(sharing::review(&sharing::review_questions()))
                            .expect("review"),
                    )
                    .await
                    .expect("review");
                if path.starts_with("/recipient-notices/") {
                    // Given as an import gives it, so the customer is shared and their
                    // recipient has a change to be told of.
                    t.app
                        .consent()
                        .record(
                            &access,
                            customer.id,
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
                }
                if path == "/vendors/{id}/webhook" {
                    t.app
                        .vendors()
                        .set_webhook(
                            &keeper,
                            vendor_id,
                            steward_app::WebhookInput {
                                url: "https://hooks.example.com/steward".into(),
                            },
                        )
                        .await
                        .expect("webhook");
                }
                let share = t
                    .app
                    .shares()
                    .share(
                        &keeper,
                        steward_app::ShareInput {
                            vendor_id,
                            purpose: "marketing.communications.email".into(),
                            fields: vec!["email".into()],
                            customer_ids: Some(vec![customer.id]),
                            segment_id: None,
                            audience: None,
                            delivery: Default::default(),
                        },
                    )
                    .await
                    .expect("share")
                    .id
                    .to_string();
                (vendor, agreement, share)
            } else {
                (String::new(), String::new(), String::new())
            };
            // A notice per call: the shared customer erased, so their recipient is told.
            let notice = if path.starts_with("/recipient-notices/") {
                let keeper = t
                    .app
                    .access(
                        &t.operator
                            .actor("register", &["essential.legal_obligation"]),
                        None,
                    )
                    .expect("keeper");
                t.app
                    .rights()
                    .erase(&keeper, customer.id)
                    .await
                    .expect("erased");
                t.app
                    .recipient_notices()
                    .of_customer(&keeper, customer.id)
                    .await
                    .expect("notices")[0]
                    .id
                    .to_string()
            } else {
                String::new()
            };
            // A breach per call, decided so that its customers may be told.
            let breach = if path.starts_with("/breaches/") {
                let keeper = t
                    .app
                    .access(
                        &t.operator
                            .actor("breaches", &["essential.legal_obligation"]),
                        None,
                    )
                    .expect("keeper");
                let mut input = breach_input(t.app.now());
                input.risk = Some(steward_app::core::breach::Risk::High);
                input.risk_reasoning = Some("Addresses exposed.".into());
                input.customer_decision = Some(steward_app::core::breach::CustomerDecision {
                    notify: true,
                    exemption: None,
                    evidence: None,
                });
                t.app
                    .breaches()
                    .open(&keeper, input)
                    .await
                    .expect("breach")
                    .breach
                    .id
                    .to_string()
            } else {
                String::new()
            };
            // A task per call, done already for the route that reopens it.
            let task = if path.starts_with("/tasks/") {
                let made = t
                    .app
                    .tasks()
                    .add(
                        &access,
                        customer.id,
                        steward_app::TaskInput {
                            title: "Check the matrix".into(),
                            due_on: None,
                            owner: Some(target_user),
                        },
                    )
                    .await
                    .expect("task");
                if path == "/tasks/{id}/reopen" {
                    t.app
                        .tasks()
                        .complete(&access, made.id)
                        .await
                        .expect("done");
                }
                made.id.to_string()
            } else {
                String::new()
            };
            // A company per call, the customer a member for the route that removes one.
            let company = if path.starts_with("/companies/") {
                let made = t
                    .app
                    .companies()
                    .create(
                        &setup,
                        steward_app::CompanyInput {
                            name: format!("Matrix {n}"),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("company");
                if path == "/companies/{id}/customers/{customer_id}" {
                    t.app
                        .companies()
                        .add_member(&access, made.id, customer.id)
                        .await
                        .expect("member");
                }
                made.id.to_string()
            } else {
                String::new()
            };
            // A subscription per call, paused, so no event is queued for it.
            let subscription = if path.starts_with("/webhooks/subscriptions/") {
                let keeper = t.operator.actor("matrix", &[]);
                let made = t
                    .app
                    .webhooks()
                    .subscribe(
                        &keeper,
                        steward_app::SubscriptionInput {
                            name: format!("s{n}"),
                            url: "https://127.0.0.1:9/events".into(),
                            events: vec!["customer.created".into()],
                            vendor_id: None,
                            purpose: None,
                        },
                    )
                    .await
                    .expect("subscription")
                    .subscription
                    .id;
                t.app
                    .webhooks()
                    .change_subscription(
                        &keeper,
                        made,
                        steward_app::SubscriptionPatch {
                            active: Some(false),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("paused");
                made.to_string()
            } else {
                String::new()
            };
            let id = match path {
                p if p.starts_with("/companies/") => company.clone(),
                p if p.starts_with("/webhooks/subscriptions/") => subscription.clone(),
                p if p.starts_with("/tasks/") => task.clone(),
                p if p.starts_with("/breaches/") => breach.clone(),
                p if p.starts_with("/vendors/") => vendor.clone(),
                p if p.starts_with("/agreements/") => agreement.clone(),
                p if p.starts_with("/shares/") => share.clone(),
                p if p.starts_with("/recipient-notices/") => notice.clone(),
                "/legal-holds/{id}" => hold.clone(),
                "/retention/runs/{id}" => run.clone(),
                p if p.starts_with("/requests/") => request.clone(),
                p if p.starts_with("/notices/") => draft.to_string(),
                p if p.starts_with("/campaigns/") => campaign.to_string(),
                p if p.starts_with("/receipts/") => consent.to_string(),
                p if p.starts_with("/tokens/") => target_token.to_string(),
                p if p.starts_with("/users/") => target_user.to_string(),
                _ => customer.id.to_string(),
            };
            let mut url = format!(
                "/api/v1{}",
                path.replace("{id}", &id)
                    .replace("{key}", key_for(path))
                    .replace("{step}", "contain")
                    .replace("{version}", "1")
                    .replace("{customer_id}", &customer.id.to_string())
            );
            if path == "/tasks" {
                url.push_str(&format!("?owner={target_user}"));
            }
            // A duplicate per call, for a merge's dry run.
            let duplicate = if path == "/customers/{id}/merge" {
                t.app
                    .customers()
                    .create(
                        &access,
                        CustomerInput {
                            fields: [("given_name".to_string(), "M".to_string())]
                                .into_iter()
                                .collect(),
                            residency: "DE".into(),
                            tags: vec![],
                        },
                    )
                    .await
                    .expect("duplicate")
                    .id
                    .to_string()
            } else {
                String::new()
            };
            let body = match (method.as_str(), path) {
                ("POST", "/customers/{id}/merge") => Some(format!(
                    r#"{{"merge":"{duplicate}","dry_run":true}}"#
                )),
                ("POST", "/customers") => Some(format!(
                    r#"{{"fields":{{"email":"new{n}@example.com","given_name":"N"}},"residency":"FR"}}"#
                )),
                ("POST", "/customers/search") => Some(format!(r#"{{"email":"m{n}@example.com"}}"#)),
                ("POST", "/customers/bulk/owner") => Some(format!(
                    r#"{{"ids":["{}"],"owner":"{target_user}"}}"#,
                    customer.id
                )),
                ("POST", "/customers/bulk/tags") => {
                    Some(format!(r#"{{"ids":["{}"],"add":["vip"]}}"#, customer.id))
                }
                ("PATCH", "/customers/{id}") => {
                    Some(r#"{"fields":{"given_name":"Changed"}}"#.to_string())
                }
                ("POST", "/customers/{id}/interactions") => {
                    Some(r#"{"kind":"note","summary":"Checked the matrix"}"#.to_string())
                }
                ("POST", "/companies") => Some(format!(r#"{{"name":"Made {n}"}}"#)),
                ("PATCH", "/companies/{id}") => Some(r#"{"name":"Changed"}"#.to_string()),
                ("POST", "/companies/{id}/customers") => {
                    Some(format!(r#"{{"customer_id":"{}"}}"#, customer.id))
                }
                ("POST", "/customers/{id}/tasks") => Some(format!(
                    r#"{{"title":"Call back","due_on":"2026-02-01","owner":"{target_user}"}}"#
                )),
                ("POST", "/customers/{id}/objections") => {
                    Some(r#"{"to":"direct_marketing"}"#.to_string())
                }
                ("POST", "/customers/{id}/consents") => Some(
                    r#"{"purpose":"marketing.communications.email","state":"given"}"#.to_string(),
                ),
                ("POST", "/users") => Some(format!(
                    r#"{{"email":"u{n}@example.com","role":"auditor","password":"correct horse battery staple"}}"#
                )),
                ("PATCH", "/users/{id}") => Some(r#"{"disabled":true}"#.to_string()),
                ("POST", "/tokens") => Some(r#"{"name":"ci","role":"agent"}"#.to_string()),
                ("POST", "/receipts/verify") => Some(r#"{"receipt":"a.b.c"}"#.to_string()),
                ("POST", "/requests") => Some(format!(
                    r#"{{"type":"erasure","channel":"email","customer_id":"{}"}}"#,
                    customer.id
                )),
                ("POST", "/retention/rules") => Some(format!(
                    r#"{{"key":"notes-{n}","record":"interaction","kind":"note","duration":"P5Y","anchor":"created","action":"anonymise","description":"Notes"}}"#
                )),
                ("PATCH", "/retention/rules/{key}") => Some(r#"{"duration":"P120D"}"#.to_string()),
                ("POST", "/legal-holds") => Some(format!(
                    r#"{{"customer_id":"{}","reason":"Claim","owner":"Legal"}}"#,
                    customer.id
                )),
                ("POST", "/retention/runs") => Some(r#"{"dry_run":true}"#.to_string()),
                ("POST", "/requests/{id}/extend") | ("POST", "/requests/{id}/deny") => {
                    Some(r#"{"reason":"The matrix says so."}"#.to_string())
                }
                ("POST", "/notices") => Some(format!(
                    r#"{{"version":"m{n}","language":"en","body":"Text","summaries":{{"essential.service":{{"collected":"Your name","why":"To serve you","how_long":"Two years","recipients":"Nobody"}}}}}}"#
                )),
                ("POST", "/audiences") | ("POST", "/audiences/export") => {
                    Some(r#"{"purpose":"marketing.communications.email"}"#.to_string())
                }
                ("POST", "/segments") => Some(format!(
                    r#"{{"name":"s{n}","filter":{{"tags":["vip"],"created":{{"last_days":30}}}}}}"#
                )),
                ("PUT", "/campaigns/{id}/schedule") => {
                    Some(r#"{"scheduled_at":"2099-01-01T09:00:00Z"}"#.to_string())
                }
                ("POST", "/campaigns") => Some(
                    r#"{"name":"c","purpose":"marketing.communications.email","subject":"Hi","body":"Hello"}"#
                        .to_string(),
                ),
                ("POST", "/vendors") => Some(sharing::processor("DE").to_string()),
                ("PATCH", "/vendors/{id}") => Some(r#"{"contact_person":"Changed"}"#.to_string()),
                ("POST", "/vendors/{id}/reviews") => {
                    Some(sharing::review(&sharing::review_questions()).to_string())
                }
                ("PUT", "/vendors/{id}/webhook") => {
                    Some(r#"{"url":"https://hooks.example.com/steward"}"#.to_string())
                }
                ("POST", "/agreements") => Some(sharing::agreement(&vendor).to_string()),
                ("POST", "/webhooks/subscriptions") => Some(
                    r#"{"name":"m","url":"https://127.0.0.1:9/events","events":["customer.erased"]}"#
                        .to_string(),
                ),
                ("PATCH", "/webhooks/subscriptions/{id}") => {
                    Some(r#"{"name":"Renamed"}"#.to_string())
                }
                ("PATCH", "/agreements/{id}") => Some(r#"{"valid_until":"2027-12-31"}"#.to_string()),
                ("POST", "/shares") => Some(format!(
                    r#"{{"vendor_id":"{vendor}","purpose":"marketing.communications.email","fields":["email"],"customer_ids":["{}"]}}"#,
                    customer.id
                )),
                ("POST", "/transfers/check") => Some(format!(
                    r#"{{"vendor_id":"{vendor}","residency":"DE"}}"#
                )),
                ("POST", "/keys/{version}/compromised") => {
                    Some(r#"{"reason":"The matrix says so."}"#.to_string())
                }
                ("POST", "/recipient-notices/{id}/status") => {
                    Some(r#"{"status":"sent"}"#.to_string())
                }
                ("POST", "/breaches") => Some(
                    serde_json::to_string(&breach_input(t.app.now())).expect("breach json"),
                ),
                ("PATCH", "/breaches/{id}") => Some(r#"{"title":"Changed"}"#.to_string()),
                ("POST", "/breaches/{id}/phases") => {
                    Some(r#"{"text":"More is known."}"#.to_string())
                }
                ("POST", "/breaches/{id}/steps/{step}") => Some(r#"{"done":true}"#.to_string()),
                ("POST", "/breaches/{id}/scope") => Some(
                    r#"{"from":"2026-01-01T00:00:00Z","to":"2026-12-31T00:00:00Z"}"#.to_string(),
                ),
                ("PUT", "/customers/{id}/personalization") => {
                    Some(r#"{"level":"basic"}"#.to_string())
                }
                ("PUT", "/customers/{id}/attributes/{key}") => {
                    Some(r#"{"values":["garden"]}"#.to_string())
                }
                ("POST", "/offers") => Some(format!(
                    r#"{{"key":"matrix-{n}","title":"Matrix","category":"garden"}}"#
                )),
                ("POST", "/breaches/{id}/customer-notices") => {
                    Some(r#"{"dry_run":true}"#.to_string())
                }
                _ => None,
            };
            if (method.as_str(), path) == ("GET", "/openapi.json") {
                let reply = t.req("GET", &url, token_for(&tokens, who), &[], None).await;
                assert_eq!(reply.status, 200, "{who:?} {method} {path}");
                continue;
            }
            if public(method.as_str(), path) {
                let reply = t
                    .req(
                        method.as_str(),
                        &url,
                        None,
                        &[],
                        // An address of its own each time: failures at one address are
                        // slowed down, which is not what this row checks.
                        Some(&format!(
                            r#"{{"email":"x{n}@example.com","password":"wrong password"}}"#
                        )),
                    )
                    .await;
                assert_eq!(reply.status, 401, "{who:?} {method} {path}: {}", reply.body);
                continue;
            }
            // Signing out ends the token it is called with, so it gets a token of its own.
            let fresh = match who {
                Who::As(r) if path == "/auth/logout" => Some(t.token(r, &[]).await),
                _ => None,
            };
            let (token, role) = match who {
                Who::Nobody => (None, None),
                Who::As(r) => (
                    fresh.as_deref().or_else(|| {
                        tokens
                            .iter()
                            .find(|(tr, _)| *tr == r)
                            .map(|(_, tok)| tok.as_str())
                    }),
                    Some(r),
                ),
            };
            let mut headers = vec![("If-Match", "\"1\"")];
            if let Some(r) = role {
                headers.push(("X-Purpose", purpose_for(path, r)));
            }
            let reply = t
                .req(method.as_str(), &url, token, &headers, body.as_deref())
                .await;
            let context = format!("{who:?} {method} {path}: {} {}", reply.status, reply.body);
            match role {
                None => assert_eq!(reply.status, 401, "{context}"),
                Some(r) if admitted(method.as_str(), path).contains(&r) => {
                    assert!(
                        (200..300).contains(&reply.status),
                        "expected success: {context}"
                    )
                }
                Some(_) => assert_eq!(reply.status, 403, "{context}"),
            }
            assert!(reply.status < 500, "{context}");
        }
    }
}
