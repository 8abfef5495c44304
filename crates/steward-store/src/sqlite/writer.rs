//! The one writer connection, shared by combining. A write queues itself and then tries to
//! take the connection: if it is free, this caller runs every queued write in one
//! transaction, each in a savepoint of its own (so a write that fails is undone alone), with
//! one commit for them all, and answers the others; if it is busy, the caller waits for its
//! answer from whoever holds it. A lone write thus runs at once on its own task, and writes
//! that arrive together share a commit. Callers never block on the connection, and a holder
//! gives the connection up after a few transactions for a waiting writer to take over.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard, TryLockError};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::{Result, StoreError};

/// Writes per transaction at most, so one commit's worth of work stays short.
const MAX_BATCH: usize = 256;
/// Transactions one holder runs before letting go of the connection.
const MAX_ROUNDS: usize = 4;
/// How long a waiting write waits, unless woken by a handover, before checking whether the
/// connection is free: a safety net, not the usual way on.
const RETAKE: std::time::Duration = std::time::Duration::from_millis(10);

type Output = Box<dyn Any + Send>;
type Run = Box<dyn FnOnce(&Transaction) -> Result<Output> + Send>;
/// Runs in every transaction after its writes and before its commit; failing, it undoes them.
pub(super) type BeforeCommit = Box<dyn Fn(&Transaction) -> Result<()> + Send + Sync>;

struct Job {
    run: Run,
    done: tokio::sync::oneshot::Sender<Result<Output>>,
}

pub(super) struct Writer {
    conn: Mutex<Connection>,
    before_commit: BeforeCommit,
    queue: Mutex<Vec<Job>>,
    /// Rung by a holder that lets go with writes still queued, for a waiter to take over.
    handover: tokio::sync::Notify,
}

fn stopped() -> StoreError {
    StoreError::Database("the write was dropped unanswered".into())
}

fn queue(m: &Mutex<Vec<Job>>) -> MutexGuard<'_, Vec<Job>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writer {
    pub(super) fn start(conn: Connection, before_commit: BeforeCommit) -> Result<Writer> {
        Ok(Writer {
            conn: Mutex::new(conn),
            before_commit,
            queue: Mutex::new(Vec::new()),
            handover: tokio::sync::Notify::new(),
        })
    }

    /// Runs `f` in a transaction (shared with other writes queued meanwhile); its changes
    /// are committed when this returns `Ok`, and none of them are when it returns `Err`.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let run: Run = Box::new(move |tx| f(tx).map(|v| Box::new(v) as Output));
        queue(&self.queue).push(Job { run, done });
        // One turn for the other tasks ready on this thread, so that writes arriving
        // together are queued before the connection is taken and share its commit.
        tokio::task::yield_now().await;
        self.combine();
        let mut answer = std::pin::pin!(answer);
        // A holder runs a bounded number of rounds and then lets go; whoever still waits
        // takes over, so no write is left queued and no caller works for others forever.
        let output = loop {
            tokio::select! {
                output = &mut answer => break output.map_err(|_| stopped())??,
                _ = self.handover.notified() => self.combine(),
                _ = tokio::time::sleep(RETAKE) => self.combine(),
            }
        };
        output
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| StoreError::Database("a write was answered out of turn".into()))
    }

    /// Runs `f` while no write runs: waits for the write in progress, keeps the next ones
    /// queued until `f` returns, then hands the connection on to them.
    pub(super) fn while_held<T>(&self, f: impl FnOnce() -> T) -> T {
        let held = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let out = f();
        drop(held);
        self.handover.notify_one();
        out
    }

    /// Runs queued writes while the connection is free. Whoever holds the connection looks
    /// at the queue again after letting it go, so a write queued meanwhile is never left.
    fn combine(&self) {
        loop {
            let mut conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                // A panic mid-write rolled its transaction back when the guard dropped.
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let mut rounds = 0;
            while rounds < MAX_ROUNDS {
                let batch: Vec<Job> = {
                    let mut q = queue(&self.queue);
                    let n = q.len().min(MAX_BATCH);
                    q.drain(..n).collect()
                };
                if batch.is_empty() {
                    break;
                }
                run_batch(&mut conn, &self.before_commit, batch);
                rounds += 1;
            }
            drop(conn);
            if queue(&self.queue).is_empty() {
                return;
            }
            // Past its rounds the holder leaves the rest to the writers still waiting.
            if rounds == MAX_ROUNDS {
                self.handover.notify_one();
                return;
            }
        }
    }
}

fn guarded(tx: &Transaction, run: Run) -> Result<Output> {
    catch_unwind(AssertUnwindSafe(|| run(tx)))
        .unwrap_or_else(|_| Err(StoreError::Database("a write panicked".into())))
}

/// What running one job in its savepoint came to: its own result, or a failure of the
/// transaction itself (a savepoint that could not be undone), which ends the batch.
fn in_savepoint(tx: &Transaction, run: Run) -> std::result::Result<Result<Output>, StoreError> {
    // Cached statements: parsing these three on every write would cost more than running them.
    let step = |sql: &str| -> Result<()> {
        tx.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    step("SAVEPOINT write")?;
    match guarded(tx, run) {
        Ok(v) => {
            step("RELEASE write")?;
            Ok(Ok(v))
        }
        Err(e) => {
            step("ROLLBACK TO write")?;
            step("RELEASE write")?;
            Ok(Err(e))
        }
    }
}

fn run_batch(conn: &mut Connection, before_commit: &BeforeCommit, mut batch: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = StoreError::from(e);
            for job in batch {
                let _ = job.done.send(Err(e.clone()));
            }
            return;
        }
    };
    // A write alone needs no savepoint: its transaction is undone with it. A savepoint
    // copies every page the write touches into a statement journal first.
    if batch.len() == 1
        && let Some(job) = batch.pop()
    {
        let answer = guarded(&tx, job.run).and_then(|v| {
            before_commit(&tx)?;
            tx.commit()?;
            Ok(v)
        });
        let _ = job.done.send(answer);
        return;
    }
    let mut answers = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        match in_savepoint(&tx, job.run) {
            Ok(result) => answers.push((job.done, result)),
            Err(e) => {
                answers.push((job.done, Err(e.clone())));
                broken = Some(e);
                break;
            }
        }
    }
    let failed = match broken {
        // Dropping the transaction rolls it back.
        Some(e) => Some(e),
        None => before_commit(&tx).and_then(|()| Ok(tx.commit()?)).err(),
    };
    for (done, result) in answers {
        let _ = done.send(match &failed {
            None => result,
            Some(e) => Err(e.clone()),
        });
    }
    for job in jobs {
        let _ = job.done.send(Err(failed.clone().unwrap_or_else(stopped)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection, v: i64) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t WHERE v = ?1", [v], |r| r.get(0))
            .unwrap_or(-1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_together_succeed_or_fail_one_by_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER UNIQUE)")
            .expect("schema");
        let writer = std::sync::Arc::new(Writer::start(conn, Box::new(|_| Ok(()))).expect("start"));
        let insert = |v: i64, hold: bool| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |tx| {
                        if hold {
                            // Long enough for the other writes to queue behind this one.
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                        tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                        if v == 2 {
                            return Err(StoreError::Conflict);
                        }
                        Ok(v)
                    })
                    .await
            }
        };
        // The first holds the connection on another worker while the rest queue up; its
        // holder then runs them together.
        let first = tokio::spawn(insert(1, true));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (b, c, d) = tokio::join!(insert(2, false), insert(3, false), insert(1, false));
        assert_eq!(first.await.expect("task").expect("first"), 1);
        assert!(matches!(b, Err(StoreError::Conflict)), "{b:?}");
        assert_eq!(c.expect("third"), 3);
        assert!(d.is_err(), "a duplicate fails alone: {d:?}");
        let check = Connection::open(&path).expect("reopen");
        assert_eq!(
            (count(&check, 1), count(&check, 2), count(&check, 3)),
            (1, 0, 1),
            "the failed writes left nothing; the others were committed"
        );
    }

    #[tokio::test]
    async fn a_lone_write_that_fails_or_panics_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER UNIQUE)")
            .expect("schema");
        let writer = Writer::start(conn, Box::new(|_| Ok(()))).expect("start");
        let failed = writer
            .write(|tx| {
                tx.execute("INSERT INTO t (v) VALUES (1)", [])?;
                Err::<(), _>(StoreError::Conflict)
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Conflict)), "{failed:?}");
        let panicked = writer
            .write(|tx| -> Result<()> {
                tx.execute("INSERT INTO t (v) VALUES (2)", [])?;
                panic!("a write panicked mid-way")
            })
            .await;
        assert!(panicked.is_err(), "{panicked:?}");
        writer
            .write(|tx| {
                tx.execute("INSERT INTO t (v) VALUES (3)", [])?;
                Ok(())
            })
            .await
            .expect("the connection is still usable");
        let check = Connection::open(&path).expect("reopen");
        assert_eq!(
            (count(&check, 1), count(&check, 2), count(&check, 3)),
            (0, 0, 1),
            "only the write that succeeded was committed"
        );
    }
}
