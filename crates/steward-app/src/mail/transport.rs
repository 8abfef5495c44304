//! Where messages go: an SMTP server, or the mail log when none is configured.

use std::path::{Path, PathBuf};

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;

use crate::AppError;

pub(crate) enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log(PathBuf),
}

/// A failed hand-over: whether trying again may help, and a status code or error kind.
#[derive(Debug)]
pub(crate) struct SendFailure {
    pub permanent: bool,
    pub detail: String,
}

impl Transport {
    pub(crate) fn new(smtp_url: Option<&str>, data_dir: &Path) -> Result<Transport, AppError> {
        match smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Transport::Smtp(b.build()))
                // The URL may hold a password: name the setting, not its value.
                .map_err(|e| AppError::Setup(format!("smtp_url: {e}"))),
            None => {
                let path = data_dir.join("mail.log");
                // Messages hold addresses and names: a mail log is for trying Steward out.
                tracing::warn!(
                    path = %path.display(),
                    "no smtp_url: outgoing mail is appended, unencrypted, to this file"
                );
                Ok(Transport::Log(path))
            }
        }
    }

    /// Hands a message over; answers the server's status code (or `logged`).
    pub(crate) async fn send(&self, message: &Message) -> Result<String, SendFailure> {
        match self {
            Transport::Smtp(smtp) => match smtp.send(message.clone()).await {
                Ok(response) => Ok(response.code().to_string()),
                Err(e) => Err(SendFailure {
                    permanent: e.is_permanent() || e.is_client(),
                    detail: match e.status() {
                        Some(code) => code.to_string(),
                        None if e.is_timeout() => "timeout".into(),
                        None if e.is_tls() => "tls".into(),
                        None => "connection".into(),
                    },
                }),
            },
            Transport::Log(path) => append_to_log(path, message).await.map_err(|e| SendFailure {
                permanent: false,
                detail: format!("mail log: {}", e.kind()),
            }),
        }
    }
}

/// Appends in mbox form, readable by any mail client; the file is the operator's alone.
async fn append_to_log(path: &Path, message: &Message) -> std::io::Result<String> {
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    let mut entry = format!("From steward {}\n", jiff::Timestamp::now()).into_bytes();
    entry.extend(message.formatted());
    entry.extend(b"\n\n");
    file.write_all(&entry).await?;
    file.flush().await?;
    Ok("logged".into())
}
