//! Campaigns: segments of customers, the audience a purpose allows among them, and
//! campaigns sent to it, with merge fields filled per recipient; a campaign's preview and
//! test send, its schedule and the job that sends it when due, and its results over time.

pub(crate) mod audience;
pub(crate) mod campaign;
mod merge;
pub(crate) mod preview;
pub(crate) mod refusal;
pub(crate) mod results;
pub(crate) mod schedule;
pub(crate) mod segments;
mod test_send;
