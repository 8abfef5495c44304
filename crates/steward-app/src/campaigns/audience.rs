//! Audiences: the only way a consent-based purpose reaches customers. An audience is a
//! segment (saved, given inline, or everyone) evaluated for a purpose at this moment: it holds
//! exactly the customers whose consent to that purpose is given and unexpired and whose
//! processing is neither restricted nor closed (I3), and it carries only the fields the
//! purpose needs. Conditions on profile attributes reach a customer only through what their
//! level lets the gate read (I8).

use std::collections::{BTreeMap, HashMap};

use steward_store::{AudienceOf, SegmentQuery};
use uuid::Uuid;

use crate::campaigns::segments::{SegmentFilter, objected_purposes};
use crate::personalization::{ReadAttribute, ReadFor, Wanted};
use crate::services::Segments;
use crate::{Access, AppError, FieldError, Steward};

/// Members per page of an export.
pub const AUDIENCE_PAGE: usize = 500;

/// An audience: a purpose, and at most one of a saved segment or an inline filter.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceQuery {
    /// The consent-based purpose the audience is for.
    pub purpose: String,
    pub segment_id: Option<Uuid>,
    pub filter: Option<SegmentFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceSummary {
    pub purpose: String,
    pub count: u64,
    /// The fields an export of this audience carries: those the purpose needs.
    pub fields: Vec<String>,
}

/// One member of an exported audience: their id and the fields the purpose needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceMember {
    pub id: Uuid,
    pub fields: BTreeMap<String, String>,
}

impl Steward {
    /// The audience as a store query, fixed at this moment; checks that the access's purpose
    /// is the audience's and rests on consent.
    async fn audience_query(
        &self,
        access: &Access,
        query: &AudienceQuery,
    ) -> Result<SegmentQuery, AppError> {
        if !access.purpose.requires_consent || access.purpose.key != query.purpose {
            return Err(AppError::Forbidden(format!(
                "audiences are for consent-based purposes, used as the purpose of the request; {} is not one",
                access.purpose.key
            )));
        }
        let moment = self.consent_moment().await?;
        let mut segment = match (&query.segment_id, &query.filter) {
            (Some(_), Some(_)) => {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "filter",
                    "give a segment_id or a filter, not both",
                )]));
            }
            (Some(id), None) => {
                let saved = self.saved_segment(*id).await.map_err(|e| match e {
                    AppError::NotFound => AppError::invalid("segment_id", "no such segment"),
                    other => other,
                })?;
                self.segment_query(&saved.filter, "filter", moment)?
            }
            (None, Some(filter)) => self.segment_query(filter, "filter", moment)?,
            (None, None) => SegmentQuery::default(),
        };
        segment.audience = Some(AudienceOf {
            purpose: query.purpose.clone(),
            now: moment.now,
            given_since: moment.given_since,
        });
        // An objection the desk upheld (Art. 21) keeps the customer out of every audience
        // of that purpose, and of every one chosen by their profile.
        segment.objected_purposes = objected_purposes(&query.purpose, &segment);
        Ok(segment)
    }

    /// Of the customers on a page of `segment`, those whose attribute values hold the
    /// segment's `equals` conditions, each with the attributes read for them: those
    /// conditions' keys and `merged`. The values come through the gate, so each customer
    /// shows only what their level allows a campaign, and the read is audited; a page that
    /// needs no value is not read at all.
    pub(crate) async fn campaign_attributes(
        &self,
        access: &Access,
        segment: &SegmentQuery,
        ids: &[Uuid],
        merged: &[String],
    ) -> Result<HashMap<Uuid, Vec<ReadAttribute>>, AppError> {
        let mut wanted: Vec<String> = merged.to_vec();
        for a in segment.attributes.iter().filter(|a| a.equals.is_some()) {
            if !wanted.contains(&a.key) {
                wanted.push(a.key.clone());
            }
        }
        if wanted.is_empty() || ids.is_empty() {
            return Ok(ids.iter().map(|id| (*id, Vec::new())).collect());
        }
        let reads = self
            .read_attributes_many(ids, Wanted::Keys(&wanted), ReadFor::Campaign(access))
            .await?;
        Ok(reads
            .into_iter()
            .filter(|r| {
                segment.attributes.iter().all(|c| match &c.equals {
                    None => true,
                    Some(equals) => r.attributes().iter().any(|a| {
                        a.key == c.key && (a.value.names(equals) || a.value.as_text() == *equals)
                    }),
                })
            })
            .map(|r| (r.customer, r.attributes().to_vec()))
            .collect())
    }

    /// How many customers the audience holds: counted by the database, unless a condition
    /// compares a sealed value, when every candidate's value is opened through the gate.
    async fn audience_count(
        &self,
        access: &Access,
        segment: &SegmentQuery,
    ) -> Result<u64, AppError> {
        if segment.attributes.iter().all(|a| a.equals.is_none()) {
            return Ok(self.store.count_segment(segment).await?);
        }
        let mut count = 0u64;
        let mut after = None;
        loop {
            let rows = self
                .store
                .segment_page(segment, after, AUDIENCE_PAGE)
                .await?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(count);
            };
            after = Some(last);
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            let held = self.campaign_attributes(access, segment, &ids, &[]).await?;
            count += held.len() as u64;
        }
    }

    fn audience_fields(&self, purpose: &str) -> Vec<String> {
        self.catalog
            .fields()
            .iter()
            .filter(|f| f.needed_for(purpose))
            .map(|f| f.key.clone())
            .collect()
    }
}

impl Segments<'_> {
    /// Counts the audience of a consent-based purpose, checking the ledger at this moment.
    pub async fn audience(
        &self,
        access: &Access,
        query: &AudienceQuery,
    ) -> Result<AudienceSummary, AppError> {
        let segment = self.app.audience_query(access, query).await?;
        let count = self.app.audience_count(access, &segment).await?;
        let mut record = self
            .app
            .access_record(access, "audience.evaluate", vec![], vec![]);
        record.detail = Some(format!("count={count}"));
        self.app.append(vec![record]).await?;
        Ok(AudienceSummary {
            purpose: query.purpose.clone(),
            count,
            fields: self.app.audience_fields(&query.purpose),
        })
    }

    /// One page of the audience's export, after `after`: each member with the fields the
    /// purpose needs, the page audited before it is returned. `None` after the last page.
    pub async fn audience_page(
        &self,
        access: &Access,
        segment: &SegmentQuery,
        after: Option<Uuid>,
    ) -> Result<Option<(Vec<AudienceMember>, Uuid)>, AppError> {
        let rows = self
            .app
            .store
            .segment_page(segment, after, AUDIENCE_PAGE)
            .await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok(None);
        };
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let held = self
            .app
            .campaign_attributes(access, segment, &ids, &[])
            .await?;
        let mut keys = self.app.keys.data_keys(&ids).await?;
        let mut members = Vec::with_capacity(rows.len());
        let mut opened = std::collections::BTreeSet::new();
        for row in rows.iter().filter(|r| held.contains_key(&r.id)) {
            // A key destroyed since the page was read: that customer is being erased.
            let Some(stored) = keys.remove(&row.id) else {
                continue;
            };
            let dek = self.app.vault.open_data_key(
                &row.id,
                &crate::collection::customers::unwrap_stored(stored),
            )?;
            let (view, fields) = self.app.view(access, row, &dek)?;
            opened.extend(fields);
            members.push(AudienceMember {
                id: view.id,
                fields: view.fields,
            });
        }
        self.app
            .append(vec![self.app.access_record(
                access,
                "audience.export",
                members.iter().map(|m| m.id.to_string()).collect(),
                opened.into_iter().collect(),
            )])
            .await?;
        Ok(Some((members, last)))
    }

    /// Checks an audience for export and fixes it at this moment; pages follow with
    /// [`Segments::audience_page`](crate::Segments::audience_page). This, not a raw export, is how marketing gets data out:
    /// only consenting customers, only the purpose's fields, every page audited.
    pub async fn start_export(
        &self,
        access: &Access,
        query: &AudienceQuery,
    ) -> Result<SegmentQuery, AppError> {
        self.app.audience_query(access, query).await
    }
}
