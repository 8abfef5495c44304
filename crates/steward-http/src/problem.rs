//! RFC 9457 problem documents: the API's answer to anything that went wrong. An application
//! error's status, type and title come from `classify.rs`, which the console's pages read too.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steward_app::{AppError, FieldError};

use crate::classify::{classify, code_of};

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
    /// With `CUSTOMER_MERGED`: the customer the requested one was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub survivor: Option<uuid::Uuid>,
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
            code: code_of(slug),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: crate::layers::request_id(),
            errors: Vec::new(),
            survivor: None,
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
        let c = classify(e);
        Problem {
            errors: c.errors,
            retry_after: c.retry_after,
            survivor: c.survivor,
            ..Problem::new(c.status, c.slug, c.title, c.detail)
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
