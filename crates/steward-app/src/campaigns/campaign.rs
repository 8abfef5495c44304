//! Email campaigns: a message sent, through the outbox, to the audience of a segment for a
//! consent-based purpose. Each message carries its own one-click unsubscribe link and the
//! RFC 8058 headers; the campaign log counts what was sent, what failed and who left.
//!
//! Sending works page by page, each page one transaction (messages, links, the count and
//! an audit entry), so a send that stops half-way resumes where it stopped when asked
//! again, skipping whoever has a message already.

use std::collections::HashSet;

use jiff::Timestamp;
use steward_core::consent::Moment;
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    AudienceOf, CampaignRow, CampaignStep, ChangeSet, MailCounts, SegmentQuery, StoreError,
};
use uuid::Uuid;

use crate::campaigns::merge::Template;
use crate::campaigns::segments::{SegmentFilter, may_manage_campaigns, objected_purposes};
use crate::infra::mail::Letter;
use crate::services::Campaigns;
use crate::{Access, Actor, AppError, FieldError, Steward};

const MAX_NAME: usize = 100;
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 20_000;
const PAGE: usize = 500;
pub(crate) const DRAFT: &str = "draft";
pub(crate) const SCHEDULED: &str = "scheduled";
pub(crate) const SENDING: &str = "sending";
/// How long a sender holds a campaign without committing a page before the scheduler takes
/// it to be dead and resumes the send: far longer than a page takes.
const SENDING_LEASE_MINUTES: i64 = 10;

/// When a lease taken at `at` runs out.
pub(crate) fn sending_lease(at: i64) -> i64 {
    at.saturating_add(SENDING_LEASE_MINUTES * 60 * 1_000_000)
}
const SENT: &str = "sent";

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCampaign {
    pub name: String,
    /// The consent-based purpose the campaign is sent for; also the purpose of the request.
    pub purpose: String,
    /// A saved segment, whose filter is copied into the campaign; or `filter`; or neither
    /// (everyone who consented).
    pub segment_id: Option<Uuid>,
    pub filter: Option<SegmentFilter>,
    pub subject: String,
    /// Plain text. An unsubscribe line is added below it. Merge fields are filled for each
    /// recipient: `{{attribute:KEY|fallback}}` with a profile attribute their level allows
    /// (else the fallback), `{{field:KEY|fallback}}` with a field the purpose needs.
    pub body: String,
}

/// How a campaign's messages fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignLog {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub unsubscribed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignView {
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    pub segment_id: Option<Uuid>,
    pub filter: SegmentFilter,
    pub subject: String,
    pub body: String,
    /// `draft`, `scheduled`, `sending` or `sent`.
    pub state: String,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub sent_at: Option<Timestamp>,
    /// When a scheduled campaign is sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub scheduled_at: Option<Timestamp>,
    /// Messages queued.
    pub recipients: i64,
    pub log: CampaignLog,
}

/// A campaign message's text: the body, then the footer every campaign message carries,
/// saying why the recipient receives it and how to stop, with their unsubscribe link.
pub(crate) fn letter_text(body: &str, purpose_name: &str, unsubscribe: &str) -> String {
    format!(
        "{}\n\n--\nYou receive this because you said yes to: {purpose_name}.\n\
         To stop, open this link (one click, nothing else changes):\n{unsubscribe}\n",
        body.trim_end()
    )
}

fn text_error(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let n = value.trim().chars().count();
    if n == 0 || n > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
}

impl Steward {
    pub(crate) fn campaign_purpose(
        &self,
        access: &Access,
        purpose: &str,
    ) -> Result<String, AppError> {
        if !access.purpose.requires_consent || access.purpose.key != purpose {
            return Err(AppError::Forbidden(format!(
                "campaigns are sent for a consent-based purpose, used as the purpose of the request; {} is not one",
                access.purpose.key
            )));
        }
        self.catalog
            .email_field(purpose)
            .map(|f| f.key.clone())
            .ok_or_else(|| {
                AppError::invalid("purpose", "needs no email address, so it cannot be emailed")
            })
    }

    /// The campaign's body with its merge fields: profile attributes of the catalog, and
    /// fields the purpose needs.
    pub(crate) fn campaign_template(&self, purpose: &str, body: &str) -> Result<Template, String> {
        let book = self.catalog.personalization();
        Template::parse(
            body,
            |key| book.knows(key),
            |key| {
                self.catalog
                    .field(key)
                    .is_some_and(|f| f.needed_for(purpose))
            },
        )
    }

    /// The campaign's audience at `moment`: its filter, narrowed to who consented to its
    /// purpose then, without those whose objection the desk upheld.
    pub(crate) fn campaign_segment(
        &self,
        row: &CampaignRow,
        moment: Moment,
    ) -> Result<SegmentQuery, AppError> {
        let filter: SegmentFilter = serde_json::from_str(&row.filter).map_err(|_| {
            AppError::corrupt(format!("campaign {} has a malformed filter", row.id))
        })?;
        let mut segment = self.segment_query(&filter, "filter", moment)?;
        segment.audience = Some(AudienceOf {
            purpose: row.purpose.clone(),
            now: moment.now,
            given_since: moment.given_since,
        });
        segment.objected_purposes = objected_purposes(&row.purpose, &segment);
        Ok(segment)
    }

    /// The template of a campaign made earlier, which the catalog may have moved away from.
    pub(crate) fn stored_template(&self, row: &CampaignRow) -> Result<Template, AppError> {
        self.campaign_template(&row.purpose, &row.body)
            .map_err(|m| {
                AppError::Conflict(format!(
                    "the campaign's body no longer fits the catalog: {m}"
                ))
            })
    }

    pub(crate) fn purpose_name(&self, purpose: &str) -> String {
        self.catalog
            .purpose(purpose)
            .map_or(purpose.to_string(), |p| p.name.clone())
    }

    /// The campaign moved on from `from` to `to`; left `sending`, the sender holds it for one
    /// more lease from now.
    fn campaign_step(&self, id: Uuid, from: &str, to: &str, recipients: i64) -> CampaignStep {
        let at = self.clock.now().as_microsecond();
        CampaignStep {
            id,
            from: from.into(),
            to: to.into(),
            at,
            recipients,
            lease_until: (to == SENDING).then(|| sending_lease(at)),
        }
    }
}

impl Campaigns<'_> {
    pub async fn create(
        &self,
        access: &Access,
        input: NewCampaign,
    ) -> Result<CampaignView, AppError> {
        may_manage_campaigns(&access.actor)?;
        self.app.campaign_purpose(access, &input.purpose)?;
        let now = self.app.clock.now().as_microsecond();
        let mut errors = Vec::new();
        text_error("name", &input.name, MAX_NAME, &mut errors);
        text_error("subject", &input.subject, MAX_SUBJECT, &mut errors);
        text_error("body", &input.body, MAX_BODY, &mut errors);
        if let Err(message) = self.app.campaign_template(&input.purpose, &input.body) {
            errors.push(FieldError::new("body", message));
        }
        if input.subject.chars().any(char::is_control) {
            errors.push(FieldError::new("subject", "must be one line"));
        }
        if input.subject.contains("{{") {
            errors.push(FieldError::new(
                "subject",
                "merge fields go in the body, not the subject",
            ));
        }
        let filter = match (input.segment_id, input.filter) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "filter",
                    "give a segment_id or a filter, not both",
                ));
                SegmentFilter::default()
            }
            (Some(id), None) => match self.app.saved_segment(id).await {
                Ok(s) => s.filter,
                Err(AppError::NotFound) => {
                    errors.push(FieldError::new("segment_id", "no such segment"));
                    SegmentFilter::default()
                }
                Err(e) => return Err(e),
            },
            (None, filter) => filter.unwrap_or_default(),
        };
        match self.app.segment_query(&filter, "filter", Moment::at(now)) {
            Err(AppError::Invalid(more)) => errors.extend(more),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let row = CampaignRow {
            id: Uuid::now_v7(),
            name: input.name.trim().into(),
            purpose: input.purpose,
            segment_id: input.segment_id,
            filter: serde_json::to_string(&filter).map_err(AppError::Encode)?,
            subject: input.subject.trim().into(),
            body: input.body,
            state: DRAFT.into(),
            created_by: access.actor.id.clone(),
            created_at: now,
            sent_at: None,
            recipients: 0,
            scheduled_at: None,
            scheduled_by: None,
        };
        let audit = self.app.access_record(
            access,
            "campaign.create",
            vec![format!("campaign:{}", row.id)],
            vec![],
        );
        self.app.store.create_campaign(&row, audit).await?;
        campaign_view(row, MailCounts::default())
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<CampaignView>, AppError> {
        may_manage_campaigns(actor)?;
        let mut out = Vec::new();
        for row in self.app.store.campaigns().await? {
            let counts = self.app.store.campaign_counts(row.id).await?;
            out.push(campaign_view(row, counts)?);
        }
        Ok(out)
    }

    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<CampaignView, AppError> {
        may_manage_campaigns(actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let counts = self.app.store.campaign_counts(id).await?;
        campaign_view(row, counts)
    }

    /// Queues the campaign's message for everyone in its audience now. A draft, or a
    /// scheduled campaign, starts sending; a send that stopped half-way resumes; a sent
    /// campaign is not sent again.
    pub async fn send(&self, access: &Access, id: Uuid) -> Result<CampaignView, AppError> {
        may_manage_campaigns(&access.actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let email = self.app.campaign_purpose(access, &row.purpose)?;
        let target = vec![format!("campaign:{id}")];
        match row.state.as_str() {
            from @ (DRAFT | SCHEDULED) => {
                let start = ChangeSet {
                    campaign_step: Some(self.app.campaign_step(id, from, SENDING, 0)),
                    audit: vec![self.app.access_record(
                        access,
                        "campaign.start",
                        target.clone(),
                        vec![],
                    )],
                    ..Default::default()
                };
                match self.app.store.apply(start).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict) => {
                        return Err(AppError::Conflict(
                            "this campaign is being sent by another request".into(),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            SENDING => {}
            _ => return Err(AppError::Conflict("this campaign was sent already".into())),
        }
        self.deliver(access, &row, &email).await?;
        self.get(&access.actor, id).await
    }

    /// Queues the message of a campaign that is sending for everyone in its audience who
    /// has none yet, page by page, then marks it sent.
    async fn deliver(
        &self,
        access: &Access,
        row: &CampaignRow,
        email: &str,
    ) -> Result<(), AppError> {
        let id = row.id;
        let target = vec![format!("campaign:{id}")];
        let email = email.to_string();
        let moment = self.app.consent_moment().await?;
        let now = moment.now;
        let segment = self.app.campaign_segment(row, moment)?;
        let template = self.app.stored_template(row)?;
        let merged_attributes = template.attributes();
        let merged_fields = template.fields();
        let mut fields_read = vec![email.clone()];
        fields_read.extend(merged_fields.iter().cloned());
        let purpose_name = self.app.purpose_name(&row.purpose);
        let mut after = None;
        loop {
            let page = self.app.store.segment_page(&segment, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let ids: Vec<Uuid> = page.iter().map(|r| r.id).collect();
            let done: HashSet<Uuid> = self
                .app
                .store
                .campaign_mailed(id, &ids)
                .await?
                .into_iter()
                .collect();
            let waiting: Vec<Uuid> = ids
                .iter()
                .filter(|id| !done.contains(id))
                .copied()
                .collect();
            let held = self
                .app
                .campaign_attributes(access, &segment, &waiting, &merged_attributes)
                .await?;
            let mut changes = ChangeSet::default();
            let mut reached = Vec::new();
            // One key-store read for the page, as the audience export does.
            let mut keys = self.app.keys.data_keys(&ids).await?;
            for customer in page.iter().filter(|r| !done.contains(&r.id)) {
                let Some(attributes) = held.get(&customer.id) else {
                    continue;
                };
                let Some(stored) = keys.remove(&customer.id) else {
                    // Erased since the page was read.
                    continue;
                };
                let dek = self.app.vault.open_data_key(
                    &customer.id,
                    &crate::collection::customers::unwrap_stored(stored),
                )?;
                let sealed = SealedFields::decode(&customer.fields)
                    .map_err(|_| AppError::Integrity(format!("customer {}", customer.id)))?;
                let Some(address) = sealed.get(&email) else {
                    continue;
                };
                let address = dek.open_string(&email, address).map_err(|_| {
                    AppError::Integrity(format!("customer {} field {email}", customer.id))
                })?;
                let mut values = std::collections::HashMap::new();
                for key in &merged_fields {
                    if let Some(sealed) = sealed.get(key) {
                        let value = dek.open_string(key, sealed).map_err(|_| {
                            AppError::Integrity(format!("customer {} field {key}", customer.id))
                        })?;
                        values.insert(key.as_str(), value);
                    }
                }
                let body = template.render(
                    |key| {
                        attributes
                            .iter()
                            .find(|a| a.key == key)
                            .map(|a| a.value.as_text())
                    },
                    |key| values.get(key).cloned(),
                );
                let (link, unsubscribe) =
                    self.app
                        .unsubscribe_link(customer.id, &row.purpose, Some(id), now);
                let letter = Letter {
                    to: address,
                    subject: row.subject.clone(),
                    text: letter_text(&body, &purpose_name, &unsubscribe),
                    unsubscribe: Some(unsubscribe),
                };
                changes.mail.push(
                    self.app
                        .outbox_row(&dek, "campaign", Some(id), &letter, now)?,
                );
                changes.links.push(link);
                reached.push(customer.id.to_string());
            }
            if reached.is_empty() {
                continue;
            }
            changes.campaign_step =
                Some(
                    self.app
                        .campaign_step(id, SENDING, SENDING, reached.len() as i64),
                );
            let mut record =
                self.app
                    .access_record(access, "campaign.send", reached, fields_read.clone());
            record.detail = Some(format!("campaign={id}"));
            changes.audit.push(record);
            match self.app.store.apply(changes).await {
                Ok(_) => {}
                Err(StoreError::Duplicate { .. }) => {
                    return Err(AppError::Conflict(
                        "this campaign is being sent by another request".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            self.app.mail_queued();
        }
        let finish = ChangeSet {
            campaign_step: Some(self.app.campaign_step(id, SENDING, SENT, 0)),
            audit: vec![
                self.app
                    .access_record(access, "campaign.sent", target, vec![]),
            ],
            ..Default::default()
        };
        self.app.store.apply(finish).await.map_err(|e| match e {
            StoreError::Conflict => {
                AppError::Conflict("this campaign was finished by another request".into())
            }
            other => other.into(),
        })?;
        Ok(())
    }
}

fn campaign_view(row: CampaignRow, counts: MailCounts) -> Result<CampaignView, AppError> {
    Ok(CampaignView {
        filter: serde_json::from_str(&row.filter).map_err(|_| {
            AppError::corrupt(format!("campaign {} has a malformed filter", row.id))
        })?,
        id: row.id,
        name: row.name,
        purpose: row.purpose,
        segment_id: row.segment_id,
        subject: row.subject,
        body: row.body,
        state: row.state,
        created_by: row.created_by,
        created_at: steward_core::clock::from_micros(row.created_at),
        sent_at: row.sent_at.map(steward_core::clock::from_micros),
        scheduled_at: row.scheduled_at.map(steward_core::clock::from_micros),
        recipients: row.recipients,
        log: CampaignLog {
            pending: counts.pending,
            sent: counts.sent,
            failed: counts.failed,
            unsubscribed: counts.unsubscribed,
        },
    })
}
