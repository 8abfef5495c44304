//! A connection of its own, outside any pool, for what lives as long as a session: a
//! session-level advisory lock, which a pooled connection would carry to its next user.
//! Dropping it closes the connection, which lets the lock go.

use tokio_postgres::{Client, NoTls};

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

/// Connects as `application_name`, so an operator sees what the connection is for.
pub(crate) async fn connect(target: &PgTarget, application_name: &str) -> Result<Dedicated> {
    let mut config = target.config.clone();
    config.application_name(application_name);
    let (client, driver) = match &target.connector {
        Some(tls) => {
            let (client, conn) = config
                .connect(tls.clone())
                .await
                .map_err(|e| target.explain(e.into()))?;
            (client, tokio::spawn(async move { drop(conn.await) }))
        }
        None => {
            let (client, conn) = config
                .connect(NoTls)
                .await
                .map_err(|e| target.explain(e.into()))?;
            (client, tokio::spawn(async move { drop(conn.await) }))
        }
    };
    Ok(Dedicated { client, driver })
}
