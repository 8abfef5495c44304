//! Public forms: unticked by default, only the fields a ticked purpose needs, every consent
//! confirmed by email, the same answer for strangers and customers, and GPC honoured once
//! the customer shows the address is theirs.

use std::collections::BTreeMap;

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::{AppError, AudienceQuery, ConsentInput, Evidence, FormSubmission};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";
const SMS: &str = "marketing.communications.sms";
const ADS: &str = "marketing.advertising.third_party.targeted";

fn submission(email: &str, purposes: &[&str]) -> FormSubmission {
    FormSubmission {
        values: [
            ("email", email),
            ("given_name", "Rosalind"),
            ("phone", "+44 20 7946 0000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        purposes: purposes.iter().map(|p| p.to_string()).collect(),
        residency: "GB".into(),
        sign_up_again: false,
    }
}

#[tokio::test]
async fn a_sign_up_keeps_only_what_the_ticked_purposes_need_and_waits_for_confirmation() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let form = app
        .forms()
        .get("newsletter")
        .await
        .expect("the default form");
    assert_eq!(
        form.purposes
            .iter()
            .map(|p| p.key.as_str())
            .collect::<Vec<_>>(),
        [EMAIL, SMS]
    );

    let sent_from = Evidence {
        client_address: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
    };
    app.forms()
        .submit(
            "newsletter",
            submission("ros@example.com", &[EMAIL]),
            &sent_from,
        )
        .await
        .expect("submitted");
    let agent = agent(&app);
    let search = || async {
        app.customers()
            .list(
                &agent,
                steward_app::CustomerQuery {
                    email: Some("ros@example.com".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("search")
            .items
    };
    assert!(
        search().await.is_empty(),
        "no customer before the address is confirmed"
    );

    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(1).remove(0);
    let link = mail
        .link("http://steward.test/consent/confirm/")
        .expect("link");
    let token = link.rsplit('/').next().expect("token");
    let given = app
        .links()
        .confirm(token, &Evidence::default(), false)
        .await
        .expect("confirm");
    assert_eq!(
        (given.state, given.method.as_str()),
        (ConsentState::Given, "form")
    );
    let found = search().await;
    assert_eq!(found.len(), 1, "a new customer once confirmed");
    let id = found[0].id;
    assert_eq!(given.customer_id, id);
    let stored: Vec<&String> = found[0].fields.keys().collect();
    assert!(
        !stored.contains(&&"phone".to_string()),
        "text messages were not ticked: {stored:?}"
    );
    assert_eq!(
        found[0].fields.get("given_name").map(String::as_str),
        Some("Rosalind"),
        "made from what was sent"
    );
    let status = app.consent().current(&agent, id).await.expect("consents");
    let email = status.iter().find(|s| s.purpose == EMAIL).expect("email");
    assert_eq!(
        (email.state, email.given),
        (Some(ConsentState::Given), true)
    );
    assert!(
        status
            .iter()
            .find(|s| s.purpose == SMS)
            .expect("sms")
            .state
            .is_none()
    );
    let history = app.consent().history(&agent, id).await.expect("history");
    assert_eq!(
        history
            .iter()
            .map(|e| (e.purpose.as_str(), e.state))
            .collect::<Vec<_>>(),
        [(EMAIL, ConsentState::Given)],
        "nothing was recorded before the link"
    );
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM consent_events WHERE evidence LIKE '%client%'")
            .await,
        1,
        "the consent keeps the evidence of the submission it was given in"
    );
    let ros = signed_in(&app, Inbox::Smtp(&smtp), "ros@example.com").await;
    assert_eq!(ros.customer(), id);
    let overview = app.portal().overview(&ros).await.expect("overview");
    assert_eq!(
        overview.source.as_deref(),
        Some("you signed up on our form “Stay in touch”"),
        "the form by its title, not its key"
    );
}

#[tokio::test]
async fn a_form_never_changes_a_customer_and_answers_strangers_alike() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let mut typed = submission("ada@example.com", &[EMAIL, SMS]);
    typed.values.insert("given_name".into(), "Mallory".into());
    app.forms()
        .submit("newsletter", typed, &Evidence::default())
        .await
        .expect("the same answer as for a stranger");
    let unchanged = |after: &steward_app::CustomerView| {
        assert_eq!(
            after.fields.get("given_name").map(String::as_str),
            Some("Ada")
        );
        assert_eq!(after.fields.get("phone"), c.fields.get("phone"));
        assert_eq!(after.version, c.version, "not changed at all");
    };
    unchanged(&app.customers().get(&agent, c.id).await.expect("read"));
    assert!(
        app.consent()
            .current(&agent, c.id)
            .await
            .expect("consents")
            .iter()
            .all(|s| s.state.is_none()),
        "no choice recorded before the link"
    );
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(1).remove(0);
    assert!(
        mail.header("Subject")
            .is_some_and(|s| s.contains("Please confirm your choices"))
    );
    assert_eq!(
        mail.body.matches("/consent/confirm/").count(),
        2,
        "one link per choice"
    );
    let marketer = access(&app, Role::Marketer, SMS);
    let query = AudienceQuery {
        purpose: SMS.into(),
        ..Default::default()
    };
    assert_eq!(
        app.segments()
            .audience(&marketer, &query)
            .await
            .expect("count")
            .count,
        0
    );
    // Following the link for text messages shows the address is Ada's: her choice counts,
    // and still nothing typed into the form replaces what she gave us.
    let sms_link = mail
        .body
        .split("Marketing text messages")
        .nth(1)
        .and_then(|rest| rest.split("http://steward.test/consent/confirm/").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the text messages link");
    let given = app
        .links()
        .confirm(sms_link, &Evidence::default(), false)
        .await
        .expect("confirm");
    assert_eq!((given.customer_id, given.purpose.as_str()), (c.id, SMS));
    unchanged(&app.customers().get(&agent, c.id).await.expect("read"));
    assert_eq!(
        app.segments()
            .audience(&marketer, &query)
            .await
            .expect("count")
            .count,
        1
    );
    assert_eq!(
        app.customers()
            .list(&agent, Default::default())
            .await
            .expect("list")
            .items
            .len(),
        1,
        "no second customer"
    );
}

#[tokio::test]
async fn form_input_is_checked_and_gpc_waits_for_proof_of_the_address() {
    let (dir, app) = app().await;
    let bad = |purposes: &[&str], extra: Option<(&str, &str)>| {
        let mut s = submission("x@example.com", purposes);
        if let Some((k, v)) = extra {
            s.values.insert(k.into(), v.into());
        }
        s
    };
    for (s, field) in [
        (bad(&[], None), "purposes"),
        (bad(&[ADS], None), "purposes"),
        (
            bad(&[EMAIL], Some(("birth_date", "1990-01-01"))),
            "fields.birth_date",
        ),
        (
            bad(&[EMAIL], Some(("email", "not an address"))),
            "fields.email",
        ),
    ] {
        match app
            .forms()
            .submit("newsletter", s, &Evidence::default())
            .await
        {
            Err(AppError::Invalid(e)) => assert_eq!(e[0].field, field),
            other => panic!("expected an error on {field}, got {other:?}"),
        }
    }
    assert!(matches!(
        app.forms()
            .submit(
                "nope",
                submission("x@example.com", &[EMAIL]),
                &Evidence::default()
            )
            .await,
        Err(AppError::NotFound)
    ));

    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("gpc@example.com", "Gil"))
        .await
        .expect("create");
    app.consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                purpose: ADS.into(),
                state: "given".into(),
                notice_version: None,
                method: Some("portal".into()),
                fields: BTreeMap::new(),
            },
            &Evidence::default(),
        )
        .await
        .expect("ads");
    // A form can be posted by anyone for any address: it changes no customer's choices.
    assert!(
        app.forms()
            .submit(
                "newsletter",
                submission("gpc@example.com", &[]),
                &Evidence::default()
            )
            .await
            .is_err(),
        "nothing ticked, nothing done"
    );
    // Once the customer shows the address is theirs (a link, the portal), GPC counts.
    let withdrawn = app
        .own_rights()
        .honour_gpc(
            &signed_in(&app, Inbox::Log(dir.path()), "gpc@example.com").await,
            &Evidence::default(),
        )
        .await
        .expect("gpc");
    assert_eq!(withdrawn.len(), 1);
    let ads = app
        .consent()
        .current(&agent, c.id)
        .await
        .expect("consents")
        .into_iter()
        .find(|s| s.purpose == ADS)
        .expect("ads");
    assert_eq!(ads.state, Some(ConsentState::Withdrawn));
}

#[tokio::test]
async fn a_ticked_purpose_without_its_contact_field_is_refused_beside_that_field() {
    let (_dir, app) = app().await;
    let mut no_phone = submission("tia@example.com", &[EMAIL, SMS]);
    no_phone.values.insert("phone".into(), "  ".into());
    match app
        .forms()
        .submit("newsletter", no_phone, &Evidence::default())
        .await
    {
        Err(AppError::Invalid(e)) => {
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(e[0].field, "fields.phone");
            assert!(e[0].message.contains("Marketing text messages"), "{e:?}");
        }
        other => panic!("expected an error beside the phone, got {other:?}"),
    }
    let agent = agent(&app);
    let found = app
        .customers()
        .list(
            &agent,
            steward_app::CustomerQuery {
                email: Some("tia@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert!(found.items.is_empty(), "nothing of it was kept");

    // Email marketing alone needs no phone.
    let mut email_only = submission("tia@example.com", &[EMAIL]);
    email_only.values.remove("phone");
    app.forms()
        .submit("newsletter", email_only, &Evidence::default())
        .await
        .expect("no phone needed");

    // A form that offers text messages without asking for a number cannot take them.
    let extra = "[[form]]\nkey = \"texts\"\ntitle = \"Texts\"\npurposes = [\"marketing.communications.email\", \"marketing.communications.sms\"]\nfields = [\"email\", \"given_name\"]\n";
    let dir = Home::new().await;
    let narrow = steward_app::Steward::open(steward_app::OpenOptions {
        catalog: steward_app::core::Catalog::from_sources(&[
            ("default", steward_app::core::catalog::DEFAULT_CATALOG),
            ("extra", extra),
        ])
        .expect("catalog"),
        ..dir.options(clock())
    })
    .await
    .expect("open");
    let mut s = submission("tia@example.com", &[SMS]);
    s.values.remove("phone");
    match narrow
        .forms()
        .submit("texts", s, &Evidence::default())
        .await
    {
        Err(AppError::Invalid(e)) => {
            assert_eq!(e[0].field, "purposes", "{e:?}");
            assert!(e[0].message.contains("phone number"), "{e:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
