//! Staff as others see them: the display name each account is shown by where it did
//! something, looked up for many actors at once, and set by an administrator.

use std::collections::HashMap;

use uuid::Uuid;

use crate::services::{Accounts, Staff};
use crate::{Actor, AppError, FieldError, Steward};

pub const MAX_DISPLAY_NAME: usize = 80;

/// A display name as given: trimmed, not empty, not too long, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let fail = |m: String| FieldError::new("display_name", m);
    if name.is_empty() {
        return Err(fail("must not be empty".into()));
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(fail(format!(
            "is longer than {MAX_DISPLAY_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(fail("contains control characters".into()));
    }
    Ok(name.to_string())
}

/// A staff member as a form's owner choice lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub id: Uuid,
    pub display_name: String,
}

/// The staff account an actor id names, if it names one.
pub(crate) fn user_of(actor: &str) -> Option<Uuid> {
    actor
        .strip_prefix("user:")
        .and_then(|id| Uuid::try_parse(id).ok())
}

/// Who did something, in words: a staff member's display name, "the customer", "system", or
/// an API token; an account since deleted keeps its id.
pub fn who(actor: &str, names: &HashMap<Uuid, String>) -> String {
    if let Some(name) = user_of(actor).and_then(|id| names.get(&id)) {
        return name.clone();
    }
    if actor.starts_with("customer:") {
        "the customer".into()
    } else if actor.starts_with("system:") {
        "system".into()
    } else if actor.starts_with("token:") {
        "an API token".into()
    } else {
        actor.to_string()
    }
}

impl Steward {
    /// The display names of the staff accounts among `actors`, in one read. The ids are
    /// taken before the read, so the future holds no borrowed iterator across it (and stays
    /// `Send` for any caller's).
    pub(crate) fn staff_names<'a>(
        &self,
        actors: impl IntoIterator<Item = &'a str>,
    ) -> impl Future<Output = Result<HashMap<Uuid, String>, AppError>> + Send + '_ {
        let mut ids: Vec<Uuid> = actors.into_iter().filter_map(user_of).collect();
        ids.sort_unstable();
        ids.dedup();
        async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            Ok(self.store.display_names(&ids).await?.into_iter().collect())
        }
    }
}

impl Staff<'_> {
    /// The display names of the staff accounts among `actors` (`user:<id>` and others), in
    /// one read however many there are.
    pub async fn names(&self, actors: &[String]) -> Result<HashMap<Uuid, String>, AppError> {
        self.app
            .staff_names(actors.iter().map(String::as_str))
            .await
    }

    /// Staff accounts that are not disabled, by display name: whom a task can be for.
    /// Only someone signed in lists them: the actor is the proof.
    pub async fn members(&self, _actor: &Actor) -> Result<Vec<StaffMember>, AppError> {
        let mut members: Vec<StaffMember> = (self.app.store.list_users().await?)
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| StaffMember {
                id: u.id,
                display_name: u.display_name,
            })
            .collect();
        members.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(members)
    }
}

impl Accounts<'_> {
    /// Sets the name a staff member is shown by.
    pub async fn rename(&self, actor: &Actor, id: Uuid, name: &str) -> Result<(), AppError> {
        Steward::require_admin(actor)?;
        let name = parse_display_name(name).map_err(|e| AppError::Invalid(vec![e]))?;
        let audit = self.app.record(
            actor,
            "user.rename",
            None,
            vec![format!("user:{id}")],
            vec!["display_name".into()],
            None,
        );
        if self.app.store.set_display_name(id, &name, audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
