//! The feeder: sends a catching-up connection the completed items it has not had,
//! from retention, in seq order, each only when its queue has room. It replays
//! history after `welcome` and feeds receivers that fell behind, then lets them go
//! live again (PROTOCOL.md, "Flow control").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

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
                let sid = shared.next_sid();
                let open = AtomicBool::new(false);
                let sent = tokio::select! {
                    sent = deliver(&room, &item, history, Stream { sid, open: &open }, &outbox, &shared) => sent,
                    () = stop.cancelled() => {
                        if open.load(Relaxed) && shared.shutdown.is_cancelled() {
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

/// The stream an image is delivered on: its `sid`, and whether its `image_begin`
/// is queued without its `image_end` or `image_cancel` yet.
struct Stream<'a> {
    sid: Sid,
    open: &'a AtomicBool,
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
async fn deliver(
    room: &Room,
    item: &Arc<Item>,
    history: bool,
    stream: Stream<'_>,
    outbox: &Outbox,
    shared: &Shared,
) -> Result<(), Stop> {
    let image = match &item.content {
        Content::Text(body) => {
            let text = RelayHeader::Text {
                seq: item.seq,
                ts: item.ts,
                from: item.from.clone(),
                history,
            };
            outbox.push_wait(encode_frame(&text, body)).await?;
            return Ok(());
        }
        Content::Image(image) => image,
    };
    let sid = stream.sid;
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
    outbox
        .push_wait(encode_frame(&begin, &image.preview))
        .await?;
    stream.open.store(true, Relaxed);
    let chunk_bytes = shared.config.max_chunk_bytes as u64;
    let mut offset = 0;
    while offset < image.size {
        let len = chunk_bytes.min(image.size - offset) as usize;
        let store = room.store.clone();
        let owned = item.clone();
        let read = tokio::task::spawn_blocking(move || store.read_image(&owned, offset, len)).await;
        let bytes = match read {
            Ok(Ok(bytes)) if !bytes.is_empty() => bytes,
            Ok(Err(StoreError::Pruned(_))) => return Err(Stop::Pruned),
            other => {
                let why = match other {
                    Ok(Ok(_)) => "the retained image is shorter than its size".to_owned(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::error!(seq = item.seq, error = %why, "could not read a retained image");
                let cancel = RelayHeader::ImageCancel {
                    sid,
                    reason: CancelReason::Storage,
                };
                outbox.push_wait(encode_frame(&cancel, &[])).await?;
                stream.open.store(false, Relaxed);
                return Ok(());
            }
        };
        let chunk = RelayHeader::ImageChunk { sid, offset };
        offset += bytes.len() as u64;
        outbox.push_wait(encode_frame(&chunk, &bytes)).await?;
    }
    let end = RelayHeader::ImageEnd {
        sid,
        seq: item.seq,
        ts: item.ts,
    };
    outbox.push_wait(encode_frame(&end, &[])).await?;
    stream.open.store(false, Relaxed);
    Ok(())
}
