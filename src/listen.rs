//! `gaprelay listen`: a webhook receiver for local development, like `stripe listen`.
//!
//! It binds a local port, creates an endpoint for it on a relay through the practitioner
//! API (or takes an existing endpoint's secret and key), and prints every delivery that
//! arrives, verified and decrypted by [`gaprelay_receiver`], as one JSON line on stdout:
//! the envelope a `"encryption": "none"` endpoint would receive. With `--forward-to`
//! it also POSTs that envelope to the developer's own URL, signed (Standard Webhooks)
//! with the endpoint's secret, and answers the relay with the app's status, so the
//! relay's retries behave as they would against the app itself. When it stops
//! (Ctrl-C, SIGTERM) it deletes the endpoint it created, unless `--keep`.
//!
//! The events it prints are patient data: it is a tool for a developer's terminal and
//! demo data, never a production receiver. Status lines go to stderr and carry ids only.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use gaprelay_receiver::{sign, DecryptionKey, Headers, Receiver, Secret};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

/// The path deliveries are received on.
const WEBHOOK_PATH: &str = "/webhook";

/// `gaprelay listen`'s options.
#[derive(Debug, clap::Args)]
pub struct ListenOptions {
    /// The relay's base URL.
    #[arg(
        long,
        env = "GAPRELAY_RELAY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub relay: url::Url,
    /// A practitioner API key (`grk_…`, owner or admin role) to create the endpoint with.
    #[arg(long, env = "GAPRELAY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// The URL the relay should deliver to, when it cannot reach `--bind` directly
    /// (a tunnel); by default `http://<bind>/webhook`.
    #[arg(long)]
    pub url: Option<url::Url>,
    /// Encryption of the endpoint it creates: `jwe-receiver` (a key pair made for this
    /// run; the relay gets only the public key), `jwe` or `none`.
    #[arg(long, default_value = "jwe-receiver")]
    pub encryption: String,
    /// Payload format of the endpoint it creates: `gaprelay.v1` or `fhir-r4`.
    #[arg(long, default_value = "gaprelay.v1")]
    pub format: String,
    /// POST each verified, decrypted event to this URL too, signed with the endpoint's
    /// secret; the relay is answered with its status.
    #[arg(long)]
    pub forward_to: Option<url::Url>,
    /// Use this existing endpoint instead of creating one (needs `--secret`, and
    /// `--key` if it encrypts); it must already deliver to this listener.
    #[arg(long, requires = "secret")]
    pub endpoint: Option<String>,
    /// The existing endpoint's signing secret (`whsec_…`).
    #[arg(long, env = "GAPRELAY_ENDPOINT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// A file with the existing endpoint's decryption key: the `encryption_key` JWK the
    /// relay returned (`jwe`) or the receiver's private JWK (`jwe-receiver`).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Keep the endpoint it created when it stops (it is deleted by default).
    #[arg(long)]
    pub keep: bool,
}

/// The endpoint deliveries arrive from, and what verifies and decrypts them.
struct Subscription {
    /// The endpoint's id, and whether this run created it (and so deletes it).
    endpoint: String,
    created: bool,
    secret: Secret,
    /// The secret as text, to print for `--forward-to`.
    secret_text: String,
    receiver: Receiver,
}

/// What each request handler shares.
struct State {
    receiver: Receiver,
    secret: Secret,
    forward_to: Option<url::Url>,
    client: reqwest::Client,
}

/// Runs `gaprelay listen` until Ctrl-C or SIGTERM.
pub async fn run(options: ListenOptions) -> anyhow::Result<()> {
    let listener = TcpListener::bind(options.bind)
        .with_context(|| format!("cannot listen on {}", options.bind))?;
    let local = listener.local_addr().context("the listener's address")?;
    let url = match &options.url {
        Some(u) => u.clone(),
        None => url::Url::parse(&format!("http://{local}{WEBHOOK_PATH}"))
            .context("the listener's URL")?,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("an HTTP client")?;
    let api = Api {
        client: client.clone(),
        base: options.relay.clone(),
        key: options.api_key.clone(),
    };
    let subscription = match &options.endpoint {
        Some(id) => existing(id, &options)?,
        None => api.create(&url, &options).await?,
    };
    status(&format!(
        "ready: endpoint {} delivers to {url} (listening on {local}); events print on stdout as JSON lines; Ctrl-C stops",
        subscription.endpoint
    ));
    if let Some(target) = &options.forward_to {
        status(&format!(
            "forwarding to {target}, decrypted and signed with {}",
            subscription.secret_text
        ));
    }
    let state = web::Data::new(Arc::new(State {
        receiver: subscription.receiver.clone(),
        secret: subscription.secret.clone(),
        forward_to: options.forward_to.clone(),
        client,
    }));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(2 * 1024 * 1024))
            .route(WEBHOOK_PATH, web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .context("cannot serve on the listener")?
    .run();
    let handle = server.handle();
    let served = tokio::spawn(server);
    crate::startup::shutdown_signal().await;
    handle.stop(true).await;
    let _ = served.await;
    if subscription.created && !options.keep {
        match api.delete(&subscription.endpoint).await {
            Ok(()) => status(&format!("deleted endpoint {}", subscription.endpoint)),
            Err(e) => status(&format!(
                "could not delete endpoint {}: {e:#}",
                subscription.endpoint
            )),
        }
    }
    Ok(())
}

/// A status line on stderr (ids and reasons only, never an event's data).
fn status(line: &str) {
    let _ = writeln!(std::io::stderr(), "gaprelay listen: {line}");
}

/// One delivery: verify, decrypt, print, forward; answer the relay.
async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<State>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = match Headers::from_fn(header) {
        Ok(h) => h,
        Err(e) => {
            status(&format!("refused a request: {e}"));
            return HttpResponse::BadRequest().body(e.to_string());
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let webhook = match state.receiver.receive(&headers, &body, now) {
        Ok(w) => w,
        Err(e) => {
            status(&format!("refused {}: {e}", headers.id));
            return HttpResponse::BadRequest().body(e.to_string());
        }
    };
    // The envelope a `none` endpoint receives, members in the relay's order.
    let line = format!(
        r#"{{"type":{},"timestamp":{},"data":{}}}"#,
        Value::from(webhook.kind.as_str()),
        Value::from(webhook.timestamp.as_str()),
        webhook.data
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    let Some(target) = &state.forward_to else {
        status(&format!("{} {} verified", webhook.kind, webhook.id));
        return HttpResponse::NoContent().finish();
    };
    let timestamp: i64 = headers.timestamp.parse().unwrap_or(now);
    let signature = sign(&state.secret, &webhook.id, timestamp, line.as_bytes());
    let forwarded = state
        .client
        .post(target.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &webhook.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(line)
        .send()
        .await;
    match forwarded {
        Ok(res) => {
            let code = res.status();
            status(&format!(
                "{} {} verified, forwarded: {}",
                webhook.kind,
                webhook.id,
                code.as_u16()
            ));
            let code = actix_web::http::StatusCode::from_u16(code.as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            HttpResponse::build(code).finish()
        }
        Err(e) => {
            status(&format!(
                "{} {} verified, forwarding failed: {}",
                webhook.kind,
                webhook.id,
                e.without_url()
            ));
            HttpResponse::BadGateway().finish()
        }
    }
}

/// An existing endpoint, from `--secret` and `--key`.
fn existing(id: &str, options: &ListenOptions) -> anyhow::Result<Subscription> {
    let secret_text = options
        .secret
        .clone()
        .ok_or_else(|| anyhow!("--endpoint needs --secret"))?;
    let secret = Secret::from_whsec(&secret_text).context("--secret")?;
    let keys = match &options.key {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let jwk: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON JWK", path.display()))?;
            vec![DecryptionKey::from_jwk(&jwk).with_context(|| format!("{}", path.display()))?]
        }
        None => vec![],
    };
    Ok(Subscription {
        endpoint: id.to_owned(),
        created: false,
        receiver: Receiver::new(vec![secret.clone()], keys),
        secret,
        secret_text,
    })
}

/// The relay's practitioner API, as far as `listen` needs it.
struct Api {
    client: reqwest::Client,
    base: url::Url,
    key: Option<String>,
}

impl Api {
    fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        self.base
            .join(path)
            .with_context(|| format!("{path} under {}", self.base))
    }

    fn key(&self) -> anyhow::Result<&str> {
        self.key.as_deref().ok_or_else(|| {
            anyhow!("an API key is needed to create the endpoint: --api-key or GAPRELAY_API_KEY (make run prints the demo's)")
        })
    }

    /// Creates the endpoint: for `jwe-receiver`, with the public half of a key pair
    /// made for this run.
    async fn create(
        &self,
        url: &url::Url,
        options: &ListenOptions,
    ) -> anyhow::Result<Subscription> {
        let mut body = json!({
            "url": url.as_str(),
            "format": options.format,
            "encryption": options.encryption,
            "description": "gaprelay listen (local development)",
        });
        let mut keys = Vec::new();
        if options.encryption == "jwe-receiver" {
            // A key pair for this run only: the relay gets the public half, the private
            // half lives in this process's memory and nowhere else.
            let mut id = [0u8; 6];
            OsRng.fill_bytes(&mut id);
            let key = DecryptionKey::generate_x25519(
                &format!("listen-{}", URL_SAFE_NO_PAD.encode(id)),
                &mut OsRng,
            );
            body["receiver_keys"] = json!([key.public_jwk()]);
            keys.push(key);
        }
        let res = self
            .client
            .post(self.url("v1/endpoints")?)
            .bearer_auth(self.key()?)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach the relay at {}", self.base))?;
        let code = res.status();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        if !code.is_success() {
            let said = answer.to_string();
            let hint = if said.contains("public address") || said.contains("https://") {
                "\n(a relay delivers to http:// and loopback addresses only with GAPRELAY_ALLOW_PRIVATE_TARGETS=true, which `make run` sets; or pass a public --url)"
            } else {
                ""
            };
            bail!("the relay refused to create the endpoint: {code} {said}{hint}");
        }
        let endpoint = answer["id"]
            .as_str()
            .ok_or_else(|| anyhow!("the relay's answer has no endpoint id"))?
            .to_owned();
        let secret_text = answer["secret"]
            .as_str()
            .ok_or_else(|| anyhow!("the relay's answer has no secret"))?
            .to_owned();
        if options.encryption == "jwe" {
            let jwk = &answer["encryption_key"];
            keys.push(DecryptionKey::from_jwk(jwk).context("the endpoint's encryption key")?);
        }
        let secret = Secret::from_whsec(&secret_text).context("the endpoint's secret")?;
        Ok(Subscription {
            endpoint,
            created: true,
            receiver: Receiver::new(vec![secret.clone()], keys),
            secret,
            secret_text,
        })
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let res = self
            .client
            .delete(self.url(&format!("v1/endpoints/{id}"))?)
            .bearer_auth(self.key()?)
            .send()
            .await
            .context("cannot reach the relay")?;
        if !res.status().is_success() {
            bail!("the relay answered {}", res.status());
        }
        Ok(())
    }
}
