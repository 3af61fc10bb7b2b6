//! Retention: the completed items of each room, on disk (crash-safe) or in memory.
//!
//! A [`Store`] hands out one [`RoomStore`] per room. A room assigns each
//! completed item its `seq` and `ts` in [`RoomStore::commit`], makes it durable
//! before returning (so the relay may ack), then prunes the oldest items beyond
//! the [`Retention`] budget. Readers ([`RoomStore::items_after`], [`RoomStore::find`])
//! take only a short in-memory lock, never one held across an fsync.
//!
//! Layout: `index` is the in-memory view and the retention policy, `record`
//! the item file format, `disk` the directory layout, atomic writes and recovery.

mod commit;
mod disk;
mod index;
mod readback;
mod record;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::{Retention, Storage};
use crate::protocol::User;
use disk::{DiskRoom, TempFile};
use index::Index;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The OS error is part of the message and deliberately not a `source()`:
    /// error chains (`{:#}`) would print it twice.
    #[error("{context}: {cause}")]
    Io {
        context: String,
        cause: std::io::Error,
    },
    #[error("{0}")]
    Corrupt(String),
    #[error("item {0} is no longer retained")]
    Pruned(u64),
    #[error("data directory {} is in use by another relay", .0.display())]
    InUse(std::path::PathBuf),
}

/// What a completed item holds besides its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A text message's UTF-8 body.
    Text(Bytes),
    Image(ImageMeta),
}

/// An image's metadata; its bytes are read with [`RoomStore::read_image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMeta {
    /// Display name, already sanitized.
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The preview the sender gave, possibly empty.
    pub preview: Bytes,
}

/// An item about to be committed.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub from: User,
    /// Dedup key of the author: hex SHA-256 of the client secret (never the secret itself).
    pub client_key: String,
    /// The author's item id.
    pub item_id: String,
    pub content: Content,
}

/// A retained, completed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub seq: u64,
    /// Relay time of completion, Unix milliseconds.
    pub ts: u64,
    pub from: User,
    pub client_key: String,
    pub item_id: String,
    pub content: Content,
}

impl Item {
    /// Bytes this item counts against the retention budget.
    pub fn retained_bytes(&self) -> u64 {
        match &self.content {
            Content::Text(text) => text.len() as u64,
            Content::Image(image) => image.size + image.preview.len() as u64,
        }
    }
}

/// What [`RoomStore::commit_or_existing`] did.
#[derive(Debug, Clone)]
pub enum Committed {
    /// The item is now retained under a new seq.
    New(Arc<Item>),
    /// An item with the same `(client_key, item_id)` was already retained (two
    /// connections of one client raced); nothing was written, this is the original.
    Existing(Arc<Item>),
}

impl Committed {
    /// The retained item, new or original.
    pub fn item(&self) -> &Arc<Item> {
        match self {
            Committed::New(item) | Committed::Existing(item) => item,
        }
    }

    /// The retained item, new or original.
    pub fn into_item(self) -> Arc<Item> {
        match self {
            Committed::New(item) | Committed::Existing(item) => item,
        }
    }
}

/// All rooms' retention. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    /// The data directory's lock, released when the store is dropped.
    _lock: Option<std::fs::File>,
    /// `<data dir>/rooms`, or `None` in memory mode.
    rooms_dir: Option<std::path::PathBuf>,
    retention: Retention,
    /// One slot per room name ever asked for. A room loads under its own slot's
    /// lock, so loading one room from disk never blocks lookups of others.
    rooms: Mutex<HashMap<String, RoomSlot>>,
}

/// A room once loaded; `None` until then, or after a failed load (retried).
type RoomSlot = Arc<Mutex<Option<Arc<RoomStore>>>>;

impl Store {
    /// Opens the store: for disk, creates the directory if needed, checks it is
    /// writable, removes leftovers of uploads that were in progress.
    pub fn open(storage: &Storage, retention: Retention) -> Result<Store, StoreError> {
        let (rooms_dir, lock) = match storage {
            Storage::Disk(dir) => {
                let (rooms, lock) = disk::prepare_root(dir)?;
                (Some(rooms), Some(lock))
            }
            Storage::Memory => (None, None),
        };
        Ok(Store {
            inner: Arc::new(StoreInner {
                _lock: lock,
                rooms_dir,
                retention,
                rooms: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The room's retention, loaded from disk or created with a new epoch the first
    /// time. The same `Arc` for the same name while the store lives.
    ///
    /// The first call for a room on disk reads every item's footer: call it
    /// off the async workers (`spawn_blocking`) if rooms can be large.
    pub fn room(&self, room: &str) -> Result<Arc<RoomStore>, StoreError> {
        let slot = Arc::clone(lock(&self.inner.rooms).entry(room.to_owned()).or_default());
        let mut slot = lock(&slot);
        if let Some(room) = slot.as_ref() {
            return Ok(Arc::clone(room));
        }
        let retention = self.inner.retention;
        let loaded = match &self.inner.rooms_dir {
            Some(rooms) => {
                let loaded = DiskRoom::load(rooms, room, retention)?;
                RoomStore {
                    name: room.to_owned(),
                    epoch: loaded.epoch,
                    retention,
                    disk: Some(loaded.disk),
                    commit: Mutex::new(CommitState {
                        unrecorded_prunes: loaded.unrecorded_prunes,
                    }),
                    index: Mutex::new(loaded.index),
                    reads: Default::default(),
                    file_syncs: Default::default(),
                    dir_syncs: Default::default(),
                }
            }
            None => RoomStore {
                name: room.to_owned(),
                epoch: random_hex(8),
                retention,
                disk: None,
                commit: Mutex::new(CommitState::default()),
                index: Mutex::new(Index::default()),
                reads: Default::default(),
                file_syncs: Default::default(),
                dir_syncs: Default::default(),
            },
        };
        let loaded = Arc::new(loaded);
        *slot = Some(Arc::clone(&loaded));
        Ok(loaded)
    }

    /// The retention every room applies.
    pub fn retention(&self) -> Retention {
        self.inner.retention
    }

    /// Whether items survive a restart.
    pub fn is_persistent(&self) -> bool {
        self.inner.rooms_dir.is_some()
    }
}

/// One room's retained items. Internally synchronized.
pub struct RoomStore {
    name: String,
    epoch: String,
    retention: Retention,
    /// `None` in memory mode.
    disk: Option<DiskRoom>,
    /// Held from seq assignment until the item is durable, so seq order is
    /// commit order; readers never take it.
    commit: Mutex<CommitState>,
    /// Taken briefly, never across file I/O.
    index: Mutex<Index>,
    /// Image reads (see `readback.rs`).
    reads: std::sync::atomic::AtomicU64,
    /// Syncs by commits (see `commit.rs`).
    file_syncs: std::sync::atomic::AtomicU64,
    dir_syncs: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct CommitState {
    /// Seqs pruned from the index whose files remain because recording them in
    /// `room.json` failed; retried at the next commit.
    unrecorded_prunes: Vec<u64>,
}

impl RoomStore {
    /// The room's name as given to [`Store::room`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names this room's history: the same across restarts until its data is lost.
    pub fn epoch(&self) -> String {
        self.epoch.clone()
    }

    /// The highest seq ever assigned in the room (0 = none).
    pub fn last_seq(&self) -> u64 {
        lock(&self.index).last_seq
    }

    /// The highest seq ever pruned (0 = none): a reader that has not seen
    /// every item up to it has lost some.
    pub fn pruned_through(&self) -> u64 {
        lock(&self.index).pruned_through
    }

    /// Retained items with `seq > after`, ascending, at most `limit`.
    pub fn items_after(&self, after: u64, limit: usize) -> Vec<Arc<Item>> {
        lock(&self.index).items_after(after, limit)
    }

    /// How many retained items have `seq > after`.
    pub fn count_after(&self, after: u64) -> usize {
        lock(&self.index).count_after(after)
    }

    /// The `after` for which [`items_after`](Self::items_after) gives the `n`
    /// newest retained items: `pruned_through()` (or 0) when there are no more than `n`.
    pub fn seq_before_latest(&self, n: usize) -> u64 {
        lock(&self.index).seq_before_latest(n)
    }

    /// `(seq, ts)` of the retained item with this dedup key, if any.
    pub fn find(&self, client_key: &str, item_id: &str) -> Option<(u64, u64)> {
        lock(&self.index).find(client_key, item_id)
    }

    /// The retained item with this seq, if any.
    pub fn get(&self, seq: u64) -> Option<Arc<Item>> {
        lock(&self.index).get(seq).cloned()
    }

    /// A place for an image's bytes as they arrive; dropping it without
    /// committing discards them.
    pub fn begin_upload(&self) -> Result<Upload, StoreError> {
        let sink = match &self.disk {
            Some(disk) => Sink::Disk(disk.temp_file()?),
            None => Sink::Memory(Vec::new()),
        };
        Ok(Upload {
            sink,
            hasher: Sha256::new(),
            len: 0,
        })
    }

    /// Retains a completed item: a text with `upload = None`, an image with the
    /// upload that holds its bytes. Durable when it returns. If the item's
    /// `(client_key, item_id)` is already retained, returns the original
    /// unchanged (see [`commit_or_existing`](Self::commit_or_existing) to tell).
    pub fn commit(&self, new: NewItem, upload: Option<Upload>) -> Result<Arc<Item>, StoreError> {
        self.commit_or_existing(new, upload)
            .map(Committed::into_item)
    }

    /// [`commit`](Self::commit), saying whether the item is new. A batch of one
    /// (see `commit.rs`).
    pub fn commit_or_existing(
        &self,
        new: NewItem,
        upload: Option<Upload>,
    ) -> Result<Committed, StoreError> {
        self.commit_batch(vec![(new, upload)])
            .pop()
            .unwrap_or_else(|| {
                Err(StoreError::Corrupt(
                    "a batch of one gave nothing".to_owned(),
                ))
            })
    }

    /// In memory mode: the image's bytes to keep (a text keeps its body in the item).
    fn write(&self, body: Body) -> Result<Option<Bytes>, StoreError> {
        match body {
            Body::Text => Ok(None),
            Body::Upload(Sink::Memory(bytes)) => Ok(Some(Bytes::from(bytes))),
            Body::Upload(Sink::Disk(_)) => Err(StoreError::Corrupt(
                "an upload from a disk store committed to a memory room".to_owned(),
            )),
        }
    }

    /// Image bytes `[offset, offset + len)`, clipped to the image. Blocking on
    /// disk: call from `spawn_blocking`.
    pub fn read_image(&self, item: &Item, offset: u64, len: usize) -> Result<Bytes, StoreError> {
        let Content::Image(image) = &item.content else {
            return Err(StoreError::Corrupt(format!(
                "item {} is not an image",
                item.seq
            )));
        };
        let start = offset.min(image.size);
        let end = start.saturating_add(len as u64).min(image.size);
        // Fits: end - start <= len.
        let clipped = (end - start) as usize;
        match &self.disk {
            Some(disk) => {
                if item.seq <= self.pruned_through() {
                    return Err(StoreError::Pruned(item.seq));
                }
                if clipped == 0 {
                    return Ok(Bytes::new());
                }
                disk.read_body(item.seq, start, clipped)
            }
            None => {
                let index = lock(&self.index);
                let bytes = index
                    .images
                    .get(&item.seq)
                    .ok_or(StoreError::Pruned(item.seq))?;
                let (start, end) = (start as usize, end as usize);
                if end > bytes.len() {
                    return Err(StoreError::Corrupt(format!(
                        "item {} holds {} bytes, not {}",
                        item.seq,
                        bytes.len(),
                        image.size
                    )));
                }
                Ok(bytes.slice(start..end))
            }
        }
    }

    /// The room's directory, for tests.
    #[cfg(test)]
    fn dir(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(DiskRoom::dir)
    }
}

/// What a commit's body comes from, checked against the item's content.
enum Body {
    Text,
    Upload(Sink),
}

impl Body {
    fn check(content: &Content, upload: Option<Upload>) -> Result<Body, StoreError> {
        match (content, upload) {
            (Content::Text(_), None) => Ok(Body::Text),
            (Content::Image(image), Some(upload)) => {
                if upload.len != image.size {
                    return Err(StoreError::Corrupt(format!(
                        "upload holds {} bytes, the image {}",
                        upload.len, image.size
                    )));
                }
                let sha256 = upload.sha256_hex();
                if !sha256.eq_ignore_ascii_case(&image.sha256) {
                    return Err(StoreError::Corrupt(format!(
                        "upload hashes to {sha256}, the image says {}",
                        image.sha256
                    )));
                }
                Ok(Body::Upload(upload.sink))
            }
            (Content::Text(_), Some(_)) => {
                Err(StoreError::Corrupt("a text with an upload".to_owned()))
            }
            (Content::Image(_), None) => {
                Err(StoreError::Corrupt("an image without an upload".to_owned()))
            }
        }
    }
}

/// An image's bytes as they arrive.
pub struct Upload {
    sink: Sink,
    /// Running hash, so completion needs no second pass over the bytes.
    hasher: Sha256,
    len: u64,
}

enum Sink {
    /// A temp file, removed when dropped uncommitted.
    Disk(TempFile),
    Memory(Vec<u8>),
}

impl Upload {
    /// Appends bytes. Blocking on disk: call from `spawn_blocking`.
    pub fn write(&mut self, bytes: &Bytes) -> Result<(), StoreError> {
        match &mut self.sink {
            Sink::Disk(temp) => temp.write_all(bytes)?,
            Sink::Memory(buf) => buf.extend_from_slice(bytes),
        }
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lowercase hex SHA-256 of everything written so far.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

/// Locks, shrugging off poisoning: every critical section leaves the data
/// consistent between statements that can panic, so a panicked holder is no
/// reason to take the whole room down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `n` random bytes as lowercase hex. Falls back to time and a counter if the
/// OS has no randomness to give, which only weakens uniqueness, not safety.
fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if let Err(e) = getrandom::fill(&mut buf) {
        tracing::warn!(error = %e, "no OS randomness; using the clock");
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = Sha256::new()
            .chain_update(nanos.to_le_bytes())
            .chain_update(count.to_le_bytes())
            .chain_update(std::process::id().to_le_bytes())
            .finalize();
        for (b, s) in buf.iter_mut().zip(seed.iter().cycle()) {
            *b = *s;
        }
    }
    hex::encode(buf)
}
