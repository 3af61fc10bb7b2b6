//! End to end: the relay's real web page in headless Chromium, at a phone's
//! size (390×844), against a real relay on 127.0.0.1, with a protocol client
//! ("Ben") on the other side. Driven over the Chrome DevTools Protocol with
//! the WebSocket client the relay already depends on (no WebDriver crate).
//!
//! It joins from a link, shows a received picture (decoded size checked) and
//! sends its receipt, sends a picked file (bytes checked at Ben: metadata
//! removed, orientation kept), sends a text with Enter, reloads and sees the
//! history; and it asserts that nothing was requested from another origin and
//! nothing was logged as an error (CSP violations included).
//!
//! Chromium: `/usr/bin/chromium` (Debian: `apt-get install -y chromium`), or
//! `SNAPWIRE_CHROMIUM`. Without it the test says so loudly and passes, except
//! in CI (`CI=true`), where it fails. `SNAPWIRE_SCREENSHOTS=<dir>` also writes
//! the phone layout, light and dark, as PNGs there.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Client, TempDir, WAIT, memory_config, sha256_hex, start_relay};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use snapwire_relay::protocol::{ClientHeader, ImageBegin, RelayHeader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The host name the page is opened under (mapped to 127.0.0.1 inside Chromium only): an
/// mDNS name as a phone would type, which the relay counts as its own origin, and not a
/// secure context (as `http://192.168.x.y` is not).
const LAN_HOST: &str = "snapwire-relay.local";

/// Chromium's start-up, page loads and the page's own work get longer than a protocol step.
const BROWSER_WAIT: Duration = Duration::from_secs(60);
/// How long the page waits for a condition: less than [`BROWSER_WAIT`], so the
/// page's own timeout answers first and the test can say what it saw.
const PAGE_WAIT: Duration = Duration::from_secs(45);

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
struct Browser {
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
struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    /// Every event seen, in order (the test looks at them after each step).
    events: Vec<Value>,
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
    async fn call(&mut self, method: &str, params: Value) -> Value {
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
    async fn eval(&mut self, expression: &str) -> Value {
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
    async fn until(&mut self, what: &str, condition: &str) -> Value {
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

    async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
        self.until("the page to load", "document.readyState === 'complete'")
            .await;
    }

    /// Emulates the system's light or dark preference and waits for the page to repaint.
    async fn color_scheme(&mut self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            .await;
    }

    async fn screenshot(&mut self, path: &Path) {
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

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../web/test/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Ben sends a whole picture as one chunk and waits for its ack.
async fn send_picture(ben: &mut Client, id: &str, name: &str, bytes: &[u8], w: u32, h: u32) -> u64 {
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
    let ack = ben
        .recv_until(|h| matches!(h, RelayHeader::Ack { id: got, .. } if got == id))
        .await;
    match ack.header {
        RelayHeader::Ack { seq, .. } => seq,
        _ => unreachable!(),
    }
}

/// Every URL the browser requested.
fn requested_urls(events: &[Value]) -> Vec<String> {
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
fn errors_logged(events: &[Value]) -> Vec<String> {
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

/// A script that draws a `w`×`h` PNG in the page and delivers it as a file in a
/// `paste` or `drop` event, as a clipboard or a file manager would.
fn page_file_event(kind: &str, name: &str, w: u32, h: u32) -> String {
    let event = if kind == "paste" {
        "new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })"
    } else {
        "new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })"
    };
    format!(
        "(async () => {{
           const c = document.createElement('canvas'); c.width = {w}; c.height = {h};
           const g = c.getContext('2d');
           const grad = g.createLinearGradient(0, 0, {w}, {h});
           grad.addColorStop(0, '#3a7bd5'); grad.addColorStop(1, '#f2c94c');
           g.fillStyle = grad; g.fillRect(0, 0, {w}, {h});
           const blob = await new Promise(r => c.toBlob(r, 'image/png'));
           const dt = new DataTransfer();
           dt.items.add(new File([blob], '{name}', {{ type: 'image/png' }}));
           document.dispatchEvent({event});
         }})()"
    )
}

/// The part of a JPEG from its first SOS marker on: the compressed pixels.
fn jpeg_scan(bytes: &[u8]) -> &[u8] {
    let at = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xda])
        .expect("a JPEG scan");
    &bytes[at..]
}

/// Chromium, or `None` after saying loudly why the test does not run; in CI
/// (`CI=true`) a missing Chromium fails the test instead.
fn chromium_or_say_why() -> Option<PathBuf> {
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
async fn phone(chromium: &Path) -> (Browser, Cdp) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_sized_browser_joins_from_the_link_and_shares_both_ways() {
    let Some(chromium) = chromium_or_say_why() else {
        return;
    };
    let relay = start_relay(memory_config()).await;
    let addr: SocketAddr = relay.local_addr();
    let origin = format!("http://{LAN_HOST}:{}", addr.port());

    // Ben is in the room first and has sent a picture: the page sees it as history.
    let mut ben = Client::join(addr, "Ben", "e2e", 2).await;
    let picture = fixture("tiny.png");
    let picture_seq = send_picture(&mut ben, "b-1", "ben's <b>cat.png", &picture, 24, 16).await;
    ben.text("b-2", "<img src=x onerror=alert(1)> hi").await;
    ben.recv_until(|h| matches!(h, RelayHeader::Ack { .. }))
        .await;

    let (_browser, mut cdp) = phone(&chromium).await;

    // Join from the link, as a phone that scanned the QR code would (with a name).
    let link =
        snapwire_relay::join_link::join_link(addr, "e2e").replace(&addr.ip().to_string(), LAN_HOST);
    cdp.navigate(&format!("{link}&name=Ana")).await;
    assert_eq!(
        cdp.eval("[isSecureContext, typeof crypto.subtle, typeof crypto.getRandomValues]")
            .await,
        json!([false, "undefined", "function"]),
        "the page runs where a phone meets it: not a secure context"
    );
    cdp.until(
        "the presence line",
        "document.getElementById('presence').textContent === '2 online: Ana, Ben'",
    )
    .await;
    assert_eq!(
        cdp.eval("innerWidth").await,
        json!(390),
        "a phone's viewport"
    );

    // The history: Ben's picture, decoded from verified bytes; his text as text.
    let width = cdp
        .until(
            "Ben's picture to be decoded",
            "(() => { const i = document.querySelector('img[alt=\"ben\\'s <b>cat.png\"]'); \
              return i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:') && i.naturalWidth; })()",
        )
        .await;
    assert_eq!(width, json!(24));
    assert_eq!(
        cdp.eval("document.querySelector('img[alt=\"ben\\'s <b>cat.png\"]').naturalHeight")
            .await,
        json!(16)
    );
    let text = cdp
        .until(
            "Ben's text",
            "[...document.querySelectorAll('.item .text')].map(e => e.textContent).join('|')",
        )
        .await;
    assert_eq!(text, json!("<img src=x onerror=alert(1)> hi"));
    assert_eq!(
        cdp.eval("document.querySelectorAll('#items img').length + document.querySelectorAll('#items b').length").await,
        json!(1),
        "peer text and names are never HTML"
    );
    // The receipt for the verified picture reaches its author.
    let receipt = ben
        .recv_until(|h| matches!(h, RelayHeader::Receipt { seq, .. } if *seq == picture_seq))
        .await;
    let RelayHeader::Receipt { user, .. } = receipt.header else {
        unreachable!()
    };
    assert_eq!(user.name, "Ana");

    // A picked file: a phone photo with GPS and camera EXIF, taken sideways.
    let dir = TempDir::new("browser-upload");
    let photo_path = dir.path().join("IMG_0042.jpg");
    let photo = fixture("gps.jpg");
    std::fs::write(&photo_path, &photo).expect("write the photo");
    let doc = cdp.call("DOM.getDocument", json!({})).await;
    let input = cdp
        .call(
            "DOM.querySelector",
            json!({ "nodeId": doc["root"]["nodeId"], "selector": "#file" }),
        )
        .await;
    cdp.call(
        "DOM.setFileInputFiles",
        json!({ "nodeId": input["nodeId"], "files": [photo_path.to_string_lossy()] }),
    )
    .await;
    // The page prepares it (strip, decode, preview, hash) before it shows and sends it;
    // waiting for that in the page keeps Ben's bounded waits short.
    cdp.until(
        "the picked file prepared",
        "document.querySelector('img[alt=\"IMG_0042.jpg\"]')",
    )
    .await;
    let got = ben.recv_image().await;
    assert_eq!(got.begin.name, "IMG_0042.jpg");
    assert_eq!(got.begin.mime, "image/jpeg");
    assert_eq!(got.begin.from.name, "Ana");
    assert_eq!(sha256_hex(&got.bytes), got.begin.sha256);
    assert!(
        !got.bytes.windows(9).any(|w| w == b"SnapPhone"),
        "camera EXIF removed"
    );
    assert!(
        !got.bytes.windows(8).any(|w| w == b"xmpmeta>"),
        "XMP removed"
    );
    assert!(got.bytes.len() < photo.len());
    assert_eq!(
        jpeg_scan(&got.bytes),
        jpeg_scan(&photo),
        "pixels copied byte for byte"
    );
    // Orientation 6 kept: a minimal EXIF with tag 0x0112 = 6.
    assert!(
        got.bytes
            .windows(10)
            .any(|w| w == [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6])
    );
    // Dimensions as shown (rotated by the orientation), and a valid preview.
    assert_eq!((got.begin.width, got.begin.height), (Some(360), Some(480)));
    assert!(!got.preview.is_empty() && got.preview.len() <= 32 * 1024);
    cdp.until("the sent picture's ack", "[...document.querySelectorAll('.item.mine')].some(e => e.querySelector('img') && !e.querySelector('.progress:not([hidden])') && e.textContent.includes('metadata removed'))")
        .await;

    // A text, typed and sent with Enter.
    cdp.eval("document.getElementById('message').focus()").await;
    cdp.call(
        "Input.insertText",
        json!({ "text": "hello from the phone" }),
    )
    .await;
    for kind in ["keyDown", "keyUp"] {
        cdp.call(
            "Input.dispatchKeyEvent",
            json!({ "type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13 }),
        )
        .await;
    }
    let text = ben
        .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    assert_eq!(&text.body[..], b"hello from the phone");
    let RelayHeader::Text { seq: text_seq, .. } = text.header else {
        unreachable!()
    };
    assert_eq!(
        cdp.eval("document.getElementById('message').value").await,
        json!("")
    );
    // Reload: the history comes back, own items on the right.
    cdp.call("Page.reload", json!({})).await;
    cdp.until("the page to load again", "document.readyState === 'complete' && document.getElementById('presence').textContent.startsWith('2 online')")
        .await;
    cdp.until(
        "the history after the reload",
        "document.querySelectorAll('#items .item').length === 4 && \
         [...document.querySelectorAll('#items .item.mine')].map(e => e.textContent).join('|').includes('hello from the phone') && \
         document.querySelector('.item.mine img[alt=\"IMG_0042.jpg\"]') && \
         document.querySelector('img[alt=\"ben\\'s <b>cat.png\"]').naturalWidth === 24",
    )
    .await;
    assert_eq!(
        cdp.eval("getComputedStyle(document.querySelector('.item.mine')).alignSelf")
            .await,
        json!("flex-end"),
        "own items on the right"
    );
    assert_eq!(
        cdp.eval("location.search").await,
        json!("?room=e2e"),
        "the name is not left in the address bar"
    );

    // Ben's receipt shows as "seen by" under Ana's own text (on her new connection).
    ben.send_json(json!({ "type": "receipt", "seq": text_seq }), b"")
        .await;
    cdp.until("'Seen by Ben'", "[...document.querySelectorAll('.item.mine .seen')].some(e => e.textContent === 'Seen by Ben')")
        .await;

    // A live picture while the page watches, then a text.
    send_picture(
        &mut ben,
        "b-3",
        "sunset.jpg",
        &fixture("sunset.jpg"),
        480,
        360,
    )
    .await;
    cdp.until("the live picture", "(() => { const i = document.querySelector('img[alt=\"sunset.jpg\"]'); return i && i.naturalWidth === 480; })()")
        .await;
    ben.text("b-4", "Made it to the pier, look at that sky")
        .await;
    cdp.until("Ben's live text", "document.getElementById('items').lastElementChild.textContent.includes('look at that sky')")
        .await;

    let shots = std::env::var("SNAPWIRE_SCREENSHOTS")
        .ok()
        .map(PathBuf::from);
    if let Some(dir) = &shots {
        for scheme in ["light", "dark"] {
            cdp.color_scheme(scheme).await;
            cdp.screenshot(&dir.join(format!("web-phone-{scheme}.png")))
                .await;
        }
        cdp.color_scheme("light").await;
    }

    // A picture that is still streaming: its preview and progress, then the picture.
    let big = fixture("sunset.jpg");
    let begin = ImageBegin {
        id: "b-slow".to_owned(),
        name: "slow.jpg".to_owned(),
        mime: "image/jpeg".to_owned(),
        size: big.len() as u64,
        sha256: sha256_hex(&big),
        width: Some(480),
        height: Some(360),
    };
    ben.send(ClientHeader::ImageBegin(begin), &picture).await;
    ben.send(
        ClientHeader::ImageChunk {
            id: "b-slow".to_owned(),
            offset: 0,
        },
        &big[..big.len() / 2],
    )
    .await;
    cdp.until(
        "the preview with progress",
        "(() => { const i = document.querySelector('img[alt=\"slow.jpg\"]'); const li = i && i.closest('.item'); \
           return li && i.classList.contains('preview') && i.naturalWidth === 24 && \
             li.querySelector('.status').textContent.startsWith('50 %') && !li.querySelector('.progress').hidden; })()",
    )
    .await;
    ben.send(
        ClientHeader::ImageChunk {
            id: "b-slow".to_owned(),
            offset: (big.len() / 2) as u64,
        },
        &big[big.len() / 2..],
    )
    .await;
    ben.send(
        ClientHeader::ImageEnd {
            id: "b-slow".to_owned(),
        },
        b"",
    )
    .await;
    cdp.until(
        "the streamed picture in full",
        "(() => { const i = document.querySelector('img[alt=\"slow.jpg\"]'); \
           return !i.classList.contains('preview') && i.naturalWidth === 480 && i.closest('.item').querySelector('.progress').hidden; })()",
    )
    .await;

    // Tap a picture: full screen, with Save under the sanitized name.
    cdp.eval("document.querySelector('img[alt=\"sunset.jpg\"]').closest('button').click()")
        .await;
    cdp.until("the viewer", "!document.getElementById('viewer').hidden && document.getElementById('viewer-img').naturalWidth === 480")
        .await;
    assert_eq!(
        cdp.eval("document.getElementById('save').download").await,
        json!("sunset.jpg")
    );
    assert_eq!(
        cdp.eval("document.getElementById('save').href.startsWith('blob:')")
            .await,
        json!(true)
    );
    if let Some(dir) = &shots {
        cdp.screenshot(&dir.join("web-phone-viewer.png")).await;
    }
    cdp.eval("document.getElementById('close-viewer').click()")
        .await;
    cdp.until(
        "the viewer to close",
        "document.getElementById('viewer').hidden",
    )
    .await;

    if let Some(dir) = &shots {
        // The same room on a desktop browser.
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        cdp.color_scheme("light").await;
        cdp.screenshot(&dir.join("web-desktop.png")).await;
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
        )
        .await;
    }

    // Without a room in the link the page asks, with the remembered name filled in.
    cdp.navigate(&format!("{origin}/")).await;
    cdp.until("the join form", "!document.getElementById('join').hidden && document.getElementById('join-name').value === 'Ana'")
        .await;
    cdp.eval("document.getElementById('join-room').value = 'e2e'")
        .await;
    if let Some(dir) = &shots {
        cdp.screenshot(&dir.join("web-phone-join.png")).await;
    }
    cdp.eval("document.querySelector('#join-form button').click()")
        .await;
    cdp.until("joined from the form", "document.getElementById('join').hidden && document.getElementById('presence').textContent === '2 online: Ana, Ben'")
        .await;

    // Paste a large picture with "Smaller" on: it goes as a 2048 px JPEG.
    cdp.eval("document.getElementById('smaller').click()").await;
    cdp.eval(&page_file_event("paste", "pasted.png", 3000, 2000))
        .await;
    cdp.until(
        "the pasted picture prepared",
        "document.querySelector('img[alt=\"pasted.jpg\"]')",
    )
    .await;
    let smaller = ben.recv_image().await;
    assert_eq!(smaller.begin.name, "pasted.jpg");
    assert_eq!(smaller.begin.mime, "image/jpeg");
    assert_eq!(
        (smaller.begin.width, smaller.begin.height),
        (Some(2048), Some(1365))
    );
    assert!(smaller.bytes.starts_with(&[0xff, 0xd8, 0xff]));
    cdp.eval("document.getElementById('smaller').click()").await;

    // Drop a picture on the page: it goes as it is (a PNG without metadata).
    cdp.eval(&page_file_event("drop", "dropped.png", 300, 200))
        .await;
    cdp.until(
        "the dropped picture prepared",
        "document.querySelector('img[alt=\"dropped.png\"]')",
    )
    .await;
    let dropped = ben.recv_image().await;
    assert_eq!(dropped.begin.name, "dropped.png");
    assert_eq!(dropped.begin.mime, "image/png");
    assert_eq!(
        (dropped.begin.width, dropped.begin.height),
        (Some(300), Some(200))
    );

    // A HEIC file gets a sentence, and nothing is sent.
    cdp.eval("(() => { const dt = new DataTransfer(); \
              dt.items.add(new File([new Uint8Array([0,0,0,24,102,116,121,112,104,101,105,99,0,0,0,0])], 'IMG_7.HEIC', { type: 'image/heic' })); \
              document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); })()")
        .await;
    cdp.until(
        "the HEIC sentence",
        "document.getElementById('notice').textContent.includes('HEIC')",
    )
    .await;

    // 300 pictures: only those near the screen have an image URL (are decoded).
    let before = cdp
        .eval("document.querySelectorAll('#items .item').length")
        .await;
    let before = before.as_u64().expect("a count");
    for n in 0..300 {
        send_picture(
            &mut ben,
            &format!("many-{n}"),
            &format!("many-{n}.png"),
            &picture,
            24,
            16,
        )
        .await;
    }
    cdp.until(
        "300 more pictures, all checked",
        &format!(
            "document.querySelectorAll('#items .item').length === {} && \
                  !document.body.textContent.includes('checking') && \
                  document.querySelector('img[alt=\"many-299.png\"]').naturalWidth === 24",
            before + 300
        ),
    )
    .await;
    let decoded = cdp
        .eval("document.querySelectorAll('#items img[src]').length")
        .await;
    assert!(
        decoded.as_u64().is_some_and(|n| n > 0 && n <= 30),
        "{decoded} pictures have URLs"
    );
    cdp.eval("document.getElementById('timeline').scrollTop = 0")
        .await;
    cdp.until(
        "the top of the timeline decoded and the bottom released",
        "document.querySelector('img[alt=\"ben\\'s <b>cat.png\"]').naturalWidth === 24 && \
         !document.querySelector('img[alt=\"many-299.png\"]').hasAttribute('src')",
    )
    .await;
    let decoded = cdp
        .eval("document.querySelectorAll('#items img[src]').length")
        .await;
    assert!(
        decoded.as_u64().is_some_and(|n| n > 0 && n <= 30),
        "{decoded} pictures have URLs"
    );

    // Scrolled up, a new item shows as "1 new ↓"; tapping it goes down.
    ben.text("b-5", "one more").await;
    cdp.until("'1 new ↓'", "!document.getElementById('new-below').hidden && document.getElementById('new-below').textContent === '1 new ↓'")
        .await;
    cdp.eval("document.getElementById('new-below').click()")
        .await;
    cdp.until("the new item on screen", "document.getElementById('new-below').hidden && document.querySelector('img[alt=\"many-299.png\"]').hasAttribute('src')")
        .await;

    // Nothing from anywhere else, and nothing went wrong in the page.
    let events = std::mem::take(&mut cdp.events);
    let urls = requested_urls(&events);
    assert!(
        urls.iter()
            .any(|u| u.starts_with(&format!("ws://{LAN_HOST}:{}/ws", addr.port()))),
        "{urls:?}"
    );
    let foreign: Vec<&String> = urls
        .iter()
        .filter(|u| {
            !(u.starts_with(&format!("{origin}/"))
                || u.starts_with(&format!("ws://{LAN_HOST}:{}/", addr.port()))
                || u.starts_with("blob:")
                || u.starts_with("data:"))
        })
        .collect();
    assert!(foreign.is_empty(), "requests to other origins: {foreign:?}");
    assert_eq!(
        errors_logged(&events),
        Vec::<String>::new(),
        "errors in the page"
    );
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_a_token_asks_for_it_and_the_link_can_carry_it() {
    let Some(chromium) = chromium_or_say_why() else {
        return;
    };
    let config = snapwire_relay::Config {
        token: Some("open sesame".to_owned()),
        ..memory_config()
    };
    let relay = start_relay(config).await;
    let addr = relay.local_addr();
    let (_browser, mut cdp) = phone(&chromium).await;
    let link = snapwire_relay::join_link::join_link(addr, "private")
        .replace(&addr.ip().to_string(), LAN_HOST);

    // No token: the relay says unauthorized, and the page asks for the token.
    cdp.navigate(&format!("{link}&name=Cleo")).await;
    cdp.until(
        "the token prompt",
        "!document.getElementById('join').hidden && !document.getElementById('join-token-row').hidden && \
         document.getElementById('join-error').textContent.length > 0",
    )
    .await;
    cdp.eval("document.getElementById('join-token').value = 'open sesame'")
        .await;
    cdp.eval("document.querySelector('#join-form button').click()")
        .await;
    cdp.until(
        "joined with the token",
        "document.getElementById('join').hidden && document.getElementById('presence').textContent === '1 online: Cleo'",
    )
    .await;

    // A link with the token joins at once (nothing remembered: storage cleared), and
    // the token does not stay in the address bar.
    cdp.eval("localStorage.clear()").await;
    cdp.navigate(&format!("{link}&name=Cleo&token=open%20sesame"))
        .await;
    cdp.until(
        "joined from a link with the token",
        "document.getElementById('presence').textContent === '1 online: Cleo'",
    )
    .await;
    assert_eq!(cdp.eval("location.search").await, json!("?room=private"));
    relay.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_sent_while_the_relay_is_down_goes_once_it_is_back() {
    let Some(chromium) = chromium_or_say_why() else {
        return;
    };
    let data = TempDir::new("browser-restart");
    let config = || snapwire_relay::Config {
        storage: snapwire_relay::Storage::Disk(data.path().to_path_buf()),
        ..memory_config()
    };
    let relay = start_relay(config()).await;
    let addr = relay.local_addr();
    let mut ben = Client::join(addr, "Ben", "lobby", 2).await;
    ben.text("b-1", "before the restart").await;
    ben.expect_ack("b-1").await;

    let (_browser, mut cdp) = phone(&chromium).await;
    let link = snapwire_relay::join_link::join_link(addr, "lobby")
        .replace(&addr.ip().to_string(), LAN_HOST);
    cdp.navigate(&format!("{link}&name=Ana")).await;
    cdp.until(
        "the history",
        "document.querySelectorAll('#items .item').length === 1",
    )
    .await;

    // The relay stops; the page says it is offline, and a text typed now waits.
    relay.shutdown().await.expect("shutdown");
    cdp.until(
        "the offline notice",
        "document.getElementById('notice').textContent.startsWith('Offline')",
    )
    .await;
    cdp.eval("document.getElementById('message').value = 'typed while offline'")
        .await;
    cdp.eval("document.getElementById('send').click()").await;
    cdp.until(
        "the queued text",
        "[...document.querySelectorAll('.item.mine')].some(e => e.textContent.includes('waiting to send'))",
    )
    .await;

    // Back on the same port with the same history: the page reconnects with `since`,
    // sends the queued text once, and shows nothing twice.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the same port again");
    let relay = snapwire_relay::start(listener, config())
        .await
        .expect("relay starts again");
    let mut ben = Client::join_since(addr, "Ben", "lobby", 2, Some(1)).await;
    let text = ben
        .recv_until(|h| matches!(h, RelayHeader::Text { .. }))
        .await;
    assert_eq!(&text.body[..], b"typed while offline");
    cdp.until(
        "the text acked",
        "document.querySelectorAll('#items .item').length === 2 && \
         ![...document.querySelectorAll('.item.mine')].some(e => e.textContent.includes('waiting'))",
    )
    .await;
    // Once more, to be sure the relay's dedup was not needed to hide a second copy.
    ben.text("b-2", "after").await;
    ben.expect_ack("b-2").await;
    cdp.until(
        "Ben's next text",
        "document.querySelectorAll('#items .item').length === 3",
    )
    .await;
    let texts = cdp
        .eval("[...document.querySelectorAll('#items .item .text')].map(e => e.textContent)")
        .await;
    assert_eq!(
        texts,
        json!(["before the restart", "typed while offline", "after"])
    );
    // Chromium logs each refused reconnect while the relay is down; nothing else may be.
    let events = std::mem::take(&mut cdp.events);
    let errors: Vec<String> = errors_logged(&events)
        .into_iter()
        .filter(|e| !e.contains("WebSocket connection to"))
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "errors in the page");
    relay.shutdown().await.expect("shutdown");
}
