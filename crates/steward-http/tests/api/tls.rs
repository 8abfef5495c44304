//! HTTPS with rustls: real handshakes on a real port, HSTS only over TLS, and clear
//! start-up errors for bad certificate files.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::support::*;

struct Certificate {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    der: CertificateDer<'static>,
}

fn self_signed() -> Certificate {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
    Certificate {
        _dir: dir,
        cert,
        key,
        der: made.cert.der().clone(),
    }
}

async fn https_get(addr: &str, trusted: &CertificateDer<'static>, path: &str) -> Reply {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).expect("trust");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    // rustls reports a peer that closes without close_notify; the answer is complete anyway.
    let _ = tls.read_to_end(&mut raw).await;
    Reply::parse(&raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_with_hsts_and_a_silent_client_blocks_no_one() {
    let certificate = self_signed();
    let config = steward_http::load_tls_config(&certificate.cert, &certificate.key).expect("load");
    let t = spawn_app_with_options(steward_http::HttpOptions {
        limits: steward_http::Limits::unlimited(),
        tls: Some(config),
        ..Default::default()
    })
    .await;

    // A client that connects and never speaks must not hold up the next one.
    let _silent = tokio::net::TcpStream::connect(&t.addr)
        .await
        .expect("connect");
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        https_get(&t.addr, &certificate.der, "/healthz"),
    )
    .await
    .expect("answered while another client's handshake is pending");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let sign_in = https_get(&t.addr, &certificate.der, "/console/login").await;
    let cookie = sign_in.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("; Secure"),
        "console cookies are Secure under TLS: {cookie}"
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let addr = t.addr.clone();
    let plain = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw
    })
    .await
    .expect("plain");
    assert!(
        !plain.starts_with(b"HTTP/1.1 200"),
        "plain HTTP was answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_only_sent_over_tls() {
    let t = spawn_app().await;
    let reply = t.req("GET", "/healthz", None, &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("strict-transport-security"), None);
}

#[test]
fn bad_certificate_files_are_named() {
    let one = self_signed();
    let other = self_signed();
    let missing = one.cert.with_file_name("nowhere.pem");
    let err =
        steward_http::load_tls_config(&missing, &one.key).expect_err("missing certificate refused");
    assert!(err.to_string().contains("nowhere.pem"), "{err}");
    let err = steward_http::load_tls_config(&one.cert, &one.cert)
        .expect_err("a certificate is not a key");
    assert!(err.to_string().contains("TLS key"), "{err}");
    let err =
        steward_http::load_tls_config(&one.cert, &other.key).expect_err("mismatched pair refused");
    assert!(err.to_string().contains("do not belong together"), "{err}");
}
