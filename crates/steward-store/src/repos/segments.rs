//! Saved segments and the customers they hold.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{CustomerRow, Result, SegmentQuery, SegmentRow};

#[async_trait]
pub trait Segments: Send + Sync {
    /// How many customers a segment (or audience) holds.
    async fn count_segment(&self, query: &SegmentQuery) -> Result<u64>;
    /// A page of a segment's members, by id, after `after`.
    async fn segment_page(
        &self,
        query: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>>;
    /// Saves a segment; its name must be new.
    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()>;
    /// Every segment, by name.
    async fn segments(&self) -> Result<Vec<SegmentRow>>;
    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>>;
}
