//! A real HTTPS webhook receiver on loopback: a certificate of its own made for 127.0.0.1 (its
//! PEM written to a file the sender is told to trust), hyper serving HTTP/1.1 over rustls, and
//! a script of answers: the first requests get the statuses given, the rest 200. It keeps every
//! request it receives.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// One request as received, and the status it was answered with.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Log {
    script: Vec<u16>,
    received: Vec<Received>,
}

pub struct WebhookReceiver {
    addr: SocketAddr,
    ca: PathBuf,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<Log>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebhookReceiver {
    /// Starts on a free port of 127.0.0.1; the first requests are answered with `script`, in
    /// order, and every one after with 200.
    pub async fn start(script: &[u16]) -> WebhookReceiver {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("a certificate for 127.0.0.1");
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("receiver.pem");
        std::fs::write(&ca, made.cert.pem()).expect("write the receiver's certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let log = Arc::new(Mutex::new(Log {
            script: script.iter().rev().copied().collect(),
            received: Vec::new(),
        }));
        let server = tokio::spawn({
            let log = log.clone();
            async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    let log = log.clone();
                    // Answers go at once, as a production server's would, rather than waiting
                    // on the client's delayed acknowledgement.
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = service_fn(move |request| answer(request, log.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            }
        });
        WebhookReceiver {
            addr,
            ca,
            _dir: dir,
            log,
            server,
        }
    }

    /// An `https://127.0.0.1:PORT` URL with `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// The PEM file of the receiver's certificate, to trust it.
    pub fn certificate(&self) -> &Path {
        &self.ca
    }

    /// Every request so far, in the order they came.
    pub fn received(&self) -> Vec<Received> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
            .clone()
    }

    pub fn count(&self) -> usize {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
            .len()
    }
}

async fn answer(
    request: Request<Incoming>,
    log: Arc<Mutex<Log>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = request.uri().path().to_string();
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = request.into_body().collect().await?.to_bytes().to_vec();
    let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
    let answered = log.script.pop().unwrap_or(200);
    log.received.push(Received {
        path,
        headers,
        body,
        answered,
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(answered).unwrap_or(StatusCode::OK);
    Ok(response)
}
