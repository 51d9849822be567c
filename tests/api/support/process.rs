//! The `gaprelay` binary as a child process: its stdout and stderr read line by line as
//! they come (each in a thread of its own, so a process whose pipe closed early fails on
//! its next line, not in a deadlock), killed when the test ends however it ends.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Lines a child printed on one stream, in order.
pub struct Lines {
    rx: UnboundedReceiver<String>,
    /// Everything read so far, for failure messages.
    seen: String,
}

impl Lines {
    /// Lines sent on a channel (by code in the test's own process).
    pub fn channel() -> (tokio::sync::mpsc::UnboundedSender<String>, Lines) {
        let (tx, rx) = unbounded_channel();
        (
            tx,
            Lines {
                rx,
                seen: String::new(),
            },
        )
    }

    /// The lines of `stream`, read in a thread of their own.
    pub fn of(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Lines {
            rx,
            seen: String::new(),
        }
    }

    /// The next line that `wanted` accepts (skipping others), within `timeout`; panics
    /// with everything read so far if none comes.
    pub async fn until(&mut self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if wanted(&line) {
                        return line;
                    }
                }
                Ok(None) => panic!("the stream closed; it printed:\n{}", self.seen),
                Err(_) => panic!(
                    "no such line within {timeout:?}; it printed:\n{}",
                    self.seen
                ),
            }
        }
    }

    /// Everything read so far.
    pub fn seen(&self) -> &str {
        &self.seen
    }

    /// The lines that arrive within `wait`, without waiting for more.
    pub async fn drain(&mut self, wait: Duration) -> Vec<String> {
        tokio::time::sleep(wait).await;
        let mut lines = Vec::new();
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push_str(&line);
            self.seen.push('\n');
            lines.push(line);
        }
        lines
    }
}

/// A running `gaprelay` child process.
pub struct Gaprelay {
    child: std::process::Child,
    /// Its stdout, line by line.
    pub stdout: Lines,
    /// Its stderr, line by line.
    pub stderr: Lines,
}

impl Gaprelay {
    /// Starts `gaprelay <args>` with `envs`, without the caller's `RUST_LOG` and
    /// `GAPRELAY_*` settings that would change it.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Gaprelay {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gaprelay"));
        cmd.args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars() {
            if name.starts_with("GAPRELAY_") && !name.starts_with("GAPRELAY_TEST") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(envs.iter().copied());
        let mut child = cmd.spawn().expect("start gaprelay");
        let stdout = Lines::of(child.stdout.take().expect("stdout"));
        let stderr = Lines::of(child.stderr.take().expect("stderr"));
        Gaprelay {
            child,
            stdout,
            stderr,
        }
    }

    /// The port it logged (JSON logs) in the first line whose message contains
    /// `message`, waiting up to `timeout` for it.
    pub async fn logged_port(&mut self, message: &str, timeout: Duration) -> u16 {
        let line = self
            .stderr
            .until(|l| l.contains(message) && l.contains("\"port\""), timeout)
            .await;
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        let port = entry["port"].as_u64().expect("a port field");
        u16::try_from(port).expect("a port")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (a clean stop) and waits up to `timeout` for the exit status.
    pub async fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for gaprelay") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gaprelay did not stop within {timeout:?} of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Gaprelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve --demo` on a free port with the in-memory store: its base URL, the demo's
/// owner API key, and the process.
pub async fn start_demo() -> (String, String, Gaprelay) {
    let mut demo = Gaprelay::start(&["serve", "--demo"], &[("GAPRELAY_BIND", "127.0.0.1:0")]);
    let line = demo
        .stdout
        .until(
            |l| l.contains("gaprelay demo is running on"),
            Duration::from_secs(60),
        )
        .await;
    let base = line
        .split_whitespace()
        .last()
        .expect("the demo's address")
        .to_owned();
    let line = demo
        .stdout
        .until(|l| l.contains("owner API key"), Duration::from_secs(10))
        .await;
    let key = line
        .split_whitespace()
        .find(|w| w.starts_with("grk_"))
        .expect("the demo's API key")
        .to_owned();
    (base, key, demo)
}

/// The settings every process of one relay shares (a Redis or a cluster, a master key,
/// the test's tokens, private targets allowed, JSON logs), to start `serve` and
/// `worker` processes side by side.
pub struct Relay {
    env: Vec<(String, String)>,
}

impl Relay {
    /// A relay on the Redis at `redis_url` (a cluster's node list with `cluster`), with
    /// `extra` settings for every process.
    pub fn new(redis_url: &str, cluster: bool, extra: &[(&str, &str)]) -> Relay {
        use base64::Engine as _;
        let master = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let mut env: Vec<(String, String)> = [
            ("GAPRELAY_REDIS_URL", redis_url),
            (
                "GAPRELAY_REDIS_CLUSTER",
                if cluster { "true" } else { "false" },
            ),
            ("GAPRELAY_MASTER_KEY", master.as_str()),
            ("GAPRELAY_ADMIN_TOKEN", crate::helpers::ADMIN_TOKEN),
            ("GAPRELAY_METRICS_TOKEN", crate::helpers::METRICS_TOKEN),
            ("GAPRELAY_ALLOW_PRIVATE_TARGETS", "true"),
            ("GAPRELAY_LOG_FORMAT", "json"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Relay { env }
    }

    /// Starts `gaprelay <args>` with the relay's settings and `extra` (which win).
    pub fn start(&self, args: &[&str], extra: &[(&str, &str)]) -> Gaprelay {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(extra);
        Gaprelay::start(args, &env)
    }

    /// Starts `serve` (the API and, unless `extra` turns them off, workers) on a free
    /// port with `extra` settings: the process and its base URL.
    pub async fn start_serve(
        &self,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> (Gaprelay, String) {
        self.start_listening("serve", "GAPRELAY_BIND", "gaprelay serving", extra, timeout)
            .await
    }

    /// Starts `serve` with the API alone (no delivery slots) on a free port: the
    /// process and its base URL.
    pub async fn start_api(&self, timeout: Duration) -> (Gaprelay, String) {
        self.start_serve(&[("GAPRELAY_WORKER_CONCURRENCY", "0")], timeout)
            .await
    }

    /// Starts `gaprelay worker` with `extra` settings, its probes on a free port: the
    /// process and the probes' base URL.
    pub async fn start_worker(
        &self,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> (Gaprelay, String) {
        self.start_listening(
            "worker",
            "GAPRELAY_WORKER_BIND",
            "gaprelay worker delivering",
            extra,
            timeout,
        )
        .await
    }

    /// Starts `gaprelay <command>` with `bind` set to a free loopback port and `extra`
    /// settings, and waits for the port it logs with `ready`: the process and the base
    /// URL there.
    async fn start_listening(
        &self,
        command: &str,
        bind: &str,
        ready: &str,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> (Gaprelay, String) {
        let mut all = vec![(bind, "127.0.0.1:0")];
        all.extend_from_slice(extra);
        let mut child = self.start(&[command], &all);
        let port = child.logged_port(ready, timeout).await;
        (child, format!("http://127.0.0.1:{port}"))
    }
}

/// Creates the practice `slug` through the API at `base`, with one unencrypted endpoint
/// at `url`; returns the practice's API key.
pub async fn practice_with_endpoint(base: &str, slug: &str, url: &str) -> String {
    use serde_json::{json, Value};
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/v1/practitioners"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .json(
            &json!({"practice_name": slug, "doctor_name": format!("Dr. {slug}"),
                      "email": format!("{slug}@example.com"),
                      "website_url": format!("https://{slug}.example.com"), "slug": slug}),
        )
        .send()
        .await
        .expect("create a practice")
        .json()
        .await
        .expect("JSON");
    let key = created["api_key"].as_str().expect("an API key").to_owned();
    let res = client
        .post(format!("{base}/v1/endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "encryption": "none"}))
        .send()
        .await
        .expect("create an endpoint");
    assert_eq!(res.status(), 201);
    key
}

/// What a relay process at `base` (its API or a worker's probes) shows on `/metrics`,
/// asked with the test's scraper token.
pub async fn scrape_metrics(base: &str) -> String {
    let res = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(crate::helpers::METRICS_TOKEN)
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200, "{base}/metrics");
    res.text().await.expect("metrics text")
}
