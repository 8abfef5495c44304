//! The portal's overview in the customer's words: purposes, data categories and fields by the
//! catalog's names, what happened in plain phrases, times as dates to read. Keys stay in the
//! downloads, which are for machines as much as for people.

use steward_app::PortalOverview;
use steward_app::core::consent::ConsentState;
use steward_app::core::{Catalog, CountryCode};

use super::dates::{day, readable};

pub(crate) struct ValueRow {
    pub field: String,
    pub label: String,
    pub value: String,
    pub category: String,
    pub purposes: String,
    pub kept: String,
}

pub(crate) struct ChoiceRow {
    /// The purpose's key, for the withdraw button only.
    pub purpose: String,
    pub name: String,
    pub choice: &'static str,
    pub given: bool,
}

pub(crate) struct HistoryRow {
    pub id: String,
    pub at: String,
    pub purpose: String,
    pub choice: &'static str,
    pub how: &'static str,
    pub notice: String,
}

pub(crate) struct RequestRow {
    pub received: String,
    pub kind: String,
    pub state: &'static str,
    pub due: String,
}

pub(crate) struct ContactRow {
    pub kind: &'static str,
    pub at: String,
    pub summary: String,
}

pub(crate) struct AccessRow {
    pub at: String,
    pub who: String,
    pub what: String,
    pub why: String,
    pub which: String,
}

/// Who received the customer's data (Art. 15(1)(c)).
pub(crate) struct RecipientRow {
    pub at: String,
    pub vendor: String,
    pub countries: String,
    pub purpose: String,
    pub what: String,
}

/// Everything the overview page lists, ready to show.
pub(crate) struct OverviewRows {
    pub values: Vec<ValueRow>,
    pub residency: String,
    pub since: String,
    pub source: Option<String>,
    pub restricted: bool,
    pub choices: Vec<ChoiceRow>,
    pub history: Vec<HistoryRow>,
    pub requests: Vec<RequestRow>,
    pub contacts: Vec<ContactRow>,
    pub access: Vec<AccessRow>,
    pub recipients: Vec<RecipientRow>,
}

/// A purpose by its catalog name; one the catalog no longer holds, by its key in words.
fn purpose_name(catalog: &Catalog, key: &str) -> String {
    catalog
        .purpose(key)
        .map_or_else(|| in_words(key), |p| p.name.clone())
}

fn field_label(catalog: &Catalog, key: &str) -> String {
    catalog
        .field(key)
        .map_or_else(|| in_words(key), |f| f.label.clone())
}

/// The last resort for a key nothing names: its words, without dots and underscores.
fn in_words(key: &str) -> String {
    let words = key.replace(['.', '_'], " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Each name once, in the order first met: several categories share a name.
fn distinct(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

fn choice(state: ConsentState) -> &'static str {
    match state {
        ConsentState::Given => "yes",
        ConsentState::Refused => "no",
        ConsentState::Withdrawn => "withdrawn",
        ConsentState::Requested => "waiting for you to confirm by email",
        ConsentState::Expired => "lapsed: we must ask you again",
    }
}

fn how(method: &str) -> &'static str {
    match method {
        "portal" => "in this portal",
        "form" => "on our sign-up form",
        "api" => "recorded by our staff",
        "import" => "from our earlier records",
        "gpc" => "your browser's Global Privacy Control signal",
        "unsubscribe" => "an unsubscribe link",
        "objection" => "your objection to marketing",
        "expiry" => "it lapsed with time",
        _ => "recorded by us",
    }
}

fn request_kind(kind: &str) -> &'static str {
    match kind {
        "access" => "See your data",
        "portability" => "A copy of your data",
        "rectification" => "Correct your data",
        "erasure" => "Erase your data",
        "restriction" => "Restrict the use of your data",
        "objection" => "Objection",
        _ => "Request",
    }
}

fn request_state(state: &str) -> &'static str {
    match state {
        "received" => "received",
        "verified" => "identity checked",
        "in_progress" => "in progress",
        "extended" => "extended",
        "completed" => "completed",
        "denied" => "refused",
        _ => "open",
    }
}

fn contact_kind(kind: &str) -> &'static str {
    match kind {
        "note" => "Note",
        "email" => "Email",
        "call" => "Phone call",
        "order" => "Order",
        "ticket" => "Support ticket",
        "web_visit" => "Visit to our website",
        "message" => "Message from us",
        _ => "Contact",
    }
}

/// What an entry of the audit log did to the customer's data, said to them.
fn what(action: &str) -> String {
    let phrase = match action {
        "customer.create" => "created your record",
        "customer.import" => "brought in your record",
        "customer.read" => "looked at your record",
        "customer.list" => "listed you among customers",
        "customer.update" => "changed your record",
        "customer.rectify" => "corrected your data",
        "customer.minimise" => "deleted data no longer needed",
        "customer.restrict" => "changed the restriction on your data",
        "objection.upheld" => "upheld your objection: your data is no longer used for that purpose",
        "customer.export" => "exported your data",
        "customer.erase" => "erased your data",
        "customer.recipient_updates" => "looked up who to tell of changes to your data",
        "interaction.create" => "recorded contact with you",
        "interaction.read" | "interaction.list" => "looked at our contact with you",
        "interaction.delete" => "deleted a record of contact with you",
        "interaction.anonymise" => "anonymised a record of contact with you",
        "consent.record" => "recorded a choice of yours",
        "consent.confirm" => "recorded your confirmation",
        "consent.unsubscribe" => "recorded that you unsubscribed",
        "consent.expire" => "marked a consent as lapsed",
        "portal.code" => "asked for a sign-in code",
        "portal.sign_in" => "signed in to this portal",
        "portal.wrong_code" => "entered a wrong sign-in code",
        "portal.view" => "opened this page",
        "portal.export" => "downloaded your data",
        "audience.evaluate" => "counted you in a marketing audience",
        "audience.export" => "put you on a marketing list",
        "campaign.send" | "campaign.sent" | "campaign.start" => "sent you a marketing message",
        "retention.run" => "applied our rules on how long data is kept",
        "personalization.level" => "changed how far your offers are tailored to you",
        "personalization.read" => "used what we keep to personalize, to choose your offers",
        "personalization.recompute" => "worked out again what we use to personalize",
        "personalization.attribute.put" => "saved what you told us you like",
        "personalization.attribute.delete" => "deleted something we kept to personalize",
        "personalization.attribute.allow" => "allowed something to be worked out again",
        other if other.starts_with("request.") => "worked on a request of yours",
        other => return in_words(other),
    };
    phrase.to_string()
}

pub(crate) fn rows(catalog: &Catalog, o: &PortalOverview) -> OverviewRows {
    let values = o
        .values
        .iter()
        .map(|v| ValueRow {
            field: v.field.clone(),
            label: v.label.clone(),
            value: v.value.clone(),
            category: catalog.category_name(&v.category).map_or_else(
                || in_words(v.category.rsplit('.').next().unwrap_or_default()),
                str::to_string,
            ),
            purposes: v.purposes.join(", "),
            kept: v.kept.clone(),
        })
        .collect();
    let choices = o
        .consents
        .iter()
        .map(|c| ChoiceRow {
            purpose: c.purpose.clone(),
            name: purpose_name(catalog, &c.purpose),
            choice: c.state.map_or("never asked", choice),
            given: c.given,
        })
        .collect();
    let history = o
        .consent_history
        .iter()
        .map(|e| HistoryRow {
            id: e.id.to_string(),
            at: readable(e.at),
            purpose: purpose_name(catalog, &e.purpose),
            choice: choice(e.state),
            how: how(&e.method),
            notice: e.notice_version.clone().unwrap_or_default(),
        })
        .collect();
    let requests = o
        .requests
        .iter()
        .map(|r| RequestRow {
            received: readable(r.received_at),
            kind: match &r.purpose {
                Some(p) => format!("{} ({})", request_kind(&r.kind), purpose_name(catalog, p)),
                None => request_kind(&r.kind).to_string(),
            },
            state: request_state(&r.state),
            due: day(r.due_at),
        })
        .collect();
    let contacts = o
        .interactions
        .iter()
        .map(|i| ContactRow {
            kind: contact_kind(&i.kind),
            at: readable(i.occurred_at),
            summary: i.summary.clone(),
        })
        .collect();
    let access = o
        .access_history
        .iter()
        .map(|a| AccessRow {
            at: readable(a.at),
            who: a.who.clone(),
            what: what(&a.action),
            why: a
                .purpose
                .as_deref()
                .map(|p| purpose_name(catalog, p))
                .unwrap_or_default(),
            which: a
                .fields
                .iter()
                .map(|f| field_label(catalog, f))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let recipients = o
        .disclosures
        .iter()
        .map(|d| {
            let countries = distinct(
                d.destinations
                    .iter()
                    .filter_map(|x| x["country"].as_str())
                    .map(|c| {
                        CountryCode::parse(c)
                            .map_or_else(|_| c.to_string(), |c| c.name().to_string())
                    }),
            );
            let what = distinct(d.categories.iter().map(|c| {
                catalog
                    .category_name(c)
                    .map_or_else(|| in_words(c), str::to_string)
            }));
            RecipientRow {
                at: readable(d.at),
                vendor: d.vendor.clone(),
                countries: countries.join(", "),
                purpose: purpose_name(catalog, &d.purpose),
                what: what.join(", "),
            }
        })
        .collect();
    OverviewRows {
        values,
        recipients,
        residency: CountryCode::parse(&o.residency)
            .map_or_else(|_| o.residency.clone(), |c| c.name().to_string()),
        since: day(o.created_at),
        source: o.source.clone(),
        restricted: o.status == "restricted",
        choices,
        history,
        requests,
        contacts,
        access,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_nothing_names_still_read_as_words() {
        assert_eq!(
            super::in_words("loyalty.points_added"),
            "Loyalty points added"
        );
        assert_eq!(
            super::what("request.verify"),
            "worked on a request of yours"
        );
        assert_eq!(super::what("customer.read"), "looked at your record");
    }
}
