//! Request parts parsed into checked values, each failure answered with a problem that names
//! the part at fault.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::Problem;

/// A JSON body.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => {
            Problem::bad_request("body", format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Invalid input",
            e.body_text(),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                format!(
                    "the body may be at most {} bytes",
                    crate::layers::MAX_BODY_BYTES
                ),
            )
        }
        other => Problem::bad_request("body", other.body_text()),
    }
}

/// Query parameters.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Params(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(Problem::bad_request("query", e.body_text()))
            }
            Err(other) => Err(Problem::bad_request("query", other.body_text())),
        }
    }
}

pub fn parse_id(raw: &str) -> Result<Uuid, Problem> {
    parse_id_of("id", raw)
}

/// An id given in the part named `field`.
pub fn parse_id_of(field: &str, raw: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| Problem::bad_request(field, "is not an id (a UUID)"))
}

pub fn parse_limit(raw: Option<&str>) -> Result<Option<usize>, Problem> {
    raw.map(|l| {
        l.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Problem::bad_request("limit", "must be a whole number from 1 to 500"))
    })
    .transpose()
}

/// A page number, from 1.
pub fn parse_page(raw: Option<&str>) -> Result<Option<usize>, Problem> {
    raw.map(|p| {
        p.parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| Problem::bad_request("page", "must be a whole number from 1"))
    })
    .transpose()
}

pub fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<jiff::Timestamp>, Problem> {
    raw.map(|t| {
        t.parse::<jiff::Timestamp>().map_err(|_| {
            Problem::bad_request(
                field,
                "must be an RFC 3339 time such as 2026-01-31T12:00:00Z",
            )
        })
    })
    .transpose()
}

/// `If-Match: "N"` → N. Updates must say which version they change.
pub fn if_match(parts: &axum::http::HeaderMap) -> Result<i64, Problem> {
    let value = parts.get(axum::http::header::IF_MATCH).ok_or_else(|| {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "If-Match required",
            "send If-Match with the ETag of the version you are changing",
        )
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            Problem::bad_request(
                "If-Match",
                "must be an ETag this API returned, such as \"3\"",
            )
        })
}

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The optional `Idempotency-Key` header of a POST that creates something.
pub fn idempotency_key(
    headers: &axum::http::HeaderMap,
) -> Result<Option<steward_app::IdempotencyKey>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| Problem::bad_request(IDEMPOTENCY_KEY, "must be visible ASCII characters"))?;
    steward_app::IdempotencyKey::parse(raw)
        .map(Some)
        .map_err(|e| match e {
            steward_app::AppError::Invalid(mut errors) if !errors.is_empty() => {
                Problem::bad_request(IDEMPOTENCY_KEY, errors.swap_remove(0).message)
            }
            other => Problem::from(other),
        })
}

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Marks an answer that was kept from the first time the request was sent.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";
