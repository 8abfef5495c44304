//! Hearing what other instances sharing the database tell each other with `NOTIFY`: a task
//! keeps one connection of its own `LISTEN`ing on a channel (a pooled connection would be
//! handed to other work and its notifications missed) and passes on what it hears. When the
//! connection is lost it says so, since notifications sent meanwhile are missed for good, and
//! connects again, waiting longer after each failure.

use std::future::poll_fn;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};

use super::tls::RustlsConnect;
use crate::StoreError;

/// The channel on which a transaction that ends sessions or revokes tokens tells every
/// instance, with the ids of what it revoked (`Revoked`).
pub const REVOKED_CHANNEL: &str = "steward_sessions";

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// A connection that died without a word (a cable, a firewall) is noticed by the operating
/// system's keepalives instead of hours later.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a listener hears.
#[derive(Debug)]
pub enum Heard {
    /// Listening, first or again: whatever was sent before this was not heard.
    Listening,
    /// A notification's payload.
    Notified(String),
    /// The connection failed or ended: nothing is heard until `Listening` comes again.
    Lost(StoreError),
}

/// A channel listened to until this is dropped.
pub struct Listener {
    heard: mpsc::Receiver<Heard>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// Starts listening on `channel` (an identifier, not quoted) with `config`, its
    /// application name set to the channel's so the connection is recognised in
    /// `pg_stat_activity`.
    pub(crate) fn start(
        mut config: Config,
        tls: Option<RustlsConnect>,
        channel: &'static str,
    ) -> Listener {
        config
            .application_name(channel)
            .keepalives_idle(KEEPALIVE_IDLE);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let (tell, heard) = mpsc::channel(1024);
        let task = tokio::spawn(async move {
            let mut wait = FIRST_RETRY;
            loop {
                let (listened, lost) = match &tls {
                    Some(tls) => match config.connect(tls.clone()).await {
                        Ok((client, conn)) => follow(client, conn, channel, &tell).await,
                        Err(e) => (false, e.into()),
                    },
                    None => match config.connect(NoTls).await {
                        Ok((client, conn)) => follow(client, conn, channel, &tell).await,
                        Err(e) => (false, e.into()),
                    },
                };
                if tell.send(Heard::Lost(lost)).await.is_err() {
                    return;
                }
                // After a connection that worked, the next one is tried at once-ish; after
                // failures, less and less often.
                wait = if listened {
                    FIRST_RETRY
                } else {
                    (wait * 2).min(LAST_RETRY)
                };
                tokio::time::sleep(wait).await;
            }
        });
        Listener { heard, task }
    }

    /// The next thing heard; `None` only once the listening task is gone.
    pub async fn recv(&mut self) -> Option<Heard> {
        self.heard.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on one connection until it ends; returns whether it got as far as listening, and
/// why it ended.
async fn follow<S, T>(
    client: Client,
    mut conn: Connection<S, T>,
    channel: &str,
    tell: &mpsc::Sender<Heard>,
) -> (bool, StoreError)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let statement = format!("LISTEN {channel}");
    let mut listen = std::pin::pin!(client.batch_execute(&statement));
    let mut listening = false;
    loop {
        // The connection is driven here, not by a task of its own, because only
        // `poll_message` hands out notifications; `LISTEN` completes while it is polled.
        tokio::select! {
            done = &mut listen, if !listening => match done {
                Ok(()) => {
                    listening = true;
                    if tell.send(Heard::Listening).await.is_err() {
                        return (true, closed());
                    }
                }
                Err(e) => return (false, e.into()),
            },
            message = poll_fn(|cx| conn.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tell.send(Heard::Notified(n.payload().to_string())).await.is_err() {
                        return (listening, closed());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return (listening, e.into()),
                None => return (listening, closed()),
            },
        }
    }
}

fn closed() -> StoreError {
    StoreError::Database("the listening connection was closed".into())
}

/// Runs only against the test server (`STEWARD_TEST_DATABASE_URL`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fresh_postgres;

    async fn next(l: &mut Listener) -> Heard {
        tokio::time::timeout(Duration::from_secs(10), l.recv())
            .await
            .expect("heard in time")
            .expect("listening task alive")
    }

    #[tokio::test]
    async fn hears_notifications_and_says_when_it_lost_them() {
        let db = fresh_postgres().await;
        let config: Config = db.url.parse().expect("url");
        let mut listener = Listener::start(config.clone(), None, "steward_test_channel");
        assert!(matches!(next(&mut listener).await, Heard::Listening));
        let (client, conn) = config.connect(NoTls).await.expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute("NOTIFY steward_test_channel, 'token:1'")
            .await
            .expect("notify");
        match next(&mut listener).await {
            Heard::Notified(p) => assert_eq!(p, "token:1"),
            other => panic!("{other:?}"),
        }
        client
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = 'steward_test_channel' AND datname = current_database()",
            )
            .await
            .expect("terminate");
        assert!(matches!(next(&mut listener).await, Heard::Lost(_)));
        assert!(matches!(next(&mut listener).await, Heard::Listening));
    }
}
