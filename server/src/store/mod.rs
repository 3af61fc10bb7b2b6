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

mod budget;
mod commit;
mod disk;
mod index;
mod readback;
mod record;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::{Retention, Storage};
use crate::protocol::User;
use budget::Budget;
pub use budget::Budgets;
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
    #[error("the relay already holds its maximum of {0} rooms")]
    TooManyRooms(usize),
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

    /// Heap bytes this item holds while its room is loaded: the item itself, its
    /// strings, its text or preview (image bytes stay on disk).
    pub fn ram_bytes(&self) -> u64 {
        let strings =
            self.from.id.len() + self.from.name.len() + self.client_key.len() + self.item_id.len();
        let content = match &self.content {
            Content::Text(text) => text.len(),
            Content::Image(image) => {
                image.name.len() + image.mime.len() + image.sha256.len() + image.preview.len()
            }
        };
        (std::mem::size_of::<Item>() + strings + content) as u64
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
    /// The limits across rooms, and what every room retains.
    budget: Arc<Budget>,
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
        Self::open_with(storage, retention, Budgets::UNLIMITED)
    }

    /// [`open`](Self::open) with limits across rooms. On disk, every room's size is
    /// read from its files (nothing is loaded), and rooms that never held an item
    /// are removed. Call [`enforce_budget`](Self::enforce_budget) after, in case the
    /// budget was lowered since the last run.
    pub fn open_with(
        storage: &Storage,
        retention: Retention,
        budgets: Budgets,
    ) -> Result<Store, StoreError> {
        let budget = Arc::new(Budget::new(budgets));
        let (rooms_dir, lock) = match storage {
            Storage::Disk(dir) => {
                let (rooms, lock) = disk::prepare_root(dir)?;
                for (name, bytes) in disk::scan_rooms(&rooms) {
                    // Rooms found on disk exist whatever the cap: it only stops new ones.
                    let _ = budget.admit(&name, bytes, false);
                }
                (Some(rooms), Some(lock))
            }
            Storage::Memory => (None, None),
        };
        Ok(Store {
            inner: Arc::new(StoreInner {
                _lock: lock,
                rooms_dir,
                retention,
                budget,
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
        let budget = &self.inner.budget;
        // A room found on disk at start is counted already (with its bytes).
        let new = !budget.contains(room);
        if new {
            budget
                .admit(room, 0, true)
                .map_err(|full| StoreError::TooManyRooms(full.max_rooms))?;
        }
        let loaded = match &self.inner.rooms_dir {
            Some(rooms) => {
                let loaded = match DiskRoom::load(rooms, room, retention, Arc::clone(budget)) {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        if new {
                            budget.forget(room);
                        }
                        return Err(e);
                    }
                };
                RoomStore {
                    name: room.to_owned(),
                    epoch: loaded.epoch,
                    retention,
                    budget: Arc::clone(budget),
                    disk: Some(loaded.disk),
                    commit: Mutex::new(CommitState {
                        unrecorded_prunes: loaded.unrecorded_prunes,
                    }),
                    index: Mutex::new(loaded.index),
                    ram_counted: AtomicU64::new(0),
                    reads: Default::default(),
                    file_syncs: Default::default(),
                    dir_syncs: Default::default(),
                }
            }
            None => RoomStore {
                name: room.to_owned(),
                epoch: random_hex(8),
                retention,
                budget: Arc::clone(budget),
                disk: None,
                commit: Mutex::new(CommitState::default()),
                index: Mutex::new(Index::default()),
                ram_counted: AtomicU64::new(0),
                reads: Default::default(),
                file_syncs: Default::default(),
                dir_syncs: Default::default(),
            },
        };
        {
            let index = lock(&loaded.index);
            budget.set(room, index.bytes());
            loaded.account_ram(index.ram_bytes());
        }
        let loaded = Arc::new(loaded);
        *slot = Some(Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Takes a room out of RAM if nothing uses it: its texts, previews and
    /// index go; its history stays on disk and loads again at the next
    /// [`room`](Self::room). A room that never held an item is removed
    /// altogether (on disk too). In memory mode a room with history stays.
    pub fn unload_if_unused(&self, room: &str) {
        enum Fate {
            Keep,
            Unload,
            Remove,
        }
        let mut rooms = lock(&self.inner.rooms);
        let Some(slot) = rooms.get(room) else {
            return;
        };
        // Only the map holds the slot: nobody is inside `room()` for this name, and
        // only `room()` clones slots, under the map lock we hold.
        if Arc::strong_count(slot) != 1 {
            return;
        }
        let fate = match slot.try_lock() {
            Err(_) => Fate::Keep,
            Ok(loaded) => match loaded.as_ref() {
                None => Fate::Unload, // a failed load: nothing to keep
                Some(store) if Arc::strong_count(store) != 1 => Fate::Keep,
                Some(store) => {
                    let (items, last_seq) = {
                        let index = lock(&store.index);
                        (index.len(), index.last_seq)
                    };
                    if items == 0 && last_seq == 0 {
                        if let Some(disk) = &store.disk {
                            disk.remove();
                        }
                        Fate::Remove
                    } else if self.is_persistent() {
                        Fate::Unload
                    } else {
                        Fate::Keep
                    }
                }
            },
        };
        match fate {
            Fate::Keep => {}
            Fate::Unload => {
                rooms.remove(room);
            }
            Fate::Remove => {
                rooms.remove(room);
                self.inner.budget.forget(room);
            }
        }
    }

    /// Whether this room is in RAM now.
    pub fn is_loaded(&self, room: &str) -> bool {
        lock(&self.inner.rooms)
            .get(room)
            .is_some_and(|slot| lock(slot).is_some())
    }

    /// Rooms that exist (on disk or in memory), loaded or not.
    pub fn room_count(&self) -> usize {
        self.inner.budget.room_count()
    }

    /// Bytes of history all rooms keep, temp files of uploads in progress included.
    pub fn history_bytes(&self) -> u64 {
        self.inner.budget.used()
    }

    /// Bytes the loaded rooms hold in RAM (items, texts, previews; in memory mode
    /// images too): goes back to 0 once every room with history is unloaded.
    pub fn ram_bytes(&self) -> u64 {
        self.inner.budget.ram.load(Ordering::Relaxed)
    }

    /// Whether an upload of `size` more bytes could ever fit the budget next to
    /// the uploads already in progress.
    pub fn upload_fits(&self, size: u64) -> bool {
        let budget = &self.inner.budget;
        budget
            .temp
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_add(size)
            <= budget.limits.max_bytes
    }

    /// Prunes the oldest items of the largest rooms until all rooms together fit
    /// `max_bytes` (each keeps at least its newest item). Returns the items pruned.
    /// Blocking (loads rooms that are not in RAM, deletes files): call from
    /// `spawn_blocking`.
    pub fn enforce_budget(&self) -> usize {
        let budget = &self.inner.budget;
        if budget.excess() == 0 {
            return 0;
        }
        let _one_at_a_time = lock(&budget.enforcing);
        let mut done = Vec::new();
        let mut pruned = 0;
        while budget.excess() > 0 {
            let Some((name, largest, second)) = budget.largest_two(&done) else {
                break;
            };
            // Down to the next largest room, or by a quarter, so that the largest
            // rooms shrink together in a few steps rather than one item at a time.
            let step = largest.saturating_sub(second).max(largest / 4).max(1);
            let room = match self.room(&name) {
                Ok(room) => room,
                Err(e) => {
                    tracing::warn!(room = name, error = %e, "cannot load a room to prune it");
                    done.push(name);
                    continue;
                }
            };
            let count = room.prune_bytes(budget.excess().min(step));
            drop(room);
            if count == 0 {
                done.push(name.clone());
            }
            pruned += count;
            self.unload_if_unused(&name);
        }
        if budget.excess() > 0 {
            tracing::warn!(
                used = budget.used(),
                max = budget.limits.max_bytes,
                "history is over its budget even with every room pruned to its newest item"
            );
        }
        pruned
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
    budget: Arc<Budget>,
    /// `None` in memory mode.
    disk: Option<DiskRoom>,
    /// Held from seq assignment until the item is durable, so seq order is
    /// commit order; readers never take it.
    commit: Mutex<CommitState>,
    /// Taken briefly, never across file I/O.
    index: Mutex<Index>,
    /// The index's `ram_bytes` as last added to the store's total; taken back
    /// when the room is dropped, so the total counts only rooms really in RAM.
    ram_counted: AtomicU64,
    /// Image reads (see `readback.rs`).
    reads: std::sync::atomic::AtomicU64,
    /// Syncs by commits (see `commit.rs`).
    file_syncs: std::sync::atomic::AtomicU64,
    dir_syncs: std::sync::atomic::AtomicU64,
}

impl Drop for RoomStore {
    fn drop(&mut self) {
        self.account_ram(0);
    }
}

#[derive(Default)]
struct CommitState {
    /// Seqs pruned from the index whose files remain because recording them in
    /// `room.json` failed; retried at the next commit.
    unrecorded_prunes: Vec<u64>,
}

impl RoomStore {
    /// Moves the store's RAM total to this room's `now` (under the index lock,
    /// so two updates of one room never cross).
    fn account_ram(&self, now: u64) {
        let before = self.ram_counted.swap(now, Ordering::Relaxed);
        self.budget.ram_moved(before, now);
    }

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

    /// Writes down what was pruned from the index, then deletes the files.
    fn record_prunes(
        &self,
        state: &mut CommitState,
        pruned: Vec<u64>,
        next_seq: u64,
        pruned_through: u64,
    ) {
        let Some(disk) = &self.disk else {
            return;
        };
        state.unrecorded_prunes.extend(pruned);
        if !state.unrecorded_prunes.is_empty() {
            // room.json first: once a file is gone, only it says seq was this high.
            match disk.write_room_file(&self.epoch, next_seq, pruned_through) {
                Ok(()) => disk.delete_items(&std::mem::take(&mut state.unrecorded_prunes)),
                Err(e) => {
                    // The items are gone from the index; pruning them is retried next commit.
                    tracing::warn!(room = self.name, error = %e, "recording pruned items");
                }
            }
        }
    }

    /// Prunes the oldest items until `bytes` are freed, keeping the newest item.
    /// Returns how many items went.
    fn prune_bytes(&self, bytes: u64) -> usize {
        let mut state = lock(&self.commit);
        let (pruned, pruned_through, next_seq, retained) = {
            let mut index = lock(&self.index);
            let target = Retention {
                max_items: self.retention.max_items,
                max_bytes: index.bytes().saturating_sub(bytes),
            };
            let pruned = index.prune(target);
            self.account_ram(index.ram_bytes());
            (
                pruned,
                index.pruned_through,
                index.last_seq + 1,
                index.bytes(),
            )
        };
        let count = pruned.len();
        if count > 0 {
            tracing::info!(
                room = self.name,
                items = count,
                "pruned to keep all rooms within the history budget"
            );
        }
        self.budget.set(&self.name, retained);
        self.record_prunes(&mut state, pruned, next_seq, pruned_through);
        count
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
