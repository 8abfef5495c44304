//! What travels over the network: the HTTP listener and its certificate, and the connection
//! to PostgreSQL.

use jiff::SignedDuration;

use super::{Check, Checked, Cx, Outcome, Severity};

/// A certificate ending within this long is a failing check.
const CERT_WARNING: SignedDuration = SignedDuration::from_hours(30 * 24);

pub(super) const TLS_LISTENER: Check = Check {
    id: "TLS_LISTENER",
    severity: Severity::High,
    fix: "Set tls_cert and tls_key so the server speaks HTTPS, or listen on loopback behind a proxy that does.",
    run: tls_listener,
};

fn tls_listener<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let listen = cx.facts.listen;
        Ok(if cx.facts.tls {
            Outcome::pass(format!("the server listens on {listen} with HTTPS only"))
        } else if listen.ip().is_loopback() {
            Outcome::pass(format!(
                "the server listens on {listen}, loopback only, without TLS"
            ))
        } else {
            Outcome::fail(
                format!("the server listens on {listen}, beyond loopback, without TLS"),
                vec![format!("listen:{listen}")],
            )
        })
    })
}

pub(super) const CERT_EXPIRY: Check = Check {
    id: "CERT_EXPIRY",
    severity: Severity::High,
    fix: "Renew the server's TLS certificate and restart the server with it before it expires.",
    run: cert_expiry,
};

fn cert_expiry<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        let Some(not_after) = cx.facts.certificate_not_after else {
            return Ok(Outcome::not_applicable("no TLS certificate is configured"));
        };
        let left = cx.now.duration_until(not_after);
        let days = left.as_secs().div_euclid(86_400);
        let evidence = if left.is_negative() {
            format!(
                "the certificate expired on {}",
                not_after.strftime("%Y-%m-%d")
            )
        } else {
            format!(
                "the certificate expires on {} ({days} days left)",
                not_after.strftime("%Y-%m-%d")
            )
        };
        Ok(if left < CERT_WARNING {
            Outcome::fail(evidence, vec!["certificate:tls_cert".into()])
        } else {
            Outcome::pass(evidence)
        })
    })
}

pub(super) const POSTGRES_TLS: Check = Check {
    id: "POSTGRES_TLS",
    severity: Severity::Medium,
    fix: "Keep PostgreSQL on a private network or loopback until Steward connects to it over TLS.",
    run: postgres_tls,
};

fn postgres_tls<'a>(cx: &'a Cx<'a>) -> Checked<'a> {
    Box::pin(async move {
        Ok(if cx.app.on_postgres {
            // The PostgreSQL connection is made without TLS for now.
            Outcome::fail(
                "the data is in PostgreSQL, reached without TLS",
                vec!["database:postgres".into()],
            )
        } else {
            Outcome::not_applicable("the data is in the embedded SQLite database")
        })
    })
}
