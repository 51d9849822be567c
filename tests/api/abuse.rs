//! Abuse of the public form: rate limits per client address (behind a proxy only when
//! the proxy is trusted) and per practice, with 429 and `Retry-After`; a honeypot and a
//! minimum fill time that discard bots quietly.

use crate::helpers::{canary_intake, error_code, spawn_app_with, AppOptions, TestApp};
use gaprelay::config::{PublicLimits, Rate};
use serde_json::Value;
use std::time::Duration;

fn per_minute(count: u32) -> Option<Rate> {
    Some(Rate {
        count,
        per: Duration::from_secs(60),
    })
}

fn limits(
    per_address: Option<Rate>,
    per_practitioner: Option<Rate>,
    proxies: &[&str],
) -> PublicLimits {
    PublicLimits {
        per_address,
        per_practitioner,
        trusted_proxies: proxies.iter().map(|p| p.parse().expect("cidr")).collect(),
        min_fill_time: Duration::ZERO,
    }
}

/// The app as in production (private targets refused), with these limits.
async fn app_with(public: PublicLimits) -> TestApp {
    spawn_app_with(AppOptions {
        allow_private_targets: false,
        public: Some(public),
        ..AppOptions::default()
    })
    .await
}

/// A practice with one endpoint at a public address. These tests never run a worker:
/// what they check is whether a submission was queued, not its delivery.
async fn practice(app: &TestApp, slug: &str) -> crate::helpers::TestPractitioner {
    let p = app.create_practitioner(slug).await;
    app.create_endpoint(&p.api_key, "https://1.1.1.1/never-contacted", "jwe")
        .await;
    p
}

async fn intake_from(app: &TestApp, slug: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/v1/intake/{slug}")))
        .json(&canary_intake());
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("request")
}

async fn assert_rate_limited(res: reqwest::Response) {
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
}

#[tokio::test]
async fn a_client_address_is_limited_on_the_public_routes_with_429_and_retry_after() {
    let app = app_with(limits(per_minute(3), None, &[])).await;
    let p = practice(&app, "limit-address").await;
    assert_eq!(
        app.get(&format!("/v1/forms/{}", p.slug), None)
            .await
            .status(),
        200
    );
    assert_eq!(intake_from(&app, &p.slug, None).await.status(), 202);
    assert_eq!(intake_from(&app, &p.slug, None).await.status(), 202);
    assert_rate_limited(intake_from(&app, &p.slug, None).await).await;
    assert_rate_limited(app.get(&format!("/v1/forms/{}", p.slug), None).await).await;
    // Limits apply before the body is read: a malformed one counts the same.
    let res = app
        .client
        .post(app.url(&format!("/v1/intake/{}", p.slug)))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_rate_limited(res).await;
    // A browser on the practice's website can read the 429 (CORS applies to it too).
    let res = app
        .client
        .get(app.url(&format!("/v1/forms/{}", p.slug)))
        .header("origin", "https://practice.example.com")
        .send()
        .await
        .expect("request");
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://practice.example.com")
    );
    assert_rate_limited(res).await;
    // Without a trusted proxy, a forged X-Forwarded-For changes nothing.
    assert_rate_limited(intake_from(&app, &p.slug, Some("198.51.100.99")).await).await;
    // Nothing over the limit was queued.
    assert_eq!(app.store.queue_len().await.expect("queue"), 2);
    // The practitioner's own API is not the public form's quota.
    assert_eq!(
        app.get("/v1/practitioner", Some(&p.api_key)).await.status(),
        200
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    let app = app_with(limits(per_minute(2), None, &["127.0.0.1/32"])).await;
    let p = practice(&app, "limit-proxy").await;
    let (a, b) = ("198.51.100.1", "198.51.100.2");
    assert_eq!(intake_from(&app, &p.slug, Some(a)).await.status(), 202);
    assert_eq!(intake_from(&app, &p.slug, Some(a)).await.status(), 202);
    assert_rate_limited(intake_from(&app, &p.slug, Some(a)).await).await;
    // Another client behind the same proxy is not affected.
    assert_eq!(intake_from(&app, &p.slug, Some(b)).await.status(), 202);
    // The proxy appends what it saw: a client cannot escape by writing another address
    // to the left of its own.
    assert_rate_limited(intake_from(&app, &p.slug, Some(&format!("203.0.113.5, {a}"))).await).await;
}

#[tokio::test]
async fn one_practice_cannot_be_flooded_while_others_still_take_submissions() {
    let app = app_with(limits(None, per_minute(3), &[])).await;
    let p = practice(&app, "limit-practice").await;
    let other = practice(&app, "limit-other").await;
    for _ in 0..3 {
        assert_eq!(intake_from(&app, &p.slug, None).await.status(), 202);
    }
    assert_rate_limited(intake_from(&app, &p.slug, None).await).await;
    assert_eq!(intake_from(&app, &other.slug, None).await.status(), 202);
}

#[tokio::test]
async fn a_filled_honeypot_is_answered_as_usual_and_discarded() {
    let app = app_with(limits(None, None, &[])).await;
    let p = practice(&app, "honeypot").await;
    let mut bot = canary_intake();
    bot["honeypot"] = Value::from("https://cheap-pills.example");
    let res = app.post_intake(&p.slug, &bot).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.expect("json");
    assert!(body["submission_id"]
        .as_str()
        .is_some_and(|s| s.starts_with("sub_")));
    assert_eq!(body["report"]["labs"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        app.store.queue_len().await.expect("queue"),
        0,
        "nothing queued"
    );
    // An empty honeypot is a person.
    let mut person = canary_intake();
    person["honeypot"] = Value::from("");
    assert_eq!(app.post_intake(&p.slug, &person).await.status(), 202);
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
}

#[tokio::test]
async fn a_form_sent_back_faster_than_a_person_can_type_or_with_a_forged_token_is_discarded() {
    let mut public = limits(None, None, &[]);
    public.min_fill_time = Duration::from_secs(3);
    let app = app_with(public).await;
    let p = practice(&app, "fill-time").await;
    let other = practice(&app, "fill-other").await;
    let token_for = |slug: String| {
        let app = &app;
        async move {
            let form: Value = app.get_json(&format!("/v1/forms/{slug}"), None).await;
            form["form_token"].as_str().expect("form_token").to_owned()
        }
    };
    let token = token_for(p.slug.clone()).await;
    let with_token = |t: &str| {
        let mut body = canary_intake();
        body["form_token"] = Value::from(t);
        body
    };
    // One second after loading the form: too fast.
    app.advance(Duration::from_secs(1));
    assert_eq!(
        app.post_intake(&p.slug, &with_token(&token)).await.status(),
        202
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    // A forged or altered token, or another practice's, is discarded too.
    app.advance(Duration::from_secs(10));
    let altered = token.replacen("ft1.", "ft1.1", 1);
    let elsewhere = token_for(other.slug.clone()).await;
    app.advance(Duration::from_secs(10));
    for bad in [altered.as_str(), "ft1.0.AAAA", elsewhere.as_str()] {
        assert_eq!(
            app.post_intake(&p.slug, &with_token(bad)).await.status(),
            202
        );
    }
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    // A person who took their time is accepted; so is a client that sends no token.
    assert_eq!(
        app.post_intake(&p.slug, &with_token(&token)).await.status(),
        202
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 2);
}

/// Sends a raw JSON body to the intake route.
async fn raw_intake(app: &TestApp, slug: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/intake/{slug}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn hostile_bodies_get_a_4xx_in_the_contract_shape_never_a_5xx() {
    let app = app_with(limits(None, None, &[])).await;
    let p = practice(&app, "hostile").await;
    let long = "x".repeat(5_000);
    let cases: Vec<(&str, String, u16)> = vec![
        // Nesting: serde_json stops at 128 levels. The intake body is read whole before
        // its fields are typed (so that every problem is named at once), so a deep list
        // is refused as malformed, like a deep object.
        (
            "deep array",
            format!("{{\"labs\": {}{}}}", "[".repeat(5_000), "]".repeat(5_000)),
            400,
        ),
        (
            "deep object",
            format!("{}{}", "{\"a\":".repeat(3_000), "}".repeat(3_000)),
            400,
        ),
        // Numbers JSON cannot carry as finite floats, and huge integers.
        (
            "1e999",
            r#"{"labs":[{"marker":"tsh","value":1e999,"unit":"mIU/L"}]}"#.into(),
            400,
        ),
        (
            "-1e999",
            r#"{"labs":[{"marker":"tsh","value":-1e999,"unit":"mIU/L"}]}"#.into(),
            400,
        ),
        ("huge age", r#"{"age": 1e300}"#.into(), 422),
        (
            "age overflow",
            r#"{"age": 99999999999999999999999}"#.into(),
            422,
        ),
        // Long strings in every free-text field.
        (
            "long name",
            format!(r#"{{"contact":{{"name":"{long}"}},"consent":true}}"#),
            422,
        ),
        (
            "long email",
            format!(r#"{{"contact":{{"email":"{long}@example.com"}},"consent":true}}"#),
            422,
        ),
        (
            "long phone",
            format!(r#"{{"contact":{{"phone":"{long}"}},"consent":true}}"#),
            422,
        ),
        (
            "long marker",
            format!(r#"{{"labs":[{{"marker":"{long}","value":1,"unit":"x"}}]}}"#),
            422,
        ),
        (
            "long unit",
            format!(r#"{{"labs":[{{"marker":"tsh","value":1,"unit":"{long}"}}]}}"#),
            422,
        ),
        ("long symptom", format!(r#"{{"symptoms":["{long}"]}}"#), 422),
        (
            "many labs",
            format!(
                r#"{{"labs":[{}]}}"#,
                vec![r#"{"marker":"tsh","value":1,"unit":"mIU/L"}"#; 500].join(",")
            ),
            422,
        ),
        (
            "many symptoms",
            format!(
                r#"{{"symptoms":[{}]}}"#,
                vec![r#""fatigue""#; 1_000].join(",")
            ),
            422,
        ),
        // Wrong shapes and broken text. serde would fill a struct from an array of its
        // fields in order; the contract takes objects only.
        (
            "fields as an array",
            r#"[{"name":"Ann","email":"ann@example.com"},"female",42,[],["fatigue"],true]"#.into(),
            422,
        ),
        ("not an object", "[1,2,3]".into(), 422),
        ("null", "null".into(), 422),
        ("empty", String::new(), 400),
        (
            "invalid utf-8 escape",
            r#"{"contact":{"name":"\udc00"}}"#.into(),
            400,
        ),
        (
            "duplicate field",
            r#"{"consent":true,"consent":false}"#.into(),
            400,
        ),
        (
            "unknown nested field",
            r#"{"contact":{"name":"A","ssn":"1"}}"#.into(),
            400,
        ),
    ];
    for (what, body, want) in cases {
        let res = raw_intake(&app, &p.slug, body).await;
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        assert_eq!(status, want, "{what}: {text}");
        assert!(
            !text.contains("struct "),
            "{what}: a Rust type name: {text}"
        );
        let json: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
        assert!(json["error"]["code"].is_string(), "{what}: {json}");
        assert!(!text.contains(&long), "{what}: the error echoes the input");
    }
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

/// Short deadlines, so that the slow-client tests take seconds.
fn short_deadlines() -> gaprelay::config::HttpTimeouts {
    gaprelay::config::HttpTimeouts {
        body_read: Duration::from_millis(1_000),
        keep_alive: Duration::from_millis(1_000),
        request_head: Duration::from_millis(1_000),
    }
}

async fn app_with_short_deadlines() -> TestApp {
    spawn_app_with(AppOptions {
        http: Some(short_deadlines()),
        ..AppOptions::default()
    })
    .await
}

/// A raw connection to the app, for clients no HTTP library would be.
async fn connect(app: &TestApp) -> tokio::net::TcpStream {
    let addr = app.address.trim_start_matches("http://");
    tokio::net::TcpStream::connect(addr).await.expect("connect")
}

/// Reads one response (head, and its body by `Content-Length`), failing after `within`.
async fn read_response(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the connection closed before a response: {text:?}");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("a response in time")
}

/// Waits until the server closes the connection; fails after `within`.
async fn assert_closed_within(stream: &mut tokio::net::TcpStream, within: Duration) {
    use tokio::io::AsyncReadExt;
    let closed = async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, closed)
        .await
        .expect("the server closes the connection in time");
}

/// Sends `head`, then one byte of `body` every 200 ms until told to stop or the
/// connection breaks; returns the reading half and the drip's stop switch.
fn drip(
    stream: tokio::net::TcpStream,
    head: String,
    body: Vec<u8>,
) -> (
    tokio::net::tcp::OwnedReadHalf,
    tokio::sync::oneshot::Sender<()>,
) {
    use tokio::io::AsyncWriteExt;
    let (read, mut write) = stream.into_split();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for byte in body {
            tokio::select! {
                _ = &mut stopped => return,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
        }
        let _ = stopped.await;
    });
    (read, stop)
}

/// Reads from `read` until the server closes it; returns everything read, failing
/// (with what was read) after `within`.
async fn read_until_closed(read: &mut tokio::net::tcp::OwnedReadHalf, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, read.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return String::from_utf8_lossy(&buf).into_owned(),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => panic!(
                "the server did not close the connection within {within:?}; it sent: {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
}

#[tokio::test]
async fn a_body_dripped_slower_than_the_deadline_gets_408_and_loses_its_connection() {
    let app = app_with_short_deadlines().await;
    let p = practice(&app, "slow-drip").await;
    let body = serde_json::to_vec(&canary_intake()).expect("json");
    let head = format!(
        "POST /v1/intake/{} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        p.slug,
        body.len()
    );
    let started = std::time::Instant::now();
    let (mut read, stop) = drip(connect(&app).await, head, body);
    // The body would take minutes at this pace; the deadline is one second.
    let answer = read_until_closed(&mut read, Duration::from_secs(5)).await;
    let _ = stop.send(());
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").expect("head") + 4..];
    let json: Value = serde_json::from_str(json).expect("JSON body");
    assert_eq!(json["error"]["code"], "request_timeout", "{answer}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "answered and closed after {elapsed:?}"
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    // The relay still answers everyone else.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

#[tokio::test]
async fn a_body_sent_in_chunks_is_refused_and_its_connection_closed_whatever_the_route() {
    let app = app_with_short_deadlines().await;
    let p = practice(&app, "chunked-drip").await;
    // A chunked body that nobody reads would be drained for as long as it drips:
    // refused at once instead, on a route that reads bodies and on one that does not.
    for path in [format!("/v1/intake/{}", p.slug), "/healthz".to_owned()] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let dripped: Vec<u8> = b"{}"
            .repeat(100)
            .iter()
            .flat_map(|b| [b'1', b'\r', b'\n', *b, b'\r', b'\n'])
            .collect();
        let started = std::time::Instant::now();
        let (mut read, stop) = drip(connect(&app).await, head, dripped);
        let answer = read_until_closed(&mut read, Duration::from_secs(5)).await;
        let _ = stop.send(());
        assert!(answer.starts_with("HTTP/1.1 411"), "{path}: {answer}");
        assert!(answer.contains("length_required"), "{path}: {answer}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{path}: closed after {:?}",
            started.elapsed()
        );
    }
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_and_a_dripped_request_head_are_closed() {
    use tokio::io::AsyncWriteExt;
    let app = app_with_short_deadlines().await;
    // A complete request, then silence: closed once the keep-alive deadline passes.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .expect("write");
    let answer = read_response(&mut idle, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let started = std::time::Instant::now();
    assert_closed_within(&mut idle, Duration::from_secs(4)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A request line and headers sent a byte at a time never finish: cut off too.
    let head = b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".to_vec();
    let started = std::time::Instant::now();
    let (mut read, stop) = drip(connect(&app).await, String::new(), head);
    let answer = read_until_closed(&mut read, Duration::from_secs(5)).await;
    let _ = stop.send(());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_second_request_head_dripped_on_a_kept_alive_connection_is_cut_off_too() {
    use tokio::io::AsyncWriteExt;
    let app = app_with_short_deadlines().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .expect("write");
    let answer = read_response(&mut stream, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The next request's head, a byte every 200 ms: it would take 20 seconds. The
    // server's own head deadline covers first requests only; the relay's watch closes
    // the connection once it has been between requests for keep-alive + head deadline.
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(60)
    );
    let started = std::time::Instant::now();
    let (mut read, stop) = drip(stream, String::new(), head.into_bytes());
    let answer = read_until_closed(&mut read, Duration::from_secs(6)).await;
    let _ = stop.send(());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );
    // A connection that keeps sending whole requests is not cut off for its age: it
    // lives past keep-alive + head deadline (2 s) with pauses far shorter than the
    // keep-alive (1 s), so that a loaded machine cannot stretch one beyond it.
    let mut busy = connect(&app).await;
    let opened = std::time::Instant::now();
    while opened.elapsed() < Duration::from_millis(2_500) {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
            .await
            .expect("write");
        let answer = read_response(&mut busy, Duration::from_secs(2)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_submission_to_a_form_that_does_not_exist_is_refused_before_its_body_is_read() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(AppOptions {
        http: Some(gaprelay::config::HttpTimeouts {
            body_read: Duration::from_secs(30),
            ..short_deadlines()
        }),
        ..AppOptions::default()
    })
    .await;
    let mut stream = connect(&app).await;
    // Headers announcing a body that never comes: the answer does not wait for it.
    stream
        .write_all(
            b"POST /v1/intake/no-such-form HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{",
        )
        .await
        .expect("write");
    let answer = read_response(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("not_found"), "{answer}");
    // The connection is not kept for the unread body.
    assert_closed_within(&mut stream, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn a_percent_encoded_slug_is_the_same_practice_to_the_limits_and_the_origin_check() {
    let app = app_with(limits(None, per_minute(1), &[])).await;
    let p = practice(&app, "rate-clinic").await;
    assert_eq!(intake_from(&app, "rate-clinic", None).await.status(), 202);
    // The practice's quota is spent, however its slug or the route is spelled.
    for spelled in [
        "/v1/intake/%72ate-clinic",
        "/v1/intake/rate%2Dclinic",
        "/v1/%69ntake/rate-clinic",
        "/v1/intake/%72%61%74%65-clinic",
    ] {
        let res = app
            .client
            .post(app.url(spelled))
            .json(&canary_intake())
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 429, "{spelled}");
    }
    // A foreign website is refused, spelled either way, before any limit or body.
    for spelled in [
        "/v1/intake/%72ate-clinic",
        "/v1/%69ntake/rate-clinic",
        "/v1/forms/%72ate-clinic",
        "/f/%72ate-clinic",
    ] {
        let mut req = if spelled.starts_with("/v1/intake") || spelled.starts_with("/v1/%69") {
            app.client.post(app.url(spelled)).json(&canary_intake())
        } else {
            app.client.get(app.url(spelled))
        };
        req = req.header("origin", "https://evil.example");
        let (status, body) = error_code(req.send().await.expect("request")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("origin_not_allowed")),
            "{spelled}"
        );
    }
    // A slug that cannot be one even decoded is no form at all.
    for spelled in [
        "/v1/intake/rate%2Fclinic",
        "/v1/intake/%52ate-clinic",
        "/v1/intake/rate-clinic%00",
        "/v1/intake/%zzrate-clinic",
    ] {
        let res = app
            .client
            .post(app.url(spelled))
            .json(&canary_intake())
            .send()
            .await
            .expect("request");
        let (status, body) = error_code(res).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{spelled}"
        );
    }
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
    assert_eq!(
        app.get(&format!("/v1/forms/{}", p.slug), None)
            .await
            .status(),
        200
    );
}
