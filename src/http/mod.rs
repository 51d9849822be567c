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

/// Registers every route. Each path is one resource, so a method it does not take is a
/// 405 (shaped by [`error::ensure_error_shape`]) rather than a 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use routes::{config, endpoints, health, operator, public};
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(
            web::scope("/v1")
                .service(
                    web::resource("/practitioners")
                        .route(web::post().to(operator::create_practitioner)),
                )
                .service(
                    web::resource("/practitioner").route(web::get().to(config::get_practitioner)),
                )
                .service(web::resource("/markers").route(web::get().to(config::markers)))
                .service(
                    web::resource("/markers/{id}")
                        .route(web::put().to(config::put_custom_marker))
                        .route(web::delete().to(config::delete_custom_marker)),
                )
                .service(
                    web::resource("/symptoms")
                        .route(web::get().to(config::symptoms))
                        .route(web::put().to(config::put_symptoms)),
                )
                .service(
                    web::resource("/ranges/{marker}")
                        .route(web::put().to(config::put_range))
                        .route(web::delete().to(config::delete_range)),
                )
                .service(
                    web::resource("/endpoints")
                        .route(web::post().to(endpoints::create))
                        .route(web::get().to(endpoints::list)),
                )
                .service(
                    web::resource("/endpoints/{id}").route(web::delete().to(endpoints::delete)),
                )
                .service(web::resource("/forms/{slug}").route(web::get().to(public::form)))
                .service(web::resource("/intake/{slug}").route(web::post().to(public::intake))),
        );
}
