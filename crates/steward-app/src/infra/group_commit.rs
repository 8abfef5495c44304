//! Group commit: many small writes that each must be durable before their request answers
//! (a read's audit entry, a new customer's data key) share one transaction.
//!
//! Whoever finds no commit running commits at once, on its own task, so a lone request pays
//! no hand-off to another thread (a CLI or a test calling from outside the runtime included). While a commit runs, later requests queue their items; the
//! first of them to get the next turn commits everything queued in one transaction and
//! answers the others. Under load many requests share one commit (and one sync); alone, a
//! request waits for exactly one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use steward_store::StoreError;

use crate::AppError;

type Answer<O> = Result<Vec<O>, StoreError>;
type Commit<T, O> = dyn Fn(Vec<T>) -> Pin<Box<dyn Future<Output = Answer<O>> + Send>> + Send + Sync;

struct Waiting<T, O> {
    items: Vec<T>,
    reply: oneshot::Sender<Answer<O>>,
}

pub(crate) struct GroupCommit<T, O> {
    queue: Mutex<Vec<Waiting<T, O>>>,
    /// Held by the request whose turn it is to commit.
    turn: Arc<tokio::sync::Mutex<()>>,
    commit: Arc<Commit<T, O>>,
    what: &'static str,
}

async fn commit_batch<T, O>(
    commit: Arc<Commit<T, O>>,
    batch: Vec<Waiting<T, O>>,
    turn: tokio::sync::OwnedMutexGuard<()>,
) {
    let sizes: Vec<usize> = batch.iter().map(|w| w.items.len()).collect();
    let (items, replies): (Vec<Vec<T>>, Vec<_>) =
        batch.into_iter().map(|w| (w.items, w.reply)).unzip();
    match commit(items.into_iter().flatten().collect()).await {
        Ok(outputs) => {
            let mut rest = outputs.into_iter();
            for (reply, n) in replies.into_iter().zip(sizes) {
                let _ = reply.send(Ok(rest.by_ref().take(n).collect()));
            }
        }
        Err(failure) => {
            for reply in replies {
                let _ = reply.send(Err(failure.clone()));
            }
        }
    }
    drop(turn);
}

impl<T: Send + 'static, O: Send + 'static> GroupCommit<T, O> {
    /// `commit` writes a batch in one transaction and returns one output per item, in order.
    pub(crate) fn new<F, Fut>(what: &'static str, commit: F) -> GroupCommit<T, O>
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Answer<O>> + Send + 'static,
    {
        GroupCommit {
            queue: Mutex::new(Vec::new()),
            turn: Arc::new(tokio::sync::Mutex::new(())),
            commit: Arc::new(move |items| Box::pin(commit(items))),
            what,
        }
    }

    fn take_queue(&self) -> Vec<Waiting<T, O>> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Submits the items and waits until they are committed.
    pub(crate) async fn submit(&self, items: Vec<T>) -> Result<Vec<O>, AppError> {
        let stopped = || AppError::Internal(format!("the {} commit was abandoned", self.what));
        let (reply, mut answer) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Waiting { items, reply });
        let turn = self.turn.clone().lock_owned().await;
        if let Ok(done) = answer.try_recv() {
            // The previous turn's commit carried these items too.
            return done.map_err(AppError::from);
        }
        let batch = self.take_queue();
        let alone = batch.len() == 1;
        let work = commit_batch(self.commit.clone(), batch, turn);
        if alone {
            // Alone: commit right here, without handing over to another thread.
            work.await;
        } else {
            // Others' items ride along: a task of its own, so that this request going away
            // mid-commit cannot abandon them.
            tokio::spawn(work);
        }
        answer.await.map_err(|_| stopped())?.map_err(AppError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_submitter_gets_its_own_outputs_and_commits_are_shared() {
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = commits.clone();
        let group = Arc::new(GroupCommit::new("test", move |items: Vec<u64>| {
            counted.fetch_add(1, Ordering::Relaxed);
            async move {
                // Long enough for others to queue behind this commit.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                Ok(items.into_iter().map(|i| i * 2).collect())
            }
        }));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64u64 {
            let group = group.clone();
            tasks.spawn(async move { (i, group.submit(vec![i, i + 1_000]).await) });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, out) = done.expect("task");
            assert_eq!(out.expect("committed"), vec![i * 2, (i + 1_000) * 2]);
        }
        let n = commits.load(Ordering::Relaxed);
        assert!(n < 64, "64 submitters shared {n} commits");
    }

    #[tokio::test]
    async fn a_failed_commit_fails_its_submitters() {
        let group = GroupCommit::new("test", |_: Vec<u8>| async {
            Err::<Vec<()>, _>(StoreError::Database("disk full".to_string()))
        });
        match group.submit(vec![1]).await {
            Err(AppError::Storage(StoreError::Database(m))) => assert_eq!(m, "disk full"),
            other => panic!("expected the commit's error, got {other:?}"),
        }
    }
}
