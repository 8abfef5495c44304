//! Copies committed pages from the write-ahead log into the database file on a thread of its
//! own. Left to the writer, a checkpoint runs inside whichever commit crosses the threshold,
//! holding the one writer connection while it copies and syncs tens of megabytes: every
//! write queued behind it waits, and a bulk import's writer spends a tenth of its time there.
//! A passive checkpoint from another connection takes no lock a writer or reader needs.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::Result;

/// How often committed pages are moved into the database file.
const INTERVAL: Duration = Duration::from_millis(100);

/// Frames in the log (32 MiB of pages) past which the log is made to start over. Under steady
/// writes a passive pass never finds the log idle, and the log only grows; a restart waits
/// for the write in progress and holds the next one back, briefly, since the passes before
/// it have already copied nearly everything.
const RESTART_FRAMES: i64 = 8_192;

/// The writer's own checkpoint threshold, in pages: a safety net for a checkpointer that
/// cannot keep up, far above what it leaves behind.
pub(super) const WRITER_FALLBACK_PAGES: u32 = 65_536;

pub(super) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database through `conn`, a connection of its own.
    pub(super) fn start(conn: Connection) -> Result<Checkpointer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &signal))
            .map_err(|e| crate::StoreError::Database(format!("starting the checkpointer: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
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
        if frames >= RESTART_FRAMES {
            let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
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
