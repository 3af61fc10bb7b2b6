//! The web page under network cuts: the relay's page in headless Chromium at a
//! phone's size ("Ana") reaches a real relay through a TCP proxy that drops,
//! resets or stalls her WebSocket links at seeded random points (the page's
//! HTTP loads pass untouched), while a protocol client ("Ben") talks to the
//! relay straight.
//!
//! Three rounds, each in two phases. Ben sends pictures (real PNGs of 0.3-2.4 MB)
//! and a text while the page only receives: one of her links is cut in the
//! middle of that stream, she reconnects with `since` and catches up. Then the
//! page sends a text, a picture (0.5-1.7 MB) and a text while Ben only
//! receives: a link is cut in the middle of her upload, she reconnects and sends
//! what was not acked again under the same ids. The proxy counts one direction
//! per link, taking turns, so each phase gets exactly one cut, and over the three
//! rounds each kind (drop, reset, stall) strikes once each way.
//!
//! In the end the page shows every item once, in order, whole (each picture
//! decoded at its size from verified bytes; none left checking, sending or
//! failed); it never showed one twice or failed, even for a moment (a
//! `MutationObserver` watches); it is back online; and it logged no errors
//! besides Chromium's own lines for the cut sockets. Ben got each of Ana's items
//! exactly once, byte for byte, in the order she sent them.
//!
//! `SNAPWIRE_BROWSER_CUTS_SEED` replays a seed. Without Chromium the test says so
//! loudly and passes, except in CI (see `common/browser.rs`).

#[path = "common/browser.rs"]
mod chromium;
mod common;
#[path = "common/faulty_proxy.rs"]
mod faulty_proxy;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use snapwire_relay::protocol::{RelayHeader, RelayImageBegin, parse_relay};
use tokio_tungstenite::tungstenite::Message;

use chromium::{Cdp, chromium_or_say_why, errors_besides_cut_sockets, lan_link, phone};
use common::{Client, TempDir, memory_config, sha256_hex, start_relay};
use faulty_proxy::{Count, Plan, Rng, start_proxy};

/// The first six WebSocket links of the page strike, a drop, a reset and a
/// stall in turn, each 100-500 kB into the direction it counts (odd links: what
/// the page receives; even ones: what it sends). Later links are left alone.
const PLAN: Plan = Plan {
    faulty: 6,
    always: 6,
    min_at: 100_000,
    spread: 400_000,
    websocket_only: true,
    count: Count::Alternate,
};

/// Each round: Ben's phase, then Ana's.
const ROUNDS: u64 = 3;

/// The longest Ben waits for what the page sends in one phase.
const PHASE_WAIT: Duration = Duration::from_secs(40);

/// An item as it is sent and as it must be shown.
#[derive(Clone)]
enum Item {
    Text(String),
    Picture {
        name: String,
        width: u32,
        height: u32,
        bytes: Vec<u8>,
    },
}

impl Item {
    /// How the page's timeline names it (see `KEY` below), and how Ben's
    /// inbox does.
    fn key(&self) -> String {
        match self {
            Item::Text(text) => format!("text:{text}"),
            Item::Picture { name, .. } => format!("img:{name}"),
        }
    }

    fn picture(name: String, width: u32, height: u32, seed: u64) -> Item {
        let bytes = png(width, height, seed);
        Item::Picture {
            name,
            width,
            height,
            bytes,
        }
    }

    fn len(&self) -> u64 {
        match self {
            Item::Text(text) => text.len() as u64,
            Item::Picture { bytes, .. } => bytes.len() as u64,
        }
    }
}

/// A valid PNG of `width`×`height` RGB pixels (a gradient that differs per
/// `seed`), its image data in stored (uncompressed) deflate blocks: every pixel
/// costs 3 bytes, so sizes are exact and the bytes are a real picture the page
/// decodes.
fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let tint = [rng.below(256), rng.below(256), rng.below(256)].map(|v| v as u32);
    let mut raw = Vec::with_capacity((1 + 3 * width as usize) * height as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.push(((x * 255 / width + tint[0]) % 256) as u8);
            raw.push(((y * 255 / height + tint[1]) % 256) as u8);
            raw.push((((x + y) / 3 + tint[2]) % 256) as u8);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(0xffff).peekable();
    while let Some(block) = blocks.next() {
        zlib.push(u8::from(blocks.peek().is_none())); // BFINAL, BTYPE 00: stored
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &zlib), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    (b << 16) | a
}

fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// What Ben has received: Ana's items in the order they completed, and the
/// acks of his own.
#[derive(Default)]
struct Inbox {
    /// (seq, key) of each completed item, texts and whole pictures whose bytes
    /// matched their SHA-256.
    done: Vec<(u64, String)>,
    /// The SHA-256 of each completed picture, by key.
    sha256: HashMap<String, String>,
    streaming: HashMap<u64, (RelayImageBegin, Vec<u8>)>,
    /// Pictures broken off while streaming to Ben (their sender's link was cut).
    broken: usize,
    acks: HashMap<String, u64>,
}

impl Inbox {
    fn has(&self, key: &str) -> bool {
        self.done.iter().any(|(_, k)| k == key)
    }

    /// Reads Ben's messages until `enough`, at most [`PHASE_WAIT`].
    async fn read_until(&mut self, ben: &mut Client, what: &str, enough: impl Fn(&Inbox) -> bool) {
        let deadline = tokio::time::Instant::now() + PHASE_WAIT;
        while !enough(self) {
            let next = tokio::time::timeout_at(deadline, ben.ws.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "Ben waited in vain for {what}; he has {:?}",
                        self.done.iter().map(|(_, k)| k).collect::<Vec<_>>()
                    )
                })
                .expect("Ben's connection open")
                .expect("Ben reads");
            match next {
                Message::Binary(bytes) => self.take(bytes),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("Ben got {other:?}"),
            }
        }
    }

    fn take(&mut self, bytes: Bytes) {
        let message = parse_relay(bytes).expect("a valid relay message");
        match message.header {
            RelayHeader::Ack { id, seq, .. } => {
                if let Some(earlier) = self.acks.insert(id.clone(), seq) {
                    assert_eq!(earlier, seq, "Ben's {id} acked twice with different seqs");
                }
            }
            RelayHeader::Text { seq, .. } => {
                let text = String::from_utf8(message.body.to_vec()).expect("UTF-8");
                self.complete(seq, format!("text:{text}"));
            }
            RelayHeader::ImageBegin(begin) => {
                self.streaming.insert(begin.sid, (begin, Vec::new()));
            }
            RelayHeader::ImageChunk { sid, offset } => {
                let (_, bytes) = self
                    .streaming
                    .get_mut(&sid)
                    .expect("a chunk of a picture that began");
                assert_eq!(offset, bytes.len() as u64, "contiguous chunks");
                bytes.extend_from_slice(&message.body);
            }
            RelayHeader::ImageEnd { sid, seq, .. } => {
                let (begin, bytes) = self
                    .streaming
                    .remove(&sid)
                    .expect("the end of a picture that began");
                assert_eq!(
                    sha256_hex(&bytes),
                    begin.sha256,
                    "{}: whole, never half",
                    begin.name
                );
                let key = format!("img:{}", begin.name);
                self.sha256.insert(key.clone(), begin.sha256);
                self.complete(seq, key);
            }
            RelayHeader::ImageCancel { sid, .. } => {
                self.streaming.remove(&sid);
                self.broken += 1;
            }
            RelayHeader::Error { code, message, id } => {
                panic!("Ben got an error: {code} for {id:?}: {message}")
            }
            _ => {}
        }
    }

    fn complete(&mut self, seq: u64, key: String) {
        assert!(
            !self.has(&key),
            "Ben got {key} twice (the second time with seq {seq})"
        );
        if let Some((last, _)) = self.done.last() {
            assert!(*last < seq, "Ben's items in seq order: {last}, then {seq}");
        }
        self.done.push((seq, key));
    }
}

/// Ben sends one item and waits for its ack (reading whatever else comes meanwhile).
async fn ben_sends(ben: &mut Client, inbox: &mut Inbox, id: &str, item: &Item) -> u64 {
    match item {
        Item::Text(text) => ben.text(id, text).await,
        Item::Picture {
            name,
            width,
            height,
            bytes,
        } => chromium::stream_picture(ben, id, name, bytes, *width, *height).await,
    }
    inbox
        .read_until(ben, &format!("the ack of {id}"), |i| {
            i.acks.contains_key(id)
        })
        .await;
    inbox.acks[id]
}

/// The key of a timeline item in the page, as [`Item::key`] spells it.
const KEY: &str = "(li) => { const i = li.querySelector('img'); if (i) return 'img:' + i.alt; \
                   const t = li.querySelector('.text'); return 'text:' + (t ? t.textContent : ''); }";

/// Watches the timeline from now on: any item shown twice, or as failed, even
/// for a moment, is written down in `window.cutsSeen`.
fn watch_timeline() -> String {
    format!(
        "(() => {{
           const key = {KEY};
           const seen = window.cutsSeen = {{ twice: [], failed: [] }};
           const note = (list, what) => {{ if (!list.includes(what)) list.push(what); }};
           const check = () => {{
             const shown = new Set();
             for (const li of document.querySelectorAll('#items .item')) {{
               const k = key(li);
               if (shown.has(k)) note(seen.twice, k);
               shown.add(k);
               if (li.classList.contains('failed')) note(seen.failed, k + ': ' + li.querySelector('.status').textContent);
             }}
           }};
           new MutationObserver(check).observe(document.getElementById('items'),
             {{ childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['class'] }});
           return true;
         }})()"
    )
}

/// Waits until the timeline holds exactly `items`, in this order, each settled:
/// Ben's received and checked, Ana's acked (no status line left: not
/// "checking…", "waiting to send", "Sending n %" nor failed).
async fn until_timeline(cdp: &mut Cdp, what: &str, items: &[&Item]) {
    let want: Vec<String> = items.iter().map(|i| i.key()).collect();
    let want = serde_json::to_string(&want).expect("JSON");
    cdp.until(
        what,
        &format!(
            "(() => {{ const key = {KEY}; const items = [...document.querySelectorAll('#items .item')]; \
               return JSON.stringify(items.map(key)) === JSON.stringify({want}) && \
                 items.every(li => li.querySelector('.status').textContent === ''); }})()"
        ),
    )
    .await;
}

/// Types `text` in the composer and sends it.
async fn ana_types(cdp: &mut Cdp, text: &str) {
    cdp.eval(&format!(
        "document.getElementById('message').value = {}",
        json!(text)
    ))
    .await;
    cdp.eval("document.getElementById('send').click()").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_through_cut_links_shows_and_sends_everything_once_and_whole() {
    let Some(chromium) = chromium_or_say_why() else {
        return;
    };
    let started = Instant::now();
    let seed = std::env::var("SNAPWIRE_BROWSER_CUTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    eprintln!("browser network cuts: seed {seed} (SNAPWIRE_BROWSER_CUTS_SEED replays it)");

    // The items of every round, drawn from the seed.
    let mut rng = Rng(seed ^ 0x00c0_ffee);
    let mut bens: Vec<Vec<(String, Item)>> = Vec::new();
    let mut anas: Vec<Vec<Item>> = Vec::new();
    for r in 1..=ROUNDS {
        let mut pic = |name: String, w: (u64, u64), h: (u64, u64), n: u64| {
            let width = (w.0 + rng.below(w.1 - w.0)) as u32;
            let height = (h.0 + rng.below(h.1 - h.0)) as u32;
            Item::picture(name, width, height, seed ^ (r * 10 + n))
        };
        let ben = vec![
            (
                format!("b-{r}-1"),
                pic(format!("ben-{r}-1.png"), (360, 1000), (300, 800), 1),
            ),
            (
                format!("b-{r}-2"),
                Item::Text(format!("Ben, round {r}: the view from up here")),
            ),
            (
                format!("b-{r}-3"),
                pic(format!("ben-{r}-3.png"), (360, 1000), (300, 800), 3),
            ),
        ];
        let ana = vec![
            Item::Text(format!("Ana, round {r}: here comes one")),
            pic(format!("ana-{r}.png"), (420, 800), (420, 700), 5),
            Item::Text(format!("Ana, round {r}: did it arrive?")),
        ];
        // Enough bytes each way for the link that counts them to strike in the phase.
        let max_at = PLAN.min_at + PLAN.spread;
        let ben_bytes: u64 = ben.iter().map(|(_, i)| i.len()).sum();
        assert!(ben_bytes > max_at, "round {r}: Ben sends {ben_bytes} bytes");
        assert!(ana[1].len() > max_at, "round {r}: Ana's picture");
        bens.push(ben);
        anas.push(ana);
    }
    let ana_last = Item::Text("Ana: that was the last one".into());
    let ben_last = Item::Text("Ben: got them all, thanks".into());

    let relay = start_relay(memory_config()).await;
    let (proxy, injected) = start_proxy(relay.local_addr(), seed, PLAN).await;
    let mut ben = Client::join(relay.local_addr(), "Ben", "cuts", 2).await;
    let mut inbox = Inbox::default();

    let (_browser, mut cdp) = phone(&chromium).await;
    // The page's WebSocket frames (megabytes of pictures) stay out of the event log.
    cdp.call("Network.disable", json!({})).await;
    cdp.navigate(&format!("{}&name=Ana", lan_link(proxy, "cuts")))
        .await;
    cdp.eval(&watch_timeline()).await;
    cdp.until(
        "the page in the room",
        "document.getElementById('presence').textContent === '2 online: Ana, Ben'",
    )
    .await;

    let files = TempDir::new("browser-cuts");
    let mut shown: Vec<&Item> = Vec::new();
    let mut ana_sent: Vec<&Item> = Vec::new();
    for (r, (ben_items, ana_items)) in bens.iter().zip(&anas).enumerate() {
        let r = r + 1;
        // Ben's phase: the page only receives, and its link is cut in the stream.
        for (id, item) in ben_items {
            ben_sends(&mut ben, &mut inbox, id, item).await;
            shown.push(item);
        }
        until_timeline(&mut cdp, &format!("Ben's items of round {r}"), &shown).await;

        // Ana's phase: the page sends, and its link is cut in her upload.
        let [before, picture, after] = &ana_items[..] else {
            unreachable!()
        };
        let Item::Text(before_text) = before else {
            unreachable!()
        };
        ana_types(&mut cdp, before_text).await;
        let Item::Picture { name, bytes, .. } = picture else {
            unreachable!()
        };
        let path = files.path().join(name);
        std::fs::write(&path, bytes).expect("write the picture");
        cdp.pick_files("#file", &[&path]).await;
        cdp.until(
            "Ana's picture prepared",
            &format!("document.querySelector('.item.mine img[alt=\"{name}\"]')"),
        )
        .await;
        let Item::Text(after_text) = after else {
            unreachable!()
        };
        ana_types(&mut cdp, after_text).await;
        for item in ana_items {
            shown.push(item);
            ana_sent.push(item);
        }
        inbox
            .read_until(&mut ben, &format!("Ana's items of round {r}"), |i| {
                ana_items.iter().all(|item| i.has(&item.key()))
            })
            .await;
        until_timeline(&mut cdp, &format!("Ana's items of round {r} acked"), &shown).await;
        eprintln!(
            "browser network cuts: round {r} done at {:.1} s: {:?} faults (drops, resets, stalls)",
            started.elapsed().as_secs_f64(),
            injected.counts()
        );
    }

    // The last word each way, on a link left alone: once Ben has Ana's, he has
    // had every chance to get anything of hers twice.
    let Item::Text(text) = &ana_last else {
        unreachable!()
    };
    ana_types(&mut cdp, text).await;
    shown.push(&ana_last);
    ana_sent.push(&ana_last);
    inbox
        .read_until(&mut ben, "Ana's last text", |i| i.has(&ana_last.key()))
        .await;
    ben_sends(&mut ben, &mut inbox, "b-last", &ben_last).await;
    shown.push(&ben_last);
    until_timeline(&mut cdp, "everything, once, in order, settled", &shown).await;

    // Every picture decoded at its size from its verified bytes (the page gives a
    // picture its URL only near the screen: each is scrolled to).
    let pictures: Vec<&Item> = shown
        .iter()
        .copied()
        .filter(|i| matches!(i, Item::Picture { .. }))
        .collect();
    for item in &pictures {
        let Item::Picture {
            name,
            width,
            height,
            ..
        } = item
        else {
            unreachable!()
        };
        let img = format!("document.querySelector('#items img[alt=\"{name}\"]')");
        cdp.eval(&format!("{img}.scrollIntoView({{ block: 'center' }})"))
            .await;
        cdp.until(
            &format!("{name} decoded"),
            &format!(
                "(() => {{ const i = {img}; return i.complete && i.naturalWidth === {width} && \
                   i.naturalHeight === {height} && i.src.startsWith('blob:') && !i.classList.contains('preview'); }})()"
            ),
        )
        .await;
    }

    // Never shown twice or failed, not even for a moment.
    let seen = cdp.eval("window.cutsSeen").await;
    assert_eq!(
        seen,
        json!({ "twice": [], "failed": [] }),
        "what the timeline showed at some point"
    );
    // Back online, nothing left to say.
    assert_eq!(
        cdp.eval("[document.getElementById('presence').textContent, document.getElementById('notice').hidden]")
            .await,
        json!(["2 online: Ana, Ben", true]),
        "the page is back in the room"
    );
    // `SNAPWIRE_SCREENSHOTS=<dir>`: the page as it stands after the cuts.
    if let Some(dir) = std::env::var_os("SNAPWIRE_SCREENSHOTS") {
        cdp.screenshot(&std::path::Path::new(&dir).join("web-after-cuts.png"))
            .await;
    }

    // Ben got each of Ana's items once, whole and byte for byte, in her order.
    let got: Vec<&String> = inbox.done.iter().map(|(_, k)| k).collect();
    let want: Vec<String> = ana_sent.iter().map(|i| i.key()).collect();
    assert_eq!(got, want.iter().collect::<Vec<_>>(), "Ana's items at Ben");
    for item in &ana_sent {
        if let Item::Picture { bytes, .. } = item {
            assert_eq!(
                inbox.sha256[&item.key()],
                sha256_hex(bytes),
                "{}: the bytes Ana picked",
                item.key()
            );
        }
    }

    let events = std::mem::take(&mut cdp.events);
    assert_eq!(
        errors_besides_cut_sockets(&events),
        Vec::<String>::new(),
        "errors in the page"
    );

    let (drops, resets, stalls) = injected.counts();
    let (sending, receiving) = injected.directions();
    eprintln!(
        "browser network cuts: seed {seed}: {drops} drops, {resets} resets, {stalls} stalls \
         ({receiving} while the page received, {sending} while it sent); {} other connections \
         left alone; Ben saw {} of Ana's pictures broken off; {} items shown ({} pictures, {} MB), \
         {} sent by the page; {:.1} s",
        injected.spared.load(std::sync::atomic::Ordering::Relaxed),
        inbox.broken,
        shown.len(),
        pictures.len(),
        pictures.iter().map(|i| i.len()).sum::<u64>() / 1_000_000,
        ana_sent.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        (drops, resets, stalls),
        (2, 2, 2),
        "each kind of fault struck twice"
    );
    assert_eq!(
        (receiving, sending),
        (3, 3),
        "one cut in each phase: three while the page received, three while it sent"
    );
    relay.shutdown().await.expect("shutdown");
}
