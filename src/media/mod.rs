//! Image work that must never run on the UI thread, in one pipeline:
//! [`codec`] (every decode and encode, with limits; a leaf; GIF frames in
//! [`animation`]), [`privacy`]
//! (metadata removal and "Smaller"), [`prepare`] (checking and hashing what
//! we send), and [`worker`] (the threads that run all of it and report back).

pub mod animation;
pub mod codec;
pub mod prepare;
pub mod privacy;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

pub use codec::{Data, DecodeError, Decoded, decode, decode_for_display};
pub use prepare::{
    DEFAULT_MAX_IMAGE_BYTES, SMALLER_READ_LIMIT, SendOptions, prepare_bytes, prepare_file_with,
    prepare_with,
};
pub use worker::{Copy, Done, FullRequest, Job, MediaWorker};

use crate::state::{Entry, EntryKey};

/// Which texture: the full image of an entry, or its preview while it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TexKey {
    Full(EntryKey),
    Preview(EntryKey),
}

/// Something to prepare for sending.
pub enum Source {
    File(PathBuf),
    Pasted(Arc<egui::ColorImage>),
    Bytes { name: String, bytes: Bytes },
}

/// Where an entry's image bytes are, when it has them and is not failed.
pub fn entry_data(entry: &Entry) -> Option<Data> {
    let image = entry.image()?;
    if !image.state.viewable() {
        return None;
    }
    match (&image.bytes, &image.spilled) {
        (Some(bytes), _) => Some(Data::Memory(bytes.clone())),
        (None, Some(path)) => Some(Data::File(path.clone())),
        (None, None) => None,
    }
}
