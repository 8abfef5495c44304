//! One store suite, run against both engines. Every scenario is written once against the
//! `Store` trait, in the module of its repository; the `engines!` macro instantiates it for
//! SQLite and for PostgreSQL.

use std::sync::Arc;

use steward_core::audit::{AuditRecord, ChainWalker, chain_hash};
use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_store::*;
use uuid::Uuid;

enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Pg(#[allow(dead_code)] TestDatabase),
}

fn signer() -> Arc<dyn steward_core::audit::HeadSigner> {
    Arc::new(steward_vault::Signer::generate())
}

async fn sqlite() -> (Guard, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("steward.db"), signer()).expect("open sqlite");
    (Guard::Dir(dir), Arc::new(store))
}

async fn postgres() -> (Guard, Arc<dyn Store>) {
    let db = fresh_postgres().await;
    let store = PostgresStore::connect(&db.url, 8, signer())
        .await
        .expect("connect postgres");
    (Guard::Pg(db), Arc::new(store))
}

macro_rules! engines {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (_guard, store) = super::sqlite().await;
                super::$name(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (_guard, store) = super::postgres().await;
                super::$name(store).await;
            }
        })*
    };
}

fn record(action: &str, targets: Vec<String>) -> AuditRecord {
    AuditRecord {
        at: 1,
        actor: "system:test".into(),
        role: "system".into(),
        action: action.into(),
        purpose: Some("essential.service".into()),
        targets,
        fields: vec!["email".into()],
        detail: None,
    }
}

fn erasure(id: Uuid, at: i64, audit: AuditRecord) -> Erasure {
    Erasure {
        id,
        at,
        suppress: None,
        proofs: Default::default(),
        with: ChangeSet {
            audit: vec![audit],
            ..Default::default()
        },
    }
}

/// What an erasure at `erased_at` keeps of consent event `e`; the hash stands in for a receipt's.
fn proof(e: &ConsentEvent, erased_at: i64) -> ConsentProof {
    ConsentProof {
        event_id: e.id,
        subject: vec![7; 16],
        purpose: e.purpose.clone(),
        state: e.state.clone(),
        method: e.method.clone(),
        notice_version: e.notice_version.clone(),
        at: e.at,
        expires_at: e.expires_at,
        receipt_hash: e.id.as_bytes().repeat(2),
        erased_at,
    }
}

fn customer(at: i64, tags: &[&str], status: &str) -> CustomerRow {
    CustomerRow {
        id: Uuid::now_v7(),
        residency: "DE".into(),
        status: status.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        fields: vec![1, 2, 3, at as u8],
        version: 1,
        created_at: at,
        updated_at: at,
        last_interaction_at: None,
        owner_id: None,
    }
}

fn digest(n: u8) -> IndexDigest {
    [n; 16]
}

fn entry(field: &str, n: u8, unique: bool) -> IndexEntry {
    IndexEntry {
        field: field.into(),
        digest: digest(n),
        unique,
    }
}

async fn insert(
    store: &Arc<dyn Store>,
    writes: Vec<CustomerWrite>,
) -> Result<Vec<steward_core::audit::AuditEntry>> {
    let targets = writes.iter().map(|w| w.row.id.to_string()).collect();
    store
        .apply(ChangeSet {
            inserts: writes,
            audit: vec![record("customer.create", targets)],
            ..Default::default()
        })
        .await
}

fn message(customer: Uuid, at: i64) -> OutboxRow {
    OutboxRow {
        id: Uuid::now_v7(),
        customer_id: customer,
        kind: "confirmation".into(),
        campaign_id: None,
        sealed: vec![9, 9, 9],
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: at,
        created_at: at,
        sent_at: None,
        last_error: None,
    }
}

fn link(customer: Uuid, n: u8, expires_at: i64) -> MailLink {
    MailLink {
        token_hash: [n; 32],
        kind: "confirm".into(),
        customer_id: customer,
        purpose: "marketing.communications.email".into(),
        notice_version: Some("2026-01".into()),
        method: "form".into(),
        campaign_id: None,
        created_at: 1,
        expires_at,
        used_at: None,
    }
}

mod accounts;
mod audit_log;
mod campaigns;
mod changes;
mod companies;
mod consent_ledger;
mod customers;
mod idempotency;
mod keystore;
mod leases;
mod merges;
mod notices;
mod outbox;
mod personalization;
mod portal;
mod recipient_notices;
mod reports;
mod request_desk;
mod retention;
mod segments;
mod shares;
mod sharing;
mod signups;
mod tasks;
mod tls;
mod webhooks;
