//! What each application error means at the edge: its status, its code, its titles, the
//! fields it is about, and what a person is told. The API's problem documents (`problem.rs`)
//! and the console's error pages (`console/errors.rs`) both read this one table, so an error
//! is answered with the same status whichever edge it reaches. The match names every variant:
//! a new one does not compile until it is placed here.

use axum::http::StatusCode;
use steward_app::core::breach::BreachRefusal;
use steward_app::core::sharing::{Refusal, RefusalCode};
use steward_app::{AppError, CampaignRefusal, FieldError, MergeRefusal};

/// An application error as the edge answers it.
#[derive(Debug)]
pub struct Classified {
    pub status: StatusCode,
    /// The problem type's last part, such as `customer-erased`; the code is the same in
    /// capitals with underscores.
    pub slug: &'static str,
    /// The problem document's title.
    pub title: &'static str,
    /// The error page's heading, in the console's words.
    pub heading: &'static str,
    /// What a program is told. It never carries a store's or the vault's own text.
    pub detail: String,
    /// What a person reading an error page is told.
    pub explanation: String,
    /// The inputs the error is about.
    pub errors: Vec<FieldError>,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// The customer a merged-away id points to.
    pub survivor: Option<uuid::Uuid>,
}

impl Classified {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        heading: &'static str,
        detail: impl Into<String>,
    ) -> Classified {
        let detail = detail.into();
        Classified {
            status,
            slug,
            title,
            heading,
            explanation: capitalised(&detail),
            detail,
            errors: Vec::new(),
            retry_after: None,
            survivor: None,
        }
    }

    fn about(mut self, field: impl Into<String>, message: impl Into<String>) -> Classified {
        self.errors.push(FieldError::new(field, message));
        self
    }

    fn explained(mut self, explanation: impl Into<String>) -> Classified {
        self.explanation = explanation.into();
        self
    }
}

/// A problem type's code for machines, such as `CUSTOMER_ERASED`.
pub fn code_of(slug: &str) -> String {
    slug.replace('-', "_").to_ascii_uppercase()
}

pub fn classify(e: AppError) -> Classified {
    use StatusCode as S;
    let said = e.to_string();
    match e {
        AppError::PurposeRequired => Classified::new(
            S::BAD_REQUEST,
            "purpose-required",
            "Purpose required",
            "Not allowed",
            said,
        )
        .about("X-Purpose", "state the purpose of this access"),
        AppError::UnknownPurpose(_) => Classified::new(
            S::BAD_REQUEST,
            "unknown-purpose",
            "Unknown purpose",
            "Not allowed",
            said,
        )
        .about("X-Purpose", "is not a purpose of the catalog"),
        AppError::PurposeNotAllowed { .. } => Classified::new(
            S::FORBIDDEN,
            "purpose-not-allowed",
            "Purpose not allowed",
            "Not allowed",
            said,
        ),
        AppError::Forbidden(detail) => Classified::new(
            S::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "Not allowed",
            detail,
        ),
        AppError::Objected { .. } => Classified::new(
            S::FORBIDDEN,
            "objected",
            "Objected to",
            "Not allowed",
            said,
        )
        .explained(
            "The customer objected to this purpose and the objection was upheld: their record is not used for it.",
        ),
        AppError::Unauthenticated(detail) => Classified::new(
            S::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "Not signed in",
            detail,
        ),
        AppError::TooManyAttempts { retry_after } => Classified {
            retry_after: Some(retry_after),
            ..Classified::new(
                S::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "Too many attempts",
                "Too many attempts",
                said,
            )
        },
        AppError::Invalid(errors) => Classified {
            explanation: errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            errors,
            ..Classified::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid",
                "Invalid input",
                "Invalid input",
                "one or more fields are invalid; see errors",
            )
        },
        AppError::NoticeIncomplete(missing) => Classified {
            errors: missing
                .iter()
                .map(|p| {
                    FieldError::new(
                        format!("summaries.{p}"),
                        "needs a summary: a published notice covers every purpose of the catalog",
                    )
                })
                .collect(),
            ..Classified::new(
                S::UNPROCESSABLE_ENTITY,
                "notice-incomplete",
                "Notice incomplete",
                "Notice incomplete",
                said.clone(),
            )
        }
        .explained(format!(
            "Not published: {said}. A published notice covers every purpose of the catalog; draft a version with a summary for each."
        )),
        AppError::NotFound => Classified::new(
            S::NOT_FOUND,
            "not-found",
            "Not found",
            "Not found",
            "no such record",
        )
        .explained("There is no such record (it may have been erased)."),
        AppError::Conflict(detail) => {
            Classified::new(S::CONFLICT, "conflict", "Conflict", "Not done", detail)
        }
        AppError::ConsentRequired { purpose } => Classified::new(
            S::CONFLICT,
            "consent-required",
            "Consent required",
            "Not done",
            said,
        )
        .about(
            purpose,
            "needs the customer's consent, given and not expired",
        ),
        AppError::TransitionNotAllowed { .. } => Classified::new(
            S::CONFLICT,
            "transition-not-allowed",
            "Transition not allowed",
            "Not done",
            said,
        ),
        AppError::LinkSpent => Classified::new(
            S::GONE,
            "link-spent",
            "Link no longer works",
            "Gone",
            said,
        ),
        AppError::StaleVersion => Classified::new(
            S::PRECONDITION_FAILED,
            "stale-version",
            "Edit conflict",
            "Changed meanwhile",
            said,
        ),
        AppError::IdempotencyMismatch => Classified::new(
            S::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "Not done",
            said,
        )
        .about(
            "Idempotency-Key",
            "was already used for a different request",
        ),
        AppError::Refused(refusal) => refused(&refusal, said),
        AppError::BreachRefused(refusal) => Classified::new(
            S::CONFLICT,
            breach_refusal_slug(refusal),
            "Refused by the breach register",
            "Not done",
            said,
        ),
        AppError::MergeRefused(refusal) => merge_refused(refusal, said),
        AppError::ErasureHeld => Classified::new(
            S::CONFLICT,
            "erasure-legal-hold",
            "Under a legal hold",
            "Not erased",
            said,
        ),
        AppError::CampaignRefused(refusal) => campaign_refused(refusal, said),
        // 410 with a pointer rather than a redirect: clients follow 307 and 308 on their own,
        // a write with its method and body, so an integration would change or read the
        // survivor believing it addressed the duplicate. Gone says the record it knew ended,
        // and `survivor` where its data lives now, for the client to decide.
        AppError::Merged { survivor } => Classified {
            survivor: Some(survivor),
            ..Classified::new(
                S::GONE,
                "customer-merged",
                "Customer merged into another",
                "Merged",
                said,
            )
        },
        AppError::Erased => Classified::new(
            S::GONE,
            "customer-erased",
            "Customer erased",
            "Gone",
            said,
        ),
        AppError::Suppressed { field } => Classified::new(
            S::CONFLICT,
            "subject-erased",
            "Erased at their request",
            "Not done",
            said,
        )
        .about(field, "belongs to someone erased at their own request"),
        AppError::IdempotencyConflict => Classified::new(
            S::CONFLICT,
            "idempotency-conflict",
            "Request in progress",
            "Not done",
            said,
        ),
        AppError::Duplicate { field } => Classified::new(
            S::CONFLICT,
            "duplicate",
            "Already exists",
            "Not done",
            said,
        )
        .about(field, "is already in use"),
        AppError::Integrity(_) | AppError::Sealed(_) => {
            internal(&said, "stored data failed its integrity check")
        }
        AppError::Setup(_)
        | AppError::Keys(_)
        | AppError::Storage(_)
        | AppError::Internal(_)
        | AppError::Encode(_)
        | AppError::Io(_)
        | AppError::Csv(_)
        | AppError::File { .. } => internal(&said, "the server could not complete the request"),
    }
}

/// Data the vendor register does not let go where it would: nothing was sent, and sending it
/// again changes nothing until the register does, so the state conflicts with the request.
/// The problem's code is the refusal's, such as `NO_TRANSFER_MECHANISM`.
fn refused(refusal: &Refusal, said: String) -> Classified {
    let (slug, title) = refusal_type(refusal.code());
    let classified = Classified::new(StatusCode::CONFLICT, slug, title, "Not allowed", said);
    match refusal.field() {
        Some(field) => classified.about(field, "is not in a data category the agreement covers"),
        None => classified,
    }
}

/// The problem type of each breach refusal, whose code is the refusal's own.
fn breach_refusal_slug(refusal: BreachRefusal) -> &'static str {
    match refusal {
        BreachRefusal::EncryptionExemptionUnavailable => "encryption-exemption-unavailable",
        BreachRefusal::CustomersNotToBeTold => "customers-not-to-be-told",
        BreachRefusal::NoAffectedCustomers => "no-affected-customers",
        BreachRefusal::BreachClosed => "breach-closed",
        BreachRefusal::NoBreachPlan => "no-breach-plan",
    }
}

/// The problem type and title of each refusal code.
fn refusal_type(code: RefusalCode) -> (&'static str, &'static str) {
    match code {
        RefusalCode::VendorNotActive => ("vendor-not-active", "Vendor not in good standing"),
        RefusalCode::DpaMissing => ("dpa-missing", "No processing contract in force"),
        RefusalCode::ReviewOverdue => ("review-overdue", "Vendor review overdue"),
        RefusalCode::NoAgreement => ("no-agreement", "No agreement in force"),
        RefusalCode::AgreementExpired => ("agreement-expired", "Agreement ended"),
        RefusalCode::PurposeNotAgreed => ("purpose-not-agreed", "Purpose not agreed"),
        RefusalCode::CategoryNotAgreed => ("category-not-agreed", "Data category not agreed"),
        RefusalCode::NoTransferMechanism => ("no-transfer-mechanism", "No transfer mechanism"),
        RefusalCode::SccModuleMismatch => ("scc-module-mismatch", "Clauses of the wrong module"),
        RefusalCode::TiaStale => ("tia-stale", "Transfer impact assessment due again"),
        RefusalCode::DpfInactive => (
            "dpf-inactive",
            "Not certified under the Data Privacy Framework",
        ),
    }
}

/// The cause goes to the log (it names no personal value); the client gets a generic answer
/// that reveals nothing of the store or the vault.
fn internal(cause: &str, detail: &'static str) -> Classified {
    tracing::error!(error = %cause, "request failed");
    Classified::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "Something went wrong",
        detail,
    )
    .explained("The server could not complete the request.")
}

/// The problem's code is the refusal's, such as `SCHEDULE_IN_PAST`.
fn campaign_refused(refusal: CampaignRefusal, said: String) -> Classified {
    let new = |status, slug, title| Classified::new(status, slug, title, "Not done", said.clone());
    match refusal {
        CampaignRefusal::ScheduleInPast => new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "schedule-in-past",
            "Scheduled time has passed",
        )
        .about("scheduled_at", "must be in the future"),
        CampaignRefusal::NotDraft => new(
            StatusCode::CONFLICT,
            "campaign-not-draft",
            "Campaign is no draft",
        ),
        CampaignRefusal::NotScheduled => new(
            StatusCode::CONFLICT,
            "campaign-not-scheduled",
            "Campaign is not scheduled",
        ),
        CampaignRefusal::NoOwnAddress => new(
            StatusCode::FORBIDDEN,
            "no-own-address",
            "No address of your own",
        ),
        CampaignRefusal::TestSendLimit { retry_after } => Classified {
            retry_after: Some(retry_after),
            ..new(
                StatusCode::TOO_MANY_REQUESTS,
                "test-send-limit",
                "Too many test sends",
            )
        },
    }
}

fn merge_refused(refusal: MergeRefusal, said: String) -> Classified {
    match refusal {
        MergeRefusal::SameCustomer => Classified::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "merge-same-customer",
            "Same customer",
            "Not done",
            said,
        )
        .about("merge", "is the survivor itself"),
        MergeRefusal::LegalHold => Classified::new(
            StatusCode::CONFLICT,
            "merge-legal-hold",
            "Under a legal hold",
            "Not done",
            said,
        ),
        MergeRefusal::OpenRequest => Classified::new(
            StatusCode::CONFLICT,
            "merge-open-request",
            "A rights request is open",
            "Not done",
            said,
        ),
    }
}

/// A message as a sentence: a capital first and a full stop last.
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let text = first.to_uppercase().chain(chars).collect::<String>();
            if text.ends_with('.') {
                text
            } else {
                text + "."
            }
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;
    use crate::Problem;
    use crate::console::ConsoleError;
    use steward_store::StoreError;

    /// One error of every variant. `variant` below matches them all, so a new variant
    /// fails to compile until it is added here too.
    fn every_error() -> Vec<AppError> {
        vec![
            AppError::PurposeRequired,
            AppError::UnknownPurpose("astrology".into()),
            AppError::PurposeNotAllowed {
                role: "marketer".into(),
                purpose: "support".into(),
            },
            AppError::Forbidden("not for this role".into()),
            AppError::Objected {
                purpose: "analytics.reporting".into(),
            },
            AppError::Unauthenticated("wrong email or password".into()),
            AppError::TooManyAttempts { retry_after: 30 },
            AppError::invalid("email", "is not an email address"),
            AppError::NotFound,
            AppError::Conflict("the campaign was sent already".into()),
            AppError::TransitionNotAllowed {
                what: "recipient notice",
                from: "pending".into(),
                to: "acknowledged".into(),
            },
            AppError::NoticeIncomplete(vec!["marketing".into()]),
            AppError::ConsentRequired {
                purpose: "personalize.content.profiled".into(),
            },
            AppError::LinkSpent,
            AppError::StaleVersion,
            AppError::Duplicate {
                field: "email".into(),
            },
            AppError::IdempotencyMismatch,
            AppError::Refused(Refusal::NoAgreement { starts_on: None }),
            AppError::BreachRefused(BreachRefusal::NoAffectedCustomers),
            AppError::Erased,
            AppError::MergeRefused(MergeRefusal::SameCustomer),
            AppError::MergeRefused(MergeRefusal::LegalHold),
            AppError::MergeRefused(MergeRefusal::OpenRequest),
            AppError::ErasureHeld,
            AppError::CampaignRefused(CampaignRefusal::ScheduleInPast),
            AppError::CampaignRefused(CampaignRefusal::NotDraft),
            AppError::CampaignRefused(CampaignRefusal::NotScheduled),
            AppError::CampaignRefused(CampaignRefusal::NoOwnAddress),
            AppError::CampaignRefused(CampaignRefusal::TestSendLimit { retry_after: 60 }),
            AppError::Merged {
                survivor: uuid::Uuid::nil(),
            },
            AppError::Suppressed {
                field: "email".into(),
            },
            AppError::IdempotencyConflict,
            AppError::Integrity("customer".into()),
            AppError::Setup("no key".into()),
            AppError::Storage(StoreError::Database("connection lost".into())),
            AppError::Internal("the audit commit was abandoned".into()),
            AppError::Io(std::io::Error::other("disk full")),
            AppError::Keys(steward_vault::VaultError::UnknownKek(2)),
            AppError::Sealed(steward_vault::VaultError::Tampered),
            AppError::Encode(serde_json::Error::io(std::io::Error::other("full"))),
            AppError::Csv(csv::Error::from(std::io::Error::other("gone"))),
            AppError::File {
                path: "export.csv".into(),
                source: std::io::Error::other("read-only"),
            },
        ]
    }

    fn variant(e: &AppError) -> usize {
        match e {
            AppError::PurposeRequired => 0,
            AppError::UnknownPurpose(_) => 1,
            AppError::PurposeNotAllowed { .. } => 2,
            AppError::Forbidden(_) => 3,
            AppError::Unauthenticated(_) => 4,
            AppError::TooManyAttempts { .. } => 5,
            AppError::Invalid(_) => 6,
            AppError::NotFound => 7,
            AppError::Conflict(_) => 8,
            AppError::NoticeIncomplete(_) => 9,
            AppError::LinkSpent => 10,
            AppError::StaleVersion => 11,
            AppError::Duplicate { .. } => 12,
            AppError::IdempotencyMismatch => 13,
            AppError::Erased => 14,
            AppError::Suppressed { .. } => 15,
            AppError::IdempotencyConflict => 16,
            AppError::Integrity(_) => 17,
            AppError::Setup(_) => 18,
            AppError::Storage(_) => 19,
            AppError::Internal(_) => 20,
            AppError::Io(_) => 21,
            AppError::Keys(_) => 22,
            AppError::Sealed(_) => 23,
            AppError::Encode(_) => 24,
            AppError::Csv(_) => 25,
            AppError::File { .. } => 26,
            AppError::Refused(_) => 27,
            AppError::TransitionNotAllowed { .. } => 28,
            AppError::BreachRefused(_) => 29,
            AppError::Objected { .. } => 30,
            AppError::ConsentRequired { .. } => 31,
            AppError::MergeRefused(_) => 32,
            AppError::Merged { .. } => 33,
            AppError::CampaignRefused(_) => 34,
            AppError::ErasureHeld => 35,
        }
    }

    #[test]
    fn every_variant_is_constructed() {
        let mut seen: Vec<usize> = every_error().iter().map(variant).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..=35).collect::<Vec<_>>());
    }

    #[test]
    fn a_refusal_is_answered_with_its_own_code() {
        for code in RefusalCode::ALL {
            assert_eq!(code_of(refusal_type(code).0), code.as_str());
        }
        let category = classify(AppError::Refused(Refusal::CategoryNotAgreed {
            field: "phone".into(),
            category: "user.contact.phone_number".into(),
        }));
        assert_eq!(category.status, StatusCode::CONFLICT);
        assert_eq!(code_of(category.slug), "CATEGORY_NOT_AGREED");
        assert_eq!(category.errors[0].field, "phone");
    }

    #[test]
    fn a_campaign_refusal_is_answered_with_its_own_code() {
        for refusal in [
            CampaignRefusal::ScheduleInPast,
            CampaignRefusal::NotDraft,
            CampaignRefusal::NotScheduled,
            CampaignRefusal::NoOwnAddress,
            CampaignRefusal::TestSendLimit { retry_after: 1 },
        ] {
            let classified = classify(AppError::CampaignRefused(refusal));
            assert_eq!(code_of(classified.slug), refusal.code());
        }
    }

    #[test]
    fn a_breach_refusal_is_answered_with_its_own_code() {
        for refusal in BreachRefusal::ALL {
            let classified = classify(AppError::BreachRefused(*refusal));
            assert_eq!(classified.status, StatusCode::CONFLICT);
            assert_eq!(code_of(classified.slug), refusal.as_str());
        }
    }

    #[test]
    fn the_api_and_the_console_answer_every_error_with_the_same_status() {
        for (json, html) in every_error().into_iter().zip(every_error()) {
            let what = format!("{json:?}");
            let problem = Problem::from(json).into_response();
            let page = ConsoleError::App(html).into_response();
            assert_eq!(problem.status(), page.status(), "{what}");
        }
    }

    #[test]
    fn only_failures_of_the_server_are_server_errors() {
        for e in every_error() {
            let internal = matches!(
                e,
                AppError::Integrity(_)
                    | AppError::Setup(_)
                    | AppError::Storage(_)
                    | AppError::Internal(_)
                    | AppError::Io(_)
                    | AppError::Keys(_)
                    | AppError::Sealed(_)
                    | AppError::Encode(_)
                    | AppError::Csv(_)
                    | AppError::File { .. }
            );
            let what = format!("{e:?}");
            let classified = classify(e);
            assert_eq!(
                classified.status.is_server_error(),
                internal,
                "{what}: {}",
                classified.status
            );
        }
    }

    #[test]
    fn what_the_server_failed_at_is_never_told() {
        let classified = classify(AppError::Storage(StoreError::Database(
            "relation customers is broken".into(),
        )));
        assert!(!classified.detail.contains("customers"));
        assert!(!classified.explanation.contains("customers"));
    }
}
