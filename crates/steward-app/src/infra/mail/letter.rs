//! A message as the outbox keeps it (sealed with the customer's data key), and as it is
//! put on the wire.

use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, Message};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The one-click unsubscribe address (RFC 8058) that marketing mail carries.
    pub unsubscribe: Option<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, BoxError> {
        Ok(ListUnsubscribe(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .into(),
        ))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// Tells mail clients that a POST to the List-Unsubscribe address unsubscribes at once.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, BoxError> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// Why a letter could not be put on the wire; names no address.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LetterError {
    #[error("the recipient address is not valid")]
    Recipient,
    #[error("the message could not be built")]
    Build,
}

impl Letter {
    /// The message for the wire; lettre chooses the transfer encoding, quoted-printable for
    /// long lines or text beyond ASCII.
    pub(crate) fn to_message(&self, from: &Mailbox, id: Uuid) -> Result<Message, LetterError> {
        self.message(from, id, Body::new(self.text.clone()))
    }

    /// The message as the mail log keeps it: the text as written (8bit, or binary for lines
    /// longer than mail allows), so that a person reading the file sees every link whole.
    pub(crate) fn to_readable_message(
        &self,
        from: &Mailbox,
        id: Uuid,
    ) -> Result<Message, LetterError> {
        let body = Body::new_with_encoding(self.text.clone(), ContentTransferEncoding::EightBit)
            .or_else(|text| Body::new_with_encoding(text, ContentTransferEncoding::Binary))
            .map_err(|_| LetterError::Build)?;
        self.message(from, id, body)
    }

    fn message(&self, from: &Mailbox, id: Uuid, body: Body) -> Result<Message, LetterError> {
        let to: Mailbox = self.to.parse().map_err(|_| LetterError::Recipient)?;
        let domain = from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(format!("<{id}@{domain}>")))
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = &self.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(url.clone()))
                .header(ListUnsubscribePost);
        }
        builder.body(body).map_err(|_| LetterError::Build)
    }
}
