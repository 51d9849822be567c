//! The three receivers docs/receiving.md shows, run as written against real deliveries:
//! Python (`standardwebhooks` + `jwcrypto`), Node (`standardwebhooks` + `jose`) and Rust
//! (`gaprelay-receiver`, in this process). For each language one practice has three
//! endpoints, `none`, `jwe` and `jwe-receiver`, each delivering to its own instance of
//! the receiver; one canary intake must come out of all three decrypted, and a request
//! the relay did not sign must be refused. The docs show the files byte for byte.

use crate::helpers::{canary_intake, spawn_app, TestApp};
use crate::support::{interop_python, post_forged_webhook, Lines};
use gaprelay::delivery::policy::AttemptOutcome;
use gaprelay_receiver::DecryptionKey;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[allow(dead_code, clippy::print_stdout)]
#[path = "../../receiver/examples/server.rs"]
mod rust_server;

const WAIT: Duration = Duration::from_secs(30);

/// Where the Python and Node receivers live.
fn receivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/receivers")
}

#[derive(Clone, Copy, Debug)]
enum Language {
    Python,
    Node,
    Rust,
}

/// A receiver waiting for deliveries at `url`; its events, one JSON line each.
struct Running {
    url: String,
    events: Lines,
    /// The child process (Python, Node) or the in-process server (Rust), stopped on drop.
    _process: Option<Child>,
    _server: Option<actix_web::dev::ServerHandle>,
}

/// A receiver process, killed when the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `language`'s receiver on a free port with the endpoint's secret and key.
async fn start(language: Language, secret: &str, key: Option<&Value>) -> Running {
    if let Language::Rust = language {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let receiver = gaprelay_receiver::Receiver::new(
            vec![gaprelay_receiver::Secret::from_whsec(secret).expect("whsec")],
            key.map(|k| gaprelay_receiver::DecryptionKey::from_jwk(k).expect("JWK"))
                .into_iter()
                .collect(),
        );
        let (tx, events) = Lines::channel();
        let store: Arc<dyn Fn(gaprelay_receiver::Webhook) + Send + Sync> =
            Arc::new(move |webhook: gaprelay_receiver::Webhook| {
                let line = json!({"id": webhook.id, "type": webhook.kind, "data": webhook.data});
                let _ = tx.send(line.to_string());
            });
        let server = rust_server::serve(listener, receiver, store).expect("serve");
        let handle = server.handle();
        tokio::spawn(server);
        return Running {
            url: format!("http://127.0.0.1:{port}/webhook"),
            events,
            _process: None,
            _server: Some(handle),
        };
    }
    let mut command = match language {
        Language::Python => {
            let mut c = Command::new(interop_python());
            c.arg(receivers_dir().join("python/receiver.py"));
            c
        }
        _ => {
            let dir = receivers_dir().join("node");
            assert!(
                dir.join("node_modules/standardwebhooks").is_dir(),
                "{} has no node_modules; run `make receivers`",
                dir.display()
            );
            let mut c = Command::new("node");
            c.arg(dir.join("receiver.mjs"));
            c
        }
    };
    command
        .env("WEBHOOK_SECRET", secret)
        .env("PORT", "0")
        .env_remove("DECRYPTION_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(k) = key {
        command.env("DECRYPTION_KEY", k.to_string());
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start the {language:?} receiver: {e}"));
    let events = Lines::of(child.stdout.take().expect("stdout"));
    let mut status = Lines::of(child.stderr.take().expect("stderr"));
    let child = Child(child);
    let line = status.until(|l| l.starts_with("listening on"), WAIT).await;
    let port = line.rsplit(' ').next().expect("a port");
    Running {
        url: format!("http://127.0.0.1:{port}/webhook"),
        events,
        _process: Some(child),
        _server: None,
    }
}

/// Creates an endpoint for a receiver that is not running yet (its URL comes later).
async fn endpoint(app: &TestApp, api_key: &str, body: Value) -> (String, String, Value) {
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(api_key)
        .json(&body)
        .send()
        .await
        .expect("create endpoint");
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("JSON");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
        created["encryption_key"].clone(),
    )
}

async fn point_at(app: &TestApp, api_key: &str, endpoint: &str, url: &str) {
    let res = app
        .client
        .patch(app.url(&format!("/v1/endpoints/{endpoint}")))
        .bearer_auth(api_key)
        .json(&json!({"url": url}))
        .send()
        .await
        .expect("PATCH endpoint");
    assert_eq!(res.status(), 200);
}

/// One practice, three endpoints (`none`, `jwe`, `jwe-receiver`), each with its own
/// instance of `language`'s receiver; one canary intake reaches all three in clear.
async fn receives_every_encryption_mode(language: Language) {
    let app = spawn_app().await;
    let practice = app.create_practitioner("receivers").await;
    let placeholder = "http://127.0.0.1:9/webhook";
    let private = DecryptionKey::generate_x25519("docs-2026", &mut OsRng);
    let mut running = Vec::new();
    for mode in ["none", "jwe", "jwe-receiver"] {
        let mut body = json!({"url": placeholder, "encryption": mode});
        if mode == "jwe-receiver" {
            body["receiver_keys"] = json!([private.public_jwk().expect("a key pair")]);
        }
        let (id, secret, shared) = endpoint(&app, &practice.api_key, body).await;
        let key = match mode {
            "jwe" => Some(shared),
            "jwe-receiver" => Some(private.to_jwk()),
            _ => None,
        };
        let receiver = start(language, &secret, key.as_ref()).await;
        point_at(&app, &practice.api_key, &id, &receiver.url).await;
        running.push((mode, receiver));
    }

    // What the relay did not sign is refused, and printed nowhere.
    for (mode, receiver) in &running {
        let status = post_forged_webhook(&receiver.url).await;
        assert_eq!(status, 400, "{language:?} {mode}");
    }

    let res = app.post_intake("receivers", &canary_intake()).await;
    assert_eq!(res.status(), 202);
    let outcomes = app.deliver_pending().await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, AttemptOutcome::Delivered))
            .count(),
        3,
        "{language:?}: {outcomes:?}"
    );
    for (mode, receiver) in &mut running {
        let line = receiver.events.until(|l| !l.trim().is_empty(), WAIT).await;
        let event: Value = serde_json::from_str(&line).expect("a JSON line");
        assert_eq!(event["type"], "intake.submitted", "{language:?} {mode}");
        assert!(
            event["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("msg_")),
            "{language:?} {mode}: {line}"
        );
        assert_eq!(
            event["data"]["patient"]["name"], "Zelda Canaryname",
            "{language:?} {mode}: {line}"
        );
        assert_eq!(
            receiver.events.seen().lines().count(),
            1,
            "{language:?} {mode}: only the real delivery printed"
        );
    }
}

#[tokio::test]
async fn the_python_receiver_in_the_docs_receives_every_encryption_mode() {
    receives_every_encryption_mode(Language::Python).await;
}

#[tokio::test]
async fn the_node_receiver_in_the_docs_receives_every_encryption_mode() {
    receives_every_encryption_mode(Language::Node).await;
}

#[tokio::test]
async fn the_rust_receiver_in_the_docs_receives_every_encryption_mode() {
    receives_every_encryption_mode(Language::Rust).await;
}

#[test]
fn docs_receiving_md_shows_each_receiver_exactly_as_it_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/receiving.md")).expect("receiving.md");
    for file in [
        "docs/receivers/python/receiver.py",
        "docs/receivers/node/receiver.mjs",
        "receiver/examples/server.rs",
    ] {
        let code = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(
            doc.contains(&format!("\n{code}```")),
            "docs/receiving.md does not show {file} as it is (a fenced block holding the whole file)"
        );
    }
}
