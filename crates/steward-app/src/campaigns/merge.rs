//! Merge fields in a campaign's body: `{{attribute:KEY|fallback}}` for a profile attribute
//! and `{{field:KEY|fallback}}` for a customer field the campaign's purpose needs. The body is
//! parsed once, when the campaign is made, so an unknown key is refused then; each recipient's
//! copy is then filled in one pass, so a value that itself looks like a merge field is written
//! as it is, never expanded. Values go into the body only, on one line each: a line break in
//! a value cannot start a line the message did not have.

/// How long a fallback may be; a value longer than `MAX_VALUE` is cut.
const MAX_FALLBACK: usize = 100;
const MAX_VALUE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Attribute { key: String, fallback: String },
    Field { key: String, fallback: String },
}

/// A body with its merge fields found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `body`; `attribute` and `field` say whether a key may be merged. The error
    /// says what is wrong, for the `body` field.
    pub(crate) fn parse(
        body: &str,
        attribute: impl Fn(&str) -> bool,
        field: impl Fn(&str) -> bool,
    ) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = body;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let inner = &rest[start + 2..];
            let end = inner
                .find("}}")
                .ok_or("a merge field opened with {{ is not closed with }}")?;
            parts.push(merge_field(&inner[..end], &attribute, &field)?);
            rest = &inner[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The profile attributes the body merges.
    pub(crate) fn attributes(&self) -> Vec<String> {
        self.keys(|p| match p {
            Part::Attribute { key, .. } => Some(key),
            _ => None,
        })
    }

    /// The customer fields the body merges.
    pub(crate) fn fields(&self) -> Vec<String> {
        self.keys(|p| match p {
            Part::Field { key, .. } => Some(key),
            _ => None,
        })
    }

    fn keys(&self, pick: impl Fn(&Part) -> Option<&String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for key in self.parts.iter().filter_map(pick) {
            if !out.contains(key) {
                out.push(key.clone());
            }
        }
        out
    }

    /// One recipient's body: each merge field replaced by the value `attribute` or `field`
    /// gives for it, or by its fallback.
    pub(crate) fn render(
        &self,
        attribute: impl Fn(&str) -> Option<String>,
        field: impl Fn(&str) -> Option<String>,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Attribute { key, fallback } => {
                    out.push_str(&attribute(key).map_or_else(|| fallback.clone(), one_line));
                }
                Part::Field { key, fallback } => {
                    out.push_str(&field(key).map_or_else(|| fallback.clone(), one_line));
                }
            }
        }
        out
    }
}

fn merge_field(
    inner: &str,
    attribute: &impl Fn(&str) -> bool,
    field: &impl Fn(&str) -> bool,
) -> Result<Part, String> {
    let (name, fallback) = inner.split_once('|').unwrap_or((inner, ""));
    if fallback.chars().count() > MAX_FALLBACK
        || fallback
            .chars()
            .any(|c| c.is_control() || c == '{' || c == '}')
    {
        return Err(format!(
            "a merge field's fallback is at most {MAX_FALLBACK} characters on one line, without braces"
        ));
    }
    let fallback = fallback.to_string();
    match name.trim().split_once(':') {
        Some(("attribute", key)) if attribute(key) => Ok(Part::Attribute {
            key: key.to_string(),
            fallback,
        }),
        Some(("attribute", key)) => Err(format!(
            "{{{{attribute:{key}}}}} is not a profile attribute of the catalog"
        )),
        Some(("field", key)) if field(key) => Ok(Part::Field {
            key: key.to_string(),
            fallback,
        }),
        Some(("field", key)) => Err(format!(
            "{{{{field:{key}}}}} is not a field the campaign's purpose needs"
        )),
        _ => Err("merge fields are {{attribute:KEY|fallback}} or {{field:KEY|fallback}}".into()),
    }
}

/// A value as it is merged: control characters (line breaks among them) become spaces, and
/// a long value is cut.
fn one_line(value: String) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_VALUE)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Template, String> {
        Template::parse(body, |k| k == "favourite_category", |k| k == "given_name")
    }

    #[test]
    fn fills_each_field_or_its_fallback() {
        let t = parse(
            "Hi {{field:given_name|there}}, more {{attribute:favourite_category|of everything}}!",
        )
        .expect("parsed");
        assert_eq!(t.attributes(), ["favourite_category"]);
        assert_eq!(t.fields(), ["given_name"]);
        let full = t.render(|_| Some("garden".into()), |_| Some("Ada".into()));
        assert_eq!(full, "Hi Ada, more garden!");
        let none = t.render(|_| None, |_| None);
        assert_eq!(none, "Hi there, more of everything!");
    }

    #[test]
    fn a_value_is_never_expanded_again_nor_breaks_a_line() {
        let t =
            parse("{{field:given_name}} likes {{attribute:favourite_category}}").expect("parsed");
        let out = t.render(
            |_| Some("x\r\nBcc: someone@example.com".into()),
            |_| Some("{{attribute:favourite_category}}".into()),
        );
        assert_eq!(
            out,
            "{{attribute:favourite_category}} likes x  Bcc: someone@example.com"
        );
    }

    #[test]
    fn unknown_and_malformed_fields_are_refused() {
        for body in [
            "{{attribute:shoe_size}}",
            "{{field:phone}}",
            "{{name}}",
            "Hello {{field:given_name",
            "{{field:given_name|two\nlines}}",
        ] {
            assert!(parse(body).is_err(), "{body}");
        }
        assert_eq!(
            parse("no fields at all").expect("plain").fields(),
            Vec::<String>::new()
        );
    }
}
