//! Tasks and reminders on a customer, in SQLite.

use super::*;
use crate::TaskRow;
use crate::sql::tasks;

#[async_trait]
impl Tasks for SqliteStore {
    async fn task(&self, id: Uuid) -> Result<Option<TaskRow>> {
        self.read(|c| ready(tasks::task(c, id)))
    }

    async fn customer_tasks(&self, customer: Uuid, limit: usize) -> Result<Vec<TaskRow>> {
        self.read(|c| ready(tasks::of_customer(c, customer, limit)))
    }

    async fn open_tasks_of(&self, owner: Uuid, limit: usize) -> Result<Vec<TaskRow>> {
        self.read(|c| ready(tasks::open_of_owner(c, owner, limit)))
    }
}
