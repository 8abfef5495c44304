//! Global Privacy Control: a browser that sends `Sec-GPC: 1` asks that its user's data be
//! neither sold nor shared. Every edge reads the signal through this one extractor.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Whether the request carries `Sec-GPC: 1`; any other value is no signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpc(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Gpc {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Gpc, Infallible> {
        Ok(Gpc(parts
            .headers
            .get("sec-gpc")
            .is_some_and(|v| v.as_bytes() == b"1")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(value: Option<&'static str>) -> bool {
        let mut request = axum::http::Request::builder();
        if let Some(v) = value {
            request = request.header("Sec-GPC", v);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        let Ok(Gpc(on)) = Gpc::from_request_parts(&mut parts, &()).await;
        on
    }

    #[tokio::test]
    async fn only_the_value_one_is_a_signal() {
        assert!(read(Some("1")).await);
        assert!(!read(Some("0")).await);
        assert!(!read(Some(" 1")).await);
        assert!(!read(None).await);
    }
}
