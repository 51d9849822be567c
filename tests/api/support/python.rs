//! Runs tests/interop/verify_webhook.py, so tests check webhooks with the off-the-shelf Python libraries a CRM would use.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::fake_crm::RecordedRequest;

/// The Standard Webhooks headers handed to the verifier.
const SIGNATURE_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// The Python interpreter of the interop venv: `GAPRELAY_TEST_PYTHON` (set by `make test`),
/// else `.venv/bin/python` in the crate root.
pub fn interop_python() -> PathBuf {
    if let Some(python) = std::env::var_os("GAPRELAY_TEST_PYTHON").filter(|v| !v.is_empty()) {
        let python = PathBuf::from(python);
        assert!(
            python.is_file(),
            "GAPRELAY_TEST_PYTHON={} does not exist; run `make venv` (or `make test`)",
            python.display()
        );
        return python;
    }
    let venv_python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv_python.is_file(),
        "no interop Python at {} and GAPRELAY_TEST_PYTHON is unset; run `make venv` (or `make test`)",
        venv_python.display()
    );
    venv_python
}

/// Verifies a received webhook with the `standardwebhooks` library and, when `jwk` is
/// given, decrypts its `data` with `jwcrypto`. Returns
/// `{"envelope": <body with data decrypted>, "protected_header": <JWE header or null>}`;
/// panics with the script's reason when the webhook is rejected.
///
/// Blocks for the interpreter's run (a few hundred milliseconds); the library checks the
/// timestamp against a 5-minute tolerance, so verify soon after delivery.
pub fn verify_webhook_with_python(
    secret: &str,
    jwk: Option<&serde_json::Value>,
    request: &RecordedRequest,
) -> serde_json::Value {
    let body = String::from_utf8(request.body.clone())
        .unwrap_or_else(|e| panic!("the webhook body is not UTF-8: {e}"));
    let headers: serde_json::Map<String, serde_json::Value> = SIGNATURE_HEADERS
        .iter()
        .filter_map(|name| {
            request
                .headers
                .get(*name)
                .map(|value| (name.to_string(), value.clone().into()))
        })
        .collect();
    let input = serde_json::json!({
        "secret": secret,
        "jwk": jwk,
        "headers": headers,
        "body": body,
    });

    let python = interop_python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verify_webhook.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {} {}: {e}", python.display(), script.display()));
    child
        .stdin
        .take()
        .expect("the verifier's stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("write the webhook to the verifier's stdin");
    let output = child
        .wait_with_output()
        .expect("wait for verify_webhook.py");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "verify_webhook.py rejected the webhook ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "verify_webhook.py printed no JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Signs (and with `encrypt`, JWE-encrypts) a sample webhook with the Python libraries
    /// themselves, standing in for the relay so the verifier plumbing is tested alone.
    const MAKE_WEBHOOK: &str = r#"
import base64, json, os, sys
from datetime import datetime, timezone
from jwcrypto import jwe, jwk
from jwcrypto.common import json_encode
from standardwebhooks import Webhook
encrypt = sys.argv[1] == "encrypt"
secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
key = jwk.JWK.generate(kty="oct", size=256, kid="key_selftest", alg="dir", enc="A256GCM")
payload = {"submission_id": "sub_selftest", "patient": {"name": "Zoë"}}
data = payload
if encrypt:
    header = {"alg": "dir", "enc": "A256GCM", "kid": "key_selftest", "cty": "json"}
    token = jwe.JWE(json.dumps(payload).encode(), json_encode(header))
    token.add_recipient(key)
    data = json.loads(token.serialize(compact=False))
body = json.dumps({"type": "intake.submitted", "timestamp": "2026-01-01T00:00:00Z", "data": data}, ensure_ascii=False)
now = datetime.now(tz=timezone.utc)
headers = {"webhook-id": "msg_selftest", "webhook-timestamp": str(int(now.timestamp())),
           "webhook-signature": Webhook(secret).sign("msg_selftest", now, body)}
json.dump({"secret": secret, "jwk": json.loads(key.export()), "headers": headers, "body": body}, sys.stdout)
"#;

    fn sample_webhook(encrypt: bool) -> (String, serde_json::Value, RecordedRequest) {
        let output = Command::new(interop_python())
            .args([
                "-c",
                MAKE_WEBHOOK,
                if encrypt { "encrypt" } else { "plain" },
            ])
            .output()
            .expect("run the interop Python");
        assert!(
            output.status.success(),
            "making a sample webhook failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let made: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the sample webhook is JSON");
        let headers: HashMap<String, String> =
            serde_json::from_value(made["headers"].clone()).expect("sample headers");
        let request = RecordedRequest {
            method: "POST".to_string(),
            path: "/hook".to_string(),
            headers,
            body: made["body"]
                .as_str()
                .expect("sample body")
                .as_bytes()
                .to_vec(),
        };
        let secret = made["secret"].as_str().expect("sample secret").to_string();
        (secret, made["jwk"].clone(), request)
    }

    #[test]
    fn a_signed_plain_webhook_is_verified_and_returned() {
        let (secret, _, request) = sample_webhook(false);
        let verified = verify_webhook_with_python(&secret, None, &request);
        assert_eq!(verified["envelope"], request.json());
        assert_eq!(verified["envelope"]["data"]["patient"]["name"], "Zoë");
        assert!(verified["protected_header"].is_null());
    }

    #[test]
    fn an_encrypted_webhook_is_verified_and_its_data_decrypted() {
        let (secret, jwk, request) = sample_webhook(true);
        let verified = verify_webhook_with_python(&secret, Some(&jwk), &request);
        assert_eq!(
            verified["envelope"]["data"]["submission_id"],
            "sub_selftest"
        );
        assert_eq!(verified["protected_header"]["kid"], "key_selftest");
        assert_eq!(verified["protected_header"]["enc"], "A256GCM");
    }

    #[test]
    fn a_tampered_body_is_rejected_with_the_scripts_reason() {
        let (secret, _, mut request) = sample_webhook(false);
        request.body = request
            .body_str()
            .replace("sub_selftest", "sub_other")
            .into_bytes();
        let panic =
            std::panic::catch_unwind(|| verify_webhook_with_python(&secret, None, &request))
                .expect_err("a tampered body must be rejected");
        let message = panic
            .downcast::<String>()
            .map(|message| *message)
            .unwrap_or_default();
        assert!(message.contains("No matching signature"), "{message}");
    }
}
