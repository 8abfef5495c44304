//! Sign-ups from public forms are held, sealed, until the address is confirmed: every valid
//! sign-up does the same work whoever the address belongs to, nothing reaches a customer
//! record before a link sent to the address is followed, and an ignored sign-up is gone
//! once its links expire.

use std::path::Path;

use steward_app::core::Role;
use steward_app::{AppError, CustomerQuery, Evidence, FormSubmission, Steward};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

fn submission(email: &str, sign_up_again: bool) -> FormSubmission {
    FormSubmission {
        values: [("email", email), ("given_name", "Wilhelmina")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        purposes: vec![EMAIL.into()],
        residency: "NL".into(),
        sign_up_again,
    }
}

fn keys(dir: &Path) -> i64 {
    rusqlite::Connection::open(dir.join("keys/keystore.db"))
        .expect("open")
        .query_row("SELECT COUNT(*) FROM data_keys", [], |r| r.get(0))
        .expect("count")
}

/// What a sign-up may add to, and what it must leave as it is.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    signups: i64,
    keys: i64,
    messages: i64,
    /// Messages the sender will take.
    to_send: i64,
    /// Links that can still be followed.
    open_links: i64,
    /// Every customer row as stored, sealed values and versions included.
    customers: Vec<(Vec<u8>, i64, i64)>,
    consent_events: i64,
    suppressions: i64,
}

async fn footprint(home: &Home) -> Footprint {
    // The sealed values are bound to their customer's id, so they stand for it too.
    let fields = home.blobs("SELECT fields FROM customers ORDER BY id").await;
    let versions = home
        .numbers("SELECT version FROM customers ORDER BY id")
        .await;
    let updated = home
        .numbers("SELECT updated_at FROM customers ORDER BY id")
        .await;
    Footprint {
        signups: home.count("SELECT COUNT(*) FROM signups").await,
        keys: keys(home.path()),
        messages: home.count("SELECT COUNT(*) FROM outbox").await,
        to_send: home
            .count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .await,
        open_links: home
            .count("SELECT COUNT(*) FROM mail_links WHERE used_at IS NULL")
            .await,
        customers: fields
            .into_iter()
            .zip(versions)
            .zip(updated)
            .map(|((f, v), u)| (f, v, u))
            .collect(),
        consent_events: home.count("SELECT COUNT(*) FROM consent_events").await,
        suppressions: home.count("SELECT COUNT(*) FROM suppressions").await,
    }
}

/// Erases the customer at their own request, so their address is suppressed.
async fn erased_at_their_request(app: &Steward, smtp: &SmtpServer, email: &str) {
    app.customers()
        .create(&agent(app), input(email, "Gwen"))
        .await
        .expect("create");
    let them = signed_in(app, Inbox::Smtp(smtp), email).await;
    app.own_rights().erase_account(&them).await.expect("erase");
}

async fn search(app: &Steward, email: &str) -> Vec<steward_app::CustomerView> {
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
}

async fn find(app: &Steward, email: &str) -> usize {
    search(app, email).await.len()
}

#[tokio::test]
async fn every_sign_up_does_the_same_work_whoever_the_address_belongs_to() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let known = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    give_consent(&app, &agent, known.id, EMAIL).await;
    erased_at_their_request(&app, &smtp, "gwen@example.com").await;

    for (who, address, mailed) in [
        ("an unknown address", "stranger@example.com", 1),
        (
            "a customer who gave the purpose already",
            "ada@example.com",
            1,
        ),
        (
            "an address erased at its owner's request, without the tick",
            "gwen@example.com",
            0,
        ),
    ] {
        let before = footprint(&dir).await;
        app.forms()
            .submit(
                "newsletter",
                submission(address, false),
                &Evidence::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{who}: {e:?}"));
        let after = footprint(&dir).await;
        assert_eq!(
            (after.signups, after.keys),
            (before.signups + 1, before.keys + 1),
            "{who}: one sign-up row and one key"
        );
        assert_eq!(
            (after.messages, after.to_send, after.open_links),
            (
                before.messages + 1,
                before.to_send + mailed,
                before.open_links + mailed
            ),
            "{who}: a message made for every sign-up, but never sent to someone erased \
             at their request unasked, nor a link they could follow"
        );
        assert_eq!(
            (&after.customers, after.consent_events, after.suppressions),
            (
                &before.customers,
                before.consent_events,
                before.suppressions
            ),
            "{who}: no customer created or changed, no choice recorded"
        );
    }
    // I1: what was typed is sealed, in the database and its log alike.
    dir.assert_no_plaintext(&["stranger@example.com", "gwen@example.com", "Wilhelmina"])
        .await;
}

#[tokio::test]
async fn signing_up_again_stores_nothing_until_the_link_is_followed() {
    let smtp = SmtpServer::start();
    let (dir, app, clock) = app_with_mail(&smtp.url()).await;
    erased_at_their_request(&app, &smtp, "gwen@example.com").await;
    app.outbox().deliver_due().await.expect("the farewell");
    smtp.wait_for(2);
    let start = footprint(&dir).await;
    assert_eq!(start.suppressions, 1);

    // Anyone can tick the box with her address: nothing of her is stored, and she stays
    // suppressed, until the link sent to it is followed.
    app.forms()
        .submit(
            "newsletter",
            submission("gwen@example.com", true),
            &Evidence::default(),
        )
        .await
        .expect("taken");
    assert_eq!(find(&app, "gwen@example.com").await, 0);
    let held = footprint(&dir).await;
    assert_eq!((held.signups, held.keys), (1, start.keys + 1));
    assert_eq!(held.customers, start.customers);
    assert_eq!(held.suppressions, 1);
    dir.assert_no_plaintext(&["gwen@example.com", "Wilhelmina"])
        .await;
    app.outbox().deliver_due().await.expect("deliver");
    let ignored = smtp.wait_for(3)[2]
        .link("http://steward.test/consent/confirm/")
        .expect("a link to her");

    // Ignored: once its links expire, the sign-up goes with its key, message and links.
    assert_eq!(app.forms().sweep_expired_signups().await.expect("sweep"), 0);
    clock.advance(jiff::SignedDuration::from_hours(7 * 24));
    assert_eq!(app.forms().sweep_expired_signups().await.expect("sweep"), 1);
    let swept = footprint(&dir).await;
    assert_eq!(
        (swept.signups, swept.keys, swept.messages),
        (0, start.keys, start.messages),
        "nothing of it is left"
    );
    assert_eq!(swept.customers, start.customers);
    assert_eq!(swept.suppressions, 1, "and she is still suppressed");
    assert!(matches!(
        app.links()
            .confirm(
                ignored.rsplit('/').next().expect("token"),
                &Evidence::default(),
                false
            )
            .await,
        Err(AppError::NotFound | AppError::LinkSpent)
    ));
    assert_eq!(app.forms().sweep_expired_signups().await.expect("again"), 0);

    // She signs up again herself and follows the link: then she is back, unsuppressed, and
    // the sign-up has gone with its key.
    app.forms()
        .submit(
            "newsletter",
            submission("gwen@example.com", true),
            &Evidence::default(),
        )
        .await
        .expect("taken");
    app.outbox().deliver_due().await.expect("deliver");
    let link = smtp.wait_for(4)[3]
        .link("http://steward.test/consent/confirm/")
        .expect("a link to her");
    let given = app
        .links()
        .confirm(
            link.rsplit('/').next().expect("token"),
            &Evidence::default(),
            false,
        )
        .await
        .expect("confirmed");
    assert_eq!(find(&app, "gwen@example.com").await, 1);
    let back = footprint(&dir).await;
    assert_eq!(back.suppressions, 0, "confirming her address lifts it");
    assert_eq!(
        (back.signups, back.keys),
        (0, start.keys + 1),
        "the sign-up's key is gone, hers is there"
    );
    let marketer = access(&app, Role::Marketer, EMAIL);
    let audience = app
        .segments()
        .audience(
            &marketer,
            &steward_app::AudienceQuery {
                purpose: EMAIL.into(),
                ..Default::default()
            },
        )
        .await
        .expect("audience");
    assert_eq!(audience.count, 1, "{given:?}");
    assert!(matches!(
        app.links()
            .confirm(
                link.rsplit('/').next().expect("token"),
                &Evidence::default(),
                false
            )
            .await,
        Err(AppError::LinkSpent)
    ));
}

#[tokio::test]
async fn a_sign_up_without_the_tick_does_not_bring_back_someone_erased_after_sending_it() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    app.forms()
        .submit(
            "newsletter",
            submission("gwen@example.com", false),
            &Evidence::default(),
        )
        .await
        .expect("taken");
    app.outbox().deliver_due().await.expect("deliver");
    let link = smtp.wait_for(1)[0]
        .link("http://steward.test/consent/confirm/")
        .expect("a link");
    erased_at_their_request(&app, &smtp, "gwen@example.com").await;
    assert!(matches!(
        app.links()
            .confirm(
                link.rsplit('/').next().expect("token"),
                &Evidence::default(),
                false
            )
            .await,
        Err(AppError::LinkSpent)
    ));
    assert_eq!(find(&app, "gwen@example.com").await, 0);
    assert_eq!(footprint(&dir).await.suppressions, 1);
}

#[tokio::test]
async fn both_links_of_one_sign_up_make_one_customer_and_settle_it() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let mut both = submission("wil@example.com", false);
    both.values.insert("phone".into(), "+31 20 123 4567".into());
    both.purposes.push("marketing.communications.sms".into());
    let start = footprint(&dir).await;
    app.forms()
        .submit("newsletter", both, &Evidence::default())
        .await
        .expect("taken");
    app.outbox().deliver_due().await.expect("deliver");
    let body = smtp.wait_for(1).remove(0).body;
    let tokens: Vec<&str> = body
        .split("http://steward.test/consent/confirm/")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(tokens.len(), 2);
    app.links()
        .confirm(tokens[0], &Evidence::default(), false)
        .await
        .expect("first");
    let between = footprint(&dir).await;
    assert_eq!(
        (between.signups, between.keys),
        (1, start.keys + 2),
        "held for its other link: its key and the new customer's"
    );
    app.links()
        .confirm(tokens[1], &Evidence::default(), false)
        .await
        .expect("second");
    let after = footprint(&dir).await;
    assert_eq!(
        (after.signups, after.keys, after.customers.len()),
        (0, start.keys + 1, 1),
        "one customer, and the sign-up gone with its key and message"
    );
    assert_eq!(after.messages, start.messages);
    let agent = agent(&app);
    let c = &app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("wil@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search")
        .items[0];
    assert_eq!(
        c.fields.get("phone").map(String::as_str),
        Some("+31201234567")
    );
    let given: Vec<String> = app
        .consent()
        .current(&agent, c.id)
        .await
        .expect("consents")
        .into_iter()
        .filter(|s| s.given)
        .map(|s| s.purpose)
        .collect();
    assert_eq!(given, [EMAIL, "marketing.communications.sms"]);
}

const THIRD_PARTY_ADS: &str = "marketing.advertising.third_party.targeted";

/// Makes every write of a GPC withdrawal fail, as a full disk or a lost connection would.
async fn refuse_gpc_writes(home: &Home, refuse: bool) {
    if refuse {
        home.execute(
            "CREATE TRIGGER refuse_gpc BEFORE INSERT ON consent_events WHEN NEW.method = 'gpc' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            "CREATE FUNCTION refuse_gpc() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER refuse_gpc BEFORE INSERT ON consent_events FOR EACH ROW \
             WHEN (NEW.method = 'gpc') EXECUTE FUNCTION refuse_gpc();",
        )
        .await;
    } else {
        home.execute(
            "DROP TRIGGER refuse_gpc;",
            "DROP TRIGGER refuse_gpc ON consent_events; DROP FUNCTION refuse_gpc();",
        )
        .await;
    }
}

async fn last_link(app: &Steward, smtp: &SmtpServer, n: usize) -> String {
    app.outbox().deliver_due().await.expect("deliver");
    smtp.wait_for(n)[n - 1]
        .link("http://steward.test/consent/confirm/")
        .expect("a link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_string()
}

#[tokio::test]
async fn a_gpc_signal_sent_with_a_confirmation_commits_with_it_or_not_at_all() {
    let smtp = SmtpServer::start();
    let (dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let gil = app
        .customers()
        .create(&agent, input("gil@example.com", "Gil"))
        .await
        .expect("create");
    give_consent(&app, &agent, gil.id, THIRD_PARTY_ADS).await;
    app.consent()
        .record(
            &agent,
            gil.id,
            steward_app::ConsentInput {
                purpose: EMAIL.into(),
                state: "given".into(),
                notice_version: None,
                method: None,
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await
        .expect("asked");
    let known = last_link(&app, &smtp, 1).await;
    app.forms()
        .submit(
            "newsletter",
            submission("new@example.com", false),
            &Evidence::default(),
        )
        .await
        .expect("taken");
    let new = last_link(&app, &smtp, 2).await;

    // The withdrawal cannot be written: neither can the confirmation it came with.
    refuse_gpc_writes(&dir, true).await;
    let before = footprint(&dir).await;
    for (who, token) in [("a customer", &known), ("a sign-up", &new)] {
        assert!(
            app.links()
                .confirm(token, &Evidence::default(), true)
                .await
                .is_err(),
            "{who}: the signal could not be honoured"
        );
        assert_eq!(
            footprint(&dir).await,
            before,
            "{who}: no consent given, no link spent, no customer made, no key kept"
        );
    }
    assert_eq!(find(&app, "new@example.com").await, 0);

    // Once it can, the consent and what the signal withdraws land together.
    refuse_gpc_writes(&dir, false).await;
    let dpo = dpo(&app);
    for (who, token, email) in [
        ("a customer", &known, "gil@example.com"),
        ("a sign-up", &new, "new@example.com"),
    ] {
        let given = app
            .links()
            .confirm(token, &Evidence::default(), true)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e:?}"));
        let customer = search(&app, email)
            .await
            .pop()
            .unwrap_or_else(|| panic!("{who}: found"));
        assert_eq!(given.customer_id, customer.id);
        let history = app
            .consent()
            .history(&dpo, customer.id)
            .await
            .expect("history");
        let withdrawn: Vec<(&str, &str)> = history
            .iter()
            .filter(|e| e.state == steward_app::core::consent::ConsentState::Withdrawn)
            .map(|e| (e.purpose.as_str(), e.method.as_str()))
            .collect();
        assert!(
            withdrawn.contains(&(THIRD_PARTY_ADS, "gpc")),
            "{who}: the signal withdrew third-party advertising: {withdrawn:?}"
        );
        assert!(
            history.iter().any(|e| e.purpose == EMAIL
                && e.state == steward_app::core::consent::ConsentState::Given),
            "{who}: and the consent the link confirms stands"
        );
    }
    let after = footprint(&dir).await;
    assert_eq!(after.open_links, before.open_links - 2, "both links spent");
    assert_eq!(after.signups, before.signups - 1, "the sign-up settled");
}
