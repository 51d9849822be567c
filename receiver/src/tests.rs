//! Unit tests of the whole path: JWEs built here with aes-gcm / aes-kw directly, bodies
//! signed with `sign`, parsed into events.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::*;

const KEY: [u8; 32] = [7; 32];
const IV: [u8; 12] = [9; 12];

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn gcm(key: &[u8; 32], protected: &str, plaintext: &[u8]) -> (String, String) {
    let mut buffer = plaintext.to_vec();
    let tag = Aes256Gcm::new(key.into())
        .encrypt_in_place_detached(Nonce::from_slice(&IV), protected.as_bytes(), &mut buffer)
        .expect("encrypts");
    (b64(buffer), b64(tag))
}

/// A flattened `dir` + `A256GCM` JWE, as the relay's `jwe` mode sends it.
fn flattened(kid: &str, plaintext: &Value) -> Value {
    let protected = b64(format!(
        r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}","cty":"json"}}"#
    ));
    let (ciphertext, tag) = gcm(&KEY, &protected, plaintext.to_string().as_bytes());
    json!({"protected": protected, "iv": b64(IV), "ciphertext": ciphertext, "tag": tag})
}

fn shared_key(kid: &str) -> DecryptionKey {
    DecryptionKey::from_jwk(&json!({"kty": "oct", "kid": kid, "k": b64(KEY), "alg": "dir"}))
        .expect("an oct key")
}

fn test_payload() -> Value {
    json!({"practitioner": {"id": "prac_1"}, "message": "a test", "added_later": 1})
}

#[test]
fn a_flattened_jwe_made_with_aes_gcm_decrypts() {
    let jwe = flattened("k1", &test_payload());
    assert_eq!(decrypt(&jwe, &[shared_key("k1")]), Ok(test_payload()));
    // Chosen by kid among several.
    assert_eq!(
        decrypt(&jwe, &[shared_key("k0"), shared_key("k1")]),
        Ok(test_payload())
    );
    assert_eq!(decrypt(&jwe, &[shared_key("k2")]), Err(DecryptError::NoKey));
    assert_eq!(decrypt(&jwe, &[]), Err(DecryptError::NoKey));
    // The same kid with other key material fails authentication.
    let other = DecryptionKey::from_jwk(&json!({"kty": "oct", "kid": "k1", "k": b64([8u8; 32])}))
        .expect("key");
    assert_eq!(decrypt(&jwe, &[other]), Err(DecryptError::Decrypt));
}

#[test]
fn a_tampered_or_malformed_jwe_is_refused_not_a_panic() {
    let jwe = flattened("k1", &test_payload());
    let keys = [shared_key("k1")];
    let with = |member: &str, value: Value| {
        let mut changed = jwe.clone();
        changed[member] = value;
        decrypt(&changed, &keys)
    };
    let mut ct = URL_SAFE_NO_PAD
        .decode(jwe["ciphertext"].as_str().expect("ct"))
        .expect("b64");
    ct[0] ^= 1;
    assert_eq!(
        with("ciphertext", json!(b64(ct))),
        Err(DecryptError::Decrypt)
    );
    assert_eq!(
        with("tag", json!(b64([0u8; 16]))),
        Err(DecryptError::Decrypt)
    );
    assert_eq!(with("iv", json!("AAAA")), Err(DecryptError::Length("iv")));
    assert_eq!(with("iv", json!("!")), Err(DecryptError::Base64("iv")));
    assert_eq!(with("tag", json!(7)), Err(DecryptError::Malformed));
    // A re-spaced header is different AAD.
    let spaced = b64(r#"{"alg": "dir","enc":"A256GCM","kid":"k1","cty":"json"}"#);
    assert_eq!(with("protected", json!(spaced)), Err(DecryptError::Decrypt));
    for header in [
        r#"{"alg":"dir","enc":"A128GCM","kid":"k1"}"#,
        r#"{"alg":"dir","enc":"A256GCM","kid":"k1","zip":"DEF"}"#,
        r#"{"alg":"A256KW","enc":"A256GCM","kid":"k1"}"#,
    ] {
        assert_eq!(
            with("protected", json!(b64(header))),
            Err(DecryptError::Unsupported)
        );
    }
    assert_eq!(with("aad", json!("")), Err(DecryptError::Unsupported));
}

#[test]
fn unencrypted_data_is_returned_as_it_is() {
    assert_eq!(decrypt(&test_payload(), &[]), Ok(test_payload()));
}

/// A General JWE to a P-256 key, built step by step with p256, the KDF written out
/// again here, aes-kw and aes-gcm.
#[test]
fn a_general_jwe_to_a_p256_key_decrypts_by_kid() {
    let receiver = p256::SecretKey::from_slice(&[3; 32]).expect("scalar");
    let ephemeral = p256::SecretKey::from_slice(&[5; 32]).expect("scalar");
    let z = p256::ecdh::diffie_hellman(
        ephemeral.to_nonzero_scalar(),
        receiver.public_key().as_affine(),
    );
    let mut kdf = sha2::Sha256::new();
    kdf.update(1u32.to_be_bytes());
    kdf.update(z.raw_secret_bytes());
    kdf.update(14u32.to_be_bytes());
    kdf.update(b"ECDH-ES+A256KW");
    kdf.update([0u8; 8]);
    kdf.update(256u32.to_be_bytes());
    let kek: [u8; 32] = kdf.finalize().into();
    let cek = [11u8; 32];
    let mut wrapped = [0u8; 40];
    aes_kw::KekAes256::from(kek)
        .wrap(&cek, &mut wrapped)
        .expect("wraps");
    let protected = b64(r#"{"enc":"A256GCM"}"#);
    let (ciphertext, tag) = gcm(&cek, &protected, test_payload().to_string().as_bytes());
    let epk = ephemeral.public_key().to_encoded_point(false);
    let header = |kid: &str| {
        json!({"alg": "ECDH-ES+A256KW", "kid": kid, "epk": {
            "kty": "EC", "crv": "P-256",
            "x": b64(epk.x().expect("x")), "y": b64(epk.y().expect("y"))}})
    };
    let jwe = json!({
        "protected": protected,
        "recipients": [
            {"header": header("someone-else"), "encrypted_key": b64([0u8; 40])},
            {"header": header("ec-1"), "encrypted_key": b64(wrapped)},
        ],
        "iv": b64(IV), "ciphertext": ciphertext, "tag": tag,
    });
    let public = receiver.public_key().to_encoded_point(false);
    let key = DecryptionKey::from_jwk(&json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-1", "d": b64([3u8; 32]),
        "x": b64(public.x().expect("x")), "y": b64(public.y().expect("y")),
    }))
    .expect("a P-256 key");
    assert_eq!(
        decrypt(&jwe, std::slice::from_ref(&key)),
        Ok(test_payload())
    );
    // An X25519 key of the same kid cannot agree with a P-256 epk.
    let okp = DecryptionKey::from_jwk(
        &json!({"kty": "OKP", "crv": "X25519", "kid": "ec-1", "d": b64([3u8; 32])}),
    )
    .expect("an X25519 key");
    assert_eq!(decrypt(&jwe, &[okp]), Err(DecryptError::Decrypt));
    let mut tampered = jwe.clone();
    tampered["recipients"][1]["encrypted_key"] = json!(b64([1u8; 40]));
    assert_eq!(decrypt(&tampered, &[key]), Err(DecryptError::Decrypt));
}

#[test]
fn unusable_jwks_are_refused() {
    let refused = |jwk: Value| DecryptionKey::from_jwk(&jwk).err();
    assert_eq!(refused(json!("k")), Some(KeyError::NotAnObject));
    assert_eq!(
        refused(json!({"kty": "oct", "k": b64(KEY)})),
        Some(KeyError::MissingKid)
    );
    assert_eq!(
        refused(json!({"kty": "oct", "kid": "a", "k": "AAAA"})),
        Some(KeyError::InvalidMember("k"))
    );
    assert_eq!(
        refused(json!({"kty": "EC", "crv": "P-256", "kid": "a", "x": "", "y": ""})),
        Some(KeyError::NotPrivate)
    );
    assert_eq!(
        refused(json!({"kty": "EC", "crv": "P-384", "kid": "a", "d": b64(KEY)})),
        Some(KeyError::UnsupportedKey)
    );
    assert_eq!(
        refused(json!({"kty": "EC", "crv": "P-256", "kid": "a", "d": b64([0u8; 32])})),
        Some(KeyError::InvalidMember("d"))
    );
    assert!(!format!("{:?}", shared_key("k1")).contains(&b64(KEY)));
}

fn signed(receiver_secret: &str, body: &[u8], now: i64) -> (String, String) {
    let secret = Secret::from_whsec(receiver_secret).expect("secret");
    (now.to_string(), sign(&secret, "msg_1", now, body))
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn receive(receiver: &Receiver, body: &[u8]) -> Result<Webhook, Error> {
    let now = 1_700_000_000;
    let (timestamp, signature) = signed(WHSEC, body, now);
    let headers = Headers {
        id: "msg_1",
        timestamp: &timestamp,
        signature: &signature,
    };
    receiver.receive(&headers, body, now)
}

fn intake_v1() -> Value {
    json!({
        "submission_id": "sub_1", "submitted_at": "2026-01-01T00:00:00Z",
        "practitioner": {"id": "prac_1", "slug": "dr-a"},
        "patient": {"name": "Ada", "email": null, "phone": null, "sex": "female", "age": 40},
        "consent": {"given": true, "at": "2026-01-01T00:00:00Z", "version": 1, "text_sha256": "00"},
        "report": {"labs": [{"marker": "tsh", "loinc": "3016-3", "name": "TSH", "value": 3.1,
            "unit": "uIU/mL", "input": {"value": 3.1, "unit": "uIU/mL"},
            "standard": {"low": 0.4, "high": 4.5}, "optimal": {"low": 1.0, "high": 2.0},
            "zone": "above_optimal", "gap": 1.1, "a_future_member": true}],
            "symptoms": [{"id": "fatigue", "name": "Fatigue", "systems": ["thyroid"]}],
            "summary": {"labs": 1, "zones": {"optimal": 0, "above_optimal": 1}, "out_of_optimal": 1,
                "systems": [{"system": "thyroid", "attention": 2, "markers": ["tsh"], "symptoms": ["fatigue"]}]}},
        "engagement": {"time_on_tool_s": 12}
    })
}

#[test]
fn the_receiver_verifies_decrypts_and_parses_each_event_type() {
    let receiver = Receiver::new(
        vec![Secret::from_whsec(WHSEC).expect("secret")],
        vec![shared_key("k1")],
    );
    let envelope = |kind: &str, data: Value| {
        json!({"type": kind, "timestamp": "2026-01-01T00:00:00Z", "data": data}).to_string()
    };
    let body = envelope("intake.submitted", flattened("k1", &intake_v1()));
    let webhook = receive(&receiver, body.as_bytes()).expect("accepted");
    assert_eq!(webhook.id, "msg_1");
    assert_eq!(webhook.timestamp, "2026-01-01T00:00:00Z");
    let Event::IntakeSubmitted(IntakeSubmitted::GaprelayV1(intake)) = webhook.event else {
        panic!("an intake: {:?}", webhook.event);
    };
    assert_eq!(intake.submission_id, "sub_1");
    assert_eq!(intake.patient.name.as_deref(), Some("Ada"));
    assert_eq!(intake.report.labs[0].value, 3.1);
    assert_eq!(intake.report.labs[0].zone, Zone::AboveOptimal);
    assert_eq!(intake.patient.sex, Some(Sex::Female));
    assert_eq!(
        intake.report.labs[0].standard.and_then(|b| b.high),
        Some(4.5)
    );
    assert_eq!(intake.engagement.time_on_tool_s, Some(12));
    assert_eq!(intake.source, None);

    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": []});
    let body = envelope("intake.submitted", bundle.clone());
    assert_eq!(
        receive(&receiver, body.as_bytes()).expect("ok").event,
        Event::IntakeSubmitted(IntakeSubmitted::FhirR4(bundle))
    );

    let body = envelope("endpoint.test", test_payload());
    assert!(matches!(
        receive(&receiver, body.as_bytes()).expect("ok").event,
        Event::EndpointTest(EndpointTest { ref message, .. }) if message == "a test"
    ));
    let body = envelope(
        "endpoint.delivery_expired",
        json!({"message_id": "msg_2", "endpoint_id": "ep_1", "submission_id": null,
               "expired_at": "2026-01-02T00:00:00Z"}),
    );
    assert!(matches!(
        receive(&receiver, body.as_bytes()).expect("ok").event,
        Event::DeliveryExpired(DeliveryExpired {
            submission_id: None,
            ..
        })
    ));
    let body = envelope(
        "endpoint.failing",
        json!({"endpoint_id": "ep_1", "reason": "keeps_failing", "consecutive_failures": 5,
               "pending_messages": 2, "pending_capped": false, "last_http_status": 500,
               "last_error": null, "message_id": null, "expires_at": null,
               "detected_at": "2026-01-02T00:00:00Z"}),
    );
    assert!(matches!(
        receive(&receiver, body.as_bytes()).expect("ok").event,
        Event::EndpointFailing(EndpointFailing {
            last_http_status: Some(500),
            ..
        })
    ));
    let body = envelope("practice.renamed", json!({"x": 1}));
    assert_eq!(
        receive(&receiver, body.as_bytes()).expect("ok").event,
        Event::Unknown {
            kind: "practice.renamed".into(),
            data: json!({"x": 1})
        }
    );
}

#[test]
fn the_receiver_names_the_step_that_failed() {
    let receiver = Receiver::new(vec![Secret::from_whsec(WHSEC).expect("secret")], vec![]);
    let body = br#"{"type":"endpoint.test","timestamp":"t","data":{"message":"no practitioner"}}"#;
    assert_eq!(
        receive(&receiver, body).err(),
        Some(Error::Parse(ParseError::Data("endpoint.test".into())))
    );
    assert_eq!(
        receive(&receiver, b"[]").err(),
        Some(Error::Parse(ParseError::Envelope))
    );
    let encrypted = json!({"type": "endpoint.test", "timestamp": "t",
                           "data": flattened("k1", &test_payload())})
    .to_string();
    assert_eq!(
        receive(&receiver, encrypted.as_bytes()).err(),
        Some(Error::Decrypt(DecryptError::NoKey))
    );
    let (timestamp, signature) = signed(WHSEC, body, 1_700_000_000);
    let headers = Headers {
        id: "msg_1",
        timestamp: &timestamp,
        signature: &signature,
    };
    assert_eq!(
        receiver.receive(&headers, body, 1_700_000_000 + 600).err(),
        Some(Error::Verify(VerifyError::OutsideTolerance(-600)))
    );
    let strict = receiver.with_tolerance(Duration::from_secs(1));
    assert_eq!(
        strict.receive(&headers, body, 1_700_000_002).err(),
        Some(Error::Verify(VerifyError::OutsideTolerance(-2)))
    );
}

#[test]
fn a_generated_key_pair_exports_a_public_jwk_without_d_and_reloads_from_its_private_jwk() {
    let mut rng = rand_core::OsRng;
    for key in [
        DecryptionKey::generate_p256("ec-gen", &mut rng),
        DecryptionKey::generate_x25519("okp-gen", &mut rng),
    ] {
        let public = key.public_jwk().expect("a key pair has a public half");
        assert!(public.get("d").is_none(), "{public}");
        assert_eq!(public["kid"], key.kid());
        let private = key.to_jwk();
        assert_eq!(private["x"], public["x"]);
        let reloaded = DecryptionKey::from_jwk(&private).expect("reloads");
        assert_eq!(reloaded.public_jwk(), Some(public.clone()));
        // The public JWK alone is not a decryption key.
        assert_eq!(
            DecryptionKey::from_jwk(&public).err(),
            Some(KeyError::NotPrivate)
        );
    }
    let shared = shared_key("oct-1");
    assert_eq!(shared.public_jwk(), None);
    let reloaded = DecryptionKey::from_jwk(&shared.to_jwk()).expect("reloads");
    assert_eq!(reloaded.to_jwk(), shared.to_jwk());
}
