//! Images arriving on one connection: `image_begin`, chunks, `image_end`,
//! reassembled per stream id, checked against the announced size and
//! SHA-256. A chunk out of order or past the announced size drops the image
//! rather than show garbage. Our own images (replayed after a reconnect, or
//! from another window of ours) are announced only once complete, so a
//! duplicate never flashes while it streams.

use std::collections::HashMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::state::Event;

/// Largest incoming buffer reserved up front, whatever `size` claims.
const MAX_PREALLOC: usize = 8 * 1024 * 1024;
/// The largest image this app takes, whatever a relay's welcome allows.
pub const MAX_INCOMING_IMAGE: u64 = 256 * 1024 * 1024;
/// Announced bytes of all streams open at once: beyond it new streams are refused.
pub const MAX_INCOMING_TOTAL: u64 = 512 * 1024 * 1024;

/// One incoming image.
struct Incoming {
    size: u64,
    sha256: String,
    buf: Vec<u8>,
    own: bool,
    /// The `ImageBegin` event of our own image, held until it is complete.
    deferred: Option<Event>,
}

/// What a chunk did.
#[derive(Debug)]
pub(super) enum Chunk {
    /// No such stream (ended, cancelled, or never begun): ignored.
    Unknown,
    /// Appended; the progress event to show, if the image is announced.
    Progress(Option<Event>),
    /// Out of order or past the size: the stream is gone; `announced` says
    /// whether the UI knows of it (and must hear it was cancelled).
    Dropped { announced: bool },
}

/// A stream whose `image_end` arrived.
pub(super) struct Finished {
    pub(super) bytes: Bytes,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) own: bool,
    /// Our own image's `ImageBegin`, to announce now.
    pub(super) deferred: Option<Event>,
}

impl Finished {
    /// The announced size and SHA-256 match (hashing 50 MB takes a moment: call it off the async workers).
    pub(super) fn verify(bytes: &[u8], size: u64, sha256: &str) -> bool {
        bytes.len() as u64 == size && hex::encode(Sha256::digest(bytes)) == sha256
    }
}

/// The streams of one connection, by stream id, within what the welcome said
/// (and what this app holds, whatever the welcome said).
pub(super) struct Streams {
    open: HashMap<u64, Incoming>,
    max_image: u64,
    max_chunk: u64,
}

impl Streams {
    pub(super) fn new(limits: &snapwire_relay::protocol::Limits) -> Self {
        Self {
            open: HashMap::new(),
            max_image: limits.max_image_bytes.min(MAX_INCOMING_IMAGE),
            max_chunk: limits.max_chunk_bytes,
        }
    }

    /// Why a stream of `size` bytes is not taken, in words; `None` when it is.
    pub(super) fn refuse(&self, size: u64) -> Option<String> {
        if size > self.max_image {
            return Some(format!(
                "the relay announced {}, more than the {} it allows (not received)",
                crate::look::human_size(size),
                crate::look::human_size(self.max_image)
            ));
        }
        let open: u64 = self.open.values().map(|i| i.size).sum();
        if open.saturating_add(size) > MAX_INCOMING_TOTAL {
            return Some("too many large images at once (not received)".into());
        }
        None
    }

    /// A new stream (checked with [`Streams::refuse`] first); returns the
    /// event to show now (`None` for our own, held back).
    pub(super) fn begin(
        &mut self,
        sid: u64,
        size: u64,
        sha256: String,
        own: bool,
        event: Event,
    ) -> Option<Event> {
        let cap = usize::try_from(size)
            .unwrap_or(MAX_PREALLOC)
            .min(MAX_PREALLOC);
        let (now, deferred) = if own {
            (None, Some(event))
        } else {
            (Some(event), None)
        };
        self.open.insert(
            sid,
            Incoming {
                size,
                sha256,
                buf: Vec::with_capacity(cap),
                own,
                deferred,
            },
        );
        now
    }

    pub(super) fn chunk(&mut self, sid: u64, offset: u64, body: &[u8]) -> Chunk {
        let Some(image) = self.open.get_mut(&sid) else {
            return Chunk::Unknown;
        };
        let fits = offset == image.buf.len() as u64
            && body.len() as u64 <= self.max_chunk
            && image.buf.len() as u64 + body.len() as u64 <= image.size;
        if !fits {
            let announced = self.open.remove(&sid).is_some_and(|i| i.deferred.is_none());
            return Chunk::Dropped { announced };
        }
        image.buf.extend_from_slice(body);
        let received = image.buf.len() as u64;
        Chunk::Progress(
            image
                .deferred
                .is_none()
                .then_some(Event::ImageProgress { sid, received }),
        )
    }

    pub(super) fn end(&mut self, sid: u64) -> Option<Finished> {
        let image = self.open.remove(&sid)?;
        Some(Finished {
            bytes: Bytes::from(image.buf),
            size: image.size,
            sha256: image.sha256,
            own: image.own,
            deferred: image.deferred,
        })
    }

    /// The relay cancelled the stream; true when the UI knew of it.
    pub(super) fn cancel(&mut self, sid: u64) -> bool {
        self.open.remove(&sid).is_some_and(|i| i.deferred.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ImageMeta;
    use snapwire_relay::protocol::{Limits, User};

    fn streams() -> Streams {
        Streams::new(&Limits {
            max_image_bytes: 1 << 20,
            max_chunk_bytes: 2,
            max_text_bytes: 100,
            max_uploads: 4,
        })
    }

    #[test]
    fn sizes_beyond_the_welcome_or_the_app_are_refused_in_words() {
        let mut s = streams();
        assert_eq!(s.refuse(1 << 20), None);
        let words = s.refuse(1 << 50).expect("refused");
        assert!(words.contains("more than the 1.0 MB it allows"), "{words}");
        let huge = Streams::new(&Limits {
            max_image_bytes: u64::MAX,
            max_chunk_bytes: 1 << 20,
            max_text_bytes: 100,
            max_uploads: 4,
        });
        assert!(
            huge.refuse(MAX_INCOMING_IMAGE + 1).is_some(),
            "the app's own cap"
        );
        s.begin(1, 4, String::new(), false, begin_event(1));
        assert!(
            matches!(s.chunk(1, 0, b"abc"), Chunk::Dropped { announced: true }),
            "a chunk larger than the welcome's"
        );
    }

    fn begin_event(sid: u64) -> Event {
        Event::ImageBegin {
            sid,
            ts: 1,
            from: User {
                id: "bbbbbbbbbbbb".into(),
                name: "Ben".into(),
            },
            meta: ImageMeta {
                name: "a.png".into(),
                mime: "image/png".into(),
                size: 4,
                sha256: String::new(),
                width: None,
                height: None,
            },
            preview: None,
            history: false,
        }
    }

    #[test]
    fn chunks_reassemble_in_order_and_the_hash_is_checked() {
        let bytes = b"abcd";
        let sha = hex::encode(Sha256::digest(bytes));
        let mut streams = streams();
        assert!(
            streams
                .begin(1, 4, sha.clone(), false, begin_event(1))
                .is_some()
        );
        assert!(matches!(
            streams.chunk(1, 0, b"ab"),
            Chunk::Progress(Some(_))
        ));
        assert!(matches!(
            streams.chunk(1, 2, b"cd"),
            Chunk::Progress(Some(_))
        ));
        let done = streams.end(1).expect("finished");
        assert_eq!(&done.bytes[..], bytes);
        assert!(Finished::verify(&done.bytes, done.size, &done.sha256));
        assert!(!Finished::verify(b"abce", 4, &sha));
        assert!(streams.end(1).is_none(), "gone once ended");
    }

    #[test]
    fn a_chunk_out_of_order_or_past_the_size_drops_the_image() {
        let mut streams = streams();
        streams.begin(1, 4, String::new(), false, begin_event(1));
        assert!(matches!(
            streams.chunk(1, 1, b"x"),
            Chunk::Dropped { announced: true }
        ));
        assert!(matches!(streams.chunk(1, 0, b"x"), Chunk::Unknown));
        streams.begin(2, 2, String::new(), true, begin_event(2));
        assert!(matches!(
            streams.chunk(2, 0, b"xyz"),
            Chunk::Dropped { announced: false }
        ));
    }

    #[test]
    fn our_own_image_is_announced_only_once_complete() {
        let mut streams = streams();
        assert!(
            streams
                .begin(3, 1, String::new(), true, begin_event(3))
                .is_none()
        );
        assert!(matches!(streams.chunk(3, 0, b"z"), Chunk::Progress(None)));
        let done = streams.end(3).expect("finished");
        assert!(done.own && done.deferred.is_some());
    }
}
