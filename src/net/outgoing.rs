//! Everything to send, across connections, cut into frames: texts jump ahead
//! of queued images, an image goes as `image_begin` (with its preview),
//! chunks, `image_end`; what was sent but not acked goes again after a
//! reconnect, oldest first. Pure: no socket, no clock; the connection asks
//! [`Outgoing::next_frame`] whenever the writer has room.

use std::collections::VecDeque;

use bytes::Bytes;
use snapwire_relay::protocol::{ClientHeader, ClientMessage, ImageBegin, Limits};

use crate::state::{Event, PreparedImage};

/// Bytes per `image_chunk`: the relay's limit, but small enough for smooth progress.
const CHUNK_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub(super) enum OutKind {
    Text(String),
    Image(PreparedImage),
}

#[derive(Debug, Clone)]
pub(super) struct OutItem {
    pub(super) id: String,
    pub(super) kind: OutKind,
}

/// An image whose chunks are going out on this connection.
pub(super) struct Upload {
    pub(super) item: OutItem,
    offset: u64,
}

/// Everything to send, across connections.
#[derive(Default)]
pub(super) struct Outgoing {
    /// Not yet sent on the current connection, in order.
    pub(super) queue: VecDeque<OutItem>,
    /// Sent in full, waiting for the ack.
    unacked: Vec<OutItem>,
    pub(super) current: Option<Upload>,
    /// Uploads stopped mid-stream whose `cancel` frame is still to be written
    /// (before anything else: the relay stops forwarding them at once).
    cancels: VecDeque<String>,
}

impl Outgoing {
    /// Stops the upload in progress if it is `id`: no more of its chunks, and
    /// its `cancel` goes out next. False when `id` is not streaming.
    pub(super) fn cancel_current(&mut self, id: &str) -> bool {
        if self.current.as_ref().is_none_or(|u| u.item.id != id) {
            return false;
        }
        self.current = None;
        self.cancels.push_back(id.to_owned());
        true
    }

    /// After a disconnect everything not acked goes out again, oldest first.
    pub(super) fn requeue(&mut self) {
        // A new connection knows nothing of the half upload it would cancel.
        self.cancels.clear();
        let mut again: VecDeque<OutItem> = self.unacked.drain(..).collect();
        if let Some(upload) = self.current.take() {
            again.push_back(upload.item);
        }
        again.append(&mut self.queue);
        self.queue = again;
    }

    pub(super) fn has_work(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || !self.cancels.is_empty()
    }

    pub(super) fn remove_queued(&mut self, id: &str) -> bool {
        let before = self.queue.len();
        self.queue.retain(|i| i.id != id);
        before != self.queue.len()
    }

    /// The item with this id is done (acked or failed): forget it everywhere.
    pub(super) fn forget(&mut self, id: &str) {
        self.unacked.retain(|i| i.id != id);
        self.queue.retain(|i| i.id != id);
        if self.current.as_ref().is_some_and(|u| u.item.id == id) {
            self.current = None;
        }
    }

    /// The next frame to write, with the progress event it makes, if any.
    pub(super) fn next_frame(&mut self, limits: &Limits) -> Option<(Bytes, Option<Event>)> {
        if let Some(id) = self.cancels.pop_front() {
            let frame = ClientMessage::new(ClientHeader::Cancel { id }, Bytes::new()).encode();
            return Some((frame, None));
        }
        if self.current.is_none() {
            // Texts jump ahead of queued images: they are small and people wait for them.
            let pos = self
                .queue
                .iter()
                .position(|i| matches!(i.kind, OutKind::Text(_)))
                .unwrap_or(0);
            let item = self.queue.remove(pos)?;
            return Some(match &item.kind {
                OutKind::Text(text) => {
                    let frame = ClientMessage::new(
                        ClientHeader::Text {
                            id: item.id.clone(),
                        },
                        Bytes::copy_from_slice(text.as_bytes()),
                    )
                    .encode();
                    self.unacked.push(item);
                    (frame, None)
                }
                OutKind::Image(image) => {
                    let meta = &image.meta;
                    let header = ClientHeader::ImageBegin(ImageBegin {
                        id: item.id.clone(),
                        name: meta.name.clone(),
                        mime: meta.mime.clone(),
                        size: meta.size,
                        sha256: meta.sha256.clone(),
                        width: meta.width,
                        height: meta.height,
                    });
                    let body = image.preview.clone().unwrap_or_default();
                    let frame = ClientMessage::new(header, body).encode();
                    let progress = Event::UploadProgress {
                        id: item.id.clone(),
                        sent: 0,
                    };
                    self.current = Some(Upload { item, offset: 0 });
                    (frame, Some(progress))
                }
            });
        }
        let upload = self.current.as_mut()?;
        let OutKind::Image(image) = &upload.item.kind else {
            self.current = None;
            return None;
        };
        let size = image.bytes.len() as u64;
        if upload.offset >= size {
            let frame = ClientMessage::new(
                ClientHeader::ImageEnd {
                    id: upload.item.id.clone(),
                },
                Bytes::new(),
            )
            .encode();
            if let Some(done) = self.current.take() {
                self.unacked.push(done.item);
            }
            return Some((frame, None));
        }
        let chunk = CHUNK_BYTES.min(limits.max_chunk_bytes.max(1));
        let end = (upload.offset + chunk).min(size);
        let body = image.bytes.slice(upload.offset as usize..end as usize);
        let frame = ClientMessage::new(
            ClientHeader::ImageChunk {
                id: upload.item.id.clone(),
                offset: upload.offset,
            },
            body,
        )
        .encode();
        upload.offset = end;
        let progress = Event::UploadProgress {
            id: upload.item.id.clone(),
            sent: end,
        };
        Some((frame, Some(progress)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ImageMeta;

    fn image(id: &str, len: usize) -> OutItem {
        OutItem {
            id: id.into(),
            kind: OutKind::Image(PreparedImage {
                meta: ImageMeta {
                    name: "a.png".into(),
                    mime: "image/png".into(),
                    size: len as u64,
                    sha256: "0".repeat(64),
                    width: None,
                    height: None,
                },
                preview: None,
                bytes: Bytes::from(vec![7u8; len]),
            }),
        }
    }

    fn limits() -> Limits {
        Limits {
            max_image_bytes: 1 << 30,
            max_chunk_bytes: 100,
            max_text_bytes: 100,
            max_uploads: 4,
        }
    }

    fn kinds(frames: &[Bytes]) -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                snapwire_relay::protocol::decode_frame(f.clone())
                    .expect("frame")
                    .kind
            })
            .collect()
    }

    #[test]
    fn images_go_out_in_chunks_and_texts_jump_ahead() {
        let mut out = Outgoing::default();
        out.queue.push_back(image("i1", 250));
        out.queue.push_back(OutItem {
            id: "t1".into(),
            kind: OutKind::Text("hi".into()),
        });
        let mut frames = Vec::new();
        while let Some((frame, _)) = out.next_frame(&limits()) {
            frames.push(frame);
        }
        assert_eq!(
            kinds(&frames),
            [
                "text",
                "image_begin",
                "image_chunk",
                "image_chunk",
                "image_chunk",
                "image_end"
            ]
        );
        assert_eq!(out.unacked.len(), 2);
        out.forget("t1");
        out.requeue();
        assert_eq!(out.queue.len(), 1);
        assert_eq!(out.queue[0].id, "i1");
    }

    #[test]
    fn a_cancelled_upload_sends_its_cancel_next_and_no_more_chunks() {
        let mut out = Outgoing::default();
        out.queue.push_back(image("i1", 250));
        out.next_frame(&limits()); // begin
        out.next_frame(&limits()); // first chunk
        assert!(out.cancel_current("i1"));
        assert!(!out.cancel_current("i1"), "once");
        let mut frames = Vec::new();
        while let Some((frame, _)) = out.next_frame(&limits()) {
            frames.push(frame);
        }
        assert_eq!(kinds(&frames), ["cancel"]);
        assert!(!out.has_work());
    }

    #[test]
    fn requeue_keeps_order_and_restarts_the_current_upload() {
        let mut out = Outgoing::default();
        out.queue.push_back(image("a", 10));
        out.queue.push_back(image("b", 10));
        // a: begin, chunk, end → unacked; b: begin → current.
        for _ in 0..4 {
            out.next_frame(&limits());
        }
        assert_eq!(out.unacked.len(), 1);
        assert!(out.current.is_some());
        out.requeue();
        let ids: Vec<_> = out.queue.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(out.current.is_none() && out.unacked.is_empty());
    }
}
