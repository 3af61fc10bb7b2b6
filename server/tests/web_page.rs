//! The web client as the relay serves it: `GET /` and its files with the
//! security headers, and the page's own logic tests (`web/test/*.test.js`,
//! run with Node's test runner).
//!
//! Node is on developer machines and in CI (`.ci/run` checks); where it is
//! missing the logic test says so loudly, and fails when `CI` is set.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use common::{WAIT, memory_config, start_relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw HTTP/1.1 response: status, headers (lowercase names), body bytes.
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Http {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n");
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Http {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn assert_security_headers(r: &Http, path: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "img-src 'self' blob:",
    ] {
        assert!(
            csp.contains(directive),
            "{path}: CSP {csp:?} lacks {directive}"
        );
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{path}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_the_security_headers() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let index = request(addr, "GET", "/?room=lobby&name=Ana", "").await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_security_headers(&index, "/");
    let html = String::from_utf8(index.body.clone()).expect("utf-8");
    assert!(html.contains("<script type=\"module\" src=\"/main.js\">"));
    for (path, kind) in [
        ("/main.js", "text/javascript; charset=utf-8"),
        ("/sha256.js", "text/javascript; charset=utf-8"),
        ("/hash_worker.js", "text/javascript; charset=utf-8"),
        ("/app.css", "text/css; charset=utf-8"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icon-192.png", "image/png"),
    ] {
        let r = request(addr, "GET", path, "").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(kind), "{path}");
        assert_security_headers(&r, path);
        assert!(!r.body.is_empty(), "{path}");
    }
    let png = request(addr, "GET", "/icon-192.png", "").await;
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&request(addr, "GET", "/manifest.webmanifest", "").await.body)
            .expect("the manifest is JSON");
    assert_eq!(manifest["start_url"], "/");
    assert!(manifest["icons"].as_array().is_some_and(|i| !i.is_empty()));
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reloads_get_304_and_unknown_paths_404_without_the_page() {
    let relay = start_relay(memory_config()).await;
    let addr = relay.local_addr();
    let first = request(addr, "GET", "/main.js", "").await;
    let etag = first.header("etag").expect("etag").to_owned();
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let again = request(
        addr,
        "GET",
        "/main.js",
        &format!("If-None-Match: {etag}\r\n"),
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    for path in [
        "/nope.js",
        "/test/strip.test.js",
        "/../Cargo.toml",
        "/web/main.js",
        "/index.html/",
    ] {
        let r = request(addr, "GET", path, "").await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let post = request(addr, "POST", "/", "Content-Length: 0\r\n").await;
    assert_eq!(post.status, 404);
    // The existing endpoints are untouched.
    assert_eq!(request(addr, "GET", "/healthz", "").await.status, 200);
    assert_eq!(request(addr, "GET", "/ws", "").await.status, 400);
    relay.shutdown().await.expect("shutdown");
}

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Runs `web/test/*.test.js` with `node --test`.
#[test]
fn the_page_logic_passes_its_node_tests() {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let node = std::env::var("SNAPWIRE_NODE").unwrap_or_else(|_| "node".to_owned());
    let version = Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(version) = version else {
        let why = format!(
            "\n\n*** the web page's logic tests did NOT run: `{node}` was not found. \
             Install Node.js >= 20 (Debian: apt-get install -y nodejs) or set SNAPWIRE_NODE. ***\n"
        );
        assert!(!in_ci, "{why}");
        eprintln!("{why}");
        return;
    };
    let mut tests: Vec<PathBuf> = std::fs::read_dir(web_dir().join("test"))
        .expect("web/test")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.js"))
        .collect();
    tests.sort();
    assert!(
        tests.len() >= 5,
        "expected the page's test files, found {tests:?}"
    );
    let output = Command::new(&node)
        .arg("--test")
        .args(&tests)
        .current_dir(web_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node {} --test failed:\n{stdout}\n{stderr}",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    let passed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed >= 30, "only {passed} tests passed:\n{stdout}");
}
