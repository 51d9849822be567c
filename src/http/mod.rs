//! The HTTP edge, the only actix-web code: routes, extractors, the error shape and
//! request logging. Handlers translate between the wire and [`crate::service`] and do
//! nothing else.

pub mod error;
pub mod extract;
pub mod logging;
pub mod routes;

use crate::crypto::api_key::AdminToken;
use crate::service::Services;
use actix_web::web;

/// Shared state of every handler.
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// The operator's token, if configured.
    pub admin_token: Option<AdminToken>,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(routes::health::healthz))
        .route("/readyz", web::get().to(routes::health::readyz))
        .service(
            web::scope("/v1")
                .route(
                    "/practitioners",
                    web::post().to(routes::operator::create_practitioner),
                )
                .route(
                    "/practitioner",
                    web::get().to(routes::config::get_practitioner),
                )
                .route("/markers", web::get().to(routes::config::markers))
                .route("/ranges/{marker}", web::put().to(routes::config::put_range))
                .route(
                    "/ranges/{marker}",
                    web::delete().to(routes::config::delete_range),
                )
                .route("/endpoints", web::post().to(routes::endpoints::create))
                .route("/endpoints", web::get().to(routes::endpoints::list))
                .route(
                    "/endpoints/{id}",
                    web::delete().to(routes::endpoints::delete),
                )
                .route("/forms/{slug}", web::get().to(routes::public::form))
                .route("/intake/{slug}", web::post().to(routes::public::intake)),
        );
}
