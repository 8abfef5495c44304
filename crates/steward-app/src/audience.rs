//! Audiences: the only way a consent-based purpose reaches customers. An audience for a
//! purpose holds exactly the customers whose consent to it is given and unexpired at this
//! moment and whose processing is neither restricted nor closed (I3).

use steward_store::AudienceFilter;

use crate::customers::parse_tags;
use crate::{Access, AppError, FieldError, Steward};

/// Narrows an audience; the purpose is the access's own.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceQuery {
    /// The consent-based purpose the audience is for.
    pub purpose: String,
    pub tag: Option<String>,
    pub residency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceSummary {
    pub purpose: String,
    pub count: u64,
    /// The fields an export of this audience would carry: those the purpose needs.
    pub fields: Vec<String>,
}

impl Steward {
    /// Counts the audience of a consent-based purpose, checking the ledger at this moment.
    pub async fn audience(
        &self,
        access: &Access,
        query: &AudienceQuery,
    ) -> Result<AudienceSummary, AppError> {
        if !access.purpose.requires_consent || access.purpose.key != query.purpose {
            return Err(AppError::Forbidden(format!(
                "audiences are for consent-based purposes, used as the purpose of the request; {} is not one",
                access.purpose.key
            )));
        }
        let mut errors = Vec::new();
        let tag = query
            .tag
            .as_ref()
            .map(|t| parse_tags(std::slice::from_ref(t), &mut errors))
            .and_then(|t| t.into_iter().next());
        let residency = query.residency.as_deref().and_then(|r| {
            steward_core::CountryCode::parse(r)
                .map(|c| c.as_str().to_string())
                .map_err(|e| errors.push(FieldError::new("residency", e.to_string())))
                .ok()
        });
        if !errors.is_empty() {
            return Err(AppError::Invalid(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field.replace("tags[0]", "tag"), e.message))
                    .collect(),
            ));
        }
        let count = self
            .store
            .audience_count(&AudienceFilter {
                purpose: query.purpose.clone(),
                now: self.clock.now().as_microsecond(),
                tag,
                residency,
            })
            .await?;
        let mut record = self.access_record(access, "audience.evaluate", vec![], vec![]);
        record.detail = Some(format!("count={count}"));
        self.append(vec![record]).await?;
        Ok(AudienceSummary {
            purpose: query.purpose.clone(),
            count,
            fields: self
                .catalog
                .fields()
                .iter()
                .filter(|f| f.needed_for(&query.purpose))
                .map(|f| f.key.clone())
                .collect(),
        })
    }
}
