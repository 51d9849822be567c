//! The webhook sink of `make bench` (benches/run.sh): a fast receiver that verifies and
//! decrypts every delivery with `gaprelay-receiver`, as a real receiver would, answers
//! 204 at once, and measures create → delivery latency from the `submitted_at` (with
//! milliseconds) of each decrypted `gaprelay.v1` payload.
//!
//! ```text
//! BENCH_SINK_SECRET=whsec_… BENCH_SINK_JWK='{"kty":"oct",…}' \
//!     cargo run --release --example bench_sink -- 127.0.0.1:8082
//! ```
//!
//! - `POST /hook`: a delivery. 204 when it verifies and decrypts, 400 otherwise (counted
//!   as `rejected`).
//! - `GET /stats?window=S`: JSON counters since the last reset: `count` (intake
//!   deliveries, each message once), `duplicates` (a message id seen again), `rejected`,
//!   `other` (events other than `intake.submitted`), `per_s` (deliveries per second
//!   between the first and the last), `window_per_s` (over the last S seconds, default
//!   1), and the latency percentiles `p50_ms`, `p90_ms`, `p99_ms`, `max_ms`.
//! - `GET /timeline?bucket_ms=N`: the deliveries in buckets of N ms of arrival (default
//!   100): `[start_s, count, max_ms]` each, to tell a tail spread over the run from a few
//!   stalls.
//! - `GET /count`: `count` alone, as plain text: cheap enough to poll (`/stats` copies
//!   and sorts every latency).
//! - `POST /reset`: clears the counters.
//!
//! It prints nothing about the payloads: the bench sends made-up patients, but a sink
//! that logs bodies is a bad habit to copy.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use gaprelay_receiver::{DecryptionKey, Event, Headers, IntakeSubmitted, Receiver, Secret};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// mimalloc, as gaprelay itself: the sink shares the measured cores, and with the system
/// allocator a third of its CPU went to `malloc` and `free` (perf, during a drain).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Everything recorded since the last reset.
#[derive(Default)]
struct Recorded {
    /// When each intake delivery arrived, and its create → delivery latency in µs.
    deliveries: Vec<(Instant, u64)>,
    seen: HashSet<String>,
    duplicates: u64,
    rejected: u64,
    other: u64,
}

struct Sink {
    receiver: Receiver,
    recorded: Mutex<Recorded>,
}

impl Sink {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn now_unix() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Create → delivery in µs: from the payload's `submitted_at` to now (0 if the clock
/// went backwards), or `None` when `submitted_at` is not RFC 3339.
fn latency_us(submitted_at: &str, now: Duration) -> Option<u64> {
    let submitted = OffsetDateTime::parse(submitted_at, &Rfc3339).ok()?;
    let submitted_us = u64::try_from(submitted.unix_timestamp_nanos() / 1_000).ok()?;
    let now_us = u64::try_from(now.as_micros()).ok()?;
    Some(now_us.saturating_sub(submitted_us))
}

async fn hook(request: HttpRequest, body: web::Bytes, sink: web::Data<Sink>) -> HttpResponse {
    let arrived = Instant::now();
    let now = now_unix();
    let header = |name: &str| request.headers().get(name)?.to_str().ok();
    let seconds = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let received = Headers::from_fn(header)
        .map_err(gaprelay_receiver::Error::from)
        .and_then(|headers| sink.receiver.receive(&headers, &body, seconds));
    let webhook = match received {
        Ok(webhook) => webhook,
        Err(_) => {
            sink.recorded().rejected += 1;
            return HttpResponse::BadRequest().finish();
        }
    };
    let latency = match &webhook.event {
        Event::IntakeSubmitted(IntakeSubmitted::GaprelayV1(intake)) => {
            latency_us(&intake.submitted_at, now)
        }
        _ => None,
    };
    let mut recorded = sink.recorded();
    match latency {
        Some(latency) => {
            if recorded.seen.insert(webhook.id) {
                recorded.deliveries.push((arrived, latency));
            } else {
                recorded.duplicates += 1;
            }
        }
        None => recorded.other += 1,
    }
    drop(recorded);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct StatsQuery {
    window: Option<f64>,
}

/// The `p`th percentile (nearest rank) of sorted values, in ms.
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1_000.0
}

async fn stats(query: web::Query<StatsQuery>, sink: web::Data<Sink>) -> HttpResponse {
    let window = Duration::from_secs_f64(query.window.unwrap_or(1.0).clamp(0.001, 3_600.0));
    let now = Instant::now();
    let recorded = sink.recorded();
    let mut latencies: Vec<u64> = recorded.deliveries.iter().map(|(_, l)| *l).collect();
    let in_window = recorded
        .deliveries
        .iter()
        .rev()
        .take_while(|(at, _)| now.duration_since(*at) <= window)
        .count();
    let span = match (recorded.deliveries.first(), recorded.deliveries.last()) {
        (Some((first, _)), Some((last, _))) => last.duration_since(*first).as_secs_f64(),
        _ => 0.0,
    };
    let (count, duplicates, rejected, other) = (
        recorded.deliveries.len(),
        recorded.duplicates,
        recorded.rejected,
        recorded.other,
    );
    drop(recorded);
    latencies.sort_unstable();
    HttpResponse::Ok().json(serde_json::json!({
        "count": count,
        "duplicates": duplicates,
        "rejected": rejected,
        "other": other,
        "span_s": span,
        "per_s": if span > 0.0 { count as f64 / span } else { 0.0 },
        "window_per_s": in_window as f64 / window.as_secs_f64(),
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p90_ms": percentile_ms(&latencies, 90.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "max_ms": latencies.last().map_or(0.0, |l| *l as f64 / 1_000.0),
    }))
}

#[derive(Deserialize)]
struct TimelineQuery {
    bucket_ms: Option<u64>,
}

/// The deliveries since the last reset in buckets of arrival time: where a tail of
/// slow deliveries sits (spread out, or a few stalls).
async fn timeline(query: web::Query<TimelineQuery>, sink: web::Data<Sink>) -> HttpResponse {
    let bucket = Duration::from_millis(query.bucket_ms.unwrap_or(100).clamp(1, 60_000));
    let recorded = sink.recorded();
    let Some((start, _)) = recorded.deliveries.first().copied() else {
        return HttpResponse::Ok().json(serde_json::json!([]));
    };
    // [bucket start in s, deliveries, slowest in ms]
    let mut buckets: Vec<(f64, u64, f64)> = Vec::new();
    for (at, latency) in &recorded.deliveries {
        let index = (at.duration_since(start).as_nanos() / bucket.as_nanos()) as usize;
        while buckets.len() <= index {
            buckets.push((buckets.len() as f64 * bucket.as_secs_f64(), 0, 0.0));
        }
        let b = &mut buckets[index];
        b.1 += 1;
        b.2 = f64::max(b.2, *latency as f64 / 1_000.0);
    }
    drop(recorded);
    HttpResponse::Ok().json(buckets)
}

async fn count(sink: web::Data<Sink>) -> HttpResponse {
    let count = sink.recorded().deliveries.len();
    HttpResponse::Ok().body(count.to_string())
}

async fn reset(sink: web::Data<Sink>) -> HttpResponse {
    *sink.recorded() = Recorded::default();
    HttpResponse::NoContent().finish()
}

fn env(name: &str) -> std::io::Result<String> {
    std::env::var(name).map_err(|_| std::io::Error::other(format!("{name} is not set")))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8082".to_owned());
    let secret = Secret::from_whsec(&env("BENCH_SINK_SECRET")?).map_err(std::io::Error::other)?;
    let jwk: serde_json::Value = serde_json::from_str(&env("BENCH_SINK_JWK")?)?;
    let key = DecryptionKey::from_jwk(&jwk).map_err(std::io::Error::other)?;
    let sink = web::Data::new(Sink {
        receiver: Receiver::new(vec![secret], vec![key]),
        recorded: Mutex::new(Recorded::default()),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(sink.clone())
            .route("/hook", web::post().to(hook))
            .route("/stats", web::get().to(stats))
            .route("/count", web::get().to(count))
            .route("/timeline", web::get().to(timeline))
            .route("/reset", web::post().to(reset))
    })
    .backlog(4096)
    .bind(bind)?
    .run()
    .await
}
