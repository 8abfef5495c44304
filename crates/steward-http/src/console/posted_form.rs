//! A posted form whose names may repeat (ticked boxes, a selection of customers), read by
//! name: one value, every value, or what was typed, to show again beside a refusal.

use std::collections::HashMap;

#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct PostedForm(Vec<(String, String)>);

impl PostedForm {
    /// The first value sent under `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent under `name`, in the order sent.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// What was typed in each input but the repeated `ticked`, for a refusal to show again.
    pub fn typed_except(&self, ticked: &str) -> HashMap<String, String> {
        self.0
            .iter()
            .filter(|(n, _)| n != ticked)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> PostedForm {
        PostedForm(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn repeated_names_are_read_in_the_order_sent() {
        let f = form(&[("csrf", "t"), ("ids", "b"), ("ids", "a"), ("name", "x")]);
        assert_eq!(f.one("ids"), Some("b"));
        assert_eq!(f.all("ids"), ["b", "a"]);
        assert_eq!(f.one("missing"), None);
        assert!(f.all("missing").is_empty());
        let typed = f.typed_except("ids");
        assert_eq!(typed.len(), 2);
        assert_eq!(typed["name"], "x");
    }

    #[test]
    fn a_urlencoded_body_with_crlf_and_repeats_reads_whole() {
        let f: PostedForm =
            serde_urlencoded::from_str("event=a&event=b&note=one%0D%0Atwo").expect("form");
        assert_eq!(f.all("event"), ["a", "b"]);
        assert_eq!(f.one("note"), Some("one\r\ntwo"));
    }
}
