//! Customers in the console: find, open, create, edit, give an owner, record consents, interactions and tasks,
//! read their personalization, merge a duplicate into them, erase; views of the list saved. Searches by email or phone go in a form body, so no personal value ever lands in a
//! URL, a log line or the browser's history.

mod consent;
mod edit;
mod erasure;
mod list;
mod merge;
mod owner;
mod personalization;
mod record;
mod tasks;
mod views;

pub use consent::{object, receipt, record_consent};
pub use edit::{create, edit_form, new_form, update};
pub use erasure::{erase, erase_form};
pub use list::{bulk, erase_selection, list, search};
pub use merge::{confirm as confirm_merge, preview as preview_merge};
pub use owner::reassign;
pub use personalization::delete_attribute;
pub use record::{add_interaction, detail, export};
pub use tasks::{add_task, my_tasks, task_done, task_reopen};
pub use views::{delete as delete_view, save as save_view};

/// A typed value, trimmed; absent when nothing but spaces was typed.
fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}
