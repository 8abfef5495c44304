//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they
//! take and return.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::{
    accounts, audiences, audit, breaches, campaigns, catalog, companies, consents, customers, keys,
    notices, personalization, recipient_notices, records, requests, retention, security, sharing,
    subscriptions, tasks,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Steward API", description = "Privacy-first customer data: every request states its purpose and is audited."),
    servers((url = "/api/v1")),
    paths(
        accounts::login, accounts::logout, accounts::me, catalog::catalog,
        customers::create, customers::list, customers::search, customers::read, customers::update, customers::erase,
        customers::add_interaction, customers::interactions, customers::merge,
        customers::reassign, customers::retag,
        companies::list, companies::create, companies::read, companies::update, companies::remove,
        companies::customers, companies::add_customer, companies::remove_customer,
        tasks::create, tasks::of_customer, tasks::of_owner, tasks::done, tasks::reopen, tasks::timeline,
        consents::current, consents::record, consents::history, consents::object,
        consents::receipt, consents::verify,
        audiences::evaluate, audiences::export, campaigns::segments, campaigns::create_segment,
        campaigns::campaigns, campaigns::create_campaign, campaigns::campaign, campaigns::send,
        campaigns::preview, campaigns::test_send, campaigns::schedule, campaigns::unschedule,
        campaigns::results,
        notices::list, notices::create, notices::publish,
        requests::list, requests::create, requests::report, requests::read, requests::verify,
        requests::start, requests::extend, requests::complete, requests::deny, requests::export, requests::recipient_updates,
        retention::rules, retention::create_rule, retention::update_rule, retention::holds,
        retention::create_hold, retention::release_hold, retention::start_run, retention::run,
        sharing::vendors, sharing::create_vendor, sharing::vendor, sharing::update_vendor,
        sharing::reviews, sharing::review, sharing::agreements, sharing::create_agreement,
        sharing::agreement, sharing::update_agreement, sharing::adequacy, sharing::affected_agreements, sharing::check,
        sharing::share, sharing::share_view, sharing::download, sharing::disclosures,
        recipient_notices::list, recipient_notices::of_customer, recipient_notices::mark,
        recipient_notices::deliveries,
        records::ropa,
        sharing::webhook, sharing::set_webhook, sharing::remove_webhook, sharing::deliveries,
        subscriptions::list, subscriptions::create, subscriptions::read, subscriptions::update,
        subscriptions::delete, subscriptions::rotate_secret, subscriptions::deliveries,
        audit::search, audit::verify, security::audit,
        breaches::list, breaches::open, breaches::get_one, breaches::update, breaches::add_phase,
        breaches::step, breaches::scope, breaches::authority_notice, breaches::customer_notices, breaches::plan,
        personalization::level, personalization::set_level, personalization::recommend,
        personalization::attributes, personalization::put_attribute, personalization::delete_attribute,
        personalization::offers, personalization::create_offer, personalization::retire_offer,
        keys::status, keys::rotate, keys::mark_compromised,
        accounts::list_users, accounts::add_user, accounts::update_user,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
    ),
    modifiers(&BearerAuth, &ProblemResponses),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// Answers every operation may give whatever it does, all as problem documents.
const COMMON_PROBLEMS: [(&str, &str); 9] = [
    ("400", "Malformed request"),
    ("401", "No valid credentials"),
    ("403", "Not allowed for this role or purpose"),
    ("405", "Method not allowed"),
    ("413", "Body too large"),
    ("415", "Body is not JSON"),
    ("422", "Invalid input"),
    ("429", "Too many requests"),
    ("500", "Internal error"),
];

/// Every error answer is an RFC 9457 problem: documents it so for every operation.
struct ProblemResponses;

impl ProblemResponses {
    fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
        let content = Content::new(Some(Ref::from_schema_name("Problem")));
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", content)
                .build(),
        )
    }

    fn fix(op: &mut Operation) {
        for (status, response) in op.responses.responses.iter_mut() {
            if status.as_str() >= "400"
                && let RefOr::T(r) = response
            {
                let description = r.description.clone();
                *response = Self::problem(&description);
            }
        }
        for (status, description) in COMMON_PROBLEMS {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| Self::problem(description));
        }
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                Self::fix(op);
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn serve() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document())
}
