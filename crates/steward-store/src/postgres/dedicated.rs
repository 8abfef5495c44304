//! A connection of its own, outside any pool, for what lives as long as a session: a
//! session-level advisory lock, which a pooled connection would carry to its next user, and
//! `LISTEN`. Dropping it closes the connection, which ends both.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls};

use super::tls::PgTarget;
use crate::Result;

pub(crate) struct Dedicated {
    pub(crate) client: Client,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Connects as `application_name` (so an operator sees what each connection is for); each
/// notification on a channel it listens to arrives on the returned receiver as the channel's
/// name and its payload. The receiver closes when the connection is lost.
pub(crate) async fn connect(
    target: &PgTarget,
    application_name: &str,
) -> Result<(Dedicated, mpsc::UnboundedReceiver<(String, String)>)> {
    let mut config = target.config.clone();
    config.application_name(application_name);
    let (tx, rx) = mpsc::unbounded_channel();
    let (client, driver) = match &target.connector {
        Some(tls) => {
            let (client, conn) = config
                .connect(tls.clone())
                .await
                .map_err(|e| target.explain(e.into()))?;
            (client, tokio::spawn(drive(conn, tx)))
        }
        None => {
            let (client, conn) = config
                .connect(NoTls)
                .await
                .map_err(|e| target.explain(e.into()))?;
            (client, tokio::spawn(drive(conn, tx)))
        }
    };
    Ok((Dedicated { client, driver }, rx))
}

async fn drive<S, T>(mut conn: Connection<S, T>, notes: mpsc::UnboundedSender<(String, String)>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    // An error ends the connection; the closed receiver is how its listener learns of it.
    while let Some(Ok(message)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
        if let AsyncMessage::Notification(n) = message {
            let _ = notes.send((n.channel().to_string(), n.payload().to_string()));
        }
    }
}
