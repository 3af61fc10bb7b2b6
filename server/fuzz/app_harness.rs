//! What the app's fuzz target checks, for one input: the app's network worker
//! (`snapwire::net::fuzzing::Driver`, the worker's own code with no socket)
//! fed an arbitrary sequence of relay messages, UI commands, "the writer has
//! room", lost connections and new welcomes, with every event it emits applied
//! to the app's model (`snapwire::state::Model`). Shared, by `#[path]`, by the
//! fuzz target (`fuzz_targets/app_relayed.rs`, nightly) and by the app's stable
//! test suite (`tests/fuzz_app_corpus.rs`), which runs the committed corpus
//! (`corpus/app_relayed/`) and the regressions through the same function. It
//! panics only when the app breaks one of its own promises:
//!
//! - nothing the relay sends makes the worker or the model panic;
//! - every frame the worker writes parses as a client message; an upload's
//!   chunks are contiguous from 0, within the welcome's chunk size, and its
//!   `image_end` comes after exactly `size` bytes; nothing of an upload goes
//!   out after the UI was told it was cancelled;
//! - a receipt names only an item from someone else that was reported whole;
//! - an image reported verified has the announced size and SHA-256;
//! - the model: one entry per seq and per stream, found by its seq; an image
//!   shown ready from someone else holds bytes matching its SHA-256; progress
//!   never beyond the size; each own item once.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use snapwire::net::Command;
use snapwire::net::fuzzing::Driver;
use snapwire::state::{Body, Event, ImageMeta, ImageState, Model, PreparedImage};
use snapwire_relay::protocol::{
    CancelReason, ClientHeader, ErrorCode, Limits, RelayHeader, RelayImageBegin, RelayMessage,
    User, Welcome, parse_client, validate,
};

/// The client secret of the app under test.
const SECRET: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
/// Steps per input: enough for several connections, few enough to stay fast.
const MAX_STEPS: usize = 300;

/// The input, read a byte at a time (zeros once it runs out).
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.byte());
        }
        v
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let end = (self.pos + n).min(self.data.len());
        let out = self.data.get(self.pos..end).unwrap_or_default().to_vec();
        self.pos += n;
        out
    }

    /// A seq: small, so items collide with each other and with acks.
    fn seq(&mut self) -> u64 {
        u64::from(self.byte() % 40)
    }
}

fn user(n: u8, me: &str) -> User {
    match n % 4 {
        0 => User {
            id: me.to_owned(),
            name: "Ana".into(),
        },
        1 => User {
            id: "bbbbbbbbbbbb".into(),
            name: "Ben".into(),
        },
        2 => User {
            id: "cccccccccccc".into(),
            name: "Cy\u{7}\n".into(),
        },
        _ => User {
            id: String::new(),
            name: String::new(),
        },
    }
}

/// The bytes of the image streamed under `sid` (so chunks can be right).
fn content(sid: u64, size: u64) -> Vec<u8> {
    (0..size.min(4096))
        .map(|i| (sid as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn limits(input: &mut Input) -> Limits {
    let b = input.byte();
    Limits {
        max_image_bytes: [64, 4096, 1 << 20, u64::MAX][usize::from(b % 4)],
        max_chunk_bytes: [0, 1, 7, 64, 1 << 20][usize::from((b >> 2) % 5)],
        max_text_bytes: 1 << 14,
        max_uploads: u64::from(b >> 5),
    }
}

const REASONS: [CancelReason; 8] = [
    CancelReason::SenderLeft,
    CancelReason::Cancelled,
    CancelReason::BadChunk,
    CancelReason::BadHash,
    CancelReason::Storage,
    CancelReason::ServerShutdown,
    CancelReason::Lagging,
    CancelReason::Other,
];

fn frame(header: RelayHeader, body: impl Into<Bytes>) -> Bytes {
    RelayMessage::new(header, body).encode()
}

/// What the checks remember across steps.
#[derive(Default)]
struct Seen {
    /// Announced (size, sha256) of each stream the worker reported, by sid.
    begun: HashMap<u64, (u64, String)>,
    /// Seqs of items from others reported whole (a receipt may name them).
    whole: HashSet<u64>,
    /// Own uploads the UI was told are cancelled (until sent again).
    cancelled: HashSet<String>,
    /// Bytes written so far of each upload on this connection, with its size.
    uploading: HashMap<String, (u64, u64)>,
    /// Frames and events already checked.
    frames: usize,
    events: usize,
}

/// One input through the worker and the model.
pub fn relayed(data: &[u8]) {
    run(data);
}

/// What an input made the worker do, in words (tests check that the seeds
/// reach what they are named after).
pub fn reached(data: &[u8]) -> Vec<&'static str> {
    let Some(driver) = run(data) else {
        return Vec::new();
    };
    let mut reached = Vec::new();
    for event in &driver.emitted {
        reached.push(match event {
            Event::Text { .. } => "text",
            Event::ImageComplete { verified: true, .. } => "verified image",
            Event::ImageComplete {
                verified: false, ..
            } => "unverified image",
            Event::ImageCancel { .. } => "image cancel",
            Event::StreamRefused { .. } => "refused",
            Event::Ack { .. } => "ack",
            Event::UploadCancelled { .. } => "upload cancelled",
            Event::RelayError { message, .. } if message.contains("cannot read") => "unreadable",
            Event::RelayError { .. } => "relay error",
            _ => continue,
        });
    }
    let mut ids = HashSet::new();
    for frame in &driver.sent {
        let id = match parse_client(frame.clone()).map(|m| m.header) {
            Ok(ClientHeader::Text { id }) => id,
            Ok(ClientHeader::ImageBegin(begin)) => begin.id,
            _ => continue,
        };
        if !ids.insert(id) {
            reached.push("sent again");
        }
    }
    reached
}

fn run(data: &[u8]) -> Option<Driver> {
    let mut input = Input { data, pos: 0 };
    let Ok(mut driver) = Driver::new(SECRET) else {
        return None; // no runtime on this machine: nothing of the app's to test
    };
    let me = validate::user_id(SECRET);
    let mut model = Model::new(me.clone());
    let mut seen = Seen::default();
    let mut issued: Vec<String> = Vec::new();
    let mut limits_now = Limits {
        max_image_bytes: 1 << 20,
        max_chunk_bytes: 64,
        max_text_bytes: 1 << 14,
        max_uploads: 4,
    };
    // Relay-side offsets, so most chunks come where they should.
    let mut offsets: HashMap<u64, u64> = HashMap::new();
    let mut epoch = 0u8;
    welcome(&mut driver, &mut input, &me, epoch, &mut limits_now);
    check(&driver, &mut model, &mut seen, &limits_now);
    for _ in 0..MAX_STEPS {
        if input.done() {
            break;
        }
        let op = input.byte() % 16;
        match op {
            0 => {
                let header = RelayHeader::Text {
                    seq: input.seq(),
                    ts: u64::from(input.byte()),
                    from: user(input.byte(), &me),
                    history: input.byte().is_multiple_of(2),
                };
                let n = usize::from(input.byte() % 16);
                driver.relay(frame(header, input.take(n)));
            }
            1 => {
                let sid = u64::from(input.byte() % 8);
                let size = match input.byte() % 8 {
                    0 => input.u64(),
                    n => u64::from(n) * u64::from(input.byte() % 16 + 1),
                };
                let sha256 = if input.byte().is_multiple_of(4) {
                    "0".repeat(64)
                } else {
                    sha(&content(sid, size))
                };
                let from = user(input.byte(), &me);
                let history = input.byte().is_multiple_of(2);
                let preview_len = usize::from(input.byte() % 4) * 8;
                let preview = input.take(preview_len);
                offsets.insert(sid, 0);
                let header = RelayHeader::ImageBegin(RelayImageBegin {
                    sid,
                    ts: 1,
                    from,
                    name: "p.png".into(),
                    mime: "image/png".into(),
                    size,
                    sha256,
                    width: Some(4),
                    height: None,
                    history,
                });
                driver.relay(frame(header, preview));
            }
            2 => {
                let sid = u64::from(input.byte() % 8);
                let len = u64::from(input.byte() % 20);
                let expected = offsets.get(&sid).copied().unwrap_or(0);
                let offset = if input.byte().is_multiple_of(8) {
                    u64::from(input.byte())
                } else {
                    expected
                };
                let all = content(sid, offset + len);
                let body = all
                    .get(usize::try_from(offset).unwrap_or(usize::MAX)..)
                    .unwrap_or_default()
                    .to_vec();
                offsets.insert(sid, offset + body.len() as u64);
                driver.relay(frame(RelayHeader::ImageChunk { sid, offset }, body));
            }
            3 => {
                let sid = u64::from(input.byte() % 8);
                let header = RelayHeader::ImageEnd {
                    sid,
                    seq: input.seq(),
                    ts: 2,
                };
                driver.relay(frame(header, Bytes::new()));
            }
            4 => {
                let sid = u64::from(input.byte() % 8);
                let reason = REASONS[usize::from(input.byte()) % REASONS.len()];
                driver.relay(frame(
                    RelayHeader::ImageCancel { sid, reason },
                    Bytes::new(),
                ));
            }
            5 => {
                let id = pick(&issued, input.byte());
                let header = RelayHeader::Ack {
                    id,
                    seq: input.seq(),
                    ts: 3,
                };
                driver.relay(frame(header, Bytes::new()));
            }
            6 => {
                let header = RelayHeader::Receipt {
                    seq: input.seq(),
                    user: user(input.byte(), &me),
                };
                driver.relay(frame(header, Bytes::new()));
            }
            7 => {
                let code = ErrorCode::ALL[usize::from(input.byte()) % ErrorCode::ALL.len()];
                let id = (input.byte().is_multiple_of(2)).then(|| pick(&issued, input.byte()));
                let header = RelayHeader::Error {
                    code,
                    message: "no".into(),
                    id,
                };
                driver.relay(frame(header, Bytes::new()));
            }
            8 => {
                let user = user(input.byte(), &me);
                let header = if input.byte().is_multiple_of(2) {
                    RelayHeader::Joined { user }
                } else {
                    RelayHeader::Left { user }
                };
                driver.relay(frame(header, Bytes::new()));
            }
            9 => {
                let n = usize::from(input.byte() % 64);
                driver.relay(Bytes::from(input.take(n)));
            }
            10 => {
                let id = format!("t{}", issued.len());
                let len = usize::from(input.byte() % 8);
                let text = String::from_utf8_lossy(&input.take(len)).into_owned();
                model.add_own_text(&id, &text, 1);
                driver.command(Command::SendText {
                    id: id.clone(),
                    text,
                });
                seen.cancelled.remove(&id);
                issued.push(id);
            }
            11 => {
                let id = format!("i{}", issued.len());
                let size = u64::from(input.byte() % 200) + 1;
                let bytes = Bytes::from(content(u64::from(input.byte()), size));
                let image = PreparedImage {
                    meta: ImageMeta {
                        name: "mine.png".into(),
                        mime: "image/png".into(),
                        size: bytes.len() as u64,
                        sha256: sha(&bytes),
                        width: Some(1),
                        height: Some(1),
                    },
                    preview: None,
                    bytes,
                };
                model.add_own_image(&id, "mine.png", 1);
                model.apply(Event::Prepared {
                    id: id.clone(),
                    result: Ok(image.clone()),
                });
                driver.command(Command::SendImage {
                    id: id.clone(),
                    image,
                });
                seen.cancelled.remove(&id);
                issued.push(id);
            }
            12 => {
                let id = pick(&issued, input.byte());
                driver.command(Command::Cancel { id });
            }
            13 => {
                for _ in 0..input.byte() % 8 + 1 {
                    if driver.write().is_none() {
                        break;
                    }
                }
            }
            14 => {
                driver.lost();
                seen.uploading.clear();
                offsets.clear();
            }
            _ => {
                if input.byte().is_multiple_of(4) {
                    epoch = epoch.wrapping_add(1);
                }
                seen.uploading.clear();
                offsets.clear();
                welcome(&mut driver, &mut input, &me, epoch, &mut limits_now);
            }
        }
        check(&driver, &mut model, &mut seen, &limits_now);
    }
    Some(driver)
}

fn pick(issued: &[String], b: u8) -> String {
    if issued.is_empty() || b == 255 {
        return format!("nobody-{b}");
    }
    issued[usize::from(b) % issued.len()].clone()
}

fn welcome(driver: &mut Driver, input: &mut Input, me: &str, epoch: u8, now: &mut Limits) {
    let limits = limits(input);
    *now = limits;
    let welcome = Welcome {
        v: 1,
        user: User {
            id: me.to_owned(),
            name: "Ana".into(),
        },
        room: "lobby".into(),
        epoch: format!("e{epoch}"),
        peers: vec![user(1, me)],
        history: u64::from(input.byte()),
        limits,
    };
    if !driver.welcome(welcome.clone()) {
        // The history was replaced: the worker reconnects at once, welcomed again.
        driver.welcome(welcome);
    }
}

/// Everything new since the last step: applied to the model, then checked.
fn check(driver: &Driver, model: &mut Model, seen: &mut Seen, limits: &Limits) {
    for event in &driver.emitted[seen.events..] {
        match event {
            Event::ImageBegin { sid, meta, .. } => {
                seen.begun.insert(*sid, (meta.size, meta.sha256.clone()));
            }
            Event::ImageProgress { sid, received } => {
                let (size, _) = seen.begun.get(sid).expect("progress of an announced image");
                assert!(received <= size, "progress {received} past the size {size}");
            }
            Event::ImageComplete {
                sid,
                seq,
                bytes,
                verified,
                ..
            } => {
                let (size, sha256) = seen.begun.get(sid).expect("an announced image completes");
                if *verified {
                    assert_eq!(bytes.len() as u64, *size, "a verified image has its size");
                    assert_eq!(&sha(bytes), sha256, "a verified image has its SHA-256");
                    seen.whole.insert(*seq);
                }
            }
            Event::Text { seq, from, .. } if from.id != model.my_id => {
                seen.whole.insert(*seq);
            }
            Event::UploadCancelled { id } => {
                seen.cancelled.insert(id.clone());
            }
            _ => {}
        }
        model.apply(event.clone());
    }
    seen.events = driver.emitted.len();

    for frame in &driver.sent[seen.frames..] {
        let message = parse_client(frame.clone()).expect("the worker writes only client messages");
        match &message.header {
            ClientHeader::Receipt { seq } => {
                assert!(
                    seen.whole.contains(seq),
                    "a receipt for seq {seq}, never received whole"
                );
            }
            ClientHeader::ImageBegin(begin) => {
                assert!(
                    !seen.cancelled.contains(&begin.id),
                    "{} begun after its cancel",
                    begin.id
                );
                seen.uploading.insert(begin.id.clone(), (0, begin.size));
            }
            ClientHeader::ImageChunk { id, offset } => {
                assert!(
                    !seen.cancelled.contains(id),
                    "{id}: a chunk after its cancel"
                );
                let (sent, size) = seen
                    .uploading
                    .get_mut(id)
                    .expect("a chunk of a begun upload");
                assert_eq!(offset, sent, "{id}: chunks contiguous from 0");
                assert!(message.body.len() as u64 <= limits.max_chunk_bytes.max(1));
                *sent += message.body.len() as u64;
                assert!(sent <= size, "{id}: past its size");
            }
            ClientHeader::ImageEnd { id } => {
                assert!(
                    !seen.cancelled.contains(id),
                    "{id}: an end after its cancel"
                );
                let (sent, size) = seen.uploading.remove(id).expect("an end of a begun upload");
                assert_eq!(sent, size, "{id}: image_end after exactly its size");
            }
            ClientHeader::Cancel { id } => {
                seen.uploading.remove(id);
            }
            ClientHeader::Text { .. } => {}
            ClientHeader::Hello(_) => panic!("a hello inside a connection"),
        }
    }
    seen.frames = driver.sent.len();
    check_model(model);
}

/// What the timeline promises whatever happened.
fn check_model(model: &Model) {
    check_entries(model);
    // One entry per seq: what came from the relay is never shown twice, nor
    // beside our own copy. (Only a relay that acks two of our items with one
    // seq can make two entries share it, both ours: each stays, acked.)
    let mut holders: HashMap<u64, Vec<bool>> = HashMap::new();
    for entry in &model.entries {
        if let Some(seq) = entry.seq {
            holders
                .entry(seq)
                .or_default()
                .push(entry.local_id.is_some());
        }
    }
    for entry in &model.entries {
        let Some(seq) = entry.seq else { continue };
        let held = &holders[&seq];
        if held.len() == 1 {
            let found = model.by_seq(seq).map(|e| e.key);
            assert_eq!(found, Some(entry.key), "seq {seq} found");
        } else {
            assert!(held.iter().all(|own| *own), "seq {seq} shown twice");
        }
    }
}

fn check_entries(model: &Model) {
    let mut sids = HashSet::new();
    let mut own_ids = HashSet::new();
    for pair in model.entries.windows(2) {
        assert!(pair[0].key < pair[1].key, "entries keep their order");
    }
    for entry in &model.entries {
        if let Some(sid) = entry.sid {
            assert!(sids.insert(sid), "stream {sid} in two entries");
        }
        if let Some(id) = &entry.local_id {
            assert!(own_ids.insert(id.clone()), "own item {id} twice");
        }
        if let Body::Image(image) = &entry.body {
            if let (Some(meta), ImageState::Streaming { received }) = (&image.meta, &image.state) {
                assert!(*received <= meta.size, "streamed past the size");
            }
            if image.state == ImageState::Ready && entry.local_id.is_none() {
                let meta = image.meta.as_ref().expect("a ready image has its meta");
                if let Some(bytes) = &image.bytes {
                    assert_eq!(sha(bytes), meta.sha256, "a ready image is whole");
                } else {
                    assert!(
                        image.spilled.is_some(),
                        "a ready image has its bytes somewhere"
                    );
                }
            }
        }
    }
}
