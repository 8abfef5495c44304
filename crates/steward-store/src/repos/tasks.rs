//! Tasks and reminders on a customer. They are written with a change set (`ChangeSet::tasks`
//! and `task_moves`), so a task and its audit entry commit together.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Result, TaskRow};

#[async_trait]
pub trait Tasks: Send + Sync {
    async fn task(&self, id: Uuid) -> Result<Option<TaskRow>>;
    /// A customer's latest `limit` tasks, newest first.
    async fn customer_tasks(&self, customer: Uuid, limit: usize) -> Result<Vec<TaskRow>>;
    /// Up to `limit` open tasks of `owner`, soonest due first, those without a date last.
    async fn open_tasks_of(&self, owner: Uuid, limit: usize) -> Result<Vec<TaskRow>>;
}
