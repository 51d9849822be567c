//! The public intake route: the report comes straight back, every bad field is named,
//! and nothing is accepted unless it is safely queued.

use crate::helpers::{canary_intake, error_code, spawn_app, spawn_app_with, AppOptions};
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use serde_json::{json, Value};

/// Each `(field, problem)` of an error body's details.
fn details(body: &Value) -> Vec<(String, String)> {
    body["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| {
                    let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                    (text("field"), text("problem"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A valid intake whose labs are `labs`.
fn intake_with_labs(labs: Value) -> Value {
    let mut body = canary_intake();
    body["labs"] = labs;
    body
}

#[tokio::test]
async fn a_valid_intake_is_accepted_with_its_gap_report_once_queued() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("intake-ok", "jwe").await;
    let res = app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(res.status(), 202);
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(body["submission_id"]
        .as_str()
        .expect("id")
        .starts_with("sub_"));
    let labs = body["report"]["labs"].as_array().expect("labs");
    assert_eq!(labs.len(), 3);
    assert_eq!(labs[0]["marker"], "tsh");
    assert_eq!(labs[0]["input"], json!({"value": 3.1337, "unit": "uIU/mL"}));
    assert_eq!(labs[0]["zone"], "above_optimal");
    assert_eq!(labs[1]["unit"], "mg/dL");
    assert_eq!(labs[1]["input"]["unit"], "mmol/L");
    assert_eq!(body["report"]["summary"]["labs"], 3);
    assert_eq!(body["report"]["symptoms"][0]["id"], "fatigue");
    // Accepted means queued: one message for the one endpoint.
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once_with_its_path() {
    let app = spawn_app().await;
    let p = app.create_practitioner("intake-bad").await;
    let res = app
        .post_intake(
            &p.slug,
            &json!({
                "contact": {"name": "A", "email": "nope"},
                "labs": [
                    {"marker": "3016-3", "value": 3.1, "unit": "mg/dL"},
                    {"marker": "unknown", "value": 1, "unit": "mg/dL"},
                    {"marker": "glucose_fasting", "value": 99999, "unit": "mg/dL"}
                ],
                "symptoms": ["telekinesis"],
                "consent": false
            }),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "contact.email",
            "labs[0].unit",
            "labs[1].marker",
            "labs[2].value",
            "symptoms[0]",
            "consent"
        ]
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn malformed_json_unknown_fields_wrong_types_and_media_types_get_the_contract_codes() {
    let app = spawn_app().await;
    let p = app.create_practitioner("intake-shape").await;
    let url = app.url(&format!("/v1/intake/{}", p.slug));

    let res = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"labs\": [")
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );

    let res = app
        .post_intake(&p.slug, &json!({"consent": true, "sneaky": 1}))
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"][0]["field"], "sneaky");

    let res = app
        .post_intake(
            &p.slug,
            &json!({"labs": [{"marker": "tsh", "value": "SECRET-VALUE", "unit": "mIU/L"}]}),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    // Reported with the body's other problems (the contact and consent it lacks).
    assert!(
        details(&body).iter().any(|(f, _)| f == "labs[0].value"),
        "{body}"
    );
    assert!(!body.to_string().contains("SECRET-VALUE"), "{body}");

    let res = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    let huge = format!("{{\"symptoms\": [\"{}\"]}}", "x".repeat(100_000));
    let res = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test]
async fn an_unknown_form_is_a_404_in_the_error_shape() {
    let app = spawn_app().await;
    let (status, body) =
        error_code(app.post_intake("no-such-practice", &canary_intake()).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = error_code(app.get("/v1/forms/no-such-practice", None).await).await;
    assert_eq!(status, 404);
    let (status, _) = error_code(app.get("/v2/whatever", None).await).await;
    assert_eq!(status, 404);
    let (status, body) = error_code(app.get("/v1/intake/some-form", None).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn the_form_shows_markers_with_their_units_symptoms_and_consent() {
    let app = spawn_app().await;
    let p = app.create_practitioner("form-view").await;
    let res = app.get(&format!("/v1/forms/{}", p.slug), None).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    let glucose = body["markers"]
        .as_array()
        .expect("markers")
        .iter()
        .find(|m| m["id"] == "glucose_fasting")
        .cloned()
        .expect("glucose");
    assert_eq!(glucose["loinc"], "1558-6");
    // The range unit first, then every other spelling the marker accepts.
    let units = glucose["units"].as_array().expect("units");
    assert_eq!(units[0], "mg/dL");
    assert!(units.contains(&json!("mmol/L")), "{units:?}");
    assert!(body["symptoms"]
        .as_array()
        .expect("symptoms")
        .iter()
        .any(|s| s["id"] == "fatigue"));
    assert_eq!(body["consent"]["required"], true);
    assert_eq!(body["contact_fields"]["email"], "required");
}

#[tokio::test]
async fn when_redis_is_down_intake_answers_503_and_accepts_nothing() {
    let mut app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("intake-down", "jwe").await;
    app.redis.as_mut().expect("redis").stop();
    let res = app.post_intake(&p.slug, &canary_intake()).await;
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable"))
    );
    assert!(!body.to_string().contains("Canaryname"));
    let (status, _) = error_code(app.get("/readyz", None).await).await;
    assert_eq!(status, 503);
    // Counted, though the practice's form could not even be read.
    let metrics = app
        .get("/metrics", Some(crate::helpers::METRICS_TOKEN))
        .await
        .text()
        .await
        .expect("metrics");
    for line in [
        "gaprelay_intake_total{outcome=\"unavailable\"} 1",
        "gaprelay_store_up 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn after_a_redis_outage_readiness_intake_and_running_workers_come_back_by_themselves() {
    let mut app = spawn_app().await;
    let stop = app.start_workers();
    app.redis.as_mut().expect("redis").stop();
    assert_eq!(app.get("/readyz", None).await.status(), 503);
    // The workers keep polling (backing off) while Redis is away.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // This test Redis keeps nothing on disk, so it comes back empty; what matters here
    // is that nobody had to restart the relay.
    app.redis.as_mut().expect("redis").restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.get("/readyz", None).await.status() != 200 {
        assert!(std::time::Instant::now() < deadline, "/readyz stays 503");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (p, _, crm) = app.practitioner_with_crm("after-outage", "jwe").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    crm.wait_for_requests(1, std::time::Duration::from_secs(15))
        .await;
    let _ = stop.send(true);
}

#[tokio::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    let mem = spawn_app_with(AppOptions {
        memory: true,
        ..AppOptions::default()
    })
    .await;
    assert_eq!(mem.get("/readyz", None).await.status(), 200);
}

#[tokio::test]
async fn when_the_queue_refuses_writes_intake_answers_503_and_nothing_is_queued() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("intake-oom", "jwe").await;
    // Reads still work but every write is refused, as when Redis is out of memory.
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query_async(&mut redis)
        .await
        .expect("config");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query_async(&mut redis)
        .await
        .expect("config");
    let res = app.post_intake(&p.slug, &canary_intake()).await;
    let (status, _) = error_code(res).await;
    assert_eq!(status, 503);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query_async(&mut redis)
        .await
        .expect("config");
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("gr:{q*}:*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn a_warm_form_costs_no_redis_reads_and_a_range_change_applies_at_once() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("intake-warm", "jwe").await;
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let before = crate::helpers::read_commands(&mut redis).await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        crate::helpers::read_commands(&mut redis).await,
        before,
        "the hot path read from Redis"
    );

    let res = app
        .client
        .put(app.url("/v1/ranges/tsh"))
        .bearer_auth(&p.api_key)
        .json(&json!({"unit": "mIU/L", "optimal": {"low": 3.0, "high": 3.5}}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["report"]["labs"][0]["zone"], "optimal");
}

#[tokio::test]
async fn a_value_typed_with_a_decimal_comma_is_accepted_and_judged_like_the_dot() {
    let app = spawn_app().await;
    let p = app.create_practitioner("intake-comma").await;
    let mut reports = Vec::new();
    for value in [json!(" 3,1337 "), json!("3.1337"), json!(3.1337)] {
        let labs = json!([{"marker": "tsh", "value": value, "unit": "uIU/mL"},
                          {"marker": "glucose_fasting", "value": "5,4321", "unit": "mmol/L"}]);
        let res = app.post_intake(&p.slug, &intake_with_labs(labs)).await;
        assert_eq!(res.status(), 202, "{value}");
        let body: Value = res.json().await.expect("json");
        reports.push(body["report"].clone());
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
    let tsh = &reports[0]["labs"][0];
    assert_eq!(tsh["input"], json!({"value": 3.1337, "unit": "uIU/mL"}));
    assert_eq!(tsh["zone"], "above_optimal");
    assert_eq!(reports[0]["labs"][1]["input"]["value"], 5.4321);
}

#[tokio::test]
async fn a_censored_value_is_judged_at_its_bound_marked_in_the_report_and_in_the_webhook() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("intake-censored", "jwe").await;
    let labs = json!([{"marker": "tsh", "value": "<0.5", "unit": "mIU/L"},
                      {"marker": "ferritin", "value": "> 1000", "unit": "ng/mL"},
                      {"marker": "vitamin_d_25oh", "value": "61,2345", "unit": "nmol/L"}]);
    let res = app.post_intake(&p.slug, &intake_with_labs(labs)).await;
    assert_eq!(res.status(), 202);
    let accepted: Value = res.json().await.expect("json");
    let report = &accepted["report"];
    assert_eq!(
        report["labs"][0]["input"],
        json!({"value": 0.5, "unit": "mIU/L", "qualifier": "<"})
    );
    assert_eq!(report["labs"][0]["value"], 0.5);
    assert_eq!(report["labs"][0]["zone"], "below_optimal");
    assert_eq!(report["labs"][1]["input"]["qualifier"], ">");
    assert_eq!(report["labs"][1]["zone"], "above_standard");
    assert!(
        report["labs"][2]["input"].get("qualifier").is_none(),
        "an exact value has no qualifier: {report}"
    );

    app.deliver_pending().await;
    let body = crm.requests()[0].json();
    let sealed: FlattenedJwe = serde_json::from_value(body["data"].clone()).expect("JWE");
    let key = ContentKey::from_jwk(&ep.jwk).expect("jwk");
    let data: Value =
        serde_json::from_slice(&jwe::decrypt(&key, &sealed).expect("decrypts")).expect("json");
    assert_eq!(data["report"], accepted["report"]);
    assert_eq!(data["report"]["labs"][0]["input"]["qualifier"], "<");
}

#[tokio::test]
async fn wrong_types_and_invalid_values_are_all_answered_in_one_422() {
    let app = spawn_app().await;
    let p = app.create_practitioner("intake-all-at-once").await;
    let body = json!({
        "contact": {"name": "Zelda Canaryname", "email": "zelda.canary@@broken"},
        "age": "forty-seven",
        "labs": [
            {"marker": "tsh", "value": "3,1", "unit": "mIU/L"},
            {"marker": "ferritin", "value": {"amount": 61.2345}, "unit": "ng/mL"},
            {"marker": "unobtainium", "value": 1, "unit": "mg/dL"}
        ],
        "symptoms": ["fatigue"],
        "consent": "yes"
    });
    let (status, err) = error_code(app.post_intake(&p.slug, &body).await).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["code"], "validation_failed");
    assert_eq!(err["error"]["message"], "5 problems in the request");
    let fields: Vec<String> = details(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "contact.email",
            "age",
            "labs[1].value",
            "labs[2].marker",
            "consent"
        ]
    );
    let text = err.to_string();
    for typed in [
        "Canaryname",
        "zelda.canary",
        "forty-seven",
        "61.2345",
        "unobtainium",
        "yes",
    ] {
        assert!(!text.contains(typed), "the answer echoes `{typed}`: {text}");
    }
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn the_lead_source_travels_to_the_webhook_without_its_query() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("intake-source", "none").await;
    let mut body = canary_intake();
    body["source"] = json!({
        "page_url": "https://practice.example/labs/thyroid?utm_source=news&email=a%40b.co#form",
        "utm": {"source": "newsletter", "medium": "email", "campaign": "spring-labs",
                "term": "tsh", "content": "button"}
    });
    assert_eq!(app.post_intake(&p.slug, &body).await.status(), 202);
    // Without one, the payload has no `source` at all.
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    app.deliver_pending().await;
    let sources: Vec<Value> = crm
        .requests()
        .iter()
        .map(|r| {
            r.json()["data"]
                .get("source")
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    assert_eq!(sources.len(), 2);
    let with = json!({
        "page_url": "https://practice.example/labs/thyroid",
        "utm": {"source": "newsletter", "medium": "email", "campaign": "spring-labs",
                "term": "tsh", "content": "button"}
    });
    assert!(sources.contains(&with), "{sources:?}");
    assert!(sources.contains(&Value::Null), "{sources:?}");

    // A bad page URL is a field problem; an unknown UTM key is an unknown field.
    body["source"] =
        json!({"page_url": "javascript:alert(1)", "utm": {"campaign": "x".repeat(201)}});
    let (status, err) = error_code(app.post_intake(&p.slug, &body).await).await;
    assert_eq!(status, 422);
    let fields: Vec<String> = details(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["source.page_url", "source.utm.campaign"]);
    body["source"] = json!({"utm": {"source": "a", "gclid": "b"}});
    let (status, err) = error_code(app.post_intake(&p.slug, &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(details(&err)[0].0, "source.utm.gclid");
}
