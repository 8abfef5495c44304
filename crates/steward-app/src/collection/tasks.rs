//! Tasks and reminders on a customer: a title, an optional due date, an owner among the
//! staff, and who closed it when. A title is personal free text ("call Anna about her
//! divorce"), sealed under the customer's key like an interaction's summary, so erasing the
//! customer shreds it and a merge seals it again under the survivor's key. Reading one goes
//! through the same gate as reading the customer, and every read and change is audited.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use steward_store::{ChangeSet, CustomerRow, TaskMove, TaskRow};
use steward_vault::DataKey;
use uuid::Uuid;

use crate::collection::customers::unwrap_stored;
use crate::collection::interactions::check_purpose;
use crate::security::staff::{user_of, who};
use crate::services::Tasks;
use crate::{Access, AppError, FieldError, Steward};

pub const MAX_TITLE: usize = 200;
/// A customer's card and a staff member's list are pages, never a whole history.
const DEFAULT_TASKS: usize = 50;
const MAX_TASKS: usize = 200;

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskInput {
    pub title: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
    /// The staff account it is for; the one who makes it when absent.
    #[serde(default)]
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<String>,
    pub owner: Uuid,
    /// The owner's display name.
    pub owner_name: String,
    /// Who made it, in words.
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub done_at: Option<Timestamp>,
    /// Who marked it done, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
}

/// One of a staff member's open tasks, with the customer it is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyTask {
    #[serde(flatten)]
    pub task: TaskView,
    /// The customer's name as the reading purpose may see it.
    pub customer_name: String,
    pub overdue: bool,
}

fn seal_key(id: Uuid) -> String {
    format!("task/{id}/title")
}

fn check_title(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let title = raw.trim();
    if title.is_empty() {
        errors.push(FieldError::new("title", "must not be empty"));
    }
    if title.chars().count() > MAX_TITLE {
        errors.push(FieldError::new(
            "title",
            format!("is longer than {MAX_TITLE} characters"),
        ));
    }
    if title.chars().any(char::is_control) {
        errors.push(FieldError::new("title", "contains control characters"));
    }
    title.to_string()
}

fn limit_of(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_TASKS).clamp(1, MAX_TASKS)
}

impl Steward {
    /// The customer, if the access may read their record: the gate every task read and
    /// change passes.
    pub(crate) async fn task_customer(
        &self,
        access: &Access,
        id: Uuid,
    ) -> Result<CustomerRow, AppError> {
        access.require_record_access()?;
        check_purpose(access)?;
        let Some(row) = self.store.get_customer(id).await? else {
            return Err(self.missing(id).await);
        };
        self.ensure_processable(access, &row).await?;
        Ok(row)
    }

    pub(crate) fn open_task(
        &self,
        dek: &DataKey,
        row: &TaskRow,
        names: &HashMap<Uuid, String>,
    ) -> Result<TaskView, AppError> {
        let title = dek
            .open_string(&seal_key(row.id), &row.sealed)
            .map_err(|_| AppError::Integrity(format!("task {}", row.id)))?;
        let at = steward_core::clock::from_micros;
        Ok(TaskView {
            id: row.id,
            customer_id: row.customer_id,
            title,
            due_on: row.due_on.clone(),
            owner: row.owner_id,
            owner_name: names
                .get(&row.owner_id)
                .cloned()
                .unwrap_or_else(|| format!("user:{}", row.owner_id)),
            created_by: who(&row.created_by, names),
            created_at: at(row.created_at),
            done_at: row.done_at.map(at),
            done_by: row.done_by.as_deref().map(|a| who(a, names)),
        })
    }

    /// The names of everyone `rows` name, in one read.
    pub(crate) async fn task_names(
        &self,
        rows: &[TaskRow],
    ) -> Result<HashMap<Uuid, String>, AppError> {
        let owners: Vec<String> = rows
            .iter()
            .map(|r| format!("user:{}", r.owner_id))
            .collect();
        let actors = (rows.iter())
            .flat_map(|r| std::iter::once(r.created_by.as_str()).chain(r.done_by.as_deref()))
            .chain(owners.iter().map(String::as_str));
        self.staff_names(actors).await
    }

    /// The task as another customer's, its title opened with the key it was sealed under
    /// and sealed again under `to`: what a merge moves.
    pub(crate) fn reseal_task(
        &self,
        row: &TaskRow,
        from: &DataKey,
        to: &DataKey,
        customer: Uuid,
    ) -> Result<TaskRow, AppError> {
        let key = seal_key(row.id);
        let plain = from
            .open(&key, &row.sealed)
            .map_err(|_| AppError::Integrity(format!("task {}", row.id)))?;
        Ok(TaskRow {
            customer_id: customer,
            sealed: to.seal(&key, &plain),
            ..row.clone()
        })
    }

    async fn move_task(&self, access: &Access, id: Uuid, done: bool) -> Result<TaskView, AppError> {
        let row = self.store.task(id).await?.ok_or(AppError::NotFound)?;
        self.task_customer(access, row.customer_id).await?;
        if row.done_at.is_some() == done {
            return Err(AppError::Conflict(
                if done {
                    "the task is done already"
                } else {
                    "the task is open"
                }
                .into(),
            ));
        }
        let now = self.clock.now().as_microsecond();
        let by = access.actor.id.clone();
        let moved = TaskRow {
            done_at: done.then_some(now),
            done_by: done.then(|| by.clone()),
            ..row
        };
        let action = if done { "task.done" } else { "task.reopen" };
        let audit = self.access_record(
            access,
            action,
            vec![moved.customer_id.to_string(), id.to_string()],
            vec!["title".into()],
        );
        let dek = self.data_key(moved.customer_id).await?;
        let names = self.task_names(std::slice::from_ref(&moved)).await?;
        let view = self.open_task(&dek, &moved, &names)?;
        self.store
            .apply(ChangeSet {
                task_moves: vec![TaskMove {
                    id,
                    done: done.then_some((by, now)),
                }],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(view)
    }
}

impl Tasks<'_> {
    pub async fn add(
        &self,
        access: &Access,
        customer: Uuid,
        input: TaskInput,
    ) -> Result<TaskView, AppError> {
        access.require_record_access()?;
        check_purpose(access)?;
        let mut errors = Vec::new();
        let title = check_title(&input.title, &mut errors);
        let due_on = input
            .due_on
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let due_on = due_on.and_then(|d| {
            d.parse::<Date>()
                .map(|d| d.to_string())
                .map_err(|_| errors.push(FieldError::new("due_on", "give a date as YYYY-MM-DD")))
                .ok()
        });
        let owner = match input.owner.or_else(|| user_of(&access.actor.id)) {
            Some(owner) => {
                let known = self.app.store.display_names(&[owner]).await?;
                if known.is_empty() {
                    errors.push(FieldError::new("owner", "is not a staff account"));
                }
                Some(owner)
            }
            None => {
                errors.push(FieldError::new(
                    "owner",
                    "give the staff account it is for: a token is no one's",
                ));
                None
            }
        };
        let (Some(owner), true) = (owner, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        self.app.task_customer(access, customer).await?;
        let dek = self.app.data_key(customer).await?;
        let id = Uuid::now_v7();
        let row = TaskRow {
            id,
            customer_id: customer,
            sealed: dek.seal(&seal_key(id), title.as_bytes()),
            due_on,
            owner_id: owner,
            created_by: access.actor.id.clone(),
            created_at: self.app.clock.now().as_microsecond(),
            done_at: None,
            done_by: None,
        };
        let audit = self.app.access_record(
            access,
            "task.create",
            vec![customer.to_string(), id.to_string()],
            vec!["title".into()],
        );
        let names = self.app.task_names(std::slice::from_ref(&row)).await?;
        let view = self.app.open_task(&dek, &row, &names)?;
        self.app
            .store
            .apply(ChangeSet {
                tasks: vec![row],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(view)
    }

    /// A customer's latest tasks, newest first.
    pub async fn list(
        &self,
        access: &Access,
        customer: Uuid,
        limit: Option<usize>,
    ) -> Result<Vec<TaskView>, AppError> {
        self.app.task_customer(access, customer).await?;
        let rows = self
            .app
            .store
            .customer_tasks(customer, limit_of(limit))
            .await?;
        let dek = self.app.data_key(customer).await?;
        let names = self.app.task_names(&rows).await?;
        let items = rows
            .iter()
            .map(|r| self.app.open_task(&dek, r, &names))
            .collect::<Result<Vec<_>, _>>()?;
        let mut targets = vec![customer.to_string()];
        targets.extend(rows.iter().map(|r| r.id.to_string()));
        self.app
            .append(vec![self.app.access_record(
                access,
                "task.list",
                targets,
                vec!["title".into()],
            )])
            .await?;
        Ok(items)
    }

    pub async fn complete(&self, access: &Access, id: Uuid) -> Result<TaskView, AppError> {
        self.app.move_task(access, id, true).await
    }

    pub async fn reopen(&self, access: &Access, id: Uuid) -> Result<TaskView, AppError> {
        self.app.move_task(access, id, false).await
    }

    /// The signed-in staff member's open tasks, soonest due first (so overdue ones lead),
    /// those without a date last, each with its customer's name read through the gate:
    /// a customer the purpose may not reach leaves their tasks off the list.
    pub async fn mine(
        &self,
        access: &Access,
        limit: Option<usize>,
    ) -> Result<Vec<MyTask>, AppError> {
        let Some(me) = user_of(&access.actor.id) else {
            return Err(AppError::invalid(
                "owner",
                "a token owns no tasks: name the staff account",
            ));
        };
        self.owned_by(access, me, limit).await
    }

    /// As [`Tasks::mine`], for the staff account `owner`.
    pub async fn owned_by(
        &self,
        access: &Access,
        owner: Uuid,
        limit: Option<usize>,
    ) -> Result<Vec<MyTask>, AppError> {
        access.require_record_access()?;
        check_purpose(access)?;
        let rows = self.app.store.open_tasks_of(owner, limit_of(limit)).await?;
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let customers: HashMap<Uuid, CustomerRow> = (self.app.store.get_customers(&ids).await?)
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let objected = self.app.objected_among(access, &ids).await?;
        let mut keys = self.app.keys.data_keys(&ids).await?;
        let mut opened = HashMap::new();
        let mut fields = std::collections::BTreeSet::new();
        for (id, row) in &customers {
            if objected.contains(id)
                || crate::security::access::ensure_unrestricted(access, row).is_err()
            {
                continue;
            }
            let Some(stored) = keys.remove(id) else {
                continue;
            };
            let dek = self.app.vault.open_data_key(id, &unwrap_stored(stored))?;
            let (view, read) = self.app.view(access, row, &dek)?;
            fields.extend(read);
            opened.insert(*id, (dek, customer_name(&view.fields)));
        }
        let names = self.app.task_names(&rows).await?;
        let today = self
            .app
            .clock
            .now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string();
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some((dek, name)) = opened.get(&row.customer_id) else {
                continue;
            };
            items.push(MyTask {
                task: self.app.open_task(dek, row, &names)?,
                customer_name: name.clone(),
                overdue: row.due_on.as_deref().is_some_and(|d| d < today.as_str()),
            });
        }
        if !items.is_empty() {
            fields.insert("title".into());
            let mut targets: Vec<String> = opened.keys().map(Uuid::to_string).collect();
            targets.sort_unstable();
            targets.extend(items.iter().map(|t| t.task.id.to_string()));
            self.app
                .append(vec![self.app.access_record(
                    access,
                    "task.list",
                    targets,
                    fields.into_iter().collect(),
                )])
                .await?;
        }
        Ok(items)
    }
}

/// A customer's name from the fields the purpose opened: given and family name, else the
/// email address, else a placeholder that names no one.
pub(crate) fn customer_name(fields: &std::collections::BTreeMap<String, String>) -> String {
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let name = format!("{} {}", get("given_name"), get("family_name"));
    let name = name.trim();
    if !name.is_empty() {
        name.to_string()
    } else if !get("email").is_empty() {
        get("email").to_string()
    } else {
        "(no name to show)".into()
    }
}
