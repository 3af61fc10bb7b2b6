//! The disk backend: directory layout, atomic writes, and recovery.
//!
//! ```text
//! <data dir>/rooms/<first 32 hex of sha256(room name)>/
//!     room.json        {"room": name, "epoch": hex, "next_seq": N, "pruned_through": P}
//!     items/<seq, 20 digits>.item   one complete item each (see `record`)
//!     tmp/             uploads in progress and items being written
//! ```
//!
//! Crash safety rests on one rule: a file appears under `items/` (or as
//! `room.json`) only by a rename of a temp file that was fully written and
//! fsynced, followed by an fsync of the directory, and only after that does
//! anyone hear of it (the relay acks after `commit` returns). So after a
//! SIGKILL, whatever is in `tmp/` is garbage, and every file in `items/` is
//! complete unless the disk itself lied; recovery still checks each footer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::budget::{Budget, TempBytes};
use super::index::Index;
use super::record::{self, Kind, TRAILER_LEN};
use super::{StoreError, random_hex};
use crate::config::Retention;

const ROOMS: &str = "rooms";
const ROOM_FILE: &str = "room.json";
const ROOM_FILE_TMP: &str = "room.json.tmp";
const ITEMS: &str = "items";
const TMP: &str = "tmp";
/// The data directory's lock file.
const LOCK: &str = "lock";
const ITEM_EXT: &str = ".item";
/// Digits of the zero-padded seq in an item file name (u64::MAX has 20).
const SEQ_DIGITS: usize = 20;

/// Adds "which file, what operation" to an I/O error.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|cause| StoreError::Io {
            context: what(),
            cause,
        })
    }
}

/// The directory name of a room: derived from its name, so a name can never
/// address anything outside `rooms/` whatever characters it holds.
pub(crate) fn room_dir_name(room: &str) -> String {
    let digest = Sha256::digest(room.as_bytes());
    hex::encode(&digest[..16])
}

/// Makes `dir` usable as the data directory: creates it, proves it writable, takes
/// its lock, and removes what uploads in progress left behind. Returns `dir/rooms`
/// and the lock, held for as long as the file stays open.
pub(crate) fn prepare_root(dir: &Path) -> Result<(PathBuf, File), StoreError> {
    fs::create_dir_all(dir).context(|| format!("creating data directory {}", dir.display()))?;
    let probe = dir.join(format!(".probe-{}", unique_suffix()));
    let write_probe = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)?;
        file.write_all(b"probe")?;
        file.sync_all()
    };
    let written = write_probe();
    // Remove even a half-made probe before reporting.
    let removed = fs::remove_file(&probe);
    written.context(|| format!("data directory {} is not writable", dir.display()))?;
    removed.context(|| format!("removing probe file {}", probe.display()))?;

    // Two relays on one directory would hand out the same seqs and delete each
    // other's uploads in progress: the second one refuses to start.
    let lock_path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .context(|| format!("opening {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(StoreError::InUse(dir.to_path_buf())),
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).context(|| format!("locking {}", lock_path.display()));
        }
    }

    let rooms = dir.join(ROOMS);
    if !rooms.is_dir() {
        fs::create_dir(&rooms).context(|| format!("creating {}", rooms.display()))?;
        // Else a power cut could take rooms/ and every room created below it.
        fsync_dir(dir)?;
    }
    let entries = fs::read_dir(&rooms).context(|| format!("listing {}", rooms.display()))?;
    for entry in entries {
        match entry {
            Ok(entry) => clean_tmp(&entry.path()),
            Err(e) => tracing::warn!(dir = %rooms.display(), error = %e, "listing rooms"),
        }
    }
    Ok((rooms, lock))
}

/// Every room below `rooms` with its name and the bytes its item files hold,
/// read without loading any item. Rooms that never held one (a `room.json` with
/// `next_seq` 1 and no item files) are removed on the way: a flood of room names
/// leaves nothing behind after a restart. A room whose `room.json` cannot be read
/// is left for [`DiskRoom::load`] to judge.
pub(crate) fn scan_rooms(rooms: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(rooms) else {
        return found;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(bytes) = fs::read(dir.join(ROOM_FILE)) else {
            continue;
        };
        let Ok(meta) = serde_json::from_slice::<RoomFile>(&bytes) else {
            continue;
        };
        let mut items = 0u64;
        let mut size = 0u64;
        if let Ok(files) = fs::read_dir(dir.join(ITEMS)) {
            for file in files.flatten() {
                if file
                    .file_name()
                    .to_str()
                    .and_then(parse_item_name)
                    .is_some()
                {
                    items += 1;
                    size += file.metadata().map_or(0, |m| m.len());
                }
            }
        }
        if items == 0 && meta.next_seq <= 1 && meta.pruned_through == 0 {
            if let Err(e) = fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "removing an empty room");
            }
            continue;
        }
        found.push((meta.room, size));
    }
    found
}

/// Deletes the leftovers of interrupted writes in one room directory.
/// Best effort: what cannot be removed now is ignored (never read) and retried next start.
fn clean_tmp(room_dir: &Path) {
    let tmp = room_dir.join(TMP);
    if let Ok(entries) = fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let path = entry.path();
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %e, "removing leftover temp file");
            }
        }
    }
    let room_tmp = room_dir.join(ROOM_FILE_TMP);
    match fs::remove_file(&room_tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %room_tmp.display(), error = %e, "removing leftover"),
    }
}

/// A temp file name no other writer (this process or an earlier run) uses.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{}", std::process::id(), random_hex(4))
}

/// Makes a directory's entries (a rename, a new file) durable.
#[cfg(unix)]
fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .context(|| format!("syncing directory {}", dir.display()))
}

/// Windows cannot open a directory as a file; NTFS journals renames itself.
#[cfg(not(unix))]
fn fsync_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Contents of `room.json`.
#[derive(Debug, Serialize, Deserialize)]
struct RoomFile {
    room: String,
    epoch: String,
    next_seq: u64,
    #[serde(default)]
    pruned_through: u64,
}

/// A file under `tmp/` that is removed when dropped, unless persisted. Its bytes
/// count against the history budget until then (and, persisted, as the item's).
pub(crate) struct TempFile {
    file: File,
    path: PathBuf,
    /// `false` once renamed away: nothing left to clean up.
    armed: bool,
    budget: Arc<Budget>,
    counted: TempBytes,
}

impl TempFile {
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all(bytes)
            .context(|| format!("writing {}", self.path.display()))?;
        self.counted.add(&self.budget.temp, bytes.len() as u64);
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.counted.release(&self.budget.temp);
        if self.armed
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.path.display(), error = %e, "removing temp file");
        }
    }
}

/// One room's directory.
#[derive(Debug)]
pub(crate) struct DiskRoom {
    dir: PathBuf,
    items: PathBuf,
    tmp: PathBuf,
    name: String,
    budget: Arc<Budget>,
}

/// A room as found (or created) on disk.
pub(crate) struct Loaded {
    pub disk: DiskRoom,
    pub epoch: String,
    pub index: Index,
    /// Pruned while loading, but not yet recorded in `room.json`: their files remain.
    pub unrecorded_prunes: Vec<u64>,
}

impl DiskRoom {
    /// Loads the room `name` below `rooms`, or creates it with a new epoch if it
    /// is new or its `room.json` is missing or damaged (then its items are
    /// unusable: wiped). Drops incomplete items, then applies `retention`.
    pub(crate) fn load(
        rooms: &Path,
        name: &str,
        retention: Retention,
        budget: Arc<Budget>,
    ) -> Result<Loaded, StoreError> {
        let dir = rooms.join(room_dir_name(name));
        let disk = DiskRoom {
            items: dir.join(ITEMS),
            tmp: dir.join(TMP),
            dir,
            name: name.to_owned(),
            budget,
        };
        let room_file = disk.dir.join(ROOM_FILE);
        let meta = match fs::read(&room_file) {
            Ok(bytes) => match parse_room_file(&bytes, name) {
                Ok(meta) => Some(meta),
                Err(RoomFileError::OtherRoom(other)) => {
                    // A sha256 prefix collision, or someone copied directories around:
                    // either way not ours to wipe.
                    return Err(StoreError::Corrupt(format!(
                        "{} belongs to room {other:?}, not {name:?}",
                        room_file.display()
                    )));
                }
                Err(RoomFileError::Invalid(why)) => {
                    tracing::warn!(room = name, file = %room_file.display(), why, "room.json is damaged: wiping the room");
                    None
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if disk.dir.exists() {
                    tracing::warn!(room = name, dir = %disk.dir.display(), "room.json is missing: wiping the room");
                }
                None
            }
            Err(e) => return Err(e).context(|| format!("reading {}", room_file.display())),
        };
        match meta {
            Some(meta) => disk.recover(meta, retention),
            None => disk.create(rooms),
        }
    }

    /// Starts the room afresh with a new epoch.
    fn create(self, rooms: &Path) -> Result<Loaded, StoreError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(|| format!("wiping {}", self.dir.display())),
        }
        for dir in [&self.items, &self.tmp] {
            fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        }
        let epoch = random_hex(8);
        self.write_room_file(&epoch, 1, 0)?;
        // The room's own entry in rooms/ must survive too, or room.json is lost with it.
        fsync_dir(rooms)?;
        tracing::info!(room = self.name, epoch, "new room");
        Ok(Loaded {
            disk: self,
            epoch,
            index: Index::default(),
            unrecorded_prunes: Vec::new(),
        })
    }

    /// Reloads every complete item, deleting what a crash left half-done.
    fn recover(self, meta: RoomFile, retention: Retention) -> Result<Loaded, StoreError> {
        for dir in [&self.items, &self.tmp] {
            fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        }
        clean_tmp(&self.dir);

        let mut index = Index::default();
        index.last_seq = meta.next_seq.saturating_sub(1).max(meta.pruned_through);
        index.pruned_through = meta.pruned_through;
        let entries =
            fs::read_dir(&self.items).context(|| format!("listing {}", self.items.display()))?;
        for entry in entries {
            let entry = entry.context(|| format!("listing {}", self.items.display()))?;
            let path = entry.path();
            let Some(seq) = entry.file_name().to_str().and_then(parse_item_name) else {
                tracing::warn!(file = %path.display(), "not an item file: deleting it");
                remove_logged(&path);
                continue;
            };
            // Even a file we drop below may have held this seq: never hand it out again.
            index.last_seq = index.last_seq.max(seq);
            if seq <= meta.pruned_through {
                // Pruned, but the crash came before its deletion.
                remove_logged(&path);
                continue;
            }
            match read_item_file(&path, seq) {
                Ok(item) => index.insert(std::sync::Arc::new(item)),
                Err(ReadError::Corrupt(why)) => {
                    // Never acked: a complete item is renamed into items/ only whole.
                    tracing::warn!(room = self.name, file = %path.display(), why, "incomplete item: deleting it");
                    remove_logged(&path);
                }
                Err(ReadError::Io(e)) => {
                    // Maybe transient: keep the file for the next start, serve without it.
                    tracing::warn!(room = self.name, error = %e, "cannot read item: skipping it");
                }
            }
        }

        let pruned = index.prune(retention);
        // Retention may have been lowered since the last run.
        let mut unrecorded_prunes = Vec::new();
        if !pruned.is_empty() {
            match self.write_room_file(&meta.epoch, index.last_seq + 1, index.pruned_through) {
                Ok(()) => self.delete_items(&pruned),
                Err(e) => {
                    // Keep the files until room.json says they are pruned; the next commit retries.
                    tracing::warn!(room = self.name, error = %e, "recording pruned items");
                    unrecorded_prunes = pruned;
                }
            }
        }
        tracing::info!(
            room = self.name,
            epoch = meta.epoch,
            items = index.len(),
            last_seq = index.last_seq,
            "room loaded"
        );
        Ok(Loaded {
            disk: self,
            epoch: meta.epoch,
            index,
            unrecorded_prunes,
        })
    }

    /// Atomically replaces `room.json`.
    pub(crate) fn write_room_file(
        &self,
        epoch: &str,
        next_seq: u64,
        pruned_through: u64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_vec(&RoomFile {
            room: self.name.clone(),
            epoch: epoch.to_owned(),
            next_seq,
            pruned_through,
        })
        .map_err(|e| StoreError::Corrupt(format!("encoding room.json: {e}")))?;
        let tmp = self.dir.join(ROOM_FILE_TMP);
        let dest = self.dir.join(ROOM_FILE);
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()
        };
        write().context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &dest)
            .context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
        fsync_dir(&self.dir)
    }

    /// A new, empty temp file in this room's `tmp/`.
    pub(crate) fn temp_file(&self) -> Result<TempFile, StoreError> {
        let path = self.tmp.join(format!("{}.part", unique_suffix()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .context(|| format!("creating {}", path.display()))?;
        Ok(TempFile {
            file,
            path,
            armed: true,
            budget: Arc::clone(&self.budget),
            counted: TempBytes::default(),
        })
    }

    /// Deletes the whole room (one that never held an item). Best effort.
    pub(crate) fn remove(&self) {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "removing an empty room")
            }
        }
    }

    fn item_path(&self, seq: u64) -> PathBuf {
        self.items.join(format!("{seq:0SEQ_DIGITS$}{ITEM_EXT}"))
    }

    /// Group commit, step 1: appends `footer` to `temp` and syncs it. Safe to run
    /// for several files at once on several threads.
    pub(crate) fn seal(&self, temp: &mut TempFile, footer: &[u8]) -> Result<(), StoreError> {
        temp.write_all(footer)?;
        temp.file
            .sync_all()
            .context(|| format!("syncing {}", temp.path.display()))
    }

    /// Group commit, step 2: renames a sealed file into `items/` as item `seq`.
    /// Not durable until [`sync_items`](Self::sync_items).
    pub(crate) fn place(&self, mut temp: TempFile, seq: u64) -> Result<(), StoreError> {
        let dest = self.item_path(seq);
        fs::rename(&temp.path, &dest)
            .context(|| format!("renaming {} to {}", temp.path.display(), dest.display()))?;
        temp.armed = false;
        Ok(())
    }

    /// Group commit, step 3: one directory sync makes every placed item durable.
    pub(crate) fn sync_items(&self) -> Result<(), StoreError> {
        fsync_dir(&self.items)
    }

    /// Takes back a placed item that could not be made durable (never acked).
    pub(crate) fn unplace(&self, seq: u64) {
        remove_logged(&self.item_path(seq));
    }

    /// Deletes pruned items' files. Best effort: `room.json` already records
    /// them as pruned, so recovery deletes whatever is left.
    pub(crate) fn delete_items(&self, seqs: &[u64]) {
        for &seq in seqs {
            remove_logged(&self.item_path(seq));
        }
    }

    /// Bytes `[offset, offset + len)` of item `seq`'s body; the caller has
    /// clipped them to the body.
    pub(crate) fn read_body(&self, seq: u64, offset: u64, len: usize) -> Result<Bytes, StoreError> {
        let path = self.item_path(seq);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            // Pruned between the caller's lookup and now.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Pruned(seq)),
            Err(e) => return Err(e).context(|| format!("opening {}", path.display())),
        };
        let mut buf = vec![0; len];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .context(|| format!("reading {len} bytes at {offset} of {}", path.display()))?;
        Ok(Bytes::from(buf))
    }

    /// Fills `out` with the bytes of item `seq`'s body from `offset`; the caller
    /// has clipped them to the body.
    pub(crate) fn read_body_into(
        &self,
        seq: u64,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), StoreError> {
        let path = self.item_path(seq);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Pruned(seq)),
            Err(e) => return Err(e).context(|| format!("opening {}", path.display())),
        };
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(out))
            .context(|| {
                format!(
                    "reading {} bytes at {offset} of {}",
                    out.len(),
                    path.display()
                )
            })
    }

    /// This room's directory.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

enum RoomFileError {
    OtherRoom(String),
    Invalid(String),
}

fn parse_room_file(bytes: &[u8], name: &str) -> Result<RoomFile, RoomFileError> {
    let meta: RoomFile =
        serde_json::from_slice(bytes).map_err(|e| RoomFileError::Invalid(e.to_string()))?;
    if meta.room != name {
        return Err(RoomFileError::OtherRoom(meta.room));
    }
    if meta.epoch.len() < 8 || !meta.epoch.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RoomFileError::Invalid(format!(
            "bad epoch {:?}",
            meta.epoch
        )));
    }
    if meta.next_seq == 0 {
        return Err(RoomFileError::Invalid("next_seq is 0".to_owned()));
    }
    Ok(meta)
}

/// The seq in an item file name, if it is one.
fn parse_item_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(ITEM_EXT)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&seq| seq > 0)
}

fn remove_logged(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "deleting file"),
    }
}

enum ReadError {
    /// The file is not a complete item.
    Corrupt(String),
    /// The file could not be read.
    Io(StoreError),
}

/// Reads an item's metadata, and its text or preview, from its file; the image
/// body stays on disk.
fn read_item_file(path: &Path, seq: u64) -> Result<super::Item, ReadError> {
    let io_err = |what: &str, e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            // The file shrank under us: treat like a short file.
            ReadError::Corrupt(format!("{what}: {e}"))
        } else {
            ReadError::Io(StoreError::Io {
                context: format!("{what} {}", path.display()),
                cause: e,
            })
        }
    };
    let mut file = File::open(path).map_err(|e| io_err("opening", e))?;
    let file_len = file.metadata().map_err(|e| io_err("inspecting", e))?.len();
    if file_len < TRAILER_LEN {
        return Err(ReadError::Corrupt(format!("only {file_len} bytes")));
    }
    let trailer = read_at(&mut file, file_len - TRAILER_LEN, TRAILER_LEN)
        .map_err(|e| io_err("reading", e))?;
    let meta_len = record::parse_trailer(&trailer, file_len).map_err(ReadError::Corrupt)?;
    let json = read_at(&mut file, file_len - TRAILER_LEN - meta_len, meta_len)
        .map_err(|e| io_err("reading", e))?;
    let meta = record::parse_meta(&json, meta_len, file_len).map_err(ReadError::Corrupt)?;
    if meta.seq != seq {
        return Err(ReadError::Corrupt(format!("holds seq {}", meta.seq)));
    }
    // parse_meta checked that body and preview lie within the file.
    let body = match meta.kind {
        Kind::Text => read_at(&mut file, 0, meta.body_len).map_err(|e| io_err("reading", e))?,
        Kind::Image => Vec::new(),
    };
    let preview =
        read_at(&mut file, meta.body_len, meta.preview_len).map_err(|e| io_err("reading", e))?;
    meta.into_item(Bytes::from(body), Bytes::from(preview))
        .map_err(ReadError::Corrupt)
}

fn read_at(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(io::Error::other)?;
    let mut buf = vec![0; len];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names_round_trip() {
        assert_eq!(parse_item_name("00000000000000000042.item"), Some(42));
        assert_eq!(
            parse_item_name(&format!("{:020}.item", u64::MAX)),
            Some(u64::MAX)
        );
        assert_eq!(parse_item_name("42.item"), None);
        assert_eq!(parse_item_name("00000000000000000000.item"), None);
        assert_eq!(parse_item_name("0000000000000000004x.item"), None);
        assert_eq!(parse_item_name("00000000000000000042.part"), None);
        assert_eq!(parse_item_name("99999999999999999999.item"), None);
    }

    #[test]
    fn room_dirs_are_hex_whatever_the_name() {
        for name in ["lobby", "../x", "..", "/etc/passwd", "a\\b", "", "é"] {
            let dir = room_dir_name(name);
            assert_eq!(dir.len(), 32);
            assert!(
                dir.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        assert_ne!(room_dir_name("Lobby"), room_dir_name("lobby"));
    }
}
