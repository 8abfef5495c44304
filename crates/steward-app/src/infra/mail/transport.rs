//! Where messages go: an SMTP server, or the mail log when none is configured.

use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::letter::{Letter, LetterError};
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
            None => Ok(Transport::Log(data_dir.join("mail.log"))),
        }
    }

    /// Where mail goes when no SMTP server is set.
    pub(crate) fn log_path(&self) -> Option<&Path> {
        match self {
            Transport::Log(path) => Some(path),
            Transport::Smtp(_) => None,
        }
    }

    /// Hands a letter over; answers the server's status code (or `logged`).
    pub(crate) async fn send(
        &self,
        letter: &Letter,
        from: &Mailbox,
        id: Uuid,
    ) -> Result<String, SendFailure> {
        let unbuildable = |e: LetterError| SendFailure {
            permanent: true,
            detail: e.to_string(),
        };
        match self {
            Transport::Smtp(smtp) => {
                let message = letter.to_message(from, id).map_err(unbuildable)?;
                Self::smtp_send(smtp, message).await
            }
            Transport::Log(path) => {
                let message = letter.to_readable_message(from, id).map_err(unbuildable)?;
                append_to_log(path, &message)
                    .await
                    .map_err(|e| SendFailure {
                        permanent: false,
                        detail: format!("mail log: {}", e.kind()),
                    })
            }
        }
    }

    async fn smtp_send(
        smtp: &AsyncSmtpTransport<Tokio1Executor>,
        message: Message,
    ) -> Result<String, SendFailure> {
        match smtp.send(message).await {
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
        }
    }
}

/// Appends in mbox form, readable by any mail client and by a person: plain line ends, and a
/// line of the text that starts like an mbox separator quoted with `>`. The file is the
/// operator's alone.
async fn append_to_log(path: &Path, message: &Message) -> std::io::Result<String> {
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    let mut entry = format!("From steward {}\n", jiff::Timestamp::now()).into_bytes();
    let formatted = message.formatted();
    for line in formatted.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"From ") {
            entry.push(b'>');
        }
        entry.extend_from_slice(line);
        entry.push(b'\n');
    }
    entry.push(b'\n');
    file.write_all(&entry).await?;
    file.flush().await?;
    Ok("logged".into())
}
