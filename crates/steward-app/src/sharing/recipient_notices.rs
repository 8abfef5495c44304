//! Recipients told of changes (Art. 19). Every erasure, rectification and restriction is kept
//! as a recipient update; with it, in the same transaction, the store writes one notice per
//! vendor that received the customer's data (for a rectification, only those that received a
//! changed field). Here the notices are dated, read, and moved on: by the privacy officer who
//! tells a vendor by hand, or by a sender that tells it by webhook, through the same move.
//!
//! A notice goes `pending` to `sent`, `failed` or `impossible`; `sent` to `acknowledged` or
//! `failed`; `failed` to `sent` again, or `impossible`. Impossible needs its reason (Art. 19
//! excuses telling a recipient only when that proves impossible or takes disproportionate
//! effort, and the controller must be able to say which). Every move is audited.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use steward_core::clock::from_micros;
use steward_store::{RecipientNoticeFilter, RecipientNoticeRow, RecipientUpdate};
use uuid::Uuid;

use super::{require_keeper, require_reader};
use crate::services::{Portal, RecipientNotices};
use crate::{Access, Actor, AppError, Steward};

const REASON_MAX: usize = 500;
const LIST_MAX: usize = 500;

/// Where telling one recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NoticeStatus {
    Pending,
    Sent,
    Acknowledged,
    Failed,
    Impossible,
}

impl NoticeStatus {
    pub const ALL: [NoticeStatus; 5] = [
        NoticeStatus::Pending,
        NoticeStatus::Sent,
        NoticeStatus::Acknowledged,
        NoticeStatus::Failed,
        NoticeStatus::Impossible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Pending => "pending",
            NoticeStatus::Sent => "sent",
            NoticeStatus::Acknowledged => "acknowledged",
            NoticeStatus::Failed => "failed",
            NoticeStatus::Impossible => "impossible",
        }
    }

    pub fn parse(raw: &str) -> Option<NoticeStatus> {
        NoticeStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether a notice in this status may move to `to`.
    pub fn may_become(self, to: NoticeStatus) -> bool {
        use NoticeStatus::*;
        matches!(
            (self, to),
            (Pending, Sent | Failed | Impossible)
                | (Sent, Acknowledged | Failed)
                | (Failed, Sent | Impossible)
        )
    }

    /// Still to be sent: what a due date applies to.
    pub fn is_open(self) -> bool {
        matches!(self, NoticeStatus::Pending | NoticeStatus::Failed)
    }
}

/// One recipient to be told of one change. It names the customer by id and the fields by
/// name, never a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientNoticeView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub vendor_id: Uuid,
    /// The recipient, as the register names it.
    pub vendor: String,
    /// `erasure`, `rectification` or `restriction`.
    pub kind: String,
    /// For a rectification, the changed fields this recipient received.
    pub fields: Vec<String>,
    pub status: NoticeStatus,
    /// Why telling the recipient failed or was impossible.
    pub reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due: Timestamp,
    /// Still to be sent and past its due date.
    pub overdue: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub sent_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub acknowledged_at: Option<Timestamp>,
}

/// Which notices to list.
#[derive(Debug, Clone, Default)]
pub struct NoticeQuery {
    pub status: Option<NoticeStatus>,
    /// Only those still to be sent whose due date has passed, soonest due first.
    pub overdue: bool,
    pub limit: Option<usize>,
}

impl Steward {
    /// When the recipients of a change made at `at` must have been told. Counted in UTC
    /// calendar units, so a period in months or days means what it says.
    pub(crate) fn notify_recipients_by(&self, at: i64) -> Result<i64, AppError> {
        from_micros(at)
            .to_zoned(TimeZone::UTC)
            .checked_add(self.sharing.notify_recipients_within)
            .map(|due| due.timestamp().as_microsecond())
            .map_err(|e| AppError::Setup(format!("recipient_notice_within: {e}")))
    }

    /// An erasure, rectification or restriction of `customer`, kept for the recipients of
    /// their data; the notices to them are written with it.
    pub(crate) fn recipient_update(
        &self,
        customer: Uuid,
        kind: &str,
        fields: Vec<String>,
        at: i64,
    ) -> Result<RecipientUpdate, AppError> {
        Ok(RecipientUpdate {
            id: Uuid::now_v7(),
            customer_id: customer,
            kind: kind.into(),
            fields,
            at,
            notified_at: None,
            notify_by: self.notify_recipients_by(at)?,
        })
    }

    /// A customer's notices, oldest first, each with its recipient's name.
    pub(crate) async fn recipient_notice_views(
        &self,
        customer: Uuid,
    ) -> Result<Vec<RecipientNoticeView>, AppError> {
        let mut rows = self
            .store
            .recipient_notices(&RecipientNoticeFilter {
                customer: Some(customer),
                limit: usize::MAX,
                ..Default::default()
            })
            .await?;
        rows.reverse();
        self.notice_views(rows).await
    }

    async fn notice_views(
        &self,
        rows: Vec<RecipientNoticeRow>,
    ) -> Result<Vec<RecipientNoticeView>, AppError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let names: BTreeMap<Uuid, String> = self
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| (v.id, v.legal_name))
            .collect();
        let now = self.clock.now();
        rows.into_iter()
            .map(|row| {
                let vendor = names.get(&row.vendor_id).cloned().unwrap_or_default();
                notice_view(row, vendor, now)
            })
            .collect()
    }

    /// Notices still to be sent past their due date, for the dashboard and `/metrics`.
    pub async fn overdue_recipient_notices(&self) -> Result<u64, AppError> {
        Ok(self
            .store
            .overdue_recipient_notices(self.clock.now().as_microsecond())
            .await?)
    }
}

fn notice_view(
    row: RecipientNoticeRow,
    vendor: String,
    now: Timestamp,
) -> Result<RecipientNoticeView, AppError> {
    let status = NoticeStatus::parse(&row.status)
        .ok_or_else(|| AppError::corrupt(format!("recipient notice {}", row.id)))?;
    let due = from_micros(row.due_at);
    Ok(RecipientNoticeView {
        id: row.id,
        customer_id: row.customer_id,
        vendor_id: row.vendor_id,
        vendor,
        kind: row.kind,
        fields: row.fields,
        status,
        reason: row.reason,
        due,
        overdue: status.is_open() && due < now,
        created_at: from_micros(row.created_at),
        sent_at: row.sent_at.map(from_micros),
        acknowledged_at: row.acknowledged_at.map(from_micros),
    })
}

/// A reason as staff write it: one short line, never a personal value (the console says so).
fn reason_of(raw: Option<&str>, needed: bool) -> Result<Option<String>, AppError> {
    let reason = raw.map(str::trim).filter(|r| !r.is_empty());
    match reason {
        None if needed => Err(AppError::invalid(
            "reason",
            "say why the recipient cannot be told",
        )),
        None => Ok(None),
        Some(r) if r.chars().count() > REASON_MAX => Err(AppError::invalid(
            "reason",
            format!("must be at most {REASON_MAX} characters"),
        )),
        Some(r) if r.chars().any(char::is_control) => Err(AppError::invalid(
            "reason",
            "must be one line of text without control characters",
        )),
        Some(r) => Ok(Some(r.to_string())),
    }
}

impl Portal<'_> {
    /// The recipients told of an erasure, by the notice ids its answer carried to the page
    /// after it. That page is shown to someone no longer signed in, so it names only erasure
    /// notices, and only of a customer who is gone.
    pub async fn told_of_erasure(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<RecipientNoticeView>, AppError> {
        let mut rows = Vec::new();
        for id in ids {
            let Some(row) = self.app.store.recipient_notice(*id).await? else {
                continue;
            };
            if row.kind == "erasure"
                && self
                    .app
                    .store
                    .get_customer(row.customer_id)
                    .await?
                    .is_none()
            {
                rows.push(row);
            }
        }
        self.app.notice_views(rows).await
    }
}

impl RecipientNotices<'_> {
    /// Notices across customers, newest first (overdue ones soonest due first).
    pub async fn list(
        &self,
        actor: &Actor,
        query: &NoticeQuery,
    ) -> Result<Vec<RecipientNoticeView>, AppError> {
        require_reader(actor)?;
        let limit = query.limit.unwrap_or(LIST_MAX);
        if limit == 0 || limit > LIST_MAX {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {LIST_MAX}"),
            ));
        }
        let rows = self
            .app
            .store
            .recipient_notices(&RecipientNoticeFilter {
                status: query.status.map(|s| s.as_str().to_string()),
                open_due_before: query.overdue.then(|| self.app.clock.now().as_microsecond()),
                customer: None,
                limit,
            })
            .await?;
        self.app.notice_views(rows).await
    }

    /// One customer's notices, oldest first; the read is audited under the customer's id.
    pub async fn of_customer(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<RecipientNoticeView>, AppError> {
        require_reader(&access.actor)?;
        let views = self.app.recipient_notice_views(customer).await?;
        self.app
            .append(vec![self.app.access_record(
                access,
                "customer.recipient_notices",
                vec![customer.to_string()],
                vec![],
            )])
            .await?;
        Ok(views)
    }

    /// Moves a notice on: `sent` or `acknowledged` with no reason, `failed` with one if known,
    /// `impossible` only with one. A move the status does not allow is refused, and so is one
    /// raced by another move of the same notice.
    pub async fn mark(
        &self,
        access: &Access,
        id: Uuid,
        to: NoticeStatus,
        reason: Option<&str>,
    ) -> Result<RecipientNoticeView, AppError> {
        require_keeper(access)?;
        let app = self.app;
        let row = app
            .store
            .recipient_notice(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let from = NoticeStatus::parse(&row.status)
            .ok_or_else(|| AppError::corrupt(format!("recipient notice {id}")))?;
        if !from.may_become(to) {
            return Err(AppError::TransitionNotAllowed {
                what: "recipient notice",
                from: from.as_str().into(),
                to: to.as_str().into(),
            });
        }
        let reason = match to {
            NoticeStatus::Impossible => reason_of(reason, true)?,
            NoticeStatus::Failed => reason_of(reason, false)?,
            _ => None,
        };
        let now = app.clock.now().as_microsecond();
        let moved = RecipientNoticeRow {
            status: to.as_str().into(),
            reason,
            sent_at: if to == NoticeStatus::Sent {
                Some(now)
            } else {
                row.sent_at
            },
            acknowledged_at: (to == NoticeStatus::Acknowledged)
                .then_some(now)
                .or(row.acknowledged_at),
            updated_at: now,
            ..row
        };
        let audit = app.access_record(
            access,
            &format!("recipient_notice.{}", to.as_str()),
            vec![moved.customer_id.to_string(), id.to_string()],
            moved.fields.clone(),
        );
        app.store
            .move_recipient_notice(&moved, from.as_str(), vec![audit])
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::StaleVersion => {
                    AppError::Conflict("the notice was moved on meanwhile; read it again".into())
                }
                other => other,
            })?;
        let vendor = app
            .store
            .vendor(moved.vendor_id)
            .await?
            .map(|v| super::register::vendor_of(&v).map(|v| v.legal_name))
            .transpose()?
            .unwrap_or_default();
        notice_view(moved, vendor, app.clock.now())
    }
}
