//! Who looks after a customer: a staff member shown by display name, or no one. The list is
//! filtered by owner here; a selection is given an owner in `bulk.rs`.

use std::collections::HashMap;

use steward_store::OwnerFilter;
use uuid::Uuid;

use super::CustomerView;
use crate::security::staff::user_of;
use crate::{Actor, AppError, Steward};

/// An owner filter as the list takes it: a staff account's id, `me`, or `none`.
pub(super) fn parse_owner_filter(raw: &str, actor: &Actor) -> Result<OwnerFilter, String> {
    match raw.trim() {
        "none" => Ok(OwnerFilter::Unowned),
        "me" => user_of(&actor.id)
            .map(OwnerFilter::Of)
            .ok_or_else(|| "an API token looks after no one: give a staff account's id".into()),
        id => Uuid::try_parse(id)
            .map(OwnerFilter::Of)
            .map_err(|_| "give a staff account's id, me, or none".into()),
    }
}

impl Steward {
    /// Whether `owner` is a staff account in use: a disabled account looks after no one.
    pub(crate) async fn owner_in_use(&self, owner: Uuid) -> Result<bool, AppError> {
        let users = self.store.list_users().await?;
        Ok(users.iter().any(|u| u.id == owner && !u.disabled))
    }

    /// Puts each owner's display name on the views, in one read however many there are.
    pub(crate) async fn name_owners(&self, views: &mut [CustomerView]) -> Result<(), AppError> {
        let mut ids: Vec<Uuid> = views
            .iter()
            .filter_map(|v| Some(v.owner.as_ref()?.id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        ids.sort_unstable();
        ids.dedup();
        let names: HashMap<Uuid, String> =
            self.store.display_names(&ids).await?.into_iter().collect();
        for owner in views.iter_mut().filter_map(|v| v.owner.as_mut()) {
            if let Some(name) = names.get(&owner.id) {
                owner.display_name.clone_from(name);
            }
        }
        Ok(())
    }
}
