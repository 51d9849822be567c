//! The API reference page (`/docs`): the OpenAPI document rendered as one
//! self-contained HTML page, with its Content-Security-Policy.

use super::openapi::document;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The Content-Security-Policy of the `/docs` page: its one inline stylesheet (by
/// hash), nothing else, and no framing.
pub fn csp() -> &'static str {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!("default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'")
    })
}

/// The reference page, built once from [`document`].
pub fn html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| render_html(document()))
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2327}\
code{font:13px ui-monospace,monospace;background:#f2f4f5;padding:0 .2em;border-radius:3px}\
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}h3{margin-bottom:.3rem}\
.op{border:1px solid #dde;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;font:bold 12px ui-monospace,monospace;padding:.15rem .4rem;margin-right:.4rem}\
.get{background:#2b6cb0}.post{background:#2f855a}.put{background:#b7791f}.patch{background:#6b46c1}.delete{background:#c53030}\
table{border-collapse:collapse;margin:.3rem 0 .8rem}td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#f7f8f9}\
.muted{color:#666}\
details{margin:.3rem 0}summary{cursor:pointer}\
pre{background:#f2f4f5;border-radius:4px;padding:.5rem .8rem;overflow-x:auto;margin:.3rem 0 .8rem}pre code{padding:0;background:none}";

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes text for HTML and turns `code` spans into `<code>`.
fn text(s: &str) -> String {
    let escaped = escape(s);
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A short, linked description of a schema's type.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", text(name));
    }
    for (key, sep) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(all) = schema.get(key).and_then(Value::as_array) {
            return all.iter().map(type_of).collect::<Vec<_>>().join(sep);
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("<code>{}</code>", text(&v.to_string())))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let described: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!(
                "array of {}",
                schema
                    .get("items")
                    .map(type_of)
                    .unwrap_or_else(|| "any".into())
            ),
            "object" => match schema.get("additionalProperties") {
                Some(v) if v.is_object() => format!("map of {}", type_of(v)),
                _ => "object".into(),
            },
            other => match schema.get("format").and_then(Value::as_str) {
                Some(f) => format!("{other} ({})", text(f)),
                None => other.to_owned(),
            },
        })
        .collect();
    if described.is_empty() {
        "any".into()
    } else {
        described.join(" | ")
    }
}

fn body_schema(holder: &Value) -> Option<String> {
    let content = holder.get("content")?.as_object()?;
    let (media, c) = content.iter().next()?;
    let schema = c.get("schema").map(type_of).unwrap_or_else(|| "any".into());
    Some(format!(
        "{schema} <span class=\"muted\">({})</span>",
        text(media)
    ))
}

/// The examples of a body (a request body or a response): its media type's `example`,
/// or each of its named `examples` with its summary.
fn examples_of(holder: &Value) -> Vec<(String, &Value)> {
    let Some((_, media)) = holder
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next())
    else {
        return Vec::new();
    };
    if let Some(example) = media.get("example") {
        return vec![(String::new(), example)];
    }
    media
        .get("examples")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, e)| {
            let label = e.get("summary").and_then(Value::as_str).unwrap_or(name);
            Some((label.to_owned(), e.get("value")?))
        })
        .collect()
}

/// Each example of a body, folded under `title` (and its own label), as indented JSON.
fn render_examples(out: &mut String, title: &str, holder: &Value) {
    for (label, example) in examples_of(holder) {
        let json = serde_json::to_string_pretty(example).unwrap_or_default();
        let label = if label.is_empty() {
            String::new()
        } else {
            format!(": {}", text(&label))
        };
        let _ = write!(
            out,
            "<details><summary>{title}{label}</summary><pre><code>{}</code></pre></details>",
            escape(&json)
        );
    }
}

/// The name of the shared response (`components.responses`) a response refers to.
fn shared_response(r: &Value) -> Option<&str> {
    r.get("$ref")?
        .as_str()?
        .strip_prefix("#/components/responses/")
}

fn render_operation(out: &mut String, doc: &Value, method: &str, path: &str, op: &Value) {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let id = str_of(op, "operationId");
    let _ = write!(
        out,
        "<section class=\"op\" id=\"op-{}\"><h3><span class=\"m {method}\">{}</span><code>{}</code></h3>",
        text(&id),
        method.to_uppercase(),
        text(path)
    );
    let summary = str_of(op, "summary");
    if !summary.is_empty() {
        let _ = write!(out, "<p><strong>{}</strong></p>", text(&summary));
    }
    let description = str_of(op, "description");
    if !description.is_empty() && description != summary {
        let _ = write!(out, "<p>{}</p>", text(&description));
    }
    let security: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| {
            m.keys()
                .map(|k| format!("<a href=\"#auth\">{}</a>", text(k)))
        })
        .collect();
    let _ = write!(
        out,
        "<p>Credentials: {}</p>",
        if security.is_empty() {
            "none".to_owned()
        } else {
            security.join(" or ")
        }
    );
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>");
        for p in params {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&str_of(p, "name")),
                text(&str_of(p, "in")),
                p.get("schema").map(type_of).unwrap_or_default(),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                text(&str_of(p, "description")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(request) = op.get("requestBody") {
        if let Some(body) = body_schema(request) {
            let _ = write!(out, "<p>Request body: {body}</p>");
        }
        render_examples(out, "Example request", request);
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>");
        for (status, r) in responses {
            // Shared error responses are references to components, whose examples
            // are shown once, under "Errors".
            let shared = shared_response(r);
            let resolved = shared
                .and_then(|name| doc.pointer(&format!("/components/responses/{name}")))
                .unwrap_or(r);
            let examples = match shared {
                Some(name) => format!(" <a href=\"#error-{0}\">examples</a>", text(name)),
                None => String::new(),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}{examples}</td><td>{}</td></tr>",
                text(status),
                text(&str_of(resolved, "description")),
                body_schema(resolved).unwrap_or_default()
            );
        }
        out.push_str("</table>");
        for (status, r) in responses {
            if shared_response(r).is_none() {
                render_examples(out, &format!("Example {} response", text(status)), r);
            }
        }
    }
    out.push_str("</section>");
}

/// The error responses many operations share (`components.responses`), each with its
/// examples.
fn render_errors(out: &mut String, doc: &Value) {
    out.push_str("<h2 id=\"errors\">Errors</h2><p>The error responses most operations share; each operation's table links its own.</p>");
    let Some(responses) = doc
        .pointer("/components/responses")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, r) in responses {
        let _ = write!(
            out,
            "<section class=\"op\" id=\"error-{0}\"><h3>{0}</h3><p>{1}</p>",
            text(name),
            text(r.get("description").and_then(Value::as_str).unwrap_or(""))
        );
        render_examples(out, "Example", r);
        out.push_str("</section>");
    }
}

/// A property's description, which an optional reference carries inside its `oneOf`.
fn description_of(p: &Value) -> String {
    p.get("description")
        .and_then(Value::as_str)
        .or_else(|| {
            p.get("oneOf")?
                .as_array()?
                .iter()
                .find_map(|v| v.get("description").and_then(Value::as_str))
        })
        .unwrap_or("")
        .to_owned()
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(out, "<section id=\"schema-{0}\"><h3>{0}</h3>", text(name));
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = write!(out, "<p>{}</p>", text(d));
    }
    // A schema is an object with properties, or a composition of such (flattened
    // structs are `allOf`), or a plain type.
    let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
        Some(all) => all.iter().collect(),
        None => vec![schema],
    };
    let mut rows = String::new();
    for part in &parts {
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = part
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (field, p) in props {
                let _ = write!(
                    rows,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    text(field),
                    type_of(p),
                    if required.contains(&field.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    text(&description_of(p)),
                );
            }
        } else if part.get("$ref").is_some() {
            let _ = write!(
                rows,
                "<tr><td colspan=\"4\">all fields of {}</td></tr>",
                type_of(part)
            );
        }
    }
    if rows.is_empty() {
        let _ = write!(out, "<p>Type: {}</p>", type_of(schema));
    } else {
        let _ = write!(
            out,
            "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>{rows}</table>"
        );
    }
    out.push_str("</section>");
}

/// The webhooks the relay sends (`webhooks` of the document): each event type, what it
/// says, its body and the JSON Schemas of its payload.
fn render_webhooks(out: &mut String, doc: &Value) {
    out.push_str("<h2 id=\"webhooks\">Webhooks</h2><p>Sent as <code>POST</code> to each endpoint's URL, signed by the Standard Webhooks rules; the JSON Schemas are served at <code>/schemas/{name}.json</code>.</p>");
    let Some(hooks) = doc.get("webhooks").and_then(Value::as_object) else {
        return;
    };
    for (event, item) in hooks {
        let Some(op) = item.get("post") else { continue };
        let _ = write!(
            out,
            "<section class=\"op\" id=\"webhook-{0}\"><h3><span class=\"m post\">POST</span><code>{0}</code></h3>",
            text(event)
        );
        if let Some(d) = op.get("description").and_then(Value::as_str) {
            let _ = write!(out, "<p>{}</p>", text(d));
        }
        if let Some(body) = op.get("requestBody").and_then(body_schema) {
            let _ = write!(out, "<p>Body: {body}</p>");
        }
        let _ = write!(
            out,
            "<p>Data: {}</p>",
            type_of(
                &op.pointer("/requestBody/content/application~1json/schema/properties/data")
                    .cloned()
                    .unwrap_or(Value::Null)
            )
        );
        if let Some(request) = op.get("requestBody") {
            render_examples(out, "Example body", request);
        }
        out.push_str("</section>");
    }
}

/// Renders the reference page: every operation grouped by tag (method, path, summary,
/// credentials, parameters, request body and responses, with their examples), the
/// shared errors, the webhooks, then every schema.
pub fn render_html(doc: &Value) -> String {
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{0} API reference</title><style>{STYLE}</style></head><body><h1>{0} API reference <span class=\"muted\">{1}</span></h1>",
        text(title),
        text(version)
    );
    if let Some(d) = doc.pointer("/info/description").and_then(Value::as_str) {
        for para in d.split("\n\n") {
            let _ = write!(out, "<p>{}</p>", text(para));
        }
    }
    out.push_str("<p>Machine-readable: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>");

    // Operations by tag, in the document's tag order.
    let mut by_tag: BTreeMap<String, Vec<(String, &str, &Value)>> = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or("other")
                        .to_owned();
                    by_tag
                        .entry(tag)
                        .or_default()
                        .push((path.clone(), method, op));
                }
            }
        }
    }
    let mut tags: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_owned();
            let d = t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            Some((name, d))
        })
        .collect();
    for tag in by_tag.keys() {
        if !tags.iter().any(|(n, _)| n == tag) {
            tags.push((tag.clone(), String::new()));
        }
    }
    out.push_str("<nav><h2>Contents</h2><ul>");
    for (tag, _) in &tags {
        if by_tag.contains_key(tag) {
            let _ = write!(out, "<li><a href=\"#tag-{0}\">{0}</a></li>", text(tag));
        }
    }
    out.push_str("<li><a href=\"#auth\">Credentials</a></li><li><a href=\"#errors\">Errors</a></li><li><a href=\"#webhooks\">Webhooks</a></li><li><a href=\"#schemas\">Schemas</a></li></ul></nav>");

    out.push_str("<h2 id=\"auth\">Credentials</h2><ul>");
    if let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, s) in schemes {
            let _ = write!(
                out,
                "<li><strong>{}</strong> ({} {}): {}</li>",
                text(name),
                text(s.get("type").and_then(Value::as_str).unwrap_or("")),
                text(s.get("scheme").and_then(Value::as_str).unwrap_or("")),
                text(s.get("description").and_then(Value::as_str).unwrap_or("")),
            );
        }
    }
    out.push_str("</ul>");

    for (tag, description) in &tags {
        let Some(ops) = by_tag.get(tag) else { continue };
        let _ = write!(out, "<h2 id=\"tag-{0}\">{0}</h2>", text(tag));
        if !description.is_empty() {
            let _ = write!(out, "<p>{}</p>", text(description));
        }
        for (path, method, op) in ops {
            render_operation(&mut out, doc, method, path, op);
        }
    }

    render_errors(&mut out, doc);
    render_webhooks(&mut out, doc);

    out.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_is_escaped_and_code_spans_are_rendered() {
        assert_eq!(text("<b>`x`&"), "&lt;b&gt;<code>x</code>&amp;");
    }

    #[test]
    fn examples_are_folded_escaped_json_with_their_summaries() {
        let mut out = String::new();
        let holder = serde_json::json!({"content": {"application/json": {
            "examples": {"a": {"summary": "Too `many`", "value": {"x": "<b>"}}}
        }}});
        render_examples(&mut out, "Example 429 response", &holder);
        assert_eq!(
            out,
            "<details><summary>Example 429 response: Too <code>many</code></summary><pre><code>{\n  &quot;x&quot;: &quot;&lt;b&gt;&quot;\n}</code></pre></details>"
        );
        let mut none = String::new();
        render_examples(
            &mut none,
            "Example",
            &serde_json::json!({"description": "No body"}),
        );
        assert!(none.is_empty());
    }
}
