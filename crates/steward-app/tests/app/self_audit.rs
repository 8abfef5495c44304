//! The security self-audit: on a well-set installation every check passes (PostgreSQL's
//! missing TLS aside), and each lapse it looks for, seeded here, fails its check and names
//! what is concerned by id, never by a personal value. Each scenario runs on SQLite and on
//! PostgreSQL.

use std::collections::BTreeSet;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::{SignedDuration, Span};
use steward_app::core::{Clock, FixedClock, Role};
use steward_app::{
    AppError, Controller, FindingStatus, InstallationFacts, NewToken, NewUser, SecurityReport,
    Steward,
};
use steward_store::testing::{TestDatabase, fresh_postgres};

use crate::support::*;
use crate::vendor_fixtures::{day, processor, review};

struct Installation {
    dir: tempfile::TempDir,
    db: Option<TestDatabase>,
    app: Steward,
    clock: Arc<FixedClock>,
}

const EMAIL_OF_MARKETER: &str = "mira.marketing@example.com";

/// A Steward on either engine whose controller is the company's own.
async fn installation(pg: bool) -> Installation {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // As `steward` creates a data directory: closed to others.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let clock = clock();
    let app = Steward::open(steward_app::OpenOptions {
        database_url: db.as_ref().map(|d| d.url.clone()),
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        controller: Controller {
            name: "Example Shop GmbH".into(),
            email: "privacy@example-shop.test".into(),
            address: "Hauptstrasse 1, 10115 Berlin".into(),
            jurisdiction: "DE".into(),
        },
        security: steward_app::SecuritySettings {
            breach_plan: Some(crate::breaches::plan()),
        },
        ..options(dir.path(), clock.clone())
    })
    .await
    .expect("open steward");
    Installation {
        dir,
        db,
        app,
        clock,
    }
}

async fn add_user(app: &Steward, email: &str, role: Role) -> uuid::Uuid {
    app.accounts()
        .add_user(
            &actor(app, Role::Admin),
            NewUser {
                email: email.into(),
                role,
                password: "a long staff passphrase".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("add user")
        .id
}

/// Every account with a second factor, tokens that expire, a finished sweep and a verified,
/// witnessed audit chain.
async fn well_set(pg: bool) -> Installation {
    let i = installation(pg).await;
    let app = &i.app;
    add_user(app, "ada.admin@example.com", Role::Admin).await;
    add_user(app, "dora.dpo@example.com", Role::Dpo).await;
    add_user(app, "otto.audit@example.com", Role::Auditor).await;
    let agent = add_user(app, "aggie.agent@example.com", Role::Agent).await;
    app.accounts()
        .enrol_second_factor(&actor(app, Role::Admin), agent)
        .await
        .expect("enrol");
    app.accounts()
        .create_token(
            &actor(app, Role::Admin),
            NewToken {
                name: "shop integration".into(),
                role: Role::Agent,
                purposes: vec![],
                expires_at: Some(i.clock.now() + SignedDuration::from_hours(24 * 180)),
            },
        )
        .await
        .expect("token");
    sweep(app).await;
    i
}

async fn sweep(app: &Steward) {
    let dpo = dpo(app);
    let run = app.retention().start_run(&dpo, false).await.expect("start");
    app.retention()
        .run(run.id, |_| ControlFlow::Continue(()), |_| {})
        .await
        .expect("sweep");
}

async fn audit(app: &Steward, facts: &InstallationFacts) -> SecurityReport {
    app.self_audit()
        .run(&actor(app, Role::Auditor), facts)
        .await
        .expect("self-audit")
}

/// The ids of the failing checks.
fn failing(report: &SecurityReport) -> BTreeSet<&str> {
    report.failed().map(|f| f.id.as_str()).collect()
}

/// `ids`, and what fails on every installation of this engine however well set: PostgreSQL
/// is reached without TLS.
fn and_always(pg: bool, ids: &[&'static str]) -> BTreeSet<&'static str> {
    let mut all: BTreeSet<_> = ids.iter().copied().collect();
    if pg {
        all.insert("POSTGRES_TLS");
    }
    all
}

fn status(report: &SecurityReport, id: &str) -> FindingStatus {
    report
        .finding(id)
        .unwrap_or_else(|| panic!("no finding {id}"))
        .status
}

async fn both<F, Fut>(scenario: F)
where
    F: Fn(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    scenario(false).await;
    scenario(true).await;
}

#[tokio::test]
async fn a_well_set_installation_passes_and_an_account_without_mfa_fails() {
    both(|pg| async move {
        let i = well_set(pg).await;
        let facts = InstallationFacts::default();
        let report = audit(&i.app, &facts).await;
        assert_eq!(failing(&report), and_always(pg, &[]), "{report:#?}");
        assert_eq!(report.counts.fail, and_always(pg, &[]).len());
        assert_eq!(
            report.counts.pass + report.counts.fail + report.counts.not_applicable,
            report.findings.len()
        );
        assert_eq!(status(&report, "MFA_COVERAGE"), FindingStatus::Pass);
        assert_eq!(status(&report, "AUDIT_CHAIN"), FindingStatus::Pass);
        assert_eq!(
            status(&report, "POSTGRES_TLS"),
            if pg {
                FindingStatus::Fail
            } else {
                FindingStatus::NotApplicable
            }
        );

        // A marketer reads consenting customers' data and has no second factor.
        let marketer = add_user(&i.app, EMAIL_OF_MARKETER, Role::Marketer).await;
        let report = audit(&i.app, &facts).await;
        assert_eq!(failing(&report), and_always(pg, &["MFA_COVERAGE"]));
        let mfa = report.finding("MFA_COVERAGE").expect("mfa");
        assert_eq!(mfa.subjects, vec![format!("user:{marketer} (marketer)")]);
        assert!(mfa.evidence.starts_with("1 of 4 "), "{}", mfa.evidence);
        let json = serde_json::to_string(&report).expect("json");
        assert!(
            !json.contains(EMAIL_OF_MARKETER),
            "evidence names no address"
        );

        // An auditor reads no personal data: no second factor is asked of one.
        i.app
            .accounts()
            .update_user(
                &actor(&i.app, Role::Admin),
                marketer,
                Some(Role::Auditor),
                None,
            )
            .await
            .expect("to auditor");
        let report = audit(&i.app, &facts).await;
        assert_eq!(status(&report, "MFA_COVERAGE"), FindingStatus::Pass);
    })
    .await;
}

#[tokio::test]
async fn a_tampered_audit_row_fails_the_audit_chain() {
    both(|pg| async move {
        let i = well_set(pg).await;
        let facts = InstallationFacts::default();
        assert_eq!(
            status(&audit(&i.app, &facts).await, "AUDIT_CHAIN"),
            FindingStatus::Pass
        );
        let tamper = "UPDATE audit_log SET action = 'customer.read' WHERE seq = 3";
        match &i.db {
            None => {
                sqlite(i.dir.path()).execute_batch(tamper).expect("tamper");
            }
            Some(db) => {
                let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client.batch_execute(tamper).await.expect("tamper");
            }
        }
        let report = audit(&i.app, &facts).await;
        let chain = report.finding("AUDIT_CHAIN").expect("chain");
        assert_eq!(chain.status, FindingStatus::Fail, "{chain:?}");
        assert_eq!(chain.subjects, vec!["audit:3".to_string()]);
        assert_eq!(failing(&report), and_always(pg, &["AUDIT_CHAIN"]));
    })
    .await;
}

#[tokio::test]
async fn accounts_and_tokens_unused_for_ninety_days_and_tokens_without_expiry_fail() {
    both(|pg| async move {
        let i = well_set(pg).await;
        let (app, facts) = (&i.app, InstallationFacts::default());
        let admin = actor(app, Role::Admin);
        let forever = |name: &str| NewToken {
            name: name.into(),
            role: Role::Auditor,
            purposes: vec![],
            expires_at: None,
        };
        let (used, used_token) = app
            .accounts()
            .create_token(&admin, forever("used"))
            .await
            .expect("token");
        let (idle, _) = app
            .accounts()
            .create_token(&admin, forever("idle"))
            .await
            .expect("token");
        let report = audit(app, &facts).await;
        let endless = report.finding("TOKENS_WITHOUT_EXPIRY").expect("expiry");
        assert_eq!(endless.status, FindingStatus::Fail);
        assert_eq!(
            endless.subjects,
            vec![
                format!("token:{used} (auditor)"),
                format!("token:{idle} (auditor)")
            ]
        );
        assert_eq!(status(&report, "STALE_TOKENS"), FindingStatus::Pass);
        assert_eq!(status(&report, "STALE_ACCOUNTS"), FindingStatus::Pass);

        // Sixty days on, the auditor signs in and one token is used; thirty-one days later
        // everything else is ninety-one days old.
        i.clock.advance(SignedDuration::from_hours(24 * 60));
        app.sessions()
            .login(
                "otto.audit@example.com",
                "a long staff passphrase",
                None,
                None,
            )
            .await
            .expect("sign in");
        app.sessions()
            .authenticate_token(&used_token)
            .await
            .expect("token use");
        i.clock.advance(SignedDuration::from_hours(24 * 31));
        let report = audit(app, &facts).await;
        let stale = report.finding("STALE_TOKENS").expect("stale tokens");
        assert_eq!(stale.status, FindingStatus::Fail);
        assert_eq!(stale.subjects.len(), 2, "{stale:?}");
        assert!(
            stale
                .subjects
                .iter()
                .all(|s| !s.contains(&used.to_string()))
        );
        assert!(stale.subjects[0].starts_with("token:"));
        let accounts = report.finding("STALE_ACCOUNTS").expect("stale accounts");
        assert_eq!(accounts.status, FindingStatus::Fail);
        assert_eq!(accounts.subjects.len(), 3, "{accounts:?}");
        assert!(accounts.subjects.iter().all(|s| !s.ends_with("(auditor)")));
        assert!(
            accounts.evidence.starts_with("3 of 4 "),
            "{}",
            accounts.evidence
        );
        assert_eq!(status(&report, "RETENTION_SWEEP"), FindingStatus::Fail);
    })
    .await;
}

#[tokio::test]
async fn a_token_s_use_is_recorded_at_most_hourly() {
    let i = well_set(false).await;
    let app = &i.app;
    let admin = actor(app, Role::Admin);
    let (id, token) = app
        .accounts()
        .create_token(
            &admin,
            NewToken {
                name: "busy".into(),
                role: Role::Auditor,
                purposes: vec![],
                expires_at: None,
            },
        )
        .await
        .expect("token");
    let last_used = || async {
        app.accounts()
            .list_tokens(&admin)
            .await
            .expect("tokens")
            .into_iter()
            .find(|t| t.id == id)
            .expect("listed")
            .last_used_at
    };
    assert_eq!(last_used().await, None);
    let first = i.clock.now();
    app.sessions()
        .authenticate_token(&token)
        .await
        .expect("use");
    assert_eq!(last_used().await, Some(first));
    // Past the cache's life, every use reads the token again, but writes only hourly.
    for _ in 0..5 {
        i.clock.advance(SignedDuration::from_mins(11));
        app.sessions()
            .authenticate_token(&token)
            .await
            .expect("use");
    }
    assert_eq!(last_used().await, Some(first));
    i.clock.advance(SignedDuration::from_mins(6));
    app.sessions()
        .authenticate_token(&token)
        .await
        .expect("use");
    assert_eq!(last_used().await, Some(i.clock.now()));
}

#[tokio::test]
async fn key_age_and_file_permissions_are_checked() {
    use std::os::unix::fs::PermissionsExt;
    let i = well_set(false).await;
    let facts = InstallationFacts::default();
    let key = i.dir.path().join("keys").join("master.key");
    let report = audit(&i.app, &facts).await;
    assert_eq!(status(&report, "KEK_AGE"), FindingStatus::Pass);
    assert_eq!(
        status(&report, "MASTER_KEY_PERMISSIONS"),
        FindingStatus::Pass
    );

    // 745 days on, the key made at T0 is past the year the policy allows.
    i.clock.advance(SignedDuration::from_hours(745 * 24));
    let report = audit(&i.app, &facts).await;
    let kek = report.finding("KEK_AGE").expect("kek");
    assert_eq!(kek.status, FindingStatus::Fail, "{kek:?}");
    assert!(kek.evidence.contains("745 days"), "{}", kek.evidence);
    let lenient = InstallationFacts {
        kek_max_age: Span::new().years(3),
        ..InstallationFacts::default()
    };
    assert_eq!(
        status(&audit(&i.app, &lenient).await, "KEK_AGE"),
        FindingStatus::Pass
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let perms = audit(&i.app, &facts).await;
    let found = perms.finding("MASTER_KEY_PERMISSIONS").expect("perms");
    assert_eq!(found.status, FindingStatus::Fail);
    assert_eq!(found.subjects, vec!["file:keys/master.key".to_string()]);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(i.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let found = audit(&i.app, &facts).await;
    let found = found.finding("MASTER_KEY_PERMISSIONS").expect("perms");
    assert_eq!(found.subjects, vec!["dir:data".to_string()]);
}

#[tokio::test]
async fn listeners_certificates_mail_and_the_controller_are_checked() {
    let i = well_set(false).await;
    let now = i.clock.now();
    let public = InstallationFacts {
        listen: "0.0.0.0:443".parse().expect("addr"),
        ..InstallationFacts::default()
    };
    let report = audit(&i.app, &public).await;
    assert_eq!(
        failing(&report),
        and_always(false, &["TLS_LISTENER", "MAIL_LOG_MODE"])
    );
    assert_eq!(status(&report, "CERT_EXPIRY"), FindingStatus::NotApplicable);

    let soon = InstallationFacts {
        tls: true,
        certificate_not_after: Some(now + SignedDuration::from_hours(24 * 10)),
        ..public.clone()
    };
    let report = audit(&i.app, &soon).await;
    assert_eq!(
        failing(&report),
        and_always(false, &["CERT_EXPIRY", "MAIL_LOG_MODE"])
    );
    let later = InstallationFacts {
        certificate_not_after: Some(now + SignedDuration::from_hours(24 * 60)),
        ..soon
    };
    assert_eq!(
        failing(&audit(&i.app, &later).await),
        and_always(false, &["MAIL_LOG_MODE"])
    );

    // The placeholders a fresh installation starts with.
    let (_dir, plain) = app().await;
    sweep(&plain).await;
    let report = audit(&plain, &InstallationFacts::default()).await;
    let controller = report
        .finding("CONTROLLER_PLACEHOLDERS")
        .expect("controller");
    assert_eq!(controller.status, FindingStatus::Fail);
    assert_eq!(
        controller.subjects,
        vec![
            "setting:controller_name".to_string(),
            "setting:controller_email".to_string(),
            "setting:controller_address".to_string()
        ]
    );
}

#[tokio::test]
async fn vendors_overdue_for_review_or_with_an_expired_agreement_fail() {
    both(|pg| async move {
        let i = well_set(pg).await;
        let facts = InstallationFacts::default();
        let report = audit(&i.app, &facts).await;
        for id in ["VENDORS_OVERDUE_REVIEW", "VENDOR_DOCUMENTS_EXPIRED"] {
            assert_eq!(status(&report, id), FindingStatus::NotApplicable, "{id}");
        }
        let dpo = dpo(&i.app);
        let vendor = i
            .app
            .vendors()
            .create(&dpo, processor("DE"))
            .await
            .expect("vendor")
            .vendor
            .id;
        let report = audit(&i.app, &facts).await;
        let overdue = report.finding("VENDORS_OVERDUE_REVIEW").expect("review");
        assert_eq!(overdue.status, FindingStatus::Fail);
        assert_eq!(overdue.subjects, vec![format!("vendor:{vendor}")]);
        assert_eq!(
            status(&report, "VENDOR_DOCUMENTS_EXPIRED"),
            FindingStatus::Pass
        );

        i.app
            .vendors()
            .review(&dpo, vendor, review(day(2026, 1, 10)))
            .await
            .expect("review");
        let mut lapsing = processor("FR");
        lapsing.legal_name = "Lapsed Logistics SAS".into();
        if let Some(dpa) = lapsing.dpa.as_mut() {
            dpa.expires_on = Some(day(2026, 3, 1));
        }
        let lapsed = i
            .app
            .vendors()
            .create(&dpo, lapsing)
            .await
            .expect("vendor")
            .vendor
            .id;
        i.app
            .vendors()
            .review(&dpo, lapsed, review(day(2026, 1, 10)))
            .await
            .expect("review");
        assert_eq!(
            status(&audit(&i.app, &facts).await, "VENDORS_OVERDUE_REVIEW"),
            FindingStatus::Pass
        );
        // Past 1 March the second vendor's processing agreement has ended.
        i.clock.advance(SignedDuration::from_hours(24 * 50));
        sweep(&i.app).await;
        let report = audit(&i.app, &facts).await;
        let expired = report.finding("VENDOR_DOCUMENTS_EXPIRED").expect("docs");
        assert_eq!(expired.status, FindingStatus::Fail, "{expired:?}");
        assert_eq!(expired.subjects, vec![format!("vendor:{lapsed}")]);
    })
    .await;
}

#[tokio::test]
async fn only_those_who_may_read_the_audit_log_run_it_and_each_run_is_audited_once() {
    let i = well_set(false).await;
    let app = &i.app;
    let facts = InstallationFacts::default();
    for role in [Role::Agent, Role::Marketer] {
        assert!(matches!(
            app.self_audit().run(&actor(app, role), &facts).await,
            Err(AppError::Forbidden(_))
        ));
    }
    let runs = || async {
        app.audit()
            .entries(&actor(app, Role::Auditor), 0, 500)
            .await
            .expect("entries")
            .into_iter()
            .filter(|e| e.record.action == "security.audit.run")
            .count()
    };
    assert_eq!(runs().await, 0);
    assert!(app.self_audit().last().is_none());
    for role in [Role::Admin, Role::Dpo, Role::Auditor] {
        app.self_audit()
            .run(&actor(app, role), &facts)
            .await
            .expect("run");
    }
    assert_eq!(runs().await, 3);
    assert!(app.self_audit().last().is_some());
}

#[tokio::test]
async fn entries_left_unwitnessed_for_two_days_fail_the_checkpoint_age() {
    let i = well_set(false).await;
    let facts = InstallationFacts::default();
    // Verification witnesses the head first: two days on, new entries are witnessed then.
    add_user(&i.app, "nina.new@example.com", Role::Auditor).await;
    i.clock.advance(SignedDuration::from_hours(49));
    let report = audit(&i.app, &facts).await;
    assert_eq!(status(&report, "AUDIT_CHECKPOINT_AGE"), FindingStatus::Pass);

    // Entries the witness refuses to sign over (one of them was changed) stay unwitnessed.
    add_user(&i.app, "omar.other@example.com", Role::Auditor).await;
    add_user(&i.app, "pia.pending@example.com", Role::Auditor).await;
    sqlite(i.dir.path())
        .execute_batch(
            "UPDATE audit_log SET action = 'customer.read'
             WHERE seq = (SELECT MAX(seq) - 1 FROM audit_log)",
        )
        .expect("tamper");
    let report = audit(&i.app, &facts).await;
    assert_eq!(status(&report, "AUDIT_CHAIN"), FindingStatus::Fail);
    assert_eq!(
        status(&report, "AUDIT_CHECKPOINT_AGE"),
        FindingStatus::Pass,
        "not yet two days"
    );
    i.clock.advance(SignedDuration::from_hours(49));
    let report = audit(&i.app, &facts).await;
    let age = report.finding("AUDIT_CHECKPOINT_AGE").expect("checkpoint");
    assert_eq!(age.status, FindingStatus::Fail, "{age:?}");
    assert!(
        age.evidence.contains("recorded 49 hours ago"),
        "{}",
        age.evidence
    );
}

#[tokio::test]
async fn no_breach_plan_and_a_breach_past_72_hours_without_a_decision_fail() {
    let (_dir, bare) = app().await;
    let facts = InstallationFacts::default();
    let report = audit(&bare, &facts).await;
    assert_eq!(status(&report, "BREACH_PLAN"), FindingStatus::Fail);
    assert_eq!(
        status(&report, "BREACHES_OVERDUE"),
        FindingStatus::NotApplicable
    );

    let i = well_set(false).await;
    let facts = InstallationFacts::default();
    assert_eq!(
        status(&audit(&i.app, &facts).await, "BREACH_PLAN"),
        FindingStatus::Pass
    );
    let b = crate::breaches::open_laptop(&i.app, i.clock.now()).await;
    i.clock.advance(jiff::SignedDuration::from_hours(71));
    assert_eq!(
        status(&audit(&i.app, &facts).await, "BREACHES_OVERDUE"),
        FindingStatus::Pass
    );
    i.clock.advance(jiff::SignedDuration::from_hours(2));
    let report = audit(&i.app, &facts).await;
    assert_eq!(status(&report, "BREACHES_OVERDUE"), FindingStatus::Fail);
    let finding = report.finding("BREACHES_OVERDUE").expect("finding");
    assert_eq!(finding.subjects, [format!("breach:{}", b.breach.id)]);
}

/// With the key-encryption keys in a token, the PIN file is the secret on disk: the check
/// that guards the master key file guards it instead.
#[tokio::test]
async fn with_the_keys_in_a_token_its_pin_file_is_checked() {
    use std::os::unix::fs::PermissionsExt;
    let token = steward_vault::testing::fresh_token();
    let dir = tempfile::tempdir().expect("tempdir");
    let app = Steward::open(steward_app::OpenOptions {
        kek_token: Some(token.settings.clone()),
        ..options(dir.path(), clock())
    })
    .await
    .expect("open");
    assert!(!dir.path().join("keys").join("master.key").exists());
    let facts = InstallationFacts::default();
    let pin = &token.settings.pin_file;
    std::fs::set_permissions(pin, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let report = audit(&app, &facts).await;
    let found = report.finding("MASTER_KEY_PERMISSIONS").expect("perms");
    assert_eq!(found.status, FindingStatus::Pass, "{found:?}");
    assert!(found.evidence.contains("PIN file mode 0600"), "{found:?}");
    std::fs::set_permissions(pin, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let report = audit(&app, &facts).await;
    let found = report.finding("MASTER_KEY_PERMISSIONS").expect("perms");
    assert_eq!(found.status, FindingStatus::Fail, "{found:?}");
    assert_eq!(found.subjects, vec!["file:pkcs11_pin_file".to_string()]);
}
