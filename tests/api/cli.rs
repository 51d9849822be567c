//! The binary's start-up: configuration errors say what is wrong and how to fix it, and
//! exit with status 2 before anything starts.

use std::process::Command;

fn gaprelay(envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gaprelay"));
    cmd.arg("serve").env_remove("RUST_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run gaprelay")
}

#[test]
fn a_master_key_that_is_not_base64_of_32_bytes_stops_start_up_with_a_fix() {
    let out = gaprelay(&[("GAPRELAY_MASTER_KEY", "dG9vIHNob3J0")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("GAPRELAY_MASTER_KEY"), "{err}");
    assert!(err.contains("openssl rand -base64 32"), "{err}");
    assert!(
        !err.contains("dG9vIHNob3J0"),
        "the error repeats the key: {err}"
    );
}

#[test]
fn serve_without_a_master_key_refuses_to_start_and_says_why() {
    let out = gaprelay(&[("GAPRELAY_BIND", "127.0.0.1:0")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GAPRELAY_MASTER_KEY is required"));
}

#[test]
fn a_bad_setting_names_its_variable() {
    for (var, value) in [
        ("GAPRELAY_BIND", "localhost"),
        ("GAPRELAY_MESSAGE_TTL", "48h"),
        ("GAPRELAY_RETRY_SCHEDULE", "1s,soon"),
    ] {
        let out = gaprelay(&[(var, value)]);
        assert_eq!(out.status.code(), Some(2), "{var}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(var), "{var}");
    }
}

#[tokio::test]
async fn the_demo_prints_its_form_and_host_page_and_serves_both() {
    // It prints the form's and the host page's addresses before the API key.
    let (_, _, demo) = crate::support::start_demo().await;
    let printed = demo.stdout.seen().to_owned();
    let find = |suffix: &str| {
        printed
            .split_whitespace()
            .find(|w| {
                w.starts_with("http://")
                    && w.ends_with(suffix)
                    && (suffix == "/f/demo" || !w.ends_with("/f/demo"))
            })
            .unwrap_or_else(|| panic!("no {suffix} address in {printed}"))
            .to_owned()
    };
    let (host_page, form) = (find("/demo"), find("/f/demo"));
    let client = reqwest::Client::new();
    let html = client
        .get(&host_page)
        .send()
        .await
        .expect("GET /demo")
        .text()
        .await
        .expect("body");
    assert!(
        html.contains(r#"<script src="/embed.js" data-gaprelay-form="demo" async></script>"#),
        "{html}"
    );
    let res = client.get(&form).send().await.expect("GET /f/demo");
    assert_eq!(res.status(), 200);
    let page = res.text().await.expect("body");
    assert!(page.contains("Demo Functional Medicine"));
    // The demo practice is set up as a real one would be: a call to action.
    assert!(
        page.contains("data-cta-url="),
        "the demo has a call to action"
    );
}
