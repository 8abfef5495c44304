//! Data-subject requests: what a person may ask for, how a request moves from receipt to an
//! answer, and the legal deadlines that bind the answer.
//!
//! Deadlines follow the subject's residency. Residents of the United States are answered on
//! CCPA terms (acknowledge within 10 business days, answer within 45 days, once extendable by
//! 45 more); everyone else on GDPR terms (answer within one calendar month, once extendable by
//! two more), the stricter clock being the safe default for the countries with laws of the
//! GDPR's shape. Business days are Monday to Friday; public holidays are not counted out, which
//! can only make a deadline earlier, never later.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

use crate::CountryCode;

vocabulary!(
    /// The right a request exercises (GDPR Art. 15–18, 20, 21).
    RequestKind {
        Access => "access",
        Portability => "portability",
        Rectification => "rectification",
        Erasure => "erasure",
        Restriction => "restriction",
        Objection => "objection",
    }
);

vocabulary!(
    /// How a request reached the company.
    Channel {
        Portal => "portal",
        Email => "email",
        Phone => "phone",
        Post => "post",
        Api => "api",
    }
);

vocabulary!(
    /// Where a request stands. `Completed` and `Denied` are final.
    RequestState {
        Received => "received",
        Verified => "verified",
        InProgress => "in_progress",
        Extended => "extended",
        Completed => "completed",
        Denied => "denied",
    }
);

vocabulary!(
    /// The law whose clock a request runs on.
    Jurisdiction {
        Gdpr => "gdpr",
        Ccpa => "ccpa",
    }
);

impl RequestState {
    pub fn is_final(self) -> bool {
        matches!(self, RequestState::Completed | RequestState::Denied)
    }

    /// Whether a request may move from this state to `to`. Identity comes first: nothing is
    /// started, extended or completed for a requester who has not been verified, though an
    /// unverifiable request may be denied. A request is extended at most once.
    pub fn may_become(self, to: RequestState) -> bool {
        use RequestState::*;
        matches!(
            (self, to),
            (Received, Verified | Denied)
                | (Verified, InProgress | Extended | Completed | Denied)
                | (InProgress, Extended | Completed | Denied)
                | (Extended, InProgress | Completed | Denied)
        )
    }
}

impl Jurisdiction {
    pub fn of(residency: &CountryCode) -> Jurisdiction {
        if residency.as_str() == "US" {
            Jurisdiction::Ccpa
        } else {
            Jurisdiction::Gdpr
        }
    }
}

/// The dates a request must be answered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// When receipt must be acknowledged, where the law asks for it.
    pub acknowledge_by: Option<Timestamp>,
    pub answer_by: Timestamp,
}

impl Deadlines {
    /// The deadlines of a request received at `received`.
    pub fn new(jurisdiction: Jurisdiction, received: Timestamp) -> Deadlines {
        let at = received.to_zoned(TimeZone::UTC);
        match jurisdiction {
            Jurisdiction::Gdpr => Deadlines {
                acknowledge_by: None,
                answer_by: end_of_day(&add_months(&at, 1)),
            },
            Jurisdiction::Ccpa => Deadlines {
                acknowledge_by: Some(end_of_day(&add_business_days(&at, 10))),
                answer_by: end_of_day(&add_days(&at, 45)),
            },
        }
    }

    /// The answer deadline once extended as far as the law allows.
    pub fn extended(jurisdiction: Jurisdiction, received: Timestamp) -> Timestamp {
        let at = received.to_zoned(TimeZone::UTC);
        match jurisdiction {
            // Art. 12(3): two further months on top of the first, counted from its end, so
            // 31 January runs to 28 February and then to 28 April.
            Jurisdiction::Gdpr => end_of_day(&add_months(&add_months(&at, 1), 2)),
            // Cal. Civ. Code §1798.130(a)(2): 45 further days, 90 in all.
            Jurisdiction::Ccpa => end_of_day(&add_days(&at, 90)),
        }
    }
}

/// The same day `n` months on; a day the month lacks becomes its last day (31 January plus
/// one month is the end of February), as the EU's rule on time limits has it.
fn add_months(at: &Zoned, n: i64) -> Zoned {
    at.checked_add(n.months()).unwrap_or_else(|_| at.clone())
}

fn add_days(at: &Zoned, n: i64) -> Zoned {
    at.checked_add(n.days()).unwrap_or_else(|_| at.clone())
}

/// `n` business days on: the day of receipt does not count, weekends are skipped.
fn add_business_days(at: &Zoned, n: u32) -> Zoned {
    let mut day = at.clone();
    let mut left = n;
    while left > 0 {
        day = add_days(&day, 1);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    day
}

/// The last instant of the day: a deadline on a date can be met all that day.
fn end_of_day(at: &Zoned) -> Timestamp {
    at.date()
        .at(23, 59, 59, 999_999_000)
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn date_of(t: Timestamp) -> String {
        t.to_zoned(TimeZone::UTC).date().to_string()
    }

    fn country(c: &str) -> CountryCode {
        CountryCode::parse(c).expect("a country")
    }

    #[test]
    fn residency_picks_the_law() {
        assert_eq!(Jurisdiction::of(&country("US")), Jurisdiction::Ccpa);
        assert_eq!(Jurisdiction::of(&country("DE")), Jurisdiction::Gdpr);
        assert_eq!(Jurisdiction::of(&country("BR")), Jurisdiction::Gdpr);
    }

    #[test]
    fn gdpr_gives_one_calendar_month_and_two_more_when_extended() {
        let d = Deadlines::new(Jurisdiction::Gdpr, ts("2026-03-10T15:00:00Z"));
        assert_eq!(d.acknowledge_by, None);
        assert_eq!(date_of(d.answer_by), "2026-04-10");
        assert_eq!(d.answer_by, ts("2026-04-10T23:59:59.999999Z"));
        let e = Deadlines::extended(Jurisdiction::Gdpr, ts("2026-03-10T15:00:00Z"));
        assert_eq!(date_of(e), "2026-06-10");
    }

    #[test]
    fn gdpr_month_ends_on_the_last_day_of_a_shorter_month() {
        let d = Deadlines::new(Jurisdiction::Gdpr, ts("2027-01-31T08:00:00Z"));
        assert_eq!(date_of(d.answer_by), "2027-02-28");
        let leap = Deadlines::new(Jurisdiction::Gdpr, ts("2028-01-31T08:00:00Z"));
        assert_eq!(date_of(leap.answer_by), "2028-02-29");
        let e = Deadlines::extended(Jurisdiction::Gdpr, ts("2026-11-30T08:00:00Z"));
        assert_eq!(date_of(e), "2027-02-28");
        let e = Deadlines::extended(Jurisdiction::Gdpr, ts("2027-01-31T08:00:00Z"));
        assert_eq!(
            date_of(e),
            "2027-04-28",
            "never later than the first deadline's two months"
        );
    }

    #[test]
    fn ccpa_acknowledges_in_ten_business_days_and_answers_in_45_days() {
        // A Friday: the ten business days run over two weekends.
        let received = ts("2026-11-27T12:00:00Z");
        let d = Deadlines::new(Jurisdiction::Ccpa, received);
        assert_eq!(
            date_of(d.acknowledge_by.expect("CCPA acknowledges")),
            "2026-12-11"
        );
        assert_eq!(date_of(d.answer_by), "2027-01-11");
        assert_eq!(
            date_of(Deadlines::extended(Jurisdiction::Ccpa, received)),
            "2027-02-25"
        );
    }

    #[test]
    fn a_weekend_receipt_starts_counting_on_monday() {
        // Saturday 2026-11-28: Monday 30th is business day one, Friday 11 December the tenth.
        let d = Deadlines::new(Jurisdiction::Ccpa, ts("2026-11-28T09:00:00Z"));
        assert_eq!(
            date_of(d.acknowledge_by.expect("CCPA acknowledges")),
            "2026-12-11"
        );
        // Sunday: the same tenth day.
        let d = Deadlines::new(Jurisdiction::Ccpa, ts("2026-11-29T09:00:00Z"));
        assert_eq!(
            date_of(d.acknowledge_by.expect("CCPA acknowledges")),
            "2026-12-11"
        );
        // Monday: the count starts on Tuesday and ends on the Monday two weeks on.
        let d = Deadlines::new(Jurisdiction::Ccpa, ts("2026-11-30T09:00:00Z"));
        assert_eq!(
            date_of(d.acknowledge_by.expect("CCPA acknowledges")),
            "2026-12-14"
        );
    }

    #[test]
    fn requests_move_only_along_the_allowed_paths() {
        use RequestState::*;
        assert!(Received.may_become(Verified));
        assert!(Received.may_become(Denied));
        assert!(!Received.may_become(Completed));
        assert!(!Received.may_become(Extended));
        assert!(Verified.may_become(Extended));
        assert!(Extended.may_become(Completed));
        assert!(!Extended.may_become(Extended));
        for done in [Completed, Denied] {
            assert!(done.is_final());
            assert!(RequestState::ALL.iter().all(|s| !done.may_become(*s)));
        }
    }

    #[test]
    fn names_round_trip() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>(), Ok(*k));
        }
        let err = "delete".parse::<RequestKind>().expect_err("not a kind");
        assert!(err.contains("erasure"), "{err}");
    }
}
