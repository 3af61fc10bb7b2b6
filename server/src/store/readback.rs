//! Reading retained images back: into a caller's buffer (the shared catch-up reads
//! of `catchup.rs` read straight into the frame they send), counted, and verified
//! against the item's SHA-256.

use std::sync::atomic::Ordering::Relaxed;

use sha2::{Digest, Sha256};

use super::{Content, Item, RoomStore, StoreError, lock};

/// Piece size of a full verification read.
const VERIFY_PIECE: usize = 1024 * 1024;

impl RoomStore {
    /// Fills `out` with image bytes from `offset`; fails if the image holds fewer.
    /// Blocking on disk: call from `spawn_blocking`. Counted in [`chunk_reads`](Self::chunk_reads).
    pub fn read_image_into(
        &self,
        item: &Item,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), StoreError> {
        let Content::Image(image) = &item.content else {
            return Err(StoreError::Corrupt(format!(
                "item {} is not an image",
                item.seq
            )));
        };
        let end = offset.saturating_add(out.len() as u64);
        if end > image.size {
            return Err(StoreError::Corrupt(format!(
                "bytes {offset}..{end} of item {}, which has {}",
                item.seq, image.size
            )));
        }
        self.reads.fetch_add(1, Relaxed);
        match &self.disk {
            Some(disk) => {
                if item.seq <= self.pruned_through() {
                    return Err(StoreError::Pruned(item.seq));
                }
                disk.read_body_into(item.seq, offset, out)
            }
            None => {
                let index = lock(&self.index);
                let bytes = index
                    .images
                    .get(&item.seq)
                    .ok_or(StoreError::Pruned(item.seq))?;
                let (start, end) = (offset as usize, end as usize);
                let Some(part) = bytes.get(start..end) else {
                    return Err(StoreError::Corrupt(format!(
                        "item {} holds {} bytes, not {}",
                        item.seq,
                        bytes.len(),
                        image.size
                    )));
                };
                out.copy_from_slice(part);
                Ok(())
            }
        }
    }

    /// Reads of retained image bytes so far (each `read_image_into` call).
    pub fn chunk_reads(&self) -> u64 {
        self.reads.load(Relaxed)
    }

    /// Whether the retained image still hashes to its SHA-256 (a full re-read, not
    /// counted as a chunk read). Blocking: call from `spawn_blocking`.
    pub fn verify_image(&self, item: &Item) -> Result<bool, StoreError> {
        let Content::Image(image) = &item.content else {
            return Ok(true);
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; VERIFY_PIECE.min(image.size as usize)];
        let mut offset = 0u64;
        while offset < image.size {
            let len = (image.size - offset).min(VERIFY_PIECE as u64) as usize;
            let piece = &mut buf[..len];
            self.read_image_into(item, offset, piece)?;
            self.reads.fetch_sub(1, Relaxed);
            hasher.update(&*piece);
            offset += len as u64;
        }
        Ok(hex::encode(hasher.finalize()).eq_ignore_ascii_case(&image.sha256))
    }
}
