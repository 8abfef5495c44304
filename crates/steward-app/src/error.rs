use steward_core::sharing::Refusal;
use steward_store::StoreError;
use steward_vault::VaultError;

/// A validation problem with one input field. Messages never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request does not say what the data is for: give a purpose")]
    PurposeRequired,
    #[error("purpose {0:?} is not in the catalog")]
    UnknownPurpose(String),
    #[error("role {role} may not use purpose {purpose:?}")]
    PurposeNotAllowed { role: String, purpose: String },
    #[error("{0}")]
    Forbidden(String),
    /// The customer objected to this purpose (Art. 21) and the objection was upheld: their
    /// data is not processed for it any more.
    #[error("the customer objected to purpose {purpose:?} and the objection was upheld")]
    Objected { purpose: String },
    /// Sign-in failed; says nothing about which part was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("too many failed attempts; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    #[error("the input is invalid")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    /// The request does not fit the state the thing is in (a campaign sent already).
    #[error("{0}")]
    Conflict(String),
    /// A record cannot move from the status it is in to the one asked for (a recipient
    /// notice acknowledged before it was sent).
    /// The step rests on a consent the customer has not given, or that has run out: full
    /// personalization without profiling consent.
    #[error("this needs the customer's consent to {purpose}, given and not expired")]
    ConsentRequired { purpose: String },
    #[error("a {what} that is {from} cannot become {to}")]
    TransitionNotAllowed {
        what: &'static str,
        from: String,
        to: String,
    },
    /// A privacy notice cannot be published without a summary for each of these purposes.
    #[error("the notice has no summary for {}", .0.join(", "))]
    NoticeIncomplete(Vec<String>),
    /// An emailed link that works once was used already, or its time ran out.
    #[error("this link was used already or has expired")]
    LinkSpent,
    #[error("the record changed since it was read; reload it and apply the change again")]
    StaleVersion,
    #[error("{field} is already in use by another record")]
    Duplicate { field: String },
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    /// The register does not allow data to go to this vendor, or to where it would go; the
    /// refusal's code names the first reason.
    #[error("{0}")]
    Refused(Refusal),
    /// A legal hold covers the customer: what it covers is kept until it is released, whoever
    /// asks for the erasure (GDPR Art. 17(3)(e)).
    #[error(
        "a legal hold covers this customer: their data is kept until the privacy officer releases the hold"
    )]
    ErasureHeld,
    /// Two customers cannot be merged; the code names why.
    #[error("{}", .0.message())]
    MergeRefused(crate::collection::customers::merge::MergeRefusal),
    /// A campaign cannot be scheduled, unscheduled or test-sent; the code names why.
    #[error("{}", .0.message())]
    CampaignRefused(crate::campaigns::refusal::CampaignRefusal),
    /// The customer was merged into another, which holds their data now.
    #[error("this customer was merged into customer {survivor}")]
    Merged { survivor: uuid::Uuid },
    /// The breach register refuses the step; the code names why.
    #[error("{}", .0.message())]
    BreachRefused(steward_core::breach::BreachRefusal),
    /// A retried create whose customer was erased since: they are not created again.
    #[error(
        "the customer this request created was erased since; sending it again does not bring them back"
    )]
    Erased,
    /// The address belongs to someone erased at their own request.
    #[error(
        "{field} belongs to someone erased at their own request; only they can sign up again, through a sign-up form that confirms the address"
    )]
    Suppressed { field: String },
    /// Two requests with one key ran at once; the loser's changes were not made.
    #[error(
        "another request with this Idempotency-Key was processed at the same time; send it again to receive that answer"
    )]
    IdempotencyConflict,
    /// Stored data failed authentication: it was altered or moved. Never answered with data.
    #[error("stored data for {0} failed its integrity check")]
    Integrity(String),
    /// Steward is set up in a way it cannot work with: a catalog or setting it needs.
    #[error("set-up: {0}")]
    Setup(String),
    /// The master key or the key store cannot be reached; the vault's error is the source.
    #[error("keys: {0}")]
    Keys(#[source] VaultError),
    /// A sealed value could not be opened: altered, moved, or in an unknown format.
    #[error("sealed data: {0}")]
    Sealed(#[source] VaultError),
    /// The database failed, or holds what Steward cannot read; the store's error is the source.
    #[error("storage: {0}")]
    Storage(#[source] StoreError),
    /// Steward broke its own rule: a value of its own it could not encode, or a background
    /// writer that stopped. A bug to report, never the caller's doing.
    #[error("internal: {0}")]
    Internal(String),
    /// Steward could not encode a value of its own.
    #[error("encoding: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("input/output: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV file could not be read or written; the reader's error names the line.
    #[error("CSV: {0}")]
    Csv(#[source] csv::Error),
    /// A file Steward was told to read or write; the operating system's error is the source.
    #[error("{}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Stored data that cannot be read as what it should be.
    pub(crate) fn corrupt(what: impl Into<String>) -> AppError {
        AppError::Storage(StoreError::Corrupt(what.into()))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AppError::StaleVersion,
            StoreError::NotFound => AppError::NotFound,
            StoreError::Duplicate { field } if field == steward_store::IDEMPOTENCY_KEY => {
                AppError::IdempotencyConflict
            }
            StoreError::Duplicate { field } => AppError::Duplicate { field },
            other => AppError::Storage(other),
        }
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::MasterKey { .. } | VaultError::KeyStore(_) | VaultError::UnknownKek(_) => {
                AppError::Keys(e)
            }
            other => AppError::Sealed(other),
        }
    }
}
