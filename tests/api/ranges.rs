//! Practitioner ranges and the marker catalog.

use crate::helpers::{canary_intake, error_code, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_practitioner_range_changes_the_markers_list_and_the_report() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ranges-own").await;
    let res = app
        .client
        .put(app.url("/v1/ranges/3016-3"))
        .bearer_auth(&p.api_key)
        .json(&json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 4.0}, "standard": {"low": 0.45, "high": 4.5},
                      "messages": {"optimal": "Right where we like it."}}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["marker"], "tsh");
    assert_eq!(body["optimal"], json!({"low": 1.0, "high": 4.0}));
    assert_eq!(body["source"], "practitioner");

    let markers: serde_json::Value = app.get_json("/v1/markers", Some(&p.api_key)).await;
    let tsh = markers["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|m| m["id"] == "tsh")
        .cloned()
        .expect("tsh");
    assert_eq!(tsh["ranges"][0]["optimal"]["high"], 4.0);

    let report: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    let lab = &report["report"]["labs"][0];
    assert_eq!(lab["zone"], "optimal");
    assert_eq!(lab["gap"], 0.0);
    assert_eq!(lab["standard"], json!({"low": 0.45, "high": 4.5}));
    assert_eq!(lab["message"], "Right where we like it.");
}

#[tokio::test]
async fn ranges_given_in_another_unit_are_kept_in_the_range_unit_and_delete_restores_the_default() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ranges-unit").await;
    let res = app
        .client
        .put(app.url("/v1/ranges/glucose_fasting"))
        .bearer_auth(&p.api_key)
        .json(&json!({"unit": "mmol/L", "optimal": {"low": 4.0, "high": 5.0}, "sex": "female"}))
        .send()
        .await
        .expect("req");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["unit"], "mg/dL");
    assert_eq!(body["sex"], "female");
    assert!((body["optimal"]["low"].as_f64().expect("low") - 72.0624).abs() < 0.001);

    let res = app
        .client
        .delete(app.url("/v1/ranges/glucose_fasting?sex=female"))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["source"], "default");
    assert_eq!(body["optimal"], json!({"low": 75.0, "high": 86.0}));

    let res = app
        .client
        .delete(app.url("/v1/ranges/glucose_fasting?sex=female"))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(res).await.0, 404);
}

#[tokio::test]
async fn nonsense_ranges_unknown_markers_and_read_only_keys_are_refused() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ranges-bad").await;
    let put = |marker: &str, body: serde_json::Value| {
        app.client
            .put(app.url(&format!("/v1/ranges/{marker}")))
            .bearer_auth(&p.api_key)
            .json(&body)
            .send()
    };
    let res = put(
        "tsh",
        json!({"unit": "g", "optimal": {"low": 3.0, "high": 1.0}}),
    )
    .await
    .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "unit");
    assert_eq!(body["error"]["details"][1]["field"], "optimal.low");

    let res = put(
        "glucose_fasting",
        json!({"unit": "mmol/L", "optimal": {"low": 75.0, "high": 86.0}}),
    )
    .await
    .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422, "mg/dL figures given as mmol/L");
    assert_eq!(body["error"]["details"][0]["field"], "optimal");

    let res = put("tsh", json!({"unit": "mIU/L", "optimal": {}}))
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].as_str()),
        (422, Some("optimal"))
    );

    let res = put(
        "unobtainium",
        json!({"unit": "g", "optimal": {"low": 1.0, "high": 2.0}}),
    )
    .await
    .expect("req");
    assert_eq!(error_code(res).await.0, 404);

    let res = put(
        "tsh",
        json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 2.0}, "colour": "red"}),
    )
    .await
    .expect("req");
    assert_eq!(error_code(res).await.0, 400);
}

#[tokio::test]
async fn a_range_typed_as_labs_print_it_from_zero_is_accepted_and_judges_patients() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ranges-zero").await;
    // LabCorp prints triglycerides as `0-149 mg/dL`.
    let res = app
        .client
        .put(app.url("/v1/ranges/triglycerides"))
        .bearer_auth(&p.api_key)
        .json(&json!({"unit": "mg/dL", "optimal": {"low": 0, "high": 100}, "standard": {"low": 0, "high": 149}}))
        .send()
        .await
        .expect("req");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["optimal"], json!({"low": 0.0, "high": 100.0}));
    assert_eq!(body["standard"], json!({"low": 0.0, "high": 149.0}));

    let mut intake = canary_intake();
    intake["labs"] = json!([{"marker": "triglycerides", "value": 120, "unit": "mg/dL"}]);
    let report: serde_json::Value = app
        .post_intake(&p.slug, &intake)
        .await
        .json()
        .await
        .expect("json");
    let lab = &report["report"]["labs"][0];
    assert_eq!(lab["zone"], "above_optimal", "{report}");
    assert_eq!(lab["standard"], json!({"low": 0.0, "high": 149.0}));
}
