//! Headless Chromium for the relay's browser tests (`browser.rs`, `browser_cuts.rs`,
//! each through a `#[path]` module): Chromium started on a free DevTools port, a
//! DevTools session on one page at a phone's size, and the page-side helpers the
//! tests share (waits in the page, picked files, the errors it logged).
//!
//! Chromium: `/usr/bin/chromium` (Debian: `apt-get install -y chromium`), or
//! `SNAPWIRE_CHROMIUM`. Without it a test says so loudly and passes, except in
//! CI (`CI=true`), where it fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use snapwire_relay::protocol::{ClientHeader, ImageBegin, RelayHeader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{Client, TempDir, WAIT, sha256_hex};

/// The host name the page is opened under (mapped to 127.0.0.1 inside Chromium only): an
/// mDNS name as a phone would type, which the relay counts as its own origin, and not a
/// secure context (as `http://192.168.x.y` is not).
pub const LAN_HOST: &str = "snapwire-relay.local";

/// Chromium's start-up, page loads and the page's own work get longer than a protocol step.
pub const BROWSER_WAIT: Duration = Duration::from_secs(60);
/// How long the page waits for a condition: less than [`BROWSER_WAIT`], so the
/// page's own timeout answers first and the test can say what it saw.
pub const PAGE_WAIT: Duration = Duration::from_secs(45);

fn chromium_path() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SNAPWIRE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Chromium, killed when dropped.
pub struct Browser {
    child: Child,
    _profile: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts headless Chromium on a free DevTools port; returns it and its browser WebSocket URL.
fn launch(chromium: &Path) -> (Browser, String) {
    let profile = TempDir::new("chromium");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--metrics-recording-only",
            "--mute-audio",
            "--password-store=basic",
            "--use-mock-keychain",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // A LAN-like host name for the loopback relay: like http://192.168.x.y on a
        // phone, it is not a secure context (127.0.0.1 and localhost would be).
        .arg(format!("--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1"))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let _ = tx.send(line[at..].trim().to_owned());
            }
        }
    });
    let browser = Browser {
        child,
        _profile: profile,
    };
    let url = rx
        .recv_timeout(BROWSER_WAIT)
        .expect("chromium prints its DevTools address");
    (browser, url)
}

/// A DevTools session on one page target.
pub struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    /// Every event seen, in order (the test looks at them after each step).
    pub events: Vec<Value>,
}

impl Cdp {
    async fn connect(url: &str) -> Cdp {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("devtools connects in time")
            .expect("devtools connects");
        Cdp {
            ws,
            next: 1,
            session: None,
            events: Vec::new(),
        }
    }

    /// Sends one command and waits for its answer; events meanwhile are kept.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            msg["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("devtools send");
        let deadline = tokio::time::Instant::now() + BROWSER_WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer in time"))
                .expect("devtools open")
                .expect("devtools read");
            let Message::Text(text) = next else { continue };
            let value: Value = serde_json::from_str(&text).expect("devtools JSON");
            if value["id"] == json!(id) {
                if let Some(error) = value.get("error") {
                    panic!("{method} failed: {error}");
                }
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// Evaluates `expression` in the page; awaits it if it is a promise; returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("page script failed: {exception}\n{expression}");
        }
        result["result"]["value"].clone()
    }

    /// Waits in the page (on animation frames, bounded) until `condition` is truthy.
    pub async fn until(&mut self, what: &str, condition: &str) -> Value {
        let script = format!(
            "new Promise((resolve, reject) => {{
               const end = performance.now() + {ms};
               const check = () => {{
                 let v; try {{ v = ({condition}); }} catch (e) {{ v = null; }}
                 if (v) resolve(v);
                 else if (performance.now() > end) reject(new Error('timed out waiting'));
                 else setTimeout(check, 25);
               }};
               check();
             }})",
            ms = PAGE_WAIT.as_millis()
        );
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": script, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        if result.get("exceptionDetails").is_some() {
            let body = self.eval("document.body.innerText").await;
            panic!("timed out waiting for {what} ({condition}); the page shows:\n{body}");
        }
        result["result"]["value"].clone()
    }

    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        self.until("the page to load", "document.readyState === 'complete'")
            .await;
    }

    /// Picks `files` in the file input `selector`, as a person choosing them would
    /// (the input's `change` event fires).
    pub async fn pick_files(&mut self, selector: &str, files: &[&Path]) {
        let doc = self.call("DOM.getDocument", json!({})).await;
        let input = self
            .call(
                "DOM.querySelector",
                json!({ "nodeId": doc["root"]["nodeId"], "selector": selector }),
            )
            .await;
        let files: Vec<String> = files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({ "nodeId": input["nodeId"], "files": files }),
        )
        .await;
    }

    /// Emulates the system's light or dark preference and waits for the page to repaint.
    pub async fn color_scheme(&mut self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            .await;
    }

    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let data = shot["data"].as_str().expect("screenshot data");
        std::fs::write(path, base64_decode(data)).expect("write screenshot");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for quad in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in quad.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if quad.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if quad.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// Ben sends a whole picture (in chunks of 1 MiB) and waits for its ack.
pub async fn send_picture(
    ben: &mut Client,
    id: &str,
    name: &str,
    bytes: &[u8],
    w: u32,
    h: u32,
) -> u64 {
    stream_picture(ben, id, name, bytes, w, h).await;
    let ack = ben
        .recv_until(|h| matches!(h, RelayHeader::Ack { id: got, .. } if got == id))
        .await;
    match ack.header {
        RelayHeader::Ack { seq, .. } => seq,
        _ => unreachable!(),
    }
}

/// Ben sends a whole picture (its begin, chunks of 1 MiB, its end), not waiting
/// for anything.
pub async fn stream_picture(ben: &mut Client, id: &str, name: &str, bytes: &[u8], w: u32, h: u32) {
    let mime = if name.ends_with(".jpg") {
        "image/jpeg"
    } else {
        "image/png"
    };
    let begin = ImageBegin {
        id: id.to_owned(),
        name: name.to_owned(),
        mime: mime.to_owned(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        width: Some(w),
        height: Some(h),
    };
    ben.send(ClientHeader::ImageBegin(begin), b"").await;
    ben.send_chunks(id, bytes, 1 << 20).await;
    ben.send(ClientHeader::ImageEnd { id: id.to_owned() }, b"")
        .await;
}

/// Every URL the browser requested.
pub fn requested_urls(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            e["method"] == "Network.requestWillBeSent" || e["method"] == "Network.webSocketCreated"
        })
        .filter_map(|e| {
            e["params"]["request"]["url"]
                .as_str()
                .or(e["params"]["url"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// Console errors, uncaught exceptions and browser log errors (CSP violations are these).
pub fn errors_logged(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e["method"].as_str() {
            Some("Runtime.exceptionThrown") => Some(e["params"]["exceptionDetails"].to_string()),
            Some("Runtime.consoleAPICalled") if e["params"]["type"] == "error" => {
                Some(e["params"]["args"].to_string())
            }
            Some("Log.entryAdded") if e["params"]["entry"]["level"] == "error" => {
                Some(e["params"]["entry"].to_string())
            }
            _ => None,
        })
        .collect()
}

/// Chromium, or `None` after saying loudly why the test does not run; in CI
/// (`CI=true`) a missing Chromium fails the test instead.
pub fn chromium_or_say_why() -> Option<PathBuf> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let found = chromium_path().filter(|p| p.exists());
    if found.is_none() {
        let why = "\n\n*** the browser end-to-end test did NOT run: no Chromium at /usr/bin/chromium. \
                   Install it (Debian: apt-get install -y chromium chromium-driver) or set SNAPWIRE_CHROMIUM. ***\n";
        assert!(!in_ci, "{why}");
        eprintln!("{why}");
    }
    found
}

/// Headless Chromium with one page at a phone's size (390×844, touch), its events recorded.
pub async fn phone(chromium: &Path) -> (Browser, Cdp) {
    let (browser, devtools) = launch(chromium);
    let mut cdp = Cdp::connect(&devtools).await;
    let target = cdp
        .call("Target.createTarget", json!({ "url": "about:blank" }))
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await;
    cdp.session = attached["sessionId"].as_str().map(str::to_owned);
    for domain in [
        "Page.enable",
        "Runtime.enable",
        "Network.enable",
        "Log.enable",
    ] {
        cdp.call(domain, json!({})).await;
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    )
    .await;
    cdp.call(
        "Emulation.setTouchEmulationEnabled",
        json!({ "enabled": true }),
    )
    .await;
    (browser, cdp)
}

/// The relay's join link for `room`, under [`LAN_HOST`] instead of the loopback
/// address `addr` has (the page refuses to start from a plain loopback origin).
pub fn lan_link(addr: SocketAddr, room: &str) -> String {
    snapwire_relay::join_link::join_link(addr, room).replace(&addr.ip().to_string(), LAN_HOST)
}

/// [`errors_logged`] without Chromium's own line for each WebSocket that failed
/// or was cut (a relay that is down, a network that drops): the page reconnects,
/// and nothing else may be logged.
pub fn errors_besides_cut_sockets(events: &[Value]) -> Vec<String> {
    errors_logged(events)
        .into_iter()
        .filter(|e| !e.contains("WebSocket connection to"))
        .collect()
}
