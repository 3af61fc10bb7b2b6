//! The soak: `clients` people in one room for a set time, each sending random texts
//! and images of random sizes, leaving and rejoining, dropping its link mid-upload,
//! while the relay's RSS and open file descriptors are sampled every few seconds.
//! At the end every client must hold exactly the items it should: every item of the
//! room either received (once, whole, in seq order, with the content its author sent)
//! or its own. `loadgen --soak-secs N` runs it against a relay process; the suite runs
//! 30 s of it (`tests/soak.rs`, which includes this file with `#[path]`).
//!
//! Self-contained on purpose (the protocol through the crate's codec, `/proc` for the
//! samples), so it does not move with the rest of the load generator.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{
    ClientHeader, ClientMessage, ImageBegin, RelayHeader, encode_frame, parse_relay,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// What a soak does.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub clients: usize,
    /// Time during which clients send, leave and rejoin; the check comes after.
    pub duration: Duration,
    /// Interval of the RSS and fd samples.
    pub sample_every: Duration,
    /// Largest image; sizes are spread evenly over their order of magnitude.
    pub max_image: usize,
    pub seed: u64,
    /// Print each sample as a JSON line when it is taken.
    pub print_samples: bool,
}

/// One reading of the relay process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t_s: f64,
    pub rss_kb: u64,
    pub fds: usize,
}

/// What a soak did and found.
#[derive(Debug, Default)]
pub struct SoakReport {
    pub seconds: f64,
    pub texts: u64,
    pub images: u64,
    pub image_bytes: u64,
    /// Sessions that ended and were followed by another: clean leaves and cut links.
    pub rejoins: u64,
    pub cut_uploads: u64,
    /// Items checked at the receivers (received, whole, in order, right content).
    pub items_checked: u64,
    /// Items of the room (acked seqs).
    pub room_items: u64,
    pub samples: Vec<Sample>,
    /// Everything that went against the contract; empty on a good run.
    pub violations: Vec<String>,
}

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The relay's resident memory (VmRSS, KiB) and open descriptors.
pub fn sample_process(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
    (rss, fds)
}

/// State every client shares.
#[derive(Default)]
struct Room {
    /// seq → SHA-256 of the content, from the authors' acks.
    ledger: Mutex<BTreeMap<u64, [u8; 32]>>,
    violations: Mutex<Vec<String>>,
    texts: AtomicU64,
    images: AtomicU64,
    image_bytes: AtomicU64,
    rejoins: AtomicU64,
    cut_uploads: AtomicU64,
}

impl Room {
    fn violation(&self, what: String) {
        let mut violations = self.violations.lock().unwrap_or_else(|e| e.into_inner());
        if violations.len() < 100 {
            violations.push(what);
        }
    }
}

/// What one client has received, across all its connections.
#[derive(Default)]
struct Seen {
    /// (seq, SHA-256 of the content), in the order received.
    received: Vec<(u64, [u8; 32])>,
    /// Highest seq received: the `since` of the next connection.
    last: u64,
}

#[derive(Clone)]
enum Content {
    Text(Bytes),
    Image(Bytes),
}

impl Content {
    fn digest(&self) -> [u8; 32] {
        match self {
            Content::Text(b) | Content::Image(b) => Sha256::digest(b).into(),
        }
    }
}

fn secret(who: usize) -> String {
    format!("{:032x}", 0x50a4_0000_0000u64 + who as u64)
}

/// Image bytes that pass the relay's PNG check, unique per (who, n).
fn image_bytes(len: usize, who: usize, n: u64) -> Bytes {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut x = (who as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n.wrapping_add(1);
    while bytes.len() < len.max(16) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len.max(16));
    Bytes::from(bytes)
}

/// Runs the soak against the relay at `addr` (process `pid`).
pub async fn run(addr: SocketAddr, pid: u32, config: &SoakConfig) -> SoakReport {
    let room = Arc::new(Room::default());
    let start = Instant::now();
    let deadline = start + config.duration;
    let done = Arc::new(tokio::sync::Barrier::new(config.clients));

    let (stop_sampler, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = {
        let every = config.sample_every;
        let print = config.print_samples;
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stop_rx => return samples,
                }
                let (rss_kb, fds) = sample_process(pid);
                if rss_kb == 0 {
                    return samples; // the process is gone
                }
                samples.push(Sample {
                    t_s: start.elapsed().as_secs_f64(),
                    rss_kb,
                    fds,
                });
                if print {
                    println!(
                        "{}",
                        serde_json::json!({"soak_sample": {"t_s": (start.elapsed().as_secs_f64() * 10.0).round() / 10.0, "rss_kb": rss_kb, "fds": fds}})
                    );
                }
            }
        })
    };

    let mut clients = Vec::new();
    for who in 0..config.clients {
        let room = room.clone();
        let done = done.clone();
        let config = config.clone();
        clients.push(tokio::spawn(async move {
            client(addr, who, &room, deadline, &config, &done).await
        }));
    }
    let mut results = Vec::new();
    for handle in clients {
        match handle.await {
            Ok(result) => results.push(result),
            Err(e) => room.violation(format!("a client task failed: {e}")),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // One more sample after everyone has left.
    let (rss_kb, fds) = sample_process(pid);
    let _ = stop_sampler.send(());
    let mut samples = sampler.await.unwrap_or_default();
    samples.push(Sample {
        t_s: seconds,
        rss_kb,
        fds,
    });

    let ledger = room
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut checked = 0;
    for (who, (seen, own)) in results.iter().enumerate() {
        for (seq, digest) in &seen.received {
            match ledger.get(seq) {
                Some(expected) if expected == digest => checked += 1,
                Some(_) => room.violation(format!("client {who}: seq {seq} has other content")),
                None => room.violation(format!("client {who}: seq {seq} was never acked")),
            }
        }
        let received: BTreeSet<u64> = seen.received.iter().map(|(seq, _)| *seq).collect();
        let missing: Vec<u64> = ledger
            .keys()
            .filter(|seq| !received.contains(seq) && !own.contains(seq))
            .copied()
            .collect();
        if !missing.is_empty() {
            room.violation(format!(
                "client {who}: {} items never arrived, first {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            ));
        }
    }
    let violations = room
        .violations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    SoakReport {
        seconds,
        texts: room.texts.load(Relaxed),
        images: room.images.load(Relaxed),
        image_bytes: room.image_bytes.load(Relaxed),
        rejoins: room.rejoins.load(Relaxed),
        cut_uploads: room.cut_uploads.load(Relaxed),
        items_checked: checked,
        room_items: ledger.len() as u64,
        samples,
        violations,
    }
}

/// Longest wait for one ack, or for the final catch-up.
const WAIT: Duration = Duration::from_secs(30);

/// One person: sends, leaves, rejoins until `deadline`, then (once every client is
/// done sending) catches up with the room. Returns what it received and the seqs of
/// its own items.
async fn client(
    addr: SocketAddr,
    who: usize,
    room: &Arc<Room>,
    deadline: Instant,
    config: &SoakConfig,
    done: &tokio::sync::Barrier,
) -> (Seen, BTreeSet<u64>) {
    let mut rng = Rng(config.seed ^ (who as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut own = BTreeSet::new();
    let mut pending: VecDeque<(String, Content)> = VecDeque::new();
    let mut n = 0u64;
    let mut first = true;
    // Consecutive attempts of the item at the head of `pending` that got no ack.
    let mut failures = 0;
    while Instant::now() < deadline || !pending.is_empty() {
        if !first {
            room.rejoins.fetch_add(1, Relaxed);
        }
        first = false;
        let Some(mut link) = Link::open(addr, who, &seen, room).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let actions = 1 + rng.below(40);
        let mut cut = false;
        for _ in 0..actions {
            if pending.is_empty() {
                if Instant::now() >= deadline {
                    break;
                }
                match rng.below(100) {
                    0..10 => {
                        tokio::time::sleep(Duration::from_millis(50 + rng.below(400))).await;
                        continue;
                    }
                    10..60 => {
                        n += 1;
                        let len = 1 + rng.below(400) as usize;
                        let text = format!("{who}/{n} {}", "x".repeat(len));
                        pending.push_back((format!("t-{n}"), Content::Text(Bytes::from(text))));
                    }
                    60..85 => {
                        n += 1;
                        // Spread over the orders of magnitude, 1 kB up to max_image.
                        let decades = (config.max_image as f64 / 1000.0).log10().max(0.0);
                        let len = (1000.0 * 10f64.powf(rng.below(1000) as f64 / 1000.0 * decades))
                            as usize;
                        pending.push_back((
                            format!("i-{n}"),
                            Content::Image(image_bytes(len, who, n)),
                        ));
                    }
                    85..95 => break, // leave; rejoin with since
                    _ => {
                        // Cut the link in the middle of the next image, if it is one.
                        n += 1;
                        let len = 300_000 + rng.below(300_000) as usize;
                        let image = image_bytes(len.min(config.max_image), who, n);
                        link.send_image(&format!("i-{n}"), &image, true).await;
                        room.cut_uploads.fetch_add(1, Relaxed);
                        pending.push_back((format!("i-{n}"), Content::Image(image)));
                        cut = true;
                        break;
                    }
                }
            }
            let Some((id, content)) = pending.front().cloned() else {
                continue;
            };
            let sent = match &content {
                Content::Text(text) => link.send_text(&id, text).await,
                Content::Image(image) => link.send_image(&id, image, false).await,
            };
            let acked = if sent { link.ack(&id).await } else { None };
            let Some(seq) = acked else {
                failures += 1;
                if failures > 20 {
                    room.violation(format!("client {who}: {id} never acked; giving it up"));
                    pending.pop_front();
                    failures = 0;
                }
                break;
            };
            failures = 0;
            let digest = content.digest();
            {
                let mut ledger = room.ledger.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(other) = ledger.insert(seq, digest)
                    && other != digest
                {
                    room.violation(format!("seq {seq} acked for two contents"));
                }
            }
            if own.insert(seq) {
                match &content {
                    Content::Text(_) => room.texts.fetch_add(1, Relaxed),
                    Content::Image(image) => {
                        room.image_bytes.fetch_add(image.len() as u64, Relaxed);
                        room.images.fetch_add(1, Relaxed)
                    }
                };
            }
            pending.pop_front();
        }
        if cut {
            link.cut();
        } else {
            link.close().await;
        }
        if Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(rng.below(500))).await;
        }
    }

    // Everyone has stopped sending: the room's items are final. Catch up with since.
    done.wait().await;
    let all: BTreeSet<u64> = room
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect();
    let covered = |seen: &Mutex<Seen>| {
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        let received: BTreeSet<u64> = seen.received.iter().map(|(s, _)| *s).collect();
        all.iter().all(|s| received.contains(s) || own.contains(s))
    };
    let catch_up = Instant::now() + WAIT;
    while !covered(&seen) && Instant::now() < catch_up {
        let Some(link) = Link::open(addr, who, &seen, room).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let started = Instant::now();
        while !covered(&seen) && started.elapsed() < Duration::from_secs(10) && link.alive() {
            link.progress().await;
        }
        link.close().await;
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    (seen, own)
}

/// One connection: a writer here, a reader task that records what arrives.
struct Link {
    sink: SplitSink<Ws, Message>,
    acks: mpsc::Receiver<(String, u64)>,
    /// Woken on every message the reader takes.
    activity: Arc<tokio::sync::Notify>,
    reader: tokio::task::JoinHandle<()>,
}

impl Link {
    async fn open(
        addr: SocketAddr,
        who: usize,
        seen: &Arc<Mutex<Seen>>,
        room: &Arc<Room>,
    ) -> Option<Link> {
        let url = format!("ws://{addr}/ws");
        let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (mut ws, _) = tokio::time::timeout(WAIT, connect).await.ok()?.ok()?;
        let since = seen.lock().unwrap_or_else(|e| e.into_inner()).last;
        let hello = serde_json::json!({
            "type": "hello", "v": 1, "name": format!("soak-{who}"), "room": "soak",
            "client": secret(who), "since": since,
        });
        ws.send(Message::Binary(encode_frame(&hello, b"")))
            .await
            .ok()?;
        let (sink, stream) = ws.split();
        let (ack_tx, acks) = mpsc::channel(64);
        let activity = Arc::new(tokio::sync::Notify::new());
        let reader = tokio::spawn(read(
            stream,
            who,
            seen.clone(),
            ack_tx,
            activity.clone(),
            room.clone(),
        ));
        Some(Link {
            sink,
            acks,
            activity,
            reader,
        })
    }

    async fn send(&mut self, header: ClientHeader, body: Bytes) -> bool {
        let bytes = ClientMessage::new(header, body).encode();
        matches!(
            tokio::time::timeout(WAIT, self.sink.send(Message::Binary(bytes))).await,
            Ok(Ok(()))
        )
    }

    async fn send_text(&mut self, id: &str, text: &Bytes) -> bool {
        self.send(ClientHeader::Text { id: id.to_owned() }, text.clone())
            .await
    }

    /// Sends an image in 256 KiB chunks; `cut` stops after about half of it.
    async fn send_image(&mut self, id: &str, image: &Bytes, cut: bool) -> bool {
        let begin = ImageBegin {
            id: id.to_owned(),
            name: format!("{id}.png"),
            mime: "image/png".to_owned(),
            size: image.len() as u64,
            sha256: hex::encode(Sha256::digest(image)),
            width: None,
            height: None,
        };
        if !self
            .send(ClientHeader::ImageBegin(begin), Bytes::new())
            .await
        {
            return false;
        }
        const CHUNK: usize = 256 * 1024;
        let stop = if cut { image.len() / 2 } else { image.len() };
        let mut offset = 0;
        while offset < stop.max(1) {
            let end = (offset + CHUNK).min(image.len());
            let chunk = ClientHeader::ImageChunk {
                id: id.to_owned(),
                offset: offset as u64,
            };
            if !self.send(chunk, image.slice(offset..end)).await {
                return false;
            }
            offset = end;
        }
        if cut {
            return true;
        }
        self.send(ClientHeader::ImageEnd { id: id.to_owned() }, Bytes::new())
            .await
    }

    /// The seq of `id`'s ack; `None` if the link died or went quiet.
    async fn ack(&mut self, id: &str) -> Option<u64> {
        loop {
            let (acked, seq) = tokio::time::timeout(WAIT, self.acks.recv()).await.ok()??;
            if acked == id {
                return Some(seq);
            }
        }
    }

    fn alive(&self) -> bool {
        !self.reader.is_finished()
    }

    /// Waits for the reader to take another message (or a second).
    async fn progress(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.activity.notified()).await;
    }

    /// Drops the link without a close frame, as a dead network would.
    fn cut(self) {
        self.reader.abort();
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        self.reader.abort();
        let _ = self.reader.await;
    }
}

/// Records every completed item; checks order, wholeness and hashes.
async fn read(
    mut stream: SplitStream<Ws>,
    who: usize,
    seen: Arc<Mutex<Seen>>,
    acks: mpsc::Sender<(String, u64)>,
    activity: Arc<tokio::sync::Notify>,
    room: Arc<Room>,
) {
    let violation = |what: String| room.violation(what);
    let mut partial: HashMap<u64, (String, Vec<u8>)> = HashMap::new();
    let complete = |seq: u64, digest: [u8; 32]| {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        if seq <= seen.last {
            violation(format!("client {who}: seq {seq} after {}", seen.last));
            return;
        }
        seen.last = seq;
        seen.received.push((seq, digest));
    };
    while let Some(Ok(message)) = stream.next().await {
        let Message::Binary(bytes) = message else {
            continue;
        };
        activity.notify_waiters();
        let Ok(message) = parse_relay(bytes) else {
            violation(format!("client {who}: an unreadable message"));
            continue;
        };
        match message.header {
            RelayHeader::Text { seq, .. } => complete(seq, Sha256::digest(&message.body).into()),
            RelayHeader::ImageBegin(begin) => {
                partial.insert(begin.sid, (begin.sha256, Vec::new()));
            }
            RelayHeader::ImageChunk { sid, offset } => match partial.get_mut(&sid) {
                Some((_, bytes)) if offset == bytes.len() as u64 => {
                    bytes.extend_from_slice(&message.body);
                }
                Some(_) => violation(format!("client {who}: stream {sid} skips to {offset}")),
                None => violation(format!("client {who}: a chunk of unknown stream {sid}")),
            },
            RelayHeader::ImageEnd { sid, seq, .. } => match partial.remove(&sid) {
                Some((sha, bytes)) => {
                    let digest: [u8; 32] = Sha256::digest(&bytes).into();
                    if hex::encode(digest) != sha {
                        violation(format!("client {who}: seq {seq} does not match its hash"));
                    }
                    complete(seq, digest);
                }
                None => violation(format!("client {who}: an end of unknown stream {sid}")),
            },
            RelayHeader::ImageCancel { sid, .. } => {
                // sender_left (a cut upload) or lagging (it comes again in full).
                partial.remove(&sid);
            }
            RelayHeader::Ack { id, seq, .. } => {
                let _ = acks.try_send((id, seq));
            }
            RelayHeader::Error { code, message, id } => {
                violation(format!("client {who}: error {code} ({id:?}): {message}"));
            }
            _ => {}
        }
    }
}

/// `loadgen --soak-secs N`: a relay process on a temp data dir, the soak, the report
/// as JSON lines (one per sample, then a summary). Fails if anything went wrong.
pub fn bench_main(
    runtime: &tokio::runtime::Runtime,
    relay_bin: &std::path::Path,
    clients: usize,
    secs: u64,
) -> anyhow::Result<()> {
    let data = std::env::temp_dir().join(format!("snapwire-soak-{}", std::process::id()));
    let relay = crate::core::ServerProcess::relay(
        relay_bin,
        &crate::core::RelayStorage::Disk(data.clone()),
        50,
    )
    .map_err(anyhow::Error::msg)?;
    let config = SoakConfig {
        clients,
        duration: Duration::from_secs(secs),
        sample_every: Duration::from_secs(5),
        max_image: 4_000_000,
        seed: 0x50a4,
        print_samples: true,
    };
    let report = runtime.block_on(run(relay.addr, relay.pid(), &config));
    drop(relay);
    let _ = std::fs::remove_dir_all(&data);
    println!("{}", summary_json(&report));
    for v in &report.violations {
        eprintln!("soak: {v}");
    }
    anyhow::ensure!(
        report.violations.is_empty(),
        "{} violations",
        report.violations.len()
    );
    Ok(())
}

/// The report in one JSON object (samples summarized as first/last/max).
pub fn summary_json(report: &SoakReport) -> serde_json::Value {
    let rss: Vec<u64> = report.samples.iter().map(|s| s.rss_kb).collect();
    let fds: Vec<usize> = report.samples.iter().map(|s| s.fds).collect();
    serde_json::json!({"soak": {
        "seconds": (report.seconds * 10.0).round() / 10.0,
        "texts": report.texts,
        "images": report.images,
        "image_mb": report.image_bytes as f64 / 1e6,
        "rejoins": report.rejoins,
        "cut_uploads": report.cut_uploads,
        "room_items": report.room_items,
        "items_checked": report.items_checked,
        "rss_kb": {"first": rss.first(), "last": rss.last(), "max": rss.iter().max()},
        "fds": {"first": fds.first(), "last": fds.last(), "max": fds.iter().max()},
        "violations": report.violations.len(),
    }})
}
