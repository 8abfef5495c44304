//! Proof of consent after erasure: erasing a customer, on request or by a retention rule,
//! keeps one proof per event of their consent ledger, holding nothing personal and the hash
//! of each receipt as signed before; a receipt the person kept still verifies through it; and
//! the proofs go when their own retention rule says.

use std::ops::ControlFlow;

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use steward_app::{ConsentInput, Evidence, Receipt, Steward};
use uuid::Uuid;

use crate::support::*;
use crate::vendor_fixtures::{Kept, steward};

const EMAIL: &str = "marketing.communications.email";
const SMS: &str = "marketing.communications.sms";

/// One proof as stored: its event, the pseudonym, the receipt hash and the whole row's bytes.
struct StoredProof {
    event_id: Uuid,
    subject: Vec<u8>,
    receipt_hash: Vec<u8>,
    row: Vec<u8>,
}

/// Every stored proof, read from the database itself.
async fn stored_proofs(kept: &Kept) -> Vec<StoredProof> {
    const COLS: &str = "event_id, subject, purpose, state, method, COALESCE(notice_version, ''), \
        at, COALESCE(expires_at, 0), receipt_hash, erased_at";
    let select = format!("SELECT {COLS} FROM consent_proofs ORDER BY event_id");
    let row_bytes = |parts: Vec<Vec<u8>>| parts.concat();
    match &kept.1 {
        None => {
            let db = sqlite(kept.0.path());
            let mut statement = db.prepare(&select).expect("prepare");
            statement
                .query_map([], |r| {
                    let id: Vec<u8> = r.get(0)?;
                    let subject: Vec<u8> = r.get(1)?;
                    let hash: Vec<u8> = r.get(8)?;
                    let texts: Vec<String> = (2..6).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                    let ints: Vec<i64> = [6, 7, 9]
                        .into_iter()
                        .map(|i| r.get(i))
                        .collect::<Result<_, _>>()?;
                    let mut parts = vec![id.clone(), subject.clone(), hash.clone()];
                    parts.extend(texts.into_iter().map(String::into_bytes));
                    parts.extend(ints.iter().map(|i| i.to_string().into_bytes()));
                    Ok(StoredProof {
                        event_id: Uuid::from_slice(&id).expect("an id"),
                        subject,
                        receipt_hash: hash,
                        row: row_bytes(parts),
                    })
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        }
        Some(db) => {
            let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .query(&select, &[])
                .await
                .expect("query")
                .into_iter()
                .map(|r| {
                    let id: Uuid = r.get(0);
                    let subject: Vec<u8> = r.get(1);
                    let hash: Vec<u8> = r.get(8);
                    let mut parts = vec![id.as_bytes().to_vec(), subject.clone(), hash.clone()];
                    parts.extend((2..6).map(|i| r.get::<_, String>(i).into_bytes()));
                    parts.extend([6, 7, 9].map(|i| r.get::<_, i64>(i).to_string().into_bytes()));
                    StoredProof {
                        event_id: id,
                        subject,
                        receipt_hash: hash,
                        row: row_bytes(parts),
                    }
                })
                .collect()
        }
    }
}

/// How many events the consent ledger holds, read from the database itself.
async fn ledger_events(kept: &Kept) -> i64 {
    const COUNT: &str = "SELECT COUNT(*) FROM consent_events";
    match &kept.1 {
        None => sqlite(kept.0.path())
            .query_row(COUNT, [], |r| r.get(0))
            .expect("count"),
        Some(db) => {
            let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .query_one(COUNT, &[])
                .await
                .expect("count")
                .get::<_, i64>(0)
        }
    }
}

/// Records `state` for `purpose`, as an import brings it, with evidence.
async fn decide(app: &Steward, customer: Uuid, purpose: &str, state: &str) {
    app.consent()
        .record(
            &agent(app),
            customer,
            ConsentInput {
                purpose: purpose.into(),
                state: state.into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &Evidence {
                client_address: Some("203.0.113.77".into()),
                user_agent: Some("ProofBrowser/1.0".into()),
            },
        )
        .await
        .expect("consent recorded");
}

/// A customer with three consent events, and the receipt of each as they would keep it.
async fn customer_with_receipts(app: &Steward, email: &str, given: &str) -> (Uuid, Vec<Receipt>) {
    let id = app
        .customers()
        .create(&agent(app), input(email, given))
        .await
        .expect("customer")
        .id;
    decide(app, id, EMAIL, "given").await;
    decide(app, id, EMAIL, "withdrawn").await;
    decide(app, id, SMS, "given").await;
    let mut receipts = Vec::new();
    for event in app
        .consent()
        .history(&agent(app), id)
        .await
        .expect("history")
    {
        receipts.push(
            app.consent()
                .receipt(&agent(app), event.id)
                .await
                .expect("receipt"),
        );
    }
    assert_eq!(receipts.len(), 3);
    (id, receipts)
}

/// Each receipt verifies, and through the ledger or the proof as `erased` says.
async fn assert_receipts_verify(app: &Steward, receipts: &[Receipt], erased: bool) {
    for receipt in receipts {
        let check = app
            .consent()
            .verify_receipt(&receipt.jws)
            .await
            .expect("verify");
        assert!(check.valid(), "{check:?}");
        assert_eq!(
            (check.matches_ledger, check.matches_proof),
            (!erased, erased),
            "{check:?}"
        );
        assert_eq!(
            check.proof.as_ref().map(|p| p.event_id),
            erased.then_some(receipt.id)
        );
    }
}

/// Every stored proof: one per receipt, each holding the hash of the receipt taken before
/// the erasure and one pseudonym for the customer, and none of the customer's id.
fn assert_one_proof_per_receipt(proofs: &[StoredProof], customer: Uuid, receipts: &[Receipt]) {
    let mut expected: Vec<Uuid> = receipts.iter().map(|r| r.id).collect();
    expected.sort();
    assert_eq!(
        proofs.iter().map(|p| p.event_id).collect::<Vec<_>>(),
        expected
    );
    for receipt in receipts {
        let proof = proofs
            .iter()
            .find(|p| p.event_id == receipt.id)
            .expect("a proof");
        assert_eq!(
            proof.receipt_hash,
            Sha256::digest(receipt.jws.as_bytes()).to_vec()
        );
        assert_eq!(
            proof.subject, proofs[0].subject,
            "one pseudonym per customer"
        );
        for id in [
            customer.as_bytes().to_vec(),
            customer.to_string().into_bytes(),
        ] {
            assert!(!contains(&proof.row, &id), "the proof names its customer");
        }
    }
}

#[tokio::test]
async fn erasure_keeps_one_proof_per_consent_event_and_receipts_still_verify_sqlite() {
    erasure_keeps_proofs(false).await;
}

#[tokio::test]
async fn erasure_keeps_one_proof_per_consent_event_and_receipts_still_verify_postgres() {
    erasure_keeps_proofs(true).await;
}

async fn erasure_keeps_proofs(pg: bool) {
    let (kept, app, _) = steward(pg).await;
    let (ada, receipts) = customer_with_receipts(&app, "ada.proof@example.com", "Adalinde").await;
    let (_, bob_receipts) = customer_with_receipts(&app, "bob.proof@example.com", "Bobbin").await;
    let evidence: Vec<String> = if pg {
        Vec::new()
    } else {
        let db = sqlite(kept.0.path());
        let mut s = db
            .prepare("SELECT evidence FROM consent_events WHERE customer_id = ?1")
            .expect("prepare");
        s.query_map([ada.as_bytes().as_slice()], |r| r.get::<_, String>(0))
            .expect("evidence")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_receipts_verify(&app, &receipts, false).await;

    app.rights().erase(&dpo(&app), ada).await.expect("erase");

    assert!(app.rights().is_erased(ada).await.expect("tombstone"));
    let proofs = stored_proofs(&kept).await;
    assert_one_proof_per_receipt(&proofs, ada, &receipts);
    for e in &evidence {
        assert!(
            proofs.iter().all(|p| !contains(&p.row, e.as_bytes())),
            "a proof keeps the evidence"
        );
    }
    assert_receipts_verify(&app, &receipts, true).await;
    assert_receipts_verify(&app, &bob_receipts, false).await;
    // A receipt altered after it was issued matches neither the ledger nor the proof.
    let mut forged = receipts[0].jws.clone();
    forged.pop();
    let check = app.consent().verify_receipt(&forged).await.expect("verify");
    assert!(!check.valid() && !check.matches_proof && check.proof.is_none());

    if !pg {
        assert!(!evidence.is_empty());
    }
    // I1 holds after the erasure, proofs and all: nothing personal stored in the clear.
    assert_nothing_in_clear(
        kept.0.path(),
        kept.1.as_ref(),
        &[
            "ada.proof@example.com",
            "Adalinde",
            "+49 30 1234567",
            "ProofBrowser",
            "203.0.113.77",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_retention_erasure_keeps_proofs_which_go_after_three_years_sqlite() {
    sweep_keeps_and_deletes_proofs(false).await;
}

#[tokio::test]
async fn a_retention_erasure_keeps_proofs_which_go_after_three_years_postgres() {
    sweep_keeps_and_deletes_proofs(true).await;
}

async fn run_retention(app: &Steward) {
    let run = app
        .retention()
        .start_run(&dpo(app), false)
        .await
        .expect("start");
    app.retention()
        .run(run.id, |_| ControlFlow::Continue(()), |_| {})
        .await
        .expect("run");
}

async fn proofs_due(app: &Steward, weeks: usize) -> Vec<u64> {
    app.retention()
        .upcoming(&dpo(app), weeks)
        .await
        .expect("forecast")
        .into_iter()
        .find(|u| u.rule == "consent-proofs")
        .expect("the consent-proofs rule is in force")
        .per_week
}

async fn sweep_keeps_and_deletes_proofs(pg: bool) {
    let (kept, app, clock) = steward(pg).await;
    let (ada, receipts) = customer_with_receipts(&app, "ada.dormant@example.com", "Adalinde").await;
    let rule = app
        .retention()
        .rules(&dpo(&app))
        .await
        .expect("rules")
        .into_iter()
        .find(|r| r.key == "consent-proofs")
        .expect("the consent-proofs rule");
    assert_eq!(
        (rule.duration.as_str(), rule.action.as_str()),
        ("P3Y", "delete")
    );

    // Dormant past the shipped rule's three years: the sweep erases Ada, keeping her proofs.
    clock.advance(SignedDuration::from_hours(24 * 1_100));
    run_retention(&app).await;
    assert!(app.rights().is_erased(ada).await.expect("erased"));
    assert_one_proof_per_receipt(&stored_proofs(&kept).await, ada, &receipts);
    assert_receipts_verify(&app, &receipts, true).await;

    // Kept for their whole period: a day short of three years, a run leaves them alone, and
    // the forecast puts them in the week after.
    clock.advance(SignedDuration::from_hours(24 * (365 * 3 - 1)));
    run_retention(&app).await;
    assert_eq!(stored_proofs(&kept).await.len(), receipts.len());
    assert_eq!(proofs_due(&app, 1).await, vec![0, receipts.len() as u64]);

    clock.advance(SignedDuration::from_hours(24 * 2));
    run_retention(&app).await;
    assert!(stored_proofs(&kept).await.is_empty());
    for receipt in &receipts {
        let check = app
            .consent()
            .verify_receipt(&receipt.jws)
            .await
            .expect("verify");
        assert!(check.signature_valid && !check.valid(), "{check:?}");
    }
    // The deletion is audited under an action the scope of a breach knows, naming no one.
    let deleted = app
        .audit()
        .search(
            &actor(&app, steward_app::core::Role::Auditor),
            steward_app::AuditFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("log")
        .into_iter()
        .find(|e| e.record.action == "consent_proof.delete")
        .expect("the deletion audited");
    assert_eq!(
        steward_app::customer_touch(&deleted.record.action),
        Some(None)
    );
    let mut targets = deleted.record.targets.clone();
    targets.sort();
    let mut expected: Vec<String> = receipts.iter().map(|r| r.id.to_string()).collect();
    expected.sort();
    assert_eq!(targets, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_racing_an_erasure_is_either_proved_or_refused_sqlite() {
    consent_racing_erasure(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_racing_an_erasure_is_either_proved_or_refused_postgres() {
    consent_racing_erasure(true).await;
}

/// How many customers are erased while a consent of theirs is being recorded.
const RACES: usize = 24;

/// A consent recorded while its customer is erased either commits first, and the erasure
/// keeps its proof (building the proofs again if it had built them already), or finds the
/// customer gone; it never outlives the customer, nor goes without a proof.
async fn consent_racing_erasure(pg: bool) {
    let (kept, app, _) = steward(pg).await;
    let app = std::sync::Arc::new(app);
    let mut events = Vec::new();
    for i in 0..RACES {
        let id = app
            .customers()
            .create(
                &agent(&app),
                input(&format!("racer{i}@example.com"), "Racer"),
            )
            .await
            .expect("customer")
            .id;
        decide(&app, id, EMAIL, "given").await;
        events.extend(
            app.consent()
                .history(&agent(&app), id)
                .await
                .expect("history")
                .into_iter()
                .map(|e| e.id),
        );
        let erasing = tokio::spawn({
            let app = app.clone();
            async move { app.rights().erase(&dpo(&app), id).await }
        });
        let late = tokio::spawn({
            let app = app.clone();
            async move {
                app.consent()
                    .record(
                        &agent(&app),
                        id,
                        ConsentInput {
                            purpose: SMS.into(),
                            state: "given".into(),
                            notice_version: None,
                            method: Some("import".into()),
                            fields: Default::default(),
                        },
                        &Evidence::default(),
                    )
                    .await
            }
        });
        erasing.await.expect("joined").expect("erased");
        match late.await.expect("joined") {
            Ok(event) => events.push(event.id),
            Err(steward_app::AppError::NotFound) => {}
            Err(e) => panic!("a late consent failed otherwise: {e:?}"),
        }
    }
    let mut proved: Vec<Uuid> = stored_proofs(&kept)
        .await
        .into_iter()
        .map(|p| p.event_id)
        .collect();
    proved.sort();
    events.sort();
    assert_eq!(
        proved, events,
        "one proof for every event that was recorded"
    );
    assert_eq!(
        ledger_events(&kept).await,
        0,
        "no consent outlives its erased customer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_racing_a_retention_erasure_are_either_proved_or_refused_sqlite() {
    consents_racing_sweep(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_racing_a_retention_erasure_are_either_proved_or_refused_postgres() {
    consents_racing_sweep(true).await;
}

/// The sweep's erasures keep the same promise while consents of the customers it erases are
/// being recorded: each recorded event is proved, none outlives its customer.
async fn consents_racing_sweep(pg: bool) {
    let (kept, app, clock) = steward(pg).await;
    let app = std::sync::Arc::new(app);
    let mut customers = Vec::new();
    for i in 0..RACES {
        let id = app
            .customers()
            .create(
                &agent(&app),
                input(&format!("dormant{i}@example.com"), "Dormant"),
            )
            .await
            .expect("customer")
            .id;
        decide(&app, id, EMAIL, "given").await;
        customers.push(id);
    }
    clock.advance(SignedDuration::from_hours(24 * 1_100));
    let sweeping = tokio::spawn({
        let app = app.clone();
        async move { run_retention(&app).await }
    });
    let late = tokio::spawn({
        let app = app.clone();
        let customers = customers.clone();
        async move {
            let mut recorded = Vec::new();
            for id in customers {
                match app
                    .consent()
                    .record(
                        &agent(&app),
                        id,
                        ConsentInput {
                            purpose: SMS.into(),
                            state: "given".into(),
                            notice_version: None,
                            method: Some("import".into()),
                            fields: Default::default(),
                        },
                        &Evidence::default(),
                    )
                    .await
                {
                    Ok(event) => recorded.push(event.id),
                    Err(steward_app::AppError::NotFound) => {}
                    Err(e) => panic!("a late consent failed otherwise: {e:?}"),
                }
            }
            recorded
        }
    });
    sweeping.await.expect("joined");
    let recorded = late.await.expect("joined");
    for id in &customers {
        assert!(app.rights().is_erased(*id).await.expect("erased"));
    }
    let proofs = stored_proofs(&kept).await;
    assert_eq!(proofs.len(), RACES + recorded.len());
    for event in &recorded {
        assert!(
            proofs.iter().any(|p| p.event_id == *event),
            "a recorded consent without its proof"
        );
    }
    assert_eq!(
        ledger_events(&kept).await,
        0,
        "no consent outlives its erased customer"
    );
}
