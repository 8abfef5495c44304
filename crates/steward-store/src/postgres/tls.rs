//! TLS to PostgreSQL with rustls, honouring libpq's `sslmode` and `sslrootcert` in the URL.
//! tokio-postgres parses neither `verify-ca`/`verify-full` nor `sslrootcert`, so both are taken
//! out of the URL before it parses the rest, and the checks they ask for are made here.
//!
//! Channel binding is not offered: `tls-server-end-point` needs the hash the server's
//! certificate is signed with, which rustls does not hand out; SCRAM still authenticates
//! both ways without it.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use crate::{Result, StoreError};

/// How a connection is secured, from `sslmode` (libpq's meanings; `prefer` is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        Some(match value {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Where the CA certificates for `verify-*` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RootCert {
    File(PathBuf),
    /// `sslrootcert=system`: the platform's trusted roots, as libpq 16 reads it.
    System,
}

/// A parsed database URL: the driver's configuration, how TLS is used, and the URL as it may
/// be shown in a message (password hidden).
pub(crate) struct PgTarget {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) connector: Option<RustlsConnect>,
    mode: Mode,
    root: Option<RootCert>,
    setting: &'static str,
    shown: String,
}

impl PgTarget {
    /// The setting this database was named by.
    pub(crate) fn setting(&self) -> &'static str {
        self.setting
    }

    /// What names this database in a message: the setting, its TLS mode and the URL without
    /// its password.
    fn label(&self) -> String {
        format!(
            "{} (sslmode={}, {})",
            self.setting,
            self.mode.name(),
            self.shown
        )
    }

    /// Turns a failure to connect into one that says which setting and, for TLS, why the
    /// server was not trusted; other failures keep their cause.
    pub(crate) fn explain(&self, e: StoreError) -> StoreError {
        let why = match tls_failure(&e) {
            Some(Failure::Certificate(CertificateError::NotValidForName))
            | Some(Failure::Certificate(CertificateError::NotValidForNameContext { .. })) => {
                format!(
                    "the server's certificate is not valid for host {}",
                    self.host()
                )
            }
            Some(Failure::Certificate(CertificateError::UnknownIssuer)) => {
                format!(
                    "the server's certificate is not signed by a CA in sslrootcert={}",
                    self.root_shown()
                )
            }
            Some(Failure::Certificate(other)) => {
                format!("the server's certificate is not trusted: {other:?}")
            }
            Some(Failure::NoTls) => "the server does not offer TLS".to_string(),
            None => return StoreError::open(self.label(), e),
        };
        StoreError::Open {
            context: self.label(),
            source: Arc::new(io::Error::other(why)),
        }
    }

    fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        }
    }

    fn root_shown(&self) -> String {
        match &self.root {
            Some(RootCert::File(p)) => p.display().to_string(),
            Some(RootCert::System) => "system".to_string(),
            None => "(none)".to_string(),
        }
    }
}

enum Failure {
    Certificate(CertificateError),
    NoTls,
}

/// Finds the rustls verdict (or the server's refusal of TLS) in an error's chain. rustls'
/// error travels inside an `io::Error`, whose `source()` skips it, so each link is also
/// looked into.
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    let mut next = Some(e);
    while let Some(err) = next {
        let inner = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(c)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(Failure::Certificate(c.clone()));
            }
        }
        // tokio-postgres says so only in words, as the source of its TLS error.
        if err.to_string() == "server does not support TLS" {
            return Some(Failure::NoTls);
        }
        next = err.source();
    }
    None
}

/// Parses a `postgres://` URL for `setting`, taking `sslmode` and `sslrootcert` out of its
/// query and building the TLS they ask for. Messages show the URL without its password.
pub(crate) fn parse_url(url: &str, setting: &'static str) -> Result<PgTarget> {
    let shown = hide_password(url);
    let bad = |why: String| StoreError::Open {
        context: format!("{setting} ({shown})"),
        source: Arc::new(io::Error::other(why)),
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut mode = Mode::Prefer;
    let mut root = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = Mode::parse(value).ok_or_else(|| {
                    bad(format!(
                        "sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full"
                    ))
                })?;
            }
            "sslrootcert" => {
                let value = percent_decode(value)
                    .ok_or_else(|| bad("sslrootcert is not a valid percent-encoded path".into()))?;
                root = Some(if value == "system" {
                    RootCert::System
                } else {
                    RootCert::File(PathBuf::from(value))
                });
            }
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: tokio_postgres::Config = driver_url
        .parse()
        .map_err(|e: tokio_postgres::Error| bad(e.to_string()))?;
    config.ssl_mode(match mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Option<Arc<dyn ServerCertVerifier>> = match (mode, &root) {
        (Mode::Disable, _) => None,
        (Mode::VerifyCa | Mode::VerifyFull, None) => {
            return Err(bad(format!(
                "sslmode={} needs sslrootcert=FILE (or sslrootcert=system)",
                mode.name()
            )));
        }
        // As libpq: `require` with a root certificate checks the chain, as `verify-ca` does.
        (Mode::Require | Mode::VerifyCa, Some(r)) => Some(Arc::new(ChainOnly {
            inner: full_verifier(r, &provider).map_err(&bad)?,
            algorithms: provider.signature_verification_algorithms,
        })),
        (Mode::VerifyFull, Some(r)) => Some(full_verifier(r, &provider).map_err(&bad)?),
        (Mode::Prefer, _) | (Mode::Require, None) => Some(Arc::new(Unchecked {
            algorithms: provider.signature_verification_algorithms,
        })),
    };
    let connector = match verifier {
        None => None,
        Some(v) => {
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| bad(format!("TLS: {e}")))?
                .dangerous()
                .with_custom_certificate_verifier(v)
                .with_no_client_auth();
            Some(RustlsConnect(Arc::new(config)))
        }
    };
    Ok(PgTarget {
        config,
        connector,
        mode,
        root,
        setting,
        shown,
    })
}

fn full_verifier(
    root: &RootCert,
    provider: &Arc<CryptoProvider>,
) -> std::result::Result<Arc<WebPkiServerVerifier>, String> {
    let mut roots = RootCertStore::empty();
    match root {
        RootCert::System => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        RootCert::File(path) => {
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert={shown}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("sslrootcert={shown}: no CERTIFICATE block found"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert={shown}: {e}"))?;
            }
        }
    }
    if roots.is_empty() {
        return Err("sslrootcert=system: the platform has no trusted root certificates".into());
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("sslrootcert: {e}"))
}

/// The URL with its password, if any, replaced by `***`.
fn hide_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "(not a URL)".to_string();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    // The user info ends at the last '@': a password may itself hold an unencoded one.
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!(
                "{}{user}:***{}",
                &url[..scheme_end],
                &url[scheme_end + at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the server not
/// authenticated (libpq's meaning). The handshake's signatures are still checked, so the
/// session is bound to the certificate the server presented.
#[derive(Debug)]
struct Unchecked {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// tokio-postgres' TLS hook, backed by one rustls client configuration.
#[derive(Clone)]
pub(crate) struct RustlsConnect(Arc<ClientConfig>);

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsHandshake;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(
        &mut self,
        host: &str,
    ) -> std::result::Result<RustlsHandshake, Self::Error> {
        Ok(RustlsHandshake {
            config: self.0.clone(),
            name: ServerName::try_from(host.to_string())?,
        })
    }
}

pub(crate) struct RustlsHandshake {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsHandshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move {
            let tls = connector.connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

pub(crate) struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        match parse_url(url, "database_url") {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn verify_full_without_a_root_certificate_is_refused_naming_the_setting() {
        let e = err("postgres://steward:hunter2@db.example/steward?sslmode=verify-full");
        assert!(e.contains("database_url"), "{e}");
        assert!(e.contains("sslmode=verify-full needs sslrootcert"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn an_unknown_sslmode_is_refused() {
        let e = err("postgres://steward:hunter2@db.example/steward?sslmode=always");
        assert!(e.contains("sslmode=always is not one of"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let e = err(
            "postgres://steward@db.example/steward?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        );
        assert!(e.contains("sslrootcert=/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn the_password_is_never_shown() {
        for url in [
            "postgres://steward:hunter2@db.example:5432/steward?sslmode=require",
            "postgres://steward:hunter2@db.example",
            "postgres://steward:p@ss:hunter2@db.example/x",
        ] {
            let shown = hide_password(url);
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("steward:***@db.example"), "{shown}");
        }
        assert_eq!(
            hide_password("postgres://steward@db.example/x"),
            "postgres://steward@db.example/x"
        );
    }

    #[test]
    fn modes_map_to_the_driver_and_keep_other_parameters() {
        let t = parse_url(
            "postgres://steward@db.example/x?sslmode=disable&application_name=steward",
            "database_url",
        )
        .expect("parse");
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        assert!(t.connector.is_none());
        assert_eq!(t.config.get_application_name(), Some("steward"));
        let t = parse_url("postgres://steward@db.example/x", "database_url").expect("parse");
        assert_eq!(t.config.get_ssl_mode(), SslMode::Prefer);
        assert!(t.connector.is_some());
        let t = parse_url(
            "postgres://steward@db.example/x?sslmode=require",
            "database_url",
        )
        .expect("parse");
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
    }
}
