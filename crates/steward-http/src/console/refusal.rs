//! A form sent back to the person who filled it in: what they typed, and each message beside
//! the input it is about. The first input with a message, in the form's own order, carries
//! `autofocus`, so the browser scrolls to it without any script; messages about nothing on
//! the form are listed at its top, which then takes the focus instead.

use std::collections::HashMap;

use steward_app::FieldError;

#[derive(Default)]
pub struct Refusal {
    /// Which of the page's forms was sent back; empty when none was.
    form: String,
    values: HashMap<String, String>,
    /// (input name, message), in the form's order.
    placed: Vec<(String, String)>,
    /// Messages no input of the form is about, each naming what it is about.
    unplaced: Vec<String>,
}

/// Whether an error the use case names `field` is about the input it calls `name`: the same
/// name, or an element or a part of it (`tags[2]`, `filter.created.last_days`).
fn about(field: &str, name: &str) -> bool {
    field
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('[') || rest.starts_with('.'))
}

impl Refusal {
    /// No form was sent back.
    pub fn none() -> Refusal {
        Refusal::default()
    }

    /// `inputs` are the form's inputs in page order, each with the name the use case gives
    /// errors about it (an input may appear more than once, under several names).
    pub fn new<'a>(
        form: impl Into<String>,
        values: HashMap<String, String>,
        errors: Vec<FieldError>,
        inputs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Refusal {
        let inputs: Vec<(&str, &str)> = inputs.into_iter().collect();
        let mut placed: Vec<(usize, String, String)> = Vec::new();
        let mut unplaced = Vec::new();
        for e in errors {
            match inputs.iter().position(|(_, field)| about(&e.field, field)) {
                // One message per input: the first is enough to act on.
                Some(i) if placed.iter().any(|(at, _, _)| *at == i) => {}
                Some(i) => placed.push((i, inputs[i].0.to_string(), e.message)),
                None => unplaced.push(format!("{}: {}", e.field, e.message)),
            }
        }
        placed.sort_by_key(|(i, _, _)| *i);
        Refusal {
            form: form.into(),
            values,
            placed: placed.into_iter().map(|(_, n, m)| (n, m)).collect(),
            unplaced,
        }
    }

    pub fn any(&self) -> bool {
        !self.placed.is_empty() || !self.unplaced.is_empty()
    }

    /// Whether `form` is the one sent back with messages.
    pub fn on(&self, form: &str) -> bool {
        self.form == form && self.any()
    }

    /// What was typed into an input of `form` when it was sent back, or nothing.
    pub fn value(&self, form: &str, input: &str) -> &str {
        if self.form != form {
            return "";
        }
        self.values.get(input).map(String::as_str).unwrap_or("")
    }

    pub fn message(&self, form: &str, input: &str) -> Option<&str> {
        if self.form != form {
            return None;
        }
        self.placed
            .iter()
            .find(|(n, _)| n == input)
            .map(|(_, m)| m.as_str())
    }

    /// The input that takes the focus: the first one with a message.
    pub fn focus(&self, form: &str, input: &str) -> bool {
        self.form == form && self.placed.first().is_some_and(|(n, _)| n == input)
    }

    /// The attributes of an input that may carry a message `id`-error beside it.
    pub fn attrs(&self, form: &str, input: &str, id: &str) -> String {
        let mut out = String::new();
        if self.message(form, input).is_some() {
            out.push_str(&format!(
                r#" aria-invalid="true" aria-describedby="{id}-error""#
            ));
        }
        if self.focus(form, input) {
            out.push_str(" autofocus");
        }
        out
    }

    /// The top of the form takes the focus when no input does.
    pub fn focus_top(&self, form: &str) -> bool {
        self.on(form) && self.placed.is_empty()
    }

    pub fn unplaced(&self, form: &str) -> &[String] {
        if self.form == form {
            &self.unplaced
        } else {
            &[]
        }
    }

    /// A sentence for the top of the form.
    pub fn summary(&self, form: &str) -> String {
        if self.form != form {
            return String::new();
        }
        match self.placed.len() {
            0 => "This was not done:".to_string(),
            1 => "This was not done: one field needs attention, marked below.".to_string(),
            n => format!("This was not done: {n} fields need attention, marked below."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_sit_beside_their_inputs_and_the_first_in_page_order_takes_the_focus() {
        let errors = vec![
            FieldError::new("filter.consent.state", "pick a state"),
            FieldError::new("name", "is taken"),
            FieldError::new("filter.tags[1]", "is too long"),
            FieldError::new("filter.tags[2]", "is too long as well"),
            FieldError::new("owner", "unknown"),
        ];
        let r = Refusal::new(
            "segment",
            HashMap::from([("name".to_string(), "VIPs".to_string())]),
            errors,
            [
                ("name", "name"),
                ("tags", "filter.tags"),
                ("consent_state", "filter.consent.state"),
            ],
        );
        assert_eq!(r.message("segment", "tags"), Some("is too long"));
        assert_eq!(r.message("campaign", "name"), None, "another form's input");
        assert!(r.focus("segment", "name") && !r.focus("segment", "tags"));
        assert_eq!(
            r.attrs("segment", "name", "s-name"),
            r#" aria-invalid="true" aria-describedby="s-name-error" autofocus"#
        );
        assert_eq!(r.unplaced("segment"), ["owner: unknown"]);
        assert!(!r.focus_top("segment"));
        assert_eq!(r.value("segment", "name"), "VIPs");
        assert_eq!(r.value("campaign", "name"), "");
        assert!(r.summary("segment").contains("3 fields"));
        assert!(!about("names", "name") && about("tags[0]", "tags"));
    }

    #[test]
    fn a_message_about_nothing_on_the_form_puts_the_focus_on_its_top() {
        let r = Refusal::new(
            "campaign",
            HashMap::new(),
            vec![FieldError::new("purpose", "cannot be emailed")],
            [("name", "name")],
        );
        assert!(r.focus_top("campaign"));
        assert!(!r.focus_top("segment"));
    }
}
