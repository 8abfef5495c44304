//! A campaign's message as it would be sent: the same template, footer and subject the send
//! uses, filled for one customer of its audience (read through the gate for the campaign's
//! purpose, and audited) or, when the staff member may not read customers for that purpose
//! or the audience is empty, with each merge field's name in brackets. The unsubscribe link
//! is a stand-in: a real one would unsubscribe the sample customer.

use steward_core::sealed_fields::SealedFields;
use steward_store::CampaignRow;
use uuid::Uuid;

use super::campaign::letter_text;
use super::merge::Template;
use crate::services::Campaigns;
use crate::{Access, AppError, Steward};

/// How many of the audience are looked at to find one the preview can be filled for.
const SAMPLE_PAGE: usize = 50;

/// A campaign's message as a recipient would read it, in plain text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignPreview {
    pub subject: String,
    /// The body with the footer every message carries.
    pub text: String,
    /// `sample`: filled for one customer of the audience (not named); `placeholders`: each
    /// merge field shown by its name in brackets; `nothing`: the body has no merge field.
    pub filled_with: String,
}

impl Steward {
    /// The message with each merge field's name in brackets, and a stand-in unsubscribe
    /// link: what a preview shows without reading anyone, and what a test send carries.
    pub(crate) fn placeholder_text(&self, row: &CampaignRow, template: &Template) -> String {
        let body = template.render(
            |key| Some(format!("[{key}]")),
            |key| Some(format!("[{key}]")),
        );
        letter_text(
            &body,
            &self.purpose_name(&row.purpose),
            &self.stand_in_unsubscribe(),
        )
    }

    fn stand_in_unsubscribe(&self) -> String {
        self.mailer
            .url("/unsubscribe/each-recipient-gets-their-own-link")
    }

    /// The body filled for the first customer of the audience the gate lets the campaign
    /// reach, with the read audited; `None` when there is no one.
    async fn sample_body(
        &self,
        access: &Access,
        row: &CampaignRow,
        template: &Template,
    ) -> Result<Option<String>, AppError> {
        let moment = self.consent_moment().await?;
        let segment = self.campaign_segment(row, moment)?;
        let page = self.store.segment_page(&segment, None, SAMPLE_PAGE).await?;
        let ids: Vec<Uuid> = page.iter().map(|r| r.id).collect();
        let attributes = template.attributes();
        let held = self
            .campaign_attributes(access, &segment, &ids, &attributes)
            .await?;
        let Some(customer) = page.iter().find(|r| held.contains_key(&r.id)) else {
            return Ok(None);
        };
        let fields = template.fields();
        let dek = self.data_key(customer.id).await?;
        let sealed = SealedFields::decode(&customer.fields)
            .map_err(|_| AppError::Integrity(format!("customer {}", customer.id)))?;
        let mut values = std::collections::HashMap::new();
        for key in &fields {
            if let Some(value) = sealed.get(key) {
                let value = dek.open_string(key, value).map_err(|_| {
                    AppError::Integrity(format!("customer {} field {key}", customer.id))
                })?;
                values.insert(key.as_str(), value);
            }
        }
        let read = held.get(&customer.id).cloned().unwrap_or_default();
        let body = template.render(
            |key| {
                read.iter()
                    .find(|a| a.key == key)
                    .map(|a| a.value.as_text())
            },
            |key| values.get(key).cloned(),
        );
        let mut record = self.access_record(
            access,
            "campaign.preview",
            vec![customer.id.to_string()],
            fields,
        );
        record.detail = Some(format!("campaign={}", row.id));
        self.append(vec![record]).await?;
        Ok(Some(body))
    }
}

impl Campaigns<'_> {
    /// The campaign's message as it would be sent. A body without merge fields reads the
    /// same for everyone, so no one is read for it.
    pub async fn preview(&self, access: &Access, id: Uuid) -> Result<CampaignPreview, AppError> {
        super::segments::may_manage_campaigns(&access.actor)?;
        let row = self
            .app
            .store
            .campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let template = self.app.stored_template(&row)?;
        let merges = !(template.attributes().is_empty() && template.fields().is_empty());
        let may_read = self.app.campaign_purpose(access, &row.purpose).is_ok();
        let sample = if merges && may_read {
            self.app.sample_body(access, &row, &template).await?
        } else {
            None
        };
        let (text, filled_with) = match sample {
            Some(body) => (
                letter_text(
                    &body,
                    &self.app.purpose_name(&row.purpose),
                    &self.app.stand_in_unsubscribe(),
                ),
                "sample",
            ),
            None => (
                self.app.placeholder_text(&row, &template),
                if merges { "placeholders" } else { "nothing" },
            ),
        };
        Ok(CampaignPreview {
            subject: row.subject,
            text,
            filled_with: filled_with.into(),
        })
    }
}
