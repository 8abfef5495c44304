//! Times as people read them on the public pages: "6 December 2026, 14:05 UTC". The pages
//! carry no script, so the reader's own time zone is unknown; UTC, named, is never wrong.

use jiff::Timestamp;

/// A moment, to the minute.
pub(crate) fn readable(t: Timestamp) -> String {
    t.strftime("%-d %B %Y, %H:%M UTC").to_string()
}

/// The day of a moment, for deadlines and dates of effect.
pub(crate) fn day(t: Timestamp) -> String {
    t.strftime("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn moments_read_as_words() {
        let t: jiff::Timestamp = "2026-12-06T14:05:09Z".parse().expect("time");
        assert_eq!(super::readable(t), "6 December 2026, 14:05 UTC");
        assert_eq!(super::day(t), "6 December 2026");
    }
}
