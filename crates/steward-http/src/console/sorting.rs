//! The header of a list sorted by its columns: each sortable column a link whose order turns
//! around when it is the current one, with the `aria-sort` state a screen reader announces.

pub struct SortLink {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none`, as `aria-sort` takes it.
    pub state: &'static str,
}

/// The links of `columns` (key, label) for a list sorted by `current` (`key`, or `-key` going
/// down); `href` makes the list's address for a sort.
pub fn sort_links(
    columns: &[(&'static str, &'static str)],
    current: &str,
    href: impl Fn(&str) -> String,
) -> Vec<SortLink> {
    columns
        .iter()
        .map(|&(key, label)| {
            let (state, next) = if current == key {
                ("ascending", format!("-{key}"))
            } else if current.strip_prefix('-') == Some(key) {
                ("descending", key.to_string())
            } else {
                ("none", key.to_string())
            };
            SortLink {
                label,
                href: href(&next),
                state,
            }
        })
        .collect()
}
