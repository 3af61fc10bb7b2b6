//! The persisted outbox: our own items the relay has not acknowledged yet,
//! kept on disk with their ids so that nothing is lost when the app closes
//! while offline (or while items wait their turn). The next session with the
//! same relay and room sends them again, in their order, with the same ids:
//! the relay's dedup makes each arrive once even if it did get through.
//!
//! One directory per relay address and room (`outbox/<hash>/`), one record
//! per item named by its order: `<order>.json` (id, time, text or image
//! metadata), and for images `<order>.bin` (the exact bytes that go out) and
//! `<order>.preview`. The payload is written before the record, each file
//! atomically, so a crash leaves either a whole item or none; stray payloads
//! are removed on load, and an image whose bytes no longer match its SHA-256
//! is dropped with a log line rather than sent wrong.
//!
//! All file work happens on the outbox's own thread: the UI hands it
//! operations over a bounded channel ([`OPS_QUEUE`]). When the queue is full,
//! or the caps ([`MAX_ITEMS`], [`MAX_BYTES`]) are reached, an item is simply
//! not kept on disk (a log line says so): it is still sent in this session.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::repaint::Repaint;
use crate::state::{ImageMeta, PreparedImage};

/// Operations the outbox thread holds before the UI stops persisting new items.
pub const OPS_QUEUE: usize = 512;
/// Items kept per room; the network worker's queue takes this many at once on restore.
pub const MAX_ITEMS: usize = 200;
/// Bytes of images kept per room (they are all read back into memory on restore).
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;
/// A record file larger than this is not ours (texts are at most the relay's limit).
const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// One item read back from disk, oldest first.
#[derive(Debug, Clone)]
pub enum Waiting {
    Text {
        id: String,
        ts: u64,
        text: String,
    },
    Image {
        id: String,
        ts: u64,
        image: PreparedImage,
    },
}

impl Waiting {
    pub fn id(&self) -> &str {
        match self {
            Waiting::Text { id, .. } | Waiting::Image { id, .. } => id,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    id: String,
    ts: u64,
    #[serde(flatten)]
    body: RecordBody,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RecordBody {
    Text {
        text: String,
    },
    Image {
        name: String,
        mime: String,
        size: u64,
        sha256: String,
        width: Option<u32>,
        height: Option<u32>,
        has_preview: bool,
    },
}

enum Op {
    Put {
        record: Record,
        bytes: Option<Bytes>,
        preview: Option<Bytes>,
    },
    Remove(String),
}

/// The UI's end of one room's outbox.
pub struct Outbox {
    ops: mpsc::SyncSender<Op>,
    loaded: Option<mpsc::Receiver<Vec<Waiting>>>,
    /// Says the thread wrote everything it was given and ended.
    finished: mpsc::Receiver<()>,
    /// Ids kept on disk (or on their way there) and their image bytes, for the caps.
    kept: HashMap<String, u64>,
    kept_bytes: u64,
}

/// The directory of the outbox for one relay address and room.
pub fn room_dir(root: &Path, url: &str, room: &str) -> PathBuf {
    let digest = Sha256::digest(format!("{url}\n{room}").as_bytes());
    root.join(hex::encode(&digest[..8]))
}

impl Outbox {
    /// Starts the outbox thread on `dir`; what it finds there arrives through
    /// [`Outbox::take_loaded`] (then `repaint` is called).
    pub fn open(dir: PathBuf, repaint: Repaint) -> std::io::Result<Self> {
        let (ops_tx, ops_rx) = mpsc::sync_channel(OPS_QUEUE);
        let (loaded_tx, loaded_rx) = mpsc::sync_channel(1);
        let (finished_tx, finished_rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("snapwire-outbox".into())
            .spawn(move || {
                let mut store = Store::new(dir);
                let waiting = store.load();
                let _ = loaded_tx.send(waiting);
                repaint();
                while let Ok(op) = ops_rx.recv() {
                    store.apply(op);
                }
                let _ = finished_tx.send(());
            })?;
        Ok(Self {
            ops: ops_tx,
            loaded: Some(loaded_rx),
            finished: finished_rx,
            kept: HashMap::new(),
            kept_bytes: 0,
        })
    }

    /// What the last session left, once (empty until the thread has read it).
    pub fn take_loaded(&mut self) -> Option<Vec<Waiting>> {
        let waiting = self.loaded.as_ref()?.try_recv().ok()?;
        self.loaded = None;
        for item in &waiting {
            let bytes = match item {
                Waiting::Image { image, .. } => image.bytes.len() as u64,
                Waiting::Text { .. } => 0,
            };
            self.count(item.id(), bytes);
        }
        Some(waiting)
    }

    /// True until the previous session's items were handed over.
    pub fn loading(&self) -> bool {
        self.loaded.is_some()
    }

    fn count(&mut self, id: &str, bytes: u64) {
        if self.kept.insert(id.to_owned(), bytes).is_none() {
            self.kept_bytes += bytes;
        }
    }

    fn has_room(&self, bytes: u64) -> bool {
        self.kept.len() < MAX_ITEMS && self.kept_bytes + bytes <= MAX_BYTES
    }

    fn put(&mut self, record: Record, bytes: Option<Bytes>, preview: Option<Bytes>) {
        let size = bytes.as_ref().map_or(0, |b| b.len() as u64);
        if self.kept.contains_key(&record.id) {
            return;
        }
        if !self.has_room(size) {
            tracing::warn!(id = %record.id, "outbox full; this item is sent but not kept on disk");
            return;
        }
        let id = record.id.clone();
        match self.ops.try_send(Op::Put {
            record,
            bytes,
            preview,
        }) {
            Ok(()) => self.count(&id, size),
            Err(_) => tracing::warn!(%id, "outbox busy; this item is sent but not kept on disk"),
        }
    }

    /// Keeps our text until [`Outbox::remove`].
    pub fn put_text(&mut self, id: &str, ts: u64, text: &str) {
        let record = Record {
            id: id.to_owned(),
            ts,
            body: RecordBody::Text {
                text: text.to_owned(),
            },
        };
        self.put(record, None, None);
    }

    /// Keeps our prepared image (the exact bytes that go out) until [`Outbox::remove`].
    pub fn put_image(&mut self, id: &str, ts: u64, image: &PreparedImage) {
        let meta = &image.meta;
        let record = Record {
            id: id.to_owned(),
            ts,
            body: RecordBody::Image {
                name: meta.name.clone(),
                mime: meta.mime.clone(),
                size: meta.size,
                sha256: meta.sha256.clone(),
                width: meta.width,
                height: meta.height,
                has_preview: image.preview.is_some(),
            },
        };
        self.put(record, Some(image.bytes.clone()), image.preview.clone());
    }

    /// The item reached the relay, failed for good, or was cancelled: forget it.
    pub fn remove(&mut self, id: &str) {
        let Some(bytes) = self.kept.remove(id) else {
            return;
        };
        self.kept_bytes -= bytes;
        if self.ops.try_send(Op::Remove(id.to_owned())).is_err() {
            // Sent again next start with the same id: the relay's dedup keeps it once.
            tracing::warn!(%id, "outbox busy; a delivered item stays on disk until the next start");
        }
    }

    /// The app is closing: lets the thread write what it was given, waiting
    /// at most `wait` (dropping an `Outbox` instead lets it finish unwatched).
    pub fn close(self, wait: std::time::Duration) {
        let Self { ops, finished, .. } = self;
        drop(ops);
        if finished.recv_timeout(wait).is_err() {
            tracing::warn!("the outbox was still writing when the app closed");
        }
    }

    /// Ids kept (tests and the status line).
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// The files, owned by the outbox thread.
struct Store {
    dir: PathBuf,
    /// Id → order (the file stem).
    orders: HashMap<String, u64>,
    next: u64,
}

impl Store {
    fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            orders: HashMap::new(),
            next: 0,
        }
    }

    fn path(&self, order: u64, ext: &str) -> PathBuf {
        self.dir.join(format!("{order:016}.{ext}"))
    }

    /// Reads every whole record, oldest first; removes what is not whole.
    fn load(&mut self) -> Vec<Waiting> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(u64, String)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let (stem, ext) = name.split_once('.')?;
                Some((stem.parse().ok()?, ext.to_owned()))
            })
            .collect();
        files.sort();
        self.next = files.last().map_or(0, |(order, _)| order + 1);
        let records: Vec<u64> = files
            .iter()
            .filter(|(_, ext)| ext == "json")
            .map(|(order, _)| *order)
            .collect();
        // Payloads without a record: a crash between the two writes.
        for (order, ext) in &files {
            if ext != "json" && !records.contains(order) {
                let _ = std::fs::remove_file(self.path(*order, ext));
            }
        }
        let mut waiting = Vec::new();
        for order in records {
            match self.read(order) {
                Ok(item) if !self.orders.contains_key(item.id()) => {
                    self.orders.insert(item.id().to_owned(), order);
                    waiting.push(item);
                }
                Ok(_) => self.delete(order),
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), order, error = %e, "dropping an unreadable outbox item");
                    self.delete(order);
                }
            }
        }
        waiting
    }

    fn read(&self, order: u64) -> Result<Waiting, String> {
        let json = read_limited(&self.path(order, "json"), MAX_RECORD_BYTES)?;
        let record: Record = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
        snapwire_relay::protocol::validate::item_id(&record.id).map_err(|e| e.message)?;
        match record.body {
            RecordBody::Text { text } => Ok(Waiting::Text {
                id: record.id,
                ts: record.ts,
                text,
            }),
            RecordBody::Image {
                name,
                mime,
                size,
                sha256,
                width,
                height,
                has_preview,
            } => {
                let bytes = read_limited(&self.path(order, "bin"), MAX_BYTES)?;
                if bytes.len() as u64 != size || hex::encode(Sha256::digest(&bytes)) != sha256 {
                    return Err("the kept image does not match its size and SHA-256".into());
                }
                let preview = if has_preview {
                    read_limited(
                        &self.path(order, "preview"),
                        snapwire_relay::protocol::validate::MAX_PREVIEW_BYTES as u64,
                    )
                    .ok()
                    .map(Bytes::from)
                } else {
                    None
                };
                Ok(Waiting::Image {
                    id: record.id,
                    ts: record.ts,
                    image: PreparedImage {
                        meta: ImageMeta {
                            name,
                            mime,
                            size,
                            sha256,
                            width,
                            height,
                        },
                        preview,
                        bytes: Bytes::from(bytes),
                    },
                })
            }
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Put {
                record,
                bytes,
                preview,
            } => {
                if self.orders.contains_key(&record.id) {
                    return;
                }
                let order = self.next;
                self.next += 1;
                let id = record.id.clone();
                match self.write(order, &record, bytes.as_deref(), preview.as_deref()) {
                    Ok(()) => {
                        self.orders.insert(id, order);
                    }
                    Err(e) => {
                        tracing::warn!(dir = %self.dir.display(), %id, error = %e, "could not keep an item in the outbox");
                        self.delete(order);
                    }
                }
            }
            Op::Remove(id) => {
                if let Some(order) = self.orders.remove(&id) {
                    self.delete(order);
                }
            }
        }
    }

    fn write(
        &self,
        order: u64,
        record: &Record,
        bytes: Option<&[u8]>,
        preview: Option<&[u8]>,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        if let Some(bytes) = bytes {
            write_atomic(&self.path(order, "bin"), bytes)?;
        }
        if let Some(preview) = preview {
            write_atomic(&self.path(order, "preview"), preview)?;
        }
        let json = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        // Last: the record makes the item whole.
        write_atomic(&self.path(order, "json"), &json)
    }

    fn delete(&self, order: u64) {
        // The record first: without it the payloads are strays, removed on load.
        for ext in ["json", "bin", "preview"] {
            let _ = std::fs::remove_file(self.path(order, ext));
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if len > limit {
        return Err(format!("{} is larger than {limit} bytes", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(bytes: &'static [u8]) -> PreparedImage {
        PreparedImage {
            meta: ImageMeta {
                name: "a.png".into(),
                mime: "image/png".into(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
                width: Some(1),
                height: Some(1),
            },
            preview: Some(Bytes::from_static(b"pv")),
            bytes: Bytes::from_static(bytes),
        }
    }

    fn reopen(dir: &Path) -> Vec<Waiting> {
        let mut store = Store::new(dir.to_path_buf());
        store.load()
    }

    #[test]
    fn items_come_back_in_order_until_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::new(dir.path().to_path_buf());
        assert!(store.load().is_empty());
        let ids = ["a".repeat(32), "b".repeat(32), "c".repeat(32)];
        for (n, id) in ids.iter().enumerate() {
            let record = Record {
                id: id.clone(),
                ts: n as u64,
                body: RecordBody::Text {
                    text: format!("t{n}"),
                },
            };
            store.apply(Op::Put {
                record,
                bytes: None,
                preview: None,
            });
        }
        store.apply(Op::Remove(ids[1].clone()));
        let back: Vec<String> = reopen(dir.path())
            .iter()
            .map(|w| w.id().to_owned())
            .collect();
        assert_eq!(back, [ids[0].clone(), ids[2].clone()]);
    }

    #[test]
    fn a_damaged_image_or_a_stray_payload_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::new(dir.path().to_path_buf());
        store.load();
        let img = image(b"exact bytes");
        let put = |store: &mut Store, id: &str| {
            store.apply(Op::Put {
                record: Record {
                    id: id.into(),
                    ts: 1,
                    body: RecordBody::Image {
                        name: img.meta.name.clone(),
                        mime: img.meta.mime.clone(),
                        size: img.meta.size,
                        sha256: img.meta.sha256.clone(),
                        width: None,
                        height: None,
                        has_preview: true,
                    },
                },
                bytes: Some(img.bytes.clone()),
                preview: img.preview.clone(),
            })
        };
        put(&mut store, &"a".repeat(32));
        put(&mut store, &"b".repeat(32));
        std::fs::write(store.path(1, "bin"), b"exact bytez").expect("damage");
        std::fs::write(store.path(9, "bin"), b"stray").expect("stray");
        let back = reopen(dir.path());
        assert_eq!(back.len(), 1);
        let Waiting::Image { image: got, .. } = &back[0] else {
            panic!("an image");
        };
        assert_eq!(got.bytes, img.bytes);
        assert_eq!(got.preview, img.preview);
        assert!(!store.path(9, "bin").exists() && !store.path(1, "json").exists());
    }

    #[test]
    fn the_ui_end_counts_against_its_caps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tx, rx) = mpsc::sync_channel(1);
        let mut outbox = Outbox::open(
            dir.path().to_path_buf(),
            std::sync::Arc::new(move || {
                let _ = tx.try_send(());
            }),
        )
        .expect("open");
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .expect("loaded");
        assert_eq!(outbox.take_loaded().map(|w| w.len()), Some(0));
        for n in 0..MAX_ITEMS + 5 {
            outbox.put_text(&format!("{n:032}"), 0, "x");
        }
        assert_eq!(outbox.len(), MAX_ITEMS);
        outbox.remove(&format!("{:032}", 0));
        assert_eq!(outbox.len(), MAX_ITEMS - 1);
    }
}
