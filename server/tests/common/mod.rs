//! Helpers for the relay's integration tests: a relay on 127.0.0.1:0 and a WebSocket
//! client that speaks the protocol through the crate's own codec. Every wait is
//! bounded by [`WAIT`].
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use snapwire_relay::protocol::{
    ClientHeader, ClientMessage, ErrorCode, ImageBegin, RelayHeader, RelayImageBegin, RelayMessage,
    Welcome, parse_relay,
};
use snapwire_relay::{Config, RelayHandle};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any test waits for one thing.
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn start_relay(config: Config) -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    snapwire_relay::start(listener, config)
        .await
        .expect("relay starts")
}

/// A memory-only config, as most tests want. Every test client comes from
/// 127.0.0.1, so the per-host limits are lifted; `hostile.rs` tests them.
pub fn memory_config() -> Config {
    Config {
        host_limits: snapwire_relay::guard::HostLimits::unlimited(),
        ..Config::default()
    }
}

/// A client secret made from a small number, so tests read well.
pub fn secret(n: u32) -> String {
    format!("{n:032x}")
}

/// Bytes that pass the relay's PNG signature check, with a body made from `seed`
/// (the relay never decodes images).
pub fn fake_png(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    bytes.truncate(len.max(8));
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn begin_for(id: &str, bytes: &[u8]) -> ImageBegin {
    ImageBegin {
        id: id.to_owned(),
        name: "cat.png".to_owned(),
        mime: "image/png".to_owned(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        width: Some(640),
        height: Some(480),
    }
}

/// A received image: its begin, its bytes, and the `image_end` seq.
#[derive(Debug)]
pub struct Received {
    pub begin: RelayImageBegin,
    pub preview: Bytes,
    pub bytes: Vec<u8>,
    pub seq: u64,
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Option<Welcome>,
}

impl Client {
    /// Opens a WebSocket to the relay without saying hello.
    pub async fn connect(addr: SocketAddr) -> Client {
        let url = format!("ws://{addr}/ws");
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("connect");
        Client { ws, welcome: None }
    }

    /// Connects and joins `room` as `name` with secret number `who`.
    pub async fn join(addr: SocketAddr, name: &str, room: &str, who: u32) -> Client {
        Self::join_since(addr, name, room, who, None).await
    }

    pub async fn join_since(
        addr: SocketAddr,
        name: &str,
        room: &str,
        who: u32,
        since: Option<u64>,
    ) -> Client {
        let mut client = Client::connect(addr).await;
        let hello = serde_json::json!({
            "type": "hello", "v": 1, "name": name, "room": room,
            "client": secret(who), "token": null, "since": since,
        });
        client.send_json(hello, b"").await;
        match client.recv().await.header {
            RelayHeader::Welcome(welcome) => client.welcome = Some(welcome),
            other => panic!("expected welcome, got {other:?}"),
        }
        client
    }

    pub async fn send_json(&mut self, header: serde_json::Value, body: &[u8]) {
        let bytes = snapwire_relay::protocol::encode_frame(&header, body);
        self.send_raw(Message::Binary(bytes)).await;
    }

    pub async fn send(&mut self, header: ClientHeader, body: &[u8]) {
        let bytes = ClientMessage::new(header, Bytes::copy_from_slice(body)).encode();
        self.send_raw(Message::Binary(bytes)).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        tokio::time::timeout(WAIT, self.ws.send(message))
            .await
            .expect("send in time")
            .expect("send");
    }

    pub async fn text(&mut self, id: &str, text: &str) {
        self.send(ClientHeader::Text { id: id.to_owned() }, text.as_bytes())
            .await;
    }

    /// Sends a whole image in chunks of `chunk` bytes.
    pub async fn send_image(&mut self, id: &str, bytes: &[u8], chunk: usize) {
        self.send(ClientHeader::ImageBegin(begin_for(id, bytes)), b"")
            .await;
        self.send_chunks(id, bytes, chunk).await;
        self.send(ClientHeader::ImageEnd { id: id.to_owned() }, b"")
            .await;
    }

    pub async fn send_chunks(&mut self, id: &str, bytes: &[u8], chunk: usize) {
        for (i, part) in bytes.chunks(chunk).enumerate() {
            let header = ClientHeader::ImageChunk {
                id: id.to_owned(),
                offset: (i * chunk) as u64,
            };
            self.send(header, part).await;
        }
    }

    /// The next protocol message (pings and pongs skipped).
    pub async fn recv(&mut self) -> RelayMessage {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time")
                .expect("connection open")
                .expect("read");
            match next {
                Message::Binary(bytes) => {
                    return parse_relay(bytes).expect("a valid relay message");
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Skips messages until one matches.
    pub async fn recv_until(&mut self, mut pred: impl FnMut(&RelayHeader) -> bool) -> RelayMessage {
        loop {
            let message = self.recv().await;
            if pred(&message.header) {
                return message;
            }
        }
    }

    /// Skips messages until someone's `joined`.
    pub async fn joined(&mut self) {
        self.recv_until(|h| matches!(h, RelayHeader::Joined { .. }))
            .await;
    }

    /// Begins an image and sends its first `upto` bytes as one chunk: an upload
    /// left in flight.
    pub async fn begin_partial(&mut self, id: &str, bytes: &[u8], upto: usize) {
        self.send(ClientHeader::ImageBegin(begin_for(id, bytes)), b"")
            .await;
        let first = ClientHeader::ImageChunk {
            id: id.to_owned(),
            offset: 0,
        };
        self.send(first, &bytes[..upto]).await;
    }

    /// Expects an error with `code` as the next message.
    pub async fn expect_error(&mut self, code: ErrorCode) -> Option<String> {
        match self.recv().await.header {
            RelayHeader::Error {
                code: got,
                id,
                message,
            } => {
                assert_eq!(got, code, "error message: {message}");
                id
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    /// Expects the relay to close the connection with `code` (after anything else it sends).
    pub async fn expect_close(&mut self, code: u16) {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("close in time");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(
                        u16::from(frame.code),
                        code,
                        "close reason: {}",
                        frame.reason
                    );
                    return;
                }
                Some(Ok(Message::Close(None))) => panic!("closed without a code, expected {code}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("connection failed before close {code}: {e}"),
                None => panic!("connection ended without close {code}"),
            }
        }
    }

    pub async fn expect_ack(&mut self, id: &str) -> u64 {
        match self.recv().await.header {
            RelayHeader::Ack { id: got, seq, .. } if got == id => seq,
            other => panic!("expected ack {id}, got {other:?}"),
        }
    }

    /// Receives one whole image (skipping unrelated messages before its begin).
    pub async fn recv_image(&mut self) -> Received {
        let first = self
            .recv_until(|h| matches!(h, RelayHeader::ImageBegin(_)))
            .await;
        let RelayHeader::ImageBegin(begin) = first.header else {
            unreachable!()
        };
        let mut bytes = Vec::new();
        loop {
            let message = self.recv().await;
            match message.header {
                RelayHeader::ImageChunk { sid, offset } if sid == begin.sid => {
                    assert_eq!(offset, bytes.len() as u64, "contiguous offsets");
                    bytes.extend_from_slice(&message.body);
                }
                RelayHeader::ImageEnd { sid, seq, .. } if sid == begin.sid => {
                    assert_eq!(sha256_hex(&bytes), begin.sha256, "bytes match the hash");
                    return Received {
                        begin,
                        preview: first.body,
                        bytes,
                        seq,
                    };
                }
                RelayHeader::ImageCancel { sid, reason } if sid == begin.sid => {
                    panic!("image cancelled: {reason:?}")
                }
                _ => {}
            }
        }
    }

    /// Asserts nothing but pings arrives for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(other) => panic!("expected nothing, got {other:?}"),
            }
        }
    }

    pub fn user_id(&self) -> String {
        self.welcome
            .as_ref()
            .map(|w| w.user.id.clone())
            .unwrap_or_default()
    }
}

/// Reads what is left on the socket without answering anything (a peer that does not
/// even pong), and returns the close code of the relay's close frame, if it sent one.
pub async fn raw_close_code(client: Client) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    let MaybeTlsStream::Plain(mut tcp) = client.ws.into_inner() else {
        panic!("tests use plain TCP")
    };
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut bytes)).await;
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let mut len = (bytes[at + 1] & 0x7f) as usize;
        at += 2;
        if len == 126 {
            len = u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
            at += 2;
        } else if len == 127 {
            let mut ext = [0u8; 8];
            ext.copy_from_slice(&bytes[at..at + 8]);
            len = u64::from_be_bytes(ext) as usize;
            at += 8;
        }
        if opcode == 8 && len >= 2 && at + 2 <= bytes.len() {
            return Some(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
        }
        at += len;
    }
    None
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "snapwire-{label}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `GET path` over plain HTTP/1.1; the whole response as text.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(WAIT, tcp.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    response
}

/// One value of the relay's `/metrics` page.
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let page = http_get(addr, "/metrics").await;
    page.lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no metric {name} in {page}"))
}
