//! Transport security: security headers on every response and no cookies; `serve`
//! terminates TLS itself (1.2+, HSTS); outbound webhooks verify the receiver's
//! certificate.

use crate::helpers::{canary_intake, spawn_app, spawn_app_with, AppOptions, ADMIN_TOKEN};
use crate::support::redis::free_port;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn assert_security_headers(what: &str, res: &reqwest::Response) {
    let h = res.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert!(
        get("content-security-policy").contains("default-src"),
        "{what}"
    );
    assert!(!get("cache-control").is_empty(), "{what}");
    assert!(h.get("set-cookie").is_none(), "{what} sets a cookie");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers_and_no_cookie() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("headers", "jwe").await;
    let mut bad = canary_intake();
    bad["labs"][0]["unit"] = "furlongs".into();
    let checks: Vec<(&str, reqwest::Response)> = vec![
        ("healthz", app.get("/healthz", None).await),
        ("readyz", app.get("/readyz", None).await),
        ("openapi", app.get("/openapi.json", None).await),
        ("docs", app.get("/docs", None).await),
        ("form", app.get("/v1/forms/headers", None).await),
        ("unknown form", app.get("/v1/forms/nobody", None).await),
        (
            "intake 202",
            app.post_intake(&p.slug, &canary_intake()).await,
        ),
        ("intake 422", app.post_intake(&p.slug, &bad).await),
        ("no key", app.get("/v1/practitioner", None).await),
        (
            "with key",
            app.get("/v1/practitioner", Some(&p.api_key)).await,
        ),
        ("no route", app.get("/nowhere", None).await),
        (
            "wrong method",
            app.client
                .delete(app.url("/healthz"))
                .send()
                .await
                .expect("req"),
        ),
    ];
    for (what, res) in &checks {
        assert_security_headers(what, res);
        assert!(
            res.headers().get("strict-transport-security").is_none(),
            "{what}: no HSTS over plain HTTP"
        );
    }
    // The API itself is never cached; the intake answer holds the patient's report.
    for (what, res) in &checks {
        if *what != "docs" && *what != "openapi" {
            assert_eq!(
                res.headers()
                    .get("cache-control")
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{what}"
            );
        }
    }
}

struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A self-signed certificate for `localhost`, written as PEM files into `dir`;
/// returns the certificate's PEM.
fn self_signed(dir: &Path) -> String {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).expect("write key");
    ck.cert.pem()
}

/// `gaprelay serve` as in production, terminating TLS with the files in `dir`.
fn serve_tls(dir: &Path, port: u16) -> Relay {
    let key = gaprelay::crypto::seal::MasterKey::generate(&mut rand::rngs::OsRng).to_base64();
    let child = Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("serve")
        .env("RUST_LOG", "warn")
        .env("GAPRELAY_BIND", format!("127.0.0.1:{port}"))
        .env("GAPRELAY_MASTER_KEY", key)
        .env("GAPRELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("GAPRELAY_TLS_CERT", dir.join("cert.pem"))
        .env("GAPRELAY_TLS_KEY", dir.join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gaprelay");
    Relay(child)
}

fn tls_client(cert_pem: &str, max: Option<reqwest::tls::Version>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .timeout(Duration::from_secs(5));
    if let Some(v) = max {
        b = b.max_tls_version(v);
    }
    b.build().expect("client")
}

async fn wait_for_tls(client: &reqwest::Client, url: &str) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(res) = client.get(url).send().await {
            return res;
        }
        assert!(Instant::now() < deadline, "{url} never answered over TLS");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_terminates_tls_sends_hsts_and_speaks_no_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = self_signed(dir.path());
    let port = free_port();
    let _relay = serve_tls(dir.path(), port);
    let url = format!("https://localhost:{port}/healthz");
    let res = wait_for_tls(&tls_client(&cert, None), &url).await;
    assert_eq!(res.status(), 200);
    assert_security_headers("healthz over TLS", &res);
    let hsts = res
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(hsts.starts_with("max-age=31536000"), "HSTS: {hsts:?}");
    // TLS 1.2 clients are still served.
    let res = tls_client(&cert, Some(reqwest::tls::Version::TLS_1_2))
        .get(&url)
        .send()
        .await
        .expect("TLS 1.2");
    assert_eq!(res.status(), 200);
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://localhost:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
}

#[tokio::test]
async fn a_key_that_does_not_match_its_certificate_stops_serve_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    self_signed(dir.path());
    let other = rcgen::KeyPair::generate().expect("key");
    std::fs::write(dir.path().join("key.pem"), other.serialize_pem()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("serve")
        .env("GAPRELAY_BIND", format!("127.0.0.1:{}", free_port()))
        .env(
            "GAPRELAY_MASTER_KEY",
            gaprelay::crypto::seal::MasterKey::generate(&mut rand::rngs::OsRng).to_base64(),
        )
        .env("GAPRELAY_TLS_CERT", dir.path().join("cert.pem"))
        .env("GAPRELAY_TLS_KEY", dir.path().join("key.pem"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GAPRELAY_TLS"), "{stderr}");
    assert!(!stderr.contains("PRIVATE KEY"), "the key is never printed");
}

#[tokio::test]
async fn webhooks_are_not_sent_to_a_receiver_whose_certificate_is_not_trusted() {
    // The receiver: a TLS server with a self-signed certificate (a relay will do).
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = self_signed(dir.path());
    let port = free_port();
    let _receiver = serve_tls(dir.path(), port);
    wait_for_tls(
        &tls_client(&cert, None),
        &format!("https://localhost:{port}/healthz"),
    )
    .await;

    let app = spawn_app_with(AppOptions::default()).await;
    let p = app.create_practitioner("untrusted-cert").await;
    app.create_endpoint(&p.api_key, &format!("https://localhost:{port}/hook"), "jwe")
        .await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        app.deliver_pending().await,
        vec![gaprelay::delivery::worker::AttemptOutcome::Retrying]
    );
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    // Without verification the receiver would have answered (404); the handshake
    // failed instead.
    assert_eq!(log["data"][0]["last_error"], "connect", "{log}");
    assert!(log["data"][0]["last_http_status"].is_null());
}
