//! A gaprelay webhook receiver in Rust: an actix-web server and `gaprelay-receiver`.
//! Prints each event as a JSON line.
//!
//! ```text
//! WEBHOOK_SECRET=whsec_… DECRYPTION_KEY='{"kty": …}' PORT=8000 \
//!     cargo run -p gaprelay-receiver --example server
//! ```
//!
//! DECRYPTION_KEY: the `encryption_key` JWK the relay returned (`jwe`), your private JWK
//! (`jwe-receiver`), or unset (`none`). PORT=0 picks a free port.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use gaprelay_receiver::{DecryptionKey, Headers, Receiver, Secret, Webhook};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What to do with each verified, decrypted event: store it, deduplicating on its id.
type Store = Arc<dyn Fn(Webhook) + Send + Sync>;

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<(Receiver, Store)>,
) -> HttpResponse {
    let (receiver, store) = state.get_ref();
    let header = |name: &str| request.headers().get(name)?.to_str().ok();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Refused unless signed with the secret, timestamped within 5 minutes and decryptable.
    let received = Headers::from_fn(header)
        .map_err(gaprelay_receiver::Error::from)
        .and_then(|headers| receiver.receive(&headers, &body, now));
    match received {
        Ok(webhook) => {
            store(webhook); // first store it, then answer 2xx
            HttpResponse::NoContent().finish()
        }
        Err(refused) => {
            eprintln!("refused: {refused}");
            HttpResponse::BadRequest().finish()
        }
    }
}

/// The receiver's server on `listener`, POST /webhook.
pub fn serve(
    listener: TcpListener,
    receiver: Receiver,
    store: Store,
) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::new((receiver, store));
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/webhook", web::post().to(receive))
    })
    .workers(1)
    .listen(listener)?
    .run())
}

/// The endpoint's secret and key, from WEBHOOK_SECRET and DECRYPTION_KEY.
pub fn receiver_from_env() -> Result<Receiver, Box<dyn std::error::Error>> {
    let secret = Secret::from_whsec(&std::env::var("WEBHOOK_SECRET")?)?;
    let keys = match std::env::var("DECRYPTION_KEY") {
        Ok(jwk) => vec![DecryptionKey::from_jwk(&serde_json::from_str(&jwk)?)?],
        Err(_) => vec![],
    };
    Ok(Receiver::new(vec![secret], keys))
}

#[allow(clippy::print_stdout)]
#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = receiver_from_env()?;
    let port: u16 = std::env::var("PORT").map_or(Ok(8000), |p| p.parse())?;
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("listening on {}", listener.local_addr()?.port());
    let print: Store = Arc::new(|webhook: Webhook| {
        let line =
            serde_json::json!({"id": webhook.id, "type": webhook.kind, "data": webhook.data});
        println!("{line}");
    });
    serve(listener, receiver, print)?.await?;
    Ok(())
}
