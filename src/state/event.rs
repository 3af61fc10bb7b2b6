//! Everything that changes the model: relay messages turned into values by
//! the network worker, and the app's own results (prepared, cancelled…).

use std::time::Instant;

use bytes::Bytes;
use snapwire_relay::protocol::{CancelReason, ErrorCode, User, Welcome};

use super::{ImageMeta, PreparedImage};

/// Everything that changes the model.
#[derive(Debug, Clone)]
pub enum Event {
    Connecting {
        attempt: u32,
    },
    Reconnecting {
        retry_at: Instant,
        reason: String,
    },
    Stopped {
        reason: String,
    },
    Welcome(Welcome),
    Joined(User),
    Left(User),
    Text {
        seq: u64,
        ts: u64,
        from: User,
        text: String,
        history: bool,
    },
    ImageBegin {
        sid: u64,
        ts: u64,
        from: User,
        meta: ImageMeta,
        preview: Option<Bytes>,
        history: bool,
    },
    ImageProgress {
        sid: u64,
        received: u64,
    },
    /// `image_end` arrived and we hashed the bytes; `verified` is the SHA-256 check.
    ImageComplete {
        sid: u64,
        seq: u64,
        ts: u64,
        bytes: Bytes,
        verified: bool,
    },
    /// Like `ImageComplete` for a large image the worker wrote to a file as
    /// it arrived (never held in memory whole).
    ImageStored {
        sid: u64,
        seq: u64,
        ts: u64,
        path: std::path::PathBuf,
        verified: bool,
    },
    ImageCancel {
        sid: u64,
        reason: CancelReason,
    },
    /// This app does not take the stream (beyond the welcome's limits or its
    /// own); `reason` says so in words.
    StreamRefused {
        sid: u64,
        reason: String,
    },
    Ack {
        id: String,
        seq: u64,
        ts: u64,
    },
    Receipt {
        seq: u64,
        user: User,
    },
    RelayError {
        code: ErrorCode,
        message: String,
        id: Option<String>,
    },
    /// Our own image was read and hashed (or could not be).
    Prepared {
        id: String,
        result: Result<PreparedImage, String>,
    },
    UploadProgress {
        id: String,
        sent: u64,
    },
    UploadCancelled {
        id: String,
    },
    /// A Cancel that came after every byte was out: the item goes on to its ack.
    CancelTooLate {
        id: String,
    },
    /// Our own item never reached the connection worker (its queue was full,
    /// or it stopped): a local failure, in words, never a relay error code.
    SendFailed {
        id: String,
        reason: String,
    },
}
