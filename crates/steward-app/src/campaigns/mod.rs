//! Campaigns: segments of customers, the audience a purpose allows among them, and
//! campaigns sent to it, with merge fields filled per recipient.

pub(crate) mod audience;
pub(crate) mod campaign;
mod merge;
pub(crate) mod segments;
