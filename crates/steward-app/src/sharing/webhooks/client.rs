//! The HTTPS client webhooks leave by: HTTP/1.1 over rustls, trusting the platform's roots and
//! any the operator adds, with a time limit on connecting and one on the answer. It follows
//! no redirect: a vendor's endpoint is the address the privacy officer set, and nowhere else.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::AppError;

/// Resolving, connecting and the TLS handshake together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// From the request's first byte to the answer's status line.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longer addresses are refused when the endpoint is set.
const MAX_URL: usize = 2_000;

/// Where a webhook goes: an `https` URL without credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    uri: Uri,
    host: String,
    port: u16,
}

impl Target {
    /// The URL as the privacy officer gave it, or what is wrong with it (never repeating it).
    pub(crate) fn parse(text: &str) -> Result<Target, &'static str> {
        if text.len() > MAX_URL {
            return Err("is longer than 2000 characters");
        }
        if text.contains('#') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("is not a URL: no spaces and no fragment");
        }
        let uri: Uri = text.parse().map_err(|_| "is not a URL")?;
        if !uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"))
        {
            return Err("must be an https:// URL");
        }
        let authority = uri.authority().ok_or("names no host")?;
        if authority.as_str().contains('@') {
            return Err("must not carry credentials");
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err("names no host");
        }
        Ok(Target {
            port: authority.port_u16().unwrap_or(443),
            host,
            uri,
        })
    }

    pub(crate) fn as_str(&self) -> String {
        self.uri.to_string()
    }
}

/// Why an attempt got no answer: a kind, never the other side's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Timeout,
    Connect,
    Tls,
    Protocol,
}

impl Failure {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Connect => "connect",
            Failure::Tls => "tls",
            Failure::Protocol => "protocol",
        }
    }
}

pub(crate) struct Client {
    tls: TlsConnector,
}

impl Client {
    /// A client trusting the platform's roots and those in `extra_roots` (a PEM file), so a
    /// vendor, or a test, behind a private authority can be reached.
    pub(crate) fn new(extra_roots: Option<&Path>) -> Result<Client, AppError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        if !native.errors.is_empty() {
            tracing::warn!(
                errors = native.errors.len(),
                "some of the platform's root certificates could not be read"
            );
        }
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = extra_roots {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    AppError::Setup(format!("webhook_extra_roots {}: {e}", path.display()))
                })?;
            if certs.is_empty() {
                return Err(AppError::Setup(format!(
                    "webhook_extra_roots {}: no CERTIFICATE block found",
                    path.display()
                )));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    AppError::Setup(format!("webhook_extra_roots {}: {e}", path.display()))
                })?;
            }
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AppError::Setup(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// POSTs a JSON body with `headers`; answers the status the receiver gave.
    pub(crate) async fn post(
        &self,
        target: &Target,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<u16, Failure> {
        let mut sender = tokio::time::timeout(CONNECT_TIMEOUT, self.connect(target))
            .await
            .map_err(|_| Failure::Timeout)??;
        let mut request = hyper::Request::post(target.uri.clone())
            .header(
                hyper::header::HOST,
                target.uri.authority().map_or("", |a| a.as_str()),
            )
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "Steward-Webhooks/1");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| Failure::Protocol)?;
        let response = tokio::time::timeout(RESPONSE_TIMEOUT, sender.send_request(request))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|_| Failure::Protocol)?;
        // The answer's body is not read: only its status counts, and the connection closes.
        Ok(response.status().as_u16())
    }

    async fn connect(
        &self,
        target: &Target,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Failure> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|_| Failure::Connect)?;
        // Small requests go at once rather than waiting for an acknowledgement.
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(target.host.clone()).map_err(|_| Failure::Tls)?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|_| Failure::Tls)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|_| Failure::Protocol)?;
        tokio::spawn(async move {
            // Ends when the exchange does, or with the error the request already reported.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_https_urls_are_taken() {
        let t = Target::parse("https://hooks.example.com:8443/in?x=1").expect("https");
        assert_eq!((t.host.as_str(), t.port), ("hooks.example.com", 8443));
        assert_eq!(Target::parse("https://[::1]/in").expect("v6").host, "::1");
        assert_eq!(
            Target::parse("HTTPS://example.com").expect("case").port,
            443
        );
        for bad in [
            "http://example.com/in",
            "ftp://example.com",
            "example.com/in",
            "https://user:pw@example.com/in",
            "https://example.com/in#frag",
            "https://example.com/a b",
            "https:///in",
            "",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert!(Target::parse(&format!("https://example.com/{}", "a".repeat(2_000))).is_err());
    }
}
