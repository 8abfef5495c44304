//! Copies committed pages from the write-ahead log into the database file on a thread of its
//! own. Left to the writer, a checkpoint runs inside whichever commit crosses the threshold,
//! holding the one writer connection while it copies and syncs tens of megabytes: every
//! write queued behind it waits, and a bulk import's writer spends a tenth of its time there.
//! A passive checkpoint from another connection takes no lock a writer or reader needs.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::writer::Writer;
use crate::Result;

/// How often committed pages are moved into the database file.
const INTERVAL: Duration = Duration::from_millis(100);

/// Frames in the log (32 MiB of pages) past which the log is made to start over. Under steady
/// writes a passive pass never finds the log idle, and the log only grows.
pub(super) const RESTART_FRAMES: i64 = 8_192;

/// How long a restart waits for readers to leave the log. It holds writes back meanwhile, so
/// a long read (a streaming export) makes it give up and try again on a later tick.
const RESTART_WAIT_MS: u32 = 100;

/// The writer's own checkpoint threshold, in pages: a safety net for a checkpointer that
/// cannot keep up, far above what it leaves behind.
pub(super) const WRITER_FALLBACK_PAGES: u32 = 65_536;

pub(super) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database through `conn`, a connection of its own, making
    /// the log start over once it holds `restart_frames` frames.
    pub(super) fn start(
        conn: Connection,
        writer: Arc<Writer>,
        restart_frames: i64,
    ) -> Result<Checkpointer> {
        conn.busy_timeout(Duration::from_millis(RESTART_WAIT_MS.into()))?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &writer, restart_frames, &signal))
            .map_err(|e| crate::StoreError::open("starting the checkpointer", e))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(conn: &Connection, writer: &Writer, restart_frames: i64, stop: &(Mutex<bool>, Condvar)) {
    let (flag, wake) = stop;
    let mut stopped = flag.lock().unwrap_or_else(|e| e.into_inner());
    while !*stopped {
        stopped = wake
            .wait_timeout(stopped, INTERVAL)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        if *stopped {
            break;
        }
        drop(stopped);
        // A pass that fails (the database busy) is simply retried on the next tick; the
        // writer's own threshold still bounds the log meanwhile.
        let frames = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .unwrap_or(0);
        // A restart needs the write lock. Waiting for it in SQLite's busy handler loses to
        // a writer that commits back to back (a bulk import) for seconds on end, so it
        // takes the writer connection's turn instead: the write in progress finishes, the
        // next waits while the few frames the passive pass left are copied.
        if frames >= restart_frames {
            writer.while_held(|| {
                let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            });
        }
        stopped = flag.lock().unwrap_or_else(|e| e.into_inner());
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// The checkpoint sequence number in the log's header, which counts the times the log
    /// started over.
    fn restarts(wal: &std::path::Path) -> u32 {
        let header = std::fs::read(wal).unwrap_or_default();
        header
            .get(12..16)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_while_writes_follow_each_other_without_a_gap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let open = || {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                .expect("wal");
            conn
        };
        let conn = open();
        conn.execute_batch("CREATE TABLE t (v BLOB NOT NULL); PRAGMA wal_autocheckpoint = 0;")
            .expect("schema");
        let writer = Arc::new(Writer::start(conn, Box::new(|_| Ok(()))).expect("writer"));
        // A restart past 1 MiB of log. Each write holds the write lock for 2 MiB, as a bulk
        // import's batches do, leaving only the moment between commits free.
        let _checkpointer = Checkpointer::start(open(), writer.clone(), 256).expect("start");
        let wal = path.with_extension("db-wal");
        // Writers that always have the next write queued: the connection goes from one
        // commit straight into the next transaction.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (writer, stop) = (writer.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        writer
                            .write(|tx| {
                                let mut insert = tx
                                    .prepare_cached("INSERT INTO t (v) VALUES (zeroblob(65536))")?;
                                for _ in 0..32 {
                                    insert.execute([])?;
                                }
                                Ok(())
                            })
                            .await
                            .expect("write");
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while restarts(&wal) < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            w.await.expect("writer task");
        }
        assert!(
            restarts(&wal) >= 3,
            "the log started over {} times in 20 s of writing",
            restarts(&wal)
        );
    }
}
