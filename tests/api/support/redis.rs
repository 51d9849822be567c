//! A real, throwaway `redis-server` per test, on a free port, so tests never share data or rely on the machine's Redis.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a freshly spawned server may take to answer PING.
const READY_DEADLINE: Duration = Duration::from_secs(10);
/// How long `stop` waits for SHUTDOWN NOSAVE to end the process before killing it.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// How many fresh ports `start` tries when another process wins the race for one.
const PORT_ATTEMPTS: usize = 5;
const LOG_FILE: &str = "redis-server.log";

/// A `redis-server` child process owned by one test.
///
/// Its data directory and log live in a temporary directory that disappears with it;
/// `Drop` kills the process, so a panicking test leaves nothing running behind.
pub struct TestRedis {
    bin: PathBuf,
    port: u16,
    extra_args: Vec<String>,
    /// From `--requirepass` in the extra arguments, so readiness checks and `stop` can AUTH.
    password: Option<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a server with no persistence and waits until it answers PING.
    pub fn start() -> TestRedis {
        TestRedis::start_with_args(&[])
    }

    /// Like `start`, with extra `redis-server` arguments appended after the defaults,
    /// e.g. `&["--appendonly", "yes"]` (later arguments win in Redis). With
    /// `--requirepass`, `url()` carries the password.
    pub fn start_with_args(extra: &[&str]) -> TestRedis {
        let dir = tempfile::Builder::new()
            .prefix("gaprelay-test-redis-")
            .tempdir()
            .expect("create a temporary directory for redis-server");
        let mut redis = TestRedis {
            bin: redis_server_bin(),
            port: 0,
            extra_args: extra.iter().map(|arg| arg.to_string()).collect(),
            password: extra
                .windows(2)
                .rfind(|pair| pair[0] == "--requirepass")
                .map(|pair| pair[1].to_string()),
            dir,
            child: None,
        };
        // Between releasing the probed port and redis-server binding it, another test may
        // take it; redis-server then exits at once, and we try again on a fresh port.
        for _ in 0..PORT_ATTEMPTS {
            redis.port = free_port();
            if redis.spawn_and_wait() {
                return redis;
            }
        }
        panic!(
            "redis-server did not come up after {PORT_ATTEMPTS} attempts on fresh ports; last log:\n{}",
            redis.log()
        );
    }

    /// `redis://127.0.0.1:PORT/` (`redis://:PASSWORD@127.0.0.1:PORT/` with `--requirepass`).
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's working directory (where AOF/RDB files go when persistence is on).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the server has written to stdout/stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(LOG_FILE)).unwrap_or_default()
    }

    /// A new async connection to this server.
    pub async fn client(&self) -> ::redis::aio::MultiplexedConnection {
        ::redis::Client::open(self.url())
            .expect("the test Redis URL is valid")
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("connect to test redis at {}: {e}", self.url()))
    }

    /// Whether the server process is running (it may have been stopped or crashed).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the server the way an operator would (SHUTDOWN NOSAVE, which still flushes
    /// an enabled AOF), killing it only if it has not exited within 10 s. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            // The connection drops as the server exits, so the reply (if any) is ignored.
            let _ = send_command(self.port, self.password.as_deref(), &["SHUTDOWN", "NOSAVE"]);
            let deadline = Instant::now() + STOP_DEADLINE;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        kill_and_reap(&mut child);
    }

    /// Kills the server abruptly (SIGKILL), as a crash or an OOM kill would: nothing is
    /// flushed beyond what Redis had already written. Idempotent.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child);
        }
    }

    /// Stops the server if it runs, then starts it again on the same port, with the same
    /// arguments and directory (so an AOF written before is loaded again).
    pub fn restart(&mut self) {
        self.stop();
        // The old listening socket is gone, but in the rare case another test has just
        // been handed this port, keep trying until the deadline rather than move: the
        // code under test was configured with this URL.
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if self.spawn_and_wait() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "redis-server did not restart on port {}; log:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Spawns redis-server on `self.port` and waits until it, and not some other
    /// process that owns the port, answers. Returns false when the process exits
    /// before answering (typically: the port was taken); panics if it hangs.
    fn spawn_and_wait(&mut self) -> bool {
        let log_path = self.dir.path().join(LOG_FILE);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open the redis-server log file");
        let mut child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("duplicate the log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));

        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if !matches!(child.try_wait(), Ok(None)) {
                kill_and_reap(&mut child);
                return false;
            }
            // Asking for the server's pid rules out a server that another test started
            // on the same port a moment earlier; -LOADING replies mean "not yet".
            if let Ok(info) = send_command(self.port, self.password.as_deref(), &["INFO", "server"])
            {
                if server_pid(&info) == Some(child.id()) {
                    self.child = Some(child);
                    return true;
                }
            }
            if Instant::now() >= deadline {
                kill_and_reap(&mut child);
                panic!(
                    "redis-server on port {} did not answer within {READY_DEADLINE:?}; log:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.crash();
    }
}

/// The binary named by `REDIS_SERVER_BIN`, else `redis-server` from PATH.
fn redis_server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("REDIS_SERVER_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "REDIS_SERVER_BIN={} does not exist; run `make redis` (or unset it to use PATH)",
            bin.display()
        );
        return bin;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("redis-server is not installed (not on PATH, REDIS_SERVER_BIN unset); run `make redis`")
        })
}

/// A port that was free a moment ago (the kernel picks it; see the race note in `start`).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

fn kill_and_reap(child: &mut Child) {
    // Both fail only when the process is already gone and reaped, which is the goal.
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends one command (after AUTH when a password is set) over a fresh plain TCP
/// connection and returns the raw reply, as a string, when it is not an error.
/// Blocking on purpose: `start` is synchronous and must not need a runtime.
fn send_command(port: u16, password: Option<&str>, args: &[&str]) -> std::io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request = String::new();
    if let Some(password) = password {
        request.push_str(&encode_command(&["AUTH", password]));
    }
    request.push_str(&encode_command(args));
    stream.write_all(request.as_bytes())?;

    let mut reader = BufReader::new(stream);
    if password.is_some() {
        read_reply(&mut reader)?;
    }
    read_reply(&mut reader)
}

fn encode_command(args: &[&str]) -> String {
    let mut encoded = format!("*{}\r\n", args.len());
    for arg in args {
        encoded.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    encoded
}

/// Reads one simple-string or bulk-string reply; anything else is an error.
fn read_reply(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    match first.as_bytes().first() {
        Some(b'+') => Ok(first.trim_end().to_string()),
        Some(b'$') => {
            let len: usize = first[1..]
                .trim_end()
                .parse()
                .map_err(|_| invalid("bad bulk length"))?;
            let mut body = vec![0; len + 2];
            reader.read_exact(&mut body)?;
            body.truncate(len);
            String::from_utf8(body).map_err(|_| invalid("reply is not UTF-8"))
        }
        _ => Err(invalid(first.trim_end())),
    }
}

/// `process_id` from an `INFO server` reply.
fn server_pid(info: &str) -> Option<u32> {
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::redis::AsyncCommands;

    #[tokio::test]
    async fn a_test_redis_answers_ping_on_its_own_port_and_drop_kills_it() {
        let redis = TestRedis::start();
        assert_ne!(
            redis.port(),
            6379,
            "must never use the machine's Redis port"
        );
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/", redis.port()));
        let mut conn = redis.client().await;
        let pong: String = ::redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .expect("PING");
        assert_eq!(pong, "PONG");

        let port = redis.port();
        let dir = redis.dir().to_path_buf();
        drop(redis);
        assert!(
            send_command(port, None, &["PING"]).is_err(),
            "the server still answers after drop"
        );
        assert!(!dir.exists(), "the temporary directory outlived the server");
    }

    #[tokio::test]
    async fn parallel_test_redises_are_isolated_from_each_other() {
        let a = TestRedis::start();
        let b = TestRedis::start();
        assert_ne!(a.port(), b.port());
        let mut conn_a = a.client().await;
        let mut conn_b = b.client().await;
        let () = conn_a.set("k", "a").await.expect("SET on a");
        let in_b: Option<String> = conn_b.get("k").await.expect("GET on b");
        assert_eq!(in_b, None);
    }

    #[tokio::test]
    async fn restart_keeps_the_port_and_an_aof_keeps_the_data() {
        let mut redis =
            TestRedis::start_with_args(&["--appendonly", "yes", "--appendfsync", "always"]);
        let port = redis.port();
        let mut conn = redis.client().await;
        let () = conn.set("survives", "yes").await.expect("SET");
        drop(conn);

        redis.stop();
        assert!(!redis.is_running());
        assert!(
            send_command(port, None, &["PING"]).is_err(),
            "stopped server answers"
        );
        redis.stop(); // idempotent

        redis.restart();
        assert_eq!(redis.port(), port);
        assert!(redis.is_running());
        let mut conn = redis.client().await;
        let value: Option<String> = conn.get("survives").await.expect("GET");
        assert_eq!(value.as_deref(), Some("yes"), "log:\n{}", redis.log());
    }

    #[tokio::test]
    async fn without_persistence_a_crash_and_restart_loses_everything() {
        let mut redis = TestRedis::start();
        let mut conn = redis.client().await;
        let () = conn.set("gone", "soon").await.expect("SET");
        drop(conn);
        redis.crash();
        assert!(!redis.is_running());
        redis.restart();
        let mut conn = redis.client().await;
        let value: Option<String> = conn.get("gone").await.expect("GET");
        assert_eq!(value, None);
    }

    #[tokio::test]
    async fn a_password_protected_redis_puts_the_password_in_its_url() {
        let mut redis = TestRedis::start_with_args(&["--requirepass", "s3cret"]);
        assert_eq!(
            redis.url(),
            format!("redis://:s3cret@127.0.0.1:{}/", redis.port())
        );
        let mut conn = redis.client().await;
        let pong: String = ::redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .expect("PING with the password");
        assert_eq!(pong, "PONG");
        let started = Instant::now();
        redis.stop();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "SHUTDOWN was refused and stop fell back to killing"
        );
    }

    #[test]
    fn server_pid_is_read_from_info() {
        let info = "# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\ntcp_port:1\r\n";
        assert_eq!(server_pid(info), Some(4242));
        assert_eq!(server_pid("# Server\r\n"), None);
    }
}
