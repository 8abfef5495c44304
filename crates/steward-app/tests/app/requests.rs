use std::collections::HashMap;
use std::ops::ControlFlow;

use steward_app::core::request::{Deadlines, Jurisdiction};
use steward_app::import::ImportOptions;
use steward_app::{
    AppError, AudienceQuery, Correction, CustomerPatch, CustomerQuery, Evidence, FormSubmission,
    InteractionInput, ReasonInput, RequestInput, RequestQuery, SubjectFormat,
};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

fn logged(kind: &str, email: &str) -> RequestInput {
    RequestInput {
        kind: kind.into(),
        channel: "email".into(),
        email: Some(email.into()),
        ..Default::default()
    }
}

fn reason(text: &str) -> ReasonInput {
    ReasonInput {
        reason: text.into(),
    }
}

async fn find(app: &steward_app::Steward, email: &str) -> usize {
    app.customers()
        .list(
            &agent(app),
            CustomerQuery {
                email: Some(email.into()),
                ..Default::default()
            },
        )
        .await
        .expect("search")
        .items
        .len()
}

#[tokio::test]
async fn an_erasure_request_runs_to_its_deadline_erases_and_keeps_the_person_out() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let dpo = dpo(&app);
    let c = app
        .customers()
        .create(&agent(&app), input("gwen@example.com", "Gwen"))
        .await
        .expect("create");

    let request = app
        .requests()
        .create(&dpo, logged("erasure", "GWEN@example.com"))
        .await
        .expect("logged");
    assert_eq!(request.customer_id, Some(c.id), "found by the address");
    assert_eq!(request.state, "received");
    assert_eq!(request.jurisdiction, "gdpr", "input() lives in the EU");
    assert_eq!(
        request.due_at,
        Deadlines::new(Jurisdiction::Gdpr, app.now()).answer_by
    );
    let duplicate = app
        .requests()
        .create(&dpo, logged("erasure", "gwen@example.com"))
        .await;
    assert!(
        matches!(&duplicate, Err(AppError::Conflict(m)) if m.contains(&request.id.to_string())),
        "{duplicate:?}"
    );
    app.outbox().deliver_due().await.expect("deliver");
    let ack = smtp.wait_for(1);
    assert!(ack[0].body.contains("We received your erasure request"));
    assert!(
        ack[0]
            .header("To")
            .is_some_and(|t| t.contains("gwen@example.com"))
    );

    let early = app.requests().complete(&dpo, request.id).await;
    assert!(
        matches!(early, Err(AppError::Conflict(_))),
        "nothing completes before the requester is verified: {early:?}"
    );
    app.requests()
        .verify(&dpo, request.id)
        .await
        .expect("verify");
    let done = app
        .requests()
        .complete(&dpo, request.id)
        .await
        .expect("complete");
    assert_eq!(done.state, "completed");
    assert!(app.rights().is_erased(c.id).await.expect("tombstone"));
    let erasures = app
        .audit()
        .search(
            &actor(&app, steward_app::core::Role::Auditor),
            steward_app::AuditFilter {
                action: Some("customer.erase".into()),
                target: Some(c.id.to_string()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(erasures.len(), 1, "I4: the erasure is audited as one");
    assert_eq!(find(&app, "gwen@example.com").await, 0);

    let kept = app.requests().get(&dpo, request.id).await.expect("kept");
    assert_eq!(
        (kept.state.as_str(), kept.customer_id),
        ("completed", None),
        "the record stays, pointing at no one"
    );
    let updates = app
        .requests()
        .recipient_updates(&dpo, c.id)
        .await
        .expect("art 19");
    assert_eq!(
        updates.iter().map(|u| u.kind.as_str()).collect::<Vec<_>>(),
        ["erasure"]
    );

    // The last message went out under its own key, which is gone once it is sent.
    app.outbox().deliver_due().await.expect("deliver");
    let farewell = smtp.wait_for(2);
    assert!(
        farewell[1]
            .body
            .contains("Everything we held about you is erased")
    );
    let keys = rusqlite::Connection::open(dir.path().join("keys/keystore.db")).expect("keys");
    let left: i64 = keys
        .query_row(
            "SELECT COUNT(*) FROM data_keys WHERE customer_id = ?1",
            [request.id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "the farewell's key is destroyed once it is sent");
    // I1: the suppression entry, the kept request and the Art. 19 record hold no address.
    dir.assert_no_plaintext(&["gwen@example.com"]).await;

    // An import does not bring her back; a form does only when she says so herself.
    let file = dir.path().join("again.csv");
    std::fs::write(
        &file,
        "email,given_name,residency\ngwen@example.com,Gwen,DE\nnew@example.com,New,DE\n",
    )
    .expect("write");
    let report = app
        .customers()
        .import(
            &operator(&app, "import", &["essential.service"]),
            &file,
            &ImportOptions {
                purpose: "essential.service".into(),
                default_residency: None,
                header_map: HashMap::new(),
                reject_path: dir.path().join("rejects.csv"),
                batch_size: 100,
            },
            |_| ControlFlow::Continue(()),
        )
        .await
        .expect("import");
    assert_eq!((report.progress.created, report.progress.rejected), (1, 1));
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).expect("rejects");
    assert!(rejects.contains("erased"), "{rejects}");
    assert_eq!(find(&app, "gwen@example.com").await, 0);
    // Nor does a create through the API or the console, however the address is written.
    for address in ["gwen@example.com", " Gwen@EXAMPLE.com"] {
        let again = app
            .customers()
            .create(&agent(&app), input(address, "Gwen"))
            .await;
        assert!(
            matches!(&again, Err(AppError::Suppressed { field }) if field == "fields.email"),
            "{again:?}"
        );
    }
    assert_eq!(find(&app, "gwen@example.com").await, 0);
    // Nor does giving another customer her address.
    let other = app
        .customers()
        .create(&agent(&app), input("other@example.com", "Olive"))
        .await
        .expect("create");
    let patch = steward_app::CustomerPatch {
        fields: [("email".to_string(), Some("gwen@example.com".to_string()))]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let moved = app
        .customers()
        .update(&agent(&app), other.id, patch, other.version)
        .await;
    assert!(
        matches!(moved, Err(AppError::Suppressed { .. })),
        "{moved:?}"
    );
    assert_eq!(find(&app, "gwen@example.com").await, 0);

    let mut form = FormSubmission {
        values: [("email".to_string(), "gwen@example.com".to_string())]
            .into_iter()
            .collect(),
        purposes: vec![EMAIL.into()],
        residency: "DE".into(),
        sign_up_again: false,
    };
    app.forms()
        .submit("newsletter", form.clone(), &Evidence::default())
        .await
        .expect("answered like any sign-up");
    assert_eq!(find(&app, "gwen@example.com").await, 0, "nothing kept");
    form.sign_up_again = true;
    app.forms()
        .submit("newsletter", form, &Evidence::default())
        .await
        .expect("signs up again");
    // Anyone can type her address: nothing of her is kept, and the suppression holds, until
    // the link sent to it is followed.
    assert_eq!(
        find(&app, "gwen@example.com").await,
        0,
        "not before the link"
    );
    let suppressions = || dir.count("SELECT COUNT(*) FROM suppressions");
    assert_eq!(
        suppressions().await,
        1,
        "lifted before the address was confirmed"
    );
    app.outbox().deliver_due().await.expect("deliver");
    let confirmation = smtp.wait_for(3).remove(2);
    let link = confirmation
        .link("http://steward.test/consent/confirm/")
        .expect("a confirmation link");
    app.links()
        .confirm(
            link.rsplit('/').next().expect("token"),
            &Evidence::default(),
            false,
        )
        .await
        .expect("confirm");
    assert_eq!(suppressions().await, 0, "confirming her address lifts it");
    assert_eq!(
        find(&app, "gwen@example.com").await,
        1,
        "and brings her back"
    );
}

#[tokio::test]
async fn ccpa_requests_are_acknowledged_extended_and_denied_with_reasons() {
    let smtp = SmtpServer::start();
    let (_dir, app, clock) = app_with_mail(&smtp.url()).await;
    let dpo = dpo(&app);
    let mut us = input("sam@example.com", "Sam");
    us.residency = "US".into();
    let c = app
        .customers()
        .create(&agent(&app), us)
        .await
        .expect("create");
    let request = app
        .requests()
        .create(
            &dpo,
            RequestInput {
                kind: "access".into(),
                channel: "phone".into(),
                customer_id: Some(c.id),
                ..Default::default()
            },
        )
        .await
        .expect("logged");
    let deadlines = Deadlines::new(Jurisdiction::Ccpa, app.now());
    assert_eq!(request.jurisdiction, "ccpa");
    assert_eq!(request.acknowledge_by, deadlines.acknowledge_by);
    assert_eq!(request.due_at, deadlines.answer_by);
    assert!(request.acknowledged_at.is_some(), "acknowledged by email");

    app.requests()
        .verify(&dpo, request.id)
        .await
        .expect("verify");
    let blank = app.requests().extend(&dpo, request.id, &reason("  ")).await;
    assert!(
        matches!(&blank, Err(AppError::Invalid(e)) if e[0].field == "reason"),
        "{blank:?}"
    );
    let extended = app
        .requests()
        .extend(
            &dpo,
            request.id,
            &reason("We hold records in two archives."),
        )
        .await
        .expect("extend");
    assert_eq!(
        extended.due_at,
        Deadlines::extended(Jurisdiction::Ccpa, app.now())
    );
    let again = app
        .requests()
        .extend(&dpo, request.id, &reason("more"))
        .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "once only");
    app.requests()
        .start(&dpo, request.id)
        .await
        .expect("back to work");
    assert!(
        matches!(
            app.requests()
                .extend(&dpo, request.id, &reason("more"))
                .await,
            Err(AppError::Conflict(_))
        ),
        "not a second time by way of in progress"
    );

    // Due soon: within 100 days, not within 10.
    let soon = |days| RequestQuery {
        due_within_days: Some(days),
        ..Default::default()
    };
    assert_eq!(
        app.requests()
            .list(&dpo, &soon(100))
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        app.requests()
            .list(&dpo, &soon(10))
            .await
            .expect("list")
            .is_empty()
    );

    clock.advance(jiff::SignedDuration::from_hours(24 * 3));
    let denied = app
        .requests()
        .deny(
            &dpo,
            request.id,
            &reason("We could not confirm who called."),
        )
        .await
        .expect("deny");
    assert_eq!(
        denied.denial_reason.as_deref(),
        Some("We could not confirm who called.")
    );
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(3);
    assert!(mail[1].body.contains("We hold records in two archives."));
    assert!(mail[2].body.contains("We could not confirm who called."));

    let report = app.requests().report(&dpo).await.expect("report");
    let access = report
        .kinds
        .iter()
        .find(|k| k.kind == "access")
        .expect("access");
    assert_eq!((access.received, access.denied, access.open), (1, 1, 0));
    assert_eq!(access.median_days, Some(3.0));

    let agent = agent(&app);
    assert!(matches!(
        app.requests().list(&agent, &RequestQuery::default()).await,
        Err(AppError::Forbidden(_))
    ));
}

/// What a staff export of every customer holds.
async fn exported(app: &steward_app::Steward) -> String {
    let exporter = operator(app, "export", &["essential.service"]);
    let mut out = Vec::new();
    app.customers()
        .export(
            &exporter,
            "essential.service",
            steward_app::ExportFormat::Jsonl,
            &mut out,
            |_| {},
        )
        .await
        .expect("export");
    String::from_utf8(out).expect("utf8")
}

#[tokio::test]
async fn restriction_and_objection_keep_a_customer_out_of_every_audience() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let mut ids = Vec::new();
    let mut subjects = Vec::new();
    for (email, name) in [("r@example.com", "Rita"), ("o@example.com", "Otto")] {
        let c = app
            .customers()
            .create(&agent, input(email, name))
            .await
            .expect("create");
        give_consent(&app, &agent, c.id, EMAIL).await;
        ids.push(c.id);
        subjects.push(signed_in(&app, Inbox::Smtp(&smtp), email).await);
    }
    let marketer = access(&app, steward_app::core::Role::Marketer, EMAIL);
    let audience = || AudienceQuery {
        purpose: EMAIL.into(),
        segment_id: None,
        filter: None,
    };
    assert_eq!(
        app.segments()
            .audience(&marketer, &audience())
            .await
            .expect("audience")
            .count,
        2
    );

    app.own_rights()
        .restrict(&subjects[0])
        .await
        .expect("restrict");
    app.own_rights()
        .object(&subjects[1], "marketing", &Evidence::default())
        .await
        .expect("object");
    assert_eq!(
        app.segments()
            .audience(&marketer, &audience())
            .await
            .expect("audience")
            .count,
        0,
        "restricted and objecting customers are out at once"
    );
    let file = exported(&app).await;
    assert!(
        !file.contains(&ids[0].to_string()) && file.contains(&ids[1].to_string()),
        "a restricted customer is kept, not exported: {file}"
    );
    let dpo = dpo(&app);
    let updates = app
        .requests()
        .recipient_updates(&dpo, ids[0])
        .await
        .expect("art 19");
    assert_eq!(updates[0].kind, "restriction");

    // Lifting tells the customer first, in the same commit.
    let restricted = app.customers().get(&dpo, ids[0]).await.expect("read");
    app.customers()
        .update(
            &dpo,
            ids[0],
            CustomerPatch {
                status: Some("active".into()),
                ..Default::default()
            },
            restricted.version,
        )
        .await
        .expect("lift");
    app.outbox().deliver_due().await.expect("deliver");
    let told = smtp.messages_to("r@example.com");
    assert!(
        told.iter()
            .any(|m| m.body.contains("lifting that restriction")),
        "the customer is told"
    );
    let kinds: Vec<String> = app
        .requests()
        .recipient_updates(&dpo, ids[0])
        .await
        .expect("art 19")
        .into_iter()
        .map(|u| u.kind)
        .collect();
    assert_eq!(kinds, ["restriction", "restriction_lifted"]);
    assert_eq!(
        app.segments()
            .audience(&marketer, &audience())
            .await
            .expect("audience")
            .count,
        1,
        "back in once lifted; the objection holds"
    );
    assert!(exported(&app).await.contains(&ids[0].to_string()));
    let own = app.portal().overview(&subjects[1]).await.expect("overview");
    assert_eq!(
        own.requests
            .iter()
            .map(|r| (r.kind.as_str(), r.state.as_str()))
            .collect::<Vec<_>>(),
        [("objection", "completed")]
    );
}

#[tokio::test]
async fn the_export_of_a_long_history_is_complete_and_comes_in_bounded_pieces() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("long@example.com", "Lena"))
        .await
        .expect("create");
    give_consent(&app, &agent, c.id, EMAIL).await;
    const N: usize = 10_000;
    const WRITERS: usize = 16;
    let app = std::sync::Arc::new(app);
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (app, agent, id) = (app.clone(), agent.clone(), c.id);
        writers.spawn(async move {
            for i in (w..N).step_by(WRITERS) {
                app.interactions()
                    .add(
                        &agent,
                        id,
                        InteractionInput {
                            kind: "note".into(),
                            occurred_at: None,
                            summary: format!("note {i}"),
                            body: Some(format!("body of note {i}")),
                            facets: Default::default(),
                        },
                    )
                    .await
                    .expect("interaction");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }

    for format in [SubjectFormat::Json, SubjectFormat::Csv] {
        let mut export = app
            .rights()
            .start_export(&dpo(&app), c.id, format)
            .await
            .expect("start");
        let mut whole = Vec::new();
        let mut largest = 0;
        let mut pieces = 0;
        while let Some(chunk) = app.rights().export_chunk(&mut export).await.expect("chunk") {
            largest = largest.max(chunk.len());
            pieces += 1;
            whole.extend_from_slice(&chunk);
        }
        assert!(pieces > 10, "{format:?} came in {pieces} pieces");
        assert!(
            largest < 256 * 1024,
            "{format:?}: no piece holds more than a page ({largest} bytes)"
        );
        match format {
            SubjectFormat::Json => {
                let doc: serde_json::Value = serde_json::from_slice(&whole).expect("valid JSON");
                let notes = doc["interactions"].as_array().expect("interactions");
                assert_eq!(notes.len(), N);
                let mut seen: Vec<&str> = notes
                    .iter()
                    .map(|n| n["summary"].as_str().expect("summary"))
                    .collect();
                seen.sort();
                seen.dedup();
                assert_eq!(seen.len(), N, "every interaction once");
                let fields: Vec<&str> = doc["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(|v| v["field"].as_str().expect("field"))
                    .collect();
                assert!(fields.contains(&"email") && fields.contains(&"given_name"));
                assert_eq!(doc["consent_history"].as_array().expect("events").len(), 1);
            }
            SubjectFormat::Csv => {
                let mut reader = csv::Reader::from_reader(whole.as_slice());
                let sections: Vec<String> = reader
                    .records()
                    .map(|r| r.expect("row")[0].to_string())
                    .collect();
                let count = |s: &str| sections.iter().filter(|x| *x == s).count();
                assert_eq!(count("interaction"), N);
                assert_eq!(count("consent_event"), 1);
                assert!(count("value") >= 2);
            }
        }
    }
    assert!(matches!(
        app.rights()
            .start_export(&agent, c.id, SubjectFormat::Json)
            .await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_correction_of_a_reviewed_field_waits_for_staff_and_applies_on_completion() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    let mut with_birth = input("bea@example.com", "Bea");
    with_birth
        .fields
        .insert("birth_date".into(), "1990-04-01".into());
    let c = app
        .customers()
        .create(&agent, with_birth)
        .await
        .expect("create");
    let bea = signed_in(&app, Inbox::Log(dir.path()), "bea@example.com").await;

    let outcome = app
        .own_rights()
        .correct(&bea, "birth_date", "1991-04-01")
        .await
        .expect("proposed");
    assert!(
        matches!(outcome, Correction::AwaitingReview { .. }),
        "{outcome:?}"
    );
    let held = |o: &steward_app::PortalOverview| {
        o.values
            .iter()
            .find(|v| v.field == "birth_date")
            .map(|v| v.value.clone())
    };
    let before = app.portal().overview(&bea).await.expect("overview");
    assert_eq!(
        held(&before).as_deref(),
        Some("1990-04-01"),
        "unchanged until reviewed"
    );
    let request = before.requests[0].clone();
    assert_eq!(
        (
            request.kind.as_str(),
            request.state.as_str(),
            request.proposed_field.as_deref()
        ),
        ("rectification", "verified", Some("birth_date"))
    );
    assert_eq!(request.proposed_value, None, "lists never carry the value");
    // I1: the proposal waits sealed under the customer's key.
    dir.assert_no_plaintext(&["1991-04-01"]).await;

    let dpo = dpo(&app);
    let read = app.requests().get(&dpo, request.id).await.expect("read");
    assert_eq!(read.proposed_value.as_deref(), Some("1991-04-01"));
    app.requests()
        .complete(&dpo, request.id)
        .await
        .expect("accepted");
    let after = app.portal().overview(&bea).await.expect("overview");
    assert_eq!(held(&after).as_deref(), Some("1991-04-01"));
    let closed = app.requests().get(&dpo, request.id).await.expect("read");
    assert_eq!((closed.proposed_field, closed.proposed_value), (None, None));
    let updates = app
        .requests()
        .recipient_updates(&dpo, c.id)
        .await
        .expect("art 19");
    assert_eq!(
        updates
            .iter()
            .map(|u| (u.kind.as_str(), u.fields.clone()))
            .collect::<Vec<_>>(),
        [("rectification", vec!["birth_date".to_string()])]
    );

    // A plain field changes at once.
    assert_eq!(
        app.own_rights()
            .correct(&bea, "given_name", "Beatrix")
            .await
            .expect("applied"),
        Correction::Applied
    );
}

#[tokio::test]
async fn a_new_sign_in_address_counts_once_the_link_sent_to_it_is_followed() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("old@example.com", "Olga"))
        .await
        .expect("create");
    app.customers()
        .create(&agent, input("taken@example.com", "Tess"))
        .await
        .expect("create");
    let olga = signed_in(&app, Inbox::Smtp(&smtp), "old@example.com").await;

    app.own_rights()
        .change_address(&olga, "taken@example.com")
        .await
        .expect("answered alike");
    app.own_rights()
        .change_address(&olga, "New@Example.com")
        .await
        .expect("asked");
    app.outbox().deliver_due().await.expect("deliver");
    // The first message is Olga's sign-in code.
    let mail = smtp.wait_for(2);
    assert_eq!(
        mail.len(),
        2,
        "no link goes to an address someone else holds"
    );
    assert!(
        mail[1]
            .header("To")
            .is_some_and(|t| t.contains("new@example.com"))
    );
    let link = mail[1]
        .link("http://steward.test/portal/address/")
        .expect("a link");
    let token = link.rsplit('/').next().expect("token").to_string();
    assert_eq!(
        find(&app, "old@example.com").await,
        1,
        "nothing changes before proof"
    );
    dir.assert_no_plaintext(&["new@example.com", token.as_str()])
        .await;

    app.own_rights()
        .confirm_address(&token)
        .await
        .expect("proved");
    assert_eq!(find(&app, "new@example.com").await, 1);
    assert_eq!(find(&app, "old@example.com").await, 0);
    assert!(matches!(
        app.own_rights().confirm_address(&token).await,
        Err(AppError::LinkSpent)
    ));
    let own = app.portal().overview(&olga).await.expect("overview");
    assert!(
        own.requests
            .iter()
            .any(|r| r.kind == "rectification" && r.state == "completed")
    );
    let updates = app
        .requests()
        .recipient_updates(&dpo(&app), c.id)
        .await
        .expect("art 19");
    assert!(updates.iter().any(|u| u.fields == ["email"]));
}

#[tokio::test]
async fn erasing_in_the_portal_completes_an_erasure_already_asked_for_by_email() {
    let (dir, app) = app().await;
    let dpo = dpo(&app);
    let c = app
        .customers()
        .create(&agent(&app), input("ed@example.com", "Ed"))
        .await
        .expect("create");
    let logged = app
        .requests()
        .create(&dpo, logged("erasure", "ed@example.com"))
        .await
        .expect("logged");
    let ed = signed_in(&app, Inbox::Log(dir.path()), "ed@example.com").await;
    app.own_rights().erase_account(&ed).await.expect("erased");
    assert!(app.rights().is_erased(c.id).await.expect("erased"));
    let all = app
        .requests()
        .list(&dpo, &RequestQuery::default())
        .await
        .expect("requests");
    assert_eq!(all.len(), 1, "no second request: {all:?}");
    assert_eq!((all[0].id, all[0].state.as_str()), (logged.id, "completed"));
}
