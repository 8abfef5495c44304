//! What the staff console and the public pages share: cookies, the tokens that keep other
//! sites from posting forms, rendering a template, the pages' security headers, and the
//! browser's Global Privacy Control signal. `console/` and `public/` both build on this and
//! never on each other.

mod cookies;
mod csrf;
mod gpc;
mod policy;
mod render;

pub use cookies::{CookiePath, cookie};
pub use csrf::{csrf_for, random_value, same};
pub use gpc::Gpc;
pub use policy::{PUBLIC_CSP, with_console_policy, with_public_policy};
pub use render::{attachment, render, render_checked, see_other};
