//! The open-loop load generator of `make bench` (benches/run.sh): sends the same POST at
//! a fixed rate for a fixed time whatever the server answers, as `oha -q` or `wrk2`
//! would (neither is packaged for this machine's Debian), so that a slow answer does not
//! slow the offered load down (no coordinated omission). Each request's latency is
//! measured from the moment it was due, not from when it was sent.
//!
//! ```text
//! cargo run --release --example bench_load -- --url http://127.0.0.1:8080/v1/intake/load \
//!     --body intake.json --rate 5000 --seconds 15
//! ```
//!
//! Prints one JSON object: requests due (`due`), sent, answered 2xx (`ok`), answered
//! otherwise (`status_errors`), failed (`errors`), not sent because `--max-in-flight`
//! requests were already waiting (`skipped`), the achieved rate of answers
//! (`answered_per_s`), and the latency percentiles `p50_ms`, `p90_ms`, `p99_ms`,
//! `max_ms` of the answered requests.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Open-loop HTTP POST load at a fixed rate.
#[derive(Parser)]
struct Options {
    /// Where to POST.
    #[arg(long)]
    url: String,
    /// File holding the request body (sent as `application/json`).
    #[arg(long)]
    body: std::path::PathBuf,
    /// Requests per second.
    #[arg(long)]
    rate: f64,
    /// How long to send, in seconds.
    #[arg(long)]
    seconds: f64,
    /// Requests waiting for an answer at most; a request due beyond it is skipped
    /// (and counted) rather than queued, so that the offered rate stays fixed.
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// How long to wait for the last answers after the last request was sent.
    #[arg(long, default_value_t = 10.0)]
    grace_seconds: f64,
}

/// What became of one request.
enum Outcome {
    /// Answered with this status, this long after it was due.
    Answered(u16, Duration),
    /// No answer (connection or I/O error).
    Failed,
}

/// The `p`th percentile (nearest rank) of sorted durations, in ms.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    if !(options.rate > 0.0 && options.seconds > 0.0) {
        return Err("--rate and --seconds must be more than 0".into());
    }
    // Leaked once so that every request sends the same bytes without a copy.
    let body: &'static [u8] = std::fs::read(&options.body)?.leak();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.max_in_flight)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let due = (options.rate * options.seconds).round() as u64;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();

    let start = Instant::now();
    let (mut sent, mut skipped) = (0_u64, 0_u64);
    let mut next = 0_u64;
    while next < due {
        // Everything due by now goes out now: the timer's resolution is about a
        // millisecond, so at high rates requests leave in small bursts on schedule.
        let now = Instant::now();
        while next < due {
            let at = start + interval.mul_f64(next as f64);
            if at > now {
                break;
            }
            next += 1;
            if in_flight.load(Ordering::Relaxed) >= options.max_in_flight {
                skipped += 1;
                continue;
            }
            sent += 1;
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (client, url, tx, in_flight) = (
                client.clone(),
                options.url.clone(),
                tx.clone(),
                in_flight.clone(),
            );
            tokio::spawn(async move {
                let answer = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let outcome = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.bytes().await {
                            Ok(_) => Outcome::Answered(status, at.elapsed()),
                            Err(_) => Outcome::Failed,
                        }
                    }
                    Err(_) => Outcome::Failed,
                };
                in_flight.fetch_sub(1, Ordering::Relaxed);
                let _ = tx.send(outcome);
            });
        }
        if next < due {
            tokio::time::sleep_until(start + interval.mul_f64(next as f64)).await;
        }
    }
    let sending = start.elapsed();
    drop(tx);

    let (mut ok, mut status_errors, mut errors) = (0_u64, 0_u64, 0_u64);
    let mut latencies = Vec::with_capacity(usize::try_from(sent).unwrap_or(0));
    let deadline = Instant::now() + Duration::from_secs_f64(options.grace_seconds.max(0.0));
    while let Ok(Some(outcome)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match outcome {
            Outcome::Answered(status, latency) => {
                if (200..300).contains(&status) {
                    ok += 1;
                } else {
                    status_errors += 1;
                }
                latencies.push(latency);
            }
            Outcome::Failed => errors += 1,
        }
    }
    let unanswered = sent - ok - status_errors - errors;
    latencies.sort_unstable();
    let report = serde_json::json!({
        "rate": options.rate,
        "seconds": options.seconds,
        "due": due,
        "sent": sent,
        "skipped": skipped,
        "ok": ok,
        "status_errors": status_errors,
        "errors": errors,
        "unanswered": unanswered,
        "sending_s": sending.as_secs_f64(),
        "answered_per_s": (ok + status_errors) as f64 / sending.as_secs_f64(),
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p90_ms": percentile_ms(&latencies, 90.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "max_ms": latencies.last().map_or(0.0, |l| l.as_secs_f64() * 1_000.0),
    });
    writeln!(std::io::stdout(), "{report}")?;
    Ok(())
}
