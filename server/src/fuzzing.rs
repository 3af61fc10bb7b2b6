//! For the fuzz targets (`server/fuzz/`) and their corpus tests only: one whole relay
//! connection run in-process, past the WebSocket upgrade, over in-memory pipes (no
//! sockets), fed a sequence of client messages. Not part of the relay's API.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::config::{Config, Retention, Storage};
use crate::connection;
use crate::metered::MeteredRead;
use crate::protocol::{RelayHeader, RelayMessage, encode_frame, parse_relay};
use crate::shared::Shared;
use crate::socket::FrameWriter;
use crate::store::Store;

/// What one in-process connection gave back.
#[derive(Debug)]
pub struct Outcome {
    /// Every message the relay sent, parsed (a message that does not parse panics).
    pub messages: Vec<RelayMessage>,
    /// The close code the relay ended with, if it sent a close frame.
    pub close: Option<u16>,
}

/// The id of the text that marks the end of the input (its answer is not reported).
const SYNC: &str = "fuzz-sync";

/// How long one connection may take before it counts as a hang: far beyond what any
/// input needs (well under a second), so that a starved machine is not taken for one.
const HANG: Duration = Duration::from_secs(30);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the fuzz target")
    })
}

/// Runs one connection of a fresh relay (memory store, small limits) to its end:
/// sends `messages` as binary WebSocket messages and a last text, closes once that is
/// answered (or the relay has closed), and collects what the relay sent before. Panics if the relay sends something unparsable or hangs.
pub fn connection(messages: Vec<Bytes>) -> Outcome {
    runtime().block_on(async move {
        let config = Config {
            storage: Storage::Memory,
            retention: Retention {
                max_items: 8,
                max_bytes: 1 << 20,
            },
            max_image_bytes: 256 * 1024,
            max_chunk_bytes: 64 * 1024,
            outbox_bytes: 256 * 1024,
            hello_timeout: Duration::from_secs(2),
            ..Config::default()
        };
        let store = Store::open(&config.storage, config.retention).expect("a memory store");
        let max_message = config.max_message_bytes();
        let shared = Arc::new(Shared::new(config, store));
        let (client_io, relay_io) = tokio::io::duplex(1 << 20);
        let (relay_read, relay_write) = tokio::io::split(relay_io);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let metered = MeteredRead::new(relay_read, Vec::new(), shared.budget.clone(), max_message);
        let meter = metered.meter();
        let reader = WebSocketStream::from_raw_socket(metered, Role::Server, Some(ws_config)).await;
        let peer = SocketAddr::from(([127, 0, 0, 1], 1));
        let relay = tokio::spawn(connection::run(
            reader,
            meter,
            FrameWriter::over(relay_write),
            peer,
            shared.clone(),
        ));
        let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let collect = async {
            let (mut sink, mut stream) = client.split();
            let (synced, wait_sync) = tokio::sync::oneshot::channel::<()>();
            let send = async {
                for message in messages {
                    if sink.send(Message::Binary(message)).await.is_err() {
                        return;
                    }
                }
                // The read loop handles one message at a time: once this text is
                // answered, every message before it has been, and closing now drops
                // nothing the relay meant to say.
                let sync = encode_frame(&serde_json::json!({"type": "text", "id": SYNC}), b"sync");
                if sink.send(Message::Binary(sync)).await.is_ok() {
                    let _ = wait_sync.await;
                }
                let _ = sink.close().await;
            };
            let receive = async {
                let mut out = Outcome {
                    messages: Vec::new(),
                    close: None,
                };
                let mut synced = Some(synced);
                while let Some(Ok(message)) = stream.next().await {
                    match message {
                        Message::Binary(bytes) => {
                            let message =
                                parse_relay(bytes).expect("the relay sends only valid messages");
                            let answers_sync = match &message.header {
                                RelayHeader::Ack { id, .. } => id == SYNC,
                                RelayHeader::Error { id, .. } => id.as_deref() == Some(SYNC),
                                _ => false,
                            };
                            if answers_sync {
                                if let Some(synced) = synced.take() {
                                    let _ = synced.send(());
                                }
                            } else {
                                out.messages.push(message);
                            }
                        }
                        Message::Close(frame) => {
                            out.close = frame.map(|f| u16::from(f.code));
                        }
                        Message::Text(_) => panic!("the relay sent a text message"),
                        _ => {}
                    }
                }
                out
            };
            let ((), out) = tokio::join!(send, receive);
            out
        };
        let out = tokio::time::timeout(HANG, collect)
            .await
            .expect("the connection ends once the client has closed");
        tokio::time::timeout(HANG, relay)
            .await
            .expect("the connection task ends")
            .expect("the connection task does not panic");
        out
    })
}
