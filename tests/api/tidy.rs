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
        // `listen.rs` is not part of the relay but a client of one (`gaprelay listen`,
        // a development tool): its own little server and API client, used by nothing else.
        let tool = file == "listen.rs";
        let actix_allowed = file.starts_with("http/") || file == "startup.rs" || tool;
        if code.contains("actix_web") && !actix_allowed {
            panic!("src/{file} uses actix-web; only src/http/ (and the wiring in startup.rs) may");
        }
        if (code.contains("reqwest::Client") || code.contains("ClientBuilder"))
            && file != "delivery/sender.rs"
            && !tool
        {
            panic!("src/{file} builds an HTTP client; only src/delivery/sender.rs may");
        }
    }
}

/// What in a source file would describe the wire: the OpenAPI derive, its attributes
/// and its crate, which belong to `src/http/wire` (and the handlers' annotations).
fn wire_concerns(code: &str) -> Vec<&'static str> {
    const FORBIDDEN: &[&str] = &["utoipa", "ToSchema", "IntoParams", "#[schema("];
    FORBIDDEN
        .iter()
        .copied()
        .filter(|word| code.contains(word))
        .collect()
}

#[test]
fn the_wire_check_sees_what_it_looks_for() {
    let planted = "#[derive(Debug, Serialize, utoipa::ToSchema)]\n\
                   pub struct Range { #[schema(value_type = String)] unit: Unit }";
    assert_eq!(wire_concerns(planted), ["utoipa", "ToSchema", "#[schema("]);
    let imported = "use utoipa::ToSchema;\n#[derive(ToSchema)]\npub struct Range;";
    assert_eq!(wire_concerns(imported), ["utoipa", "ToSchema"]);
    assert!(wire_concerns("#[derive(Debug, Serialize)]\npub struct Range;").is_empty());
}

#[test]
fn the_domain_and_the_service_know_nothing_of_the_openapi_document() {
    for (file, code) in sources() {
        if file.starts_with("domain/") || file.starts_with("service/") {
            let concerns = wire_concerns(&code);
            assert!(
                concerns.is_empty(),
                "src/{file} uses {concerns:?}: schemas and request bodies belong to src/http/wire"
            );
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

// ---------------------------------------------------------------------------------------
// Every Lua script of the store lives in a file of its own under src/store/lua/, opens
// with a comment saying what it does, its KEYS and its ARGV, and is loaded with
// `include_str!`: no script hides in a Rust string.
// ---------------------------------------------------------------------------------------

/// The inline Lua in a store source file (its code without comment lines): a string
/// that calls Redis from Lua, or a script built from anything but a constant loaded
/// with `include_str!` from a `.lua` file.
fn inline_lua_offences(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for call in ["redis.call", "redis.pcall"] {
        if code.contains(call) {
            out.push(format!("a string calling {call}"));
        }
    }
    let loaded_from_a_file = |name: &str| {
        let is_const_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        let definition = format!("const {name}: &str = include_str!(\"");
        is_const_name
            && code.split(&definition).skip(1).any(|after| {
                after
                    .split_once("\")")
                    .is_some_and(|(path, _)| path.ends_with(".lua"))
            })
    };
    for (_, after) in code
        .match_indices("Script::new(")
        .map(|(i, _)| code.split_at(i))
    {
        let arg = after["Script::new(".len()..]
            .split(')')
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(',')
            .trim();
        if !loaded_from_a_file(arg) {
            out.push(format!("Script::new({arg})"));
        }
    }
    out
}

#[test]
fn the_inline_lua_check_sees_a_planted_script() {
    // The old way: the script in a raw string, built from that constant.
    let planted = "const CLAIM_SCRIPT: &str = r\"\nreturn redis.call('GET', KEYS[1])\n\";\n\
                   fn f() { let s = redis::Script::new(CLAIM_SCRIPT); }";
    assert_eq!(
        inline_lua_offences(planted),
        ["a string calling redis.call", "Script::new(CLAIM_SCRIPT)"]
    );
    // A script built from a literal, or from a constant not loaded from a .lua file.
    assert_eq!(
        inline_lua_offences("fn f() { redis::Script::new(\"return 1\"); }"),
        ["Script::new(\"return 1\")"]
    );
    assert_eq!(
        inline_lua_offences(
            "const S: &str = include_str!(\"s.txt\");\nfn f() { redis::Script::new(\n    S,\n); }"
        ),
        ["Script::new(S)"]
    );
    // The right way.
    assert!(inline_lua_offences(
        "const S: &str = include_str!(\"../lua/s.lua\");\nfn f() { redis::Script::new(S); }"
    )
    .is_empty());
}

#[test]
fn every_lua_script_is_a_file_that_says_what_it_does_and_is_loaded_from_it() {
    let store: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|(file, _)| file.starts_with("store/"))
        .collect();
    for (file, code) in &store {
        let offences = inline_lua_offences(code);
        assert!(
            offences.is_empty(),
            "src/{file} holds inline Lua ({offences:?}); put it in src/store/lua/ and load it \
             with include_str!"
        );
    }
    let dir = src().join("store/lua");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in {}", dir.display());
    for path in scripts {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.ends_with(".lua"),
            "src/store/lua/{name} is not a Lua script"
        );
        let text = std::fs::read_to_string(&path).expect("read");
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("--")).collect();
        assert!(
            header.len() >= 2,
            "src/store/lua/{name} must open with a comment saying what it does"
        );
        let body = text
            .lines()
            .skip(header.len())
            .collect::<Vec<_>>()
            .join("\n");
        for names in ["KEYS", "ARGV"] {
            if body.contains(names) {
                assert!(
                    header.iter().any(|l| l.contains(&format!("{names}["))),
                    "src/store/lua/{name} uses {names} without saying what they are"
                );
            }
        }
        let loaded = format!("lua/{name}\")");
        assert!(
            store.iter().any(|(_, code)| code.contains(&loaded)),
            "src/store/lua/{name} is loaded by no store file"
        );
    }
}

// ---------------------------------------------------------------------------------------
// No import cycles between modules.
//
// The graph is read from the source text: every `crate::…`, `super::…` and `self::…`
// path (in `use` trees and inline), and `use` of a child module, resolved to the file
// module it names (following `use` re-exports, which is how a name moved to a leaf module
// stays reachable at its old path without hiding a cycle). An edge between two modules is
// lifted to the two siblings under their closest common ancestor, so `domain::ranges ↔
// domain::catalog` and `service ↔ delivery` are both cycles, while a child naming its
// parent (or a parent its child) is not an edge. Test code (`#[cfg(test)]` items) is left
// out: what the architecture promises is about the shipped code.
// ---------------------------------------------------------------------------------------

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // `::`
    Punct(char),
}

/// The tokens of a Rust source text, with comments and literals dropped (so that braces
/// and paths inside strings are never seen).
fn tokens(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if (ch == 'r' || ch == 'b') && raw_string_start(&c, i).is_some() {
            let (hashes, body) = raw_string_start(&c, i).expect("checked");
            i = body;
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < c.len() && !c[i..].starts_with(&closing) {
                i += 1;
            }
            i += closing.len();
        } else if ch == '"' || (ch == 'b' && next == Some('"')) {
            i += if ch == 'b' { 2 } else { 1 };
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if ch == '\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && next == Some(':') {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// Where a raw string starting at `i` (`r"`, `r#"`, `br#"`) has its body: (hashes, body).
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    // `r"` inside an identifier (`for"`) is not a raw string.
    if c.get(j) != Some(&'r') || (i > 0 && is_ident_char(c.get(i - 1))) {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some((hashes, j + 1))
}

fn is_ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The tokens without `#[cfg(test)]` items (a test module, a test-only function or use).
fn without_test_items(toks: Vec<Tok>) -> Vec<Tok> {
    let marker: Vec<Tok> = tokens("#[cfg(test)]");
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i..].starts_with(&marker) {
            i += marker.len();
            // Skip the item: up to a `;` outside braces, or through its braced body.
            let mut depth = 0;
            while i < toks.len() {
                match &toks[i] {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    Tok::Punct(';') if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

/// A path found in a module: absolute segments (crate root first, without `crate`) and,
/// for a `use`, the name it brings into scope.
#[derive(Debug)]
struct Reference {
    segments: Vec<String>,
    imported_as: Option<String>,
}

/// The module path of a file under src/: `domain/ranges.rs` → `domain::ranges`,
/// `domain/catalog/mod.rs` → `domain::catalog`, `lib.rs` → `` (the crate root).
fn module_of(file: &str) -> String {
    let trimmed = file.trim_end_matches(".rs");
    let trimmed =
        trimmed
            .strip_suffix("/mod")
            .unwrap_or(if trimmed == "lib" { "" } else { trimmed });
    trimmed.replace('/', "::")
}

fn segments_of(module: &str) -> Vec<String> {
    if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    }
}

/// Parses a use tree (or an inline path) at `toks[*i]`, under `prefix`, into `out`.
fn parse_tree(
    toks: &[Tok],
    i: &mut usize,
    mut prefix: Vec<String>,
    is_use: bool,
    out: &mut Vec<Reference>,
) {
    loop {
        match toks.get(*i) {
            Some(Tok::Punct('{')) => {
                *i += 1;
                while *i < toks.len() && toks[*i] != Tok::Punct('}') {
                    parse_tree(toks, i, prefix.clone(), is_use, out);
                    // Skip to the next sibling (past an `as` or anything not understood).
                    let mut depth = 0;
                    while let Some(t) = toks.get(*i) {
                        match t {
                            Tok::Punct('{') => depth += 1,
                            Tok::Punct('}') if depth == 0 => break,
                            Tok::Punct('}') => depth -= 1,
                            Tok::Punct(',') if depth == 0 => {
                                *i += 1;
                                break;
                            }
                            _ => {}
                        }
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some(Tok::Ident(name)) => {
                *i += 1;
                match name.as_str() {
                    "super" => {
                        prefix.pop();
                    }
                    "self" if is_use && toks.get(*i) != Some(&Tok::Path) => {
                        // `use a::b::{self}` imports `b` itself.
                        let imported = prefix.last().cloned();
                        out.push(Reference {
                            segments: prefix,
                            imported_as: imported,
                        });
                        return;
                    }
                    "self" => {}
                    _ => prefix.push(name.clone()),
                }
                if toks.get(*i) == Some(&Tok::Path) {
                    *i += 1;
                    continue;
                }
                let mut imported_as = is_use.then(|| name.clone());
                if is_use && toks.get(*i) == Some(&Tok::Ident("as".into())) {
                    if let Some(Tok::Ident(alias)) = toks.get(*i + 1) {
                        imported_as = Some(alias.clone());
                        *i += 2;
                    }
                }
                out.push(Reference {
                    segments: prefix,
                    imported_as,
                });
                return;
            }
            _ => {
                // `*`, `<` (turbofish) or the end: the path names what is before it.
                out.push(Reference {
                    segments: prefix,
                    imported_as: None,
                });
                return;
            }
        }
    }
}

/// Every path in one file's code that names something of this crate.
fn references(module: &str, modules: &BTreeSet<String>, toks: &[Tok]) -> Vec<Reference> {
    let here = segments_of(module);
    let mut parent = here.clone();
    parent.pop();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let after_path = i > 0 && toks[i - 1] == Tok::Path;
        let is_use = toks[i] == Tok::Ident("use".into());
        let start = if is_use { i + 1 } else { i };
        let root = match toks.get(start) {
            Some(Tok::Ident(first)) if !after_path => {
                let followed_by_path = toks.get(start + 1) == Some(&Tok::Path);
                let child = [here.clone(), vec![first.clone()]].concat().join("::");
                match first.as_str() {
                    "crate" if followed_by_path => Some((Vec::new(), start + 2)),
                    "super" | "self" if followed_by_path || is_use => Some((here.clone(), start)),
                    _ if is_use && modules.contains(&child) => Some((here.clone(), start)),
                    _ => None,
                }
            }
            _ => None,
        };
        match root {
            Some((prefix, mut at)) => {
                parse_tree(toks, &mut at, prefix, is_use, &mut out);
                i = at.max(i + 1);
            }
            None => i += 1,
        }
    }
    out
}

/// The file modules named by `segments`, following `use` re-exports of the module that
/// the longest known prefix names.
fn resolve(
    segments: &[String],
    modules: &BTreeSet<String>,
    imports: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    depth: usize,
) -> String {
    let known = (0..=segments.len())
        .rev()
        .find(|&k| k == 0 || modules.contains(&segments[..k].join("::")))
        .unwrap_or(0);
    let module = segments[..known].join("::");
    if depth < 8 && known < segments.len() {
        if let Some(target) = imports.get(&module).and_then(|m| m.get(&segments[known])) {
            if target.as_slice() != segments {
                let rest = [target.clone(), segments[known + 1..].to_vec()].concat();
                return resolve(&rest, modules, imports, depth + 1);
            }
        }
    }
    module
}

/// The module graph of the given files (path under src/, text), lifted to siblings:
/// edge (from, to) → the files and paths that make it.
fn module_graph(files: &[(String, String)]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let modules: BTreeSet<String> = files.iter().map(|(f, _)| module_of(f)).collect();
    let parsed: Vec<(String, Vec<Reference>)> = files
        .iter()
        .map(|(file, text)| {
            let module = module_of(file);
            let toks = without_test_items(tokens(text));
            let refs = references(&module, &modules, &toks);
            (module, refs)
        })
        .collect();
    let mut imports: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (module, refs) in &parsed {
        for r in refs {
            if let Some(name) = &r.imported_as {
                imports
                    .entry(module.clone())
                    .or_default()
                    .insert(name.clone(), r.segments.clone());
            }
        }
    }
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (module, refs) in &parsed {
        let from = segments_of(module);
        for r in refs {
            let to = segments_of(&resolve(&r.segments, &modules, &imports, 0));
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            // A module naming itself, an ancestor or a descendant is not an edge.
            if common == from.len() || common == to.len() {
                continue;
            }
            let lift = |m: &[String]| m[..=common].join("::");
            edges
                .entry((lift(&from), lift(&to)))
                .or_default()
                .insert(format!("{module} uses {}", r.segments.join("::")));
        }
    }
    edges
}

/// The strongly connected components of more than one module, each sorted.
fn module_cycles(edges: &BTreeMap<(String, String), BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let reachable = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for &m in next.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(m) {
                    todo.push(m);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&str, BTreeSet<&str>> = next.keys().map(|&n| (n, reachable(n))).collect();
    let mut cycles = BTreeSet::new();
    for (&n, from_n) in &reach {
        let component: Vec<String> = from_n
            .iter()
            .filter(|&&m| reach.get(m).is_some_and(|r| r.contains(n)))
            .map(|m| m.to_string())
            .collect();
        if component.len() > 1 {
            cycles.insert(component);
        }
    }
    cycles.into_iter().collect()
}

/// Every file under src/ that belongs to the library (main.rs is its own crate).
fn library_files() -> Vec<(String, String)> {
    rust_files(&src())
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).expect("read"))
        })
        .filter(|(rel, _)| rel != "main.rs")
        .collect()
}

fn file(path: &str, text: &str) -> (String, String) {
    (path.to_owned(), text.to_owned())
}

#[test]
fn the_cycle_check_sees_a_planted_cycle_between_layers_and_between_siblings() {
    let planted = [
        file("lib.rs", "pub mod alpha; pub mod beta; pub mod gamma;"),
        // Layers: alpha → beta through a grouped use, beta → alpha through an inline path.
        file("alpha/mod.rs", "pub mod one; pub mod two; pub mod three;"),
        file(
            "alpha/one.rs",
            "use crate::{beta::{self, Thing as T}, gamma};\n\
             fn h() { let _ = super::three::Moved::new(); }",
        ),
        file("beta.rs", "pub fn f() { crate::alpha::two::g(); }"),
        // Siblings: two → one, and one → two only through a name `three` re-exports.
        file("alpha/two.rs", "use super::one::Item; pub fn g() {}"),
        file("alpha/three.rs", "pub use super::two::Moved;"),
        // gamma forms no cycle with alpha: a comment, a string and test code do not count.
        file(
            "gamma.rs",
            "// crate::alpha::three\nconst S: &str = \"crate::alpha::one\";\n\
             #[cfg(test)] mod tests { use crate::alpha::one; }",
        ),
    ];
    let mut files = planted.to_vec();
    let cycles = module_cycles(&module_graph(&files));
    assert_eq!(
        cycles,
        [
            vec!["alpha".to_owned(), "beta".to_owned()],
            vec!["alpha::one".to_owned(), "alpha::two".to_owned()],
        ]
    );
    // Without the inline path and the re-export there is no cycle at all.
    files[2].1 = "use crate::{beta::{self, Thing as T}, gamma};".into();
    files[3].1 = "pub fn f() {}".into();
    assert!(module_cycles(&module_graph(&files)).is_empty());
}

#[test]
fn there_are_no_import_cycles_between_modules() {
    let edges = module_graph(&library_files());
    let cycles = module_cycles(&edges);
    let mut report = String::new();
    for cycle in &cycles {
        report.push_str(&format!("\ncycle {cycle:?}:\n"));
        for ((from, to), why) in &edges {
            if cycle.contains(from) && cycle.contains(to) {
                let why: Vec<&str> = why.iter().map(String::as_str).collect();
                report.push_str(&format!("  {from} → {to}: {}\n", why.join("; ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles between modules:{report}");
}

/// The spans written `like this` in a Markdown text, without surrounding punctuation.
fn backticked(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The ways a source file (relative to src/) may be named in the docs: any tail of its
/// path, with or without `.rs`; a `mod.rs` is named by its directory (`store/redis/`,
/// `redis/`, `redis`).
fn names_of(file: &str) -> Vec<String> {
    let parts: Vec<&str> = file.split('/').collect();
    let (parts, dir) = match parts.split_last() {
        Some((&"mod.rs", dirs)) => (dirs.to_vec(), true),
        _ => (parts, false),
    };
    let mut names = Vec::new();
    for start in 0..parts.len() {
        let tail = parts[start..].join("/");
        if dir {
            names.push(format!("{tail}/"));
        } else if let Some(stem) = tail.strip_suffix(".rs") {
            names.push(stem.to_owned());
        }
        names.push(tail);
    }
    // The whole path from the repository's root names it too.
    let whole = format!("src/{}", names[usize::from(!dir)]);
    names.push(whole);
    // And its module path (`store::form_cache`).
    let module = parts.join("::");
    names.push(module.strip_suffix(".rs").unwrap_or(&module).to_owned());
    names
}

/// What a code map gets wrong about a tree: the source files and directories (relative
/// to src/) it never names, and the paths it names (`….rs`, `…/`) that no file or
/// directory of `paths` (relative to the repository) ends with.
fn code_map_mismatches(
    doc: &str,
    map: &str,
    src_files: &[String],
    src_dirs: &[String],
    paths: &[String],
) -> (Vec<String>, Vec<String>) {
    let named = backticked(doc);
    let mut unnamed: Vec<String> = src_files
        .iter()
        .filter(|f| !matches!(f.as_str(), "main.rs" | "lib.rs"))
        .filter(|f| !names_of(f).iter().any(|n| named.contains(n)))
        .cloned()
        .collect();
    unnamed.extend(
        src_dirs
            .iter()
            .filter(|d| {
                let parts: Vec<&str> = d.split('/').collect();
                !(0..parts.len()).any(|i| named.contains(&format!("{}/", parts[i..].join("/"))))
                    && !named.contains(&format!("src/{d}/"))
            })
            .map(|d| format!("{d}/")),
    );
    let missing = backticked(map)
        .into_iter()
        .filter(|s| !s.contains(' ') && (s.ends_with(".rs") || s.ends_with('/')))
        .filter(|s| {
            !paths
                .iter()
                .any(|p| p == s || p.ends_with(&format!("/{s}")))
        })
        .collect();
    (unnamed, missing)
}

/// Every file and directory under `dir`, relative to `root`; directories end with `/`.
fn tree(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            out.push(format!("{rel}/"));
            out.extend(tree(root, &path));
        } else {
            out.push(rel);
        }
    }
    out
}

#[test]
fn the_code_map_check_sees_an_unnamed_file_and_a_named_file_that_is_gone() {
    let doc = "- `domain/`: `ranges` and `store/redis/`.\n- `gone.rs`, `old/`";
    let files = vec![
        "domain/ranges.rs".to_owned(),
        "domain/new_thing.rs".to_owned(),
        "store/redis/mod.rs".to_owned(),
    ];
    let dirs = vec![
        "domain".to_owned(),
        "store".to_owned(),
        "store/redis".to_owned(),
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| format!("src/{f}"))
        .chain(dirs.iter().map(|d| format!("src/{d}/")))
        .collect();
    let (unnamed, missing) = code_map_mismatches(doc, doc, &files, &dirs, &paths);
    assert_eq!(unnamed, vec!["domain/new_thing.rs", "store/"]);
    assert_eq!(missing, vec!["gone.rs", "old/"]);
}

#[test]
fn the_code_map_in_architecture_md_matches_the_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("read");
    let start = doc.find("## Code map").expect("a code map section");
    let rest = &doc[start + 3..];
    let map = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let src_tree = tree(&src(), &src());
    let src_files: Vec<String> = src_tree
        .iter()
        .filter(|p| p.ends_with(".rs"))
        .cloned()
        .collect();
    let src_dirs: Vec<String> = src_tree
        .iter()
        .filter_map(|p| p.strip_suffix('/').map(str::to_owned))
        .collect();
    let mut paths = Vec::new();
    for top in [
        "src", "tests", "docs", "benches", "fuzz", "deploy", "schemas",
    ] {
        if root.join(top).is_dir() {
            paths.push(format!("{top}/"));
            paths.extend(tree(root, &root.join(top)));
        }
    }
    let (unnamed, missing) = code_map_mismatches(&doc, map, &src_files, &src_dirs, &paths);
    assert!(
        unnamed.is_empty() && missing.is_empty(),
        "docs/ARCHITECTURE.md does not match src/: never named: {unnamed:?}; named but not there: {missing:?}"
    );
}

/// Hosts of public standards that the docs may link to; every other link stays inside
/// the repository.
const STANDARDS: [&str; 8] = [
    "www.standardwebhooks.com",
    "json-schema.org",
    "www.rfc-editor.org",
    "datatracker.ietf.org",
    "hl7.org",
    "www.hl7.org",
    "spec.openapis.org",
    "loinc.org",
];

/// The targets of the Markdown links (`[text](target)`) in `text`.
fn link_targets(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// What is wrong with a link from the Markdown file `from` (relative to `root`).
fn link_problem(root: &Path, from: &Path, target: &str) -> Option<String> {
    if let Some(rest) = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"))
    {
        let host = rest.split(['/', '#', '?']).next().unwrap_or("");
        return (!STANDARDS.contains(&host)).then(|| format!("leaves the repository: {target}"));
    }
    let path = target.split('#').next().unwrap_or("");
    if path.is_empty() {
        return None;
    }
    let resolved = from.parent().unwrap_or(root).join(path);
    let inside = resolved
        .canonicalize()
        .ok()
        .filter(|p| p.starts_with(root.canonicalize().expect("the repository")));
    match inside {
        Some(_) => None,
        None => Some(format!("not a file of the repository: {target}")),
    }
}

#[test]
fn the_link_check_sees_a_link_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let from = root.join("docs/api.md");
    let targets = link_targets("[a](webhooks.md) [b](../shared/API.md) [c](https://example.com/x) [d](https://www.standardwebhooks.com) [e](#top)");
    let problems: Vec<String> = targets
        .iter()
        .filter_map(|t| link_problem(root, &from, t))
        .collect();
    assert_eq!(
        problems,
        [
            "not a file of the repository: ../shared/API.md",
            "leaves the repository: https://example.com/x"
        ]
    );
}

#[test]
fn readme_and_docs_link_only_inside_the_repository_or_to_public_standards() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        if text.contains("../shared") {
            problems.push(format!("{}: names ../shared", file.display()));
        }
        for target in link_targets(&text) {
            if let Some(p) = link_problem(root, &file, &target) {
                problems.push(format!("{}: {p}", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
