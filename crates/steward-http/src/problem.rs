//! RFC 9457 problem documents, and the one place where application errors become HTTP.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steward_app::{AppError, FieldError};

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type", serialize_with = "problem_type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    #[schema(value_type = String)]
    pub title: &'static str,
    /// The kind of problem for machines, e.g. `CUSTOMER_ERASED`: the type's last part in
    /// capitals.
    pub code: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub request_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds, sent as `Retry-After` with 429 and 503.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            kind: slug,
            title,
            code: slug.replace('-', "_").to_ascii_uppercase(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: crate::layers::request_id(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem {
            errors: vec![FieldError::new(field, message.clone())],
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                message,
            )
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Problem {
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Invalid input",
                "one or more fields are invalid; see errors",
            )
        }
    }

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }
}

fn problem_type<S: serde::Serializer>(slug: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("urn:steward:problem:{slug}"))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(&self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after
            && let Ok(v) = header::HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        use StatusCode as S;
        match e {
            AppError::PurposeRequired => Problem {
                errors: vec![FieldError::new(
                    "X-Purpose",
                    "state the purpose of this access",
                )],
                ..Problem::new(
                    S::BAD_REQUEST,
                    "purpose-required",
                    "Purpose required",
                    e.to_string(),
                )
            },
            AppError::UnknownPurpose(_) => Problem {
                errors: vec![FieldError::new(
                    "X-Purpose",
                    "is not a purpose of the catalog",
                )],
                ..Problem::new(
                    S::BAD_REQUEST,
                    "unknown-purpose",
                    "Unknown purpose",
                    e.to_string(),
                )
            },
            AppError::PurposeNotAllowed { .. } => Problem::new(
                S::FORBIDDEN,
                "purpose-not-allowed",
                "Purpose not allowed",
                e.to_string(),
            ),
            AppError::Forbidden(detail) => {
                Problem::new(S::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            AppError::Unauthenticated(detail) => {
                Problem::new(S::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
            }
            AppError::TooManyAttempts { retry_after } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new(
                    S::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many attempts",
                    e.to_string(),
                )
            },
            AppError::Invalid(errors) => Problem::invalid(errors),
            AppError::NoticeIncomplete(ref missing) => Problem {
                errors: missing
                    .iter()
                    .map(|p| {
                        FieldError::new(
                            format!("summaries.{p}"),
                            "needs a summary: a published notice covers every purpose of the catalog",
                        )
                    })
                    .collect(),
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "notice-incomplete",
                    "Notice incomplete",
                    e.to_string(),
                )
            },
            AppError::NotFound => {
                Problem::new(S::NOT_FOUND, "not-found", "Not found", "no such record")
            }
            AppError::Conflict(detail) => Problem::new(S::CONFLICT, "conflict", "Conflict", detail),
            AppError::LinkSpent => {
                Problem::new(S::GONE, "link-spent", "Link no longer works", e.to_string())
            }
            AppError::StaleVersion => Problem::new(
                S::PRECONDITION_FAILED,
                "stale-version",
                "Edit conflict",
                e.to_string(),
            ),
            AppError::IdempotencyMismatch => Problem {
                errors: vec![FieldError::new(
                    "Idempotency-Key",
                    "was already used for a different request",
                )],
                ..Problem::new(
                    S::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                    e.to_string(),
                )
            },
            AppError::Erased => {
                Problem::new(S::GONE, "customer-erased", "Customer erased", e.to_string())
            }
            AppError::Suppressed { ref field } => Problem {
                errors: vec![FieldError::new(
                    field.clone(),
                    "belongs to someone erased at their own request",
                )],
                ..Problem::new(
                    S::CONFLICT,
                    "subject-erased",
                    "Erased at their request",
                    e.to_string(),
                )
            },
            AppError::IdempotencyConflict => Problem::new(
                S::CONFLICT,
                "idempotency-conflict",
                "Request in progress",
                e.to_string(),
            ),
            AppError::Duplicate { ref field } => Problem {
                errors: vec![FieldError::new(field.clone(), "is already in use")],
                ..Problem::new(S::CONFLICT, "duplicate", "Already exists", e.to_string())
            },
            other => {
                // The cause goes to the log (it names no personal value); the client gets a
                // generic answer that reveals nothing of the store or the vault.
                tracing::error!(error = %other, "request failed");
                let detail = match other {
                    AppError::Integrity(_) => "stored data failed its integrity check",
                    _ => "the server could not complete the request",
                };
                Problem::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    detail,
                )
            }
        }
    }
}

pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such route",
    )
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not accept that method",
    )
}
