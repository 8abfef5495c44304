//! What the consent ledger keeps of the request that gave or withdrew a consent: the client's
//! address and its user agent, whichever edge the request came through.

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use steward_app::Evidence;

use crate::tls::ClientAddr;

/// Longer user-agent strings are cut before hashing; the hash is evidence, not an identifier.
const MAX_AGENT: usize = 512;

pub(crate) fn evidence(
    client: Option<Extension<ConnectInfo<ClientAddr>>>,
    headers: &HeaderMap,
) -> Evidence {
    Evidence {
        client_address: client.map(|Extension(ConnectInfo(ClientAddr(a)))| a.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(MAX_AGENT).collect()),
    }
}
