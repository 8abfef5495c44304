//! Group commit for audit entries of reads and exports. A read may answer only once its entry
//! is durable; committing each entry alone makes every read a write transaction. One task
//! takes all entries waiting at that moment, appends them in one transaction, and answers
//! every waiter: under load many reads share one commit, and alone a read waits for one.

use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord};
use steward_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::AppError;

type Reply = oneshot::Sender<Result<Vec<AuditEntry>, String>>;

/// Entries committed together at most.
const MAX_BATCH: usize = 1_024;

#[derive(Clone)]
pub(crate) struct AuditWriter {
    queue: mpsc::Sender<(Vec<AuditRecord>, Reply)>,
}

impl AuditWriter {
    pub(crate) fn start(store: Arc<dyn Store>) -> AuditWriter {
        let (queue, mut rx) = mpsc::channel::<(Vec<AuditRecord>, Reply)>(4_096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiting = vec![first];
                let mut count = waiting[0].0.len();
                while count < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => {
                            count += next.0.len();
                            waiting.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let sizes: Vec<usize> = waiting.iter().map(|(r, _)| r.len()).collect();
                let (records, replies): (Vec<_>, Vec<_>) = waiting.into_iter().unzip();
                match store
                    .append_audit(records.into_iter().flatten().collect())
                    .await
                {
                    Ok(entries) => {
                        let mut rest = entries.into_iter();
                        for (reply, n) in replies.into_iter().zip(sizes) {
                            let _ = reply.send(Ok(rest.by_ref().take(n).collect()));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        });
        AuditWriter { queue }
    }

    /// Appends the records and waits until they are committed.
    pub(crate) async fn append(
        &self,
        records: Vec<AuditRecord>,
    ) -> Result<Vec<AuditEntry>, AppError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Storage("the audit writer has stopped".into());
        self.queue
            .send((records, reply))
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(AppError::Storage)
    }
}
