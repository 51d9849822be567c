//! The hosted form page and its files over real HTTP: what the page shows, the policy
//! that lets only the practice's origins frame it, what may be cached, the compressed
//! weight a patient downloads before submitting, and the same-origin intake it posts.

use crate::helpers::{canary_intake, error_code, spawn_app, TestApp};
use serde_json::json;

/// What a patient may download before submitting, compressed (issue budget).
const PAGE_BUDGET_BYTES: usize = 50 * 1024;

async fn patch(app: &TestApp, key: &str, body: serde_json::Value) {
    let res = app
        .client
        .patch(app.url("/v1/practitioner"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("patch");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The value of one directive of a Content-Security-Policy.
fn directive(csp: &str, name: &str) -> String {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_hosted_page_shows_the_practice_its_markers_symptoms_and_consent() {
    let app = spawn_app().await;
    let p = app.create_practitioner("page-shows").await;
    patch(
        &app,
        &p.api_key,
        json!({"practice_name": "Bright <Health> & Co", "consent_text": "I agree to be contacted.",
               "contact_fields": {"name": "required", "email": "required", "phone": "off"}}),
    )
    .await;
    let res = app.get("/f/page-shows", None).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/html"));
    let html = res.text().await.expect("body");
    // Practice text is escaped, never markup.
    assert!(html.contains("Bright &lt;Health&gt; &amp; Co"), "{html}");
    assert!(!html.contains("<Health>"));
    for needle in [
        r#"id="lab-tsh-value""#,
        r#"id="lab-tsh-unit""#,
        "µIU/mL",
        r#"id="sym-fatigue""#,
        r#"id="contact-name""#,
        r#"id="contact-email""#,
        "I agree to be contacted.",
        r#"data-intake="/v1/intake/page-shows""#,
        "data-form-token=",
        r#"id="gr-catalog""#,
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains(r#"id="contact-phone""#), "phone is off");
    // The unit picker preselects the range unit and lists the others.
    let tsh_unit = html.find(r#"id="lab-tsh-unit""#).expect("tsh unit");
    let select = &html[tsh_unit..tsh_unit + html[tsh_unit..].find("</select>").expect("end")];
    assert!(
        select.contains(r#"<option value="mIU/L" selected>"#),
        "{select}"
    );
}

#[tokio::test]
async fn the_page_may_be_framed_by_the_practice_origins_only_and_runs_no_inline_code() {
    let app = spawn_app().await;
    let p = app.create_practitioner("page-csp").await;
    patch(
        &app,
        &p.api_key,
        json!({"allowed_origins": ["https://practice.example.com", "https://www.practice.example.com"]}),
    )
    .await;
    let res = app.get("/f/page-csp", None).await;
    let csp = header(&res, "content-security-policy");
    assert_eq!(
        directive(&csp, "frame-ancestors"),
        "'self' https://practice.example.com https://www.practice.example.com"
    );
    assert_eq!(directive(&csp, "script-src"), "'self'");
    assert_eq!(directive(&csp, "default-src"), "'none'");
    assert_eq!(directive(&csp, "connect-src"), "'self'");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(
        directive(&csp, "style-src").starts_with("'self' 'sha256-"),
        "{csp}"
    );
    assert!(res.headers().get("x-frame-options").is_none());
    assert_eq!(header(&res, "cache-control"), "no-store");
    let html = res.text().await.expect("body");
    assert!(!html.contains(" style=\""), "no inline style attributes");
    assert!(!html.contains("<script>"), "no inline script");

    // Every other route still refuses to be framed.
    for path in ["/v1/forms/page-csp", "/healthz", "/embed.js", "/docs"] {
        let res = app.get(path, None).await;
        assert_eq!(header(&res, "x-frame-options"), "DENY", "{path}");
        let csp = header(&res, "content-security-policy");
        assert_eq!(directive(&csp, "frame-ancestors"), "'none'", "{path}");
    }
}

#[tokio::test]
async fn the_inline_theme_is_exactly_what_the_policy_hashes() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    let p = app.create_practitioner("page-theme").await;
    patch(
        &app,
        &p.api_key,
        json!({"branding": {"primary_color": "#0b5394"}}),
    )
    .await;
    let res = app.get("/f/page-theme", None).await;
    let csp = header(&res, "content-security-policy");
    let html = res.text().await.expect("body");
    let start =
        html.find(r#"<style id="gr-theme">"#).expect("theme") + r#"<style id="gr-theme">"#.len();
    let theme = &html[start..start + html[start..].find("</style>").expect("end")];
    assert!(theme.contains("--gr-primary:#0b5394"), "{theme}");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(theme));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
}

#[tokio::test]
async fn the_embedding_page_is_told_only_to_allowed_origins() {
    let app = spawn_app().await;
    app.create_practitioner("page-parent").await;
    let allowed = app
        .get(
            "/f/page-parent?embed=1&parent=https%3A%2F%2Fpractice.example.com&page=https%3A%2F%2Fpractice.example.com%2Flabs%3Fx%3D1&utm_source=newsletter&utm_bogus=1",
            None,
        )
        .await
        .text()
        .await
        .expect("body");
    assert!(allowed.contains(r#"data-parent-origin="https://practice.example.com""#));
    assert!(
        allowed.contains(r#"data-page="https://practice.example.com/labs""#),
        "query dropped"
    );
    assert!(allowed.contains("newsletter") && !allowed.contains("bogus"));
    let foreign = app
        .get(
            "/f/page-parent?embed=1&parent=https%3A%2F%2Fevil.example",
            None,
        )
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !foreign.contains("data-parent-origin"),
        "never posts to evil.example"
    );
}

#[tokio::test]
async fn what_a_patient_downloads_before_submitting_stays_within_50_kib_compressed() {
    let app = spawn_app().await;
    app.create_practitioner("page-weight").await;
    let gz = |path: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(app.url(&path))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .expect("get");
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(header(&res, "content-encoding"), "gzip", "{path}");
            res.bytes().await.expect("body").len()
        }
    };
    let html = app
        .get("/f/page-weight", None)
        .await
        .text()
        .await
        .expect("page");
    let mut total = gz("/f/page-weight".to_owned()).await;
    let linked: Vec<String> = ["/assets/form.js?v=", "/assets/form.css?v="]
        .iter()
        .map(|prefix| {
            let i = html
                .find(prefix)
                .unwrap_or_else(|| panic!("page links {prefix}"));
            let end = i + html[i..].find('"').expect("attribute end");
            html[i..end].to_owned()
        })
        .collect();
    for path in linked {
        total += gz(path).await;
    }
    total += gz("/embed.js".to_owned()).await;
    eprintln!("form page weight: {total} bytes compressed (budget {PAGE_BUDGET_BYTES})");
    assert!(total <= PAGE_BUDGET_BYTES, "{total} bytes");
}

#[tokio::test]
async fn versioned_assets_are_cached_for_a_year_and_the_embed_script_briefly() {
    let app = spawn_app().await;
    app.create_practitioner("page-cache").await;
    let html = app
        .get("/f/page-cache", None)
        .await
        .text()
        .await
        .expect("page");
    let i = html.find("/assets/form.js?v=").expect("script link");
    let path = &html[i..i + html[i..].find('"').expect("end")];
    let res = app.get(path, None).await;
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&res, "content-type").starts_with("text/javascript"));
    let stale = app.get("/assets/form.js?v=0000", None).await;
    assert_eq!(header(&stale, "cache-control"), "public, max-age=300");
    let embed = app.get("/embed.js", None).await;
    assert_eq!(header(&embed, "cache-control"), "public, max-age=300");
}

#[tokio::test]
async fn the_hosted_page_posts_to_the_intake_from_the_relays_own_origin() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("page-same-origin", "jwe").await;
    let origin = app.address.clone();
    let res = app
        .client
        .post(app.url(&format!("/v1/intake/{}", p.slug)))
        .header("origin", &origin)
        .json(&canary_intake())
        .send()
        .await
        .expect("intake");
    assert_eq!(res.status(), 202);
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), 1);
    // A look-alike origin on another port is another site.
    let other = app
        .client
        .post(app.url(&format!("/v1/intake/{}", p.slug)))
        .header("origin", "http://127.0.0.1:1")
        .json(&canary_intake())
        .send()
        .await
        .expect("intake");
    assert_eq!(
        error_code(other).await.1["error"]["code"],
        "origin_not_allowed"
    );
}

#[tokio::test]
async fn an_unknown_form_is_a_404_in_the_error_shape_and_a_paused_one_says_so() {
    let app = spawn_app().await;
    let (status, body) = error_code(app.get("/f/no-such-form", None).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let p = app.create_practitioner("page-paused").await;
    patch(&app, &p.api_key, json!({"accepting_submissions": false})).await;
    let html = app
        .get("/f/page-paused", None)
        .await
        .text()
        .await
        .expect("page");
    assert!(html.contains("not taking submissions"));
    assert!(!html.contains(r#"id="gr-form""#));
}

#[tokio::test]
async fn the_demo_host_page_exists_only_in_demo_mode() {
    let app = spawn_app().await;
    let (status, _) = error_code(app.get("/demo", None).await).await;
    assert_eq!(status, 404);
}
