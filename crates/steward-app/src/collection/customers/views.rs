//! Views of the customer list saved by each staff member under a name: the list's filters and
//! sort, which say nothing about any one person. A searched name, email or phone is never
//! saved: it would sit in the database in clear.

use steward_core::CountryCode;
use steward_core::customer::{CustomerStatus, parse_tag};
use steward_store::SavedViewRow;
use uuid::Uuid;

use super::owners::parse_owner_filter;
use super::reading::parse_order;
use crate::services::Customers;
use crate::{Actor, AppError, FieldError};

/// A staff member keeps at most this many views.
const MAX_VIEWS: usize = 50;
const MAX_NAME: usize = 80;

/// What a view selects and how it sorts, as the list takes it; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ViewFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<String>,
    /// Days, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Whose customers: a staff account's id, `me` (whoever follows the view), or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SavedView {
    pub id: Uuid,
    pub name: String,
    pub filter: ViewFilter,
}

impl ViewFilter {
    /// The filter in its stored form, each part checked as the list checks it.
    fn checked(self, actor: &Actor) -> Result<ViewFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let blank = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let tag = blank(self.tag).and_then(|t| {
            parse_tag(&t)
                .map_err(|m| errors.push(FieldError::new("filter.tag", m)))
                .ok()
        });
        let status = blank(self.status).and_then(|s| {
            s.parse::<CustomerStatus>()
                .map(|s| s.to_string())
                .map_err(|m| errors.push(FieldError::new("filter.status", m)))
                .ok()
        });
        let residency = blank(self.residency).and_then(|r| {
            CountryCode::parse(&r)
                .map(|c| c.as_str().to_string())
                .map_err(|e| errors.push(FieldError::new("filter.residency", e.to_string())))
                .ok()
        });
        let mut day = |field: &str, v: Option<String>| {
            blank(v).and_then(|d| {
                d.parse::<jiff::civil::Date>()
                    .map(|d| d.to_string())
                    .map_err(|_| {
                        errors.push(FieldError::new(
                            format!("filter.{field}"),
                            "is not a day (YYYY-MM-DD)",
                        ))
                    })
                    .ok()
            })
        };
        let created_after = day("created_after", self.created_after);
        let created_before = day("created_before", self.created_before);
        let sort = blank(self.sort).and_then(|s| {
            parse_order(&s)
                .map(|_| s)
                .map_err(|m| errors.push(FieldError::new("filter.sort", m)))
                .ok()
        });
        let owner = blank(self.owner).and_then(|o| {
            parse_owner_filter(&o, actor)
                .map(|_| o)
                .map_err(|m| errors.push(FieldError::new("filter.owner", m)))
                .ok()
        });
        if errors.is_empty() {
            Ok(ViewFilter {
                tag,
                status,
                residency,
                created_after,
                created_before,
                sort,
                owner,
            })
        } else {
            Err(errors)
        }
    }
}

fn saved(row: SavedViewRow) -> Result<SavedView, AppError> {
    Ok(SavedView {
        id: row.id,
        filter: serde_json::from_str(&row.filter)
            .map_err(|_| AppError::Integrity(format!("saved view {}", row.id)))?,
        name: row.name,
    })
}

impl Customers<'_> {
    /// The staff member's saved views, by name.
    pub async fn views(&self, actor: &Actor) -> Result<Vec<SavedView>, AppError> {
        self.app
            .store
            .views_of(&actor.id)
            .await?
            .into_iter()
            .map(saved)
            .collect()
    }

    /// Saves a view of the list under a name of the staff member's own.
    pub async fn save_view(
        &self,
        actor: &Actor,
        name: &str,
        filter: ViewFilter,
    ) -> Result<SavedView, AppError> {
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(FieldError::new("name", "give the view a name"));
        } else if name.chars().count() > MAX_NAME {
            errors.push(FieldError::new(
                "name",
                format!("is longer than {MAX_NAME} characters"),
            ));
        } else if name.chars().any(char::is_control) {
            errors.push(FieldError::new("name", "holds a control character"));
        }
        let filter = filter.checked(actor).unwrap_or_else(|mut e| {
            errors.append(&mut e);
            ViewFilter::default()
        });
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if self.app.store.views_of(&actor.id).await?.len() >= MAX_VIEWS {
            return Err(AppError::invalid(
                "name",
                format!("you keep {MAX_VIEWS} views already; delete one first"),
            ));
        }
        let row = SavedViewRow {
            id: Uuid::now_v7(),
            owner: actor.id.clone(),
            name: name.to_string(),
            filter: serde_json::to_string(&filter).map_err(AppError::Encode)?,
            created_at: self.app.clock.now().as_microsecond(),
        };
        self.app.store.save_view(&row).await?;
        saved(row)
    }

    /// Deletes one of the staff member's views; another's is as unknown as none.
    pub async fn delete_view(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        if self.app.store.delete_view(&actor.id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
