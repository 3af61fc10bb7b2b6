//! What the timeline holds: entries (a text, an image, a notice) and where
//! each image stands, plus the connection state as a person should see it.

use std::time::Instant;

use bytes::Bytes;
use snapwire_relay::protocol::User;

/// Stable key of one timeline entry for the life of the model: textures and
/// row heights are cached by it. After dedup, one entry holds one `seq`.
pub type EntryKey = u64;

/// What we know about an image before its bytes are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMeta {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// An image read, checked and hashed on a worker, ready to upload.
#[derive(Debug, Clone)]
pub struct PreparedImage {
    pub meta: ImageMeta,
    /// A PNG/JPEG of at most 32 KiB and 256 px, when one could be made.
    pub preview: Option<Bytes>,
    pub bytes: Bytes,
}

/// Where one image stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageState {
    /// Own: being read, sniffed and hashed.
    Preparing,
    /// Own: waiting for the connection or for its turn.
    Queued,
    /// Own: bytes handed to the connection so far.
    Uploading { sent: u64 },
    /// Incoming: bytes received so far.
    Streaming { received: u64 },
    /// All bytes here and, for incoming images, the SHA-256 matched.
    Ready,
    /// Nothing more will happen; the reason is shown inline.
    Failed(String),
    /// Stopped by a person (the sender, or us for our own).
    Cancelled(String),
}

impl ImageState {
    /// True when an image can be opened, saved and copied: not failed or cancelled.
    pub fn viewable(&self) -> bool {
        !matches!(self, ImageState::Failed(_) | ImageState::Cancelled(_))
    }

    /// True while bytes are still moving (progress is worth showing).
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            ImageState::Preparing
                | ImageState::Queued
                | ImageState::Uploading { .. }
                | ImageState::Streaming { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct ImageItem {
    /// Unknown only while our own file is still being read.
    pub meta: Option<ImageMeta>,
    pub preview: Option<Bytes>,
    /// The full image once it is `Ready` (or, for our own, once prepared),
    /// while it is kept in memory.
    pub bytes: Option<Bytes>,
    /// Where the full image went when it left memory (see `Model::spilled`).
    pub spilled: Option<std::path::PathBuf>,
    pub state: ImageState,
    /// Said next to our own sent image: "metadata removed", "original"…
    pub note: Option<String>,
}

impl ImageItem {
    /// Display name, also while the metadata is unknown.
    pub fn name(&self) -> &str {
        self.meta.as_ref().map_or("image", |m| m.name.as_str())
    }

    /// Fraction of the bytes moved, for a progress bar.
    pub fn progress(&self) -> Option<f32> {
        let size = self.meta.as_ref()?.size.max(1) as f32;
        match self.state {
            ImageState::Uploading { sent } => Some(sent as f32 / size),
            ImageState::Streaming { received } => Some(received as f32 / size),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Body {
    /// A text; `failed` holds the relay's reason when our own could not be sent.
    Text {
        text: String,
        failed: Option<String>,
    },
    Image(ImageItem),
    /// "Ben joined", "Ana left", and errors that concern no item.
    Notice(String),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: EntryKey,
    /// Room-wide sequence number, once the item is complete (none for notices).
    pub seq: Option<u64>,
    /// Relay time in Unix ms (local clock for our own items until acked).
    pub ts: u64,
    /// Author; `None` for notices.
    pub from: Option<User>,
    /// Written by this client (same user id), shown on the right.
    pub own: bool,
    /// Our own item id, the one the relay dedups by.
    pub local_id: Option<String>,
    /// The relay's stream id while an incoming image streams on this connection.
    pub sid: Option<u64>,
    pub history: bool,
    /// Who confirmed they have this (own items only).
    pub receipts: Vec<User>,
    pub body: Body,
}

impl Entry {
    pub fn image(&self) -> Option<&ImageItem> {
        match &self.body {
            Body::Image(image) => Some(image),
            _ => None,
        }
    }

    /// Our own item the relay has not acknowledged yet.
    pub fn pending(&self) -> bool {
        self.own && self.local_id.is_some() && self.seq.is_none()
    }
}

/// The link to the relay as a person should see it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    /// Not started (the connect view is showing).
    Idle,
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Lost; the next attempt is at `retry_at`.
    Reconnecting {
        retry_at: Instant,
        reason: String,
    },
    /// Given up: retrying would fail the same way (wrong token, bad name…).
    Stopped {
        reason: String,
    },
}
