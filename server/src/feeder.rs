//! The feeder: sends a catching-up connection the completed items it has not had,
//! from retention, in seq order, each only when its queue has room. It replays
//! history after `welcome` and feeds receivers that fell behind, then lets them go
//! live again (PROTOCOL.md, "Flow control"). Reads of retention are shared with the
//! room's other catching-up members (`catchup.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, Class, charge};
use crate::outbox::{Outbox, PushError};
use crate::protocol::{CancelReason, RelayHeader, RelayImageBegin, encode_frame};
use crate::room::{ConnId, FeedStep, Room, Sid, close_slow};
use crate::shared::Shared;
use crate::store::{Content, Item, StoreError};

/// Runs until the connection leaves or closes.
pub async fn run(
    room: Arc<Room>,
    conn: ConnId,
    outbox: Arc<Outbox>,
    wake: Arc<Notify>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    loop {
        match room.next_for(conn) {
            FeedStep::Gone => return,
            FeedStep::Behind => {
                close_slow(
                    &outbox,
                    &shared.metrics,
                    "fell behind what the relay retains",
                );
                return;
            }
            FeedStep::CaughtUp => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = stop.cancelled() => return,
                }
            }
            FeedStep::Deliver { item, history } => {
                let open = OpenStream::default();
                let sent = tokio::select! {
                    sent = deliver(&room, &item, history, &open, &outbox, &shared) => sent,
                    () = stop.cancelled() => {
                        if let Some(sid) = open.sid() && shared.shutdown.is_cancelled() {
                            // An image replayed from retention is in flight too: the
                            // receiver hears it is cancelled before the goodbye.
                            let cancel = RelayHeader::ImageCancel {
                                sid,
                                reason: CancelReason::ServerShutdown,
                            };
                            let _ = outbox.push_control(encode_frame(&cancel, &[]));
                        }
                        return;
                    }
                };
                match sent {
                    Ok(()) => room.delivered(conn, item.seq),
                    Err(Stop::Closed) => return,
                    Err(Stop::Pruned) => {
                        close_slow(
                            &outbox,
                            &shared.metrics,
                            "fell behind what the relay retains",
                        );
                        return;
                    }
                }
            }
        }
    }
}

/// The stream an image is being delivered on: its `sid` while its `image_begin` is
/// queued without its `image_end` or `image_cancel` yet, so a shutdown can cancel it.
/// (The sid is the one the room's shared catch-up read gave the item.)
#[derive(Default)]
struct OpenStream(AtomicU64);

impl OpenStream {
    const NONE: u64 = 0; // sids start at 1

    fn open(&self, sid: Sid) {
        self.0.store(sid, Relaxed);
    }

    fn close(&self) {
        self.0.store(Self::NONE, Relaxed);
    }

    fn sid(&self) -> Option<Sid> {
        let sid = self.0.load(Relaxed);
        (sid != Self::NONE).then_some(sid)
    }
}

enum Stop {
    Closed,
    Pruned,
}

impl From<PushError> for Stop {
    fn from(_: PushError) -> Self {
        Stop::Closed
    }
}

/// Queues one item in full: a text, or an image's begin, every chunk and its end.
/// Each message waits until the queue is under the room window, so a connection
/// that stops reading pins little; chunks come from the room's shared reads.
async fn deliver(
    room: &Room,
    item: &Arc<Item>,
    history: bool,
    stream: &OpenStream,
    outbox: &Outbox,
    shared: &Shared,
) -> Result<(), Stop> {
    let window = room.window();
    let budget = &shared.budget;
    let image = match &item.content {
        Content::Text(body) => {
            let text = RelayHeader::Text {
                seq: item.seq,
                ts: item.ts,
                from: item.from.clone(),
                history,
            };
            let frame = small_frame(budget, &text, body).await;
            outbox.push_wait_below(frame, window).await?;
            return Ok(());
        }
        Content::Image(image) => image,
    };
    let read = room
        .catchup
        .item(item, shared.config.max_chunk_bytes, || shared.next_sid());
    let sid = read.sid;
    let begin = RelayHeader::ImageBegin(RelayImageBegin {
        sid,
        ts: item.ts,
        from: item.from.clone(),
        name: image.name.clone(),
        mime: image.mime.clone(),
        size: image.size,
        sha256: image.sha256.clone(),
        width: image.width,
        height: image.height,
        history,
    });
    let frame = small_frame(budget, &begin, &image.preview).await;
    outbox.push_wait_below(frame, window).await?;
    stream.open(sid);
    let mut all_chained = true;
    let mut failure = None;
    for index in 0..read.chunks() {
        match room.catchup.chunk(&read, index).await {
            Ok(chunk) => {
                all_chained &= chunk.chained;
                outbox.push_wait_below(chunk.frame, window).await?;
            }
            Err(StoreError::Pruned(_)) => return Err(Stop::Pruned),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    if failure.is_none() {
        match room.catchup.verify(&read, all_chained).await {
            Ok(true) => {}
            Ok(false) => {
                room.catchup.damaged.fetch_add(1, Relaxed);
                failure = Some("its bytes no longer match its SHA-256".to_owned());
            }
            Err(StoreError::Pruned(_)) => return Err(Stop::Pruned),
            Err(e) => failure = Some(e.to_string()),
        }
    }
    let last = match failure {
        None => RelayHeader::ImageEnd {
            sid,
            seq: item.seq,
            ts: item.ts,
        },
        Some(why) => {
            // Never served as if whole: the receiver drops what it got.
            tracing::error!(seq = item.seq, error = %why, "could not serve a retained image");
            RelayHeader::ImageCancel {
                sid,
                reason: CancelReason::Storage,
            }
        }
    };
    let frame = small_frame(budget, &last, &[]).await;
    outbox.push_wait_below(frame, window).await?;
    stream.close();
    Ok(())
}

/// A small frame (text, begin with its preview, end), charged to the budget.
async fn small_frame(budget: &Arc<Budget>, header: &RelayHeader, body: &[u8]) -> Bytes {
    let frame = encode_frame(header, body);
    let reservation = budget.reserve(frame.len(), Class::Small).await;
    charge(frame, reservation)
}
