//! Portal sign-in: codes go only to customers' addresses, are bound to them, expire, work
//! once and allow three attempts; the overview shows everything held and who used it.

use steward_app::{AppError, CodeStanding, Steward};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

async fn code_for(app: &Steward, smtp: &SmtpServer, email: &str, nth: usize) -> String {
    app.portal()
        .send_code(&app.portal().address(email).expect("address"))
        .await
        .expect("send");
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(nth);
    let body = &mail[nth - 1].body;
    let at = body.find("data: ").expect("the code") + "data: ".len();
    body[at..at + 6].to_string()
}

#[tokio::test]
async fn a_code_signs_in_once_and_only_for_its_address() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let ada = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    app.customers()
        .create(&agent, input("bob@example.com", "Bob"))
        .await
        .expect("create");

    // An unknown address gets the same answer and no mail.
    app.portal()
        .send_code(&app.portal().address("nobody@example.com").expect("address"))
        .await
        .expect("the same answer");
    app.outbox().deliver_due().await.expect("deliver");
    assert!(smtp.messages().is_empty());

    let code = code_for(&app, &smtp, "ada@example.com", 1).await;
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    assert!(
        matches!(
            app.portal().sign_in("bob@example.com", &code).await,
            Err(AppError::Unauthenticated(_))
        ),
        "bound to the address it went to"
    );
    let wrong = if code == "000000" { "000001" } else { "000000" };
    assert!(matches!(
        app.portal().sign_in("ada@example.com", wrong).await,
        Err(AppError::Unauthenticated(_))
    ));
    let signed = app
        .portal()
        .sign_in("ADA@example.com ", &code)
        .await
        .expect("sign in");
    assert_eq!(signed.subject.customer(), ada.id);
    assert_eq!(
        app.portal()
            .customer(&signed.token)
            .await
            .expect("session")
            .customer(),
        ada.id
    );
    assert!(
        matches!(
            app.portal().sign_in("ada@example.com", &code).await,
            Err(AppError::Unauthenticated(_))
        ),
        "a code works once"
    );

    let overview = app
        .portal()
        .overview(&signed.subject)
        .await
        .expect("overview");
    let held: Vec<(&str, &str)> = overview
        .values
        .iter()
        .map(|v| (v.field.as_str(), v.value.as_str()))
        .collect();
    assert!(held.contains(&("email", "ada@example.com")));
    assert!(held.contains(&("given_name", "Ada")));
    assert!(
        overview
            .values
            .iter()
            .all(|v| !v.purposes.is_empty() && !v.category.is_empty())
    );
    assert!(
        overview
            .access_history
            .iter()
            .any(|a| a.action == "customer.create" && a.who == "staff (agent)"),
        "{:?}",
        overview.access_history
    );
    app.portal()
        .sign_out(&signed.token)
        .await
        .expect("sign out");
    assert!(matches!(
        app.portal().customer(&signed.token).await,
        Err(AppError::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn three_attempts_and_ten_minutes_is_all_a_code_gets() {
    let smtp = SmtpServer::start();
    let (_dir, app, clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    app.customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let code = code_for(&app, &smtp, "ada@example.com", 1).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..3 {
        assert!(
            app.portal()
                .sign_in("ada@example.com", wrong)
                .await
                .is_err()
        );
    }
    assert!(
        app.portal()
            .sign_in("ada@example.com", &code)
            .await
            .is_err(),
        "no fourth attempt, even with the right code"
    );

    let code = code_for(&app, &smtp, "ada@example.com", 2).await;
    clock.advance(jiff::SignedDuration::from_mins(11));
    assert!(
        app.portal()
            .sign_in("ada@example.com", &code)
            .await
            .is_err(),
        "expired"
    );
}

#[tokio::test]
async fn a_customer_corrects_what_we_hold_but_not_their_sign_in_address() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    app.customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let ada = signed_in(&app, Inbox::Log(dir.path()), "ada@example.com").await;
    for (field, value, error_on) in [
        ("email", "eve@example.com", "field"),
        ("company", "Analytical Engines", "field"),
        ("birth_date", "someday", "fields.birth_date"),
    ] {
        match app.own_rights().correct(&ada, field, value).await {
            Err(AppError::Invalid(e)) => assert_eq!(e[0].field, error_on, "{field}"),
            other => panic!("{field}: expected a field error, got {other:?}"),
        }
    }
    app.own_rights()
        .correct(&ada, "given_name", "Augusta")
        .await
        .expect("corrected");
    let held = app.portal().overview(&ada).await.expect("overview");
    assert!(
        held.values
            .iter()
            .any(|v| v.field == "given_name" && v.value == "Augusta")
    );
    assert!(
        held.values
            .iter()
            .any(|v| v.field == "email" && v.value == "ada@example.com")
    );
}

#[tokio::test]
async fn staff_can_be_shown_by_a_stable_pseudonym_instead_of_their_role_alone() {
    let dir = Home::new().await;
    let app = steward_app::Steward::open(steward_app::OpenOptions {
        staff_shown_as: steward_app::StaffShownAs::Pseudonym,
        ..dir.options(clock())
    })
    .await
    .expect("open");
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("pia@example.com", "Pia"))
        .await
        .expect("create");
    app.customers().get(&agent, c.id).await.expect("read");
    app.customers().get(&agent, c.id).await.expect("read again");
    let pia = signed_in(&app, Inbox::Log(dir.path()), "pia@example.com").await;
    let seen = app.portal().overview(&pia).await.expect("overview");
    let staff: Vec<&str> = seen
        .access_history
        .iter()
        .map(|a| a.who.as_str())
        .filter(|w| w.starts_with("staff"))
        .collect();
    assert!(staff.len() >= 2, "{staff:?}");
    assert!(
        staff.iter().all(|w| *w == staff[0]),
        "one person, one pseudonym: {staff:?}"
    );
    assert!(staff[0].starts_with("staff member ") && staff[0].ends_with("(agent)"));
    assert!(
        !staff[0].contains("user:agent"),
        "the pseudonym names no one"
    );
}

#[tokio::test]
async fn a_codes_standing_counts_tries_and_minutes_from_what_the_visitor_holds() {
    let (_dir, app, clock) = app_with_clock().await;
    let asked = app.now();
    let until = asked + jiff::SignedDuration::from_mins(10);
    assert_eq!(
        app.portal().code_standing(asked, 1),
        CodeStanding::Usable {
            tries_left: 2,
            until
        }
    );
    assert_eq!(app.portal().code_standing(asked, 3), CodeStanding::UsedUp);
    assert_eq!(
        app.portal()
            .code_standing(asked + jiff::SignedDuration::from_hours(5), 0),
        CodeStanding::Usable {
            tries_left: 3,
            until
        },
        "a time to come counts as now"
    );
    clock.advance(jiff::SignedDuration::from_mins(10));
    assert_eq!(app.portal().code_standing(asked, 0), CodeStanding::Expired);
}
