//! What the listening socket answers while the application opens. Opening runs the
//! migrations, which on a shared PostgreSQL database wait for whichever instance holds the
//! migration lock; a load balancer probing a socket that accepts and never answers cannot
//! tell a starting instance from a hung one. So the socket answers from the moment it is
//! bound: alive, not ready.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::Listener;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls::ServerConfig;

use crate::Problem;

/// The starting-up server, serving on one handle of the socket while the caller keeps the
/// other for the real server.
pub struct Starting {
    stop: tokio::sync::oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
    kept: std::net::TcpListener,
}

/// Answers on `listener` until [`Starting::finish`]: `/healthz` 200, everything else (and
/// `/readyz`) 503 `NOT_READY` with `Retry-After: 1`. Over TLS when `tls` is given, as the
/// real server will be, so a probe over HTTPS is answered too.
pub fn serve_starting(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<Starting> {
    // Two handles on one socket: connections that arrive between this server's stop and the
    // real server's start wait in the socket's queue instead of being refused.
    let std_listener = listener.into_std()?;
    let kept = std_listener.try_clone()?;
    let listener = TcpListener::from_std(std_listener)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = Router::new()
        .route("/healthz", get(alive))
        .fallback(not_ready);
    let served = match tls {
        Some(config) => {
            let listener = crate::tls::TlsListener::new(listener, config)?;
            tokio::spawn(answer_until(listener, router, stopped))
        }
        None => tokio::spawn(answer_until(listener, router, stopped)),
    };
    Ok(Starting { stop, served, kept })
}

/// How long the handover waits for a connection accepted whose request has not come.
const HANDOVER_PATIENCE: Duration = Duration::from_secs(5);

/// Answers one request on each connection accepted until `stopped`, then waits for those
/// answers: a connection closed with its request unanswered would reach its client (a load
/// balancer's probe) as a reset, where an answer says "not ready, try again".
async fn answer_until<L: Listener>(
    mut listener: L,
    router: Router,
    mut stopped: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let mut answering = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            (io, _) = listener.accept() => {
                let service = TowerToHyperService::new(router.clone());
                answering.spawn(async move {
                    // One request each: the answer closes the connection, so none stays open
                    // across the handover.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(io), service)
                        .await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(HANDOVER_PATIENCE, async {
        while answering.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

impl Starting {
    /// Stops accepting, answers the connections already accepted, and gives back the socket
    /// for the real server.
    pub async fn finish(self) -> std::io::Result<TcpListener> {
        let _ = self.stop.send(());
        match self.served.await {
            Ok(served) => served?,
            Err(e) => return Err(std::io::Error::other(e)),
        }
        TcpListener::from_std(self.kept)
    }
}

async fn alive() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

async fn not_ready() -> Problem {
    let mut problem = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        "Not ready",
        "starting: the database migrations are running",
    );
    problem.retry_after = Some(1);
    problem
}
