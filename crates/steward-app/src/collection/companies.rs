//! Companies: organisations with a name, a domain, a country, tags and an owner among the
//! staff, and the customers that belong to them. A company is not a person, so its fields are
//! kept in clear to be sorted and searched; its customers stay sealed, listed through the
//! customer list's own gate, purpose and audit. A membership holds ids only.

use std::collections::HashMap;

use jiff::Timestamp;
use steward_core::CountryCode;
use steward_core::customer::{MAX_TAGS, parse_tag};
use steward_core::field_value::is_direction_control;
use steward_store::{CompanyFilter, CompanyOrder, CompanyRow, Joined};
use uuid::Uuid;

use crate::collection::customers::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::infra::merge_patch::merged;
use crate::services::Companies;
use crate::{Access, Actor, AppError, CustomerQuery, CustomerView, FieldError, Page};

pub const MAX_COMPANY_NAME: usize = 200;
const MAX_DOMAIN: usize = 253;

/// A company as written: every field but the name optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyInput {
    pub name: String,
    /// A host name such as `example.com`: no scheme, no path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The staff account that looks after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompanyView {
    pub id: Uuid,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Uuid>,
    /// The owner's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    /// How many customers belong to it.
    pub members: i64,
    /// What `If-Match` names to change it.
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl CompanyView {
    fn input(&self) -> CompanyInput {
        CompanyInput {
            name: self.name.clone(),
            domain: self.domain.clone(),
            country: self.country.clone(),
            tags: self.tags.clone(),
            owner: self.owner,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CompanyQuery {
    pub tag: Option<String>,
    /// The start of a name, whatever its case.
    pub name: Option<String>,
    /// `name`, `created`, `updated` or `owner`, after a `-` for descending.
    pub sort: Option<String>,
    /// From 1.
    pub page: Option<usize>,
    pub limit: Option<usize>,
}

/// A company's customers as the customer list shows them, a page by number.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// As the customer list sorts.
    pub sort: Option<String>,
    pub page: Option<usize>,
    pub limit: Option<usize>,
}

fn require_reader(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_read_companies() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} does not work with companies",
            actor.role
        )))
    }
}

fn require_keeper(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_keep_companies() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may read companies, not change them",
            actor.role
        )))
    }
}

fn check_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim();
    let mut fail = |m: String| errors.push(FieldError::new("name", m));
    if name.is_empty() {
        fail("must not be empty".into());
    } else if name.chars().count() > MAX_COMPANY_NAME {
        fail(format!("is longer than {MAX_COMPANY_NAME} characters"));
    } else if name.chars().any(char::is_control) {
        fail("contains control characters".into());
    } else if name.chars().any(is_direction_control) {
        fail("contains a character that overrides the direction of the text around it".into());
    }
    name.to_string()
}

/// A host name, lower-cased: labels of letters, digits and inner hyphens, at least two of
/// them, the last not all digits. A scheme, a path, a port or an address is refused.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim().to_ascii_lowercase();
    let refused =
        || "give a domain name such as example.com, without https:// or a path".to_string();
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return Err(refused());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    if ok { Ok(domain) } else { Err(refused()) }
}

/// Tags as a customer's: slugs, each once, sorted, at most [`MAX_TAGS`].
fn check_tags(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut tags = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        match parse_tag(t) {
            Ok(t) => tags.push(t),
            Err(m) => errors.push(FieldError::new(format!("tags[{i}]"), m)),
        }
    }
    tags.sort_unstable();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new("tags", format!("at most {MAX_TAGS} tags")));
    }
    tags
}

/// A sort as the company list takes it.
pub fn parse_company_order(raw: &str) -> Result<(CompanyOrder, bool), String> {
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    let order = match name {
        "name" => CompanyOrder::Name,
        "created" => CompanyOrder::Created,
        "updated" => CompanyOrder::Updated,
        "owner" => CompanyOrder::Owner,
        _ => {
            return Err("sort by name, created, updated or owner, after a - for descending".into());
        }
    };
    Ok((order, descending))
}

/// The input as it will be kept, or every field's refusal at once.
struct Checked {
    name: String,
    domain: Option<String>,
    country: Option<String>,
    tags: Vec<String>,
    owner: Option<Uuid>,
}

impl Companies<'_> {
    /// `kept_owner` is the owner the company has: kept as it is, it is not checked again, so
    /// a company whose owner left can still be changed in other ways.
    async fn checked(
        &self,
        input: CompanyInput,
        kept_owner: Option<Uuid>,
    ) -> Result<Checked, AppError> {
        let mut errors = Vec::new();
        let name = check_name(&input.name, &mut errors);
        let blank = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let domain = blank(input.domain).and_then(|d| {
            parse_domain(&d)
                .map_err(|m| errors.push(FieldError::new("domain", m)))
                .ok()
        });
        let country = blank(input.country).and_then(|c| {
            CountryCode::parse(&c)
                .map(|c| c.as_str().to_string())
                .map_err(|e| errors.push(FieldError::new("country", e.to_string())))
                .ok()
        });
        let tags = check_tags(&input.tags, &mut errors);
        if let Some(owner) = input.owner.filter(|o| Some(*o) != kept_owner) {
            let active = (self.app.store.list_users().await?)
                .iter()
                .any(|u| u.id == owner && !u.disabled);
            if !active {
                errors.push(FieldError::new(
                    "owner",
                    "is not a staff account that is in use",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok(Checked {
            name,
            domain,
            country,
            tags,
            owner: input.owner,
        })
    }

    async fn views_of(&self, rows: Vec<CompanyRow>) -> Result<Vec<CompanyView>, AppError> {
        let mut owners: Vec<Uuid> = rows.iter().filter_map(|r| r.owner_id).collect();
        owners.sort_unstable();
        owners.dedup();
        let names: HashMap<Uuid, String> = if owners.is_empty() {
            HashMap::new()
        } else {
            self.app
                .store
                .display_names(&owners)
                .await?
                .into_iter()
                .collect()
        };
        let at = steward_core::clock::from_micros;
        Ok(rows
            .into_iter()
            .map(|r| CompanyView {
                owner_name: r.owner_id.and_then(|o| names.get(&o).cloned()),
                id: r.id,
                name: r.name,
                domain: r.domain,
                country: r.country,
                tags: r.tags,
                owner: r.owner_id,
                members: r.members,
                version: r.version,
                created_at: at(r.created_at),
                updated_at: at(r.updated_at),
            })
            .collect())
    }

    async fn row(&self, id: Uuid) -> Result<CompanyRow, AppError> {
        self.app.store.company(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn create(
        &self,
        actor: &Actor,
        input: CompanyInput,
    ) -> Result<CompanyView, AppError> {
        require_keeper(actor)?;
        let c = self.checked(input, None).await?;
        let now = self.app.clock.now().as_microsecond();
        let row = CompanyRow {
            id: Uuid::now_v7(),
            name: c.name,
            domain: c.domain,
            country: c.country,
            tags: c.tags,
            owner_id: c.owner,
            version: 1,
            created_at: now,
            updated_at: now,
            members: 0,
        };
        let audit = self.app.record(
            actor,
            "company.create",
            None,
            vec![row.id.to_string()],
            vec![],
            None,
        );
        self.app.store.create_company(&row, audit).await?;
        self.get(actor, row.id).await
    }

    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<CompanyView, AppError> {
        require_reader(actor)?;
        let row = self.row(id).await?;
        let mut views = self.views_of(vec![row]).await?;
        views.pop().ok_or(AppError::NotFound)
    }

    /// Changes a company by a JSON merge patch of its input, from the version read: `null`
    /// removes the domain, the country or the owner.
    pub async fn update(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: &serde_json::Value,
        if_version: Option<i64>,
    ) -> Result<CompanyView, AppError> {
        require_keeper(actor)?;
        let kept = self.get(actor, id).await?;
        if if_version.is_some_and(|v| v != kept.version) {
            return Err(AppError::StaleVersion);
        }
        let (input, changed) = merged(&kept.input(), patch)?;
        if changed.is_empty() {
            return Ok(kept);
        }
        let c = self.checked(input, kept.owner).await?;
        let row = CompanyRow {
            id,
            name: c.name,
            domain: c.domain,
            country: c.country,
            tags: c.tags,
            owner_id: c.owner,
            version: kept.version + 1,
            created_at: kept.created_at.as_microsecond(),
            updated_at: self.app.clock.now().as_microsecond(),
            members: kept.members,
        };
        let audit = self.app.record(
            actor,
            "company.update",
            None,
            vec![id.to_string()],
            changed,
            None,
        );
        if !self.app.store.update_company(&row, audit).await? {
            return Err(AppError::StaleVersion);
        }
        self.get(actor, id).await
    }

    /// Deletes a company and its memberships; its customers stay.
    pub async fn delete(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        require_keeper(actor)?;
        let audit = self.app.record(
            actor,
            "company.delete",
            None,
            vec![id.to_string()],
            vec![],
            None,
        );
        if self.app.store.delete_company(id, audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A page of companies by number, with the total the filter selects.
    pub async fn list(
        &self,
        actor: &Actor,
        q: CompanyQuery,
    ) -> Result<Page<CompanyView>, AppError> {
        require_reader(actor)?;
        let mut errors = Vec::new();
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let tag = q.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let tag = tag.and_then(|t| {
            parse_tag(t)
                .map_err(|m| errors.push(FieldError::new("tag", m)))
                .ok()
        });
        let name_prefix = q.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if name_prefix.is_some_and(|n| n.chars().any(char::is_control)) {
            errors.push(FieldError::new("name", "contains control characters"));
        }
        let (order, descending) = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => parse_company_order(s).unwrap_or_else(|m| {
                errors.push(FieldError::new("sort", m));
                (CompanyOrder::Name, false)
            }),
            None => (CompanyOrder::Name, false),
        };
        let page = q.page.unwrap_or(1);
        if page == 0 {
            errors.push(FieldError::new("page", "pages are numbered from 1"));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let filter = CompanyFilter {
            tag,
            name_prefix: name_prefix.map(str::to_lowercase),
            order,
            descending,
            offset: (page - 1).saturating_mul(limit) as u64,
            limit,
        };
        let rows = self.app.store.companies(&filter).await?;
        let total = self.app.store.count_companies(&filter).await?;
        Ok(Page {
            items: self.views_of(rows).await?,
            next_cursor: None,
            limit,
            total: Some(total),
        })
    }

    /// The company a customer belongs to, if any, when the access may read the customer.
    pub async fn of_customer(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Option<CompanyView>, AppError> {
        require_reader(&access.actor)?;
        self.app.task_customer(access, customer).await?;
        match self.app.store.company_of(customer).await? {
            Some(id) => Ok(Some(self.get(&access.actor, id).await?)),
            None => Ok(None),
        }
    }

    /// Makes a customer a member of the company; a customer belongs to one company at most,
    /// so one of another is refused until they leave it.
    pub async fn add_member(
        &self,
        access: &Access,
        company: Uuid,
        customer: Uuid,
    ) -> Result<(), AppError> {
        require_keeper(&access.actor)?;
        self.row(company).await?;
        self.app.task_customer(access, customer).await?;
        let audit = self.app.access_record(
            access,
            "company.member.add",
            vec![customer.to_string(), company.to_string()],
            vec![],
        );
        let at = self.app.clock.now().as_microsecond();
        match self
            .app
            .store
            .add_member(company, customer, at, audit)
            .await?
        {
            Joined::Added | Joined::Already => Ok(()),
            Joined::Elsewhere(_) => Err(AppError::Conflict(
                "the customer belongs to another company: remove them from it first".into(),
            )),
        }
    }

    pub async fn remove_member(
        &self,
        access: &Access,
        company: Uuid,
        customer: Uuid,
    ) -> Result<(), AppError> {
        require_keeper(&access.actor)?;
        self.app.task_customer(access, customer).await?;
        let audit = self.app.access_record(
            access,
            "company.member.remove",
            vec![customer.to_string(), company.to_string()],
            vec![],
        );
        if self
            .app
            .store
            .remove_member(company, customer, audit)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The company's customers, read as the customer list reads them: the same gate,
    /// purpose, fields and audit entry.
    pub async fn members(
        &self,
        access: &Access,
        company: Uuid,
        q: MemberQuery,
    ) -> Result<Page<CustomerView>, AppError> {
        require_reader(&access.actor)?;
        self.row(company).await?;
        let query = CustomerQuery {
            company: Some(company),
            sort: q.sort,
            page: Some(q.page.unwrap_or(1)),
            limit: q.limit,
            ..Default::default()
        };
        self.app.customers().list(access, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_is_a_host_name_lower_cased() {
        assert_eq!(parse_domain(" Example.COM ").as_deref(), Ok("example.com"));
        assert_eq!(parse_domain("a-b.co.uk").as_deref(), Ok("a-b.co.uk"));
        for bad in [
            "https://example.com",
            "example.com/about",
            "example",
            "-a.com",
            "a-.com",
            "a..com",
            "10.0.0.1",
            "example.com:8080",
            "exa mple.com",
            "",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts_are_named() {
        assert_eq!(
            parse_company_order("-owner"),
            Ok((CompanyOrder::Owner, true))
        );
        assert!(parse_company_order("domain").is_err());
    }
}
