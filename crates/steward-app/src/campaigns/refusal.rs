//! Why a campaign's schedule or test send is refused, each reason with a code a program can
//! act on.

/// A step a campaign cannot take; the code names why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignRefusal {
    /// A schedule's time has passed already (or is now): sending at once is `send`.
    ScheduleInPast,
    /// Only a draft is scheduled: a campaign sending or sent is not sent again later.
    NotDraft,
    /// Only a scheduled campaign has a schedule to cancel; it may have started sending.
    NotScheduled,
    /// A test goes only to the signed-in staff member's own address, which an API token
    /// does not have: no address typed in a form, or Steward would relay mail to anyone.
    NoOwnAddress,
    /// The staff member made as many test sends as a window allows; the next is allowed
    /// after `retry_after` seconds.
    TestSendLimit { retry_after: u64 },
}

impl CampaignRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            CampaignRefusal::ScheduleInPast => "SCHEDULE_IN_PAST",
            CampaignRefusal::NotDraft => "CAMPAIGN_NOT_DRAFT",
            CampaignRefusal::NotScheduled => "CAMPAIGN_NOT_SCHEDULED",
            CampaignRefusal::NoOwnAddress => "NO_OWN_ADDRESS",
            CampaignRefusal::TestSendLimit { .. } => "TEST_SEND_LIMIT",
        }
    }

    pub fn message(&self) -> String {
        match self {
            CampaignRefusal::ScheduleInPast => {
                "a campaign is scheduled for a time in the future; to send it now, send it".into()
            }
            CampaignRefusal::NotDraft => "only a draft campaign can be scheduled".into(),
            CampaignRefusal::NotScheduled => {
                "this campaign is not scheduled (it may have started sending)".into()
            }
            CampaignRefusal::NoOwnAddress => {
                "a test send goes to the signed-in staff member's own address; this caller has none"
                    .into()
            }
            CampaignRefusal::TestSendLimit { retry_after } => format!(
                "too many test sends in a short time; the next is possible in {retry_after} seconds"
            ),
        }
    }
}
