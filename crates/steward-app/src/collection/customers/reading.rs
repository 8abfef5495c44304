//! Customers read: one, or a page of them filtered by tag, status, residency and dates,
//! shown with only the fields the purpose may read, every read audited.

use steward_core::CountryCode;
use steward_core::contact::{Email, Phone};
use steward_core::customer::{CustomerStatus, parse_tag};
use steward_store::{CustomerFilter, ListOrder};
use uuid::Uuid;

use super::owners::parse_owner_filter;
use super::{
    CustomerQuery, CustomerView, DEFAULT_LIMIT, MAX_LIMIT, NAME_TOKENS, Page, unwrap_stored,
};
use crate::infra::cursor;
use crate::services::Customers;
use crate::{Access, AppError, FieldError};

impl Customers<'_> {
    pub async fn get(&self, access: &Access, id: Uuid) -> Result<CustomerView, AppError> {
        access.require_record_access()?;
        let Some(row) = self.app.store.get_customer(id).await? else {
            return Err(self.app.missing(id).await);
        };
        self.app.ensure_processable(access, &row).await?;
        let dek = self.app.row_key(&row).await?;
        let (mut view, opened) = self.app.view(access, &row, &dek)?;
        self.app
            .name_owners(std::slice::from_mut(&mut view))
            .await?;
        view.company_id = self.app.store.company_of(id).await?;
        // The entry is written before any value leaves: no audit, no data.
        self.app
            .append(vec![self.app.access_record(
                access,
                "customer.read",
                vec![id.to_string()],
                opened,
            )])
            .await?;
        Ok(view)
    }

    pub async fn list(
        &self,
        access: &Access,
        q: CustomerQuery,
    ) -> Result<Page<CustomerView>, AppError> {
        access.require_record_access()?;
        let mut errors = Vec::new();
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let mut index = None;
        if let Some(raw) = &q.email {
            match Email::parse(raw) {
                Ok(e) => {
                    index = Some((
                        "email".to_string(),
                        self.app.vault.blind_index("email", e.as_str())?,
                    ))
                }
                Err(e) => errors.push(FieldError::new("email", e.to_string())),
            }
        }
        if let Some(raw) = &q.phone {
            match Phone::parse(raw) {
                Ok(p) if index.is_none() => {
                    index = Some((
                        "phone".to_string(),
                        self.app.vault.blind_index("phone", p.as_str())?,
                    ))
                }
                Ok(_) => errors.push(FieldError::new(
                    "phone",
                    "search by email or by phone, not both",
                )),
                Err(e) => errors.push(FieldError::new("phone", e.to_string())),
            }
        }
        let mut name_tokens = Vec::new();
        if let Some(raw) = &q.name {
            let tokens = steward_core::name_tokens::name_tokens(raw);
            if tokens.is_empty() {
                errors.push(FieldError::new(
                    "name",
                    "give at least one word of a name: letters or digits",
                ));
            }
            for token in &tokens {
                name_tokens.push(self.app.vault.blind_index(NAME_TOKENS, token)?);
            }
        }
        let name_fields: Vec<String> = self
            .app
            .catalog
            .name_fields()
            .map(|f| f.key.clone())
            .collect();
        if !name_tokens.is_empty() && name_fields.is_empty() {
            errors.push(FieldError::new(
                "name",
                "the catalog has no field searched by name",
            ));
        }
        let tag = q.tag.as_deref().and_then(|t| {
            parse_tag(t)
                .map_err(|m| errors.push(FieldError::new("tag", m)))
                .ok()
        });
        let status = q.status.as_deref().and_then(|s| {
            s.parse::<CustomerStatus>()
                .map(|s| s.to_string())
                .map_err(|m| errors.push(FieldError::new("status", m)))
                .ok()
        });
        let residency = q.residency.as_deref().and_then(|r| {
            CountryCode::parse(r)
                .map(|c| c.as_str().to_string())
                .map_err(|e| errors.push(FieldError::new("residency", e.to_string())))
                .ok()
        });
        let owner = q.owner.as_deref().and_then(|o| {
            parse_owner_filter(o, &access.actor)
                .map_err(|m| errors.push(FieldError::new("owner", m)))
                .ok()
        });
        let after = q
            .cursor
            .as_deref()
            .map(cursor::decode_id)
            .transpose()
            .unwrap_or_else(|e| {
                if let AppError::Invalid(mut e) = e {
                    errors.append(&mut e);
                }
                None
            });
        let order = q.sort.as_deref().and_then(|s| {
            parse_order(s)
                .map_err(|m| errors.push(FieldError::new("sort", m)))
                .ok()
        });
        let page = match (q.page, order) {
            (Some(0), _) => {
                errors.push(FieldError::new("page", "pages are numbered from 1"));
                None
            }
            (Some(n), _) => Some(n),
            (None, Some(_)) => Some(1),
            (None, None) => None,
        };
        if page.is_some() && q.cursor.is_some() {
            errors.push(FieldError::new(
                "cursor",
                "a cursor follows the list by id; a sorted list or a page by number has no cursor",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let filter = CustomerFilter {
            order,
            offset: page.map(|n| ((n - 1) * limit) as u64),
            index,
            name_tokens,
            name_fields,
            tag,
            company: q.company,
            status,
            created_after: q.created_after.map(|t| t.as_microsecond()),
            created_before: q.created_before.map(|t| t.as_microsecond()),
            updated_after: q.updated_after.map(|t| t.as_microsecond()),
            updated_before: q.updated_before.map(|t| t.as_microsecond()),
            residency,
            owner,
            after,
            limit: limit + 1,
        };
        let mut rows = self.app.store.list_customers(&filter).await?;
        let total = match page {
            Some(_) => Some(self.app.store.count_listed(&filter).await?),
            None => None,
        };
        let more = rows.len() > limit;
        rows.truncate(limit);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let objected = self.app.objected_among(access, &ids).await?;
        let mut keys = self.app.keys.data_keys(&ids).await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut opened_any = std::collections::BTreeSet::new();
        for row in &rows {
            // Art. 21: one whose objection to the purpose was upheld is left off the page; the
            // cursor still moves past them.
            if objected.contains(&row.id) {
                continue;
            }
            let Some(stored) = keys.remove(&row.id) else {
                tracing::warn!(customer = %row.id, "skipped a customer whose key is destroyed: erasure in progress");
                continue;
            };
            let dek = self
                .app
                .vault
                .open_data_key(&row.id, &unwrap_stored(stored))?;
            let (view, opened) = self.app.view(access, row, &dek)?;
            opened_any.extend(opened);
            items.push(view);
        }
        self.app.name_owners(&mut items).await?;
        if !items.is_empty() {
            let targets = items.iter().map(|v| v.id.to_string()).collect();
            self.app
                .append(vec![self.app.access_record(
                    access,
                    "customer.list",
                    targets,
                    opened_any.into_iter().collect(),
                )])
                .await?;
        }
        let next_cursor = if more && page.is_none() {
            rows.last().map(|r| cursor::encode_id(r.id))
        } else {
            None
        };
        Ok(Page {
            items,
            next_cursor,
            limit,
            total,
        })
    }
}

/// A sort as the list takes it: a column's name, after a `-` for descending.
pub(super) fn parse_order(raw: &str) -> Result<(ListOrder, bool), String> {
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    let column = match name {
        "created" => ListOrder::Created,
        "updated" => ListOrder::Updated,
        "last_interaction" => ListOrder::LastInteraction,
        "residency" => ListOrder::Residency,
        "status" => ListOrder::Status,
        "owner" => ListOrder::Owner,
        _ => {
            return Err(
                "sort by created, updated, last_interaction, residency, status or owner, after a - for descending"
                    .into(),
            );
        }
    };
    Ok((column, descending))
}
