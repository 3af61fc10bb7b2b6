//! A real relay on 127.0.0.1:0 and the network worker connected to it,
//! waiting for its events with a time bound.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use snapwire::net::{NetHandle, Repaint};
use snapwire::settings::Target;
use snapwire::state::Event;
use snapwire_relay::config::{Config, Storage};
use snapwire_relay::server::RelayHandle;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn start_relay(addr: SocketAddr, storage: Storage) -> RelayHandle {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind relay");
    let config = Config {
        storage,
        ..Config::default()
    };
    snapwire_relay::server::start(listener, config)
        .await
        .expect("start relay")
}

pub async fn memory_relay() -> RelayHandle {
    start_relay("127.0.0.1:0".parse().expect("addr"), Storage::Memory).await
}

pub fn disk(dir: &Path) -> Storage {
    Storage::Disk(dir.to_path_buf())
}

pub fn target(relay: SocketAddr, name: &str) -> Target {
    Target {
        url: format!("ws://{relay}/ws"),
        name: name.to_owned(),
        room: "lobby".to_owned(),
        token: None,
    }
}

pub fn secret(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

pub fn no_repaint() -> Repaint {
    Arc::new(|| {})
}

pub fn connect(relay: SocketAddr, name: &str, n: u8) -> NetHandle {
    NetHandle::spawn(target(relay, name), secret(n), no_repaint()).expect("spawn worker")
}

/// Waits for the first event that `want` picks, keeping every event seen in `log`.
pub async fn wait_for<T>(
    net: &mut NetHandle,
    log: &mut Vec<Event>,
    what: &str,
    mut want: impl FnMut(&Event) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let Some(event) = net.recv().await else {
                panic!("worker stopped while waiting for {what}");
            };
            let hit = want(&event);
            log.push(event);
            if let Some(hit) = hit {
                return hit;
            }
        }
    })
    .await;
    match found {
        Ok(hit) => hit,
        Err(_) => panic!("no {what} within {WAIT:?}; saw {:#?}", summarize(log)),
    }
}

/// Collects whatever arrives within `window` (used only to make sure nothing *extra* arrives).
pub async fn drain_for(net: &mut NetHandle, log: &mut Vec<Event>, window: Duration) {
    let _ = tokio::time::timeout(window, async {
        while let Some(event) = net.recv().await {
            log.push(event);
        }
    })
    .await;
}

pub fn summarize(log: &[Event]) -> Vec<String> {
    log.iter()
        .map(|e| match e {
            Event::ImageComplete { bytes, .. } => format!("ImageComplete({} bytes)", bytes.len()),
            Event::ImageProgress { .. } => "ImageProgress".into(),
            Event::UploadProgress { .. } => "UploadProgress".into(),
            other => format!("{other:?}").chars().take(200).collect(),
        })
        .collect()
}

pub async fn welcomed(
    net: &mut NetHandle,
    log: &mut Vec<Event>,
) -> snapwire_relay::protocol::Welcome {
    wait_for(net, log, "welcome", |e| match e {
        Event::Welcome(w) => Some(w.clone()),
        _ => None,
    })
    .await
}

/// A relay played by the test over a real WebSocket on 127.0.0.1:0: it
/// welcomes one client, then reads only when told to, and reports the kind
/// of every frame the client sent ("image_begin", "image_chunk", "cancel"…).
pub struct FakeRelay {
    pub addr: SocketAddr,
    /// Each permit lets the fake read that many more frames.
    pub read: tokio::sync::mpsc::UnboundedSender<usize>,
    pub frames: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// Frames the fake sends to the client, whatever they claim.
    pub send: tokio::sync::mpsc::UnboundedSender<bytes::Bytes>,
}

pub async fn fake_relay(limits: snapwire_relay::protocol::Limits) -> FakeRelay {
    use futures_util::{SinkExt, StreamExt};
    use snapwire_relay::protocol::{RelayHeader, RelayMessage, User, Welcome, decode_frame};
    use tokio_tungstenite::tungstenite::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake relay");
    let addr = listener.local_addr().expect("addr");
    let (read_tx, mut read_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let (frames_tx, frames) = tokio::sync::mpsc::unbounded_channel();
    let (send, mut to_client) = tokio::sync::mpsc::unbounded_channel::<bytes::Bytes>();
    tokio::spawn(async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        // The hello, then the welcome.
        let Some(Ok(_hello)) = ws.next().await else {
            return;
        };
        let welcome = RelayMessage::new(
            RelayHeader::Welcome(Welcome {
                v: 1,
                user: User {
                    id: snapwire_relay::protocol::validate::user_id(&secret(1)),
                    name: "Ana".into(),
                },
                room: "lobby".into(),
                epoch: "e1".into(),
                peers: Vec::new(),
                history: 0,
                limits,
            }),
            bytes::Bytes::new(),
        );
        if ws.send(Message::Binary(welcome.encode())).await.is_err() {
            return;
        }
        let mut budget = 0usize;
        loop {
            tokio::select! {
                n = read_rx.recv() => match n {
                    Some(n) => budget = budget.saturating_add(n),
                    None => return,
                },
                frame = to_client.recv() => match frame {
                    Some(frame) => {
                        if ws.send(Message::Binary(frame)).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
                message = ws.next(), if budget > 0 => {
                    let Some(Ok(message)) = message else { return };
                    if let Message::Binary(bytes) = message {
                        budget -= 1;
                        let kind = decode_frame(bytes).map_or_else(|e| e.to_string(), |f| f.kind);
                        if frames_tx.send(kind).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    FakeRelay {
        addr,
        read: read_tx,
        frames,
        send,
    }
}

/// A prepared image of `len` arbitrary bytes (the fake relay checks nothing).
pub fn raw_image(len: usize) -> snapwire::state::PreparedImage {
    snapwire::state::PreparedImage {
        meta: snapwire::state::ImageMeta {
            name: "big.png".into(),
            mime: "image/png".into(),
            size: len as u64,
            sha256: "0".repeat(64),
            width: Some(10),
            height: Some(10),
        },
        preview: None,
        bytes: bytes::Bytes::from(vec![7u8; len]),
    }
}

/// A relay frame as a fake relay sends it.
pub fn relay_frame(header: snapwire_relay::protocol::RelayHeader, body: &[u8]) -> bytes::Bytes {
    snapwire_relay::protocol::RelayMessage::new(header, bytes::Bytes::copy_from_slice(body))
        .encode()
}

/// An `image_begin` from Ben claiming `size` bytes (and a hash nothing will match).
pub fn claimed_image_begin(sid: u64, size: u64) -> bytes::Bytes {
    use snapwire_relay::protocol::{RelayHeader, RelayImageBegin};
    relay_frame(
        RelayHeader::ImageBegin(RelayImageBegin {
            sid,
            ts: 1,
            from: super::ben(),
            name: format!("claims-{size}.png"),
            mime: "image/png".into(),
            size,
            sha256: "0".repeat(64),
            width: None,
            height: None,
            history: false,
        }),
        b"",
    )
}
