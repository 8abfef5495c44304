//! The 72-hour clock of Art. 33(1): from the moment the company became aware, until the
//! decision on notifying the supervisory authority is recorded.

use jiff::{SignedDuration, Timestamp};

use super::Breach;

/// Hours from awareness within which the authority is notified.
pub const DEADLINE_HOURS: i64 = 72;
/// Hours left at which an undecided breach is shown as due soon.
pub const DUE_SOON_HOURS: i64 = 24;

vocabulary!(
    /// Where a breach stands against its clock.
    ClockState {
        Running => "running",
        DueSoon => "due_soon",
        Overdue => "overdue",
        Decided => "decided",
        Closed => "closed",
    }
);

vocabulary!(
    /// The moments the response team is mailed about an undecided breach.
    Milestone {
        Opened => "opened",
        Left24h => "left_24h",
        Left6h => "left_6h",
    }
);

impl Milestone {
    /// Hours before the deadline at which the milestone falls; `None` for the opening.
    fn hours_before_deadline(self) -> Option<i64> {
        match self {
            Milestone::Opened => None,
            Milestone::Left24h => Some(24),
            Milestone::Left6h => Some(6),
        }
    }
}

impl Breach {
    pub fn deadline(&self) -> Timestamp {
        self.aware_at
            .checked_add(SignedDuration::from_hours(DEADLINE_HOURS))
            .unwrap_or(Timestamp::MAX)
    }

    /// Whether the decision on notifying the authority is recorded: notified, or reasoned
    /// not to.
    pub fn decided(&self) -> bool {
        self.authority.is_some()
    }

    pub fn clock(&self, now: Timestamp) -> ClockState {
        if self.closed_at.is_some() {
            ClockState::Closed
        } else if self.decided() {
            ClockState::Decided
        } else if now > self.deadline() {
            ClockState::Overdue
        } else if self.hours_left(now) <= DUE_SOON_HOURS as f64 {
            ClockState::DueSoon
        } else {
            ClockState::Running
        }
    }

    /// Hours until the deadline; negative once it has passed.
    pub fn hours_left(&self, now: Timestamp) -> f64 {
        self.deadline().duration_since(now).as_secs_f64() / 3600.0
    }

    /// The milestones reached by `now` while the breach is open and undecided, for the
    /// response team's mail; each is sent once, so a late run sends those it missed.
    pub fn milestones_reached(&self, now: Timestamp) -> Vec<Milestone> {
        if self.closed_at.is_some() || self.decided() {
            return Vec::new();
        }
        Milestone::ALL
            .iter()
            .copied()
            .filter(|m| match m.hours_before_deadline() {
                None => true,
                Some(h) => self.hours_left(now) <= h as f64,
            })
            .collect()
    }
}
