use uuid::Uuid;

use crate::{Erasure, InteractionRow, TaskRow};

/// A duplicate customer merged into another, and what commits with it.
#[derive(Debug, Clone)]
pub struct Merge {
    /// The customer that holds the merged-away one's data from now on.
    pub survivor: Uuid,
    /// The merged-away customer's version as read: if it moved on since, nothing is applied
    /// and the merge fails with `Conflict`.
    pub merged_version: i64,
    /// The merged-away customer's interactions, sealed again under the survivor's key: the
    /// same ids, now the survivor's. One added since they were read fails the merge with
    /// `Conflict` rather than being erased with its customer.
    pub moved: Vec<InteractionRow>,
    /// The merged-away customer's tasks, their titles sealed again under the survivor's key,
    /// checked like its interactions.
    pub moved_tasks: Vec<TaskRow>,
    /// The merged-away customer's erasure; its change set holds the survivor's update, its
    /// consent events and the audit entries.
    pub erasure: Erasure,
}
