//! An attribute's value as it is kept: the JSON of what was derived (`{"value": "garden",
//! "confidence": 0.6, "count": 6, "total": 10}`), sealed with the customer's data key under
//! the field `profile/<key>`, so it is bound to its key and unreadable once the customer is
//! erased.

use steward_core::personalization::Derived;
use steward_vault::DataKey;

use crate::AppError;

fn field(key: &str) -> String {
    format!("profile/{key}")
}

/// Seals a derived (or declared) value for attribute `key`.
pub(crate) fn seal(dek: &DataKey, key: &str, value: &Derived) -> Result<Vec<u8>, AppError> {
    let json = serde_json::to_vec(value)
        .map_err(|e| AppError::Internal(format!("attribute {key} not serialised: {e}")))?;
    Ok(dek.seal(&field(key), &json))
}
