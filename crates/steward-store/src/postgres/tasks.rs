//! Tasks and reminders on a customer, in PostgreSQL.

use super::*;
use crate::TaskRow;
use crate::sql::tasks;

#[async_trait]
impl Tasks for PostgresStore {
    async fn task(&self, id: Uuid) -> Result<Option<TaskRow>> {
        tasks::task(&self.pool.get().await?, id).await
    }

    async fn customer_tasks(&self, customer: Uuid, limit: usize) -> Result<Vec<TaskRow>> {
        tasks::of_customer(&self.pool.get().await?, customer, limit).await
    }

    async fn open_tasks_of(&self, owner: Uuid, limit: usize) -> Result<Vec<TaskRow>> {
        tasks::open_of_owner(&self.pool.get().await?, owner, limit).await
    }
}
