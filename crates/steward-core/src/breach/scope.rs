//! Who a personal-data breach reached, asked of the audit log: a time window and selectors
//! that narrow the entries counted. Selectors of different kinds all apply (AND); the values
//! of one kind are alternatives (OR); a kind left empty does not narrow.

use jiff::Timestamp;
use uuid::Uuid;

/// The longest selector value taken: longer ones are no actor, action, field or category.
const MAX_SELECTOR: usize = 200;
/// The most values a selector kind takes.
const MAX_SELECTED: usize = 100;

/// What the privacy officer asks: which entries of the window `[from, to)` to count.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeQuery {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    /// Who acted, as the audit log names them: `user:<id>`, `token:<id>` or `system:<job>`.
    #[serde(default)]
    pub actors: Vec<String>,
    /// Audit actions (`customer.read`) or families of them (`customer`, `share`).
    #[serde(default)]
    pub actions: Vec<String>,
    /// Catalog fields (`email`) the entries named.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Data categories (`user.contact`), each taking the categories under it.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Only what was shared with this vendor.
    #[serde(default)]
    pub vendor_id: Option<Uuid>,
}

/// One kind of selector as it is checked: its field, its values, what a good value looks
/// like and what is said of a bad one.
type Selector<'a> = (&'static str, &'a [String], fn(&str) -> bool, &'static str);

/// A query found wrong: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProblem {
    pub field: &'static str,
    pub message: String,
}

impl ScopeProblem {
    fn new(field: &'static str, message: impl Into<String>) -> ScopeProblem {
        ScopeProblem {
            field,
            message: message.into(),
        }
    }
}

impl ScopeQuery {
    /// Every problem the query has, each naming its field; empty when it can be answered.
    pub fn problems(&self) -> Vec<ScopeProblem> {
        let mut out = Vec::new();
        if self.from >= self.to {
            out.push(ScopeProblem::new("to", "must be after from"));
        }
        let kinds: [Selector<'_>; 4] = [
            (
                "actors",
                &self.actors,
                actor_like,
                "must be user:<id>, token:<id> or system:<job>",
            ),
            (
                "actions",
                &self.actions,
                action_like,
                "must be an action or a family of them, in lower-case words joined by dots",
            ),
            (
                "fields",
                &self.fields,
                key_like,
                "must be a field key in lower-case letters, digits and underscores",
            ),
            (
                "categories",
                &self.categories,
                action_like,
                "must be a category in lower-case words joined by dots",
            ),
        ];
        for (field, values, ok, message) in kinds {
            if values.len() > MAX_SELECTED {
                out.push(ScopeProblem::new(
                    field,
                    format!("takes at most {MAX_SELECTED} values"),
                ));
            } else if values
                .iter()
                .any(|v| v.is_empty() || v.len() > MAX_SELECTOR || !ok(v))
            {
                out.push(ScopeProblem::new(field, message));
            }
        }
        out
    }

    /// Whether `action` is one of the selected actions or in one of the selected families;
    /// any action when none is selected.
    pub fn selects_action(&self, action: &str) -> bool {
        self.actions.is_empty() || self.actions.iter().any(|a| within(action, a))
    }

    /// Whether a field of `category` named `key` is selected, by its key or its category;
    /// any field when neither is selected.
    pub fn selects_field(&self, key: &str, category: Option<&str>) -> bool {
        if self.fields.is_empty() && self.categories.is_empty() {
            return true;
        }
        self.fields.iter().any(|f| f == key)
            || category.is_some_and(|c| self.categories.iter().any(|s| within(c, s)))
    }
}

/// `name` is `family` or lies under it (`customer.read` under `customer`).
fn within(name: &str, family: &str) -> bool {
    name.strip_prefix(family)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn key_like(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn action_like(v: &str) -> bool {
    v.split('.').all(|word| !word.is_empty() && key_like(word))
}

fn actor_like(v: &str) -> bool {
    let Some((kind, id)) = v.split_once(':') else {
        return false;
    };
    matches!(kind, "user" | "token" | "system")
        && !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What a breach reached, as the audit log tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeResult {
    /// Distinct customers whose data the counted entries read, exported, changed, shared or
    /// erased.
    pub customers: u64,
    /// Audit entries counted.
    pub records: u64,
    /// Fields the counted entries named, sorted.
    pub fields: Vec<String>,
    /// The data categories of those fields, as the catalog gives them, sorted.
    pub categories: Vec<String>,
    /// Whether any of those fields is of a special category (Art. 9).
    pub special: bool,
    /// How many of the customers live in each country, most first; erased customers, whose
    /// residency is gone with them, are counted under `None`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<(Option<String>, u64)>))]
    pub residencies: Vec<(Option<crate::country::CountryCode>, u64)>,
    /// The customers, by their pseudonymous ids, sorted; kept apart from the breach's record,
    /// so left out where the result is stored or answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Uuid>,
    /// Whether the Art. 34(3)(a) exemption (data unintelligible to whoever reached it) may
    /// be claimed: never once a key that protects the data is marked compromised.
    pub encrypted_exemption_possible: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> ScopeQuery {
        ScopeQuery {
            from: "2026-01-15T10:00:00Z".parse().expect("from"),
            to: "2026-01-16T10:00:00Z".parse().expect("to"),
            ..Default::default()
        }
    }

    fn fields_of(q: &ScopeQuery) -> Vec<&'static str> {
        q.problems().iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_window_must_end_after_it_starts() {
        assert!(query().problems().is_empty());
        let mut q = query();
        q.to = q.from;
        assert_eq!(fields_of(&q), ["to"]);
    }

    #[test]
    fn each_selector_kind_is_checked_and_named() {
        let mut q = query();
        q.actors = vec![
            "user:0190-ab".into(),
            "token:x".into(),
            "system:webhooks".into(),
        ];
        q.actions = vec!["customer".into(), "share.read".into()];
        q.fields = vec!["birth_date".into()];
        q.categories = vec!["user.contact".into()];
        assert!(q.problems().is_empty());
        q.actors.push("customer:1".into());
        q.actions.push("customer.".into());
        q.fields.push("Email".into());
        q.categories.push(String::new());
        assert_eq!(fields_of(&q), ["actors", "actions", "fields", "categories"]);
        let mut many = query();
        many.actors = vec!["user:a".into(); MAX_SELECTED + 1];
        assert_eq!(fields_of(&many), ["actors"]);
    }

    #[test]
    fn a_family_takes_its_members_and_not_its_namesakes() {
        let mut q = query();
        assert!(q.selects_action("login.success"));
        q.actions = vec!["customer".into(), "share.read".into()];
        assert!(q.selects_action("customer.read"));
        assert!(q.selects_action("share.read"));
        assert!(!q.selects_action("customers.read"));
        assert!(!q.selects_action("share.download"));
        assert!(q.selects_field("email", Some("user.contact.email")));
        q.categories = vec!["user.contact".into()];
        assert!(q.selects_field("email", Some("user.contact.email")));
        assert!(!q.selects_field("birth_date", Some("user.demographic.date_of_birth")));
        q.fields = vec!["birth_date".into()];
        assert!(q.selects_field("birth_date", None));
    }
}
