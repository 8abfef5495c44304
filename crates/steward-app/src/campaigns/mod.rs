//! Campaigns: segments of customers, the audience a purpose allows among them, and
//! campaigns sent to it.

pub(crate) mod audience;
pub(crate) mod campaign;
pub(crate) mod segments;
