//! The clinical core through the real app: custom markers, the symptoms a form offers,
//! sex-specific ranges, the per-system summary, and every validation error of an intake
//! with its status, code and field path.

use crate::helpers::{error_code, spawn_app, TestApp, TestPractitioner};
use serde_json::{json, Value};

async fn put(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("request")
}

fn intake(labs: Value, symptoms: Value) -> Value {
    json!({"contact": {"name": "Pat", "email": "pat@example.com"}, "labs": labs, "symptoms": symptoms, "consent": true})
}

async fn report(app: &TestApp, p: &TestPractitioner, body: Value) -> Value {
    let res = app.post_intake(&p.slug, &body).await;
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.expect("json")["report"].clone()
}

#[tokio::test]
async fn a_custom_marker_is_listed_offered_judged_and_removable() {
    let app = spawn_app().await;
    let p = app.create_practitioner("custom-marker").await;
    let res = put(
        &app,
        &p.api_key,
        "/v1/markers/omega3_index",
        json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}, "standard": {"low": 4.0, "high": 12.0},
               "messages": {"low": "More oily fish, please."}, "systems": ["inflammation"]}),
    )
    .await;
    assert_eq!(res.status(), 200);

    let markers: Value = app.get_json("/v1/markers", Some(&p.api_key)).await;
    let own = markers["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["id"] == "omega3_index")
        .cloned()
        .expect("listed");
    assert_eq!(own["custom"], true);
    let form: Value = app.get_json(&format!("/v1/forms/{}", p.slug), None).await;
    assert!(form["markers"]
        .as_array()
        .expect("markers")
        .iter()
        .any(|m| m["id"] == "omega3_index"));

    let r = report(
        &app,
        &p,
        intake(
            json!([{"marker": "omega3_index", "value": 5.5, "unit": "%"}]),
            json!([]),
        ),
    )
    .await;
    let lab = &r["labs"][0];
    assert_eq!(lab["marker"], "omega3_index");
    assert_eq!(lab["loinc"], Value::Null);
    assert_eq!(lab["zone"], "below_optimal");
    assert_eq!(lab["gap"], 2.5);
    assert_eq!(lab["optimal"], json!({"low": 8.0, "high": null}));
    assert_eq!(lab["message"], "More oily fish, please.");
    assert_eq!(r["summary"]["systems"][0]["system"], "inflammation");

    let res = app
        .client
        .delete(app.url("/v1/markers/omega3_index"))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 204);
    let res = app
        .post_intake(
            &p.slug,
            &intake(
                json!([{"marker": "omega3_index", "value": 5.5, "unit": "%"}]),
                json!([]),
            ),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "labs[0].marker");
}

#[tokio::test]
async fn a_custom_marker_may_not_take_a_catalog_id_and_must_make_sense() {
    let app = spawn_app().await;
    let p = app.create_practitioner("custom-bad").await;
    let res = put(
        &app,
        &p.api_key,
        "/v1/markers/tsh",
        json!({"name": "x", "unit": "u", "optimal": {"low": 1.0}}),
    )
    .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "id");
    let res = put(
        &app,
        &p.api_key,
        "/v1/markers/my_test",
        json!({"name": "x", "unit": "u", "optimal": {"low": 3.0, "high": 1.0}}),
    )
    .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "optimal.low");
    let res = app
        .client
        .delete(app.url("/v1/markers/never_made"))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(res).await.0, 404);
}

#[tokio::test]
async fn a_practitioner_chooses_the_symptoms_the_form_offers_and_adds_their_own() {
    let app = spawn_app().await;
    let p = app.create_practitioner("symptoms-own").await;
    let all: Value = app.get_json("/v1/symptoms", Some(&p.api_key)).await;
    let all = all["data"].as_array().expect("data").clone();
    assert!(all.len() >= 40, "{}", all.len());
    assert!(all.iter().all(|s| s["offered"] == true));

    let res = put(
        &app,
        &p.api_key,
        "/v1/symptoms",
        json!({"offered": ["tinnitus", "fatigue"], "custom": [{"id": "tinnitus", "name": "Ringing in the ears", "systems": ["neuro"]}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let listing: Value = res.json().await.expect("json");
    assert_eq!(listing["data"][0]["id"], "tinnitus");
    assert_eq!(listing["data"][0]["custom"], true);
    assert_eq!(listing["data"][1]["id"], "fatigue");
    assert_eq!(listing["data"][2]["offered"], false);

    let form: Value = app.get_json(&format!("/v1/forms/{}", p.slug), None).await;
    assert_eq!(
        form["symptoms"],
        json!([{"id": "tinnitus", "name": "Ringing in the ears"}, {"id": "fatigue", "name": "Fatigue"}])
    );

    let r = report(&app, &p, intake(json!([]), json!(["tinnitus"]))).await;
    assert_eq!(
        r["symptoms"][0],
        json!({"id": "tinnitus", "name": "Ringing in the ears", "systems": ["neuro"]})
    );
    let res = app
        .post_intake(&p.slug, &intake(json!([]), json!(["bloating"])))
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "symptoms[0]");

    let res = put(
        &app,
        &p.api_key,
        "/v1/symptoms",
        json!({"offered": ["levitation"]}),
    )
    .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "offered[0]");
}

#[tokio::test]
async fn a_sex_specific_range_applies_only_to_that_sex() {
    let app = spawn_app().await;
    let p = app.create_practitioner("sex-ranges").await;
    let res = put(
        &app,
        &p.api_key,
        "/v1/ranges/tsh",
        json!({"unit": "mIU/L", "sex": "female", "optimal": {"low": 0.5, "high": 1.5}}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let lab = json!([{"marker": "tsh", "value": 1.8, "unit": "mIU/L"}]);
    let mut female = intake(lab.clone(), json!([]));
    female["sex"] = json!("female");
    let mut male = intake(lab, json!([]));
    male["sex"] = json!("male");
    assert_eq!(
        report(&app, &p, female).await["labs"][0]["zone"],
        "above_optimal"
    );
    assert_eq!(report(&app, &p, male).await["labs"][0]["zone"], "optimal");
}

#[tokio::test]
async fn the_summary_brings_markers_and_symptoms_together_per_body_system_most_attention_first() {
    let app = spawn_app().await;
    let p = app.create_practitioner("summary-systems").await;
    let r = report(
        &app,
        &p,
        intake(
            json!([{"marker": "tsh", "value": 6.0, "unit": "mIU/L"}, {"marker": "glucose_fasting", "value": 90, "unit": "mg/dL"}]),
            json!(["cold_intolerance"]),
        ),
    )
    .await;
    let systems = r["summary"]["systems"].as_array().expect("systems");
    assert_eq!(systems[0]["system"], "thyroid");
    assert_eq!(systems[0]["markers"], json!(["tsh"]));
    assert_eq!(systems[0]["symptoms"], json!(["cold_intolerance"]));
    assert_eq!(systems[0]["attention"], 4);
    let blood_sugar = systems
        .iter()
        .find(|s| s["system"] == "blood_sugar")
        .expect("blood sugar");
    assert_eq!(blood_sugar["markers"], json!(["glucose_fasting"]));
    assert!(systems
        .windows(2)
        .all(|w| w[0]["attention"].as_u64() >= w[1]["attention"].as_u64()));
    assert_eq!(r["summary"]["zones"]["above_standard"], 1);
    assert_eq!(r["summary"]["zones"]["above_optimal"], 1);
}

#[tokio::test]
async fn every_intake_validation_error_has_its_status_code_and_field_path() {
    let app = spawn_app().await;
    let p = app.create_practitioner("validation-table").await;
    put(
        &app,
        &p.api_key,
        "/v1/symptoms",
        json!({"offered": ["fatigue"]}),
    )
    .await;
    let base = || intake(json!([]), json!([]));
    let many_labs: Vec<Value> = (0..101)
        .map(|_| json!({"marker": "tsh", "value": 1.0, "unit": "mIU/L"}))
        .collect();
    let many_symptoms: Vec<Value> = (0..101).map(|_| json!("fatigue")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown marker",
            json!({"labs": [{"marker": "9999-9", "value": 1.0, "unit": "mg/dL"}]}),
            "labs[0].marker",
        ),
        (
            "unit not accepted",
            json!({"labs": [{"marker": "tsh", "value": 1.0, "unit": "mg/dL"}]}),
            "labs[0].unit",
        ),
        (
            "implausible value",
            json!({"labs": [{"marker": "tsh", "value": 50000.0, "unit": "mIU/L"}]}),
            "labs[0].value",
        ),
        (
            "negative value",
            json!({"labs": [{"marker": "tsh", "value": -1.0, "unit": "mIU/L"}]}),
            "labs[0].value",
        ),
        (
            "same marker twice",
            json!({"labs": [{"marker": "tsh", "value": 1.0, "unit": "mIU/L"}, {"marker": "3016-3", "value": 1.1, "unit": "mIU/L"}]}),
            "labs[1].marker",
        ),
        ("too many labs", json!({"labs": many_labs}), "labs"),
        (
            "too many symptoms",
            json!({"symptoms": many_symptoms}),
            "symptoms",
        ),
        (
            "symptom not offered",
            json!({"symptoms": ["bloating"]}),
            "symptoms[0]",
        ),
        ("missing consent", json!({"consent": false}), "consent"),
        (
            "bad email",
            json!({"contact": {"name": "Pat", "email": "pat@"}}),
            "contact.email",
        ),
        (
            "missing required name",
            json!({"contact": {"email": "pat@example.com"}}),
            "contact.name",
        ),
        (
            "bad phone",
            json!({"contact": {"name": "Pat", "email": "pat@example.com", "phone": "call me maybe"}}),
            "contact.phone",
        ),
        ("bad sex", json!({"sex": "unknown"}), "sex"),
        ("bad age", json!({"age": 300}), "age"),
    ];
    for (what, patch, field) in cases {
        let mut body = base();
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (status, err) = error_code(app.post_intake(&p.slug, &body).await).await;
        assert_eq!(status, 422, "{what}: {err}");
        assert_eq!(err["error"]["code"], "validation_failed", "{what}");
        let fields: Vec<&str> = err["error"]["details"]
            .as_array()
            .expect("details")
            .iter()
            .map(|d| d["field"].as_str().expect("field"))
            .collect();
        assert!(fields.contains(&field), "{what}: {fields:?}");
    }
    // A number too large for a double is malformed JSON for serde: 400, naming nothing.
    let res = app
        .client
        .post(app.url(&format!("/v1/intake/{}", p.slug)))
        .header("content-type", "application/json")
        .body(r#"{"labs": [{"marker": "tsh", "value": 1e999, "unit": "mIU/L"}], "consent": true}"#)
        .send()
        .await
        .expect("req");
    let (status, _) = error_code(res).await;
    assert!(status == 400 || status == 422, "{status}");
}
