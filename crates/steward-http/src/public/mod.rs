//! What the public and customers reach without a staff account: the privacy portal, the
//! public sign-up forms, the pages behind the links Steward emails, the published privacy
//! notice, and the files under `/.well-known/`. No page here carries a script.

mod dates;
mod forms;
mod links;
mod personalization_words;
mod portal;
mod portal_outcomes;
mod portal_personalization;
mod portal_told;
mod portal_view;
mod privacy;
mod well_known;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(well_known::routes())
        .merge(privacy::routes())
        .merge(links::routes())
        .merge(forms::routes())
        .merge(portal::routes())
        .merge(portal_personalization::routes())
}
