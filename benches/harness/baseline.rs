//! The hello-world baselines of `make bench` (benches/run.sh): the smallest actix-web
//! programs that take a JSON POST, so that the relay's intake rate is read as a ratio
//! of what actix-web itself does on the same machine, in the same run.
//!
//! With one argument, the hello world: `POST /` parses the body as
//! `web::Json<serde_json::Value>` and answers 200 with it, as a minimal handler would.
//!
//! With a second argument, a URL, the forwarding hello world: `POST /` parses the body
//! the same way, POSTs it as JSON to that URL (another hello world) with reqwest, as
//! the relay's delivery does, and answers 202 once that answered 2xx (502 otherwise).
//! Every request is then two HTTP exchanges and nothing else: no validation, no store,
//! no crypto. A relay that delivers each message over HTTP on the same machine cannot
//! do less, so its rate is the ceiling of the relay's intake with delivery running.
//!
//! Both keep actix-web's defaults (one worker per core, as `gaprelay serve` does).
//!
//! ```text
//! cargo run --release --example bench_baseline -- 127.0.0.1:8081
//! cargo run --release --example bench_baseline -- 127.0.0.1:8082 http://127.0.0.1:8081/
//! ```

use actix_web::{web, App, HttpResponse, HttpServer};

async fn echo(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

/// Where the forwarding hello world sends each body, and its client (one per worker
/// thread, so that its connections stay on the thread that uses them).
struct Forward {
    client: reqwest::Client,
    to: reqwest::Url,
}

async fn forward(forward: web::Data<Forward>, body: web::Json<serde_json::Value>) -> HttpResponse {
    let sent = forward
        .client
        .post(forward.to.clone())
        .json(&body.into_inner())
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => {
            // Read the answer to its end, so that the connection goes back to the pool.
            match answer.bytes().await {
                Ok(_) => HttpResponse::Accepted().finish(),
                Err(_) => HttpResponse::BadGateway().finish(),
            }
        }
        _ => HttpResponse::BadGateway().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let to = match args.next() {
        Some(url) => Some(reqwest::Url::parse(&url).map_err(std::io::Error::other)?),
        None => None,
    };
    HttpServer::new(move || match &to {
        None => App::new().route("/", web::post().to(echo)),
        Some(to) => App::new()
            .app_data(web::Data::new(Forward {
                client: reqwest::Client::new(),
                to: to.clone(),
            }))
            .route("/", web::post().to(forward)),
    })
    .bind(bind)?
    .run()
    .await
}
