//! What each fuzz target checks, for one input. Shared, by `#[path]`, by the
//! fuzz targets (`fuzz_targets/*.rs`, nightly, libFuzzer) and by the stable test
//! suite (`server/tests/fuzz_corpus.rs`), which runs the committed corpus through
//! the very same functions. Each function panics only when the relay's code breaks
//! one of its own promises; bad input must come back as an error value.
#![allow(dead_code)]

use bytes::Bytes;
use snapwire_relay::protocol::{
    ClientHeader, ErrorCode, Hello, ImageFormat, RelayHeader, RelayMessage, decode_frame,
    parse_client, parse_relay, validate,
};

/// The frame decoder and both message parsers: never a panic, every error a code
/// the contract allows, and what parses re-encodes to a message that parses the same.
pub fn frame(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    match decode_frame(bytes.clone()) {
        Ok(frame) => {
            assert!(!frame.kind.is_empty() || frame.header.contains_key("type"));
        }
        Err(err) => assert_eq!(err.code, ErrorCode::BadFrame, "{}", err.message),
    }
    if let Ok(message) = parse_client(bytes.clone()) {
        let again = parse_client(message.encode()).expect("a parsed client message re-parses");
        assert_eq!(again, message, "client message round trip");
        if let ClientHeader::Hello(hello) = &message.header {
            check_hello(hello);
        }
    }
    if let Ok(message) = parse_relay(bytes) {
        let encoded = message.encode();
        let again: RelayMessage = parse_relay(encoded).expect("a parsed relay message re-parses");
        assert_eq!(again.body, message.body, "relay message body round trip");
    }
}

/// What a valid `hello` promises the rest of the relay.
fn check_hello(hello: &Hello) {
    assert_eq!(
        validate::display_name(&hello.name).as_deref(),
        Ok(hello.name.as_str())
    );
    assert_eq!(
        validate::room_name(&hello.room).as_deref(),
        Ok(hello.room.as_str())
    );
    assert_eq!(hello.client.len(), 32);
    assert!(
        hello
            .client
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    let id = validate::user_id(&hello.client);
    assert_eq!(id.len(), 12);
}

/// The relay's `hello` checks and the field rules, fed a header made from the
/// input: the first byte picks which field the rest of the input goes into.
pub fn hello(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest).into_owned();
    let mut header = serde_json::json!({
        "type": "hello", "v": 1, "name": "Ana", "room": "lobby",
        "client": "0123456789abcdef0123456789abcdef", "token": null, "since": null,
    });
    let field = ["name", "room", "client", "token", "since", "v"][usize::from(pick % 6)];
    // Half the time the field is the text as a string, else the input as JSON.
    header[field] = if pick & 0x80 == 0 {
        serde_json::Value::String(text.clone())
    } else {
        serde_json::from_slice(rest).unwrap_or(serde_json::Value::Null)
    };
    let serde_json::Value::Object(map) = header else {
        unreachable!("built as an object")
    };
    match Hello::from_header(&map) {
        Ok(hello) => check_hello(&hello),
        Err(err) => assert!(err.code.is_fatal(), "{:?} is not fatal", err.code),
    }
    let _ = Hello::since_error(&map);

    // Every field rule, on the raw text.
    if let Ok(name) = validate::display_name(&text) {
        assert!(!name.is_empty() && name.chars().count() <= validate::MAX_NAME_CHARS);
        assert!(!name.chars().any(char::is_control));
    }
    if let Ok(room) = validate::room_name(&text) {
        assert!(!room.starts_with('.') && room.len() <= validate::MAX_ROOM_CHARS);
    }
    let _ = validate::client_secret(&text);
    let _ = validate::item_id(&text);
    let _ = validate::sha256_hex(&text);
    for format in ImageFormat::ALL {
        let name = validate::file_display_name(&text, format);
        assert!(!name.contains('/') && !name.contains('\\'), "{name:?}");
        assert!(!matches!(name.trim(), "" | "." | ".."), "{name:?}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(
            name.chars().count() <= validate::MAX_FILE_NAME_CHARS + 5,
            "{name:?}"
        );
    }
    let secret = text.as_bytes();
    assert!(validate::constant_time_eq(secret, secret));
}

/// Image sniffing and the preview check: consistent with each other and with the limits.
pub fn image(data: &[u8]) {
    let sniffed = ImageFormat::sniff(data);
    for format in ImageFormat::ALL {
        let matches = format.matches_signature(data);
        if sniffed == Some(format) {
            assert!(
                matches,
                "{format:?} sniffed but its signature does not match"
            );
        }
        let _ = ImageFormat::from_mime(format.mime());
    }
    if validate::preview(data).is_ok() {
        assert!(data.len() <= validate::MAX_PREVIEW_BYTES);
        assert!(matches!(
            sniffed,
            Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Webp)
        ));
        let size = imagesize::blob_size(data).expect("an accepted preview has a size");
        let longer = size.width.max(size.height);
        assert!(longer > 0 && longer <= validate::MAX_PREVIEW_SIDE as usize);
    }
}

/// One file the store fuzz target writes into the data directory before opening it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFile {
    /// `rooms/<room dir>/room.json`
    RoomFile(Vec<u8>),
    /// `rooms/<room dir>/items/<20-digit seq>.item`
    Item(u64, Vec<u8>),
    /// `rooms/<room dir>/items/<name>`: a file whose name may not be an item's.
    Stray(String, Vec<u8>),
    /// `rooms/<room dir>/tmp/<name>`: a leftover upload.
    Temp(String, Vec<u8>),
}

/// The room every store input is about.
pub const STORE_ROOM: &str = "lobby";

/// Encodes files as a store fuzz input: `[max items][tag, u16 LE len, bytes]*`
/// (names of `Stray`/`Temp` and the seq of `Item` come first in `bytes`).
pub fn store_input(max_items: u8, files: &[StoreFile]) -> Vec<u8> {
    let mut out = vec![max_items];
    for file in files {
        let (tag, payload) = match file {
            StoreFile::RoomFile(bytes) => (0u8, bytes.clone()),
            StoreFile::Item(seq, bytes) => {
                let mut p = seq.to_le_bytes().to_vec();
                p.extend_from_slice(bytes);
                (1, p)
            }
            StoreFile::Stray(name, bytes) | StoreFile::Temp(name, bytes) => {
                let mut p = vec![name.len() as u8];
                p.extend_from_slice(name.as_bytes());
                p.extend_from_slice(bytes);
                (
                    if matches!(file, StoreFile::Stray(..)) {
                        2
                    } else {
                        3
                    },
                    p,
                )
            }
        };
        let len = payload.len().min(usize::from(u16::MAX));
        out.push(tag);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&payload[..len]);
    }
    out
}

/// Decodes a store fuzz input; a truncated last record is dropped.
pub fn parse_store_input(data: &[u8]) -> (u8, Vec<StoreFile>) {
    let Some((&max_items, mut rest)) = data.split_first() else {
        return (1, Vec::new());
    };
    let mut files = Vec::new();
    while rest.len() >= 3 {
        let tag = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        if rest.len() < len {
            break;
        }
        let (payload, tail) = rest.split_at(len);
        rest = tail;
        let named = |payload: &[u8]| -> Option<(String, Vec<u8>)> {
            let (&n, rest) = payload.split_first()?;
            let n = usize::from(n).min(rest.len());
            let name: String = String::from_utf8_lossy(&rest[..n])
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            // Never a path: `.`/`..`/empty would name a directory.
            let name = match name.as_str() {
                "" | "." | ".." => "x".to_owned(),
                _ => name,
            };
            Some((name, rest[n..].to_vec()))
        };
        match tag % 4 {
            0 => files.push(StoreFile::RoomFile(payload.to_vec())),
            1 if payload.len() >= 8 => {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&payload[..8]);
                // Small seqs, so items and room.json can agree.
                files.push(StoreFile::Item(
                    u64::from_le_bytes(seq) % 64,
                    payload[8..].to_vec(),
                ));
            }
            2 => files.extend(named(payload).map(|(n, b)| StoreFile::Stray(n, b))),
            3 => files.extend(named(payload).map(|(n, b)| StoreFile::Temp(n, b))),
            _ => {}
        }
    }
    (max_items, files)
}

/// The directory of [`STORE_ROOM`] below `rooms/` (the store's own naming rule).
pub fn room_dir_name(room: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(room.as_bytes())[..16])
}

/// Writes `files` under `dir` as a data directory.
pub fn write_store_dir(dir: &std::path::Path, files: &[StoreFile]) {
    let room = dir.join("rooms").join(room_dir_name(STORE_ROOM));
    for sub in ["items", "tmp"] {
        std::fs::create_dir_all(room.join(sub)).expect("create the room's directories");
    }
    for file in files {
        let (path, bytes) = match file {
            StoreFile::RoomFile(bytes) => (room.join("room.json"), bytes),
            StoreFile::Item(seq, bytes) => {
                (room.join("items").join(format!("{seq:020}.item")), bytes)
            }
            StoreFile::Stray(name, bytes) => (room.join("items").join(name), bytes),
            StoreFile::Temp(name, bytes) => (room.join("tmp").join(name), bytes),
        };
        std::fs::write(path, bytes).expect("write a file of the data directory");
    }
}

/// The store's recovery from whatever its data directory holds: opening never
/// panics; what it loads is consistent (ascending seqs above what was pruned,
/// readable image bytes of the announced size, or an error); a new commit takes a
/// seq above every one seen, and survives a reopen. Returns how many items loaded.
pub fn store(dir: &std::path::Path, data: &[u8]) -> usize {
    use snapwire_relay::store::{Content, NewItem, Store};
    use snapwire_relay::{Retention, Storage};

    let (max_items, files) = parse_store_input(data);
    write_store_dir(dir, &files);
    let retention = Retention {
        max_items: usize::from(max_items % 8) + 1,
        max_bytes: 1 << 20,
    };
    let storage = Storage::Disk(dir.to_path_buf());
    let Ok(store) = Store::open(&storage, retention) else {
        return 0;
    };
    let Ok(room) = store.room(STORE_ROOM) else {
        return 0; // an error value (a room.json of another room, say) is fine
    };
    let items = room.items_after(0, usize::MAX);
    assert!(
        items.len() <= retention.max_items,
        "retention holds after recovery"
    );
    let mut last = room.pruned_through();
    for item in &items {
        assert!(item.seq > last, "seqs ascend above what was pruned");
        last = item.seq;
        if let Content::Image(image) = &item.content {
            // An error (a file changed under us) is fine; a wrong length is not.
            if let Ok(bytes) = room.read_image(item, 0, image.size as usize) {
                assert_eq!(bytes.len() as u64, image.size, "seq {}", item.seq);
            }
        }
    }
    assert!(room.last_seq() >= last);
    let before = room.last_seq();
    let new = NewItem {
        from: snapwire_relay::protocol::User {
            id: "0123456789ab".to_owned(),
            name: "Fuzz".to_owned(),
        },
        client_key: "k".repeat(64),
        item_id: "fuzz-new".to_owned(),
        content: Content::Text(Bytes::from_static(b"after recovery")),
    };
    let Ok(item) = room.commit(new, None) else {
        return items.len();
    };
    if item.item_id == "fuzz-new"
        && item.content == Content::Text(Bytes::from_static(b"after recovery"))
        && item.seq > before
    {
        drop(room);
        drop(store);
        let store = Store::open(&storage, retention).expect("the store reopens after a commit");
        let room = store
            .room(STORE_ROOM)
            .expect("the room reopens after a commit");
        assert_eq!(
            room.find(&"k".repeat(64), "fuzz-new").map(|(seq, _)| seq),
            Some(item.seq),
            "a commit survives a reopen"
        );
    }
    items.len()
}

/// A byte reader for the `session` target's little language.
struct Ops<'a>(&'a [u8]);

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }
}

/// The client messages a `session` input stands for: after a valid `hello` (unless
/// the first byte's top bit is set), a sequence of texts, image begins, chunks, ends,
/// cancels, receipts, whole valid images, second hellos and raw messages.
pub fn session_messages(data: &[u8]) -> Vec<Bytes> {
    use serde_json::json;
    use snapwire_relay::protocol::encode_frame;
    let mut ops = Ops(data);
    let mut out = Vec::new();
    let hello = |since: Option<u8>| {
        encode_frame(
            &json!({"type":"hello","v":1,"name":"Fuzz","room":"lobby",
                "client":"0123456789abcdef0123456789abcdef","since":since}),
            b"",
        )
    };
    let Some(first) = ops.byte() else {
        return vec![hello(None)];
    };
    if first & 0x80 == 0 {
        out.push(hello(None));
    }
    let id = |b: u8| format!("c-{}", b % 8);
    let png = |len: usize, seed: u8| -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend((0..len.saturating_sub(8)).map(|i| (i as u8).wrapping_mul(31) ^ seed));
        bytes.truncate(len.max(1));
        bytes
    };
    while let Some(op) = ops.byte() {
        if out.len() >= 64 {
            break;
        }
        match op % 10 {
            0 => {
                let n = usize::from(ops.byte().unwrap_or(0));
                out.push(Bytes::from(ops.bytes(n)));
            }
            1 => out.push(hello(ops.byte())),
            2 => {
                let id = id(ops.byte().unwrap_or(0));
                let n = usize::from(ops.byte().unwrap_or(0));
                out.push(encode_frame(&json!({"type":"text","id":id}), &ops.bytes(n)));
            }
            3 => {
                let id = id(ops.byte().unwrap_or(0));
                let size = u64::from(ops.u16().unwrap_or(0)) % 5000;
                let mime = [
                    "image/png",
                    "image/jpeg",
                    "image/gif",
                    "image/webp",
                    "image/bmp",
                    "text/plain",
                ][usize::from(ops.byte().unwrap_or(0) % 6)];
                let sha = hex::encode(ops.bytes(32));
                let preview_len = usize::from(ops.byte().unwrap_or(0));
                let preview = ops.bytes(preview_len);
                out.push(encode_frame(
                    &json!({"type":"image_begin","id":id,"name":"../x.png","mime":mime,"size":size,"sha256":sha}),
                    &preview,
                ));
            }
            4 => {
                let id = id(ops.byte().unwrap_or(0));
                let offset = ops.u16().unwrap_or(0);
                let n = usize::from(ops.byte().unwrap_or(0));
                let mut body = ops.bytes(n);
                if offset == 0 && body.len() >= 8 {
                    body[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
                }
                out.push(encode_frame(
                    &json!({"type":"image_chunk","id":id,"offset":offset}),
                    &body,
                ));
            }
            5 => out.push(encode_frame(
                &json!({"type":"image_end","id":id(ops.byte().unwrap_or(0))}),
                b"",
            )),
            6 => out.push(encode_frame(
                &json!({"type":"cancel","id":id(ops.byte().unwrap_or(0))}),
                b"",
            )),
            7 => out.push(encode_frame(
                &json!({"type":"receipt","seq":ops.byte().unwrap_or(0)}),
                b"",
            )),
            8 => {
                let id = id(ops.byte().unwrap_or(0));
                let len = 1 + usize::from(ops.u16().unwrap_or(0)) % 5000;
                let bytes = png(len, ops.byte().unwrap_or(0));
                // At most 32 chunks: thousands of 1-byte chunks only make a run slow.
                let chunk = (1 + usize::from(ops.u16().unwrap_or(0)) % len).max(len.div_ceil(32));
                use sha2::{Digest, Sha256};
                out.push(encode_frame(
                    &json!({"type":"image_begin","id":id,"name":"cat.png","mime":"image/png",
                        "size":len,"sha256":hex::encode(Sha256::digest(&bytes))}),
                    b"",
                ));
                for (i, part) in bytes.chunks(chunk).enumerate() {
                    out.push(encode_frame(
                        &json!({"type":"image_chunk","id":id,"offset":i * chunk}),
                        part,
                    ));
                }
                out.push(encode_frame(&json!({"type":"image_end","id":id}), b""));
            }
            _ => {
                let kind = [
                    "text",
                    "image_begin",
                    "image_chunk",
                    "image_end",
                    "cancel",
                    "receipt",
                    "hello",
                    "bogus",
                ][usize::from(ops.byte().unwrap_or(0) % 8)];
                let n = usize::from(ops.byte().unwrap_or(0));
                let extra: serde_json::Value =
                    serde_json::from_slice(&ops.bytes(n)).unwrap_or(serde_json::Value::Null);
                out.push(encode_frame(
                    &json!({"type":kind,"id":"c-1","x":extra}),
                    b"",
                ));
            }
        }
    }
    out
}

/// One whole relay connection in-process, fed the messages an input stands for. The
/// relay must answer only with valid messages, end by itself after a fatal error
/// (error, then the close with its code), never hang, never relay this lone
/// connection's own items back to it, and ack each id with one seq.
pub fn session(data: &[u8]) {
    let outcome = snapwire_relay::fuzzing::connection(session_messages(data));
    let mut acks: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut last_seq = 0;
    for (i, message) in outcome.messages.iter().enumerate() {
        match &message.header {
            RelayHeader::Error { code, .. } if code.is_fatal() => {
                assert_eq!(i + 1, outcome.messages.len(), "{code} is the last word");
                if let Some(close) = code.close_code() {
                    assert_eq!(outcome.close, Some(close), "{code} closes with its code");
                }
            }
            RelayHeader::Ack { id, seq, .. } => {
                if let Some(first) = acks.insert(id.clone(), *seq) {
                    assert_eq!(first, *seq, "{id} acked with two seqs");
                } else {
                    assert!(*seq > last_seq, "new items take higher seqs");
                    last_seq = *seq;
                }
            }
            RelayHeader::Text { .. }
            | RelayHeader::ImageBegin(_)
            | RelayHeader::ImageChunk { .. }
            | RelayHeader::ImageEnd { .. } => {
                panic!(
                    "the relay relayed an item to its own author: {:?}",
                    message.header
                )
            }
            _ => {}
        }
    }
}
