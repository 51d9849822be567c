//! A real SMTP server per test (tests/interop/smtp_sink.py, aiosmtpd) on a free port,
//! plain, STARTTLS or TLS from the first byte, which keeps every message it accepts for
//! the test to read; killed on drop.

use super::python::interop_python;
use super::redis::free_port;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long the server may take to say it listens.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// How many fresh ports `start` tries when another process wins the race for one.
const PORT_ATTEMPTS: usize = 5;

/// How the sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// No TLS at all.
    Plain,
    /// STARTTLS offered, and required before any mail is taken.
    StartTls,
    /// TLS from the first byte (smtps).
    Tls,
}

impl SinkTls {
    fn arg(self) -> &'static str {
        match self {
            SinkTls::Plain => "plain",
            SinkTls::StartTls => "starttls",
            SinkTls::Tls => "tls",
        }
    }
}

/// An SMTP server child process owned by one test.
pub struct SmtpSink {
    port: u16,
    tls: SinkTls,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts a plain server and waits until it listens.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(SinkTls::Plain)
    }

    /// Starts a server protected as asked and waits until it listens; with TLS its
    /// certificate comes from a throwaway CA whose PEM is at [`SmtpSink::ca_file`].
    pub fn start_with(tls: SinkTls) -> SmtpSink {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/smtp_sink.py");
        for _ in 0..PORT_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("gaprelay-test-smtp-")
                .tempdir()
                .expect("create a temporary directory for the SMTP sink");
            let port = free_port();
            let mut child = Command::new(interop_python())
                .arg(&script)
                .arg(port.to_string())
                .arg(dir.path())
                .arg(tls.arg())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("run tests/interop/smtp_sink.py");
            if wait_ready(&mut child) {
                return SmtpSink {
                    port,
                    tls,
                    dir,
                    child,
                };
            }
            // Most likely the port was taken meanwhile: try another.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the SMTP sink did not come up after {PORT_ATTEMPTS} attempts on fresh ports");
    }

    /// The server as `GAPRELAY_SMTP_URL` takes it: `smtp://127.0.0.1:PORT?tls=none`,
    /// `smtp://127.0.0.1:PORT` (STARTTLS) or `smtps://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self.tls {
            SinkTls::Plain => format!("smtp://127.0.0.1:{}?tls=none", self.port),
            SinkTls::StartTls => format!("smtp://127.0.0.1:{}", self.port),
            SinkTls::Tls => format!("smtps://127.0.0.1:{}", self.port),
        }
    }

    /// The PEM certificate of the CA that issued the server's certificate (TLS modes).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Every message received so far, oldest first: `mail_from`, `rcpt_tos`, `from`,
    /// `to`, `subject`, `body` (decoded text) and `raw` (as received).
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the SMTP sink's directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("read a received message");
                serde_json::from_str(&text).expect("the SMTP sink writes JSON")
            })
            .collect()
    }
}

/// Waits for the child's "ready" line; false if it exits (or says nothing) first.
fn wait_ready(child: &mut Child) -> bool {
    let stdout = child.stdout.take().expect("the sink's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let ok = BufReader::new(stdout).read_line(&mut line).is_ok() && line.trim() == "ready";
        let _ = tx.send(ok);
    });
    rx.recv_timeout(READY_DEADLINE).unwrap_or(false)
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Both fail only when the process is already gone and reaped, which is the goal.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn expect_reply(stream: &mut TcpStream, code: &str) {
        let mut reply = String::new();
        let mut buf = [0u8; 1024];
        // Multi-line replies end with a line whose code is followed by a space.
        while !reply
            .lines()
            .any(|l| l.starts_with(code) && l.as_bytes().get(3) == Some(&b' '))
        {
            let n = stream.read(&mut buf).expect("read the SMTP reply");
            assert!(n > 0, "the SMTP sink closed the connection: {reply}");
            reply.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    #[test]
    fn the_sink_keeps_a_message_sent_to_it_by_hand() {
        let sink = SmtpSink::start();
        let mut stream = TcpStream::connect(("127.0.0.1", sink.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        expect_reply(&mut stream, "220");
        for (line, code) in [
            ("EHLO test\r\n", "250"),
            ("MAIL FROM:<a@example.com>\r\n", "250"),
            ("RCPT TO:<b@example.com>\r\n", "250"),
            ("DATA\r\n", "354"),
            (
                "Subject: hello\r\nTo: b@example.com\r\n\r\nbody text\r\n.\r\n",
                "250",
            ),
        ] {
            stream.write_all(line.as_bytes()).expect("write");
            expect_reply(&mut stream, code);
        }
        let messages = sink.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["rcpt_tos"][0], "b@example.com");
        assert_eq!(messages[0]["subject"], "hello");
        assert_eq!(
            messages[0]["body"].as_str().map(str::trim),
            Some("body text")
        );
    }
}
