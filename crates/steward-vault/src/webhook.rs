//! A vendor's webhook signing secret, in the Standard Webhooks form: `whsec_` and the base64
//! of 32 random bytes, which both sides use as the HMAC-SHA256 key. Steward keeps it sealed
//! under the installation's webhook key (see `Vault::webhook_key`) and shows it once.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::VaultError;

const PREFIX: &str = "whsec_";

/// Not `Clone`, and its `Debug` shows nothing of it, so it is neither copied nor logged by
/// accident; its bytes are wiped on drop.
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

const LEN: usize = 32;

impl WebhookSecret {
    /// A fresh secret straight from the operating system's generator: it is made rarely and
    /// lives long, so it does not come from the thread's faster generator.
    pub fn generate() -> WebhookSecret {
        let mut bytes = Zeroizing::new(vec![0u8; LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        WebhookSecret(bytes)
    }

    /// The secret from its raw bytes, as kept sealed.
    pub fn from_bytes(bytes: &[u8]) -> Result<WebhookSecret, VaultError> {
        if bytes.len() != LEN {
            return Err(VaultError::Format);
        }
        Ok(WebhookSecret(Zeroizing::new(bytes.to_vec())))
    }

    /// The raw bytes, to be sealed; never to be stored as they are.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The form shown to the privacy officer, once, and that the vendor's library takes.
    pub fn reveal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(self.bytes())))
    }

    /// The `webhook-signature` header's value for a message: `v1,` and the base64 of
    /// HMAC-SHA256 over `{id}.{timestamp}.{body}`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.bytes()).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_reference_does() {
        // The example of the Standard Webhooks reference libraries (a 24-byte secret).
        let secret = WebhookSecret(Zeroizing::new(
            STANDARD
                .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .expect("base64"),
        ));
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_fresh_secret_is_shown_in_the_standard_form_and_never_debugged() {
        let secret = WebhookSecret::generate();
        let shown = secret.reveal();
        let b64 = shown.strip_prefix("whsec_").expect("prefix");
        assert_eq!(STANDARD.decode(b64).expect("base64"), secret.bytes());
        assert_eq!(secret.bytes().len(), 32);
        assert_ne!(WebhookSecret::generate().bytes(), secret.bytes());
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
        assert!(WebhookSecret::from_bytes(&[1; 31]).is_err());
    }
}
