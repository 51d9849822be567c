//! The hello-world baseline of `make bench` (benches/run.sh): the smallest actix-web
//! program that takes a JSON POST, so that the relay's intake rate is read as a ratio
//! of what actix-web itself does on the same machine, in the same run.
//!
//! `POST /` parses the body as `web::Json<serde_json::Value>` and answers 200 with it,
//! as a minimal handler would. The server keeps actix-web's defaults (one worker per
//! core, as `gaprelay serve` does).
//!
//! ```text
//! cargo run --release --example bench_baseline -- 127.0.0.1:8081
//! ```

use actix_web::{web, App, HttpResponse, HttpServer};

async fn echo(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    HttpServer::new(|| App::new().route("/", web::post().to(echo)))
        .bind(bind)?
        .run()
        .await
}
