//! Schemathesis fuzzes every operation of `/openapi.json` against the real app (its own
//! Redis, endpoint URLs checked as in production) and finds no server error and no
//! answer the document does not describe: a bounded, seeded run in every `make test`.

use crate::helpers::{spawn_app_with, AppOptions, TestApp, ADMIN_TOKEN, METRICS_TOKEN};
use crate::support::interop_python;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Test cases per operation and phase. It bounds the whole test (about 2,700 cases in
/// about 25 s); raise it locally for a deeper search (100: about 6,000 cases, 90 s).
const MAX_EXAMPLES: &str = "20";
/// No 5xx, above all; and the answers match the document (content type, headers, body
/// schema). `status_code_conformance` waits for `POST /v1/practitioner/restore` to
/// document its 409.
const CHECKS: [&str; 4] = [
    "not_a_server_error",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
];
/// The same inputs on every run, so that a failure reproduces.
const SEED: &str = "20260101";
/// Schemathesis reports a request that takes longer than this (seconds): a hang is a bug.
const REQUEST_TIMEOUT_S: &str = "10";
/// A run still going after this is killed and fails the test.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Operations that would take the fixtures away from the rest of a run: erasing the
/// practice, revoking a key and suspending a practitioner (schemathesis finds real ids
/// in the list responses and follows them) and deleting the endpoint. The first run
/// leaves them out so that every other operation reaches a live account; a second run,
/// afterwards, exercises only them, against spare fixtures where it can.
const DESTRUCTIVE: [&str; 4] = [
    "delete_practitioner",
    "revoke_api_key",
    "suspend",
    "delete_endpoint",
];

/// What the runs act on, created through the API before they start.
struct Fixtures {
    /// Owner key of the practice with slug `demo`, the `{slug}` of the public routes.
    owner_key: String,
    /// That practice's endpoint, on a host reserved for examples (RFC 2606); no worker
    /// runs, so nothing is sent.
    endpoint_id: String,
    /// A second key of the practice, for `DELETE /v1/api-keys/{id}`.
    spare_key_id: String,
    /// A second practitioner, for the operator's suspension.
    spare_practitioner_id: String,
}

async fn create_fixtures(app: &TestApp) -> Fixtures {
    let demo = app.create_practitioner("demo").await;
    let endpoint = app
        .create_endpoint(
            &demo.api_key,
            "https://crm.example.com/hooks/gaprelay",
            "jwe",
        )
        .await;
    let res = app
        .client
        .post(app.url("/v1/api-keys"))
        .bearer_auth(&demo.api_key)
        .json(&json!({"role": "viewer", "label": "spare key"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    let spare_key: Value = res.json().await.expect("json");
    let spare = app.create_practitioner("spare").await;
    Fixtures {
        owner_key: demo.api_key,
        endpoint_id: endpoint.id,
        spare_key_id: spare_key["id"].as_str().expect("key id").to_owned(),
        spare_practitioner_id: spare.id,
    }
}

/// The run's `schemathesis.toml`: each security scheme gets its own credential, path
/// parameters name the fixtures, and nothing is persisted between runs.
fn config(f: &Fixtures) -> String {
    format!(
        r#"# Written by tests/api/schemathesis.rs for one run.
[generation]
database = "none"

[cache]
enabled = false

[auth.openapi]
api_key = {{ bearer = "{owner_key}" }}
operator = {{ bearer = "{ADMIN_TOKEN}" }}
metrics = {{ bearer = "{METRICS_TOKEN}" }}

[warnings]
fail-on = ["unused_openapi_auth", "unmatched_filter"]

[parameters]
slug = "demo"

[[operations]]
include-operation-id = ["update_endpoint", "rotate_endpoint", "test_endpoint", "delete_endpoint"]
parameters = {{ id = "{endpoint_id}" }}

[[operations]]
include-operation-id = ["put_range", "delete_range"]
parameters = {{ marker = "tsh" }}

[[operations]]
include-operation-id = "revoke_api_key"
parameters = {{ id = "{spare_key_id}" }}

[[operations]]
include-operation-id = "suspend"
parameters = {{ id = "{spare_practitioner_id}" }}
"#,
        owner_key = f.owner_key,
        endpoint_id = f.endpoint_id,
        spare_key_id = f.spare_key_id,
        spare_practitioner_id = f.spare_practitioner_id,
    )
}

/// One finished schemathesis run.
struct Run {
    name: &'static str,
    output: String,
    report: Value,
}

impl Run {
    fn stat(&self, section: &str, field: &str) -> u64 {
        self.report[section][field]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no {section}.{field} in the report", self.name))
    }

    /// The summary schemathesis prints at the end (operations, phases, cases).
    fn summary(&self) -> &str {
        self.output
            .find("SUMMARY")
            .and_then(|at| self.output[..at].rfind('\n'))
            .map_or(self.output.as_str(), |start| &self.output[start + 1..])
    }
}

/// Runs `schemathesis run` against the app with `filter` (`--include-…`/`--exclude-…`
/// options) and [`CHECKS`], and panics with its command line and whole output unless it
/// passes. The child works in `dir`, so Hypothesis' `.hypothesis/` and the report land
/// there and not in the repository.
async fn schemathesis(app: &TestApp, dir: &Path, name: &'static str, filter: &[String]) -> Run {
    let python = interop_python();
    let report_path = dir.join(format!("{name}.json"));
    let mut args: Vec<String> = vec![
        "-m".into(),
        "schemathesis.cli".into(),
        "--config-file".into(),
        dir.join("schemathesis.toml").display().to_string(),
        "run".into(),
        app.url("/openapi.json"),
        // Requests go to the app under test whatever `servers` the document may list.
        "--url".into(),
        app.address.clone(),
        "--checks".into(),
        CHECKS.join(","),
        "--max-examples".into(),
        MAX_EXAMPLES.into(),
        "--seed".into(),
        SEED.into(),
        "--workers".into(),
        "1".into(),
        "--request-timeout".into(),
        REQUEST_TIMEOUT_S.into(),
        "--report".into(),
        "json".into(),
        "--report-json-path".into(),
        report_path.display().to_string(),
        "--no-color".into(),
    ];
    args.extend_from_slice(filter);
    let started = Instant::now();
    let child = Command::new(&python)
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ({name}) still running after {RUN_LIMIT:?}"))
        .expect("wait for schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis ({name}) failed ({}) after {:.0?}: {} {}\n{text}",
        output.status,
        started.elapsed(),
        python.display(),
        args.join(" "),
    );
    let report = std::fs::read(&report_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| panic!("schemathesis ({name}) wrote no JSON report\n{text}"));
    Run {
        name,
        output: text,
        report,
    }
}

fn each(option: &str, operation_ids: &[&str]) -> Vec<String> {
    operation_ids
        .iter()
        .flat_map(|id| [option.to_owned(), (*id).to_owned()])
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn schemathesis_finds_no_server_error_and_no_answer_that_contradicts_the_document() {
    // Endpoint URLs are checked as in production (host names looked up when saved); the
    // public rate limits stay off as in every test app, so cases reach the handlers
    // rather than a 429.
    let app = spawn_app_with(AppOptions {
        allow_private_targets: false,
        ..AppOptions::default()
    })
    .await;
    let fixtures = create_fixtures(&app).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("schemathesis.toml"), config(&fixtures))
        .expect("write schemathesis.toml");

    let main = schemathesis(
        &app,
        dir.path(),
        "main",
        &each("--exclude-operation-id", &DESTRUCTIVE),
    )
    .await;
    // The run left the account usable, so every operation in it reached a live one.
    for path in ["/v1/practitioner", "/v1/endpoints"] {
        let res = app.get(path, Some(&fixtures.owner_key)).await;
        assert_eq!(res.status(), 200, "GET {path} after the first run");
    }
    assert_eq!(app.get("/v1/forms/demo", None).await.status(), 200);
    let destructive = schemathesis(
        &app,
        dir.path(),
        "destructive",
        &each("--include-operation-id", &DESTRUCTIVE),
    )
    .await;

    let total = main.stat("operations", "total");
    let mut cases = 0;
    let mut seconds = 0.0;
    for (run, expected) in [
        (&main, total - DESTRUCTIVE.len() as u64),
        (&destructive, DESTRUCTIVE.len() as u64),
    ] {
        println!("── schemathesis: {} ──\n{}", run.name, run.summary());
        let (selected, tested) = (
            run.stat("operations", "selected"),
            run.stat("operations", "tested"),
        );
        assert_eq!(
            (selected, tested),
            (expected, expected),
            "{}: operations selected and tested\n{}",
            run.name,
            run.output
        );
        cases += run.stat("test_cases", "generated");
        seconds += run.report["running_time"].as_f64().unwrap_or_default();
    }
    println!(
        "schemathesis: {total} operations, {cases} cases, no server error, {seconds:.0} s (max {MAX_EXAMPLES} examples per operation and phase, seed {SEED})"
    );
}
