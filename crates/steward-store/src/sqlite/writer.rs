//! The one writer connection, on a thread of its own. Writes that arrive while a transaction
//! runs wait for the next one and then share it: each runs in a savepoint of its own, so a
//! write that fails is undone alone, and one commit covers them all. Callers' tasks never
//! block on the connection; they wait for their answer.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::{Result, StoreError};

/// Writes per transaction at most, so one commit's worth of work stays short.
const MAX_BATCH: usize = 256;

type Output = Box<dyn Any + Send>;
type Run = Box<dyn FnOnce(&Transaction) -> Result<Output> + Send>;

struct Job {
    run: Run,
    done: tokio::sync::oneshot::Sender<Result<Output>>,
}

pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Database("the database writer has stopped".into())
}

impl Writer {
    pub(super) fn start(conn: Connection) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StoreError::Database(format!("starting the database writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in a transaction (shared with other writes queued meanwhile); its changes
    /// are committed when this returns `Ok`, and none of them are when it returns `Err`.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let run: Run = Box::new(move |tx| f(tx).map(|v| Box::new(v) as Output));
        self.jobs.send(Job { run, done }).map_err(|_| stopped())?;
        let output = answer.await.map_err(|_| stopped())??;
        output
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| StoreError::Database("the database writer answered out of turn".into()))
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
    }
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
    let result = catch_unwind(AssertUnwindSafe(|| run(tx)))
        .unwrap_or_else(|_| Err(StoreError::Database("a write panicked".into())));
    match result {
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

fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
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
        None => tx.commit().err().map(StoreError::from),
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
        let writer = Writer::start(conn).expect("start");
        let insert = |v: i64, hold: bool| {
            writer.write(move |tx| {
                if hold {
                    // Long enough for the other writes to queue behind this one.
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                if v == 2 {
                    return Err(StoreError::Conflict);
                }
                Ok(v)
            })
        };
        let first = insert(1, true);
        let (a, b, c, d) =
            tokio::join!(first, insert(2, false), insert(3, false), insert(1, false));
        assert_eq!(a.expect("first"), 1);
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
}
