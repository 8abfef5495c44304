//! Sign-ups from public forms.

use uuid::Uuid;

/// A sign-up from a public form, as held until its address is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupRow {
    pub id: Uuid,
    /// The form's key.
    pub form: String,
    pub created_at: i64,
    /// When its links stop working, and it goes.
    pub expires_at: i64,
    /// What was sent, sealed under the sign-up's own key.
    pub sealed: Vec<u8>,
}
