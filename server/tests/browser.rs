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

#[path = "common/browser.rs"]
mod chromium;
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chromium::{
    LAN_HOST, chromium_or_say_why, errors_besides_cut_sockets, errors_logged, lan_link, phone,
    requested_urls, send_picture,
};
use common::{Client, TempDir, memory_config, sha256_hex, start_relay};
use serde_json::json;
use snapwire_relay::protocol::{ClientHeader, ImageBegin, RelayHeader};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../web/test/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
    let link = lan_link(addr, "e2e");
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
    cdp.pick_files("#file", &[&photo_path]).await;
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
    let link = lan_link(addr, "private");

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
    let link = lan_link(addr, "lobby");
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
    assert_eq!(
        errors_besides_cut_sockets(&events),
        Vec::<String>::new(),
        "errors in the page"
    );
    relay.shutdown().await.expect("shutdown");
}
