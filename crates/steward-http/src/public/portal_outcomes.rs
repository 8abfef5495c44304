//! What a portal action came to, carried to the page after it in the address as one word
//! from a fixed list, and shown at the top of that page.

use std::collections::HashMap;

/// A line at the top of a page: what an action came to, or why it was refused.
pub(crate) struct Flash {
    pub text: String,
    pub error: bool,
}

impl Flash {
    pub(crate) fn done(text: impl Into<String>) -> Option<Flash> {
        Some(Flash {
            text: text.into(),
            error: false,
        })
    }

    pub(crate) fn refused(text: impl Into<String>) -> Option<Flash> {
        Some(Flash {
            text: text.into(),
            error: true,
        })
    }
}

/// What an action came to, carried to the page after it in the address: a word from this
/// list and nothing about the person.
const OUTCOMES: [(&str, &str); 9] = [
    ("corrected", "Corrected. Thank you."),
    (
        "correction-review",
        "This needs checking: we will look at your correction and answer by the date under Your requests.",
    ),
    (
        "address-sent",
        "We sent a link to the new address. Your address changes once you open it (within a day).",
    ),
    (
        "withdrawn",
        "Withdrawn. We no longer use your data for that.",
    ),
    (
        "objected",
        "Done: we send you no more marketing of any kind.",
    ),
    (
        "objection-received",
        "We have your objection and will answer by the date under Your requests.",
    ),
    (
        "restricted",
        "Restricted: we keep your data but use it for nothing else until you or we lift it; we tell you before we do.",
    ),
    (
        "erased",
        "Your data is erased. We have erased everything we held about you and sent a confirmation to your address. If you sign up again, you will start afresh.",
    ),
    ("signed-out", "You are signed out."),
];

pub(crate) fn outcome(query: &HashMap<String, String>) -> Option<Flash> {
    said(query.get("done")?)
}

pub(crate) fn said(done: &str) -> Option<Flash> {
    OUTCOMES
        .iter()
        .find(|(word, _)| *word == done)
        .and_then(|(_, text)| Flash::done(*text))
}
