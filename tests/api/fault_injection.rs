//! Fault injection with real processes: three `gaprelay serve` processes share one Redis
//! (AOF, fsync always); one relay is SIGKILLed and restarted mid-run, Redis itself is
//! killed and restarted, the CRM fails a share of requests and times out on others, and
//! a second endpoint answers 410. Every accepted submission must be delivered at least
//! once; the counts are printed.

use crate::helpers::{canary_intake, ADMIN_TOKEN};
use crate::support::redis::free_port;
use crate::support::{FakeCrm, FakeResponse, TestRedis};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Relay {
    child: Child,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(port: u16, redis_url: &str, master_key: &str) -> Relay {
    let child = Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("serve")
        .env("RUST_LOG", "warn")
        .env("GAPRELAY_BIND", format!("127.0.0.1:{port}"))
        .env("GAPRELAY_REDIS_URL", redis_url)
        .env("GAPRELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("GAPRELAY_MASTER_KEY", master_key)
        .env("GAPRELAY_ALLOW_PRIVATE_TARGETS", "true")
        .env("GAPRELAY_RETRY_SCHEDULE", "200ms,400ms,800ms")
        // The breaker scaled like the schedule: the flaky CRM can open it, and the test
        // must not wait out production's 30 s cool-downs.
        .env("GAPRELAY_CIRCUIT_BREAKER", "5/200ms")
        .env("GAPRELAY_DELIVERY_TIMEOUT", "500ms")
        .env("GAPRELAY_LEASE", "2s")
        .env("GAPRELAY_POLL_INTERVAL", "50ms")
        .env("GAPRELAY_FORM_CACHE_TTL", "0s")
        // Sixty submissions from one address in seconds are this test's load, not abuse.
        .env("GAPRELAY_RATE_LIMIT_PER_ADDRESS", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gaprelay");
    Relay { child }
}

/// The CRM's answer to its `i`-th request: a share of 500/503, some answers later than
/// the relay's timeout, the rest 200.
fn scripted(i: usize) -> FakeResponse {
    match i % 5 {
        1 => FakeResponse::status(503),
        3 => FakeResponse::status(500),
        4 if i % 3 == 0 => FakeResponse::status(200).delay(Duration::from_secs(1)),
        _ => FakeResponse::status(200),
    }
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(res) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("relay on {port} did not become ready");
}

// The counts are this test's report (shown with --nocapture or on failure).
#[allow(clippy::print_stdout)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_submissions_survive_a_killed_relay_a_flaky_crm_and_a_redis_crash() {
    let mut redis = TestRedis::start_with_args(&["--appendonly", "yes", "--appendfsync", "always"]);
    let crm = FakeCrm::start().await;
    // A CRM that fails a share of requests (500/503) and times out on others.
    for i in 0..400 {
        crm.push_response(scripted(i));
    }
    let gone = FakeCrm::start().await;
    gone.set_default_status(410);
    let key = gaprelay::crypto::seal::MasterKey::generate(&mut rand::rngs::OsRng).to_base64();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let ports = [free_port(), free_port(), free_port()];
    let mut relays: Vec<Relay> = ports
        .iter()
        .map(|p| start_relay(*p, &redis.url(), &key))
        .collect();
    for p in ports {
        wait_ready(&client, p).await;
    }
    let base = |port: u16| format!("http://127.0.0.1:{port}");
    let created: Value = client
        .post(format!("{}/v1/practitioners", base(ports[0])))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"practice_name": "Faults", "doctor_name": "Dr F", "email": "f@example.com",
                       "website_url": "https://f.example.com", "slug": "faults"}),
        )
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let api_key = created["api_key"].as_str().expect("key").to_owned();
    let mut endpoint_ids = Vec::new();
    for (url, enc) in [(crm.url(), "none"), (gone.url(), "none")] {
        let res = client
            .post(format!("{}/v1/endpoints", base(ports[1])))
            .bearer_auth(&api_key)
            .json(&json!({"url": url, "encryption": enc}))
            .send()
            .await
            .expect("endpoint");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        endpoint_ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let gone_id = endpoint_ids[1].clone();

    const N: usize = 60;
    let mut accepted: HashSet<String> = HashSet::new();
    let (mut refused, mut sent) = (0usize, 0usize);
    // Each fault once, however many tries the intake after it takes: a relay that never
    // accepts again fails the test at the refusal bound below instead of looping.
    let (mut killed, mut crashed) = (false, false);
    while sent < N {
        assert!(
            refused < 600,
            "the relays refused 600 intakes (a minute of retries) with {sent} of {N} accepted"
        );
        if sent == 20 && !killed {
            killed = true;
            // SIGKILL one relay mid-run (deliveries in flight included), then restart it.
            let _ = relays[1].child.kill();
            let _ = relays[1].child.wait();
            relays[1] = start_relay(ports[1], &redis.url(), &key);
        }
        if sent == 40 && !crashed {
            crashed = true;
            redis.crash();
            redis.restart();
        }
        let port = ports[sent % 3];
        match client
            .post(format!("{}/v1/intake/faults", base(port)))
            .json(&canary_intake())
            .send()
            .await
        {
            Ok(res) if res.status() == 202 => {
                let body: Value = res.json().await.expect("json");
                accepted.insert(body["submission_id"].as_str().expect("id").to_owned());
                sent += 1;
            }
            // 503 while Redis restarts, or the killed relay not yet back: nothing was
            // accepted, so the patient's form would retry; so do we.
            _ => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // Wait until every accepted submission reached the CRM with a 2xx, per the
    // delivery log of the CRM endpoint.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut delivered: HashSet<String> = HashSet::new();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    // Each submission's delivery-log records, for the report should one be missing.
    let mut records: HashMap<String, Vec<Value>> = HashMap::new();
    while Instant::now() < deadline {
        delivered.clear();
        statuses.clear();
        records.clear();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/deliveries?limit=100", base(ports[2]));
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let Ok(res) = client.get(&url).bearer_auth(&api_key).send().await else {
                break;
            };
            let Ok(page) = res.json::<Value>().await else {
                break;
            };
            for d in page["data"].as_array().cloned().unwrap_or_default() {
                let status = d["status"].as_str().unwrap_or("").to_owned();
                *statuses
                    .entry(format!(
                        "{}:{status}",
                        if d["endpoint_id"] == gone_id.as_str() {
                            "gone"
                        } else {
                            "crm"
                        }
                    ))
                    .or_default() += 1;
                if let Some(s) = d["submission_id"].as_str() {
                    records.entry(s.to_owned()).or_default().push(d.clone());
                }
                if status == "delivered" {
                    if let Some(s) = d["submission_id"].as_str() {
                        delivered.insert(s.to_owned());
                    }
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        if accepted.is_subset(&delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let requests = crm.requests();
    let ids: Vec<String> = requests
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    let received: HashSet<String> = requests
        .iter()
        .filter_map(|r| {
            r.json()["data"]["submission_id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    println!(
        "fault injection: {} accepted, {} refused while down (retried), {} delivered, {} requests to the CRM \
         for {} webhook ids ({} repeats: retries after 5xx/timeouts and at most a few re-sends after the kill), \
         {} to the 410 endpoint; delivery log: {statuses:?}",
        accepted.len(),
        refused,
        delivered.intersection(&accepted).count(),
        requests.len(),
        unique.len(),
        requests.len() - unique.len(),
        gone.requests().len(),
    );
    let lost: Vec<&String> = accepted.difference(&delivered).collect();
    // For each submission missing, what the log says and what the CRM was sent (request
    // number and the answer scripted for it).
    let explain: Vec<String> = lost
        .iter()
        .map(|s| {
            let sent: Vec<String> = requests
                .iter()
                .enumerate()
                .filter(|(_, r)| r.json()["data"]["submission_id"] == s.as_str())
                .map(|(i, r)| {
                    let answer = scripted(i);
                    format!(
                        "#{i} {} -> {}{}",
                        r.header("webhook-id").unwrap_or("?"),
                        answer.status,
                        if answer.delay.is_zero() {
                            ""
                        } else {
                            " (late)"
                        }
                    )
                })
                .collect();
            format!("{s}: log {:?}; sent {sent:?}", records.get(*s))
        })
        .collect();
    assert!(lost.is_empty(), "accepted but not delivered: {explain:#?}");
    assert!(accepted.is_subset(&received));
    assert_eq!(accepted.len(), N);
    // The 410 endpoint was disabled after its first answer: at most a handful of
    // messages already claimed by other relays reached it.
    assert!(gone.requests().len() < 10, "{}", gone.requests().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_delivery_in_flight_finish_and_leaves_the_rest_queued() {
    let redis = TestRedis::start();
    let crm = FakeCrm::start().await;
    crm.push_response(FakeResponse::status(200).delay(Duration::from_millis(1500)));
    let key = gaprelay::crypto::seal::MasterKey::generate(&mut rand::rngs::OsRng).to_base64();
    let port = free_port();
    let mut relay = Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("serve")
        .env("RUST_LOG", "warn")
        .env("GAPRELAY_BIND", format!("127.0.0.1:{port}"))
        .env("GAPRELAY_REDIS_URL", redis.url())
        .env("GAPRELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("GAPRELAY_MASTER_KEY", &key)
        .env("GAPRELAY_ALLOW_PRIVATE_TARGETS", "true")
        .env("GAPRELAY_WORKER_CONCURRENCY", "1")
        .env("GAPRELAY_POLL_INTERVAL", "50ms")
        // Several workers on one machine: each serves its health and metrics on a port of its own.
        .env("GAPRELAY_WORKER_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|child| Relay { child })
        .expect("start gaprelay");
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let created: Value = client
        .post(format!("{base}/v1/practitioners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"practice_name": "Term", "doctor_name": "Dr T", "email": "t@example.com",
                       "website_url": "https://t.example.com", "slug": "term"}),
        )
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let api_key = created["api_key"].as_str().expect("key");
    client
        .post(format!("{base}/v1/endpoints"))
        .bearer_auth(api_key)
        .json(&json!({"url": crm.url(), "encryption": "none"}))
        .send()
        .await
        .expect("endpoint");
    for _ in 0..2 {
        let res = client
            .post(format!("{base}/v1/intake/term"))
            .json(&canary_intake())
            .send()
            .await
            .expect("intake");
        assert_eq!(res.status(), 202);
    }
    // The first delivery is in flight (the CRM takes 1.5 s to answer): SIGTERM now.
    crm.wait_for_requests(1, Duration::from_secs(10)).await;
    let pid = relay.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(s) = relay.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "gaprelay did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "it waited for the delivery in flight"
    );
    // The in-flight delivery finished and was removed; the second was never started
    // and is still queued for the next relay.
    assert_eq!(crm.requests().len(), 1);
    let mut conn = redis.client().await;
    let mut queued = 0;
    for partition in gaprelay::store::keys::Partition::all() {
        let n: usize = ::redis::cmd("ZCARD")
            .arg(partition.due())
            .query_async(&mut conn)
            .await
            .expect("zcard");
        queued += n;
    }
    assert_eq!(queued, 1);
}

/// Starts `gaprelay worker` with JSON logs at info level written to `log`.
fn start_worker(redis_url: &str, master_key: &str, log: &std::path::Path) -> Relay {
    let file = std::fs::File::create(log).expect("worker log file");
    let child = Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("worker")
        .env("RUST_LOG", "info")
        .env("GAPRELAY_LOG_FORMAT", "json")
        .env("GAPRELAY_REDIS_URL", redis_url)
        .env("GAPRELAY_MASTER_KEY", master_key)
        .env("GAPRELAY_ALLOW_PRIVATE_TARGETS", "true")
        .env("GAPRELAY_WORKER_CONCURRENCY", "4")
        .env("GAPRELAY_POLL_INTERVAL", "50ms")
        // Several workers on one machine: each serves its health and metrics on a port of its own.
        .env("GAPRELAY_WORKER_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start gaprelay worker");
    Relay { child }
}

// The shares are this test's report (shown with --nocapture or on failure).
#[allow(clippy::print_stdout)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_share_a_backlog_and_deliver_each_message_once() {
    let app = crate::helpers::spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("scale-out", "jwe").await;
    // Each delivery takes the CRM 40 ms: one process with 4 slots could not drain the
    // backlog alone as fast as three.
    const N: usize = 120;
    for _ in 0..N {
        crm.push_response(FakeResponse::status(200).delay(Duration::from_millis(40)));
    }
    for _ in 0..N {
        assert_eq!(
            app.post_intake(&p.slug, &canary_intake()).await.status(),
            202
        );
    }
    let redis_url = app.redis.as_ref().expect("redis").url();
    let dir = tempfile::tempdir().expect("tempdir");
    let logs: Vec<std::path::PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("worker-{i}.log")))
        .collect();
    let workers: Vec<Relay> = logs
        .iter()
        .map(|log| start_worker(&redis_url, &app.master_key.to_base64(), log))
        .collect();
    crm.wait_for_requests(N, Duration::from_secs(60)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.store.queue_len().await.expect("queue") > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give the workers a moment to write their last log lines, then stop them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(workers);

    let shares: Vec<usize> = logs
        .iter()
        .map(|log| {
            std::fs::read_to_string(log)
                .expect("log")
                .lines()
                .filter(|l| l.contains("\"outcome\":\"Delivered\""))
                .count()
        })
        .collect();
    let ids: HashSet<String> = crm
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    println!(
        "scale-out: {N} queued, {} requests for {} webhook ids, delivered per worker process: {shares:?}",
        crm.requests().len(),
        ids.len()
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert_eq!(crm.requests().len(), N, "each message sent exactly once");
    assert_eq!(ids.len(), N);
    assert_eq!(
        shares.iter().sum::<usize>(),
        N,
        "every delivery is in one worker's log"
    );
    for share in &shares {
        assert!(
            *share >= N / 6,
            "each process takes a fair part of the work (at least half of its third): {shares:?}"
        );
    }
}
