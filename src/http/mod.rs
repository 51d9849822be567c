//! The HTTP edge, the only actix-web code: routes, extractors, the error shape and
//! request logging. Handlers translate between the wire and [`crate::service`] and do
//! nothing else.

pub mod cors;
pub mod docs_page;
pub mod error;
pub mod extract;
pub mod headers;
pub mod logging;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod slow_clients;
pub mod wire;

use crate::crypto::api_key::AdminToken;
use crate::service::Services;
use actix_web::web;

/// Shared state of every handler.
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// The operator's token, if configured.
    pub admin_token: Option<AdminToken>,
    /// The token that opens `GET /metrics`; without one `/metrics` is a 404.
    pub metrics_token: Option<AdminToken>,
    /// Longest a request body may take to arrive (408 after it).
    pub body_read_timeout: std::time::Duration,
    /// Rate limits of the public routes.
    pub limiter: std::sync::Arc<ratelimit::PublicLimiter>,
    /// The form `/demo` embeds (demo mode only).
    pub demo_form: Option<String>,
}

/// The routes of `gaprelay worker`: liveness, readiness and metrics only (the same
/// handlers, and the same metrics token, as `serve`'s).
pub fn configure_worker(cfg: &mut web::ServiceConfig) {
    use routes::health;
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(health::metrics)));
}

/// Registers every route. Each path is one resource, so a method it does not take is a
/// 405 (shaped by [`error::ensure_error_shape`]) rather than a 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use actix_web::middleware::Compress;
    use routes::{
        account, assets, config, docs, endpoints, form_page, health, operator, public, schemas,
    };
    // The busiest routes first: the router tries resources in order, matching each
    // pattern with a `{slug}` by regex (docs/performance.md).
    cfg.service(web::resource("/v1/intake/{slug}").route(web::post().to(public::intake)))
        .service(web::resource("/v1/forms/{slug}").route(web::get().to(public::form)));
    // The patient's form and its files are compressed (they hold no secret, and the
    // budget for what a patient downloads is counted compressed); the API is not.
    cfg.service(
        web::resource("/fhir/Questionnaire/{slug}").route(web::get().to(public::questionnaire)),
    )
    .service(
        web::resource("/f/{slug}")
            .wrap(Compress::default())
            .route(web::get().to(form_page::hosted_form)),
    )
    .service(
        web::resource("/assets/form.js")
            .wrap(Compress::default())
            .route(web::get().to(assets::form_js)),
    )
    .service(
        web::resource("/assets/form.css")
            .wrap(Compress::default())
            .route(web::get().to(assets::form_css)),
    )
    .service(
        web::resource("/embed.js")
            .wrap(Compress::default())
            .route(web::get().to(assets::embed_js)),
    )
    .service(web::resource("/demo").route(web::get().to(assets::demo)));
    cfg.app_data(web::Data::new(docs::ApiReference {
        document: openapi::document,
        html: docs_page::html,
        csp: docs_page::csp,
    }));
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(health::metrics)))
        .service(web::resource("/openapi.json").route(web::get().to(docs::openapi_json)))
        .service(web::resource("/docs").route(web::get().to(docs::docs_page)))
        .service(web::resource("/schemas/{name}.json").route(web::get().to(schemas::schema)))
        .service(
            web::scope("/v1")
                .service(
                    web::resource("/practitioners")
                        .route(web::post().to(operator::create_practitioner))
                        .route(web::get().to(operator::list_practitioners)),
                )
                .service(
                    web::resource("/practitioners/{id}/suspend")
                        .route(web::post().to(operator::suspend)),
                )
                .service(
                    web::resource("/practitioners/{id}/reinstate")
                        .route(web::post().to(operator::reinstate)),
                )
                .service(
                    web::resource("/operator/audit-log").route(web::get().to(operator::audit_log)),
                )
                .service(
                    web::resource("/practitioner")
                        .route(web::get().to(account::get_practitioner))
                        .route(web::patch().to(account::patch_practitioner))
                        .route(web::delete().to(account::delete_practitioner)),
                )
                .service(
                    web::resource("/practitioner/consent-versions")
                        .route(web::get().to(account::consent_versions)),
                )
                .service(
                    web::resource("/practitioner/consent-versions/{version}")
                        .route(web::get().to(account::consent_version)),
                )
                .service(
                    web::resource("/practitioner/restore")
                        .route(web::post().to(account::restore_practitioner)),
                )
                .service(
                    web::resource("/practitioner/export").route(web::get().to(account::export)),
                )
                .service(
                    web::resource("/practitioner/import").route(web::post().to(account::import)),
                )
                .service(
                    web::resource("/api-keys")
                        .route(web::post().to(account::create_api_key))
                        .route(web::get().to(account::list_api_keys)),
                )
                .service(
                    web::resource("/api-keys/{id}")
                        .route(web::delete().to(account::revoke_api_key)),
                )
                .service(web::resource("/audit-log").route(web::get().to(account::audit_log)))
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
                    web::resource("/endpoints/{id}")
                        .route(web::patch().to(endpoints::update))
                        .route(web::delete().to(endpoints::delete)),
                )
                .service(
                    web::resource("/endpoints/{id}/rotate")
                        .route(web::post().to(endpoints::rotate)),
                )
                .service(web::resource("/deliveries").route(web::get().to(endpoints::deliveries)))
                .service(
                    web::resource("/endpoints/{id}/test").route(web::post().to(endpoints::test)),
                )
                .service(
                    web::resource("/endpoints/{id}/retry").route(web::post().to(endpoints::retry)),
                ),
        );
}
