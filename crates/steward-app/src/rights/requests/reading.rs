//! What staff and the customer read of requests: one, a list, the customer's own, the
//! updates owed to recipients of their data, and a yearly tally.

use steward_core::clock::from_micros;
use steward_core::sealed_fields::SealedFields;
use steward_store::{MICROS_PER_DAY, RequestFilter, days_in_micros};
use uuid::Uuid;

use super::{
    MAX_REQUESTS, RecipientUpdateView, RequestQuery, RequestReport, RequestView, require_desk,
    tally, view,
};
use crate::services::Requests;
use crate::{Access, AppError, Steward};

impl Steward {
    /// The field and value a correction proposes.
    pub(crate) async fn open_proposal(
        &self,
        customer: Uuid,
        sealed: &[u8],
    ) -> Result<(String, String), AppError> {
        let broken = || AppError::Integrity(format!("a proposal for customer {customer}"));
        let fields = SealedFields::decode(sealed).map_err(|_| broken())?;
        let (field, bytes) = fields.iter().next().ok_or_else(broken)?;
        let value = self
            .data_key(customer)
            .await?
            .open_string(field, bytes)
            .map_err(|_| broken())?;
        Ok((field.to_string(), value))
    }

    /// The customer's own requests, newest first.
    pub(crate) async fn own_requests(&self, customer: Uuid) -> Result<Vec<RequestView>, AppError> {
        let now = self.clock.now().as_microsecond();
        Ok(self
            .store
            .requests(&RequestFilter {
                customer: Some(customer),
                limit: MAX_REQUESTS,
                ..Default::default()
            })
            .await?
            .iter()
            .map(|r| view(r, now))
            .collect())
    }
}

impl Requests<'_> {
    pub async fn get(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        require_desk(access)?;
        let row = self
            .app
            .store
            .request(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let proposed = match (&row.proposal, row.customer_id) {
            (Some(p), Some(customer)) => Some(self.app.open_proposal(customer, p).await?),
            _ => None,
        };
        let mut record = self.app.request_record(access, "request.read", &row, None);
        record.fields = proposed.iter().map(|(f, _)| f.clone()).collect();
        self.app.append(vec![record]).await?;
        let mut shown = view(&row, self.app.clock.now().as_microsecond());
        shown.proposed_value = proposed.map(|(_, v)| v);
        Ok(shown)
    }

    pub async fn list(
        &self,
        access: &Access,
        query: &RequestQuery,
    ) -> Result<Vec<RequestView>, AppError> {
        require_desk(access)?;
        let now = self.app.clock.now().as_microsecond();
        let limit = query.limit.unwrap_or(100).clamp(1, MAX_REQUESTS);
        let rows = self
            .app
            .store
            .requests(&RequestFilter {
                open_only: query.open || query.due_within_days.is_some(),
                due_before: query
                    .due_within_days
                    .map(|d| now.saturating_add(days_in_micros(i64::from(d)))),
                customer: query.customer_id,
                limit,
                ..Default::default()
            })
            .await?;
        let targets: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        self.app
            .append(vec![self.app.access_record(
                access,
                "request.list",
                targets,
                Vec::new(),
            )])
            .await?;
        Ok(rows.iter().map(|r| view(r, now)).collect())
    }

    /// What the recipients of a customer's data are to be told, oldest first; kept after
    /// erasure, under the erased customer's id.
    pub async fn recipient_updates(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<RecipientUpdateView>, AppError> {
        require_desk(access)?;
        let rows = self.app.store.recipient_updates(customer).await?;
        self.app
            .append(vec![self.app.access_record(
                access,
                "customer.recipient_updates",
                vec![customer.to_string()],
                Vec::new(),
            )])
            .await?;
        Ok(rows
            .into_iter()
            .map(|u| RecipientUpdateView {
                kind: u.kind,
                fields: u.fields,
                at: from_micros(u.at),
                notified_at: u.notified_at.map(from_micros),
            })
            .collect())
    }

    /// Requests received in the last twelve months, counted.
    pub async fn report(&self, access: &Access) -> Result<RequestReport, AppError> {
        require_desk(access)?;
        let since = self
            .app
            .clock
            .now()
            .as_microsecond()
            .saturating_sub(365 * MICROS_PER_DAY);
        let rows = self
            .app
            .store
            .requests(&RequestFilter {
                received_since: Some(since),
                limit: usize::MAX >> 1,
                ..Default::default()
            })
            .await?;
        self.app
            .append(vec![self.app.access_record(
                access,
                "request.report",
                Vec::new(),
                Vec::new(),
            )])
            .await?;
        Ok(RequestReport {
            since: from_micros(since),
            kinds: tally(&rows),
        })
    }
}
