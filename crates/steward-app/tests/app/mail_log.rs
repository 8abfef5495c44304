//! Without an SMTP server, mail goes to `mail.log` in the data directory, for someone trying
//! Steward out to read: each message as written, links whole.

use std::collections::BTreeMap;

use steward_app::{ConsentInput, Evidence};

use crate::support::*;

#[tokio::test]
async fn the_mail_log_holds_messages_as_written_with_their_links_whole() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("zoe@example.com", "Zoë"))
        .await
        .expect("create");
    app.consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                purpose: "marketing.communications.email".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("form".into()),
                fields: BTreeMap::new(),
            },
            &Evidence::default(),
        )
        .await
        .expect("record");
    assert_eq!(app.outbox().deliver_due().await.expect("deliver").sent, 1);

    let log = std::fs::read_to_string(dir.path().join("mail.log")).expect("mail log");
    assert!(
        !log.to_ascii_lowercase().contains("quoted-printable") && !log.contains("=\n"),
        "{log}"
    );
    assert!(!log.contains('\r'), "plain line ends: {log:?}");
    let link = log
        .split_whitespace()
        .find(|w| w.contains("/consent/confirm/"))
        .unwrap_or_else(|| panic!("no confirmation link in {log}"));
    let token = link.rsplit('/').next().expect("token");
    assert!(
        app.links()
            .confirmation(token)
            .await
            .expect("the link works")
            .usable,
        "{link}"
    );
}
