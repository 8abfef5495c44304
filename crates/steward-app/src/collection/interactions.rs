//! The interaction history: notes, emails, calls, orders, tickets, web visits and messages.
//! Summary and body are personal data and are sealed with the customer's key, bound to the
//! interaction; so are its facets (categories, channel, engagement), in a column of their own
//! that a profile is derived from without opening the text.

use jiff::Timestamp;
use steward_core::customer::{InteractionKind, MAX_BODY, MAX_SUMMARY};
use steward_core::personalization::Facets;
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, InteractionRow};
use uuid::Uuid;

use crate::collection::customers::{DEFAULT_LIMIT, MAX_LIMIT, Page};
use crate::infra::cursor;
use crate::infra::idempotency::{Claim, IdempotencyKey, Outcome, Replayable};
use crate::services::Interactions;
use crate::{Access, AppError, FieldError, Steward};

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InteractionInput {
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub occurred_at: Option<Timestamp>,
    pub summary: String,
    #[serde(default)]
    pub body: Option<String>,
    /// Product categories of an order or a web visit; channel and engagement of an email or
    /// a message.
    #[serde(default, skip_serializing_if = "Facets::is_empty")]
    pub facets: Facets,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InteractionView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: Timestamp,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Facets::is_empty")]
    pub facets: Facets,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Replayable for InteractionView {
    fn customer(&self) -> Uuid {
        self.customer_id
    }

    fn read_record(&self) -> (&'static str, Vec<String>, Vec<String>) {
        let targets = vec![self.customer_id.to_string(), self.id.to_string()];
        (
            "interaction.read",
            targets,
            parts_named(self.body.is_some(), !self.facets.is_empty()),
        )
    }
}

fn parts_named(with_body: bool, with_facets: bool) -> Vec<String> {
    let mut parts = vec!["summary".to_string()];
    if with_body {
        parts.push("body".into());
    }
    if with_facets {
        parts.push("facets".into());
    }
    parts
}

/// Interactions serve the relationship itself: only the essential purposes reach them.
pub(crate) fn check_purpose(access: &Access) -> Result<(), AppError> {
    if access.purpose.key == "essential" || access.purpose.key.starts_with("essential.") {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "purpose {} does not cover the interaction history",
            access.purpose.key
        )))
    }
}

fn seal_key(id: Uuid, part: &str) -> String {
    format!("interaction/{id}/{part}")
}

fn check_text(name: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.chars().count() > max {
        errors.push(FieldError::new(
            name,
            format!("is longer than {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        errors.push(FieldError::new(name, "contains control characters"));
    }
}

/// A checked interaction, ready to be sealed.
pub(crate) struct NewInteraction<'a> {
    pub kind: InteractionKind,
    pub occurred_at: i64,
    pub summary: &'a str,
    pub body: Option<&'a str>,
    pub facets: &'a Facets,
}

impl Steward {
    pub(crate) fn seal_interaction(
        &self,
        dek: &steward_vault::DataKey,
        customer: Uuid,
        new: NewInteraction<'_>,
        now: i64,
    ) -> InteractionRow {
        let NewInteraction {
            kind,
            occurred_at,
            summary,
            body,
            facets,
        } = new;
        let id = Uuid::now_v7();
        let mut sealed = SealedFields::new();
        sealed.insert(
            "summary",
            dek.seal(&seal_key(id, "summary"), summary.as_bytes()),
        );
        if let Some(b) = body {
            sealed.insert("body", dek.seal(&seal_key(id, "body"), b.as_bytes()));
        }
        // Facets are few slugs, so their JSON cannot fail to serialise; they are sealed apart
        // from the text so that deriving a profile never opens it.
        let facets = (!facets.is_empty())
            .then(|| serde_json::to_vec(facets).ok())
            .flatten()
            .map(|json| dek.seal(&seal_key(id, "facets"), &json));
        InteractionRow {
            id,
            customer_id: customer,
            kind: kind.as_str().to_string(),
            occurred_at,
            sealed: sealed.encode(),
            created_at: now,
            facets,
        }
    }

    async fn insert_interaction(
        &self,
        access: &Access,
        customer: Uuid,
        input: InteractionInput,
        claim: Option<&Claim>,
    ) -> Result<InteractionView, AppError> {
        check_purpose(access)?;
        let mut errors = Vec::new();
        let kind = input
            .kind
            .parse::<InteractionKind>()
            .map_err(|m| errors.push(FieldError::new("kind", m)))
            .ok();
        let summary = input.summary.trim();
        if summary.is_empty() {
            errors.push(FieldError::new("summary", "must not be empty"));
        }
        check_text("summary", summary, MAX_SUMMARY, &mut errors);
        let body = input
            .body
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        if let Some(b) = body {
            check_text("body", b, MAX_BODY, &mut errors);
        }
        if let Some(kind) = kind
            && let Err(e) = input.facets.check(kind, self.catalog.personalization())
        {
            errors.push(FieldError::new(e.field, e.reason));
        }
        let (Some(kind), true) = (kind, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let row = self
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.ensure_processable(access, &row).await?;
        let now = self.clock.now().as_microsecond();
        let occurred_at = input.occurred_at.map(|t| t.as_microsecond()).unwrap_or(now);
        let dek = self.data_key(customer).await?;
        let row = self.seal_interaction(
            &dek,
            customer,
            NewInteraction {
                kind,
                occurred_at,
                summary,
                body,
                facets: &input.facets,
            },
            now,
        );
        let audit = self.access_record(
            access,
            "interaction.create",
            vec![customer.to_string(), row.id.to_string()],
            parts_named(body.is_some(), !input.facets.is_empty()),
        );
        let view = self.open_interaction(&dek, &row)?;
        let idempotency = claim.map(|c| c.keep(&dek, &view, now)).transpose()?;
        self.store
            .apply(ChangeSet {
                interactions: vec![row],
                audit: vec![audit],
                idempotency,
                ..Default::default()
            })
            .await?;
        Ok(view)
    }

    pub(crate) fn open_interaction(
        &self,
        dek: &steward_vault::DataKey,
        row: &InteractionRow,
    ) -> Result<InteractionView, AppError> {
        let integrity = || AppError::Integrity(format!("interaction {}", row.id));
        let sealed = SealedFields::decode(&row.sealed).map_err(|_| integrity())?;
        let open = |part: &str| -> Result<Option<String>, AppError> {
            sealed
                .get(part)
                .map(|b| {
                    dek.open_string(&seal_key(row.id, part), b)
                        .map_err(|_| integrity())
                })
                .transpose()
        };
        Ok(InteractionView {
            id: row.id,
            customer_id: row.customer_id,
            kind: row.kind.clone(),
            occurred_at: steward_core::clock::from_micros(row.occurred_at),
            summary: open("summary")?.unwrap_or_default(),
            body: open("body")?,
            facets: row
                .facets
                .as_ref()
                .map(|b| self.open_facets(dek, row.id, b))
                .transpose()?
                .unwrap_or_default(),
            created_at: steward_core::clock::from_micros(row.created_at),
        })
    }
}

impl Steward {
    /// The interaction as another customer's, every part opened with the key it was sealed
    /// under and sealed again under `to`: what a merge moves, so that no row is left that its
    /// new customer's key cannot open.
    pub(crate) fn reseal_interaction(
        &self,
        row: &InteractionRow,
        from: &steward_vault::DataKey,
        to: &steward_vault::DataKey,
        customer: Uuid,
    ) -> Result<InteractionRow, AppError> {
        let integrity = || AppError::Integrity(format!("interaction {}", row.id));
        let sealed = SealedFields::decode(&row.sealed).map_err(|_| integrity())?;
        let mut moved = SealedFields::new();
        for (part, bytes) in sealed.iter() {
            let key = seal_key(row.id, part);
            let plain = from.open(&key, bytes).map_err(|_| integrity())?;
            moved.insert(part, to.seal(&key, &plain));
        }
        let facets = row
            .facets
            .as_ref()
            .map(|bytes| {
                let key = seal_key(row.id, "facets");
                let plain = from.open(&key, bytes).map_err(|_| integrity())?;
                Ok::<_, AppError>(to.seal(&key, &plain))
            })
            .transpose()?;
        Ok(InteractionRow {
            customer_id: customer,
            sealed: moved.encode(),
            facets,
            ..row.clone()
        })
    }

    /// An interaction's facets, opened with the customer's key.
    pub(crate) fn open_facets(
        &self,
        dek: &steward_vault::DataKey,
        id: Uuid,
        sealed: &[u8],
    ) -> Result<Facets, AppError> {
        let integrity = || AppError::Integrity(format!("interaction {id} facets"));
        let json = dek
            .open(&seal_key(id, "facets"), sealed)
            .map_err(|_| integrity())?;
        serde_json::from_slice(&json).map_err(|_| integrity())
    }
}

impl Interactions<'_> {
    pub async fn add(
        &self,
        access: &Access,
        customer: Uuid,
        input: InteractionInput,
    ) -> Result<InteractionView, AppError> {
        self.app
            .insert_interaction(access, customer, input, None)
            .await
    }

    /// Adds an interaction once per idempotency key; sent again, it answers as the first time.
    pub async fn add_once(
        &self,
        access: &Access,
        key: &IdempotencyKey,
        customer: Uuid,
        input: InteractionInput,
    ) -> Result<Outcome<InteractionView>, AppError> {
        check_purpose(access)?;
        let action = format!("interaction.create/{customer}");
        let claim = Claim::new(key, access, &action, &input)?;
        if let Some(view) = self.app.replay(access, &claim).await? {
            return Ok(Outcome::Replayed(view));
        }
        match self
            .app
            .insert_interaction(access, customer, input, Some(&claim))
            .await
        {
            Ok(view) => Ok(Outcome::Created(view)),
            Err(e) => self.app.replay_after_race(access, &claim, e).await,
        }
    }

    pub async fn list(
        &self,
        access: &Access,
        customer: Uuid,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<InteractionView>, AppError> {
        check_purpose(access)?;
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let after = cursor.map(cursor::decode_at_id).transpose()?;
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.ensure_processable(access, &row).await?;
        let mut rows = self
            .app
            .store
            .list_interactions(customer, after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let dek = self.app.data_key(customer).await?;
        let items = rows
            .iter()
            .map(|r| self.app.open_interaction(&dek, r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut targets = vec![customer.to_string()];
        targets.extend(rows.iter().map(|r| r.id.to_string()));
        self.app
            .append(vec![self.app.access_record(
                access,
                "interaction.list",
                targets,
                vec!["summary".into(), "body".into(), "facets".into()],
            )])
            .await?;
        let next_cursor = if more {
            rows.last()
                .map(|r| cursor::encode_at_id(r.occurred_at, r.id))
        } else {
            None
        };
        Ok(Page {
            items,
            next_cursor,
            limit,
            total: None,
        })
    }
}
