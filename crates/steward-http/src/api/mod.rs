//! The REST API. Routes are registered through `Routes`, which keeps the list of every
//! (method, path) so the role-matrix test can prove it covers them all.

pub(crate) mod accounts;
pub(crate) mod audiences;
pub(crate) mod audit;
pub(crate) mod breaches;
pub(crate) mod campaigns;
pub(crate) mod catalog;
pub(crate) mod companies;
pub(crate) mod consents;
pub(crate) mod customers;
pub(crate) mod keys;
pub(crate) mod notices;
pub(crate) mod personalization;
pub(crate) mod recipient_notices;
pub(crate) mod records;
pub(crate) mod requests;
pub(crate) mod retention;
pub(crate) mod security;
pub(crate) mod sharing;
pub(crate) mod subscriptions;
pub(crate) mod tasks;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use crate::AppState;

struct Routes {
    router: Router<AppState>,
    list: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add(mut self, method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Self {
        self.list.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

pub fn routes() -> (Router<AppState>, Vec<(Method, &'static str)>) {
    let r = Routes {
        router: Router::new(),
        list: Vec::new(),
    }
    .add(Method::GET, "/openapi.json", get(crate::openapi::serve))
    .add(Method::POST, "/auth/login", post(accounts::login))
    .add(Method::POST, "/auth/logout", post(accounts::logout))
    .add(Method::GET, "/me", get(accounts::me))
    .add(Method::GET, "/catalog", get(catalog::catalog))
    .add(Method::POST, "/customers", post(customers::create))
    .add(Method::GET, "/customers", get(customers::list))
    .add(Method::POST, "/customers/search", post(customers::search))
    .add(
        Method::POST,
        "/customers/bulk/owner",
        post(customers::reassign),
    )
    .add(Method::POST, "/customers/bulk/tags", post(customers::retag))
    .add(Method::GET, "/customers/{id}", get(customers::read))
    .add(Method::PATCH, "/customers/{id}", patch(customers::update))
    .add(Method::DELETE, "/customers/{id}", delete(customers::erase))
    .add(
        Method::POST,
        "/customers/{id}/merge",
        post(customers::merge),
    )
    .add(
        Method::POST,
        "/customers/{id}/interactions",
        post(customers::add_interaction),
    )
    .add(
        Method::GET,
        "/customers/{id}/interactions",
        get(customers::interactions),
    )
    .add(Method::GET, "/companies", get(companies::list))
    .add(Method::POST, "/companies", post(companies::create))
    .add(Method::GET, "/companies/{id}", get(companies::read))
    .add(Method::PATCH, "/companies/{id}", patch(companies::update))
    .add(Method::DELETE, "/companies/{id}", delete(companies::remove))
    .add(
        Method::GET,
        "/companies/{id}/customers",
        get(companies::customers),
    )
    .add(
        Method::POST,
        "/companies/{id}/customers",
        post(companies::add_customer),
    )
    .add(
        Method::DELETE,
        "/companies/{id}/customers/{customer_id}",
        delete(companies::remove_customer),
    )
    .add(Method::POST, "/customers/{id}/tasks", post(tasks::create))
    .add(
        Method::GET,
        "/customers/{id}/tasks",
        get(tasks::of_customer),
    )
    .add(
        Method::GET,
        "/customers/{id}/timeline",
        get(tasks::timeline),
    )
    .add(Method::GET, "/tasks", get(tasks::of_owner))
    .add(Method::POST, "/tasks/{id}/done", post(tasks::done))
    .add(Method::POST, "/tasks/{id}/reopen", post(tasks::reopen))
    .add(
        Method::GET,
        "/customers/{id}/consents",
        get(consents::current),
    )
    .add(
        Method::POST,
        "/customers/{id}/consents",
        post(consents::record),
    )
    .add(
        Method::GET,
        "/customers/{id}/consents/history",
        get(consents::history),
    )
    .add(
        Method::POST,
        "/customers/{id}/objections",
        post(consents::object),
    )
    .add(Method::POST, "/audiences", post(audiences::evaluate))
    .add(Method::POST, "/audiences/export", post(audiences::export))
    .add(Method::GET, "/segments", get(campaigns::segments))
    .add(Method::POST, "/segments", post(campaigns::create_segment))
    .add(Method::GET, "/campaigns", get(campaigns::campaigns))
    .add(Method::POST, "/campaigns", post(campaigns::create_campaign))
    .add(Method::GET, "/campaigns/{id}", get(campaigns::campaign))
    .add(Method::POST, "/campaigns/{id}/send", post(campaigns::send))
    .add(
        Method::GET,
        "/campaigns/{id}/preview",
        get(campaigns::preview),
    )
    .add(
        Method::POST,
        "/campaigns/{id}/test-send",
        post(campaigns::test_send),
    )
    .add(
        Method::PUT,
        "/campaigns/{id}/schedule",
        put(campaigns::schedule),
    )
    .add(
        Method::DELETE,
        "/campaigns/{id}/schedule",
        delete(campaigns::unschedule),
    )
    .add(
        Method::GET,
        "/campaigns/{id}/results",
        get(campaigns::results),
    )
    .add(Method::GET, "/customers/{id}/export", get(requests::export))
    .add(
        Method::GET,
        "/customers/{id}/recipient-updates",
        get(requests::recipient_updates),
    )
    .add(Method::GET, "/requests", get(requests::list))
    .add(Method::POST, "/requests", post(requests::create))
    .add(Method::GET, "/requests/report", get(requests::report))
    .add(Method::GET, "/requests/{id}", get(requests::read))
    .add(
        Method::POST,
        "/requests/{id}/verify",
        post(requests::verify),
    )
    .add(Method::POST, "/requests/{id}/start", post(requests::start))
    .add(
        Method::POST,
        "/requests/{id}/extend",
        post(requests::extend),
    )
    .add(
        Method::POST,
        "/requests/{id}/complete",
        post(requests::complete),
    )
    .add(Method::POST, "/requests/{id}/deny", post(requests::deny))
    .add(Method::GET, "/keys", get(keys::status))
    .add(Method::POST, "/keys/rotate", post(keys::rotate))
    .add(
        Method::POST,
        "/keys/{version}/compromised",
        post(keys::mark_compromised),
    )
    .add(Method::GET, "/retention/rules", get(retention::rules))
    .add(
        Method::POST,
        "/retention/rules",
        post(retention::create_rule),
    )
    .add(
        Method::PATCH,
        "/retention/rules/{key}",
        patch(retention::update_rule),
    )
    .add(Method::GET, "/legal-holds", get(retention::holds))
    .add(Method::POST, "/legal-holds", post(retention::create_hold))
    .add(
        Method::DELETE,
        "/legal-holds/{id}",
        delete(retention::release_hold),
    )
    .add(Method::POST, "/retention/runs", post(retention::start_run))
    .add(Method::GET, "/retention/runs/{id}", get(retention::run))
    .add(Method::GET, "/vendors", get(sharing::vendors))
    .add(Method::POST, "/vendors", post(sharing::create_vendor))
    .add(Method::GET, "/vendors/{id}", get(sharing::vendor))
    .add(
        Method::PATCH,
        "/vendors/{id}",
        patch(sharing::update_vendor),
    )
    .add(Method::GET, "/vendors/{id}/reviews", get(sharing::reviews))
    .add(Method::POST, "/vendors/{id}/reviews", post(sharing::review))
    .add(Method::GET, "/vendors/{id}/webhook", get(sharing::webhook))
    .add(
        Method::PUT,
        "/vendors/{id}/webhook",
        put(sharing::set_webhook),
    )
    .add(
        Method::DELETE,
        "/vendors/{id}/webhook",
        delete(sharing::remove_webhook),
    )
    .add(
        Method::GET,
        "/webhooks/subscriptions",
        get(subscriptions::list),
    )
    .add(
        Method::POST,
        "/webhooks/subscriptions",
        post(subscriptions::create),
    )
    .add(
        Method::GET,
        "/webhooks/subscriptions/{id}",
        get(subscriptions::read),
    )
    .add(
        Method::PATCH,
        "/webhooks/subscriptions/{id}",
        patch(subscriptions::update),
    )
    .add(
        Method::DELETE,
        "/webhooks/subscriptions/{id}",
        delete(subscriptions::delete),
    )
    .add(
        Method::POST,
        "/webhooks/subscriptions/{id}/rotate-secret",
        post(subscriptions::rotate_secret),
    )
    .add(
        Method::GET,
        "/webhooks/subscriptions/{id}/deliveries",
        get(subscriptions::deliveries),
    )
    .add(Method::GET, "/agreements", get(sharing::agreements))
    .add(Method::POST, "/agreements", post(sharing::create_agreement))
    .add(Method::GET, "/agreements/{id}", get(sharing::agreement))
    .add(
        Method::PATCH,
        "/agreements/{id}",
        patch(sharing::update_agreement),
    )
    .add(Method::GET, "/transfers/adequacy", get(sharing::adequacy))
    .add(Method::GET, "/ropa", get(records::ropa))
    .add(
        Method::GET,
        "/transfers/affected-agreements",
        get(sharing::affected_agreements),
    )
    .add(Method::POST, "/transfers/check", post(sharing::check))
    .add(Method::POST, "/shares", post(sharing::share))
    .add(Method::GET, "/shares/{id}", get(sharing::share_view))
    .add(Method::GET, "/shares/{id}/download", get(sharing::download))
    .add(
        Method::GET,
        "/shares/{id}/deliveries",
        get(sharing::deliveries),
    )
    .add(
        Method::GET,
        "/customers/{id}/disclosures",
        get(sharing::disclosures),
    )
    .add(
        Method::GET,
        "/recipient-notices",
        get(recipient_notices::list),
    )
    .add(
        Method::POST,
        "/recipient-notices/{id}/status",
        post(recipient_notices::mark),
    )
    .add(
        Method::GET,
        "/recipient-notices/{id}/deliveries",
        get(recipient_notices::deliveries),
    )
    .add(
        Method::GET,
        "/customers/{id}/recipient-notices",
        get(recipient_notices::of_customer),
    )
    .add(Method::GET, "/notices", get(notices::list))
    .add(Method::POST, "/notices", post(notices::create))
    .add(
        Method::POST,
        "/notices/{id}/publish",
        post(notices::publish),
    )
    .add(Method::GET, "/receipts/{id}", get(consents::receipt))
    .add(Method::POST, "/receipts/verify", post(consents::verify))
    .add(
        Method::GET,
        "/customers/{id}/personalization",
        get(personalization::level),
    )
    .add(
        Method::PUT,
        "/customers/{id}/personalization",
        put(personalization::set_level),
    )
    .add(
        Method::GET,
        "/customers/{id}/recommendations",
        get(personalization::recommend),
    )
    .add(
        Method::GET,
        "/customers/{id}/attributes",
        get(personalization::attributes),
    )
    .add(
        Method::PUT,
        "/customers/{id}/attributes/{key}",
        put(personalization::put_attribute),
    )
    .add(
        Method::DELETE,
        "/customers/{id}/attributes/{key}",
        delete(personalization::delete_attribute),
    )
    .add(Method::GET, "/offers", get(personalization::offers))
    .add(Method::POST, "/offers", post(personalization::create_offer))
    .add(
        Method::DELETE,
        "/offers/{key}",
        delete(personalization::retire_offer),
    )
    .add(Method::GET, "/breaches", get(breaches::list))
    .add(Method::POST, "/breaches", post(breaches::open))
    .add(Method::GET, "/breaches/{id}", get(breaches::get_one))
    .add(Method::PATCH, "/breaches/{id}", patch(breaches::update))
    .add(
        Method::POST,
        "/breaches/{id}/phases",
        post(breaches::add_phase),
    )
    .add(
        Method::POST,
        "/breaches/{id}/steps/{step}",
        post(breaches::step),
    )
    .add(Method::POST, "/breaches/{id}/scope", post(breaches::scope))
    .add(
        Method::GET,
        "/breaches/{id}/authority-notice",
        get(breaches::authority_notice),
    )
    .add(
        Method::POST,
        "/breaches/{id}/customer-notices",
        post(breaches::customer_notices),
    )
    .add(Method::GET, "/breach-plan", get(breaches::plan))
    .add(Method::GET, "/audit", get(audit::search))
    .add(Method::GET, "/audit/verify", get(audit::verify))
    .add(Method::GET, "/security/audit", get(security::audit))
    .add(Method::GET, "/users", get(accounts::list_users))
    .add(Method::POST, "/users", post(accounts::add_user))
    .add(Method::PATCH, "/users/{id}", patch(accounts::update_user))
    .add(Method::GET, "/tokens", get(accounts::list_tokens))
    .add(Method::POST, "/tokens", post(accounts::create_token))
    .add(
        Method::DELETE,
        "/tokens/{id}",
        delete(accounts::revoke_token),
    );
    (
        r.router
            .method_not_allowed_fallback(crate::problem::method_not_allowed),
        r.list,
    )
}
