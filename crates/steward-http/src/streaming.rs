//! Response bodies produced a page at a time by a task running a page or two ahead of the
//! client, so memory stays flat however large the answer is.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use steward_app::{SubjectExport, SubjectFormat};

use crate::AppState;

/// Pages of a body, as the response reads them.
pub(crate) struct Pages(pub tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);

impl futures_core::Stream for Pages {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A person's export as a download, streamed.
pub(crate) fn subject_export(
    state: AppState,
    mut export: SubjectExport,
    format: SubjectFormat,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        loop {
            let chunk = match state.app.rights().export_chunk(&mut export).await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "a subject export stopped");
                    Err(std::io::Error::other("the export stopped"))
                }
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    let mut response = axum::body::Body::from_stream(Pages(rx)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!("attachment; filename=\"my-data.{}\"", format.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
