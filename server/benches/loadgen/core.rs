//! The load generator's core, shared by the `loadgen` bench and the smoke test
//! (`tests/loadgen_smoke.rs` includes this file with `#[path]`).
//!
//! - [`run_relay_load`]: N receivers and K senders over real WebSocket connections,
//!   speaking the protocol through the crate's own codec; every receiver checks
//!   every byte of each image against the bytes sent ([`Sent`]).
//! - [`run_tcp_load`] and [`serve_tcp_fanout`]: the baseline, a minimal raw-TCP
//!   fan-out of length-prefixed blobs with the same N, S, M, chunking and checks.
//! - [`ServerProcess`]: a server in its own process, with its peak RSS and CPU time
//!   read from `/proc`.
//!
//! Every wait is bounded by the run's deadline. Traffic goes to 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{
    ClientHeader, ClientMessage, Hello, ImageBegin, RelayHeader, encode_frame, parse_relay,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::timeout_at;
use tokio_tungstenite::tungstenite::Message;

#[path = "lean_ws.rs"]
mod lean_ws;
use lean_ws::{FrameReader, FrameWriter};

/// Chunk size of senders and of the baseline's fan-out: the relay's `max_chunk_bytes`.
pub const CHUNK: usize = 1024 * 1024;
/// Bound of the baseline's per-receiver queue, in chunks (32 MiB, as the relay's outbox).
const BASELINE_QUEUE_CHUNKS: usize = 32;

/// What one run sends.
#[derive(Debug, Clone)]
pub struct Load {
    /// Receivers that read (and verify) everything.
    pub receivers: usize,
    /// Extra receivers that join and then never read a byte.
    pub stalled: usize,
    /// Extra receivers that read at `slow_rate` bytes per second (not waited for).
    pub slow: usize,
    pub slow_rate: f64,
    pub senders: usize,
    /// Measured images (a warm-up image goes first and is not counted).
    pub images: usize,
    /// Bytes per image.
    pub size: usize,
    /// Images each sender may have in flight (sent but not yet verified by every receiver).
    pub window: usize,
    /// The whole run, connections included, must end by then.
    pub time_limit: Duration,
}

/// What one run measured, seen from the clients.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Measured images that every reading receiver verified.
    pub images_done: usize,
    /// Verified bytes summed over receivers (measured images only).
    pub bytes_delivered: u64,
    /// From the start of the first measured image to the last verification.
    pub elapsed: Duration,
    /// Per image: start of sending to "every receiver holds the verified bytes".
    pub latencies: Vec<Duration>,
    pub errors: Vec<String>,
}

impl Outcome {
    pub fn images_per_sec(&self) -> f64 {
        self.images_done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Delivered megabytes (10^6 bytes) per second, summed over receivers.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes_delivered as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1e3
    }
}

/// Incompressible image bytes that pass the relay's PNG signature check.
pub fn image_bytes(len: usize, seed: u64) -> Bytes {
    let mut bytes = Vec::with_capacity(len.max(8) + 8);
    bytes.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len.max(8));
    Bytes::from(bytes)
}

/// What the senders send, byte for byte. Receivers compare what arrives with
/// the images the senders send (every image of a run has the same bytes; the
/// warm-up, index 0, its own) instead of hashing it: a byte-exact check is stronger
/// than a digest and costs a memcmp, so the clients, which share the machine's
/// cores with the server they measure, spend less CPU per received byte. SHA-256
/// of every received byte took 55% of all CPU samples of a 4 × 20 MB → 50 run, and
/// receivers starved of CPU were the ones the relay found lagging.
pub struct Sent {
    image: Bytes,
    image_sha256: [u8; 32],
    warm: Bytes,
    warm_sha256: [u8; 32],
}

impl Sent {
    pub fn new(image: Bytes) -> Self {
        let warm = image_bytes(1000, 7);
        Sent {
            image_sha256: Sha256::digest(&image).into(),
            warm_sha256: Sha256::digest(&warm).into(),
            image,
            warm,
        }
    }

    /// The bytes and SHA-256 of image `i`.
    pub fn of(&self, i: usize) -> (&Bytes, &[u8; 32]) {
        if i == 0 {
            (&self.warm, &self.warm_sha256)
        } else {
            (&self.image, &self.image_sha256)
        }
    }

    /// Whether `part`, at `offset` into image `i`, is what was sent there.
    pub fn matches(&self, i: usize, offset: u64, part: &[u8]) -> bool {
        let (bytes, _) = self.of(i);
        usize::try_from(offset)
            .ok()
            .and_then(|start| bytes.get(start..start.checked_add(part.len())?))
            .is_some_and(|sent| sent == part)
    }
}

/// Bookkeeping shared by senders and receivers: who has verified what, and when.
struct Tracker {
    expected: usize,
    /// The images, to check what arrives against.
    sent: Sent,
    state: Mutex<TrackState>,
    /// One window per sender; a permit comes back when an image of that sender is done.
    windows: Vec<Arc<Semaphore>>,
    /// One permit per finished measured image.
    finished: Semaphore,
}

#[derive(Default)]
struct TrackState {
    /// image index -> (start, receivers done)
    images: HashMap<usize, (Option<Instant>, usize)>,
    first_start: Option<Instant>,
    last_done: Option<Instant>,
    latencies: Vec<Duration>,
    done: usize,
    bytes: u64,
    errors: Vec<String>,
}

impl Tracker {
    fn new(load: &Load) -> Arc<Self> {
        Arc::new(Tracker {
            expected: load.receivers,
            sent: Sent::new(image_bytes(load.size, load.size as u64)),
            state: Mutex::new(TrackState::default()),
            windows: (0..load.senders)
                .map(|_| Arc::new(Semaphore::new(load.window.max(1))))
                .collect(),
            finished: Semaphore::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn started(&self, image: usize) {
        let now = Instant::now();
        let mut state = self.lock();
        if image > 0 && state.first_start.is_none() {
            state.first_start = Some(now);
        }
        state.images.entry(image).or_default().0 = Some(now);
    }

    /// A receiver verified `image` (index 0 is the warm-up).
    fn verified(&self, image: usize, bytes: u64, senders: usize) {
        let now = Instant::now();
        let mut state = self.lock();
        if image > 0 {
            state.bytes += bytes;
        }
        let entry = state.images.entry(image).or_default();
        entry.1 += 1;
        if entry.1 != self.expected {
            return;
        }
        let start = entry.0;
        if image > 0 {
            if let Some(start) = start {
                state.latencies.push(now - start);
            }
            state.done += 1;
            state.last_done = Some(now);
            self.finished.add_permits(1);
        }
        drop(state);
        let sender = if image == 0 { 0 } else { (image - 1) % senders };
        self.windows[sender].add_permits(1);
    }

    fn error(&self, what: String) {
        let mut state = self.lock();
        if state.errors.len() < 100 {
            state.errors.push(what);
        }
    }

    /// Waits until the warm-up image has reached every receiver.
    async fn warmed_up(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            if self
                .lock()
                .images
                .get(&0)
                .is_some_and(|e| e.1 >= self.expected)
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn outcome(&self, load: &Load) -> Outcome {
        let state = self.lock();
        let elapsed = match (state.first_start, state.last_done) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => Duration::ZERO,
        };
        let mut errors = state.errors.clone();
        if state.done < load.images {
            errors.push(format!(
                "only {} of {} images reached every receiver in time",
                state.done, load.images
            ));
        }
        Outcome {
            images_done: state.done,
            bytes_delivered: state.bytes,
            elapsed,
            latencies: state.latencies.clone(),
            errors,
        }
    }
}

/// Which sender sends image `i` (1-based; image 0, the warm-up, is sender 0's).
fn images_of(sender: usize, load: &Load) -> Vec<usize> {
    (1..=load.images)
        .filter(|i| (i - 1) % load.senders == sender)
        .collect()
}

async fn wait_finished(tracker: &Tracker, load: &Load, deadline: tokio::time::Instant) {
    let all = u32::try_from(load.images).unwrap_or(u32::MAX);
    let _ = timeout_at(deadline, tracker.finished.acquire_many(all)).await;
}

// ---------------------------------------------------------------------------
// The relay, over WebSocket.

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

fn secret(who: usize) -> String {
    format!("{:032x}", 0xb0_0000_0000u64 + who as u64)
}

/// Connects, says hello, waits for `welcome`.
pub async fn join_relay(
    addr: SocketAddr,
    room: &str,
    who: usize,
    deadline: tokio::time::Instant,
) -> Result<Ws, String> {
    join_relay_since(addr, room, who, None, deadline).await
}

/// [`join_relay`] with a `since`.
pub async fn join_relay_since(
    addr: SocketAddr,
    room: &str,
    who: usize,
    since: Option<u64>,
    deadline: tokio::time::Instant,
) -> Result<Ws, String> {
    let mut ws = say_hello(addr, room, who, since, deadline).await?;
    loop {
        let next = timeout_at(deadline, ws.next())
            .await
            .map_err(|_| "welcome timed out".to_owned())?;
        match next {
            Some(Ok(Message::Binary(bytes))) => return welcomed(bytes).map(|()| ws),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("before welcome: {e}")),
            None => return Err("closed before welcome".to_owned()),
        }
    }
}

/// Connects and says hello, as [`join_relay`] does, then speaks through lean
/// framing (`lean_ws.rs`) from the welcome on: the fan-out's senders and receivers.
async fn join_relay_lean(
    addr: SocketAddr,
    room: &str,
    who: usize,
    deadline: tokio::time::Instant,
) -> Result<(FrameReader, FrameWriter), String> {
    let (mut reader, writer) = lean_ws::lean(say_hello(addr, room, who, None, deadline).await?)?;
    match timeout_at(deadline, reader.next()).await {
        Ok(Ok(Some(bytes))) => welcomed(bytes)?,
        Ok(Ok(None)) => return Err("closed before welcome".to_owned()),
        Ok(Err(e)) => return Err(format!("before welcome: {e}")),
        Err(_) => return Err("welcome timed out".to_owned()),
    }
    Ok((reader, writer))
}

/// The first message must be `welcome`.
fn welcomed(bytes: Bytes) -> Result<(), String> {
    match parse_relay(bytes) {
        Ok(m) if matches!(m.header, RelayHeader::Welcome(_)) => Ok(()),
        Ok(m) => Err(format!("expected welcome, got {:?}", m.header)),
        Err(e) => Err(format!("bad message: {e}")),
    }
}

/// Connects and sends `hello`; reads nothing.
async fn say_hello(
    addr: SocketAddr,
    room: &str,
    who: usize,
    since: Option<u64>,
    deadline: tokio::time::Instant,
) -> Result<Ws, String> {
    let url = format!("ws://{addr}/ws");
    // Nagle off, as the relay does: a small `image_end` after a chunk must not wait
    // for the peer's delayed ACK.
    let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
    let (mut ws, _) = timeout_at(deadline, connect)
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let hello = ClientHeader::Hello(Hello {
        v: 1,
        name: format!("bench-{who}"),
        room: room.to_owned(),
        client: secret(who),
        token: None,
        since,
    });
    let hello = ClientMessage::new(hello, Bytes::new()).encode();
    timeout_at(deadline, ws.send(Message::Binary(hello)))
        .await
        .map_err(|_| "hello timed out".to_owned())?
        .map_err(|e| format!("hello: {e}"))?;
    Ok(ws)
}

fn image_index(name: &str) -> Option<usize> {
    name.strip_prefix("img-")?
        .strip_suffix(".png")?
        .parse()
        .ok()
}

struct Incoming {
    image: usize,
    size: u64,
    /// The SHA-256 `image_begin` announced is the one of the bytes sent.
    announced_right: bool,
    received: u64,
    /// Every chunk so far held the bytes sent at its offset.
    bytes_right: bool,
}

/// Reads everything the relay sends one receiver, checking each chunk against the
/// bytes sent and each image's size and announced SHA-256 at `image_end`.
async fn relay_receiver(
    mut reader: FrameReader,
    tracker: Arc<Tracker>,
    senders: usize,
    deadline: tokio::time::Instant,
) {
    let mut streams: HashMap<u64, Incoming> = HashMap::new();
    loop {
        let bytes = match timeout_at(deadline, reader.next()).await {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Err(e)) => return tracker.error(format!("receiver: {e}")),
            Ok(Ok(None)) | Err(_) => return,
        };
        let message = match parse_relay(bytes) {
            Ok(message) => message,
            Err(e) => {
                tracker.error(format!("receiver: {e}"));
                continue;
            }
        };
        match message.header {
            RelayHeader::ImageBegin(begin) => {
                let Some(image) = image_index(&begin.name) else {
                    tracker.error(format!("unexpected image {}", begin.name));
                    continue;
                };
                let announced_right = begin.sha256 == hex::encode(tracker.sent.of(image).1);
                streams.insert(
                    begin.sid,
                    Incoming {
                        image,
                        size: begin.size,
                        announced_right,
                        received: 0,
                        bytes_right: true,
                    },
                );
            }
            RelayHeader::ImageChunk { sid, offset } => {
                let Some(incoming) = streams.get_mut(&sid) else {
                    tracker.error(format!("chunk of unknown sid {sid}"));
                    continue;
                };
                if offset != incoming.received {
                    tracker.error(format!("sid {sid}: offset {offset}"));
                }
                incoming.bytes_right &= tracker.sent.matches(incoming.image, offset, &message.body);
                incoming.received += message.body.len() as u64;
            }
            RelayHeader::ImageEnd { sid, .. } => {
                let Some(incoming) = streams.remove(&sid) else {
                    tracker.error(format!("end of unknown sid {sid}"));
                    continue;
                };
                let sent = tracker.sent.of(incoming.image).0.len() as u64;
                if incoming.received == sent
                    && incoming.size == sent
                    && incoming.bytes_right
                    && incoming.announced_right
                {
                    tracker.verified(incoming.image, incoming.received, senders);
                } else {
                    tracker.error(format!(
                        "image {}: {} of {} bytes ({} announced), bytes {}, announced SHA-256 {}",
                        incoming.image,
                        incoming.received,
                        sent,
                        incoming.size,
                        if incoming.bytes_right {
                            "as sent"
                        } else {
                            "wrong"
                        },
                        if incoming.announced_right {
                            "right"
                        } else {
                            "wrong"
                        },
                    ));
                }
            }
            RelayHeader::ImageCancel { sid, reason } => {
                streams.remove(&sid);
                tracker.error(format!("image_cancel {reason:?}"));
            }
            RelayHeader::Error { code, message, .. } => {
                tracker.error(format!("receiver got error {code}: {message}"));
            }
            _ => {}
        }
    }
}

/// Reads whatever comes at `rate` bytes per second, checking nothing.
pub async fn slow_reader(mut ws: Ws, rate: f64, deadline: tokio::time::Instant) {
    let start = tokio::time::Instant::now();
    let mut read = 0f64;
    while let Ok(Some(Ok(message))) = timeout_at(deadline, ws.next()).await {
        if let Message::Binary(bytes) = message {
            read += bytes.len() as f64;
            let due = start + Duration::from_secs_f64(read / rate.max(1.0));
            tokio::time::sleep_until(due.min(deadline)).await;
        }
    }
}

/// Sends this sender's images, each when its window has room.
async fn relay_sender(
    (mut reader, writer): (FrameReader, FrameWriter),
    sender: usize,
    load: Load,
    tracker: Arc<Tracker>,
    deadline: tokio::time::Instant,
) {
    // Acks, the other senders' images and errors: only errors matter here.
    let errors = {
        let tracker = tracker.clone();
        tokio::spawn(async move {
            while let Ok(Ok(Some(bytes))) = timeout_at(deadline, reader.next()).await {
                if let Ok(m) = parse_relay(bytes)
                    && let RelayHeader::Error { code, message, .. } = m.header
                {
                    tracker.error(format!("sender got error {code}: {message}"));
                }
            }
        })
    };
    let mut list = images_of(sender, &load);
    if sender == 0 {
        list.insert(0, 0);
    }
    let window = tracker.windows[sender].clone();
    for i in list {
        match timeout_at(deadline, window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            _ => break,
        }
        let (bytes, sha256) = tracker.sent.of(i);
        tracker.started(i);
        let id = format!("img-{i}");
        let begin = ClientHeader::ImageBegin(ImageBegin {
            id: id.clone(),
            name: format!("{id}.png"),
            mime: "image/png".to_owned(),
            size: bytes.len() as u64,
            sha256: hex::encode(sha256),
            width: Some(4000),
            height: Some(3000),
        });
        let mut messages = vec![ClientMessage::new(begin, Bytes::new())];
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + CHUNK).min(bytes.len());
            messages.push(ClientMessage::new(
                ClientHeader::ImageChunk {
                    id: id.clone(),
                    offset: offset as u64,
                },
                bytes.slice(offset..end),
            ));
            offset = end;
        }
        messages.push(ClientMessage::new(
            ClientHeader::ImageEnd { id },
            Bytes::new(),
        ));
        for message in messages {
            let frame = encode_frame(&message.header, &message.body);
            match timeout_at(deadline, writer.send(&frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracker.error(format!("sender: {e}"));
                    return;
                }
                Err(_) => return,
            }
        }
        if i == 0 && !tracker.warmed_up(deadline).await {
            tracker.error("the warm-up image did not reach every receiver".to_owned());
            return;
        }
    }
    // Stay connected until the run ends (the caller aborts this task).
    let _ = errors.await;
}

/// One run against a relay at `addr`, in room `room`.
pub async fn run_relay_load(addr: SocketAddr, room: &str, load: &Load) -> Outcome {
    let deadline = tokio::time::Instant::now() + load.time_limit;
    let tracker = Tracker::new(load);
    let mut tasks = tokio::task::JoinSet::new();
    let mut held = Vec::new();
    for r in 0..load.receivers + load.stalled + load.slow {
        let who = 1000 + r;
        if r < load.receivers {
            match join_relay_lean(addr, room, who, deadline).await {
                Ok((reader, _)) => {
                    tasks.spawn(relay_receiver(
                        reader,
                        tracker.clone(),
                        load.senders,
                        deadline,
                    ));
                }
                Err(e) => {
                    tracker.error(format!("receiver {r}: {e}"));
                    return tracker.outcome(load);
                }
            }
            continue;
        }
        let ws = match join_relay(addr, room, who, deadline).await {
            Ok(ws) => ws,
            Err(e) => {
                tracker.error(format!("receiver {r}: {e}"));
                return tracker.outcome(load);
            }
        };
        if r >= load.receivers + load.stalled {
            tasks.spawn(slow_reader(ws, load.slow_rate, deadline));
        } else {
            held.push(ws); // a stalled reader: joined, never reads again
        }
    }
    let mut senders = Vec::new();
    for s in 0..load.senders {
        match join_relay_lean(addr, room, s, deadline).await {
            Ok(lean) => senders.push(lean),
            Err(e) => {
                tracker.error(format!("sender {s}: {e}"));
                return tracker.outcome(load);
            }
        }
    }
    for (s, ws) in senders.into_iter().enumerate() {
        tasks.spawn(relay_sender(ws, s, load.clone(), tracker.clone(), deadline));
    }
    wait_finished(&tracker, load, deadline).await;
    let outcome = tracker.outcome(load);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    drop(held);
    outcome
}

/// Opens `n` connections that say hello (50 to a room) and then stay idle; returns
/// them once all are welcomed.
pub async fn idle_relay_connections(
    addr: SocketAddr,
    room: &str,
    n: usize,
    deadline: tokio::time::Instant,
) -> Result<Vec<Ws>, String> {
    let mut all = Vec::with_capacity(n);
    // Rooms of 50, joined one room at a time: a `welcome` listing some 300 peers or
    // more would not fit the contract's 16 KiB header (see docs/PERFORMANCE.md).
    for first in (0..n).step_by(50) {
        let mut set = tokio::task::JoinSet::new();
        for i in first..(first + 50).min(n) {
            let room = format!("{room}-{}", first / 50);
            set.spawn(async move { join_relay(addr, &room, 5000 + i, deadline).await });
        }
        while let Some(joined) = set.join_next().await {
            all.push(joined.map_err(|e| e.to_string())??);
        }
    }
    // Drain the presence messages so they do not sit in the relay's queues.
    for ws in &mut all {
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(1), ws.next()).await
        {
        }
    }
    Ok(all)
}

// ---------------------------------------------------------------------------
// The baseline: raw TCP fan-out of length-prefixed blobs.
//
// A client writes one role byte, `R` (receiver) or `S` (sender), and reads `K` once
// registered. A sender writes blobs: a 44-byte head (u64 length, u32 image index,
// 32 bytes of SHA-256) and the bytes. The server forwards the head and then each
// chunk of up to 1 MiB, as it arrives, to every receiver and every other sender (as
// a relay room's members get each other's pictures) through a bounded queue per
// connection, each prefixed by 8 bytes (u32 sender number, u32 length) so blobs of
// several senders can interleave: the same cut-through and sharing as the relay,
// nothing else. Integers are big-endian.

const HEAD: usize = 44;

/// Each receiver's queue: (its connection number, the queue of (sender number,
/// head or chunk)). Senders are receivers too, of the other senders' blobs, as a
/// relay room's members are of each other's pictures: the same fan-out work.
type ReceiverQueues = Arc<Mutex<Vec<(u32, mpsc::Sender<(u32, Bytes)>)>>>;

/// Registers connection `me` as a receiver and writes its queue to `write` until
/// the connection ends.
async fn receive_blobs(me: u32, mut write: OwnedWriteHalf, receivers: &ReceiverQueues) {
    let (tx, mut rx) = mpsc::channel::<(u32, Bytes)>(BASELINE_QUEUE_CHUNKS);
    receivers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((me, tx));
    if write.write_all(b"K").await.is_err() {
        return;
    }
    while let Some((from, chunk)) = rx.recv().await {
        let mut prefix = [0u8; 8];
        prefix[..4].copy_from_slice(&from.to_be_bytes());
        prefix[4..].copy_from_slice(&(chunk.len() as u32).to_be_bytes());
        if write.write_all(&prefix).await.is_err() || write.write_all(&chunk).await.is_err() {
            return;
        }
    }
}

/// Serves the baseline on `listener` until the process ends.
pub async fn serve_tcp_fanout(listener: TcpListener) {
    let receivers: ReceiverQueues = Arc::default();
    let mut next_sender = 0u32;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let receivers = receivers.clone();
        next_sender += 1;
        let me = next_sender;
        tokio::spawn(async move {
            let (mut read, write) = tcp.into_split();
            let mut role = [0u8; 1];
            if read.read_exact(&mut role).await.is_err() {
                return;
            }
            match role[0] {
                b'R' => {
                    tokio::spawn(async move {
                        // Hold the read half so the socket stays open; receivers send nothing.
                        let mut sink = [0u8; 64];
                        while let Ok(n) = read.read(&mut sink).await {
                            if n == 0 {
                                break;
                            }
                        }
                    });
                    receive_blobs(me, write, &receivers).await;
                }
                b'S' => {
                    {
                        let receivers = receivers.clone();
                        tokio::spawn(async move { receive_blobs(me, write, &receivers).await });
                    }
                    let mut head = [0u8; HEAD];
                    while read.read_exact(&mut head).await.is_ok() {
                        let len = u64::from_be_bytes(head[..8].try_into().unwrap_or_default());
                        let targets: Vec<_> = receivers
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .iter()
                            .filter(|(them, tx)| *them != me && !tx.is_closed())
                            .map(|(_, tx)| tx.clone())
                            .collect();
                        let head = Bytes::copy_from_slice(&head);
                        for tx in &targets {
                            let _ = tx.send((me, head.clone())).await;
                        }
                        let mut left = len as usize;
                        while left > 0 {
                            let want = left.min(CHUNK);
                            // Capacity is exactly `want`, so a read never runs into the next head.
                            let mut buf = BytesMut::with_capacity(want);
                            while buf.len() < want {
                                match read.read_buf(&mut buf).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(_) => {}
                                }
                            }
                            let chunk = buf.freeze();
                            left -= chunk.len();
                            for tx in &targets {
                                let _ = tx.send((me, chunk.clone())).await;
                            }
                        }
                    }
                }
                _ => {}
            }
        });
    }
}

/// Starts the baseline on its own thread and runtime (for the smoke test); the
/// bench runs it in its own process instead (`--serve-baseline`).
pub fn spawn_tcp_fanout_thread() -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = std_listener.local_addr().expect("address");
    std_listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            serve_tcp_fanout(listener).await;
        });
    });
    addr
}

async fn tcp_join(
    addr: SocketAddr,
    role: u8,
    deadline: tokio::time::Instant,
) -> Result<TcpStream, String> {
    let mut tcp = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    tcp.write_all(&[role])
        .await
        .map_err(|e| format!("role: {e}"))?;
    let mut ok = [0u8; 1];
    timeout_at(deadline, tcp.read_exact(&mut ok))
        .await
        .map_err(|_| "registration timed out".to_owned())?
        .map_err(|e| format!("registration: {e}"))?;
    Ok(tcp)
}

struct Blob {
    image: usize,
    len: u64,
    received: u64,
    /// The SHA-256 in the head is the one of the bytes sent.
    announced_right: bool,
    /// Every byte so far is the one sent there.
    bytes_right: bool,
}

async fn tcp_receiver(
    tcp: TcpStream,
    tracker: Arc<Tracker>,
    senders: usize,
    deadline: tokio::time::Instant,
) {
    let mut tcp = tokio::io::BufReader::with_capacity(256 * 1024, tcp);
    let mut buf = vec![0u8; 256 * 1024];
    let mut blobs: HashMap<u32, Blob> = HashMap::new();
    loop {
        let mut prefix = [0u8; 8];
        match timeout_at(deadline, tcp.read_exact(&mut prefix)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let from = u32::from_be_bytes(prefix[..4].try_into().unwrap_or_default());
        let mut left = u32::from_be_bytes(prefix[4..].try_into().unwrap_or_default()) as usize;
        let Some(blob) = blobs.get_mut(&from) else {
            let mut head = [0u8; HEAD];
            if left != HEAD {
                return tracker.error(format!("baseline: head of {left} bytes"));
            }
            match timeout_at(deadline, tcp.read_exact(&mut head)).await {
                Ok(Ok(_)) => {}
                _ => return,
            }
            let image = u32::from_be_bytes(head[8..12].try_into().unwrap_or_default()) as usize;
            blobs.insert(
                from,
                Blob {
                    image,
                    len: u64::from_be_bytes(head[..8].try_into().unwrap_or_default()),
                    received: 0,
                    announced_right: head[12..] == tracker.sent.of(image).1[..],
                    bytes_right: true,
                },
            );
            continue;
        };
        while left > 0 {
            let want = left.min(buf.len());
            match timeout_at(deadline, tcp.read(&mut buf[..want])).await {
                Ok(Ok(n)) if n > 0 => {
                    blob.bytes_right &= tracker.sent.matches(blob.image, blob.received, &buf[..n]);
                    blob.received += n as u64;
                    left -= n;
                }
                _ => return,
            }
        }
        if blob.received >= blob.len
            && let Some(blob) = blobs.remove(&from)
        {
            if blob.bytes_right
                && blob.announced_right
                && blob.len == tracker.sent.of(blob.image).0.len() as u64
            {
                tracker.verified(blob.image, blob.len, senders);
            } else {
                tracker.error(format!("baseline image {}: not the bytes sent", blob.image));
            }
        }
    }
}

async fn tcp_sender(
    tcp: TcpStream,
    sender: usize,
    load: Load,
    tracker: Arc<Tracker>,
    deadline: tokio::time::Instant,
) {
    let (mut read, mut tcp) = tcp.into_split();
    // The other senders' blobs: read and dropped, as the relay's senders do.
    let drain = tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(Ok(n)) = timeout_at(deadline, read.read(&mut buf)).await {
            if n == 0 {
                break;
            }
        }
    });
    let mut list = images_of(sender, &load);
    if sender == 0 {
        list.insert(0, 0);
    }
    let window = tracker.windows[sender].clone();
    for i in list {
        match timeout_at(deadline, window.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            _ => return,
        }
        let (bytes, sha) = tracker.sent.of(i);
        tracker.started(i);
        let mut head = [0u8; HEAD];
        head[..8].copy_from_slice(&(bytes.len() as u64).to_be_bytes());
        head[8..12].copy_from_slice(&(i as u32).to_be_bytes());
        head[12..].copy_from_slice(sha);
        let write = async {
            tcp.write_all(&head).await?;
            for part in bytes.chunks(CHUNK) {
                tcp.write_all(part).await?;
            }
            Ok::<_, std::io::Error>(())
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return tracker.error(format!("baseline sender: {e}")),
            Err(_) => return,
        }
        if i == 0 && !tracker.warmed_up(deadline).await {
            return tracker.error("the warm-up blob did not reach every receiver".to_owned());
        }
    }
    // Stay connected until the run ends (the caller aborts this task).
    let _ = drain.await;
}

/// One run against the baseline server at `addr`.
pub async fn run_tcp_load(addr: SocketAddr, load: &Load) -> Outcome {
    let deadline = tokio::time::Instant::now() + load.time_limit;
    let tracker = Tracker::new(load);
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..load.receivers {
        match tcp_join(addr, b'R', deadline).await {
            Ok(tcp) => {
                tasks.spawn(tcp_receiver(tcp, tracker.clone(), load.senders, deadline));
            }
            Err(e) => {
                tracker.error(format!("receiver {r}: {e}"));
                return tracker.outcome(load);
            }
        }
    }
    for s in 0..load.senders {
        match tcp_join(addr, b'S', deadline).await {
            Ok(tcp) => {
                tasks.spawn(tcp_sender(tcp, s, load.clone(), tracker.clone(), deadline));
            }
            Err(e) => {
                tracker.error(format!("sender {s}: {e}"));
                return tracker.outcome(load);
            }
        }
    }
    wait_finished(&tracker, load, deadline).await;
    let outcome = tracker.outcome(load);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    outcome
}

/// Opens `n` idle baseline receivers.
pub async fn idle_tcp_connections(
    addr: SocketAddr,
    n: usize,
    deadline: tokio::time::Instant,
) -> Result<Vec<TcpStream>, String> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        all.push(tcp_join(addr, b'R', deadline).await?);
    }
    Ok(all)
}

// ---------------------------------------------------------------------------
// Servers in their own processes, and what /proc says about them.

/// Peak and current resident memory and CPU time of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStats {
    pub peak_rss_kb: u64,
    pub rss_kb: u64,
    /// User + system time, seconds.
    pub cpu_s: f64,
}

/// Reads `/proc/<pid>/status` (VmHWM, VmRSS) and `/proc/<pid>/stat` (utime + stime).
pub fn proc_stats(pid: u32) -> ProcStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    // utime is field 14, stime 15 (1-based); `after` starts at field 3.
    let cpu_ticks = ticks(14 - 3) + ticks(15 - 3);
    ProcStats {
        peak_rss_kb: field("VmHWM:"),
        rss_kb: field("VmRSS:"),
        cpu_s: cpu_ticks as f64 / clock_ticks_per_sec(),
    }
}

fn clock_ticks_per_sec() -> f64 {
    // USER_HZ is 100 on every Linux the project runs on; `getconf CLK_TCK` says so.
    100.0
}

/// Resets the peak RSS (VmHWM) of `pid` to its current RSS (Linux ≥ 4.0, own processes).
pub fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Where the relay keeps history in a run.
#[derive(Debug, Clone)]
pub enum RelayStorage {
    Memory,
    Disk(PathBuf),
}

/// A server in its own process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `snapwire-relay` on 127.0.0.1:0 and waits for its "listening on" line.
    pub fn relay(bin: &Path, storage: &RelayStorage, max_image_mb: u64) -> Result<Self, String> {
        let mut cmd = Command::new(bin);
        // Every client of the load runs on this machine: no per-host limits.
        cmd.args(["--listen", "127.0.0.1:0", "--no-mdns", "--no-host-limits"])
            .args(["--max-image-mb", &max_image_mb.to_string()]);
        match storage {
            RelayStorage::Memory => cmd.arg("--memory"),
            RelayStorage::Disk(dir) => cmd.arg("--data-dir").arg(dir),
        };
        cmd.env("RUST_LOG", "warn");
        Self::spawn(cmd)
    }

    /// Starts `exe --serve-baseline` (the bench itself) and waits for its address.
    pub fn baseline(exe: &Path) -> Result<Self, String> {
        let mut cmd = Command::new(exe);
        cmd.arg("--serve-baseline");
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // The line comes within a second; a thread bounds the wait.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent && let Some(addr) = parse_listening(&line) {
                    let _ = tx.send(addr);
                    sent = true;
                }
                // Keep draining so the child never blocks on a full pipe.
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => Ok(ServerProcess { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err("the server did not print its address within 20 s".to_owned())
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stats(&self) -> ProcStats {
        proc_stats(self.pid())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in a line like `... listening on ws://127.0.0.1:1234/ws ...`.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on ").nth(1)?;
    let rest = rest.strip_prefix("ws://").unwrap_or(rest);
    let addr = rest.split(['/', ' ']).next()?;
    addr.parse().ok()
}
