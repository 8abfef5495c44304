//! The OpenAPI 3.1 document, generated from the handlers' annotations and the types they
//! take and return.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{accounts, audit, catalog, customers};

#[derive(OpenApi)]
#[openapi(
    info(title = "Steward API", description = "Privacy-first customer data: every request states its purpose and is audited."),
    servers((url = "/api/v1")),
    paths(
        accounts::login, accounts::logout, accounts::me, catalog::catalog,
        customers::create, customers::list, customers::read, customers::update, customers::erase,
        customers::add_interaction, customers::interactions,
        audit::search, audit::verify,
        accounts::list_users, accounts::add_user, accounts::update_user,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
    ),
    modifiers(&BearerAuth),
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn serve() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document())
}
