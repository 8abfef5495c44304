//! The copy of the audit chain's signed head kept outside the data database.
//!
//! Every commit signs the head it leaves, but a head kept only beside the log can be cut off
//! with it or swapped for an older one. So the newest signed head is also witnessed: kept in
//! the key store and appended to a witness file beside it, each second by the server and at
//! the end of every CLI command. A head is witnessed only once the entries between it and the
//! head witnessed before have been walked and found to extend it, so a log that was cut,
//! rolled back or rewritten and re-chained is never vouched for: the witness stops and says
//! so, and verification reports the difference.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use steward_core::audit::{ChainWalker, SignedHead};

use crate::services::Audit;
use crate::services::Jobs;
use crate::{AppError, Steward};

/// How often the server witnesses the newest head.
pub const WITNESS_EVERY: Duration = Duration::from_secs(1);
/// How often, at most, the witness file gains a line; the key store follows every second.
const FILE_LINE_EVERY: Duration = Duration::from_secs(60);
const WALK_PAGE: usize = 5_000;

/// The witness file: one signed head per line, as JSON, only ever appended to.
pub(crate) struct WitnessFile {
    path: PathBuf,
    last_line: std::sync::Mutex<Option<Instant>>,
}

/// What one round of witnessing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witnessed {
    /// Nothing new since the head witnessed before.
    Unchanged,
    /// A newer head that extends the one witnessed before is now witnessed.
    Advanced { seq: i64 },
    /// The database's head does not extend the witnessed one; nothing was witnessed.
    Refused(String),
}

impl WitnessFile {
    pub(crate) fn new(key_dir: &Path) -> WitnessFile {
        WitnessFile {
            path: key_dir.join("audit-witness.jsonl"),
            last_line: std::sync::Mutex::new(None),
        }
    }

    fn due(&self, force: bool) -> bool {
        let last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        force || last.is_none_or(|at| at.elapsed() >= FILE_LINE_EVERY)
    }

    fn append(&self, head: &SignedHead) -> Result<(), AppError> {
        let fail = |e: std::io::Error| {
            AppError::Setup(format!("audit witness file {}: {e}", self.path.display()))
        };
        let mut line = serde_json::to_vec(head).map_err(AppError::Encode)?;
        line.push(b'\n');
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&self.path).map_err(fail)?;
        file.write_all(&line).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        *self.last_line.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        Ok(())
    }

    /// Every head in the file, in order. A last line cut short by a crash mid-write is left
    /// out; any other line that does not read is an error naming it.
    pub(crate) fn read(&self) -> Result<Vec<SignedHead>, String> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("the witness file cannot be read: {e}")),
        };
        let mut heads = Vec::new();
        let mut lines = std::io::BufReader::new(file).split(b'\n').peekable();
        let mut number = 0;
        while let Some(line) = lines.next() {
            number += 1;
            let line = line.map_err(|e| format!("the witness file cannot be read: {e}"))?;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<SignedHead>(&line) {
                Ok(head) => heads.push(head),
                Err(_) if lines.peek().is_none() => break,
                Err(_) => return Err(format!("line {number} of the witness file is unreadable")),
            }
        }
        Ok(heads)
    }
}

impl Steward {
    /// Why `head` does not extend `before`, walking the entries between them; `None` when
    /// it does. Without a head witnessed before, the first is taken as it is.
    async fn extends(
        &self,
        before: Option<&SignedHead>,
        head: &SignedHead,
    ) -> Result<Option<String>, AppError> {
        let Some(before) = before else {
            return Ok(None);
        };
        if head.seq < before.seq {
            return Ok(Some(format!(
                "the database's signed head (entry {}) is older than the witnessed one (entry {}): the log was rolled back or cut",
                head.seq, before.seq
            )));
        }
        if head.seq == before.seq {
            return Ok(Some(format!(
                "the database's signed head at entry {} differs from the witnessed one: the log was rewritten",
                head.seq
            )));
        }
        let mut walker = ChainWalker {
            head: before.head,
            last_seq: before.seq,
            entries: 0,
        };
        while walker.last_seq < head.seq {
            let page = self.store.audit_links(walker.last_seq, WALK_PAGE).await?;
            let from = walker.last_seq;
            for e in page.iter().take_while(|e| e.seq <= head.seq) {
                if walker.feed_link(e).is_err() {
                    return Ok(Some(format!(
                        "entry {} does not extend the witnessed head at entry {}: the log was rewritten",
                        e.seq, before.seq
                    )));
                }
            }
            // Nothing at or below the head came next: entries are missing.
            if walker.last_seq == from {
                return Ok(Some(format!(
                    "entry {} is missing between the witnessed head (entry {}) and the database's signed head (entry {})",
                    from + 1,
                    before.seq,
                    head.seq
                )));
            }
        }
        if walker.last_seq != head.seq || walker.head != head.head {
            return Ok(Some(format!(
                "the entries after the witnessed head (entry {}) do not lead to the database's signed head (entry {})",
                before.seq, head.seq
            )));
        }
        Ok(None)
    }
}

impl Audit<'_> {
    /// Witnesses the database's newest signed head, if it is newer than the one witnessed
    /// before and extends it. `force` writes a witness file line even if one was written
    /// within the minute (at shutdown and at the end of a CLI command).
    pub async fn witness(&self, force: bool) -> Result<Witnessed, AppError> {
        let Some(head) = self.app.store.signed_head().await? else {
            return Ok(Witnessed::Unchanged);
        };
        self.witness_head(head, force).await
    }

    /// Witnesses `head`, a head the database signed, if it is newer than the one witnessed
    /// before and extends it.
    pub(crate) async fn witness_head(
        &self,
        head: SignedHead,
        force: bool,
    ) -> Result<Witnessed, AppError> {
        let before = self.app.keys.witnessed_head().await?;
        if before.as_ref() == Some(&head) {
            return Ok(Witnessed::Unchanged);
        }
        if !self
            .app
            .vault
            .signer()
            .verify(&head.message(), &head.signature)
        {
            return Ok(Witnessed::Refused(format!(
                "the database's head at entry {} has an invalid signature",
                head.seq
            )));
        }
        if let Some(problem) = self.app.extends(before.as_ref(), &head).await? {
            return Ok(Witnessed::Refused(problem));
        }
        // The key store first: a witness file that cannot be written must not hold it back.
        self.app.keys.put_witnessed_head(&head).await?;
        if self.app.witness_file.due(force) {
            self.app.witness_file.append(&head)?;
        }
        Ok(Witnessed::Advanced { seq: head.seq })
    }
}

impl Jobs {
    /// Witnesses the head every second until `stop`; a refusal is logged each time it is
    /// found, as it needs a person to look.
    pub async fn audit_witness(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            match self.app.audit().witness(false).await {
                Ok(Witnessed::Refused(problem)) => {
                    tracing::error!(%problem, "the audit log's head was not witnessed");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "witnessing the audit head failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(WITNESS_EVERY) => {}
                _ = &mut stop => break,
            }
        }
    }
}
