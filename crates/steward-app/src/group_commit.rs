//! Group commit: many small writes that each must be durable before their request answers
//! (a read's audit entry, a new customer's data key) share one transaction. One task takes
//! everything waiting at that moment, commits it at once, and answers every waiter: under
//! load many requests share one commit (and one fsync), and alone a request waits for one.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::AppError;

type Reply<O> = oneshot::Sender<Result<Vec<O>, String>>;

/// Items committed together at most.
const MAX_BATCH: usize = 1_024;

pub(crate) struct GroupCommit<T, O> {
    queue: mpsc::Sender<(Vec<T>, Reply<O>)>,
    what: &'static str,
}

impl<T: Send + 'static, O: Send + 'static> GroupCommit<T, O> {
    /// `commit` writes a batch in one transaction and returns one output per item, in order.
    pub(crate) fn start<F, Fut>(what: &'static str, commit: F) -> GroupCommit<T, O>
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<O>, String>> + Send,
    {
        let (queue, mut rx) = mpsc::channel::<(Vec<T>, Reply<O>)>(4_096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Let the requests already running reach their own write first: the commit
                // below may block this worker, so without a pause every batch would hold one.
                tokio::task::yield_now().await;
                let mut count = first.0.len();
                let mut waiting = vec![first];
                while count < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(next) => {
                            count += next.0.len();
                            waiting.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let sizes: Vec<usize> = waiting.iter().map(|(items, _)| items.len()).collect();
                let (items, replies): (Vec<_>, Vec<_>) = waiting.into_iter().unzip();
                match commit(items.into_iter().flatten().collect()).await {
                    Ok(outputs) => {
                        let mut rest = outputs.into_iter();
                        for (reply, n) in replies.into_iter().zip(sizes) {
                            let _ = reply.send(Ok(rest.by_ref().take(n).collect()));
                        }
                    }
                    Err(message) => {
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        });
        GroupCommit { queue, what }
    }

    /// Submits the items and waits until they are committed.
    pub(crate) async fn submit(&self, items: Vec<T>) -> Result<Vec<O>, AppError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Storage(format!("the {} writer has stopped", self.what));
        self.queue
            .send((items, reply))
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(AppError::Storage)
    }
}
