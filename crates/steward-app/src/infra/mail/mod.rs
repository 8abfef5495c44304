//! Email: an outbox in the database, drained by a sender that hands each message to an SMTP
//! server (or, with none configured, appends it to a mail log in the data directory), with
//! retries and a record of every attempt; and the links messages carry.

mod letter;
mod links;
mod outbox;
mod transport;

pub(crate) use letter::Letter;
pub(crate) use links::{LinkToken, hash_token};
pub use outbox::MailRound;
pub(crate) use transport::Transport;

/// A last message to an erased person: sealed under a key of its own, since theirs is gone by
/// the time it is sent, and that key is destroyed once it is sent or given up.
pub(crate) const FAREWELL: &str = "farewell";
/// An alert to a staff member about failed sign-ins, sealed and destroyed the same way.
pub(crate) const SIGN_IN_ALERT: &str = "sign-in-alert";
/// A breach alert to a member of the response team, sealed and destroyed the same way.
pub(crate) const BREACH_ALERT: &str = "breach-alert";
/// A campaign's test message to the staff member who asked for it, sealed and destroyed the
/// same way.
pub(crate) const CAMPAIGN_TEST: &str = "campaign-test";

/// How Steward sends email.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://...` or `smtp://...?tls=required`, with optional
    /// credentials; `None` writes messages to `mail.log` in the data directory instead.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `Example Shop <privacy@example.com>`.
    pub from: String,
    /// Where customers reach this Steward; links in messages start with it.
    pub public_url: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "Steward <privacy@localhost>".into(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// The sender's configured parts, checked once at start-up.
pub(crate) struct Mailer {
    pub transport: Transport,
    pub from: lettre::message::Mailbox,
    pub public_url: String,
    /// Woken when a commit queued mail, so it leaves at once rather than at the next poll.
    pub queued: tokio::sync::Notify,
}

impl Mailer {
    pub(crate) fn new(
        settings: &MailSettings,
        data_dir: &std::path::Path,
    ) -> Result<Mailer, crate::AppError> {
        let from = settings
            .from
            .parse()
            .map_err(|e| crate::AppError::Setup(format!("mail_from {:?}: {e}", settings.from)))?;
        let public_url = settings.public_url.trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(crate::AppError::Setup(format!(
                "public_url {public_url:?}: must start with http:// or https://"
            )));
        }
        Ok(Mailer {
            transport: Transport::new(settings.smtp_url.as_deref(), data_dir)?,
            from,
            public_url,
            queued: tokio::sync::Notify::new(),
        })
    }

    /// The absolute address of a page of this Steward.
    /// Whether mail goes to `mail.log` in the data directory rather than to a server.
    pub(crate) fn writes_to_log(&self) -> bool {
        matches!(self.transport, Transport::Log(_))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}
