//! API and delivery scaled apart, as real processes sharing one Redis: `serve` with
//! `GAPRELAY_WORKER_CONCURRENCY=0` accepts and queues but never delivers; a `gaprelay
//! worker` delivers, and serves `/healthz`, `/readyz` and `/metrics` (token-protected)
//! on `GAPRELAY_WORKER_BIND`.

use crate::helpers::canary_intake;
use crate::support::{practice_with_endpoint, scrape_metrics, FakeCrm, Relay, TestRedis};
use base64::Engine as _;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn serve_runs_the_api_alone_and_a_worker_delivers_with_its_own_metrics() {
    let redis = TestRedis::start();
    let relay = Relay::new(&redis.url(), false, &[("GAPRELAY_POLL_INTERVAL", "50ms")]);
    let (mut api, base) = relay.start_api(WAIT).await;
    let crm = FakeCrm::start().await;
    let key = practice_with_endpoint(&base, "apart", &crm.url()).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/v1/intake/apart"))
        .json(&canary_intake())
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 202);

    // The API process queues and never delivers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(crm.requests().is_empty(), "serve with 0 slots delivered");
    let metrics = scrape_metrics(&base).await;
    assert!(metrics.contains("gaprelay_queue_messages 1"), "{metrics}");

    // A worker process delivers it, and answers for itself. It polls once a minute: what
    // the API queues later reaches it by the API's announcement, at once.
    let (mut worker, probe) = relay
        .start_worker(&[("GAPRELAY_POLL_INTERVAL", "60s")], WAIT)
        .await;
    let delivered = crm.wait_for_requests(1, WAIT).await;
    assert!(delivered[0].body_str().contains("Canaryname"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let res = client
        .post(format!("{base}/v1/intake/apart"))
        .json(&canary_intake())
        .send()
        .await
        .expect("submit again");
    assert_eq!(res.status(), 202);
    // Within seconds, not at the worker's next poll a minute later.
    crm.wait_for_requests(2, Duration::from_secs(10)).await;
    for path in ["/healthz", "/readyz"] {
        let res = client
            .get(format!("{probe}{path}"))
            .send()
            .await
            .expect(path);
        assert_eq!(res.status(), 200, "{path}");
    }
    let refused = client
        .get(format!("{probe}/metrics"))
        .send()
        .await
        .expect("metrics without a token");
    assert_eq!(refused.status(), 401);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let metrics = scrape_metrics(&probe).await;
        if metrics.contains("gaprelay_delivery_attempts_total{outcome=\"delivered\"} 2\n")
            && metrics.contains("gaprelay_queue_messages 0")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The worker has no API.
    let res = client
        .get(format!("{probe}/v1/endpoints"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 404);
    assert!(worker.terminate(WAIT).await.success());
    assert!(api.terminate(WAIT).await.success());
}

#[test]
fn zero_delivery_slots_are_refused_where_nothing_else_would_deliver() {
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gaprelay"));
        cmd.args(args)
            .env_remove("GAPRELAY_REDIS_URL")
            .env_remove("RUST_LOG");
        cmd.envs(envs.iter().copied());
        cmd.output().expect("run gaprelay")
    };
    let master = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let zero = [
        ("GAPRELAY_MASTER_KEY", master.as_str()),
        ("GAPRELAY_WORKER_CONCURRENCY", "0"),
        ("GAPRELAY_BIND", "127.0.0.1:0"),
    ];
    // `serve` with the in-memory store: no other process could deliver.
    let out = run(&["serve"], &zero);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("GAPRELAY_WORKER_CONCURRENCY=0 needs GAPRELAY_REDIS_URL"),
        "{said}"
    );
    // A worker with no slots.
    let mut with_redis = zero.to_vec();
    with_redis.push(("GAPRELAY_REDIS_URL", "redis://127.0.0.1:9"));
    let out = run(&["worker"], &with_redis);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("GAPRELAY_WORKER_CONCURRENCY is 0"), "{said}");
}
