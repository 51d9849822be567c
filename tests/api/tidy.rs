//! Tidy tests that keep docs/ARCHITECTURE.md true: every source file says what it is
//! for, the pure core stays pure, and each outside system is spoken to from one place.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// (file relative to src/, its text without comment lines)
fn sources() -> Vec<(String, String)> {
    rust_files(&src())
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("read");
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (rel, code)
        })
        .collect()
}

#[test]
fn every_source_file_opens_with_a_line_saying_what_it_is_for() {
    for path in rust_files(&src()) {
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("//! "),
            "{} must open with a `//!` line",
            path.display()
        );
    }
}

#[test]
fn the_domain_and_crypto_cores_do_no_io_and_never_read_the_clock() {
    let forbidden = [
        "actix",
        "redis",
        "reqwest",
        "tokio",
        "std::fs",
        "std::net::Tcp",
        "now_utc",
        "SystemTime",
        "thread_rng",
        "OsRng",
        "crate::store",
        "crate::http",
        "crate::delivery",
        "crate::service",
    ];
    for (file, code) in sources() {
        if file.starts_with("domain/") || file.starts_with("crypto/") {
            // Tests may use a thread RNG; the production code may not.
            let production = code.split("#[cfg(test)]").next().unwrap_or("");
            for word in forbidden {
                assert!(
                    !production.contains(word),
                    "src/{file} uses `{word}`: the core must stay pure"
                );
            }
        }
    }
}

#[test]
fn only_the_store_speaks_redis_only_http_speaks_actix_and_only_the_sender_builds_a_client() {
    for (file, code) in sources() {
        let speaks_redis = code.replace("store::redis::", "").contains("redis::");
        if speaks_redis && !file.starts_with("store/") {
            panic!("src/{file} speaks Redis; only src/store/ may");
        }
        let actix_allowed = file.starts_with("http/") || file == "startup.rs";
        if code.contains("actix_web") && !actix_allowed {
            panic!("src/{file} uses actix-web; only src/http/ (and the wiring in startup.rs) may");
        }
        if (code.contains("reqwest::Client") || code.contains("ClientBuilder"))
            && file != "delivery/sender.rs"
        {
            panic!("src/{file} builds an HTTP client; only src/delivery/sender.rs may");
        }
    }
}

#[test]
fn only_notify_smtp_speaks_smtp() {
    for (file, code) in sources() {
        if code.contains("lettre") && file != "notify/smtp.rs" {
            panic!("src/{file} uses lettre; only src/notify/smtp.rs speaks SMTP");
        }
    }
}

#[test]
fn no_openssl_anywhere_in_the_dependency_tree() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    for name in ["openssl", "openssl-sys", "native-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"")),
            "{name} is in Cargo.lock"
        );
    }
}

/// The form's front-end files (src/http/assets): small, ours, and unable to leak.
fn front_end_files() -> Vec<(String, String)> {
    let dir = src().join("http/assets");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "js" || e == "css"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

/// What in a front-end file would store patient data in the browser, run strings as
/// code, parse strings as markup, or reach a host other than the relay.
fn front_end_offences(text: &str) -> Vec<&'static str> {
    const FORBIDDEN: &[&str] = &[
        "localStorage",
        "sessionStorage",
        "indexedDB",
        "document.cookie",
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "'*')",
        "\"*\")",
        "@import",
        "http://",
        "https://",
        "//fonts.",
    ];
    // The SVG namespace (for createElementNS) is a name, never fetched.
    let text = text.replace("http://www.w3.org/2000/svg", "");
    FORBIDDEN
        .iter()
        .copied()
        .filter(|word| text.contains(word))
        .collect()
}

#[test]
fn the_front_end_check_sees_what_it_looks_for() {
    let planted = "const x = localStorage.getItem('a'); el.innerHTML = x; \
                   window.parent.postMessage(x, '*'); fetch('https://tracker.example/p');";
    assert_eq!(
        front_end_offences(planted),
        ["localStorage", "innerHTML", "'*')", "https://"]
    );
    assert!(
        front_end_offences("document.createElementNS('http://www.w3.org/2000/svg', 'svg')")
            .is_empty()
    );
}

#[test]
fn the_front_end_files_say_what_they_are_for_and_never_store_or_leak_anything() {
    let files = front_end_files();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["embed.js", "form.css", "form.js"]);
    for (name, text) in &files {
        assert!(
            text.starts_with("/*") || text.starts_with("//"),
            "{name} must open with a comment saying what it is for"
        );
        let offences = front_end_offences(text);
        assert!(offences.is_empty(), "{name} uses {offences:?}");
    }
}
