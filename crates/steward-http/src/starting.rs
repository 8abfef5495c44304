//! What the listening socket answers while the application opens. Opening runs the
//! migrations, which on a shared PostgreSQL database wait for whichever instance holds the
//! migration lock; a load balancer probing a socket that accepts and never answers cannot
//! tell a starting instance from a hung one. So the socket answers from the moment it is
//! bound: alive, not ready.

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let until = async move {
        let _ = stopped.await;
    };
    let router = Router::new()
        .route("/healthz", get(alive))
        .fallback(not_ready);
    let served = match tls {
        Some(config) => {
            let listener = crate::tls::TlsListener::new(listener, config)?;
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(until)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(until)
                .await
        }),
    };
    Ok(Starting { stop, served, kept })
}

impl Starting {
    /// Stops answering once the requests under way are answered, and gives back the socket
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
