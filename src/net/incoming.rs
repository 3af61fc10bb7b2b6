//! Images arriving on one connection: `image_begin`, chunks, `image_end`,
//! reassembled per stream id, checked against the announced size and
//! SHA-256. A chunk out of order or past the announced size drops the image
//! rather than show garbage. Our own images (replayed after a reconnect, or
//! from another window of ours) are announced only once complete, so a
//! duplicate never flashes while it streams.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::state::Event;

/// Largest incoming buffer reserved up front, whatever `size` claims.
const MAX_PREALLOC: usize = 8 * 1024 * 1024;
/// The largest image this app takes, whatever a relay's welcome allows.
pub const MAX_INCOMING_IMAGE: u64 = 256 * 1024 * 1024;
/// Announced bytes of all streams open at once: beyond it new streams are refused.
pub const MAX_INCOMING_TOTAL: u64 = 512 * 1024 * 1024;

/// Images announced larger than this are written to a file as they arrive.
pub const IN_MEMORY_STREAM: u64 = 16 * 1024 * 1024;
/// Announced bytes of the streams held in memory at once: past it, even small
/// images go to a file, so a relay that opens many streams cannot make the app
/// hold more than this in memory for them, whatever it claims.
pub const IN_MEMORY_TOTAL: u64 = 32 * 1024 * 1024;

/// Where an incoming image's bytes go.
enum Buffer {
    Memory(Vec<u8>),
    /// Removed when dropped, unless the image completes.
    File {
        file: tempfile::NamedTempFile,
        len: u64,
    },
}

impl Buffer {
    fn len(&self) -> u64 {
        match self {
            Buffer::Memory(buf) => buf.len() as u64,
            Buffer::File { len, .. } => *len,
        }
    }

    fn append(&mut self, body: &[u8]) -> std::io::Result<()> {
        match self {
            Buffer::Memory(buf) => buf.extend_from_slice(body),
            Buffer::File { file, len } => {
                // A chunk is at most the welcome's chunk size: a short write to the page cache.
                file.write_all(body)?;
                *len += body.len() as u64;
            }
        }
        Ok(())
    }
}

/// The place [`Streams::reserve`] made for one stream's bytes.
pub(super) struct Reserved(Buffer);

/// A finished image's bytes.
pub(super) enum Body {
    Memory(Bytes),
    File(tempfile::NamedTempFile),
}

/// One incoming image.
struct Incoming {
    size: u64,
    sha256: String,
    buf: Buffer,
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
    pub(super) body: Body,
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

    /// The same check for an image written to a file, read back in pieces.
    pub(super) fn verify_file(path: &Path, size: u64, sha256: &str) -> bool {
        let mut hasher = Sha256::new();
        let copied = std::fs::File::open(path).and_then(|mut f| std::io::copy(&mut f, &mut hasher));
        copied.is_ok_and(|n| n == size) && hex::encode(hasher.finalize()) == sha256
    }
}

/// The streams of one connection, by stream id, within what the welcome said
/// (and what this app holds, whatever the welcome said).
pub(super) struct Streams {
    open: HashMap<u64, Incoming>,
    max_image: u64,
    max_chunk: u64,
    /// Where large images are written as they arrive (`None`: none could be made).
    dir: Option<PathBuf>,
}

impl Streams {
    pub(super) fn new(limits: &snapwire_relay::protocol::Limits, dir: Option<PathBuf>) -> Self {
        Self {
            open: HashMap::new(),
            max_image: limits.max_image_bytes.min(MAX_INCOMING_IMAGE),
            max_chunk: limits.max_chunk_bytes,
            dir,
        }
    }

    /// Announced bytes of the open streams whose bytes are kept in memory.
    fn in_memory(&self) -> u64 {
        self.open
            .values()
            .filter(|i| matches!(i.buf, Buffer::Memory(_)))
            .map(|i| i.size)
            .sum()
    }

    /// Where a stream of `size` bytes goes, or why it is not taken, in words.
    /// Memory only while the size and all memory streams together stay small;
    /// otherwise a file, and refused when no file can be made.
    pub(super) fn reserve(&self, size: u64) -> Result<Reserved, String> {
        if size > self.max_image {
            return Err(format!(
                "the relay announced {}, more than the {} it allows (not received)",
                crate::look::human_size(size),
                crate::look::human_size(self.max_image)
            ));
        }
        let open: u64 = self.open.values().map(|i| i.size).sum();
        if open.saturating_add(size) > MAX_INCOMING_TOTAL {
            return Err("too many large images at once (not received)".into());
        }
        if size <= IN_MEMORY_STREAM && self.in_memory().saturating_add(size) <= IN_MEMORY_TOTAL {
            let cap = usize::try_from(size)
                .unwrap_or(MAX_PREALLOC)
                .min(MAX_PREALLOC);
            return Ok(Reserved(Buffer::Memory(Vec::with_capacity(cap))));
        }
        let Some(dir) = &self.dir else {
            return Err(
                "too many images at once, and no place on disk for them (not received)".into(),
            );
        };
        match tempfile::Builder::new().suffix(".part").tempfile_in(dir) {
            Ok(file) => Ok(Reserved(Buffer::File { file, len: 0 })),
            Err(e) => {
                tracing::warn!(error = %e, "cannot write an incoming image to disk");
                Err(format!("cannot write it to disk: {e} (not received)"))
            }
        }
    }

    /// A new stream in the place [`Streams::reserve`] gave it; returns the
    /// event to show now (`None` for our own, held back).
    pub(super) fn begin(
        &mut self,
        sid: u64,
        Reserved(buf): Reserved,
        size: u64,
        sha256: String,
        own: bool,
        event: Event,
    ) -> Option<Event> {
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
                buf,
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
        let fits = offset == image.buf.len()
            && body.len() as u64 <= self.max_chunk
            && image.buf.len() + body.len() as u64 <= image.size;
        let written = fits && {
            let result = image.buf.append(body);
            if let Err(e) = &result {
                tracing::warn!(error = %e, sid, "cannot write an incoming image; dropping it");
            }
            result.is_ok()
        };
        if !written {
            let announced = self.open.remove(&sid).is_some_and(|i| i.deferred.is_none());
            return Chunk::Dropped { announced };
        }
        let received = image.buf.len();
        Chunk::Progress(
            image
                .deferred
                .is_none()
                .then_some(Event::ImageProgress { sid, received }),
        )
    }

    pub(super) fn end(&mut self, sid: u64) -> Option<Finished> {
        let image = self.open.remove(&sid)?;
        let body = match image.buf {
            Buffer::Memory(buf) => Body::Memory(Bytes::from(buf)),
            Buffer::File { file, .. } => Body::File(file),
        };
        Some(Finished {
            body,
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
        Streams::new(
            &Limits {
                max_image_bytes: 1 << 20,
                max_chunk_bytes: 2,
                max_text_bytes: 100,
                max_uploads: 4,
            },
            None,
        )
    }

    #[test]
    fn sizes_beyond_the_welcome_or_the_app_are_refused_in_words() {
        let mut s = streams();
        assert!(s.reserve(1 << 20).is_ok());
        let Err(words) = s.reserve(1 << 50) else {
            panic!("2^50 bytes taken");
        };
        assert!(words.contains("more than the 1.0 MB it allows"), "{words}");
        let huge = Streams::new(
            &Limits {
                max_image_bytes: u64::MAX,
                max_chunk_bytes: 1 << 20,
                max_text_bytes: 100,
                max_uploads: 4,
            },
            None,
        );
        assert!(
            huge.reserve(MAX_INCOMING_IMAGE + 1).is_err(),
            "the app's own cap"
        );
        open(&mut s, 1, 4, String::new(), false, begin_event(1));
        assert!(
            matches!(s.chunk(1, 0, b"abc"), Chunk::Dropped { announced: true }),
            "a chunk larger than the welcome's"
        );
    }

    /// Reserves and begins a stream, as the connection does.
    fn open(
        streams: &mut Streams,
        sid: u64,
        size: u64,
        sha256: String,
        own: bool,
        event: Event,
    ) -> Option<Event> {
        let place = streams.reserve(size).expect("reserved");
        streams.begin(sid, place, size, sha256, own, event)
    }

    #[test]
    fn memory_holds_only_a_few_streams_at_once_then_files_or_a_refusal() {
        let limits = Limits {
            max_image_bytes: 1 << 30,
            max_chunk_bytes: 1 << 20,
            max_text_bytes: 100,
            max_uploads: 4,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut with_disk = Streams::new(&limits, Some(dir.path().to_path_buf()));
        let mut no_disk = Streams::new(&limits, None);
        let per = IN_MEMORY_STREAM;
        let fit = IN_MEMORY_TOTAL / per;
        for sid in 0..fit {
            open(
                &mut with_disk,
                sid,
                per,
                String::new(),
                false,
                begin_event(sid),
            );
            open(
                &mut no_disk,
                sid,
                per,
                String::new(),
                false,
                begin_event(sid),
            );
        }
        assert_eq!(with_disk.in_memory(), IN_MEMORY_TOTAL);
        // One more small stream no longer fits in memory: a file, or refused in words.
        open(
            &mut with_disk,
            fit,
            1,
            String::new(),
            false,
            begin_event(fit),
        );
        assert_eq!(
            with_disk.in_memory(),
            IN_MEMORY_TOTAL,
            "the next went to a file"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
        let Err(words) = no_disk.reserve(1) else {
            panic!("taken in memory past the total");
        };
        assert!(words.contains("not received"), "{words}");
        // Memory is free again once a stream ends.
        assert!(with_disk.cancel(0));
        assert!(matches!(
            with_disk.reserve(per),
            Ok(Reserved(Buffer::Memory(_)))
        ));
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
        assert!(open(&mut streams, 1, 4, sha.clone(), false, begin_event(1)).is_some());
        assert!(matches!(
            streams.chunk(1, 0, b"ab"),
            Chunk::Progress(Some(_))
        ));
        assert!(matches!(
            streams.chunk(1, 2, b"cd"),
            Chunk::Progress(Some(_))
        ));
        let done = streams.end(1).expect("finished");
        let Body::Memory(got) = &done.body else {
            panic!("small images stay in memory");
        };
        assert_eq!(&got[..], bytes);
        assert!(Finished::verify(got, done.size, &done.sha256));
        assert!(!Finished::verify(b"abce", 4, &sha));
        assert!(streams.end(1).is_none(), "gone once ended");
    }

    #[test]
    fn a_chunk_out_of_order_or_past_the_size_drops_the_image() {
        let mut streams = streams();
        open(&mut streams, 1, 4, String::new(), false, begin_event(1));
        assert!(matches!(
            streams.chunk(1, 1, b"x"),
            Chunk::Dropped { announced: true }
        ));
        assert!(matches!(streams.chunk(1, 0, b"x"), Chunk::Unknown));
        open(&mut streams, 2, 2, String::new(), true, begin_event(2));
        assert!(matches!(
            streams.chunk(2, 0, b"xyz"),
            Chunk::Dropped { announced: false }
        ));
    }

    #[test]
    fn a_large_image_goes_to_a_file_as_it_arrives_and_is_checked_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut streams = Streams::new(
            &Limits {
                max_image_bytes: 1 << 30,
                max_chunk_bytes: 1 << 20,
                max_text_bytes: 100,
                max_uploads: 4,
            },
            Some(dir.path().to_path_buf()),
        );
        let size = IN_MEMORY_STREAM + 3;
        let bytes = vec![5u8; size as usize];
        let sha = hex::encode(Sha256::digest(&bytes));
        open(&mut streams, 9, size, sha.clone(), false, begin_event(9));
        for (n, chunk) in bytes.chunks(1 << 20).enumerate() {
            let offset = (n as u64) << 20;
            assert!(matches!(
                streams.chunk(9, offset, chunk),
                Chunk::Progress(Some(_))
            ));
        }
        let done = streams.end(9).expect("finished");
        let Body::File(file) = done.body else {
            panic!("a large image is written to a file");
        };
        assert!(Finished::verify_file(file.path(), size, &sha));
        assert!(!Finished::verify_file(file.path(), size, &"0".repeat(64)));
        // A stream that never ends leaves no file behind.
        open(&mut streams, 10, size, sha, false, begin_event(10));
        streams.chunk(10, 0, &bytes[..10]);
        assert!(streams.cancel(10));
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "only the finished one: {left:?}");
    }

    #[test]
    fn our_own_image_is_announced_only_once_complete() {
        let mut streams = streams();
        assert!(open(&mut streams, 3, 1, String::new(), true, begin_event(3)).is_none());
        assert!(matches!(streams.chunk(3, 0, b"z"), Chunk::Progress(None)));
        let done = streams.end(3).expect("finished");
        assert!(done.own && done.deferred.is_some());
    }
}
