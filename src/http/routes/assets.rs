//! The form's own static files (`/assets/form.js`, `/assets/form.css`, `/embed.js`),
//! compiled into the binary, and the demo host page (`/demo`). The page links the
//! assets with a content hash in the query, so browsers may keep them for a year;
//! `/embed.js` has a fixed address (practices paste it), so it is cached briefly.

use crate::http::error::ApiError;
use crate::http::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, DOCTYPE};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A static file of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// The hosted page's script.
    FormJs,
    /// The hosted page's stylesheet.
    FormCss,
    /// The script practices embed.
    EmbedJs,
}

const FORM_JS: &str = include_str!("../assets/form.js");
const FORM_CSS: &str = include_str!("../assets/form.css");
const EMBED_JS: &str = include_str!("../assets/embed.js");

/// How long a versioned asset may be cached: a year (its URL changes with its content).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// How long the embed script may be cached: five minutes, so a fix reaches every
/// practice's site quickly.
const SHORT: &str = "public, max-age=300";

impl Asset {
    /// The file's content.
    pub fn body(self) -> &'static str {
        match self {
            Asset::FormJs => FORM_JS,
            Asset::FormCss => FORM_CSS,
            Asset::EmbedJs => EMBED_JS,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Asset::FormJs | Asset::EmbedJs => "text/javascript; charset=utf-8",
            Asset::FormCss => "text/css; charset=utf-8",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Asset::FormJs => "/assets/form.js",
            Asset::FormCss => "/assets/form.css",
            Asset::EmbedJs => "/embed.js",
        }
    }

    /// The first 16 hex digits of the content's SHA-256, computed once.
    fn version(self) -> &'static str {
        static VERSIONS: OnceLock<[String; 3]> = OnceLock::new();
        let all = VERSIONS.get_or_init(|| {
            [Asset::FormJs, Asset::FormCss, Asset::EmbedJs].map(|a| {
                let digest = Sha256::digest(a.body().as_bytes());
                digest[..8].iter().map(|b| format!("{b:02x}")).collect()
            })
        });
        match self {
            Asset::FormJs => &all[0],
            Asset::FormCss => &all[1],
            Asset::EmbedJs => &all[2],
        }
    }
}

/// The versioned address of an asset, as pages link it.
pub fn url(asset: Asset) -> String {
    format!("{}?v={}", asset.path(), asset.version())
}

fn serve(asset: Asset, req: &HttpRequest) -> HttpResponse {
    let versioned = url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k == "v" && v == asset.version());
    let cache = if versioned && asset != Asset::EmbedJs {
        IMMUTABLE
    } else {
        SHORT
    };
    HttpResponse::Ok()
        .content_type(asset.content_type())
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, format!("\"{}\"", asset.version())))
        .body(asset.body())
}

/// `GET /assets/form.js`: the hosted form's script.
#[utoipa::path(get, path = "/assets/form.js", tag = "public",
    responses((status = 200, description = "The hosted form's script", body = String, content_type = "text/javascript")))]
pub async fn form_js(req: HttpRequest) -> HttpResponse {
    serve(Asset::FormJs, &req)
}

/// `GET /assets/form.css`: the hosted form's stylesheet.
#[utoipa::path(get, path = "/assets/form.css", tag = "public",
    responses((status = 200, description = "The hosted form's stylesheet", body = String, content_type = "text/css")))]
pub async fn form_css(req: HttpRequest) -> HttpResponse {
    serve(Asset::FormCss, &req)
}

/// `GET /embed.js`: the one-line embed a practice pastes into its site.
#[utoipa::path(get, path = "/embed.js", tag = "public",
    responses((status = 200, description = "The embed script: `<script src=\"…/embed.js\" data-gaprelay-form=\"SLUG\" async></script>`", body = String, content_type = "text/javascript")))]
pub async fn embed_js(req: HttpRequest) -> HttpResponse {
    serve(Asset::EmbedJs, &req)
}

/// `GET /demo`: in demo mode, a stand-in for a practice's website that embeds the demo
/// form with the one line a practice would paste. A 404 otherwise.
#[utoipa::path(get, path = "/demo", tag = "public",
    responses(
        (status = 200, description = "A demo host page embedding the demo form (demo mode only)", body = String, content_type = "text/html"),
        (status = 404, description = "Not in demo mode (`not_found`)", body = crate::http::wire::common::ErrorBody,
         example = crate::http::wire::examples::demo_not_found),
    ))]
pub async fn demo(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some(slug) = &state.demo_form else {
        return Err(ApiError::not_found("resource"));
    };
    let snippet = format!(r#"<script src="/embed.js" data-gaprelay-form="{slug}" async></script>"#);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "A practice's website (gaprelay demo)" }
            }
            body {
                header {
                    h1 { "A practice's website" }
                    p {
                        "This stands in for a practice's own site. The form below is embedded with one line:"
                    }
                    pre { code { (snippet) } }
                }
                main {
                    script src="/embed.js" data-gaprelay-form=(slug) async {}
                }
            }
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The stand-in site runs nothing but the embed script and frames only the relay.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .body(page.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_addresses_change_with_their_content() {
        let js = url(Asset::FormJs);
        assert!(js.starts_with("/assets/form.js?v="), "{js}");
        assert_eq!(js.len(), "/assets/form.js?v=".len() + 16);
        assert_ne!(Asset::FormJs.version(), Asset::FormCss.version());
    }
}
