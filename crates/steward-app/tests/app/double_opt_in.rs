//! Double opt-in through a real SMTP server on loopback: giving email marketing records
//! `requested` and mails a link; only following the link gives the consent (I3).

use std::collections::BTreeMap;

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::{AppError, AudienceQuery, ConsentInput, Evidence, MailRound};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

fn give(purpose: &str) -> ConsentInput {
    ConsentInput {
        purpose: purpose.into(),
        state: "given".into(),
        notice_version: Some("2026-01".into()),
        method: Some("form".into()),
        fields: BTreeMap::new(),
    }
}

async fn reach(app: &steward_app::Steward) -> u64 {
    let marketer = access(app, Role::Marketer, EMAIL);
    let query = AudienceQuery {
        purpose: EMAIL.into(),
        ..Default::default()
    };
    app.segments()
        .audience(&marketer, &query)
        .await
        .expect("audience")
        .count
}

fn token_of(link: &str) -> &str {
    link.rsplit('/').next().expect("token")
}

#[tokio::test]
async fn email_marketing_counts_only_after_the_emailed_link_is_followed() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");

    let asked = app
        .consent()
        .record(&agent, c.id, give(EMAIL), &Evidence::default())
        .await
        .expect("record");
    assert_eq!(asked.state, ConsentState::Requested);
    let status = app.consent().current(&agent, c.id).await.expect("consents");
    let email = status.iter().find(|s| s.purpose == EMAIL).expect("listed");
    assert_eq!(
        (email.state, email.given),
        (Some(ConsentState::Requested), false)
    );
    assert_eq!(reach(&app).await, 0, "requested is not given");

    let round = app.outbox().deliver_due().await.expect("deliver");
    assert_eq!(
        round,
        MailRound {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
    let mail = smtp.wait_for(1).remove(0);
    assert!(
        mail.header("X-RcptTo")
            .is_some_and(|to| to.contains("ada@example.com"))
    );
    assert!(
        mail.header("Subject")
            .is_some_and(|s| s.contains("Marketing emails"))
    );
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "not a marketing message"
    );
    let link = mail
        .link("http://steward.test/consent/confirm/")
        .expect("the message carries the link");
    let token = token_of(&link);
    assert!(app.links().confirmation(token).await.expect("link").usable);
    assert!(matches!(
        app.links().confirmation("not-a-token").await,
        Err(AppError::NotFound)
    ));

    let given = app
        .links()
        .confirm(token, &Evidence::default(), false)
        .await
        .expect("confirm");
    assert_eq!(
        (given.state, given.method.as_str()),
        (ConsentState::Given, "form")
    );
    assert_eq!(given.notice_version.as_deref(), Some("2026-01"));
    assert!(given.expires_at.is_some(), "the purpose's validity applies");
    assert_eq!(reach(&app).await, 1);
    assert!(matches!(
        app.links()
            .confirm(token, &Evidence::default(), false)
            .await,
        Err(AppError::LinkSpent)
    ));
    assert!(!app.links().confirmation(token).await.expect("link").usable);

    let history: Vec<ConsentState> = app
        .consent()
        .history(&agent, c.id)
        .await
        .expect("history")
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(history, vec![ConsentState::Requested, ConsentState::Given]);
    let confirmed = app
        .audit()
        .search(
            &actor(&app, Role::Auditor),
            steward_app::AuditFilter {
                action: Some("consent.confirm".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].record.actor, format!("customer:{}", c.id));
}

#[tokio::test]
async fn a_confirmation_link_expires_after_a_week() {
    let smtp = SmtpServer::start();
    let (_dir, app, clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("bo@example.com", "Bo"))
        .await
        .expect("create");
    app.consent()
        .record(&agent, c.id, give(EMAIL), &Evidence::default())
        .await
        .expect("record");
    app.outbox().deliver_due().await.expect("deliver");
    let link = smtp.wait_for(1)[0]
        .link("http://steward.test/consent/confirm/")
        .expect("link");
    clock.advance(jiff::SignedDuration::from_hours(7 * 24 + 1));
    assert!(matches!(
        app.links()
            .confirm(token_of(&link), &Evidence::default(), false)
            .await,
        Err(AppError::LinkSpent)
    ));
    assert_eq!(reach(&app).await, 0);
}

#[tokio::test]
async fn other_purposes_and_imports_need_no_confirmation() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("cy@example.com", "Cy"))
        .await
        .expect("create");
    let sms = app
        .consent()
        .record(
            &agent,
            c.id,
            give("marketing.communications.sms"),
            &Evidence::default(),
        )
        .await
        .expect("sms");
    assert_eq!(sms.state, ConsentState::Given);
    let imported = app
        .consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                method: Some("import".into()),
                ..give(EMAIL)
            },
            &Evidence::default(),
        )
        .await
        .expect("import");
    assert_eq!(
        imported.state,
        ConsentState::Given,
        "proof of the opt-in came with the import"
    );
    assert_eq!(
        app.outbox().deliver_due().await.expect("deliver"),
        MailRound::default()
    );
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn without_an_address_there_is_nothing_to_confirm_through() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let mut no_email = input("dee@example.com", "Dee");
    no_email.fields.remove("email");
    let c = app
        .customers()
        .create(&agent, no_email)
        .await
        .expect("create");
    match app
        .consent()
        .record(&agent, c.id, give(EMAIL), &Evidence::default())
        .await
    {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "fields.email"),
        other => panic!("expected a field error, got {other:?}"),
    }
    assert!(
        app.consent()
            .history(&agent, c.id)
            .await
            .expect("history")
            .is_empty()
    );

    let with_address = ConsentInput {
        fields: [("email".to_string(), "dee@example.com".to_string())].into(),
        ..give(EMAIL)
    };
    let asked = app
        .consent()
        .record(&agent, c.id, with_address, &Evidence::default())
        .await
        .expect("the address comes with the request");
    assert_eq!(asked.state, ConsentState::Requested);
    app.outbox().deliver_due().await.expect("deliver");
    assert_eq!(smtp.wait_for(1).len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_means_a_retry_later_and_a_record_of_it() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    drop(smtp);
    let (_dir, app, clock) = app_with_mail(&url).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("eve@example.com", "Eve"))
        .await
        .expect("create");
    app.consent()
        .record(&agent, c.id, give(EMAIL), &Evidence::default())
        .await
        .expect("record");
    let round = app.outbox().deliver_due().await.expect("deliver");
    assert_eq!(
        round,
        MailRound {
            sent: 0,
            retried: 1,
            failed: 0
        }
    );
    assert_eq!(
        app.outbox().deliver_due().await.expect("again"),
        MailRound::default(),
        "not due again until the back-off has passed"
    );
    clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(app.outbox().deliver_due().await.expect("later").retried, 1);
}

/// I1: a message waiting in the outbox holds the address sealed; no file of the data
/// directory shows it, nor the confirmation token.
#[tokio::test]
async fn queued_mail_leaves_no_plaintext_at_rest() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("wanda@example.com", "Wanda"))
        .await
        .expect("create");
    app.consent()
        .record(&agent, c.id, give(EMAIL), &Evidence::default())
        .await
        .expect("requested, mail queued");
    dir.assert_no_plaintext(&["wanda@example.com", "Wanda"])
        .await;
    // The same message, once sent, carries the address and a working link.
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(1).remove(0);
    let token = token_of(
        &mail
            .link("http://steward.test/consent/confirm/")
            .expect("link"),
    )
    .to_string();
    dir.assert_no_plaintext(&[token.as_str()]).await;
}
