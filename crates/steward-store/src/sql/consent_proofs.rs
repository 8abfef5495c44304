//! Proofs of consent kept when a customer is erased: one per event of their ledger, written
//! in the erasure's own transaction, so the ledger never goes without its proofs.

use uuid::Uuid;

use super::{Exec, Lock, Row, Sql, WriteTx, args};
use crate::{ConsentProof, Result, StoreError};

macro_rules! proof_cols {
    () => {
        "event_id, subject, purpose, state, method, notice_version, at, expires_at, receipt_hash, erased_at"
    };
}

static CUSTOMER: Sql = Sql::for_update("SELECT id FROM customers WHERE id = ?1");
static EVENT_IDS: Sql = Sql::new("SELECT id FROM consent_events WHERE customer_id = ?1");
static KEEP: Sql = Sql::new(concat!(
    "INSERT INTO consent_proofs (",
    proof_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (event_id) DO NOTHING"
));
static PROOF: Sql = Sql::new(concat!(
    "SELECT ",
    proof_cols!(),
    " FROM consent_proofs WHERE event_id = ?1"
));

/// Keeps the proof of every event in the customer's ledger, before the erasure deletes the
/// ledger. The proofs were built from the ledger as read before the transaction; an event
/// without one is a consent recorded since, and gives `Conflict`, so the caller builds them
/// again and retries instead of erasing an event nothing proves. Nothing is kept for a
/// customer who is not (or no longer) there.
pub(crate) async fn keep<'p>(
    x: &impl WriteTx,
    customer: Uuid,
    proof_of: impl Fn(Uuid) -> Option<&'p ConsentProof>,
) -> Result<()> {
    // The row first, then the ledger: the order a change to the customer with a consent takes
    // its locks in, so the two wait for each other instead of deadlocking on PostgreSQL.
    if x.query_opt(&CUSTOMER, &args![customer], |r| r.id(0))
        .await?
        .is_none()
    {
        return Ok(());
    }
    x.lock(Lock::Consents(customer)).await?;
    for event in x.query(&EVENT_IDS, &args![customer], |r| r.id(0)).await? {
        let p = proof_of(event).ok_or(StoreError::Conflict)?;
        let args = args![
            p.event_id,
            &p.subject,
            &p.purpose,
            &p.state,
            &p.method,
            p.notice_version.as_ref(),
            p.at,
            p.expires_at,
            &p.receipt_hash,
            p.erased_at
        ];
        x.execute(&KEEP, &args).await?;
    }
    Ok(())
}

/// The proof kept for a consent event, if its customer was erased.
pub(crate) async fn get(x: &impl Exec, event: Uuid) -> Result<Option<ConsentProof>> {
    x.query_opt(&PROOF, &args![event], proof_from).await
}

fn proof_from(r: &dyn Row) -> Result<ConsentProof> {
    Ok(ConsentProof {
        event_id: r.id(0)?,
        subject: r.bytes(1)?,
        purpose: r.text(2)?,
        state: r.text(3)?,
        method: r.text(4)?,
        notice_version: r.opt_text(5)?,
        at: r.int(6)?,
        expires_at: r.opt_int(7)?,
        receipt_hash: r.bytes(8)?,
        erased_at: r.int(9)?,
    })
}
