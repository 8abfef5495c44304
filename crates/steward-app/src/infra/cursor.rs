//! Opaque pagination cursors: base64url of the position, so clients cannot build one by hand
//! and a bad one is answered with a clear error.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::AppError;

pub fn encode_id(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_id(cursor: &str) -> Result<Uuid, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::invalid("cursor", "is not a cursor this list returned"))
}

pub fn encode_at_id(at: i64, id: Uuid) -> String {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&at.to_be_bytes());
    b.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(b)
}

pub fn decode_at_id(cursor: &str) -> Result<(i64, Uuid), AppError> {
    let bad = || AppError::invalid("cursor", "is not a cursor this list returned");
    let b = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    if b.len() != 24 {
        return Err(bad());
    }
    let at = i64::from_be_bytes(b[..8].try_into().map_err(|_| bad())?);
    let id = Uuid::from_slice(&b[8..]).map_err(|_| bad())?;
    Ok((at, id))
}
