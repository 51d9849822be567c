//! Delivery before intake on a saturated machine: a `serve` process that also delivers
//! runs its HTTP server's threads `GAPRELAY_HTTP_NICE` steps below the rest of the
//! process (its delivery workers'), read back from the kernel (`/proc`). What that buys,
//! deliveries keeping up with intake at the maximum rate, is measured by `make bench`
//! (docs/performance.md), not asserted here.

use crate::support::{Gaprelay, Relay, TestRedis};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// One thread of a process: its name and nice value, as `/proc/<pid>/task/<tid>/stat`
/// gives them.
#[derive(Debug)]
struct Thread {
    name: String,
    nice: i32,
}

fn threads(pid: u32) -> Vec<Thread> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks
        .filter_map(|task| {
            // A thread may end between the listing and the read.
            let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
            Some(parse_stat(&stat))
        })
        .collect()
}

/// `tid (name) state ppid …`: the name is between the first `(` and the last `)`;
/// after it, field 3 (the state) onwards, of which the 19th is the nice value.
fn parse_stat(stat: &str) -> Thread {
    let open = stat.find('(').expect("(");
    let close = stat.rfind(')').expect(")");
    let nice = stat[close + 1..]
        .split_whitespace()
        .nth(19 - 3)
        .and_then(|n| n.parse().ok())
        .expect("the nice field");
    Thread {
        name: stat[open + 1..close].to_owned(),
        nice,
    }
}

fn main_thread_nice(pid: u32) -> i32 {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat")).nice
}

/// actix-server names its worker threads `actix-server worker N` (the kernel keeps 15
/// bytes of a name).
fn is_http_worker(thread: &Thread) -> bool {
    thread.name.starts_with("actix-server wo")
}

/// Starts `serve` on `redis` with `extra` settings and waits until it answers. actix-server
/// starts every worker thread, each building its application (where it sets its
/// priority), before it accepts the first connection: once `/healthz` answers, every HTTP
/// worker thread has its final nice value.
async fn serve(redis: &TestRedis, extra: &[(&str, &str)]) -> Gaprelay {
    let relay = Relay::new(&redis.url(), false, &[]);
    let (process, base) = relay.start_serve(extra, WAIT).await;
    let res = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(res.status(), 200);
    process
}

#[tokio::test]
async fn a_serve_that_delivers_runs_its_http_threads_below_its_delivery_workers() {
    let redis = TestRedis::start();
    for (extra, step) in [(vec![], 10), (vec![("GAPRELAY_HTTP_NICE", "3")], 3)] {
        let relay = serve(&redis, &extra).await;
        let pid = relay.pid();
        let base = main_thread_nice(pid);
        let want = (base + step).min(19);
        let threads = threads(pid);
        let http: Vec<&Thread> = threads.iter().filter(|t| is_http_worker(t)).collect();
        assert!(!http.is_empty(), "no HTTP worker threads in {threads:?}");
        assert!(
            http.iter().all(|t| t.nice == want),
            "{extra:?}: HTTP worker threads not at nice {want}: {threads:?}"
        );
        // Everything else, the delivery workers' runtime included, stays where it was.
        let rest: Vec<&Thread> = threads.iter().filter(|t| !is_http_worker(t)).collect();
        assert!(
            rest.iter().any(|t| t.name == "tokio-rt-worker"),
            "no runtime threads in {threads:?}"
        );
        assert!(
            rest.iter().all(|t| t.nice == base),
            "{extra:?}: other threads moved from nice {base}: {threads:?}"
        );
    }
}

#[tokio::test]
async fn an_api_only_serve_or_http_nice_0_leaves_every_thread_as_it_was() {
    let redis = TestRedis::start();
    for extra in [
        vec![("GAPRELAY_WORKER_CONCURRENCY", "0")],
        vec![("GAPRELAY_HTTP_NICE", "0")],
    ] {
        let relay = serve(&redis, &extra).await;
        let pid = relay.pid();
        let base = main_thread_nice(pid);
        let threads = threads(pid);
        assert!(
            threads.iter().any(is_http_worker),
            "no HTTP worker threads in {threads:?}"
        );
        assert!(
            threads.iter().all(|t| t.nice == base),
            "{extra:?}: a thread moved from nice {base}: {threads:?}"
        );
    }
}
