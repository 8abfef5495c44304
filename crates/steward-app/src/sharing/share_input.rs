//! What a share is asked for: the vendor, the purpose, the fields (each in the catalog and
//! needed for the purpose) and whom it reaches (ids, a saved segment, or the purpose's
//! audience), and how it is delivered.

use steward_core::PurposeDef;
use steward_core::catalog::FieldDef;
use steward_store::{AudienceOf, SegmentQuery};
use uuid::Uuid;

use crate::campaigns::segments::SegmentFilter;
use crate::{AppError, Steward};

/// What the privacy officer asks to share: the fields of a set of customers (given by id, a
/// saved segment, or the purpose's audience), for a purpose, with a vendor.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareInput {
    pub vendor_id: Uuid,
    pub purpose: String,
    pub fields: Vec<String>,
    #[serde(default)]
    pub customer_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub segment_id: Option<Uuid>,
    /// The audience of the share's purpose (which must rest on consent): the customers whose
    /// consent to it stands now, narrowed by an optional filter.
    #[serde(default)]
    pub audience: Option<AudienceSource>,
    /// `file` (the default) or `webhook`, to the vendor's endpoint.
    #[serde(default)]
    pub delivery: ShareDelivery,
}

/// The audience a share reaches: everyone whose consent to the purpose stands, or those of
/// them a filter keeps.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AudienceSource {
    #[serde(default)]
    pub filter: Option<SegmentFilter>,
}

/// How a share reaches its vendor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShareDelivery {
    /// A signed JSON-lines document the privacy officer downloads and hands over.
    #[default]
    File,
    /// Pushed to the vendor's endpoint, a page of customers per signed message.
    Webhook,
}

impl ShareDelivery {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ShareDelivery::File => "file",
            ShareDelivery::Webhook => "webhook",
        }
    }
}

/// Where the customers of a share come from.
pub(super) enum Source {
    Ids(Vec<Uuid>),
    Segment(Box<SegmentQuery>),
}

/// The asked fields, each in the catalog and needed for the purpose (minimisation), once each.
pub(super) fn asked_fields<'a>(
    app: &'a Steward,
    asked: &[String],
    purpose: &str,
) -> Result<Vec<&'a FieldDef>, AppError> {
    if asked.is_empty() {
        return Err(AppError::invalid("fields", "name at least one field"));
    }
    let mut fields: Vec<&FieldDef> = Vec::with_capacity(asked.len());
    for key in asked {
        let def = app
            .catalog
            .field(key)
            .ok_or_else(|| AppError::invalid("fields", format!("{key} is not in the catalog")))?;
        if !def.needed_for(purpose) {
            return Err(AppError::invalid(
                "fields",
                format!("{key} is not needed for {purpose}"),
            ));
        }
        if !fields.iter().any(|f| f.key == def.key) {
            fields.push(def);
        }
    }
    Ok(fields)
}

pub(super) async fn source(
    app: &Steward,
    input: &ShareInput,
    purpose: &PurposeDef,
) -> Result<Source, AppError> {
    let given = [
        input.customer_ids.is_some(),
        input.segment_id.is_some(),
        input.audience.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => {
            return Err(AppError::invalid(
                "customer_ids",
                "give customer_ids, a segment_id or an audience",
            ));
        }
        1 => {}
        _ => {
            let second = if given[0] { "segment_id" } else { "audience" };
            return Err(AppError::invalid(
                if given[2] { "audience" } else { second },
                "give one of customer_ids, a segment_id or an audience",
            ));
        }
    }
    if let Some(ids) = &input.customer_ids {
        if ids.is_empty() {
            return Err(AppError::invalid(
                "customer_ids",
                "name at least one customer",
            ));
        }
        let mut ids = ids.clone();
        ids.sort();
        ids.dedup();
        return Ok(Source::Ids(ids));
    }
    let moment = app.consent_moment().await?;
    if let Some(id) = input.segment_id {
        let saved = app.saved_segment(id).await.map_err(|e| match e {
            AppError::NotFound => AppError::invalid("segment_id", "no such segment"),
            other => other,
        })?;
        return Ok(Source::Segment(Box::new(app.segment_query(
            &saved.filter,
            "segment_id",
            moment,
        )?)));
    }
    if !purpose.requires_consent {
        return Err(AppError::invalid(
            "audience",
            format!(
                "an audience is of a consent-based purpose; {} is not one: give customer_ids or a segment_id",
                purpose.key
            ),
        ));
    }
    let filter = input.audience.as_ref().and_then(|a| a.filter.as_ref());
    let mut query = match filter {
        Some(filter) => app.segment_query(filter, "audience.filter", moment)?,
        None => SegmentQuery::default(),
    };
    query.audience = Some(AudienceOf {
        purpose: purpose.key.clone(),
        now: moment.now,
        given_since: moment.given_since,
    });
    Ok(Source::Segment(Box::new(query)))
}
