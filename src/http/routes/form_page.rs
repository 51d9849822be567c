//! The patient's form as a page of the relay's own (`GET /f/{slug}`), server-rendered
//! from the practice's [`FormLayout`], with a Content-Security-Policy that allows our
//! one script and stylesheet only and lets the page be framed by the practice's allowed
//! origins alone. Patient data never passes through here: the page is the same for
//! every visitor (but for the form token that dates it), and what the patient types is
//! sent by the script straight to the intake route.

use crate::domain::colour::readable_on_white;
use crate::domain::form::{FormLayout, FormMarker};
use crate::domain::practitioner::FieldMode;
use crate::http::cors::is_same_origin;
use crate::http::error::ApiError;
use crate::http::routes::assets::{self, Asset};
use crate::http::AppState;
use crate::store::FormContext;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

/// Brand colours used when a practice sets none (both pass 4.5:1 with white).
const DEFAULT_PRIMARY: &str = "#1a6b4f";
const DEFAULT_SECONDARY: &str = "#2d4a6b";
/// Longest page URL taken as a lead source.
const MAX_PAGE_URL: usize = 2048;
/// Longest UTM value taken.
const MAX_UTM_LEN: usize = 200;
/// The UTM parameters a page passes on, in the order the webhook lists them.
const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// What the embedding script tells the page about where it stands, checked.
#[derive(Debug, Default)]
struct EmbedContext {
    /// The host page's origin, when it may receive our messages.
    parent: Option<String>,
    /// The host page's URL without query or fragment.
    page: Option<String>,
    /// UTM parameters, as a JSON object.
    utm: Option<String>,
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
fn origin_of(url: &url::Url) -> Option<String> {
    matches!(url.scheme(), "http" | "https")
        .then(|| url.origin().ascii_serialization())
        .filter(|o| o != "null")
}

fn embed_context(req: &HttpRequest, allowed: &[String]) -> EmbedContext {
    let mut ctx = EmbedContext::default();
    let mut utm = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "parent" => {
                let same = is_same_origin(&value, req);
                if allowed.iter().any(|o| *o == value) || same {
                    ctx.parent = Some(value.into_owned());
                }
            }
            "page" if value.len() <= MAX_PAGE_URL => {
                if let Ok(mut u) = url::Url::parse(&value) {
                    if origin_of(&u).is_some() {
                        u.set_query(None);
                        u.set_fragment(None);
                        ctx.page = Some(u.to_string());
                    }
                }
            }
            k if UTM_KEYS.contains(&k)
                && !value.is_empty()
                && value.chars().count() <= MAX_UTM_LEN
                && !value.chars().any(char::is_control) =>
            {
                let short = k.trim_start_matches("utm_").to_owned();
                utm.insert(short, serde_json::Value::String(value.into_owned()));
            }
            _ => {}
        }
    }
    if !utm.is_empty() {
        ctx.utm = serde_json::to_string(&utm).ok();
    }
    ctx
}

/// An id fragment safe in HTML ids and CSS selectors.
fn dom_id(marker: &str) -> String {
    marker
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

/// The inline theme: the practice's colours as custom properties, made readable.
fn theme_css(ctx: &FormContext) -> String {
    let b = &ctx.practitioner.settings.branding;
    let colour = |c: &Option<String>, default: &str| {
        c.as_deref()
            .map(readable_on_white)
            .unwrap_or_else(|| default.to_owned())
    };
    format!(
        ":root{{--gr-primary:{};--gr-secondary:{}}}",
        colour(&b.primary_color, DEFAULT_PRIMARY),
        colour(&b.secondary_color, DEFAULT_SECONDARY)
    )
}

/// The logo, when the browser may fetch it: only from one of the practice's own
/// allowed origins, so the page never asks a third host for anything.
fn logo(ctx: &FormContext) -> Option<(String, String)> {
    let s = &ctx.practitioner.settings;
    let url = url::Url::parse(s.branding.logo_url.as_deref()?).ok()?;
    let origin = origin_of(&url)?;
    s.allowed_origins
        .contains(&origin)
        .then(|| (url.to_string(), origin))
}

fn csp(theme: &str, ctx: &FormContext, logo_origin: Option<&str>) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(theme));
    let mut ancestors = String::from("'self'");
    for o in &ctx.practitioner.settings.allowed_origins {
        ancestors.push(' ');
        ancestors.push_str(o);
    }
    let img = match logo_origin {
        Some(o) => format!("'self' data: {o}"),
        None => "'self' data:".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-{hash}'; \
         img-src {img}; connect-src 'self'; form-action 'none'; base-uri 'none'; \
         frame-ancestors {ancestors}"
    )
}

fn marker_row(m: &FormMarker) -> Markup {
    let id = dom_id(&m.id);
    let value_id = format!("lab-{id}-value");
    let unit_id = format!("lab-{id}-unit");
    let about_id = format!("lab-{id}-about");
    html! {
        div.gr-lab data-marker=(m.id) {
            label for=(value_id) { (m.name) }
            @if let Some(about) = &m.about {
                p.gr-about id=(about_id) { (about) }
            }
            div.gr-lab-inputs {
                input id=(value_id) type="text" inputmode="decimal" autocomplete="off"
                    aria-describedby=[m.about.as_ref().map(|_| &about_id)];
                label.gr-sr for=(unit_id) { (m.name) " unit" }
                select id=(unit_id) {
                    @for u in &m.units {
                        option value=(u) selected[*u == m.unit] { (u) }
                    }
                }
            }
            p.gr-error id={ "lab-" (id) "-error" } hidden {}
        }
    }
}

fn contact_input(mode: FieldMode, id: &str, label: &str, kind: &str, autocomplete: &str) -> Markup {
    let required = mode == FieldMode::Required;
    html! {
        @if mode != FieldMode::Off {
            div.gr-field {
                label for=(id) {
                    (label)
                    @if required { " " span.gr-req { "(required)" } }
                }
                input id=(id) type=(kind) autocomplete=(autocomplete)
                    required[required] aria-required=[required.then_some("true")];
                p.gr-error id={ (id) "-error" } hidden {}
            }
        }
    }
}

fn page(ctx: &FormContext, layout: &FormLayout, embed: &EmbedContext, token: &str) -> Markup {
    let p = &ctx.practitioner;
    let s = &p.settings;
    let theme = theme_css(ctx);
    let logo = logo(ctx);
    let catalog = serde_json::to_string(&layout.others).unwrap_or_else(|_| "[]".to_owned());
    let cf = s.contact_fields;
    let cta = s.call_to_action.as_ref();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="description" content={ "Compare your lab results with " (p.practice_name) "'s optimal ranges." };
                // No icon: an empty one keeps browsers from asking for /favicon.ico.
                link rel="icon" href="data:,";
                title { "Lab gap check · " (p.practice_name) }
                link rel="stylesheet" href=(assets::url(Asset::FormCss));
                style id="gr-theme" { (PreEscaped(&theme)) }
                script src=(assets::url(Asset::FormJs)) defer {}
            }
            body {
                main #gaprelay .gr data-slug=(p.slug.as_str())
                    data-intake={ "/v1/intake/" (p.slug.as_str()) }
                    data-form-token=(token)
                    data-practice=(p.practice_name)
                    data-parent-origin=[embed.parent.as_deref()]
                    data-page=[embed.page.as_deref()]
                    data-utm=[embed.utm.as_deref()] {
                    header.gr-brand {
                        @if let Some((src, _)) = &logo {
                            img.gr-logo src=(src) alt={ (p.practice_name) " logo" };
                        }
                        h1 { (p.practice_name) }
                        p.gr-doctor { (p.doctor_name) }
                    }
                    @if !p.accepts_submissions() {
                        p.gr-closed role="status" {
                            "This practice is not taking submissions through this form right now. "
                            "Please contact them directly."
                        }
                    } @else {
                        p.gr-intro {
                            "Enter the results from your lab report to see how each compares with "
                            (p.doctor_name) "'s optimal range and the lab's standard range. "
                            "Nothing you type is stored by this page."
                        }
                        form #gr-form novalidate {
                            div #gr-errors .gr-errors role="alert" tabindex="-1" hidden {}
                            fieldset #gr-labs {
                                legend { "Your lab results" }
                                p.gr-hint {
                                    "Type each value as printed on your report (for example 5.2, 5,2 or <0.5) "
                                    "and pick the unit printed beside it. Leave blank what you don't have."
                                }
                                div #gr-lab-list {
                                    @for m in &layout.listed { (marker_row(m)) }
                                }
                                @if !layout.others.is_empty() {
                                    div.gr-add {
                                        label for="gr-add-input" { "Add another marker" }
                                        div.gr-add-row {
                                            input #gr-add-input list="gr-add-options" autocomplete="off"
                                                aria-describedby="gr-add-hint";
                                            button #gr-add-button type="button" { "Add" }
                                        }
                                        p #gr-add-hint .gr-hint { "By name or LOINC code, e.g. Ferritin or 2276-4." }
                                        datalist #gr-add-options {
                                            @for m in &layout.others {
                                                option value=(m.name) {
                                                    (m.id) @if let Some(l) = &m.loinc { " · " (l) }
                                                }
                                            }
                                        }
                                        p.gr-error #gr-add-error hidden {}
                                    }
                                    script #gr-catalog type="application/json" { (PreEscaped(json_in_html(&catalog))) }
                                }
                            }
                            @if !layout.symptom_groups.is_empty() {
                                fieldset #gr-symptoms {
                                    legend { "Symptoms you have noticed" }
                                    @for g in &layout.symptom_groups {
                                        fieldset.gr-system {
                                            legend { (g.label) }
                                            @for sym in &g.symptoms {
                                                @let sid = format!("sym-{}", dom_id(&sym.id));
                                                div.gr-check {
                                                    input type="checkbox" id=(sid) name="symptom" value=(sym.id);
                                                    label for=(sid) { (sym.name) }
                                                }
                                            }
                                        }
                                    }
                                    p.gr-error #symptoms-error hidden {}
                                }
                            }
                            fieldset #gr-you {
                                legend { "About you" }
                                div.gr-field {
                                    label for="gr-sex" { "Sex" }
                                    p.gr-hint #gr-sex-hint { "Some ranges differ by sex." }
                                    select #gr-sex aria-describedby="gr-sex-hint" {
                                        option value="" { "Prefer not to say" }
                                        option value="female" { "Female" }
                                        option value="male" { "Male" }
                                    }
                                    p.gr-error #sex-error hidden {}
                                }
                                div.gr-field {
                                    label for="gr-age" { "Age" }
                                    input #gr-age type="text" inputmode="numeric" autocomplete="off";
                                    p.gr-error #age-error hidden {}
                                }
                            }
                            @if cf.name != FieldMode::Off || cf.email != FieldMode::Off || cf.phone != FieldMode::Off {
                                fieldset #gr-contact {
                                    legend { "How " (p.practice_name) " can reach you" }
                                    (contact_input(cf.name, "contact-name", "Name", "text", "name"))
                                    (contact_input(cf.email, "contact-email", "Email", "email", "email"))
                                    (contact_input(cf.phone, "contact-phone", "Phone", "tel", "tel"))
                                }
                            }
                            div.gr-consent {
                                div.gr-check {
                                    input #gr-consent type="checkbox" data-version=(s.consent_version)
                                        required[s.consent_required]
                                        aria-required=[s.consent_required.then_some("true")];
                                    label for="gr-consent" {
                                        (s.consent_text)
                                        @if s.consent_required { " " span.gr-req { "(required)" } }
                                    }
                                }
                                p.gr-error #consent-error hidden {}
                            }
                            div.gr-hp aria-hidden="true" {
                                label for="gr-website" { "Leave this empty" }
                                input #gr-website type="text" tabindex="-1" autocomplete="off";
                            }
                            button.gr-submit type="submit" { "See my report" }
                        }
                        section #gr-report .gr-report tabindex="-1" aria-labelledby="gr-report-title" hidden
                            data-disclaimer=(layout.disclaimer)
                            data-cta-label=[cta.map(|c| &c.label)]
                            data-cta-url=[cta.map(|c| &c.url)] {}
                    }
                    p.gr-foot {
                        "Your answers go only to " (p.practice_name) ", encrypted. This page keeps nothing."
                    }
                }
            }
        }
    }
}

/// Makes JSON safe inside a `<script type="application/json">` element: a `<` could
/// close the element (`</script>`) or open a comment, so every one is escaped.
fn json_in_html(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// `GET /f/{slug}`: the hosted form page.
#[utoipa::path(
    get, path = "/f/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The practice's form handle")),
    responses(
        (status = 200, description = "The patient's form as an HTML page, frameable by the practice's allowed origins only", body = String, content_type = "text/html"),
        (status = 404, description = "No such form (`not_found`)", body = crate::http::wire::common::ErrorBody,
         example = crate::http::wire::examples::form_not_found),
        (status = 429, description = "Too many requests from this address (`rate_limited`); see `Retry-After`", body = crate::http::wire::common::ErrorBody,
         example = crate::http::wire::examples::rate_limited),
    )
)]
pub async fn hosted_form(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ctx = state.services.form(&path).await?;
    let s = &ctx.practitioner.settings;
    let layout = FormLayout::build(s, &ctx.ranges, &ctx.custom_markers);
    let embed = embed_context(&req, &s.allowed_origins);
    let token = state.services.form_token(ctx.practitioner.slug.as_str());
    let theme = theme_css(&ctx);
    let logo = logo(&ctx);
    let policy = csp(&theme, &ctx, logo.as_ref().map(|(_, o)| o.as_str()));
    let body = page(&ctx, &layout, &embed, &token).into_string();
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_ids_become_safe_dom_ids() {
        assert_eq!(dom_id("tsh"), "tsh");
        assert_eq!(dom_id("My Marker!"), "my-marker-");
        assert_eq!(dom_id("vitamin_d_25oh"), "vitamin_d_25oh");
    }

    #[test]
    fn json_cannot_close_its_script_element() {
        let out = json_in_html(r#"[{"name":"</script><script>alert(1)</script>"}]"#);
        assert!(!out.contains("</script"), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(back[0]["name"], "</script><script>alert(1)</script>");
    }
}
